//! `local_dir` mode (`file_download.py::_hf_hub_download_to_local_dir`, 2.x): when to check, copy or
//! download one file into a plain folder.
//!
//! The folder's layout and bookkeeping (`.cache/huggingface/download/<path>.metadata`, `.gitignore`,
//! `CACHEDIR.TAG`, partial downloads) belong to [`hub_cache::local_dir`], which reaches every path
//! below the `local_dir` without following links; this module only decides. Disk steps whose cost
//! grows with the file (hashing the existing file, copying a blob from the cache) run in blocking
//! tasks, so a multi-gigabyte file does not stall the other downloads of a snapshot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use hub_cache::fs::Dir;
use hub_cache::hash::{HashKind, hash_reader};
use hub_cache::local_dir::{LocalDir, LocalDirError};
use hub_cache::partial::PartialIndex;
use hub_cache::repo::is_commit_hash;
use hub_cache::write::claim_partial_in;
use hub_cache::{CommitHash, Repo, RepoPath};

use crate::cache_mode::{BlobSource, lock};
use crate::{Downloader, Error, Remote};

pub use hub_cache::local_dir::{
    GITIGNORE, LocalPaths, Metadata, huggingface_dir, timestamp_text as python_timestamp,
};

/// Runs a disk step whose cost grows with the file on the blocking pool.
async fn blocking<T: Send + 'static>(
    step: impl FnOnce() -> T + Send + 'static,
) -> Result<T, std::io::Error> {
    tokio::task::spawn_blocking(step)
        .await
        .map_err(|join| std::io::Error::other(join.to_string()))
}

/// The partial downloads of a local folder's download folders, each listed once for a whole
/// snapshot (at its first claim) instead of once per file, which made a snapshot into a flat folder
/// quadratic in its size. A partial file that appears after the listing waits for the next run.
#[derive(Debug, Default)]
pub(crate) struct LocalPartials(Mutex<HashMap<PathBuf, Arc<PartialIndex>>>);

impl LocalPartials {
    /// The index of `dir`, listed now if this snapshot has not listed it yet.
    fn index(&self, dir: &Dir) -> Arc<PartialIndex> {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .entry(dir.path().to_path_buf())
            .or_insert_with(|| Arc::new(PartialIndex::list(dir)))
            .clone()
    }
}

impl<R: Remote> Downloader<R> {
    /// One file into `local_dir` with the decision of spec 5.3. `known` carries the commit and blob when
    /// a snapshot listing already gave them (no `HEAD` then), and the snapshot's partial-download
    /// indexes.
    pub(crate) async fn file_to_local_dir(
        &self,
        local_dir: &Path,
        repo: &Repo,
        revision: &str,
        repo_path: &RepoPath,
        force: bool,
        known: Option<(CommitHash, BlobSource, &LocalPartials)>,
    ) -> Result<PathBuf, Error> {
        let filename = repo_path.as_str();
        let path = repo_path.clone();
        let invalid = |reason: String| Error::InvalidFilename {
            repo: repo.clone(),
            filename: filename.to_owned(),
            reason,
        };
        let local_error = |error: LocalDirError| match error {
            error if error.is_unsafe() => invalid(error.to_string()),
            LocalDirError::Io {
                action,
                path,
                source,
            } => Error::Io {
                repo: repo.clone(),
                filename: filename.to_owned(),
                action,
                path,
                source,
            },
            error => Error::Io {
                repo: repo.clone(),
                filename: filename.to_owned(),
                action: "write into",
                path: local_dir.to_path_buf(),
                source: std::io::Error::other(error.to_string()),
            },
        };
        let local = LocalDir::open(local_dir).map_err(local_error)?;
        let paths = local.paths(&path);
        // Every folder on the way is reached without following links before anything is written.
        local.download_dir(&path, true).map_err(local_error)?;
        local.file_dir(&path, true).map_err(local_error)?;
        local.prepare().map_err(local_error)?;
        let metadata = local.read_metadata(&path);
        let exists = local.file_state(&path).is_some();
        // 1. A commit revision already downloaded: no request.
        if is_commit_hash(revision)
            && exists
            && !force
            && metadata.as_ref().is_some_and(|m| m.commit == revision)
        {
            self.finished(filename, &paths.file, false);
            return Ok(paths.file);
        }
        // 2-3. The metadata, or the existing file when the Hub cannot be asked.
        let partials = known.as_ref().map(|(_, _, partials)| *partials);
        let (commit, source) = match known {
            Some((commit, source, _)) => (commit, source),
            None => {
                let resolved = if self.offline {
                    Err(hub_http::Error::Offline {
                        url: self.remote.resolve_url(repo, revision, filename),
                    })
                } else {
                    match self.remote.resolve(repo, revision, filename).await {
                        Err(error) if !exists && !force && error.is_retryable() => {
                            tracing::info!(
                                "no local file found for `{filename}`, retrying: {error}"
                            );
                            self.retry
                                .run(|| self.remote.resolve(repo, revision, filename))
                                .await
                        }
                        result => result,
                    }
                };
                match resolved {
                    Ok(resolved) => {
                        let commit =
                            CommitHash::new(&resolved.commit).ok_or_else(|| Error::BadAnswer {
                                repo: repo.clone(),
                                revision: revision.to_owned(),
                                filename: Some(filename.to_owned()),
                                reason: format!("`{}` is not a commit hash", resolved.commit),
                            })?;
                        let url = self.remote.resolve_url(repo, commit.as_str(), filename);
                        let source =
                            BlobSource::from_resolved(repo, revision, repo_path, resolved, url)?;
                        (commit, source)
                    }
                    Err(error) => {
                        if exists && !force {
                            tracing::warn!(
                                "couldn't access the Hub to check for update but local file already exists, defaulting to existing file (error: {error})"
                            );
                            self.finished(filename, &paths.file, false);
                            return Ok(paths.file);
                        }
                        return Err(self.local_dir_error(repo, revision, filename, force, error));
                    }
                }
            }
        };
        let etag = source.etag.clone();
        let _guard = lock(hub_cache::lock::FileLock::new(paths.lock.clone()).beneath(local.path()))
            .await
            .map_err(|source| Error::Lock {
                repo: repo.clone(),
                filename: filename.to_owned(),
                source,
            })?;
        let record = |local: &LocalDir| {
            local
                .write_metadata(&path, commit.as_str(), etag.as_str())
                .map_err(local_error)
        };
        // 4. The file is there: same etag, or an LFS file whose content hashes to it.
        if !force && exists {
            let same = match &metadata {
                Some(m) => m.etag == etag.as_str(),
                None if etag.hash_kind() == Some(HashKind::Sha256) => {
                    let file = local.open_file(&path).map_err(local_error)?;
                    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                    let hashed = blocking(move || hash_reader(HashKind::Sha256, size, file))
                        .await
                        .and_then(|hashed| hashed)
                        .map_err(|source| Error::Io {
                            repo: repo.clone(),
                            filename: filename.to_owned(),
                            action: "hash",
                            path: paths.file.clone(),
                            source,
                        })?;
                    etag.matches_digest(&hashed)
                }
                None => false,
            };
            if same {
                record(&local)?;
                self.finished(filename, &paths.file, false);
                return Ok(paths.file);
            }
        }
        // 5. The file is in the main cache at that commit, inside the cache: copy it. A pointer that
        // leads outside the cache is never copied (the file is downloaded instead).
        if !force
            && let Ok(Some(cached)) =
                self.resolved_cache()
                    .open_cached_file(repo, filename, Some(commit.as_str()))
        {
            local.remove_file(&path).map_err(local_error)?;
            let (local, copied_path) = (local, path.clone());
            let (local, copied) = blocking(move || {
                let copied = local.copy_in(cached, &copied_path);
                (local, copied)
            })
            .await
            .map_err(|source| Error::Io {
                repo: repo.clone(),
                filename: filename.to_owned(),
                action: "copy into",
                path: paths.file.clone(),
                source,
            })?;
            copied.map_err(local_error)?;
            record(&local)?;
            self.finished(filename, &paths.file, false);
            return Ok(paths.file);
        }
        // 6. Download next to the metadata, then move into place.
        let prefix = local.incomplete_prefix(&path, etag.as_str());
        let mut restarted = false;
        let fresh = loop {
            let download_dir = local.download_dir(&path, true).map_err(local_error)?;
            let fresh = format!("{prefix}{}.incomplete", hub_cache::fs::random_hex8());
            let fresh_path = download_dir.join(&fresh);
            let claimed = match partials {
                Some(partials) => {
                    partials
                        .index(&download_dir)
                        .claim(&download_dir, &prefix, &fresh, !force)
                }
                None => claim_partial_in(&download_dir, &prefix, &fresh, !force),
            }
            .map_err(|source| Error::Io {
                repo: repo.clone(),
                filename: filename.to_owned(),
                action: "prepare the download file",
                path: fresh_path.clone(),
                source,
            })?;
            local.remove_file(&path).map_err(local_error)?;
            match self
                .fetch_into(
                    repo,
                    commit.as_str(),
                    filename,
                    &source,
                    claimed.file,
                    &fresh_path,
                    claimed.resume_from,
                )
                .await
            {
                Ok(()) => break (download_dir, fresh),
                // A resumed partial file that does not verify (holes left by a killed parallel
                // download) is gone now: start over from byte 0, once.
                Err(Error::Download {
                    source: hub_http::Error::HashMismatch { .. },
                    ..
                }) if claimed.resume_from > 0 && !restarted => {
                    tracing::warn!(
                        "the partial download of `{path}` did not verify; downloading it again"
                    );
                    restarted = true;
                }
                Err(error) => return Err(error),
            }
        };
        let (download_dir, fresh) = fresh;
        // The destination folder is reached again now: one swapped for a link meanwhile is refused.
        if let Err(error) = local.install(&download_dir, &fresh, &path) {
            let _ = download_dir.remove_file(&fresh);
            return Err(local_error(error));
        }
        record(&local)?;
        self.finished(filename, &paths.file, true);
        Ok(paths.file)
    }

    fn local_dir_error(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
        force: bool,
        error: hub_http::Error,
    ) -> Error {
        let (repo, revision, filename) = (repo.clone(), revision.to_owned(), filename.to_owned());
        match error {
            error @ hub_http::Error::EntryNotFound { .. } => Error::EntryNotFound {
                repo,
                revision,
                filename,
                source: error,
            },
            error @ hub_http::Error::RevisionNotFound { .. } => Error::RevisionNotFound {
                repo,
                revision,
                filename: Some(filename),
                source: error,
            },
            error if force => Error::ForceDownload {
                repo,
                revision,
                filename: Some(filename),
                source: Some(error),
            },
            error => Error::Remote {
                repo,
                revision,
                filename: Some(filename),
                source: error,
            },
        }
    }
}
