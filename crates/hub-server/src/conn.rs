//! Connections and their limits: a header timeout (hyper's, with a tokio timer), an idle timeout
//! (no request in flight), a body timeout (a response that makes no progress, such as a client that
//! stops reading), a cap on open connections and on HTTP/2 streams per connection.
//!
//! Every open connection is in a [`Registry`] in arrival order, with the number of requests it has
//! in flight and the time of its last progress. When the cap is reached, or `accept` fails (out of
//! file descriptors), the oldest idle connection is closed to make room: a slowloris attacker's
//! half-sent requests count as idle, a running download does not.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::Notify;

use crate::body::{Body, BodyError};

/// The limits of a server; [`Limits::default`] are the `hfhub serve` defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// An HTTP/1 request head (the first one, or the next one on a kept-alive connection) must arrive
    /// within this time.
    pub header_timeout: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/2 between requests;
    /// a connection that never sent a whole request head is closed after `header_timeout`).
    pub idle_timeout: Duration,
    /// A connection with requests in flight whose responses make no progress for this long is
    /// closed (a client that stops reading, work that never ends).
    pub body_timeout: Duration,
    /// Open connections on both listeners together; past it the oldest idle one is closed, or the
    /// new one when none is idle. Lowered at start-up to what the file descriptor limit allows
    /// (`(soft limit - 32) / 2`).
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_streams: u32,
    /// Repo info and tree listings computed at once (more wait their turn).
    pub max_listings: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_streams: 64,
            max_listings: 4,
        }
    }
}

/// The open connections, oldest first.
#[derive(Debug)]
pub(crate) struct Registry {
    epoch: Instant,
    max: usize,
    open: Mutex<BTreeMap<u64, Arc<Tracked>>>,
    next: AtomicU64,
}

/// What the registry knows of one connection.
#[derive(Debug)]
pub(crate) struct Tracked {
    epoch: Instant,
    /// Requests whose response body is not finished.
    active: AtomicUsize,
    /// Milliseconds since `epoch` of the last request start, body chunk or request end.
    last_progress: AtomicU64,
    /// Set once the connection was asked to close.
    shed: AtomicBool,
    /// Set when a first request arrived.
    started: AtomicBool,
    wake: Notify,
}

/// File descriptors kept free for the files being served and the server's own use.
const RESERVED_DESCRIPTORS: u64 = 32;

/// The connection cap that fits the process's file descriptor limit: each connection may hold a
/// socket and an open file, and a few descriptors stay for the rest.
pub(crate) fn fitting_cap(max: usize) -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let fits = soft.map_or(usize::MAX, |soft| {
        usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS) / 2).unwrap_or(usize::MAX)
    });
    max.min(fits).max(1)
}

impl Registry {
    pub(crate) fn new(max: usize) -> Registry {
        Registry {
            epoch: Instant::now(),
            max: max.max(1),
            open: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        }
    }

    /// Registers a new connection, closing the oldest idle one when the cap is reached; `None`
    /// when the cap is reached and no connection is idle (the new one is to be refused).
    pub(crate) fn admit(self: &Arc<Registry>) -> Option<Admitted> {
        let mut open = self.open.lock().expect("connection registry lock");
        if open.len() >= self.max && !shed_oldest_idle(&open) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked {
            epoch: self.epoch,
            active: AtomicUsize::new(0),
            last_progress: AtomicU64::new(0),
            shed: AtomicBool::new(false),
            started: AtomicBool::new(false),
            wake: Notify::new(),
        });
        tracked.progress();
        open.insert(id, tracked.clone());
        Some(Admitted {
            registry: self.clone(),
            id,
            tracked,
        })
    }

    /// Asks the oldest idle connection to close; whether there was one.
    pub(crate) fn shed_oldest_idle(&self) -> bool {
        shed_oldest_idle(&self.open.lock().expect("connection registry lock"))
    }

    /// Open connections now.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().expect("connection registry lock").len()
    }
}

/// O(open connections) in the worst case; the oldest idle one is usually among the first.
fn shed_oldest_idle(open: &BTreeMap<u64, Arc<Tracked>>) -> bool {
    let oldest = open
        .values()
        .find(|tracked| tracked.is_idle() && !tracked.shed.load(Ordering::Relaxed));
    match oldest {
        Some(tracked) => {
            tracked.shed.store(true, Ordering::Relaxed);
            tracked.wake.notify_one();
            true
        }
        None => false,
    }
}

/// A registered connection; leaves the registry when dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    registry: Arc<Registry>,
    id: u64,
    pub tracked: Arc<Tracked>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.registry
            .open
            .lock()
            .expect("connection registry lock")
            .remove(&self.id);
    }
}

/// Why a connection is to be closed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    Idle,
    Stalled,
}

impl Tracked {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The connection made progress (a request started, body bytes went out).
    pub(crate) fn progress(&self) {
        self.last_progress.store(self.now_ms(), Ordering::Relaxed);
    }

    fn is_idle(&self) -> bool {
        self.active.load(Ordering::Relaxed) == 0
    }

    /// A request started: the connection is busy until the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Tracked>) -> Active {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.started.store(true, Ordering::Relaxed);
        self.progress();
        Active {
            tracked: self.clone(),
        }
    }

    /// Whether the connection was asked to close to make room, and is idle.
    pub(crate) fn shed_now(&self) -> bool {
        self.shed.load(Ordering::Relaxed) && self.is_idle()
    }

    /// Woken when the registry asks this connection to close.
    pub(crate) async fn shed_requested(&self) {
        self.wake.notified().await;
    }

    /// Whether the connection outlived its idle or body timeout; one that never completed a
    /// request head (silent, or too slow to tell HTTP/1 from HTTP/2) gets the header timeout.
    pub(crate) fn verdict(&self, limits: &Limits) -> Verdict {
        let quiet = Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_progress.load(Ordering::Relaxed)),
        );
        let idle_limit = if self.started.load(Ordering::Relaxed) {
            limits.idle_timeout
        } else {
            limits.idle_timeout.min(limits.header_timeout)
        };
        match (self.is_idle(), quiet) {
            (true, quiet) if quiet >= idle_limit => Verdict::Idle,
            (false, quiet) if quiet >= limits.body_timeout => Verdict::Stalled,
            _ => Verdict::Keep,
        }
    }
}

/// One request in flight; its response body carries it, so dropping the body (sent, or abandoned)
/// ends it.
#[derive(Debug)]
pub(crate) struct Active {
    tracked: Arc<Tracked>,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.tracked.progress();
        self.tracked.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that reports progress to its connection and ends its request when dropped.
#[derive(Debug)]
pub struct TrackedBody {
    body: Body,
    active: Active,
}

impl TrackedBody {
    pub(crate) fn new(body: Body, active: Active) -> TrackedBody {
        TrackedBody { body, active }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.active.tracked.progress();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let registry = Arc::new(Registry::new(2));
        let first = registry.admit().expect("room");
        let second = registry.admit().expect("room");
        let busy = first.tracked.start();
        // Full: the idle second one is asked to close, the busy first one is kept.
        let third = registry.admit().expect("room made");
        assert!(second.tracked.shed_now());
        assert!(!first.tracked.shed_now());
        drop(second);
        drop(third);
        let _fourth = registry.admit().expect("room");
        // Full of busy connections and already-asked ones: the next one is refused.
        let _busy_too = _fourth.tracked.start();
        assert!(registry.admit().is_none());
        drop(busy);
        assert!(registry.admit().is_some());
    }

    #[test]
    fn verdicts() {
        let registry = Arc::new(Registry::new(4));
        let conn = registry.admit().expect("room");
        let limits = Limits {
            idle_timeout: Duration::ZERO,
            body_timeout: Duration::from_secs(3600),
            ..Limits::default()
        };
        assert_eq!(conn.tracked.verdict(&limits), Verdict::Idle);
        let _active = conn.tracked.start();
        assert_eq!(conn.tracked.verdict(&limits), Verdict::Keep);
        let limits = Limits {
            body_timeout: Duration::ZERO,
            ..limits
        };
        assert_eq!(conn.tracked.verdict(&limits), Verdict::Stalled);
    }

    #[test]
    fn a_connection_that_never_sent_a_request_gets_the_header_timeout() {
        let registry = Arc::new(Registry::new(4));
        let conn = registry.admit().expect("room");
        let limits = Limits {
            header_timeout: Duration::ZERO,
            idle_timeout: Duration::from_secs(3600),
            ..Limits::default()
        };
        assert_eq!(conn.tracked.verdict(&limits), Verdict::Idle);
        drop(conn.tracked.start());
        assert_eq!(conn.tracked.verdict(&limits), Verdict::Keep);
    }
}
