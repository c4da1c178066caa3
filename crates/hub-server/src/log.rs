//! The request log: every request either origin answered, in arrival order.

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

/// A shared handle on the log of a running server; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl RequestLog {
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
        self.entries.lock().expect("request log lock").push(Entry {
            record,
            bytes_sent: bytes_sent.clone(),
        });
        bytes_sent
    }
}
