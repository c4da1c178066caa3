//! `local_dir` mode (`_local_folder.py`, `file_download.py::_hf_hub_download_to_local_dir`, 2.x).
//!
//! ```text
//! <local_dir>/
//! ├── <path…>                                   the file itself (a regular file)
//! └── .cache/huggingface/
//!     ├── .gitignore                            "*" (no newline), created once
//!     ├── CACHEDIR.TAG
//!     ├── download/<path…>.metadata             "<commit>\n<etag>\n<time.time()>\n"
//!     ├── download/<path…>.lock                 held while the file is checked, copied or downloaded
//!     ├── download/<dirs>/<b64>.<etag>.<8hex>.incomplete   a download in progress (resumed next run)
//!     └── trees/<commit>.json                   a snapshot's listing
//! ```
//!
//! `<b64>` is the URL-safe base64 (with padding) of the SHA-1 of the metadata file's name. Metadata is
//! trusted only while the file's mtime is at most one second past its timestamp.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hub_cache::hash::{HashKind, hash_reader};
use hub_cache::repo::is_commit_hash;
use hub_cache::{CachedFile, CommitHash, Repo, RepoPath};
use sha1::Digest as _;

use crate::cache_mode::{BlobSource, claim_partial, lock};
use crate::{Downloader, Error, Remote};

/// Exactly what upstream writes into `.gitignore`.
pub const GITIGNORE: &str = "*";

/// The first folder of `relative` (a `/`-separated path below `root`, its last part excluded) that
/// exists as a symbolic link.
fn symlinked_parent(root: &Path, relative: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The bookkeeping paths of one file of a local folder (`get_local_download_paths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPaths {
    /// `<local_dir>/<path>`.
    pub file: PathBuf,
    /// `<local_dir>/.cache/huggingface/download/<path>.metadata`.
    pub metadata: PathBuf,
    /// `<local_dir>/.cache/huggingface/download/<path>.lock`.
    pub lock: PathBuf,
}

impl LocalPaths {
    /// The paths for `filename` (a checked repo path) under `local_dir`; nothing is created.
    pub fn new(local_dir: &Path, filename: &str) -> LocalPaths {
        let mut file = local_dir.to_path_buf();
        let mut metadata = huggingface_dir(local_dir).join("download");
        for part in filename.split('/') {
            file.push(part);
            metadata.push(part);
        }
        let name = metadata
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = metadata.with_file_name(format!("{name}.lock"));
        let metadata = metadata.with_file_name(format!("{name}.metadata"));
        LocalPaths {
            file,
            metadata,
            lock,
        }
    }

    /// `<meta_dir>/<b64>.<etag>.` — the prefix of this file's partial downloads.
    pub fn incomplete_prefix(&self, etag: &str) -> String {
        let name = self
            .metadata
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let digest = sha1::Sha1::digest(name.as_bytes());
        format!(
            "{}.{etag}.",
            base64::engine::general_purpose::URL_SAFE.encode(digest)
        )
    }
}

/// `<local_dir>/.cache/huggingface`.
pub fn huggingface_dir(local_dir: &Path) -> PathBuf {
    local_dir.join(".cache").join("huggingface")
}

/// Creates `.cache/huggingface/` with its `CACHEDIR.TAG` and `.gitignore` (`_huggingface_dir`).
pub fn prepare(local_dir: &Path) -> io::Result<PathBuf> {
    let dir = huggingface_dir(local_dir);
    fs::create_dir_all(&dir)?;
    let _ = hub_cache::Cache::new(&dir).ensure_cachedir_tag();
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        let lock_path = dir.join(".gitignore.lock");
        if let Ok(Some(_guard)) = hub_cache::FileLock::new(&lock_path).try_acquire() {
            let _ = fs::write(&gitignore, GITIGNORE);
        }
        let _ = fs::remove_file(&lock_path);
    }
    Ok(dir)
}

/// A parsed `.metadata` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub commit: String,
    pub etag: String,
    pub timestamp: f64,
}

/// `read_download_metadata`: `None` when absent, unparsable (then deleted, as upstream) or outdated (the
/// file was modified more than a second after the metadata was written, or does not exist).
pub fn read_metadata(paths: &LocalPaths) -> Option<Metadata> {
    let text = fs::read_to_string(&paths.metadata).ok()?;
    let mut lines = text.lines().map(str::trim);
    let parsed = (|| {
        let commit = lines.next()?.to_owned();
        let etag = lines.next()?.to_owned();
        let timestamp: f64 = lines.next()?.parse().ok()?;
        Some(Metadata {
            commit,
            etag,
            timestamp,
        })
    })();
    let Some(metadata) = parsed else {
        tracing::warn!(
            "invalid metadata file `{}`, removing it from disk",
            paths.metadata.display()
        );
        let _ = fs::remove_file(&paths.metadata);
        return None;
    };
    let mtime = fs::metadata(&paths.file)
        .and_then(|m| m.modified())
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    if mtime - 1.0 <= metadata.timestamp {
        Some(metadata)
    } else {
        tracing::info!("ignored metadata for `{}` (outdated)", paths.file.display());
        None
    }
}

/// Python's `str(time.time())`: the shortest repr of the float, always with a fraction.
pub fn python_timestamp(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut text = format!("{seconds}");
    if !text.contains('.') {
        text.push_str(".0");
    }
    text
}

/// `write_download_metadata` without its lock (callers hold it): `<commit>\n<etag>\n<time>\n`.
pub fn write_metadata(paths: &LocalPaths, commit: &str, etag: &str) -> io::Result<()> {
    if let Some(parent) = paths.metadata.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&paths.metadata)?;
    file.write_all(
        format!(
            "{commit}\n{etag}\n{}\n",
            python_timestamp(SystemTime::now())
        )
        .as_bytes(),
    )
}

impl<R: Remote> Downloader<R> {
    /// One file into `local_dir` with the decision of spec 5.3. `known` carries the commit and blob when
    /// a snapshot listing already gave them (no `HEAD` then).
    pub(crate) async fn file_to_local_dir(
        &self,
        local_dir: &Path,
        repo: &Repo,
        revision: &str,
        repo_path: &RepoPath,
        force: bool,
        known: Option<(CommitHash, BlobSource)>,
    ) -> Result<PathBuf, Error> {
        let filename = repo_path.as_str();
        let local_dir =
            hub_cache::lookup::resolve_path(local_dir).unwrap_or_else(|_| local_dir.to_path_buf());
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
        // A symlink planted in the folder (`link -> /elsewhere`) would lead the write outside it.
        let download_dir = format!(".cache/huggingface/download/{filename}");
        for relative in [filename, download_dir.as_str()] {
            if let Some(link) = symlinked_parent(&local_dir, relative) {
                return Err(Error::InvalidFilename {
                    repo: repo.clone(),
                    filename: filename.to_owned(),
                    reason: format!(
                        "`{}` in the local folder is a symbolic link; refusing to write through it",
                        link.display()
                    ),
                });
            }
        }
        prepare(&local_dir).map_err(io("create", &huggingface_dir(&local_dir)))?;
        let paths = LocalPaths::new(&local_dir, filename);
        for dir in [paths.file.parent(), paths.metadata.parent()]
            .into_iter()
            .flatten()
        {
            fs::create_dir_all(dir).map_err(io("create directory", dir))?;
        }
        let metadata = read_metadata(&paths);
        let exists = paths.file.is_file();
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
        let (commit, source) = match known {
            Some(known) => known,
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
        let etag = source.etag.as_str().to_owned();
        let _guard = lock(paths.lock.clone())
            .await
            .map_err(|source| Error::Lock {
                repo: repo.clone(),
                filename: filename.to_owned(),
                source,
            })?;
        let record = |paths: &LocalPaths| {
            write_metadata(paths, commit.as_str(), &etag).map_err(io("write", &paths.metadata))
        };
        // 4. The file is there: same etag, or an LFS file whose content hashes to it.
        if !force && exists {
            let same = match &metadata {
                Some(m) => m.etag == etag,
                None if HashKind::of_blob_name(&etag) == Some(HashKind::Sha256)
                    && etag.bytes().all(|b| !b.is_ascii_uppercase()) =>
                {
                    let size = fs::metadata(&paths.file).map(|m| m.len()).unwrap_or(0);
                    let hashed = fs::File::open(&paths.file)
                        .and_then(|f| hash_reader(HashKind::Sha256, size, f))
                        .map_err(io("hash", &paths.file))?;
                    hashed.eq_ignore_ascii_case(&etag)
                }
                None => false,
            };
            if same {
                record(&paths)?;
                self.finished(filename, &paths.file, false);
                return Ok(paths.file);
            }
        }
        // 5. The file is in the main cache at that commit: copy it.
        if !force
            && let Ok(CachedFile::Found(cached)) =
                self.resolved_cache()
                    .try_to_load_from_cache(repo, filename, Some(commit.as_str()))
        {
            let _ = fs::remove_file(&paths.file);
            fs::copy(&cached, &paths.file).map_err(io("copy into", &paths.file))?;
            record(&paths)?;
            self.finished(filename, &paths.file, false);
            return Ok(paths.file);
        }
        // 6. Download next to the metadata, then move into place.
        let meta_dir = paths
            .metadata
            .parent()
            .expect("a metadata file lies in download/")
            .to_path_buf();
        let prefix = paths.incomplete_prefix(&etag);
        let mut restarted = false;
        let fresh = loop {
            let fresh = meta_dir.join(format!("{prefix}{}.incomplete", random_hex8()));
            let (file, resume_from) = claim_partial(&meta_dir, &prefix, &fresh, !force)
                .map_err(io("prepare the download file", &fresh))?;
            let _ = fs::remove_file(&paths.file);
            match self
                .fetch_into(
                    repo,
                    commit.as_str(),
                    filename,
                    &source,
                    file,
                    &fresh,
                    resume_from,
                )
                .await
            {
                Ok(()) => break fresh,
                // A resumed partial file that does not verify (holes left by a killed parallel
                // download) is gone now: start over from byte 0, once.
                Err(Error::Download {
                    source: hub_http::Error::HashMismatch { .. },
                    ..
                }) if resume_from > 0 && !restarted => {
                    tracing::warn!(
                        "the partial download of `{filename}` did not verify; downloading it again"
                    );
                    restarted = true;
                }
                Err(error) => return Err(error),
            }
        };
        fs::rename(&fresh, &paths.file)
            .or_else(|_| fs::copy(&fresh, &paths.file).and_then(|_| fs::remove_file(&fresh)))
            .map_err(io("move the download to", &paths.file))?;
        record(&paths)?;
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

fn random_hex8() -> String {
    format!("{:08x}", fastrand::u32(..))
}
