//! Verifying a cache offline: every blob re-hashed against its name, every snapshot pointer checked.
//!
//! A blob named by 64 hex digits must hash to that sha256, one named by 40 hex digits to that git blob
//! sha1 (`blob {len}\0` + content), the name read in either case ([`HashKind::of_blob_name`]) and the
//! digest compared without regard to case. Every snapshot symlink must lead to an existing file inside
//! the cache ([`crate::layout::resolve_inside`]): one that targets the repo's `blobs/` names a missing
//! blob when that file is absent, one that resolves outside the cache is a problem of its own and is
//! never hashed, any other dangling link is a broken pointer.
//!
//! [`plan`] walks the folders (stat calls only); [`Plan::hash`] reads the blobs on every core and
//! counts the bytes done, so a front end can show progress while it runs.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::display::Escaped;
use crate::hash::{HashKind, hash_reader};
use crate::layout::resolve_inside;
use crate::repo::Repo;

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The blob's content does not hash to its name.
    Mismatch {
        /// The blob file (`blobs/<etag>`).
        blob: PathBuf,
        /// The hash its name implies (sha256 for 64 hex digits, git sha1 for 40).
        kind: HashKind,
        /// The digest of its content, lower-case hex.
        actual: String,
    },
    /// A snapshot pointer leads into `blobs/` but the blob is absent.
    MissingBlob {
        /// The snapshot entry (`snapshots/<commit>/<path>`).
        pointer: PathBuf,
        /// The absent blob it names, made absolute.
        blob: PathBuf,
    },
    /// A snapshot symlink leads nowhere (outside `blobs/`, or through a missing path).
    BrokenPointer {
        /// The snapshot entry (`snapshots/<commit>/<path>`).
        pointer: PathBuf,
        /// Where its link text leads, made absolute (not resolved).
        target: PathBuf,
    },
    /// A pointer (or a blob that is a link) resolves to a file outside the cache.
    OutsideCache {
        /// The snapshot entry or blob that is a link.
        pointer: PathBuf,
        /// The file it resolves to, outside the cache (empty when it cannot be resolved).
        target: PathBuf,
    },
    /// A blob could not be read.
    Unreadable {
        /// The blob file (`blobs/<etag>`).
        blob: PathBuf,
        /// The operating system's message.
        error: String,
    },
}

fn shown(path: &Path) -> String {
    Escaped(&path.to_string_lossy()).to_string()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Mismatch { blob, kind, actual } => {
                write!(f, "corrupted blob: {} ({kind} is {actual})", shown(blob))
            }
            Problem::MissingBlob { pointer, blob } => {
                write!(f, "missing blob: {} -> {}", shown(pointer), shown(blob))
            }
            Problem::BrokenPointer { pointer, target } => {
                write!(f, "broken pointer: {} -> {}", shown(pointer), shown(target))
            }
            Problem::OutsideCache { pointer, target } => write!(
                f,
                "pointer outside the cache: {} -> {}",
                shown(pointer),
                shown(target)
            ),
            Problem::Unreadable { blob, error } => {
                write!(f, "unreadable blob: {}: {}", shown(blob), Escaped(error))
            }
        }
    }
}

/// Why a verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The cache directory could not be listed (it is missing, not a folder, or unreadable).
    #[error("cannot list `{}`", path.display())]
    Io {
        /// The cache directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A repository the caller asked for has no folder in the cache.
    #[error("repository `{repo}` is not in the cache `{}`", cache.display())]
    NotCached {
        /// The first requested repository not found.
        repo: Repo,
        /// The cache directory searched.
        cache: PathBuf,
    },
}

/// One blob to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The blob file (`<repo folder>/blobs/<etag>`), a regular file when planned.
    pub path: PathBuf,
    /// The hash its name implies.
    pub kind: HashKind,
    /// Its size in bytes when planned (what [`Plan::hash`] adds to its counter when done).
    pub size: u64,
}

/// What [`plan`] found: the blobs to hash, and the problems the walk alone revealed.
#[derive(Debug, Default)]
pub struct Plan {
    /// Repository folders walked.
    pub repos: usize,
    /// Blobs to hash, sorted by path within each repository (blob names that are not 40 or 64 hex
    /// digits, and blobs that are links out of the cache, are not hashed).
    pub blobs: Vec<Blob>,
    /// Snapshot symlinks checked.
    pub pointers: usize,
    /// Problems found by the walk alone (pointers; blobs that are links out of the cache).
    pub problems: Vec<Problem>,
}

impl Plan {
    /// The bytes [`Plan::hash`] will read.
    pub fn bytes(&self) -> u64 {
        self.blobs.iter().map(|blob| blob.size).sum()
    }

    /// Hashes every blob on every core, adding each blob's size to `done` when it is finished; returns
    /// every problem (the walk's and the hashes'), sorted by their text.
    pub fn hash(&self, done: &AtomicU64) -> Vec<Problem> {
        let next = AtomicUsize::new(0);
        let problems = Mutex::new(self.problems.clone());
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(self.blobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(blob) = self.blobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Some(problem) = check_blob(blob) {
                            problems
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(problem);
                        }
                        done.fetch_add(blob.size, Ordering::Relaxed);
                    }
                });
            }
        });
        let mut problems = problems
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        problems.sort_by_key(|problem| problem.to_string());
        problems
    }
}

fn check_blob(blob: &Blob) -> Option<Problem> {
    let name = blob
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let result = fs::File::open(&blob.path)
        .and_then(|file| hash_reader(blob.kind, blob.size, std::io::BufReader::new(file)));
    match result {
        Ok(actual) if actual.eq_ignore_ascii_case(name) => None,
        Ok(actual) => Some(Problem::Mismatch {
            blob: blob.path.clone(),
            kind: blob.kind,
            actual,
        }),
        Err(error) => Some(Problem::Unreadable {
            blob: blob.path.clone(),
            error: error.to_string(),
        }),
    }
}

/// Walks every repo folder of `cache_dir` (or only the `wanted` ones): the blobs to hash and the
/// pointer problems. One `stat` per entry; nothing is read.
pub fn plan(cache_dir: &Path, wanted: &[Repo]) -> Result<Plan, VerifyError> {
    let mut plan = Plan::default();
    let mut entries: Vec<PathBuf> = fs::read_dir(cache_dir)
        .map_err(|source| VerifyError::Io {
            path: cache_dir.to_path_buf(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut found = Vec::new();
    for repo_path in entries {
        let Some(repo) = repo_path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(Repo::from_folder_name)
        else {
            continue;
        };
        if !repo_path.is_dir() || (!wanted.is_empty() && !wanted.contains(&repo)) {
            continue;
        }
        found.push(repo);
        plan.repos += 1;
        let blobs_dir = repo_path.join("blobs");
        if let Ok(listing) = fs::read_dir(&blobs_dir) {
            let mut names: Vec<PathBuf> =
                listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            for blob in names {
                let kind = blob
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(HashKind::of_blob_name);
                let Some(kind) = kind else { continue };
                if fs::symlink_metadata(&blob).is_ok_and(|m| m.file_type().is_symlink())
                    && let Ok(None) = resolve_inside(cache_dir, &blob)
                {
                    let target = fs::canonicalize(&blob).unwrap_or_default();
                    plan.problems.push(Problem::OutsideCache {
                        pointer: blob,
                        target,
                    });
                    continue;
                }
                if let Ok(metadata) = fs::metadata(&blob)
                    && metadata.is_file()
                {
                    plan.blobs.push(Blob {
                        path: blob,
                        kind,
                        size: metadata.len(),
                    });
                }
            }
        }
        check_pointers(cache_dir, &repo_path, &blobs_dir, &mut plan);
    }
    if let Some(repo) = wanted.iter().find(|repo| !found.contains(repo)) {
        return Err(VerifyError::NotCached {
            repo: repo.clone(),
            cache: cache_dir.to_path_buf(),
        });
    }
    Ok(plan)
}

/// Every symlink below `snapshots/` must resolve inside the cache; one into `blobs/` that does not
/// resolve is a missing blob.
fn check_pointers(cache_dir: &Path, repo_path: &Path, blobs_dir: &Path, plan: &mut Plan) {
    let snapshots = repo_path.join("snapshots");
    for entry in walkdir::WalkDir::new(&snapshots)
        .min_depth(2)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if !entry.path_is_symlink() {
            continue;
        }
        plan.pointers += 1;
        let pointer = entry.path().to_path_buf();
        match resolve_inside(cache_dir, &pointer) {
            Ok(Some(_)) => continue,
            Ok(None) => {
                let target = fs::canonicalize(&pointer).unwrap_or_default();
                plan.problems
                    .push(Problem::OutsideCache { pointer, target });
                continue;
            }
            Err(_) => {}
        }
        let Ok(link) = fs::read_link(&pointer) else {
            continue;
        };
        let target = crate::fs::abspath(&pointer.parent().unwrap_or(Path::new("/")).join(&link));
        if target.parent() == Some(&crate::fs::abspath(blobs_dir)) {
            plan.problems.push(Problem::MissingBlob {
                pointer,
                blob: target,
            });
        } else {
            plan.problems
                .push(Problem::BrokenPointer { pointer, target });
        }
    }
}
