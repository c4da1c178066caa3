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

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hub_cache::lock::{FileLock, Guard, LockError};
use hub_cache::lookup::validate_filename;
use hub_cache::repo::is_commit_hash;
use hub_cache::write::{BlobOrigin, RepoWriter, WriteError};
use hub_cache::{Cache, CommitHash, Repo};
use hub_http::{DownloadRequest, Progress};

use crate::{Downloader, Error, Event, Remote};

/// Where a blob's bytes are and what they must be.
#[derive(Debug, Clone)]
pub(crate) struct BlobSource {
    pub etag: String,
    pub size: Option<u64>,
    pub location: String,
    pub resolve_url: String,
}

/// Checks a repo path the way upstream does before any path is built from it.
pub(crate) fn check_filename(repo: &Repo, filename: &str) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidFilename {
        repo: repo.clone(),
        filename: filename.to_owned(),
        reason,
    };
    validate_filename(filename).map_err(|e| invalid(e.to_string()))?;
    hub_cache::layout::check_repo_path(filename).map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

/// Takes a file lock without blocking the async runtime.
pub(crate) async fn lock(path: PathBuf) -> Result<Guard, LockError> {
    let lock = FileLock::new(path.clone());
    match tokio::task::spawn_blocking(move || lock.acquire()).await {
        Ok(result) => result,
        Err(join) => Err(LockError::Io {
            action: "wait for",
            path,
            source: std::io::Error::other(join.to_string()),
        }),
    }
}

/// Partial downloads of `etag` left in `dir` by earlier runs (`<etag>.<8hex>.incomplete`, and the
/// 0.23–1.17 name `<etag>.incomplete`), largest first.
pub(crate) fn partials(dir: &Path, prefix: &str) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, u64)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let middle = name.strip_prefix(prefix)?.strip_suffix("incomplete")?;
            let unique = middle.is_empty()
                || (middle.len() == 9
                    && middle.ends_with('.')
                    && middle[..8].bytes().all(|b| b.is_ascii_hexdigit()));
            let meta = entry.metadata().ok()?;
            (unique && meta.is_file()).then(|| (entry.path(), meta.len()))
        })
        .collect();
    found.sort_by_key(|b| std::cmp::Reverse(b.1));
    found
}

/// Claims the largest partial download (renaming it to `fresh`, a name unique to this call) or creates
/// `fresh` empty; the others are removed. Must run under the lock of the blob. Returns the file opened
/// for reading and writing and the bytes already in it.
pub(crate) fn claim_partial(
    dir: &Path,
    prefix: &str,
    fresh: &Path,
    resume: bool,
) -> std::io::Result<(File, u64)> {
    fs::create_dir_all(dir)?;
    let mut adopted = false;
    for (index, (path, _)) in partials(dir, prefix).into_iter().enumerate() {
        if resume && index == 0 && fs::rename(&path, fresh).is_ok() {
            adopted = true;
        } else {
            let _ = fs::remove_file(&path);
        }
    }
    let file = if adopted {
        OpenOptions::new().read(true).write(true).open(fresh)?
    } else {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(fresh)?
    };
    let len = file.metadata()?.len();
    Ok((file, len))
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
        filename: &str,
        force: bool,
    ) -> Result<PathBuf, Error> {
        check_filename(repo, filename)?;
        let cache = self.resolved_cache();
        let dir = cache.repo(repo);
        if is_commit_hash(revision) && !force {
            let pointer = dir.pointer_path(revision, filename);
            if pointer.exists() {
                self.finished(filename, &pointer, false);
                return Ok(pointer);
            }
        }
        if self.offline {
            if force {
                return Err(Error::ForceDownload {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: Some(filename.to_owned()),
                    source: None,
                });
            }
            return self.cached_file(&cache, repo, revision, filename, None);
        }
        let resolved = match self.remote.resolve(repo, revision, filename).await {
            Ok(resolved) => resolved,
            Err(error) => {
                // Upstream: a cached copy wins; else a transient failure is retried with back-off.
                let cached = !force && cache.cached_file(repo, Some(revision), filename).is_ok();
                if cached || force || !error.is_retryable() {
                    return self.file_fallback(&cache, repo, revision, filename, force, error);
                }
                tracing::info!("no local file found for `{filename}` of {repo}, retrying: {error}");
                match self
                    .retry
                    .run(|| self.remote.resolve(repo, revision, filename))
                    .await
                {
                    Ok(resolved) => resolved,
                    Err(error) => {
                        return self.file_fallback(&cache, repo, revision, filename, force, error);
                    }
                }
            }
        };
        let commit = CommitHash::new(&resolved.commit).ok_or_else(|| Error::BadAnswer {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: Some(filename.to_owned()),
            reason: format!("`{}` is not a commit hash", resolved.commit),
        })?;
        let writer = cache.writer(repo, self.write);
        if let Err(error) = writer.write_ref(revision, &commit) {
            tracing::warn!("cannot record revision `{revision}` of {repo}: {error}");
        }
        let source = BlobSource {
            etag: resolved.etag.to_string(),
            size: resolved.size,
            location: resolved.location,
            resolve_url: self.remote.resolve_url(repo, commit.as_str(), filename),
        };
        self.fetch_blob(
            &cache, &writer, repo, revision, &commit, filename, source, force,
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
                    tracing::warn!("cannot record that `{filename}` is missing: {e}");
                }
                if let Err(e) = writer.write_ref(revision, &commit) {
                    tracing::warn!("cannot record revision `{revision}` of {repo}: {e}");
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
            "cannot reach the Hub for `{filename}` of {repo}, trying the cache: {error}"
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
        writer: &RepoWriter,
        repo: &Repo,
        revision: &str,
        commit: &CommitHash,
        filename: &str,
        source: BlobSource,
        force: bool,
    ) -> Result<PathBuf, Error> {
        let etag = source.etag.as_str();
        let write_error = |source| Error::Write {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: filename.to_owned(),
            source,
        };
        let dir = writer.dir();
        let pointer = dir.pointer_path(commit.as_str(), filename);
        let blob = dir.blob_path(etag);
        if !force && pointer.exists() {
            self.finished(filename, &pointer, false);
            return Ok(pointer);
        }
        // Upstream creates the tag before the first download into a cache and ignores failures.
        if fs::create_dir_all(cache.root()).is_ok() {
            let _ = cache.ensure_cachedir_tag();
        }
        // The etag names the lock file and the blob: refuse one that is not a plain file name before
        // either is created.
        writer.incomplete_blob_path(etag).map_err(write_error)?;
        // As Python, the pointer's folder exists before the download: the ref written above then
        // names a snapshot even if the download fails, and the cache scans clean.
        if let Some(parent) = pointer.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let guard = lock(cache.blob_lock_path(repo, etag))
            .await
            .map_err(|source| Error::Lock {
                repo: repo.clone(),
                filename: filename.to_owned(),
                source,
            })?;
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            let (repo, filename) = (repo.clone(), filename.to_owned());
            move |source| Error::Io {
                repo,
                filename,
                action,
                path,
                source,
            }
        };
        let mut lost_races = 0;
        let mut restarted = false;
        loop {
            if (!force || lost_races > 0) && blob.exists() {
                let pointer = writer
                    .link_pointer(commit, filename, etag, BlobOrigin::Existing)
                    .map_err(write_error)?;
                drop(guard);
                self.finished(filename, &pointer.path, false);
                return Ok(pointer.path);
            }
            let fresh = writer.incomplete_blob_path(etag).map_err(write_error)?;
            let claimed = if lost_races == 0 {
                claim_partial(&dir.blobs_dir(), &format!("{etag}."), &fresh, !force)
            } else {
                // After a lost race, a file of our own from byte 0: touch nobody else's.
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&fresh)
                    .map(|file| (file, 0))
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
                .fetch_into(repo, revision, filename, &source, file, &fresh, resume_from)
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
                Err(error) => return Err(error),
            }
            match writer.publish_blob(&fresh, etag) {
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
        let pointer = writer
            .link_pointer(commit, filename, etag, BlobOrigin::Downloaded)
            .map_err(write_error)?;
        drop(guard);
        self.finished(filename, &pointer.path, true);
        Ok(pointer.path)
    }

    /// Downloads `source` into `file` (at `path`, holding `resume_from` bytes already), reporting progress;
    /// removes the file on a failure that makes it useless for a resume.
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
        self.emit(Event::FileStarted {
            filename: filename.to_owned(),
            size: source.size,
            resumed_from: resume_from,
        });
        let request = DownloadRequest {
            resolve_url: source.resolve_url.clone(),
            location: source.location.clone(),
            expected_size: source.size,
            etag: hub_cache::Etag::parse(&source.etag).map_err(|e| Error::BadAnswer {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: Some(filename.to_owned()),
                reason: e.to_string(),
            })?,
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
