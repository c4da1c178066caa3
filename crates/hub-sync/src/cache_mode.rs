//! Cache mode of one file (`file_download.py::_hf_hub_download_to_cache_dir`, 2.x).
//!
//! ```text
//! <cache>/
//! ├── CACHEDIR.TAG
//! ├── .locks/<repo_folder>/<etag>.lock        held while a blob is fetched, published and linked
//! └── <repo_folder>/
//!     ├── refs/<revision>                     written after the HEAD, before the download
//!     ├── blobs/<etag>.<8hex>.incomplete      the download; adopted by the next run under the lock
//!     ├── blobs/<etag>                        published by rename once verified
//!     ├── snapshots/<commit>/<path>           the pointer returned
//!     └── .no_exist/<commit>/<path>           written when the HEAD says the file does not exist
//! ```
//!
//! What the server says enters here as validated values: the file name as a [`RepoPath`], the ETag
//! as an [`Etag`] (its hash kind decides whether the bytes can be verified), the size bounded by
//! [`crate::MAX_FILE_SIZE`]. Disk work whose cost grows with the file (copying a blob when symlinks
//! are off) runs in blocking tasks, never on the async runtime; a rename or a symlink, whose cost
//! does not depend on the size, runs where it is (a task per step cost more than the step).

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hub_cache::display::Escaped;
use hub_cache::layout::BLOBS_DIR;
use hub_cache::lock::{FileLock, Guard, LockError};
use hub_cache::lookup::PointerCheck;
use hub_cache::partial::PartialIndex;
use hub_cache::write::{BlobOrigin, RepoWriter, WriteError, WriteOptions, claim_partial_in};
use hub_cache::{Cache, CommitHash, Etag, Repo, RepoPath};
use hub_http::{DownloadRequest, Progress, Resolved};

use crate::{Downloader, Error, Event, Remote};

/// Where a blob's bytes are and what they must be.
#[derive(Debug, Clone)]
pub(crate) struct BlobSource {
    pub etag: Etag,
    pub size: Option<u64>,
    pub location: String,
    pub resolve_url: String,
}

impl BlobSource {
    /// The blob a `HEAD` answer names: its ETag (parsed by hub-http with the one ETag rule) and
    /// its size bounded.
    pub(crate) fn from_resolved(
        repo: &Repo,
        revision: &str,
        filename: &RepoPath,
        resolved: Resolved,
        resolve_url: String,
    ) -> Result<BlobSource, Error> {
        let bad = |reason: String| Error::BadAnswer {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: Some(filename.as_str().to_owned()),
            reason,
        };
        // hub-http parsed the ETag with the workspace rule (`hub_cache::Etag`).
        let etag = resolved.etag;
        if let Some(size) = resolved.size {
            check_size(size).map_err(bad)?;
        }
        Ok(BlobSource {
            etag,
            size: resolved.size,
            location: resolved.location,
            resolve_url,
        })
    }
}

/// What the files of one download into one repository folder share, so that nothing that does not
/// depend on the file is done per file: one writer (its probes run once for all files), the
/// pointer check (the folders on the way checked once), for a snapshot the partial downloads of
/// `blobs/` listed once, the cache root and its `CACHEDIR.TAG` made once, each snapshot folder
/// created once.
pub(crate) struct RepoFiles {
    pub(crate) writer: RepoWriter,
    pointers: PointerCheck,
    /// `blobs/` listed once for a snapshot, at its first claim (a snapshot with everything cached
    /// never lists it); `None` lists it under the lock at each claim (one file).
    partials: Option<OnceLock<PartialIndex>>,
    tagged: OnceLock<()>,
    folders: Mutex<HashSet<PathBuf>>,
}

impl RepoFiles {
    /// For one file: partial downloads are looked for at the claim, under the blob's lock.
    pub(crate) fn one(cache: &Cache, repo: &Repo, write: WriteOptions) -> RepoFiles {
        RepoFiles {
            writer: cache.writer(repo, write),
            pointers: PointerCheck::new(cache, repo),
            partials: None,
            tagged: OnceLock::new(),
            folders: Mutex::default(),
        }
    }

    /// For the files of a snapshot: `blobs/` is listed once, at the first claim. A partial download
    /// that appears after this (left by a process that died while downloading the same blob) waits
    /// for the next run.
    pub(crate) fn snapshot(cache: &Cache, repo: &Repo, write: WriteOptions) -> RepoFiles {
        RepoFiles {
            partials: Some(OnceLock::new()),
            ..RepoFiles::one(cache, repo, write)
        }
    }

    /// `snapshots/<commit>/<path>` when it is cached inside the cache.
    pub(crate) fn cached(&self, commit: &CommitHash, path: &RepoPath) -> Option<PathBuf> {
        self.pointers.cached(commit, path)
    }

    /// Creates the folder of `snapshots/<commit>/<name>` (and its parents, never through a link)
    /// unless this download already did; failures are ignored (the write that needs the folder
    /// reports them).
    fn ensure_folder(&self, commit: &CommitHash, name: &str, folder: &Path) {
        let mut made = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
        if !made.contains(folder) && self.writer.ensure_pointer_folder(commit, name).is_ok() {
            made.insert(folder.to_path_buf());
        }
    }
}

/// A size a server announced, refused past [`crate::MAX_FILE_SIZE`]: no file that large exists on
/// any Hub, and the size decides how a download is split and what progress shows.
pub(crate) fn check_size(size: u64) -> Result<u64, String> {
    if size > crate::MAX_FILE_SIZE {
        Err(format!(
            "it is announced as {size} bytes, more than the {} bytes hfhub accepts for one file",
            crate::MAX_FILE_SIZE
        ))
    } else {
        Ok(size)
    }
}

/// Parses a repo path by the one path rule ([`RepoPath`]) before any path is built from it; the
/// error names the file (escaped when shown) and why it is refused.
pub(crate) fn check_filename(repo: &Repo, filename: &str) -> Result<RepoPath, Error> {
    RepoPath::parse(filename).map_err(|e| Error::InvalidFilename {
        repo: repo.clone(),
        filename: filename.to_owned(),
        reason: e.reason.to_string(),
    })
}

/// Runs disk work whose cost grows with a file's size on the blocking pool, so hashing or copying a
/// large file never holds up the downloads sharing the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WriteError> + Send + 'static,
) -> Result<T, WriteError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(WriteError::Io {
            action: "finish",
            path: PathBuf::new(),
            source: std::io::Error::other(join.to_string()),
        }),
    }
}

/// Takes a file lock without blocking the async runtime: at once when it is free, else waiting on
/// the blocking pool.
pub(crate) async fn lock(lock: FileLock) -> Result<Guard, LockError> {
    let path = lock.path().to_path_buf();
    if let Some(guard) = lock.try_acquire()? {
        return Ok(guard);
    }
    match tokio::task::spawn_blocking(move || lock.acquire()).await {
        Ok(result) => result,
        Err(join) => Err(LockError::Io {
            action: "wait for",
            path,
            source: std::io::Error::other(join.to_string()),
        }),
    }
}

/// Whether a failed download's partial file is worth keeping for a later resume.
pub(crate) fn keep_partial(error: &hub_http::Error) -> bool {
    error.is_retryable() && !matches!(error, hub_http::Error::SizeMismatch { .. })
}

impl<R: Remote> Downloader<R> {
    pub(crate) async fn file_to_cache(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &RepoPath,
        force: bool,
    ) -> Result<PathBuf, Error> {
        let name = filename.as_str();
        let cache = self.resolved_cache();
        let files = RepoFiles::one(&cache, repo, self.write);
        if let Some(commit) = CommitHash::new(revision).filter(|_| !force) {
            // A pointer planted to lead outside the cache is not a cached file: fetched again.
            if let Some(pointer) = files.cached(&commit, filename) {
                self.finished(name, &pointer, false);
                return Ok(pointer);
            }
        }
        if self.offline {
            if force {
                return Err(Error::ForceDownload {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: Some(name.to_owned()),
                    source: None,
                });
            }
            return self.cached_file(&cache, repo, revision, name, None);
        }
        let resolved = match self.remote.resolve(repo, revision, name).await {
            Ok(resolved) => resolved,
            Err(error) => {
                // Upstream: a cached copy wins; else a transient failure is retried with back-off.
                let cached = !force && cache.cached_file(repo, Some(revision), name).is_ok();
                if cached || force || !error.is_retryable() {
                    return self.file_fallback(&cache, repo, revision, name, force, error);
                }
                tracing::info!(
                    "no local file found for `{filename}` of {repo}, retrying: {}",
                    Escaped(&error.to_string())
                );
                match self
                    .retry
                    .run(|| self.remote.resolve(repo, revision, name))
                    .await
                {
                    Ok(resolved) => resolved,
                    Err(error) => {
                        return self.file_fallback(&cache, repo, revision, name, force, error);
                    }
                }
            }
        };
        let commit = CommitHash::new(&resolved.commit).ok_or_else(|| Error::BadAnswer {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: Some(name.to_owned()),
            reason: format!("`{}` is not a commit hash", resolved.commit),
        })?;
        let resolve_url = self.remote.resolve_url(repo, commit.as_str(), name);
        let source = BlobSource::from_resolved(repo, revision, filename, resolved, resolve_url)?;
        if let Err(error) = files.writer.write_ref(revision, &commit) {
            tracing::warn!(
                "cannot record revision `{}` of {repo}: {}",
                Escaped(revision),
                Escaped(&error.to_string())
            );
        }
        self.fetch_blob(
            &cache, &files, repo, revision, &commit, filename, source, force,
        )
        .await
    }

    /// The offline answer for one file, as an error naming repo, revision and file when absent.
    fn cached_file(
        &self,
        cache: &Cache,
        repo: &Repo,
        revision: &str,
        filename: &str,
        remote: Option<hub_http::Error>,
    ) -> Result<PathBuf, Error> {
        match cache.cached_file(repo, Some(revision), filename) {
            Ok(path) => {
                self.finished(filename, &path, false);
                Ok(path)
            }
            Err(offline) => Err(match remote {
                Some(source) => Error::Remote {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: Some(filename.to_owned()),
                    source,
                },
                None => Error::Offline {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: Some(filename.to_owned()),
                    source: offline,
                },
            }),
        }
    }

    /// What a failed `HEAD` leads to (spec 2.7).
    fn file_fallback(
        &self,
        cache: &Cache,
        repo: &Repo,
        revision: &str,
        filename: &str,
        force: bool,
        error: hub_http::Error,
    ) -> Result<PathBuf, Error> {
        if let hub_http::Error::EntryNotFound { commit, .. } = &error {
            if let Some(commit) = commit.as_deref().and_then(CommitHash::new) {
                let writer = cache.writer(repo, self.write);
                if let Err(e) = writer.mark_no_exist(&commit, filename) {
                    tracing::warn!(
                        "cannot record that `{}` is missing: {}",
                        Escaped(filename),
                        Escaped(&e.to_string())
                    );
                }
                if let Err(e) = writer.write_ref(revision, &commit) {
                    tracing::warn!(
                        "cannot record revision `{}` of {repo}: {}",
                        Escaped(revision),
                        Escaped(&e.to_string())
                    );
                }
            }
            return Err(Error::EntryNotFound {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: filename.to_owned(),
                source: error,
            });
        }
        if let hub_http::Error::RevisionNotFound { .. } = &error {
            return Err(Error::RevisionNotFound {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: Some(filename.to_owned()),
                source: error,
            });
        }
        if !error.allows_cache_fallback() {
            return Err(Error::Remote {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: Some(filename.to_owned()),
                source: error,
            });
        }
        if force {
            return Err(Error::ForceDownload {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: Some(filename.to_owned()),
                source: Some(error),
            });
        }
        if error.is_offline() {
            return self.cached_file(cache, repo, revision, filename, None);
        }
        tracing::info!(
            "cannot reach the Hub for `{}` of {repo}, trying the cache: {}",
            Escaped(filename),
            Escaped(&error.to_string())
        );
        self.cached_file(cache, repo, revision, filename, Some(error))
    }

    /// Makes `snapshots/<commit>/<filename>` point at the blob `source.etag`: reuses the pointer or the
    /// blob when present, else downloads the blob under its lock (resuming a partial download), verifies,
    /// publishes and links it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fetch_blob(
        &self,
        cache: &Cache,
        files: &RepoFiles,
        repo: &Repo,
        revision: &str,
        commit: &CommitHash,
        filename: &RepoPath,
        source: BlobSource,
        force: bool,
    ) -> Result<PathBuf, Error> {
        let name = filename.as_str();
        let etag = source.etag.as_str();
        let write_error = |source| Error::Write {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: name.to_owned(),
            source,
        };
        let writer = &files.writer;
        let dir = writer.dir();
        if !force && let Some(pointer) = files.cached(commit, filename) {
            self.finished(name, &pointer, false);
            return Ok(pointer);
        }
        let pointer = dir.pointer_path(commit.as_str(), name);
        let blob = dir.blob_path(etag);
        // Upstream creates the tag before the first download into a cache and ignores failures.
        files.tagged.get_or_init(|| {
            if fs::create_dir_all(cache.root()).is_ok() {
                let _ = cache.ensure_cachedir_tag();
            }
        });
        // As Python, the pointer's folder exists before the download: the ref written above then
        // names a snapshot even if the download fails, and the cache scans clean.
        if let Some(parent) = pointer.parent() {
            files.ensure_folder(commit, name, parent);
        }
        let guard = lock(cache.blob_lock(repo, etag))
            .await
            .map_err(|source| Error::Lock {
                repo: repo.clone(),
                filename: name.to_owned(),
                source,
            })?;
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            let (repo, filename) = (repo.clone(), name.to_owned());
            move |source| Error::Io {
                repo,
                filename,
                action,
                path,
                source,
            }
        };
        // A symlink, or a blob moved within the repository folder, costs the same for any size:
        // done right here. A copy (no symlinks, blob already there) goes to the blocking pool.
        let link = async |origin: BlobOrigin| {
            if origin == BlobOrigin::Downloaded || writer.symlinks_supported().unwrap_or(false) {
                return writer.link_pointer(commit, name, etag, origin);
            }
            let (writer, commit, name, etag) = (
                writer.clone(),
                commit.clone(),
                name.to_owned(),
                etag.to_owned(),
            );
            blocking(move || writer.link_pointer(&commit, &name, &etag, origin)).await
        };
        let mut lost_races = 0;
        let mut restarted = false;
        loop {
            // Only a regular file is a blob: a link, FIFO or folder planted at its name is
            // replaced by a fresh download, never read.
            let present = fs::symlink_metadata(&blob).is_ok_and(|meta| meta.is_file());
            if (!force || lost_races > 0) && present {
                let pointer = link(BlobOrigin::Existing).await.map_err(write_error)?;
                drop(guard);
                self.finished(name, &pointer.path, false);
                return Ok(pointer.path);
            }
            let fresh = writer.incomplete_blob_path(etag).map_err(write_error)?;
            let fresh_name = fresh
                .file_name()
                .and_then(|name| name.to_str())
                .expect("a download file name is text");
            let blobs = writer.folder(BLOBS_DIR, true).map_err(write_error)?;
            let claimed = if lost_races == 0 {
                let prefix = format!("{etag}.");
                match &files.partials {
                    Some(index) => index
                        .get_or_init(|| PartialIndex::list(&blobs))
                        .claim(&blobs, &prefix, fresh_name, !force),
                    None => claim_partial_in(&blobs, &prefix, fresh_name, !force),
                }
                .map(|claimed| (claimed.file, claimed.resume_from))
            } else {
                // After a lost race, a file of our own from byte 0: touch nobody else's.
                blobs.create_new(fresh_name, 0o666).map(|file| (file, 0))
            };
            let (file, resume_from) = match claimed {
                Ok(claimed) => claimed,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound && lost_races < 5 => {
                    lost_races += 1;
                    continue;
                }
                Err(error) => return Err(io("prepare the download file", &fresh)(error)),
            };
            match self
                .fetch_into(repo, revision, name, &source, file, &fresh, resume_from)
                .await
            {
                Ok(()) => {}
                // A partial file left by a killed parallel download can hold holes before its end
                // (each connection writes its own range), which only the hash reveals; the file is
                // gone now: start over from byte 0, once.
                Err(Error::Download {
                    source: hub_http::Error::HashMismatch { .. },
                    ..
                }) if resume_from > 0 && !restarted => {
                    tracing::warn!(
                        "the partial download of `{filename}` did not verify; downloading it again"
                    );
                    restarted = true;
                    continue;
                }
                // Every byte was written, yet the file is not the right size: another process
                // claimed and truncated it, which can only happen when the lock does not lock. A
                // lost race, as below: look again, then use a file of our own from byte 0.
                Err(Error::Download {
                    source: hub_http::Error::SizeMismatch { .. },
                    ..
                }) if lost_races < 5 => {
                    lost_races += 1;
                    continue;
                }
                Err(error) => return Err(error),
            }
            // A rename within `blobs/` (the download file lies there): never a copy.
            let published = writer.publish_blob(&fresh, etag);
            match published {
                Ok(_) => break,
                // Our temp file was adopted by another process meanwhile, which can only happen when
                // the lock does not lock (a filesystem without working `flock`): whoever publishes
                // first wins; look again.
                Err(WriteError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && lost_races < 5 =>
                {
                    lost_races += 1;
                }
                Err(error) => return Err(write_error(error)),
            }
        }
        let pointer = link(BlobOrigin::Downloaded).await.map_err(write_error)?;
        drop(guard);
        self.finished(name, &pointer.path, true);
        Ok(pointer.path)
    }

    /// Downloads `source` into `file` (at `path`, holding `resume_from` bytes already), reporting progress;
    /// removes the file on a failure that makes it useless for a resume. An ETag that is not a content
    /// hash is stated in a warning: then only the size is checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fetch_into(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
        source: &BlobSource,
        file: File,
        path: &Path,
        resume_from: u64,
    ) -> Result<(), Error> {
        if source.etag.hash_kind().is_none() {
            tracing::warn!(
                "cannot verify `{}`: the server's ETag is not a content hash",
                Escaped(filename)
            );
        }
        self.emit(Event::FileStarted {
            filename: filename.to_owned(),
            size: source.size,
            resumed_from: resume_from,
        });
        let request = DownloadRequest {
            resolve_url: source.resolve_url.clone(),
            location: source.location.clone(),
            expected_size: source.size,
            etag: source.etag.clone(),
            resume_from,
        };
        let events = self.events.clone();
        let name = filename.to_owned();
        let on_progress = Arc::new(move |p: Progress| {
            events(&Event::FileProgress {
                filename: name.clone(),
                done: p.done,
                total: p.total,
            })
        });
        match self.remote.download(&request, file, on_progress).await {
            Ok(_) => Ok(()),
            Err(error) => {
                if !keep_partial(&error) {
                    let _ = fs::remove_file(path);
                }
                Err(Error::Download {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: filename.to_owned(),
                    source: error,
                })
            }
        }
    }

    pub(crate) fn finished(&self, filename: &str, path: &Path, downloaded: bool) {
        self.emit(Event::FileFinished {
            filename: filename.to_owned(),
            path: path.to_path_buf(),
            downloaded,
        });
    }
}
