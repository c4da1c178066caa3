//! Progress as events: what a download is doing, for a caller to draw (the CLI's bars) or count.

use std::path::PathBuf;
use std::sync::Arc;

/// One step of a download. File events carry the repo path of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A snapshot is about to fetch `files` files (after filtering), `bytes` in total.
    SnapshotStarted {
        /// The commit the revision resolved to (40 hex digits).
        commit: String,
        /// How many files the snapshot selected.
        files: usize,
        /// Their total size in bytes, as listed.
        bytes: u64,
    },
    /// Bytes of a file are about to be fetched; `resumed_from` bytes were already on disk.
    FileStarted {
        /// The file's repo path, `/`-separated.
        filename: String,
        /// The file's size in bytes, when the server announced it.
        size: Option<u64>,
        /// Bytes of a partial download kept from an earlier run.
        resumed_from: u64,
    },
    /// `done` bytes of the file are on disk.
    FileProgress {
        /// The file's repo path, `/`-separated.
        filename: String,
        /// Bytes of the file on disk so far, resumed prefix included.
        done: u64,
        /// The file's size in bytes, when known.
        total: Option<u64>,
    },
    /// The file is in place; `downloaded` is false when no byte was fetched (already cached or copied).
    FileFinished {
        /// The file's repo path, `/`-separated.
        filename: String,
        /// Where it is: its snapshot entry in the cache, or its path in the `local_dir`.
        path: PathBuf,
        /// Whether bytes were fetched for it.
        downloaded: bool,
    },
}

/// Receives events, possibly from several tasks at once.
pub type Events = Arc<dyn Fn(&Event) + Send + Sync>;

/// An event sink that drops everything.
pub fn ignore() -> Events {
    Arc::new(|_: &Event| {})
}
