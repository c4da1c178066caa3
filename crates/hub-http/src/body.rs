//! Reading an answer's body with deadlines: each chunk must arrive within the stall timeout, the
//! transfer must keep above a low-speed limit (cargo's `http.low-speed-limit`: under N bytes/s for
//! M seconds and it is abandoned), and a whole JSON answer has its own deadline and byte cap.
//!
//! The limits are checked while waiting, not only when a chunk arrives, so a server that sends
//! headers and `{` and then nothing, or one byte every few seconds, fails in bounded time.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::error::Error;

/// Below `bytes_per_second` on average over `window`, a transfer is abandoned
/// (`HFHUB_LOW_SPEED_LIMIT`, `HFHUB_LOW_SPEED_TIME`; cargo's defaults: 10 bytes/s over 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowSpeedLimit {
    /// 0 disables the check.
    pub bytes_per_second: u64,
    /// The window the average is taken over (and the longest a transfer may stay under it).
    pub window: Duration,
}

impl Default for LowSpeedLimit {
    fn default() -> LowSpeedLimit {
        LowSpeedLimit {
            bytes_per_second: 10,
            window: Duration::from_secs(30),
        }
    }
}

/// The deadlines one body is read under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// Longest wait for the next chunk.
    stall: Duration,
    low_speed: LowSpeedLimit,
    /// Longest time for the whole body (JSON answers).
    total: Option<Duration>,
}

impl Deadlines {
    pub(crate) fn new(
        stall: Duration,
        low_speed: LowSpeedLimit,
        total: Option<Duration>,
    ) -> Deadlines {
        Deadlines {
            stall,
            low_speed,
            total,
        }
    }
}

/// Which limit a wait ends at.
#[derive(Clone, Copy)]
enum Limit {
    Stall,
    Window,
    Total,
}

/// A body read chunk by chunk under [`Deadlines`].
pub(crate) struct BodyReader {
    body: Incoming,
    url: String,
    deadlines: Deadlines,
    started: Instant,
    window_start: Instant,
    window_bytes: u64,
}

impl BodyReader {
    pub(crate) fn new(body: Incoming, url: &str, deadlines: Deadlines) -> BodyReader {
        let now = Instant::now();
        BodyReader {
            body,
            url: url.to_owned(),
            deadlines,
            started: now,
            window_start: now,
            window_bytes: 0,
        }
    }

    /// The next chunk of data, `None` at the end of the body.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let now = Instant::now();
            let mut deadline = (now + self.deadlines.stall, Limit::Stall);
            let low_speed = self.deadlines.low_speed;
            if low_speed.bytes_per_second > 0 {
                let window_end = self.window_start + low_speed.window;
                if window_end < deadline.0 {
                    deadline = (window_end, Limit::Window);
                }
            }
            if let Some(total) = self.deadlines.total {
                let end = self.started + total;
                if end < deadline.0 {
                    deadline = (end, Limit::Total);
                }
            }
            match tokio::time::timeout_at(deadline.0, self.body.frame()).await {
                Err(_) => match deadline.1 {
                    Limit::Stall => {
                        return Err(Error::Timeout {
                            url: self.url.clone(),
                            after: self.deadlines.stall,
                        });
                    }
                    Limit::Total => {
                        return Err(Error::Timeout {
                            url: self.url.clone(),
                            after: self.deadlines.total.unwrap_or_default(),
                        });
                    }
                    Limit::Window => self.check_speed()?,
                },
                Ok(None) => return Ok(None),
                Ok(Some(Err(error))) => {
                    return Err(Error::Transport {
                        url: self.url.clone(),
                        source: Box::new(error),
                    });
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.window_bytes += data.len() as u64;
                        self.check_speed()?;
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// At the end of a window: fails when fewer bytes than the limit arrived, else starts the next.
    fn check_speed(&mut self) -> Result<(), Error> {
        let limit = self.deadlines.low_speed;
        if limit.bytes_per_second == 0 || self.window_start.elapsed() < limit.window {
            return Ok(());
        }
        let needed = limit
            .bytes_per_second
            .saturating_mul(limit.window.as_secs().max(1));
        if self.window_bytes < needed {
            return Err(Error::TooSlow {
                url: self.url.clone(),
                bytes_per_second: limit.bytes_per_second,
                window: limit.window,
            });
        }
        self.window_start = Instant::now();
        self.window_bytes = 0;
        Ok(())
    }

    /// The whole body, at most `cap` bytes.
    pub(crate) async fn collect(mut self, cap: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await? {
            if out.len() + chunk.len() > cap {
                return Err(Error::BadResponse {
                    url: self.url,
                    reason: format!("the answer is larger than {cap} bytes"),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}
