//! A blocking wrapper for callers without an async runtime: it owns a small runtime and blocks on the
//! async [`crate::Downloader`].

use std::path::PathBuf;

use crate::{Error, FileRequest, Remote, SnapshotRequest};

pub use crate::blocking_hub::{Hub, RepoHandle, SnapshotHandle};

/// [`crate::Downloader`] with blocking methods. Do not use from inside an async runtime.
pub struct Downloader<R> {
    inner: crate::Downloader<R>,
    runtime: tokio::runtime::Runtime,
}

impl<R> std::fmt::Debug for Downloader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloader")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<R: Remote> Downloader<R> {
    /// Wraps an async downloader, starting a runtime with two worker threads.
    pub fn new(inner: crate::Downloader<R>) -> std::io::Result<Downloader<R>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(Downloader { inner, runtime })
    }

    /// The async downloader wrapped (for its settings; its methods need a runtime).
    pub fn inner(&self) -> &crate::Downloader<R> {
        &self.inner
    }

    /// [`crate::Downloader::download_file`], blocking.
    pub fn download_file(&self, request: &FileRequest) -> Result<PathBuf, Error> {
        self.runtime.block_on(self.inner.download_file(request))
    }

    /// [`crate::Downloader::snapshot`], blocking.
    pub fn snapshot(&self, request: &SnapshotRequest) -> Result<PathBuf, Error> {
        self.runtime.block_on(self.inner.snapshot(request))
    }
}
