//! `snapshot_download` (2.x, spec 6.1): pin the commit, list the tree once per commit (cached in
//! `trees/<commit>.json`), filter, write the ref, fetch the files concurrently without a per-file `HEAD`.
//!
//! A listing is hostile until parsed: after the caller's patterns select files, each selected path
//! becomes a [`RepoPath`] and each blob id an [`Etag`], and each size is bounded; one refused value
//! fails the run before anything is written (names the patterns leave out are never looked at, so
//! `--exclude` lets the rest of a snapshot download). A listing is cached only after every file it
//! selected was fetched and verified; a cached one that disagrees with the server (a listed file
//! the server does not have, another size or hash, a value the rule refuses) is dropped and the
//! commit listed again, and `force_download` never reads one: no cached listing can make an honest
//! server fail.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hub_cache::display::Escaped;
use hub_cache::repo::is_commit_hash;
use hub_cache::tree::{self, Entry, Listing};
use hub_cache::{Cache, CommitHash, Etag, Repo, RepoPath};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cache_mode::{BlobSource, RepoFiles, check_filename, check_size};
use crate::listing::Listed;
use crate::local_dir::LocalPartials;
use crate::pattern::Filter;
use crate::{Downloader, Error, Event, Remote, SnapshotRequest};

/// The blob name and size of a listed file: the LFS sha256 and size, else the git blob id and size.
pub(crate) fn blob_of(entry: &Entry) -> (&str, u64) {
    match &entry.lfs_sha256 {
        Some(sha) => (sha, entry.lfs_size.unwrap_or(entry.size)),
        None => (&entry.blob_id, entry.size),
    }
}

/// One selected file of a listing, parsed: where it goes, what its bytes must hash to, its size.
#[derive(Debug, Clone)]
struct Planned {
    path: RepoPath,
    etag: Etag,
    size: u64,
}

/// Whether a failed download shows that the listing it came from is wrong: a listed file the
/// server does not have, or other bytes than listed (size or hash).
fn disagrees_with_listing(error: &Error) -> bool {
    let Error::Download { source, .. } = error else {
        return false;
    };
    matches!(
        source,
        hub_http::Error::EntryNotFound { .. }
            | hub_http::Error::SizeMismatch { .. }
            | hub_http::Error::HashMismatch { .. }
            | hub_http::Error::BadResponse { .. }
    ) || matches!(source.status(), Some(404 | 416))
}

impl<R: Remote> Downloader<R> {
    pub(crate) async fn snapshot_impl(&self, request: &SnapshotRequest) -> Result<PathBuf, Error> {
        let repo = &request.repo;
        let revision = request.revision.as_str();
        let filter = Filter::new(request.allow.as_deref(), request.ignore.as_deref());
        let cache = self.resolved_cache();
        let local_dir = request
            .local_dir
            .as_ref()
            .map(|dir| hub_cache::lookup::resolve_path(dir).unwrap_or_else(|_| dir.clone()));
        if self.offline {
            if request.force_download {
                return Err(Error::ForceDownload {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    filename: None,
                    source: None,
                });
            }
            return self.snapshot_fallback(&cache, request, &filter, local_dir.as_deref(), None);
        }
        let commit = if is_commit_hash(revision) {
            revision.to_owned()
        } else {
            match self.remote.commit(repo, revision).await {
                Ok(commit) => commit,
                Err(error) => {
                    return self.snapshot_error(
                        &cache,
                        request,
                        &filter,
                        local_dir.as_deref(),
                        error,
                    );
                }
            }
        };
        let commit = CommitHash::new(&commit).ok_or_else(|| Error::BadAnswer {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: None,
            reason: format!("`{commit}` is not a commit hash"),
        })?;
        let tree_folder = match &local_dir {
            Some(dir) => dir.join(".cache").join("huggingface"),
            None => cache.repo(repo).path().to_path_buf(),
        };
        // `Err((listing at fault, error))`: a value the rule refuses, or a download that
        // contradicts the listing.
        // `listed`: whether the whole listing had any file (`listing` may hold the selected ones).
        let run = async |listing: &Listing, listed: bool| {
            let files = self
                .plan(repo, &commit, &filter, listing)
                .map_err(|error| (true, error))?;
            self.fetch_listed(
                &cache,
                request,
                &filter,
                &commit,
                local_dir.clone(),
                files,
                listed,
            )
            .await
            .map_err(|error| (disagrees_with_listing(&error), error))
        };
        let cached = if request.force_download {
            None
        } else {
            tree::read_selected(&tree_folder, commit.as_str(), &mut |path| {
                filter.matches(path)
            })
        };
        let mut disagreement = None;
        if let Some(cached) = cached {
            match run(&cached.listing, cached.total > 0).await {
                Ok(path) => return Ok(path),
                Err((false, error)) => return Err(error),
                Err((true, error)) => {
                    let path = tree::path(&tree_folder, commit.as_str());
                    tracing::warn!(
                        "the cached listing `{}` disagrees with the Hub ({}); listing the commit again",
                        Escaped(&path.display().to_string()),
                        Escaped(&error.to_string())
                    );
                    if let Err(e) = fs::remove_file(&path) {
                        tracing::warn!(
                            "cannot remove `{}`: {e}",
                            Escaped(&path.display().to_string())
                        );
                    }
                    disagreement = Some(error);
                }
            }
        }
        // Listed as a stream: the selected files are kept, the cached copy is written as it comes.
        let mut listed = Listed::new(&tree_folder, commit.as_str(), &filter);
        let listing = self
            .remote
            .list_tree_pages(repo, commit.as_str(), &mut |page| listed.add(page))
            .await;
        match listing {
            Ok(()) => {}
            // The cached listing was wrong and the server cannot list: report what went wrong
            // rather than answer from a cache that just proved incomplete.
            Err(_) if disagreement.is_some() => {
                return Err(disagreement.expect("checked just above"));
            }
            Err(error) => {
                return self.snapshot_error(&cache, request, &filter, local_dir.as_deref(), error);
            }
        };
        let path = run(&listed.selected, listed.files > 0)
            .await
            .map_err(|(_, error)| error)?;
        listed.keep_cached();
        Ok(path)
    }

    /// The files of `listing` the filter selects, parsed; a refused value fails the whole run.
    fn plan(
        &self,
        repo: &Repo,
        commit: &CommitHash,
        filter: &Filter,
        listing: &Listing,
    ) -> Result<Vec<Planned>, Error> {
        let bad = |path: &str, reason: String| Error::BadAnswer {
            repo: repo.clone(),
            revision: commit.as_str().to_owned(),
            filename: Some(path.to_owned()),
            reason,
        };
        listing
            .files
            .iter()
            .filter(|(path, _)| filter.matches(path))
            .map(|(path, entry)| {
                let repo_path = check_filename(repo, path)?;
                let (blob, size) = blob_of(entry);
                // The blob id names files (blob, lock, partial download): a listing cannot make
                // it a path.
                let etag = Etag::parse(blob).map_err(|e| {
                    bad(path, format!("the listing gives it the etag `{blob}`: {e}"))
                })?;
                let size = check_size(size).map_err(|reason| bad(path, reason))?;
                Ok(Planned {
                    path: repo_path,
                    etag,
                    size,
                })
            })
            .collect()
    }

    /// Fetches the planned files (spec 6.1 steps 4-7); `listed` tells whether the listing had any file.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_listed(
        &self,
        cache: &Cache,
        request: &SnapshotRequest,
        filter: &Filter,
        commit: &CommitHash,
        local_dir: Option<PathBuf>,
        files: Vec<Planned>,
        listed: bool,
    ) -> Result<PathBuf, Error> {
        let (repo, revision) = (&request.repo, request.revision.as_str());
        if files.is_empty() && listed && !filter.is_empty() {
            tracing::warn!(
                "no files matched allow_patterns={:?}, ignore_patterns={:?}",
                request.allow,
                request.ignore
            );
        }
        if let Err(error) = cache.writer(repo, self.write).write_ref(revision, commit) {
            tracing::warn!(
                "cannot record revision `{}` of {repo}: {}",
                Escaped(revision),
                Escaped(&error.to_string())
            );
        }
        self.emit(Event::SnapshotStarted {
            commit: commit.to_string(),
            files: files.len(),
            bytes: files
                .iter()
                .fold(0u64, |sum, file| sum.saturating_add(file.size)),
        });

        // What the files share is prepared once for all of them (`blobs/` listed once...).
        let shared = match &local_dir {
            None if !files.is_empty() => {
                Some(Arc::new(RepoFiles::snapshot(cache, repo, self.write)))
            }
            _ => None,
        };
        let partials = local_dir
            .as_ref()
            .map(|_| Arc::new(LocalPartials::default()));
        // Files already cached are answered here, one `readlink` and one `stat` each, without a
        // task per file.
        let files = match &shared {
            Some(shared) if !request.force_download => files
                .into_iter()
                .filter(|file| match shared.cached(commit, &file.path) {
                    Some(pointer) => {
                        self.finished(file.path.as_str(), &pointer, false);
                        false
                    }
                    None => true,
                })
                .collect(),
            _ => files,
        };
        // A task exists only for a file being fetched: its permit is taken before it is spawned,
        // so memory holds `max_workers` downloads in flight, not one future per file of the
        // snapshot (a future per file was 7 KiB each: 140 MiB at 20,000 files).
        let semaphore = Arc::new(Semaphore::new(self.max_workers));
        let mut tasks = JoinSet::new();
        let settle = |joined: Result<Result<PathBuf, Error>, tokio::task::JoinError>| {
            joined
                .map_err(|e| Error::Task {
                    repo: repo.clone(),
                    reason: e.to_string(),
                })
                .and_then(|result| result)
                .map(drop)
        };
        for file in files {
            let permit = match semaphore.clone().acquire_owned().await {
                Ok(permit) => permit,
                Err(closed) => {
                    return Err(Error::Task {
                        repo: repo.clone(),
                        reason: closed.to_string(),
                    });
                }
            };
            // Finished downloads are settled as they end: the first error stops the snapshot.
            while let Some(joined) = tasks.try_join_next() {
                if let Err(error) = settle(joined) {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    return Err(error);
                }
            }
            let (this, cache, commit) = (self.clone(), cache.clone(), commit.clone());
            let (repo, local_dir, force, shared) = (
                repo.clone(),
                local_dir.clone().zip(partials.clone()),
                request.force_download,
                shared.clone(),
            );
            tasks.spawn(async move {
                let _permit = permit;
                this.snapshot_file(&cache, &repo, &commit, file, local_dir, shared, force)
                    .await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(error) = settle(joined) {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return Err(error);
            }
        }
        Ok(match local_dir {
            Some(dir) => dir,
            None => cache.repo(repo).snapshot_dir(commit.as_str()),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn snapshot_file(
        &self,
        cache: &Cache,
        repo: &Repo,
        commit: &CommitHash,
        file: Planned,
        local_dir: Option<(PathBuf, Arc<LocalPartials>)>,
        shared: Option<Arc<RepoFiles>>,
        force: bool,
    ) -> Result<PathBuf, Error> {
        let url = self
            .remote
            .resolve_url(repo, commit.as_str(), file.path.as_str());
        let source = BlobSource {
            etag: file.etag,
            size: Some(file.size),
            location: url.clone(),
            resolve_url: url,
        };
        match (local_dir, shared) {
            (Some((dir, partials)), _) => {
                self.file_to_local_dir(
                    &dir,
                    repo,
                    commit.as_str(),
                    &file.path,
                    force,
                    Some((commit.clone(), source, &partials)),
                )
                .await
            }
            (None, shared) => {
                let files = match shared {
                    Some(files) => files,
                    None => Arc::new(RepoFiles::snapshot(cache, repo, self.write)),
                };
                self.fetch_blob(
                    cache,
                    &files,
                    repo,
                    commit.as_str(),
                    commit,
                    &file.path,
                    source,
                    force,
                )
                .await
            }
        }
    }

    /// A failed repo-info or listing request: raise, or answer from disk (spec 6.1 step 2-3).
    fn snapshot_error(
        &self,
        cache: &Cache,
        request: &SnapshotRequest,
        filter: &Filter,
        local_dir: Option<&Path>,
        error: hub_http::Error,
    ) -> Result<PathBuf, Error> {
        let (repo, revision) = (&request.repo, request.revision.as_str());
        if let hub_http::Error::RevisionNotFound { .. } = &error {
            return Err(Error::RevisionNotFound {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source: error,
            });
        }
        if !error.allows_cache_fallback() {
            return Err(Error::Remote {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source: error,
            });
        }
        if request.force_download {
            return Err(Error::ForceDownload {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source: Some(error),
            });
        }
        let remote = (!error.is_offline()).then_some(error);
        self.snapshot_fallback(cache, request, filter, local_dir, remote)
    }

    /// The snapshot from disk: the cache's `snapshots/<commit>` after the completeness check, or a
    /// non-empty `local_dir`.
    fn snapshot_fallback(
        &self,
        cache: &Cache,
        request: &SnapshotRequest,
        filter: &Filter,
        local_dir: Option<&Path>,
        remote: Option<hub_http::Error>,
    ) -> Result<PathBuf, Error> {
        let (repo, revision) = (&request.repo, request.revision.as_str());
        if let Some(dir) = local_dir {
            let non_empty = fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
            if non_empty {
                tracing::warn!(
                    "returning existing local_dir `{}` as the remote repo cannot be accessed",
                    dir.display()
                );
                return Ok(dir.to_path_buf());
            }
        }
        match cache.cached_snapshot(repo, Some(revision), |path| filter.matches(path)) {
            Ok(snapshot) if local_dir.is_none() => Ok(snapshot.path),
            Ok(_) | Err(_) if remote.is_some() => Err(Error::Remote {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source: remote.expect("checked just above"),
            }),
            Ok(_) => Err(Error::Offline {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source: hub_cache::lookup::OfflineError::SnapshotNotCached {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                },
            }),
            Err(source) => Err(Error::Offline {
                repo: repo.clone(),
                revision: revision.to_owned(),
                filename: None,
                source,
            }),
        }
    }
}
