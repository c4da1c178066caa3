//! Downloads from the Hugging Face Hub into the cache Python's `huggingface_hub` uses, or into a
//! local folder, as 2.4's `hf_hub_download` and `snapshot_download` do, leaving a cache Python reads
//! (and reading Python's).
//!
//! The front door is [`Hub`]: built from the environment in one call (`HF_ENDPOINT`, `HF_TOKEN`,
//! `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_HUB_DISABLE_SYMLINKS`...), then one expression per job.
//! [`blocking::Hub`] is the same for callers without an async runtime.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let served = tempfile::tempdir()?;
//! # hfhub_tests::synthetic::write_model(served.path(), "openai-community/gpt2", "c1", "main",
//! #     &[("config.json".into(), b"{}".to_vec(), false), ("model.safetensors".into(), vec![7; 64], true)])?;
//! # let server = hub_server::Server::builder(served.path()).start().await?;
//! # let cache = tempfile::tempdir()?;
//! # let hub = hub_sync::HubBuilder::new(&hub_cache::env::Env::from_pairs([]))?
//! #     .with_endpoint(&server.endpoint()).with_cache_dir(cache.path()).build()?;
//! // let hub = hub_sync::Hub::from_env()?;
//! let config = hub.model("openai-community/gpt2").get("config.json").await?;
//! assert_eq!(std::fs::read(&config)?, b"{}");
//!
//! let snapshot = hub.model("openai-community/gpt2").snapshot().include(["*.safetensors"]).download().await?;
//! assert!(snapshot.join("model.safetensors").is_file());
//!
//! // Offline, from the cache alone: no request.
//! let cached = hub.model("openai-community/gpt2").cached("config.json")?;
//! assert_eq!(cached, Some(config));
//! # Ok(()) }
//! ```
//!
//! Underneath, [`Downloader`] takes explicit requests:
//! - [`Downloader::download_file`]: one file; a cached commit revision costs no request, otherwise one
//!   `HEAD`, then a blob is reused or downloaded under its lock, verified, published atomically and linked
//!   (see [`hub_cache::write`] for the tree). Network failures fall back to the cache where upstream does.
//! - [`Downloader::snapshot`]: the commit pinned by one repo-info call, files filtered by
//!   [`pattern::Filter`] and fetched concurrently without a per-file `HEAD`; the listing is cached in
//!   `trees/<commit>.json` once the files it named were fetched and verified.
//! - The trust boundary: every file name a caller or a server gives is parsed into a
//!   [`hub_cache::RepoPath`] (no `..`, no `.git` look-alike, nothing under `.cache/huggingface/`)
//!   and every ETag into a [`hub_cache::Etag`] where it enters; sizes are bounded by
//!   [`MAX_FILE_SIZE`]; server-chosen strings in errors and logs are escaped.
//! - `local_dir` mode ([`FileRequest::with_local_dir`]): files in a plain folder with upstream's
//!   `.cache/huggingface/download/<path>.metadata` bookkeeping (see [`local_dir`]).
//! - Interrupted downloads leave `blobs/<etag>.<8hex>.incomplete`; the next run adopts it under the blob
//!   lock and resumes; hub-http verifies the whole content before anything is published.
//!
//! The network is a [`Remote`] ([`hub_http::Client`] in production, a fake in tests). Progress is a stream
//! of [`Event`]s.

// Errors carry the repo, revision, file and the Hub's error by design; they are returned once per
// operation, so their size does not matter.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

pub mod blocking;
mod blocking_hub;
mod cache_mode;
pub mod error;
pub mod hub;
mod listing;
pub mod local_dir;
pub mod pattern;
pub mod progress;
pub mod remote;
mod snapshot;

use std::path::PathBuf;
use std::sync::Arc;

use hub_cache::write::WriteOptions;

pub use error::Error;
pub use hub::{Hub, HubBuilder, RepoHandle, SnapshotHandle};
/// The error of the re-exported [`Cache`]'s own lookups (`hub.cache().model(..).get(..)`, scans,
/// delete plans), so a caller that depends on hub-sync alone can name it.
pub use hub_cache::Error as CacheError;
pub use hub_cache::{Cache, Repo, RepoType};
pub use progress::{Event, Events};
pub use remote::Remote;

/// Default number of files a snapshot downloads at once (upstream's `max_workers`).
pub const DEFAULT_MAX_WORKERS: usize = 8;

/// The largest file size a server may announce (in a listing or a `HEAD`): 2^50 bytes (1 PiB), far
/// beyond any file a Hub stores, and far below what would overflow a size sum. A larger one is
/// refused as an invalid answer before anything is written.
pub const MAX_FILE_SIZE: u64 = 1 << 50;

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    /// The repository to download from.
    pub repo: Repo,
    /// The repo path, `/`-separated.
    pub filename: String,
    /// Branch, tag, PR ref or commit; default `main`.
    pub revision: String,
    /// Download again even when the file is cached (upstream's `force_download`); refused in
    /// offline mode.
    pub force_download: bool,
    /// Download into this folder instead of the cache (`local_dir` mode).
    pub local_dir: Option<PathBuf>,
}

impl FileRequest {
    /// The file `filename` (a repo path, `/`-separated; checked when the download starts) of
    /// `repo` at `main`, into the cache.
    pub fn new(repo: Repo, filename: impl Into<String>) -> FileRequest {
        FileRequest {
            repo,
            filename: filename.into(),
            revision: hub_cache::repo::DEFAULT_REVISION.to_owned(),
            force_download: false,
            local_dir: None,
        }
    }

    /// Sets [`FileRequest::revision`] (checked when the download starts).
    pub fn with_revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = revision.into();
        self
    }

    /// Sets [`FileRequest::force_download`].
    pub fn with_force_download(mut self, force: bool) -> Self {
        self.force_download = force;
        self
    }

    /// Sets [`FileRequest::local_dir`].
    pub fn with_local_dir(mut self, local_dir: Option<PathBuf>) -> Self {
        self.local_dir = local_dir;
        self
    }
}

/// A whole repository (or the files the patterns select) at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// The repository to download.
    pub repo: Repo,
    /// Branch, tag, PR ref or commit; default `main`.
    pub revision: String,
    /// Allow patterns (`None`: everything; an empty list selects nothing).
    pub allow: Option<Vec<String>>,
    /// Ignore patterns.
    pub ignore: Option<Vec<String>>,
    /// Download every selected file again even when cached; refused in offline mode.
    pub force_download: bool,
    /// Download into this folder instead of the cache (`local_dir` mode).
    pub local_dir: Option<PathBuf>,
}

impl SnapshotRequest {
    /// Every file of `repo` at `main`, into the cache.
    pub fn new(repo: Repo) -> SnapshotRequest {
        SnapshotRequest {
            repo,
            revision: hub_cache::repo::DEFAULT_REVISION.to_owned(),
            allow: None,
            ignore: None,
            force_download: false,
            local_dir: None,
        }
    }

    /// Sets [`SnapshotRequest::revision`] (checked when the download starts).
    pub fn with_revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = revision.into();
        self
    }

    /// Sets [`SnapshotRequest::allow`] (fnmatch patterns, as [`pattern::Filter`] reads them).
    pub fn with_allow(mut self, allow: Option<Vec<String>>) -> Self {
        self.allow = allow;
        self
    }

    /// Sets [`SnapshotRequest::ignore`] (fnmatch patterns; a path matching one is left out even when
    /// an allow pattern selects it).
    pub fn with_ignore(mut self, ignore: Option<Vec<String>>) -> Self {
        self.ignore = ignore;
        self
    }

    /// Sets [`SnapshotRequest::force_download`].
    pub fn with_force_download(mut self, force: bool) -> Self {
        self.force_download = force;
        self
    }

    /// Sets [`SnapshotRequest::local_dir`].
    pub fn with_local_dir(mut self, local_dir: Option<PathBuf>) -> Self {
        self.local_dir = local_dir;
        self
    }
}

/// Downloads into one cache through one [`Remote`]. Cheap to clone (the remote is shared).
pub struct Downloader<R> {
    remote: Arc<R>,
    cache: Cache,
    write: WriteOptions,
    offline: bool,
    max_workers: usize,
    retry: hub_http::RetryPolicy,
    events: Events,
}

impl<R> Clone for Downloader<R> {
    fn clone(&self) -> Self {
        Downloader {
            remote: self.remote.clone(),
            cache: self.cache.clone(),
            write: self.write,
            offline: self.offline,
            max_workers: self.max_workers,
            retry: self.retry.clone(),
            events: self.events.clone(),
        }
    }
}

/// The cache and the switches (the remote and the event sink are not shown).
impl<R> std::fmt::Debug for Downloader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloader")
            .field("cache", &self.cache)
            .field("write", &self.write)
            .field("offline", &self.offline)
            .field("max_workers", &self.max_workers)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<R: Remote> Downloader<R> {
    /// A downloader into `cache` (its root need not exist), online, default write options, 8 workers.
    pub fn new(remote: R, cache: Cache) -> Downloader<R> {
        Downloader {
            remote: Arc::new(remote),
            cache,
            write: WriteOptions::default(),
            offline: false,
            max_workers: DEFAULT_MAX_WORKERS,
            retry: hub_http::RetryPolicy::default(),
            events: progress::ignore(),
        }
    }

    /// Offline mode (`HF_HUB_OFFLINE`): answer from the cache only, without a single request.
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// How pointers are written (symlinks or not), see [`WriteOptions::from_env`].
    pub fn with_write_options(mut self, write: WriteOptions) -> Self {
        self.write = write;
        self
    }

    /// Files a snapshot downloads at once (at least 1).
    pub fn with_max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = max_workers.max(1);
        self
    }

    /// How the metadata request is retried when it failed transiently and nothing is cached
    /// (upstream asks once more with back-off: 1, 2, 4, 8, 8 s).
    pub fn with_retry(mut self, retry: hub_http::RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Where progress events go.
    pub fn with_events(mut self, events: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.events = Arc::new(events);
        self
    }

    /// The cache downloaded into.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The network side this downloader uses.
    pub fn remote(&self) -> &R {
        &self.remote
    }

    /// Downloads one file (cache or `local_dir` mode) and returns its path: `snapshots/<commit>/<path>`
    /// under the resolved cache root, or `<local_dir>/<path>`.
    pub async fn download_file(&self, request: &FileRequest) -> Result<PathBuf, Error> {
        check_revision(&request.repo, &request.revision)?;
        let filename = cache_mode::check_filename(&request.repo, &request.filename)?;
        match &request.local_dir {
            None => {
                self.file_to_cache(
                    &request.repo,
                    &request.revision,
                    &filename,
                    request.force_download,
                )
                .await
            }
            Some(local_dir) => {
                self.file_to_local_dir(
                    local_dir,
                    &request.repo,
                    &request.revision,
                    &filename,
                    request.force_download,
                    None,
                )
                .await
            }
        }
    }

    /// Downloads a snapshot and returns its folder: `snapshots/<commit>` under the resolved cache root
    /// (returned even when no file matched), or the resolved `local_dir`.
    pub async fn snapshot(&self, request: &SnapshotRequest) -> Result<PathBuf, Error> {
        check_revision(&request.repo, &request.revision)?;
        self.snapshot_impl(request).await
    }

    fn emit(&self, event: Event) {
        (self.events)(&event);
    }

    /// The cache with its root resolved as 2.x does (`Path(cache_dir).expanduser().resolve()`).
    fn resolved_cache(&self) -> Cache {
        match hub_cache::lookup::resolve_path(self.cache.root()) {
            Ok(root) => Cache::new(root),
            Err(_) => self.cache.clone(),
        }
    }
}

/// A revision names a file under `refs/`: refuse one that would leave it, before any request.
fn check_revision(repo: &Repo, revision: &str) -> Result<(), Error> {
    hub_cache::repo::check_revision(revision).map_err(|source| Error::InvalidRevision {
        repo: repo.clone(),
        source,
    })
}
