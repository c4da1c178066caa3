//! `hfhub cache verify`: re-hash every blob of the cache (or of some repos) and check every pointer.
//!
//! Offline and local: a blob named by 64 hex digits must hash to that sha256, one named by 40 hex
//! digits to that git blob sha1 (`blob {len}\0` + content). Every snapshot symlink must lead to an
//! existing file; one that targets the repo's `blobs/` names a missing blob when that file is absent,
//! any other dangling link is a broken pointer. Blobs are hashed on all cores.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hub_cache::Repo;
use hub_cache::format::format_size;
use hub_cache::hash::{HashKind, hash_reader};

/// Arguments of `hfhub cache verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Repos to verify: `model/gpt2`, `dataset/org/name`, or a model id (`org/name`) [default: all].
    #[arg(value_name = "REPO", value_parser = parse_repo)]
    repos: Vec<Repo>,
    /// Cache directory [default: the hub cache the environment selects].
    #[arg(long, visible_alias = "cache-dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The blob's content does not hash to its name.
    Mismatch {
        blob: PathBuf,
        kind: HashKind,
        actual: String,
    },
    /// A snapshot pointer leads into `blobs/` but the blob is absent.
    MissingBlob { pointer: PathBuf, blob: PathBuf },
    /// A snapshot symlink leads nowhere (outside `blobs/`, or through a missing path).
    BrokenPointer { pointer: PathBuf, target: PathBuf },
    /// A blob could not be read.
    Unreadable { blob: PathBuf, error: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Mismatch { blob, kind, actual } => {
                write!(f, "corrupted blob: {} ({kind} is {actual})", blob.display())
            }
            Problem::MissingBlob { pointer, blob } => write!(
                f,
                "missing blob: {} -> {}",
                pointer.display(),
                blob.display()
            ),
            Problem::BrokenPointer { pointer, target } => write!(
                f,
                "broken pointer: {} -> {}",
                pointer.display(),
                target.display()
            ),
            Problem::Unreadable { blob, error } => {
                write!(f, "unreadable blob: {}: {error}", blob.display())
            }
        }
    }
}

/// What a verification went through.
#[derive(Debug, Default)]
pub struct Verification {
    pub repos: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub pointers: usize,
    pub problems: Vec<Problem>,
}

/// Runs `hfhub cache verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| super::default_cache_dir(&env));
    if !dir.is_dir() {
        anyhow::bail!("cache directory not found: `{}`", dir.display());
    }
    let wanted = args.repos.clone();
    let progress = std::io::stderr().is_terminal();
    let verification = verify(&dir, &wanted, progress)?;
    for problem in &verification.problems {
        println!("{problem}");
    }
    println!(
        "Verified {} blob(s) ({}) and {} pointer(s) in {} repo(s): {} problem(s).",
        verification.blobs,
        format_size(verification.bytes),
        verification.pointers,
        verification.repos,
        verification.problems.len()
    );
    Ok(if verification.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `model/gpt2`, `dataset/org/name`, `space/...`, `kernel/...`, or a bare model id; a bad one is a
/// usage error (exit code 2).
fn parse_repo(spec: &str) -> Result<Repo, String> {
    use hub_cache::{RepoId, RepoType};
    let (repo_type, id) = match spec.split_once('/') {
        Some((prefix, rest)) => match RepoType::ALL.into_iter().find(|t| t.as_str() == prefix) {
            Some(repo_type) => (repo_type, rest),
            None => (RepoType::Model, spec),
        },
        None => (RepoType::Model, spec),
    };
    let id = RepoId::new(id).map_err(|e| format!("invalid repository `{spec}`: {e}"))?;
    Ok(Repo::new(repo_type, id))
}

/// Verifies every repo folder of `cache_dir` (or only `wanted` ones).
pub fn verify(cache_dir: &Path, wanted: &[Repo], progress: bool) -> anyhow::Result<Verification> {
    let mut verification = Verification::default();
    let mut blobs: Vec<(PathBuf, HashKind, u64)> = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(cache_dir)
        .with_context(|| format!("cannot list `{}`", cache_dir.display()))?
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
        verification.repos += 1;
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
                if let Some(kind) = kind
                    && let Ok(metadata) = fs::metadata(&blob)
                    && metadata.is_file()
                {
                    blobs.push((blob, kind, metadata.len()));
                }
            }
        }
        check_pointers(&repo_path, &blobs_dir, &mut verification);
    }
    for repo in wanted {
        if !found.contains(repo) {
            anyhow::bail!(
                "repository `{repo}` is not in the cache `{}`",
                cache_dir.display()
            );
        }
    }
    verification.blobs = blobs.len();
    verification.bytes = blobs.iter().map(|(_, _, size)| size).sum();
    let problems = hash_all(&blobs, verification.bytes, progress);
    verification.problems.extend(problems);
    Ok(verification)
}

/// Every symlink below `snapshots/` must resolve; one into `blobs/` that does not is a missing blob.
fn check_pointers(repo_path: &Path, blobs_dir: &Path, verification: &mut Verification) {
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
        verification.pointers += 1;
        let pointer = entry.path().to_path_buf();
        if fs::metadata(&pointer).is_ok() {
            continue;
        }
        let Ok(link) = fs::read_link(&pointer) else {
            continue;
        };
        let target = normalise(&pointer.parent().unwrap_or(Path::new("/")).join(&link));
        if target.parent() == Some(&normalise(blobs_dir)) {
            verification.problems.push(Problem::MissingBlob {
                pointer,
                blob: target,
            });
        } else {
            verification
                .problems
                .push(Problem::BrokenPointer { pointer, target });
        }
    }
}

/// `.` and `..` removed lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Hashes the blobs on every core; prints progress on stderr when asked.
fn hash_all(blobs: &[(PathBuf, HashKind, u64)], total: u64, progress: bool) -> Vec<Problem> {
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let problems = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(blobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((blob, kind, size)) = blobs.get(index) else {
                        break;
                    };
                    let name = blob
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    let result = fs::File::open(blob)
                        .and_then(|file| hash_reader(*kind, *size, std::io::BufReader::new(file)));
                    let problem = match result {
                        Ok(actual) if actual.eq_ignore_ascii_case(name) => None,
                        Ok(actual) => Some(Problem::Mismatch {
                            blob: blob.clone(),
                            kind: *kind,
                            actual,
                        }),
                        Err(error) => Some(Problem::Unreadable {
                            blob: blob.clone(),
                            error: error.to_string(),
                        }),
                    };
                    if let Some(problem) = problem {
                        problems
                            .lock()
                            .expect("no worker panics while holding the lock")
                            .push(problem);
                    }
                    done.fetch_add(*size, Ordering::Relaxed);
                }
            });
        }
        if progress {
            let started = Instant::now();
            while next.load(Ordering::Relaxed) < blobs.len() {
                std::thread::sleep(Duration::from_millis(200));
                eprint!(
                    "\rVerifying: {} / {} ({:.0}s)",
                    format_size(done.load(Ordering::Relaxed)),
                    format_size(total),
                    started.elapsed().as_secs_f64()
                );
            }
            eprintln!("\r\u{1b}[K");
        }
    });
    let mut problems = problems
        .into_inner()
        .expect("no worker panics while holding the lock");
    problems.sort_by_key(|problem| problem.to_string());
    problems
}
