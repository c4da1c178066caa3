//! Progress as events: what a download is doing, for a caller to draw (the CLI's bars) or count.

use std::path::PathBuf;
use std::sync::Arc;

/// One step of a download. File events carry the repo path of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A snapshot is about to fetch `files` files (after filtering), `bytes` in total.
    SnapshotStarted {
        commit: String,
        files: usize,
        bytes: u64,
    },
    /// Bytes of a file are about to be fetched; `resumed_from` bytes were already on disk.
    FileStarted {
        filename: String,
        size: Option<u64>,
        resumed_from: u64,
    },
    /// `done` bytes of the file are on disk.
    FileProgress {
        filename: String,
        done: u64,
        total: Option<u64>,
    },
    /// The file is in place; `downloaded` is false when no byte was fetched (already cached or copied).
    FileFinished {
        filename: String,
        path: PathBuf,
        downloaded: bool,
    },
}

/// Receives events, possibly from several tasks at once.
pub type Events = Arc<dyn Fn(&Event) + Send + Sync>;

/// An event sink that drops everything.
pub fn ignore() -> Events {
    Arc::new(|_: &Event| {})
}
