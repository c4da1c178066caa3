//! The offline front door: `Cache::from_process().model("org/name").get("config.json")?`, one
//! expression per lookup, every failure a [`crate::Error`].
//!
//! [`RepoLookup`] is a repository (and a revision) seen through a [`Cache`]; it reads the cache and
//! never writes to it. Its methods are thin wrappers over [`Cache::cached_file`],
//! [`Cache::cached_snapshot`], [`Cache::try_to_load_from_cache`] and [`Cache::open_cached_file`],
//! which keep their precise error types for callers that want them.

use std::fs::File;
use std::path::PathBuf;

use crate::env::Env;
use crate::error::Error;
use crate::layout::Cache;
use crate::lookup::{CachedFile, CachedSnapshot, OfflineError};
use crate::repo::{self, InvalidRepoId, Repo, RepoId, RepoType};

impl Cache {
    /// The cache the process environment selects (`HF_HUB_CACHE`, or the legacy
    /// `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`), as [`Cache::from_env`] with [`Env::from_process`]. The folder
    /// need not exist: lookups in a missing cache find nothing.
    pub fn from_process() -> Cache {
        Cache::from_env(&Env::from_process())
    }

    /// The model repository `id` (`"gpt2"`, `"org/name"`) in this cache, at revision `main` until
    /// [`RepoLookup::revision`] says otherwise. An invalid id is reported by the first lookup, as
    /// [`Error::InvalidRepoId`].
    ///
    /// ```
    /// let dir = tempfile::tempdir().expect("a temporary folder");
    /// let cache = hub_cache::Cache::new(dir.path());
    /// let error = cache.model("not a valid id").get("config.json").unwrap_err();
    /// assert!(error.is_invalid_input());
    /// ```
    pub fn model(&self, id: &str) -> RepoLookup<'_> {
        self.of_type(RepoType::Model, id)
    }

    /// The dataset repository `id` in this cache (see [`Cache::model`]).
    pub fn dataset(&self, id: &str) -> RepoLookup<'_> {
        self.of_type(RepoType::Dataset, id)
    }

    /// The space repository `id` in this cache (see [`Cache::model`]).
    pub fn space(&self, id: &str) -> RepoLookup<'_> {
        self.of_type(RepoType::Space, id)
    }

    /// An already validated repository in this cache (see [`Cache::model`]).
    pub fn lookup(&self, repo: Repo) -> RepoLookup<'_> {
        RepoLookup {
            cache: self,
            repo: Ok(repo),
            revision: repo::DEFAULT_REVISION.to_owned(),
        }
    }

    fn of_type(&self, repo_type: RepoType, id: &str) -> RepoLookup<'_> {
        RepoLookup {
            cache: self,
            repo: RepoId::new(id).map(|id| Repo::new(repo_type, id)),
            revision: repo::DEFAULT_REVISION.to_owned(),
        }
    }
}

/// A repository at a revision, looked up in a [`Cache`] without any network access. Made by
/// [`Cache::model`], [`Cache::dataset`], [`Cache::space`] or [`Cache::lookup`].
///
/// ```
/// # fn main() -> Result<(), hub_cache::Error> {
/// # let dir = tempfile::tempdir().expect("a temporary folder");
/// # let cache = hub_cache::Cache::new(dir.path());
/// // A file is found when `refs/<revision>` names a commit whose snapshot holds it.
/// let config = match cache.model("openai-community/gpt2").revision("v1.0").get("config.json") {
///     Ok(path) => Some(path),
///     Err(error) if error.is_not_cached() => None, // time to download it
///     Err(error) => return Err(error),
/// };
/// assert_eq!(config, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RepoLookup<'a> {
    cache: &'a Cache,
    /// The repository, or why its id was refused (reported by the first lookup).
    repo: Result<Repo, InvalidRepoId>,
    revision: String,
}

impl RepoLookup<'_> {
    /// Looks the repository up at `revision` (a branch, a tag, `refs/pr/N` or a full commit hash)
    /// instead of `main`. A branch or tag is resolved through the cached `refs/<revision>` file.
    pub fn revision(mut self, revision: &str) -> Self {
        revision.clone_into(&mut self.revision);
        self
    }

    /// The repository, or [`Error::InvalidRepoId`] when the id given was refused.
    pub fn repo(&self) -> Result<&Repo, Error> {
        self.repo.as_ref().map_err(|error| error.clone().into())
    }

    /// The revision lookups use (`main` unless [`RepoLookup::revision`] set one).
    pub fn revision_name(&self) -> &str {
        &self.revision
    }

    /// The cached file `filename` (a repo path with `/` separators): the path of its snapshot entry
    /// `snapshots/<commit>/<filename>`, which resolves inside the cache ([`Cache::cached_file`]).
    ///
    /// # Errors
    /// [`Error::is_not_cached`] when the revision or the file is not cached;
    /// [`Error::is_invalid_input`] for an invalid repository id or a file name that would leave its
    /// folder; an I/O failure reading the cache otherwise.
    pub fn get(&self, filename: &str) -> Result<PathBuf, Error> {
        Ok(self
            .cache
            .cached_file(self.repo()?, Some(&self.revision), filename)?)
    }

    /// The cached file `filename`, opened for reading. The snapshot entry is resolved inside the
    /// cache and the blob it leads to opened without following a further link
    /// ([`Cache::open_cached_file`]).
    ///
    /// # Errors
    /// As [`RepoLookup::get`]: a file that is not cached (or whose entry leads outside the cache) is
    /// an [`Error::is_not_cached`] error naming the repository, revision and file.
    pub fn open(&self, filename: &str) -> Result<File, Error> {
        let repo = self.repo()?;
        self.cache
            .open_cached_file(repo, filename, Some(&self.revision))?
            .ok_or_else(|| {
                Error::from(OfflineError::FileNotCached {
                    repo: repo.clone(),
                    revision: self.revision.clone(),
                    filename: filename.to_owned(),
                })
            })
    }

    /// What the cache knows about `filename` at this revision, as upstream's
    /// `try_to_load_from_cache`: found (with its path), recorded as absent upstream (`.no_exist`), or
    /// unknown ([`Cache::try_to_load_from_cache`]). Not being cached is not an error here.
    pub fn try_get(&self, filename: &str) -> Result<CachedFile, Error> {
        Ok(self
            .cache
            .try_to_load_from_cache(self.repo()?, filename, Some(&self.revision))?)
    }

    /// The cached snapshot folder of this revision, checked against the cached listing when there
    /// is one ([`Cache::cached_snapshot`], every listed file wanted).
    ///
    /// # Errors
    /// [`Error::is_not_cached`] when the revision has no snapshot folder, or when its cached listing
    /// names files the folder lacks; an I/O failure reading the cache otherwise.
    pub fn snapshot(&self) -> Result<CachedSnapshot, Error> {
        Ok(self
            .cache
            .cached_snapshot(self.repo()?, Some(&self.revision), |_| true)?)
    }

    /// The commit hash this revision names in the cache: the revision itself when it is a full
    /// commit hash, else the content of `refs/<revision>`; `None` when no ref is cached.
    pub fn commit(&self) -> Result<Option<String>, Error> {
        Ok(self
            .cache
            .commit_for_revision(self.repo()?, &self.revision)?)
    }
}
