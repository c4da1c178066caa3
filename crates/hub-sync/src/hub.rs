//! The front door for Rust callers: one [`Hub`] built from one environment snapshot, then one
//! expression per download.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let served = tempfile::tempdir()?;
//! # hfhub_tests::synthetic::write_model(served.path(), "openai-community/gpt2", "c1", "main",
//! #     &[("config.json".into(), b"{}".to_vec(), false),
//! #       ("model.safetensors".into(), vec![7; 64], true), ("notes.txt".into(), b"x".to_vec(), false)])?;
//! # let server = hub_server::Server::builder(served.path()).start().await?;
//! # let cache = tempfile::tempdir()?;
//! # let hub = hub_sync::HubBuilder::new(&hub_cache::env::Env::from_pairs([]))?
//! #     .with_endpoint(&server.endpoint()).with_cache_dir(cache.path()).build()?;
//! // let hub = hub_sync::Hub::from_env()?; (here: a hub-server on 127.0.0.1)
//! let config = hub.model("openai-community/gpt2").get("config.json").await?;
//! let weights = hub
//!     .model("openai-community/gpt2")
//!     .snapshot()
//!     .include(["*.json", "*.safetensors"])
//!     .download()
//!     .await?;
//! assert!(weights.join("model.safetensors").is_file());
//! assert!(!weights.join("notes.txt").exists()); // not selected
//! let cached = hub.model("openai-community/gpt2").revision("main").cached("config.json")?;
//! assert_eq!(cached, Some(config));
//! # Ok(()) }
//! ```
//!
//! [`Hub::from_env`] reads the environment once ([`hub_cache::env::Env`]), so the endpoint, the
//! token, the cache folder, offline mode, the symlink policy and the timeouts always agree;
//! [`HubBuilder`] overrides any of them. [`crate::blocking::Hub`] is the same API for callers
//! without an async runtime.

use std::path::PathBuf;
use std::sync::Arc;

use hub_cache::env::Env;
use hub_cache::lookup::CachedFile;
use hub_cache::repo::InvalidRepoId;
use hub_cache::write::{Symlinks, WriteOptions};
use hub_cache::{Cache, Repo, RepoId, RepoType};

use crate::{Downloader, Error, Event, Events, FileRequest, SnapshotRequest};

/// Downloads from one Hub endpoint into one cache. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    downloader: Downloader<hub_http::Client>,
}

impl Hub {
    /// A hub configured by the process environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`,
    /// `HF_HUB_OFFLINE`, `HF_HUB_DISABLE_SYMLINKS`, timeouts...), read once.
    pub fn from_env() -> Result<Hub, Error> {
        HubBuilder::from_env()?.build()
    }

    /// A builder from an explicit environment snapshot (for callers that manage their own settings).
    pub fn builder(env: &Env) -> Result<HubBuilder, Error> {
        HubBuilder::new(env)
    }

    /// A model repository, `org/name` or `name`.
    pub fn model(&self, id: &str) -> RepoHandle<'_> {
        self.repo_of(RepoType::Model, id)
    }

    /// A dataset repository.
    pub fn dataset(&self, id: &str) -> RepoHandle<'_> {
        self.repo_of(RepoType::Dataset, id)
    }

    /// A space repository.
    pub fn space(&self, id: &str) -> RepoHandle<'_> {
        self.repo_of(RepoType::Space, id)
    }

    /// A repository already parsed.
    pub fn repo(&self, repo: Repo) -> RepoHandle<'_> {
        RepoHandle::new(self, Ok(repo))
    }

    /// The cache this hub downloads into.
    pub fn cache(&self) -> &Cache {
        self.downloader.cache()
    }

    /// The downloader underneath, for the request types of [`crate::Downloader`].
    pub fn downloader(&self) -> &Downloader<hub_http::Client> {
        &self.downloader
    }

    fn repo_of(&self, repo_type: RepoType, id: &str) -> RepoHandle<'_> {
        let repo = RepoId::new(id)
            .map(|id| Repo::new(repo_type, id))
            .map_err(|source| (id.to_owned(), source));
        RepoHandle::new(self, repo)
    }
}

/// Settings of a [`Hub`]: the environment's, each overridable.
pub struct HubBuilder {
    client: hub_http::ClientBuilder,
    cache: Cache,
    write: WriteOptions,
    offline: bool,
    max_workers: usize,
    events: Option<Events>,
}

impl HubBuilder {
    /// The settings of the process environment.
    pub fn from_env() -> Result<HubBuilder, Error> {
        HubBuilder::new(&Env::from_process())
    }

    /// The settings of an environment snapshot.
    pub fn new(env: &Env) -> Result<HubBuilder, Error> {
        let client = hub_http::ClientBuilder::from_env(env).map_err(|source| Error::Setup {
            reason: "an environment variable has an invalid value".to_owned(),
            source: Box::new(source),
        })?;
        Ok(HubBuilder {
            client,
            cache: Cache::from_env(env),
            write: WriteOptions::from_env(env),
            offline: env.offline(),
            max_workers: crate::DEFAULT_MAX_WORKERS,
            events: None,
        })
    }

    /// Another Hub endpoint (a mirror, `hfhub serve`).
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        self.client = self.client.with_endpoint(hub_http::Endpoint::new(endpoint));
        self
    }

    /// Another token (`None`: send none).
    pub fn with_token(mut self, token: Option<&str>) -> Self {
        self.client = self.client.with_token(token.and_then(hub_http::Token::new));
        self
    }

    /// Another cache folder.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Cache::new(dir);
        self
    }

    /// Offline mode: answers from the cache only, without a request.
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self.client = self.client.with_offline(offline);
        self
    }

    /// Whether snapshot pointers are symlinks (`false`: copies, as `HF_HUB_DISABLE_SYMLINKS`).
    pub fn with_symlinks(mut self, symlinks: bool) -> Self {
        self.write = self.write.with_symlinks(if symlinks {
            Symlinks::Probe
        } else {
            Symlinks::Disabled
        });
        self
    }

    /// Files a snapshot downloads at once.
    pub fn with_max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = max_workers;
        self
    }

    /// A progress hook: every [`Event`] of every download.
    pub fn with_progress(mut self, events: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(events));
        self
    }

    /// The hub.
    pub fn build(self) -> Result<Hub, Error> {
        let client = self.client.build().map_err(|source| Error::Setup {
            reason: "cannot build the HTTP client".to_owned(),
            source: Box::new(source),
        })?;
        let mut downloader = Downloader::new(client, self.cache)
            .with_offline(self.offline)
            .with_write_options(self.write)
            .with_max_workers(self.max_workers);
        if let Some(events) = self.events {
            downloader = downloader.with_events(move |event| events(event));
        }
        Ok(Hub { downloader })
    }
}

/// The settings (the progress hook is only said to be set or not).
impl std::fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubBuilder")
            .field("client", &self.client)
            .field("cache", &self.cache)
            .field("write", &self.write)
            .field("offline", &self.offline)
            .field("max_workers", &self.max_workers)
            .field("progress", &self.events.is_some())
            .finish()
    }
}

/// One repository of a [`Hub`], at a revision, into the cache or a local folder.
#[derive(Clone, Debug)]
pub struct RepoHandle<'a> {
    hub: &'a Hub,
    /// The repository, or why its id was refused (reported by the first download or lookup).
    repo: Result<Repo, (String, InvalidRepoId)>,
    revision: String,
    local_dir: Option<PathBuf>,
    force_download: bool,
}

impl<'a> RepoHandle<'a> {
    fn new(hub: &'a Hub, repo: Result<Repo, (String, InvalidRepoId)>) -> RepoHandle<'a> {
        RepoHandle {
            hub,
            repo,
            revision: hub_cache::repo::DEFAULT_REVISION.to_owned(),
            local_dir: None,
            force_download: false,
        }
    }

    /// A branch, tag, PR ref (`refs/pr/1`) or commit; default `main`.
    pub fn revision(mut self, revision: &str) -> Self {
        revision.clone_into(&mut self.revision);
        self
    }

    /// Download into this folder instead of the cache (`local_dir` mode).
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }

    /// Download again even when the cache has the file.
    pub fn force_download(mut self) -> Self {
        self.force_download = true;
        self
    }

    /// Downloads one file; returns its path in the cache's snapshot (or the local folder).
    pub async fn get(&self, filename: &str) -> Result<PathBuf, Error> {
        let request = self.file_request(filename)?;
        self.hub.downloader.download_file(&request).await
    }

    /// A snapshot of the repository, to narrow with patterns and then download.
    pub fn snapshot(&self) -> SnapshotHandle<'a> {
        SnapshotHandle {
            handle: self.clone(),
            include: None,
            exclude: None,
        }
    }

    /// The cached copy of a file, without any request: `Some(path)` when the cache has it at this
    /// revision, `None` otherwise (also when the cache records that the file does not exist).
    pub fn cached(&self, filename: &str) -> Result<Option<PathBuf>, Error> {
        let repo = self.repo()?;
        let found = self
            .hub
            .cache()
            .try_to_load_from_cache(&repo, filename, Some(&self.revision))
            .map_err(|source| Error::InvalidFilename {
                repo: repo.clone(),
                filename: filename.to_owned(),
                reason: source.to_string(),
            })?;
        Ok(match found {
            CachedFile::Found(path) => Some(path),
            CachedFile::CachedNoExist | CachedFile::Unknown => None,
        })
    }

    fn file_request(&self, filename: &str) -> Result<FileRequest, Error> {
        Ok(FileRequest::new(self.repo()?, filename)
            .with_revision(self.revision.clone())
            .with_force_download(self.force_download)
            .with_local_dir(self.local_dir.clone()))
    }

    pub(crate) fn hub(&self) -> &'a Hub {
        self.hub
    }

    fn repo(&self) -> Result<Repo, Error> {
        self.repo
            .clone()
            .map_err(|(id, source)| Error::InvalidRepoId { id, source })
    }
}

/// A snapshot of one repository, narrowed by `fnmatch` patterns as upstream's
/// `allow_patterns` / `ignore_patterns`.
#[derive(Clone, Debug)]
pub struct SnapshotHandle<'a> {
    handle: RepoHandle<'a>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
}

impl SnapshotHandle<'_> {
    /// Only files matching one of these patterns (`*.json`, `sub/*`).
    pub fn include<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.include
            .get_or_insert_with(Vec::new)
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// None of the files matching one of these patterns.
    pub fn exclude<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.exclude
            .get_or_insert_with(Vec::new)
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Downloads the selected files; returns the snapshot folder (or the local folder).
    pub async fn download(&self) -> Result<PathBuf, Error> {
        let request = self.request()?;
        self.handle.hub().downloader.snapshot(&request).await
    }

    fn request(&self) -> Result<SnapshotRequest, Error> {
        let handle = &self.handle;
        Ok(SnapshotRequest::new(handle.repo()?)
            .with_revision(handle.revision.clone())
            .with_allow(self.include.clone())
            .with_ignore(self.exclude.clone())
            .with_force_download(handle.force_download)
            .with_local_dir(handle.local_dir.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_settings_and_never_the_token() {
        let env = Env::from_pairs([
            ("HF_TOKEN", "hf_secretsecretsecret"),
            ("HF_ENDPOINT", "http://127.0.0.1:9"),
            ("HF_HUB_CACHE", "/tmp/hub-debug"),
        ]);
        let builder = HubBuilder::new(&env).expect("valid environment");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("hf_***") && shown.contains("/tmp/hub-debug"),
            "{shown}"
        );
        assert!(shown.contains("127.0.0.1:9"), "{shown}");
        let hub = builder.with_offline(true).build().expect("a hub");
        let shown = format!("{:?}", hub.model("org/name").revision("v1"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("offline: true"), "{shown}");
        assert!(
            shown.contains("org/name") && shown.contains("v1"),
            "{shown}"
        );
    }
}
