//! [`Hub`]: the front door of [`crate::hub`] for callers without an async runtime.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let served = tempfile::tempdir()?;
//! # hfhub_tests::synthetic::write_model(served.path(), "openai-community/gpt2", "c1", "main",
//! #     &[("config.json".into(), b"{}".to_vec(), false)])?;
//! # let server = hub_server::Server::builder(served.path()).start_blocking()?;
//! # let cache = tempfile::tempdir()?;
//! # let hub = hub_sync::blocking::Hub::from_builder(
//! #     hub_sync::HubBuilder::new(&hub_cache::env::Env::from_pairs([]))?
//! #         .with_endpoint(&server.endpoint())
//! #         .with_cache_dir(cache.path()),
//! # )?;
//! // let hub = hub_sync::blocking::Hub::from_env()?; (here: a hub-server on 127.0.0.1)
//! let config = hub.model("openai-community/gpt2").get("config.json")?;
//! assert_eq!(std::fs::read(&config)?, b"{}");
//! let missing = hub.model("openai-community/gpt2").get("absent.json").unwrap_err();
//! assert!(missing.is_not_found());
//! # Ok(()) }
//! ```
//!
//! It owns a small runtime. Each call blocks the calling thread until the download ends, and works
//! from any thread: a plain thread, a `spawn_blocking` task of another runtime, or even a worker of
//! another runtime (there the call runs on a helper thread, since a runtime cannot be entered twice;
//! it still blocks that worker, so async code should use [`crate::Hub`] instead).

use std::future::Future;
use std::path::PathBuf;

use hub_cache::env::Env;
use hub_cache::{Cache, Repo};

use crate::{Error, HubBuilder};

/// [`crate::Hub`] with blocking methods.
#[derive(Debug)]
pub struct Hub {
    inner: crate::Hub,
    /// Always `Some` but in `drop`.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Hub {
    /// A hub configured by the process environment, read once (see [`crate::Hub::from_env`]).
    pub fn from_env() -> Result<Hub, Error> {
        Hub::from_builder(HubBuilder::from_env()?)
    }

    /// A hub from an explicit environment snapshot.
    pub fn from_env_snapshot(env: &Env) -> Result<Hub, Error> {
        Hub::from_builder(HubBuilder::new(env)?)
    }

    /// A hub from settings (start with [`HubBuilder::from_env`] and override).
    pub fn from_builder(builder: HubBuilder) -> Result<Hub, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hub-sync-blocking")
            .enable_all()
            .build()
            .map_err(|source| Error::Setup {
                reason: "cannot start the runtime of the blocking API".to_owned(),
                source: Box::new(source),
            })?;
        // Building the client registers timers and sockets with the runtime it runs in.
        let inner = block_on(&runtime, async { builder.build() })?;
        Ok(Hub {
            inner,
            runtime: Some(runtime),
        })
    }

    /// A model repository, `org/name` or `name`.
    pub fn model(&self, id: &str) -> RepoHandle<'_> {
        self.handle(self.inner.model(id))
    }

    /// A dataset repository.
    pub fn dataset(&self, id: &str) -> RepoHandle<'_> {
        self.handle(self.inner.dataset(id))
    }

    /// A space repository.
    pub fn space(&self, id: &str) -> RepoHandle<'_> {
        self.handle(self.inner.space(id))
    }

    /// A repository already parsed.
    pub fn repo(&self, repo: Repo) -> RepoHandle<'_> {
        self.handle(self.inner.repo(repo))
    }

    /// The cache this hub downloads into.
    pub fn cache(&self) -> &Cache {
        self.inner.cache()
    }

    /// The async hub underneath.
    pub fn inner(&self) -> &crate::Hub {
        &self.inner
    }

    fn handle<'a>(&'a self, inner: crate::RepoHandle<'a>) -> RepoHandle<'a> {
        RepoHandle { hub: self, inner }
    }

    fn block_on<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        block_on(
            self.runtime.as_ref().expect("the runtime lives until drop"),
            future,
        )
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            // Dropping a runtime blocks, which a runtime's own thread may not do.
            runtime.shutdown_background();
        }
    }
}

/// Runs `future` to completion on `runtime`, from whatever thread calls: inside another runtime's
/// context `block_on` would panic, so a helper thread (outside any runtime) drives the future.
fn block_on<T: Send>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = T> + Send,
) -> T {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    } else {
        runtime.block_on(future)
    }
}

/// One repository, at a revision, into the cache or a local folder (blocking).
#[derive(Debug)]
pub struct RepoHandle<'a> {
    hub: &'a Hub,
    inner: crate::RepoHandle<'a>,
}

impl<'a> RepoHandle<'a> {
    /// A branch, tag, PR ref or commit; default `main`.
    pub fn revision(self, revision: &str) -> Self {
        RepoHandle {
            inner: self.inner.revision(revision),
            ..self
        }
    }

    /// Download into this folder instead of the cache.
    pub fn local_dir(self, dir: impl Into<PathBuf>) -> Self {
        RepoHandle {
            inner: self.inner.local_dir(dir),
            ..self
        }
    }

    /// Download again even when the cache has the file.
    pub fn force_download(self) -> Self {
        RepoHandle {
            inner: self.inner.force_download(),
            ..self
        }
    }

    /// Downloads one file; returns its path.
    pub fn get(&self, filename: &str) -> Result<PathBuf, Error> {
        self.hub.block_on(self.inner.get(filename))
    }

    /// The cached copy of a file, without any request (see [`crate::RepoHandle::cached`]).
    pub fn cached(&self, filename: &str) -> Result<Option<PathBuf>, Error> {
        self.inner.cached(filename)
    }

    /// A snapshot of the repository, to narrow with patterns and then download.
    pub fn snapshot(&self) -> SnapshotHandle<'a> {
        SnapshotHandle {
            hub: self.hub,
            inner: self.inner.snapshot(),
        }
    }
}

/// A snapshot narrowed by patterns (blocking).
#[derive(Debug)]
pub struct SnapshotHandle<'a> {
    hub: &'a Hub,
    inner: crate::SnapshotHandle<'a>,
}

impl SnapshotHandle<'_> {
    /// Only files matching one of these patterns.
    pub fn include<S: Into<String>>(self, patterns: impl IntoIterator<Item = S>) -> Self {
        SnapshotHandle {
            inner: self.inner.include(patterns),
            ..self
        }
    }

    /// None of the files matching one of these patterns.
    pub fn exclude<S: Into<String>>(self, patterns: impl IntoIterator<Item = S>) -> Self {
        SnapshotHandle {
            inner: self.inner.exclude(patterns),
            ..self
        }
    }

    /// Downloads the selected files; returns the snapshot folder (or the local folder).
    pub fn download(&self) -> Result<PathBuf, Error> {
        self.hub.block_on(self.inner.download())
    }
}
