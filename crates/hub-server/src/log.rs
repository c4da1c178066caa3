//! The request log, a test facility: the requests either origin answered, in arrival order, the
//! newest [`DEFAULT_CAPACITY`] of them (or as many as configured; none when turned off, as in
//! `hfhub serve`), so a long-running server's memory does not grow with the requests it served.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Which listener answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The Hub endpoint (`HF_ENDPOINT`).
    Hub,
    /// The second listener LFS files are redirected to.
    Cdn,
}

/// One answered request, as a test inspects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Which listener answered.
    pub origin: Origin,
    /// `GET`, `HEAD`...
    pub method: String,
    /// Path and query exactly as received (still percent-encoded).
    pub path: String,
    /// Whether an `Authorization` header was present (its value is never recorded).
    pub authorization: bool,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The status answered.
    pub status: u16,
    /// Body bytes handed to the connection (0 for HEAD; short when a fault cut the body).
    pub bytes_sent: u64,
    /// The injected fault that shaped this answer, if any (its `Debug` form).
    pub fault: Option<String>,
}

#[derive(Debug)]
struct Entry {
    record: RequestRecord,
    bytes_sent: Arc<AtomicU64>,
}

/// Records a log keeps by default (then the oldest are dropped).
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A shared handle on the log of a running server; cheap to clone.
#[derive(Debug, Clone)]
pub struct RequestLog {
    entries: Arc<Mutex<VecDeque<Entry>>>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog::with_capacity(DEFAULT_CAPACITY)
    }
}

impl RequestLog {
    /// A log keeping the newest `capacity` records (0: a log that keeps nothing).
    pub fn with_capacity(capacity: usize) -> RequestLog {
        RequestLog {
            entries: Arc::default(),
            capacity,
        }
    }

    /// A copy of every record so far.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.entries
            .lock()
            .expect("request log lock")
            .iter()
            .map(|entry| RequestRecord {
                bytes_sent: entry.bytes_sent.load(Ordering::SeqCst),
                ..entry.record.clone()
            })
            .collect()
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.entries.lock().expect("request log lock").clear();
    }

    /// Adds a record; the returned counter is the body's `bytes_sent`.
    pub(crate) fn push(&self, record: RequestRecord) -> Arc<AtomicU64> {
        let bytes_sent = Arc::new(AtomicU64::new(record.bytes_sent));
        if self.capacity == 0 {
            return bytes_sent;
        }
        let mut entries = self.entries.lock().expect("request log lock");
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(Entry {
            record,
            bytes_sent: bytes_sent.clone(),
        });
        bytes_sent
    }
}
