//! Scanning a whole cache: what `huggingface_hub.scan_cache_dir` reports, field for field.
//!
//! ```text
//! <cache>/                                  resolved like Python's `expanduser().resolve()`
//! ├── .locks/                               skipped
//! ├── CACHEDIR.TAG, .DS_Store, Thumbs.db, desktop.ini
//! │                                         skipped by 2.x; 0.2x reports them as corrupted repos
//! ├── blobs/.huggingface-shared-blobs       a marked shared store: skipped by 2.x, its payloads
//! │                                         count once in the physical size
//! └── <type>s--<id>/                        one repo (anything else: a warning, the repo is skipped)
//!     ├── refs/<name>                       ref name -> raw content (the commit the ref points to)
//!     ├── blobs/<etag>[.<8hex>].incomplete  reported as incomplete downloads (2.x)
//!     └── snapshots/<commit>/<path...>      one revision per directory, one file per non-directory
//! ```
//!
//! The scan only lists directories and stats entries; the only files it reads are refs (and, for a
//! shared store, its marker). Corrupted repos are skipped and reported as [`CorruptedCache`] warnings
//! whose text is upstream's `CorruptedCacheException` message, byte for byte.
//!
//! Timestamps are kept as [`SystemTime`] at full (nanosecond) precision; [`python_timestamp`] gives the
//! float Python's `st_atime`/`st_mtime` would hold.
//!
//! Differences from upstream, all in cases where Python raises instead of reporting: a ref that is not
//! UTF-8 is decoded lossily (Python raises `UnicodeDecodeError`), and a set of ref names in the
//! missing-commit message is printed sorted (Python prints it in hash order, which varies per process).
//! Directory entries whose names are not UTF-8 are converted lossily where a name becomes a string.
//!
//! [`python_timestamp`]: crate::format::python_timestamp

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::format::Flavour;
pub(crate) use crate::fs::abspath as absolute_normalized;
use crate::fs::{Links, ReadError, SMALL_FILE_CAP, read_capped};
use crate::fs::{join_real, list_dir, python_resolve};
use crate::layout::{CACHEDIR_TAG_NAME, LOCKS_DIR, OS_HELPER_FILES};
use crate::repo::{Repo, RepoId, RepoType};
pub use crate::shared_store::{
    SHARED_BLOBS_DIR, SHARED_BLOBS_MARKER, is_shared_blobs_dir, shared_blob_target,
    shared_store_payloads,
};
use walk::{
    BlobFolders, BlobStat, CleanKey, Found, Kind, Last, Lstat, clean_cmp, clean_cmp_bytes,
    clean_starts_with, glob_recursive, split_clean,
};

mod walk;

/// Behaviour switches of [`scan_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    flavour: Flavour,
    skip_2x_entries: bool,
    confined: bool,
}

impl Options {
    /// 2.x behaviour.
    pub fn new() -> Options {
        Options::default()
    }

    /// Scan as the given upstream generation does (0.2x: only `.locks` skipped, full symlink
    /// resolution of blob paths, the old type-prefix message, logical total size, no incomplete files).
    pub fn with_flavour(mut self, flavour: Flavour) -> Options {
        self.flavour = flavour;
        self
    }

    /// Skip the top-level entries 2.x skips (`CACHEDIR.TAG`, `.DS_Store`, `Thumbs.db`,
    /// `desktop.ini`, a marked shared `blobs/`) whatever the flavour: `hfhub scan-cache` prints
    /// 0.2x's report, but no warning about files 0.2x never wrote. Always on for 2.x.
    pub fn with_2x_skips(mut self, skip: bool) -> Options {
        self.skip_2x_entries = skip;
        self
    }

    /// The upstream generation followed.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Leave snapshot entries that resolve outside the cache out of every count (front ends that
    /// show a cache to a user set this). Without it the numbers are upstream's, which counts them;
    /// either way they are named in [`Report::refused`].
    pub fn with_confined(mut self, confined: bool) -> Options {
        self.confined = confined;
        self
    }
}

/// Why a scan could not run at all (a corrupted repo is a warning, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Upstream raises `CacheNotFound` (`Cache directory not found: {dir}. ...`).
    #[error("cache directory not found: `{}`", path.display())]
    NotFound {
        /// The resolved directory.
        path: PathBuf,
    },
    /// Upstream raises `ValueError`.
    #[error("cache directory `{}` is a file, not a directory", path.display())]
    NotADirectory {
        /// The resolved path.
        path: PathBuf,
    },
    /// A listing or stat failed where upstream lets the `OSError` propagate.
    #[error("cannot read `{}` while scanning the cache", path.display())]
    Io {
        /// What was being listed, stat'ed or read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl ScanError {
    /// The text of the exception upstream raises instead (`CacheNotFound`, `ValueError`), for front
    /// ends that reproduce upstream output; `None` for I/O errors, whose text is the OS's.
    pub fn upstream_message(&self) -> Option<String> {
        const HINT: &str =
            "Please use `cache_dir` argument or set `HF_HUB_CACHE` environment variable.";
        match self {
            ScanError::NotFound { path } => Some(format!(
                "Cache directory not found: {}. {HINT}",
                path.display()
            )),
            ScanError::NotADirectory { path } => Some(format!(
                "Scan cache expects a directory but found a file: {}. {HINT}",
                path.display()
            )),
            ScanError::Io { .. } => None,
        }
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> ScanError + '_ {
        move |source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A repo folder upstream refuses; the repo is left out of the report.
///
/// `Display` is upstream's `CorruptedCacheException` message, byte for byte (so it starts with a
/// capital and may end with a period, unlike our own errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptedCache {
    /// `Repo path is not a directory: {path}`
    NotADirectory {
        /// The repo folder's path.
        path: PathBuf,
    },
    /// `Repo path is not a valid HuggingFace cache directory: {path}` (no `--` in the name).
    NotARepoFolder {
        /// The entry's path.
        path: PathBuf,
    },
    /// Unknown type prefix. `found` is what upstream prints: the whole prefix in 2.x, the prefix
    /// minus its last character in 0.2x.
    UnknownRepoType {
        /// The prefix as upstream prints it (see above).
        found: String,
        /// The entry's path.
        path: PathBuf,
        /// Which upstream's message to reproduce.
        flavour: Flavour,
    },
    /// `Snapshots dir doesn't exist in cached repo: {snapshots}`
    MissingSnapshots {
        /// The missing `snapshots/` folder.
        snapshots: PathBuf,
    },
    /// `Refs directory cannot be a file: {refs}`
    RefsIsAFile {
        /// The `refs` file.
        refs: PathBuf,
    },
    /// `Snapshots folder corrupted. Found a file: {path}`
    FileInSnapshots {
        /// The file directly under `snapshots/`.
        path: PathBuf,
    },
    /// `Blob missing (broken symlink): {blob}`
    MissingBlob {
        /// The blob path the snapshot entry resolves to.
        blob: PathBuf,
    },
    /// `Reference(s) refer to missing commit hashes: {dict} ({repo}).` — `refs_by_hash` keeps the
    /// order upstream's dict has (first sighting of each hash while walking `refs/`).
    MissingCommits {
        /// Each commit hash a ref names without a snapshot folder, with the refs naming it.
        refs_by_hash: Vec<(String, BTreeSet<String>)>,
        /// The repo folder.
        repo: PathBuf,
    },
}

impl fmt::Display for CorruptedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptedCache::NotADirectory { path } => {
                write!(f, "Repo path is not a directory: {}", path.display())
            }
            CorruptedCache::NotARepoFolder { path } => write!(
                f,
                "Repo path is not a valid HuggingFace cache directory: {}",
                path.display()
            ),
            CorruptedCache::UnknownRepoType {
                found,
                path,
                flavour: Flavour::V2x,
            } => write!(
                f,
                "Repo type must be one of ['datasets', 'kernels', 'models', 'spaces'], found `{found}` ({}).",
                path.display()
            ),
            CorruptedCache::UnknownRepoType {
                found,
                path,
                flavour: Flavour::V0x,
            } => write!(
                f,
                "Repo type must be `dataset`, `model` or `space`, found `{found}` ({}).",
                path.display()
            ),
            CorruptedCache::MissingSnapshots { snapshots } => write!(
                f,
                "Snapshots dir doesn't exist in cached repo: {}",
                snapshots.display()
            ),
            CorruptedCache::RefsIsAFile { refs } => {
                write!(f, "Refs directory cannot be a file: {}", refs.display())
            }
            CorruptedCache::FileInSnapshots { path } => write!(
                f,
                "Snapshots folder corrupted. Found a file: {}",
                path.display()
            ),
            CorruptedCache::MissingBlob { blob } => {
                write!(f, "Blob missing (broken symlink): {}", blob.display())
            }
            CorruptedCache::MissingCommits { refs_by_hash, repo } => {
                f.write_str("Reference(s) refer to missing commit hashes: {")?;
                for (index, (hash, refs)) in refs_by_hash.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {{", python_str_repr(&crate::refs::shown_ref(hash)))?;
                    for (index, name) in refs.iter().enumerate() {
                        if index > 0 {
                            f.write_str(", ")?;
                        }
                        f.write_str(&python_str_repr(name))?;
                    }
                    f.write_str("}")?;
                }
                write!(f, "}} ({}).", repo.display())
            }
        }
    }
}

impl std::error::Error for CorruptedCache {}

/// Something on disk the scan would not take as part of the cache (beyond upstream, which counts it):
/// the entry is left out of the report and named here, for front ends to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A snapshot pointer (or the blob it names) that resolves outside the cache.
    OutsideCache {
        /// The snapshot entry.
        pointer: PathBuf,
        /// Where it resolves, outside the cache.
        target: PathBuf,
    },
    /// A ref that is not a regular file (a link, a FIFO...), too large, or unreadable.
    Ref {
        /// The ref file (`refs/<name>`).
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |path: &Path| crate::display::Escaped(&path.to_string_lossy()).to_string();
        match self {
            Refused::OutsideCache { pointer, target } => write!(
                f,
                "`{}`: it resolves outside the cache (`{}`)",
                shown(pointer),
                shown(target)
            ),
            Refused::Ref { path, reason } => write!(
                f,
                "ignoring ref `{}`: {}",
                shown(path),
                crate::display::Escaped(reason)
            ),
        }
    }
}

/// Everything a scan found: `HFCacheInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The scanned directory, `~` expanded and symlinks resolved.
    pub cache_dir: PathBuf,
    /// The behaviour the scan followed (delete plans follow it too).
    pub flavour: Flavour,
    /// Valid repos, sorted by `repo_path`.
    pub repos: Vec<CachedRepo>,
    /// 2.x: physical size (each distinct repo blob once, shared-store payloads once, referenced or not).
    /// 0.2x: the sum of the repos' sizes.
    pub size_on_disk: u64,
    /// `*/blobs/*.incomplete` with their sizes, sorted by path (always empty in 0.2x flavour).
    pub incomplete_files: Vec<IncompleteFile>,
    /// Skipped repos, in the order the cache directory listed them.
    pub warnings: Vec<CorruptedCache>,
    /// Entries left out because they lead outside the cache or are not plain files (empty for any
    /// cache Python filled).
    pub refused: Vec<Refused>,
}

impl Report {
    /// Sum of the incomplete downloads' sizes.
    pub fn incomplete_size_on_disk(&self) -> u64 {
        self.incomplete_files.iter().map(|f| f.size_on_disk).sum()
    }
}

/// One repo folder: `CachedRepoInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedRepo {
    /// Type and id from the folder name (`--` in the id become `/`; the id is not validated).
    pub repo: Repo,
    /// `<cache>/<type>s--<id>` as listed (not resolved: a symlinked repo folder keeps its link path).
    pub repo_path: PathBuf,
    /// Sum of the sizes of the distinct blobs referenced by any snapshot (unreferenced blobs excluded).
    pub size_on_disk: u64,
    /// Number of distinct blobs referenced by any snapshot (not the number of files).
    pub nb_files: usize,
    /// Sorted by commit hash.
    pub revisions: Vec<CachedRevision>,
    /// Latest blob access time, or the repo folder's when no blob is referenced.
    pub last_accessed: SystemTime,
    /// Latest blob modification time, or the repo folder's when no blob is referenced.
    pub last_modified: SystemTime,
    /// Ref name (`main`, `refs/pr/1`) to the commit it points to.
    pub refs: BTreeMap<String, String>,
}

/// One `snapshots/<commit>` folder: `CachedRevisionInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedRevision {
    /// The folder name.
    pub commit_hash: String,
    /// `<repo>/snapshots/<commit>`.
    pub snapshot_path: PathBuf,
    /// Sum over the distinct blob paths of this revision.
    pub size_on_disk: u64,
    /// Every non-directory below the snapshot folder, sorted by `file_path`.
    pub files: Vec<CachedFile>,
    /// Refs whose content is exactly this folder's name.
    pub refs: BTreeSet<String>,
    /// Latest blob modification time, or the snapshot folder's when it has no file.
    pub last_modified: SystemTime,
}

impl CachedRevision {
    /// Number of files in the snapshot.
    pub fn nb_files(&self) -> usize {
        self.files.len()
    }
}

/// One file of a snapshot: `CachedFileInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedFile {
    /// The entry's base name (`model.bin` for `sub/dir/model.bin`).
    pub file_name: String,
    /// The entry below `snapshots/<commit>/`.
    pub file_path: PathBuf,
    /// 2.x: the pointer's target after one symlink hop, made absolute and normalised lexically (so a
    /// repo blob linking into the shared store is reported as the repo blob); the file itself when it is
    /// not a symlink. 0.2x: fully resolved.
    pub blob_path: PathBuf,
    /// Size of the blob (symlinks followed).
    pub size_on_disk: u64,
    /// The blob's access time (`st_atime`, symlinks followed).
    pub blob_last_accessed: SystemTime,
    /// The blob's modification time (`st_mtime`, symlinks followed).
    pub blob_last_modified: SystemTime,
}

/// A partial download left in a repo's `blobs/`: `CachedIncompleteFileInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteFile {
    /// `<cache>/<repo>/blobs/<name>.incomplete`.
    pub file_path: PathBuf,
    /// Bytes downloaded so far.
    pub size_on_disk: u64,
}

/// Scans a cache as huggingface_hub 2.x `scan_cache_dir(cache_dir)` does.
pub fn scan(cache_dir: impl AsRef<Path>) -> Result<Report, ScanError> {
    scan_with(cache_dir, &Options::new())
}

/// Scans a cache with explicit options (e.g. the 0.2x flavour).
pub fn scan_with(cache_dir: impl AsRef<Path>, options: &Options) -> Result<Report, ScanError> {
    let flavour = options.flavour;
    let cache_dir = python_resolve(&expand_user(cache_dir.as_ref()));
    let metadata = match fs::metadata(&cache_dir) {
        Ok(metadata) => metadata,
        Err(error) if is_missing(&error) => return Err(ScanError::NotFound { path: cache_dir }),
        Err(error) => return Err(ScanError::io(&cache_dir)(error)),
    };
    if metadata.is_file() {
        return Err(ScanError::NotADirectory { path: cache_dir });
    }

    let mut paths = Vec::new();
    for name in list_dir(&cache_dir).map_err(ScanError::io(&cache_dir))? {
        let path = cache_dir.join(&name);
        if !skipped_top_level(&name, &path, flavour, options.skip_2x_entries) {
            paths.push(path);
        }
    }
    let mut repos = Vec::new();
    let mut warnings = Vec::new();
    let mut refused = Vec::new();
    // In listing order, as one thread would have met them: the first error stops the scan.
    for (result, repo_refused) in scan_repos(&cache_dir, &paths, options) {
        refused.extend(repo_refused);
        match result? {
            Ok(repo) => repos.push(repo),
            Err(warning) => warnings.push(warning),
        }
    }
    repos.sort_by(|a, b| a.repo_path.cmp(&b.repo_path));

    let (size_on_disk, incomplete_files) = match flavour {
        Flavour::V0x => (repos.iter().map(|repo| repo.size_on_disk).sum(), Vec::new()),
        Flavour::V2x => (
            physical_size(&cache_dir, &repos),
            incomplete_files(&cache_dir)?,
        ),
    };
    Ok(Report {
        cache_dir,
        flavour,
        repos,
        size_on_disk,
        incomplete_files,
        warnings,
        refused,
    })
}

/// What [`scan_repo`] gives for one folder, with what it refused.
type RepoScan = (
    Result<Result<CachedRepo, CorruptedCache>, ScanError>,
    Vec<Refused>,
);

/// [`scan_repo`] of every folder, on as many threads as there are cores (each taking the next
/// folder not yet taken), the results in the order of `paths`.
fn scan_repos(cache_dir: &Path, paths: &[PathBuf], options: &Options) -> Vec<RepoScan> {
    let scan_one = |path: &PathBuf| {
        let mut refused = Vec::new();
        let result = scan_repo(cache_dir, path, options, &mut refused);
        (result, refused)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(paths.len());
    if threads <= 1 {
        return paths.iter().map(scan_one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, RepoScan)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(at) else {
                            return done;
                        };
                        done.push((at, scan_one(path)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.sort_by_key(|(at, _)| *at);
    results.into_iter().map(|(_, scan)| scan).collect()
}

fn skipped_top_level(name: &OsStr, path: &Path, flavour: Flavour, skip_2x: bool) -> bool {
    if name == LOCKS_DIR {
        return true;
    }
    (flavour == Flavour::V2x || skip_2x)
        && (OS_HELPER_FILES.iter().any(|helper| name == *helper)
            || name == CACHEDIR_TAG_NAME
            || (name == SHARED_BLOBS_DIR && is_shared_blobs_dir(path)))
}

/// The outer `Result` is a scan-stopping I/O error, the inner one a corrupted repo.
fn scan_repo(
    cache_dir: &Path,
    repo_path: &Path,
    options: &Options,
    refused: &mut Vec<Refused>,
) -> Result<Result<CachedRepo, CorruptedCache>, ScanError> {
    let flavour = options.flavour;
    let corrupted = |warning: CorruptedCache| Ok(Err(warning));
    if !is_dir(repo_path) {
        return corrupted(CorruptedCache::NotADirectory {
            path: repo_path.to_path_buf(),
        });
    }
    let folder_name = file_name_lossy(repo_path);
    let Some((prefix, id)) = folder_name.split_once("--") else {
        return corrupted(CorruptedCache::NotARepoFolder {
            path: repo_path.to_path_buf(),
        });
    };
    let repo_type = match flavour {
        Flavour::V2x => RepoType::from_plural(prefix).ok_or_else(|| prefix.to_owned()),
        Flavour::V0x => {
            // 0.2x drops the last character and accepts three singular names.
            let mut singular = prefix.chars();
            singular.next_back();
            let singular = singular.as_str();
            match singular {
                "model" => Ok(RepoType::Model),
                "dataset" => Ok(RepoType::Dataset),
                "space" => Ok(RepoType::Space),
                _ => Err(singular.to_owned()),
            }
        }
    };
    let repo_type = match repo_type {
        Ok(repo_type) => repo_type,
        Err(found) => {
            return corrupted(CorruptedCache::UnknownRepoType {
                found,
                path: repo_path.to_path_buf(),
                flavour,
            });
        }
    };
    let repo = Repo::new(
        repo_type,
        RepoId::from_cache_unchecked(id.replace("--", "/")),
    );

    let snapshots_path = repo_path.join("snapshots");
    let refs_path = repo_path.join("refs");
    if !is_dir(&snapshots_path) {
        return corrupted(CorruptedCache::MissingSnapshots {
            snapshots: snapshots_path,
        });
    }

    // Ordered like upstream's `defaultdict`: by first sighting of each hash.
    let mut refs_by_hash: Vec<(String, BTreeSet<String>)> = Vec::new();
    if let Ok(metadata) = fs::metadata(&refs_path) {
        if metadata.is_file() {
            return corrupted(CorruptedCache::RefsIsAFile { refs: refs_path });
        }
        for Found { path: ref_path, .. } in
            glob_recursive(&refs_path).map_err(ScanError::io(&refs_path))?
        {
            let name = file_name_lossy(&ref_path);
            if is_dir(&ref_path)
                || (flavour == Flavour::V2x && OS_HELPER_FILES.contains(&name.as_str()))
            {
                continue;
            }
            let ref_name = relative_posix(&ref_path, &refs_path);
            let commit = match read_ref(&ref_path) {
                Ok(commit) => commit,
                Err(error @ (ReadError::Io { .. } | ReadError::Missing { .. })) => {
                    return Err(ScanError::Io {
                        path: ref_path,
                        source: io::Error::other(error.to_string()),
                    });
                }
                Err(error) => {
                    refused.push(Refused::Ref {
                        path: ref_path,
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            match refs_by_hash.iter_mut().find(|(hash, _)| *hash == commit) {
                Some((_, names)) => {
                    names.insert(ref_name);
                }
                None => refs_by_hash.push((commit, BTreeSet::from([ref_name]))),
            }
        }
    }

    let ignored_in_snapshots: &[&str] = match flavour {
        Flavour::V2x => &OS_HELPER_FILES,
        Flavour::V0x => &[".DS_Store"],
    };
    // Keyed by blob path, first stat wins (as upstream's `blob_stats`).
    // Blob paths are clean (listed names, lexically normalised or resolved paths).
    // With each stat, whether the fast path's `lstat` took it (the blob path is then not a link).
    let mut blob_stats: HashMap<CleanKey, (BlobStat, bool)> = HashMap::new();
    let mut resolver = Resolver::default();
    let mut probe = Probe::default();
    let mut revisions = Vec::new();
    for name in list_dir(&snapshots_path).map_err(ScanError::io(&snapshots_path))? {
        let revision_path = snapshots_path.join(&name);
        let commit_hash = name.to_string_lossy().into_owned();
        if ignored_in_snapshots.contains(&commit_hash.as_str()) {
            continue;
        }
        if is_file(&revision_path) {
            return corrupted(CorruptedCache::FileInSnapshots {
                path: revision_path,
            });
        }

        let mut files = Vec::new();
        let found = glob_recursive(&revision_path).map_err(ScanError::io(&revision_path))?;
        let root_real = !found.is_empty() && probe.is_real(&revision_path);
        for entry in found {
            let fast = probe.fast(&entry, root_real, flavour, &blob_stats);
            let file_path = entry.path;
            let (blob_path, known_stat) = match fast {
                Fast::Folder => continue,
                Fast::Blob(blob_path, stat) => (blob_path, stat),
                Fast::Slow => {
                    if is_dir(&file_path) {
                        continue;
                    }
                    let blob_path = match flavour {
                        Flavour::V2x => match fs::read_link(&file_path) {
                            Ok(target) => {
                                let parent = file_path.parent().unwrap_or(Path::new("/"));
                                absolute_normalized(&parent.join(target))
                            }
                            Err(_) => file_path.clone(),
                        },
                        Flavour::V0x => resolver.resolve(&file_path),
                    };
                    (blob_path, None)
                }
            };
            // A blob known not to be a link, inside the cache by name, is inside: the usual case
            // needs no further look.
            let known_inside = known_stat.is_some()
                && (clean_starts_with(&blob_path, cache_dir)
                    || clean_starts_with(&blob_path, repo_path));
            if !known_inside
                && let Some(target) = outside(cache_dir, repo_path, &file_path, &blob_path, flavour)
            {
                refused.push(Refused::OutsideCache {
                    pointer: file_path.clone(),
                    target,
                });
                if options.confined {
                    continue;
                }
            }
            let stat = match (blob_stats.get(CleanKey::bytes(&blob_path)), known_stat) {
                (Some((stat, _)), _) => *stat,
                (None, Some(stat)) => {
                    blob_stats.insert(CleanKey::new(&blob_path), (stat, true));
                    stat
                }
                (None, None) => match fs::metadata(&blob_path) {
                    Ok(metadata) => {
                        let stat = BlobStat::of(&metadata);
                        blob_stats.insert(CleanKey::new(&blob_path), (stat, false));
                        stat
                    }
                    Err(error) if is_missing(&error) => {
                        return corrupted(CorruptedCache::MissingBlob { blob: blob_path });
                    }
                    Err(error) => return Err(ScanError::io(&blob_path)(error)),
                },
            };
            let file_name = match split_clean(&file_path) {
                Some((_, name)) => name.to_string_lossy().into_owned(),
                None => file_name_lossy(&file_path),
            };
            files.push(CachedFile {
                file_name,
                file_path,
                blob_path,
                size_on_disk: stat.size,
                blob_last_accessed: stat.accessed,
                blob_last_modified: stat.modified,
            });
        }
        // The paths are the walk's: clean, and all below `revision_path`, which needs no comparing.
        let mut prefix = revision_path.as_os_str().as_encoded_bytes().to_vec();
        prefix.push(b'/');
        fn below<'a>(file: &'a CachedFile, prefix: &[u8]) -> &'a [u8] {
            let bytes = file.file_path.as_os_str().as_encoded_bytes();
            bytes.strip_prefix(prefix).unwrap_or(bytes)
        }
        if files
            .iter()
            .all(|file| below(file, &prefix).len() < file.file_path.as_os_str().len())
        {
            files.sort_unstable_by(|a, b| clean_cmp_bytes(below(a, &prefix), below(b, &prefix)));
        } else {
            files.sort_unstable_by(|a, b| clean_cmp(&a.file_path, &b.file_path));
        }

        let last_modified = match files.iter().map(|file| file.blob_last_modified).max() {
            Some(latest) => latest,
            None => fs::metadata(&revision_path)
                .and_then(|metadata| metadata.modified())
                .map_err(ScanError::io(&revision_path))?,
        };
        let mut distinct_blobs: Vec<(&Path, u64)> = files
            .iter()
            .map(|file| (file.blob_path.as_path(), file.size_on_disk))
            .collect();
        distinct_blobs.sort_unstable_by(|a, b| clean_cmp(a.0, b.0));
        distinct_blobs.dedup_by(|a, b| a.0 == b.0);
        let refs = match refs_by_hash
            .iter()
            .position(|(hash, _)| *hash == commit_hash)
        {
            Some(index) => refs_by_hash.remove(index).1,
            None => BTreeSet::new(),
        };
        revisions.push(CachedRevision {
            size_on_disk: distinct_blobs.iter().map(|(_, size)| size).sum(),
            commit_hash,
            snapshot_path: revision_path,
            files,
            refs,
            last_modified,
        });
    }

    if !refs_by_hash.is_empty() {
        return corrupted(CorruptedCache::MissingCommits {
            refs_by_hash,
            repo: repo_path.to_path_buf(),
        });
    }
    revisions.sort_by(|a, b| a.commit_hash.cmp(&b.commit_hash));

    let (last_accessed, last_modified) = if blob_stats.is_empty() {
        let metadata = fs::metadata(repo_path).map_err(ScanError::io(repo_path))?;
        let accessed = metadata.accessed().map_err(ScanError::io(repo_path))?;
        let modified = metadata.modified().map_err(ScanError::io(repo_path))?;
        (accessed, modified)
    } else {
        let accessed = blob_stats.values().map(|(s, _)| s.accessed).max();
        let modified = blob_stats.values().map(|(s, _)| s.modified).max();
        (
            accessed.expect("blob_stats is not empty"),
            modified.expect("blob_stats is not empty"),
        )
    };
    let refs = revisions
        .iter()
        .flat_map(|revision| {
            revision
                .refs
                .iter()
                .map(|name| (name.clone(), revision.commit_hash.clone()))
        })
        .collect();
    Ok(Ok(CachedRepo {
        repo,
        repo_path: repo_path.to_path_buf(),
        size_on_disk: blob_stats.values().map(|(s, _)| s.size).sum(),
        nb_files: blob_stats.len(),
        revisions,
        last_accessed,
        last_modified,
        refs,
    }))
}

/// 2.x `HFCacheInfo.size_on_disk`: distinct blob paths of all repos (shared-store links excluded when
/// the store is marked) plus every payload of the shared store, each stat'ed once; failures count 0.
fn physical_size(cache_dir: &Path, repos: &[CachedRepo]) -> u64 {
    let store_marked = is_shared_blobs_dir(&cache_dir.join(SHARED_BLOBS_DIR));
    let mut paths: BTreeSet<PathBuf> = repos
        .iter()
        .flat_map(|repo| &repo.revisions)
        .flat_map(|revision| &revision.files)
        .filter(|file| !store_marked || shared_blob_target(&file.blob_path, cache_dir).is_none())
        .map(|file| file.blob_path.clone())
        .collect();
    // Each repo blob was stat'ed once already: its size is the file's.
    let known: HashMap<&Path, u64> = repos
        .iter()
        .flat_map(|repo| &repo.revisions)
        .flat_map(|revision| &revision.files)
        .map(|file| (file.blob_path.as_path(), file.size_on_disk))
        .collect();
    paths.extend(shared_store_payloads(cache_dir));
    paths
        .iter()
        .filter_map(|path| match known.get(path.as_path()) {
            Some(size) => Some(*size),
            None => fs::metadata(path).ok().map(|metadata| metadata.len()),
        })
        .sum()
}

/// `cache_dir.glob("*/blobs/*.incomplete")` with sizes (entries that cannot be stat'ed are dropped).
fn incomplete_files(cache_dir: &Path) -> Result<Vec<IncompleteFile>, ScanError> {
    let mut found = Vec::new();
    let top = match list_dir(cache_dir) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => Vec::new(),
        Err(error) => return Err(ScanError::io(cache_dir)(error)),
    };
    for name in top {
        let blobs = cache_dir.join(name).join("blobs");
        if !is_dir(&blobs) {
            continue;
        }
        // Upstream ignores a listing refused for permissions and lets other errors propagate.
        let entries = match list_dir(&blobs) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => continue,
            Err(error) => return Err(ScanError::io(&blobs)(error)),
        };
        for entry in entries {
            if !entry.as_encoded_bytes().ends_with(b".incomplete") {
                continue;
            }
            let file_path = blobs.join(entry);
            if let Ok(metadata) = fs::metadata(&file_path) {
                found.push(IncompleteFile {
                    file_path,
                    size_on_disk: metadata.len(),
                });
            }
        }
    }
    found.sort_by(|a, b| a.file_path.cmp(&b.file_path));
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// The shared blob store (2.x `utils/_shared_blobs.py`), read side only.

// ---------------------------------------------------------------------------------------------
// Python path semantics the scan relies on.

fn is_missing(error: &io::Error) -> bool {
    // Python's `exists()`/`is_dir()` answer False for ENOENT, ENOTDIR, EBADF and ELOOP.
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) || error.raw_os_error() == ELOOP
}

#[cfg(target_os = "linux")]
const ELOOP: Option<i32> = Some(40);
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const ELOOP: Option<i32> = Some(62);
#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
const ELOOP: Option<i32> = None;

fn is_dir(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn file_name_lossy(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What the fast path learnt about one snapshot entry.
enum Fast {
    /// A real folder, or a link to one: not a file (as `is_dir()` says).
    Folder,
    /// The entry's blob path, and the blob's stat when the fast path took it.
    Blob(PathBuf, Option<BlobStat>),
    /// Anything unusual: the caller looks at the entry the long way.
    Slow,
}

/// The fast path of a repo's snapshot entries: one `readlink` per pointer (done by the walk, relative
/// to the pointer's folder) and one `lstat` per distinct blob (relative to the blob's folder), the
/// entry's type taken from its directory entry, and no other look at the file.
///
/// It holds when it provably reaches what the long way (`is_dir()`, one hop or full resolution,
/// `stat()`) would: the pointer's folder is its own real path (so the target's leading `..` go up
/// exactly as the kernel goes), the target has no `..` after its first other component, and its
/// last component is not a link; for 0.2x (which reports the fully resolved path) the blob's folder
/// is its own real path as well. Anything else goes the long way.
///
/// A pointer's folder is known real without asking the kernel: the walked snapshot folder is checked
/// once (`realpath`), and every folder below it was entered as a directory entry typed "directory"
/// (never a link), whose real path is its parent's real path joined with its name.
struct Probe {
    /// Folder -> whether it is its own real path.
    real: HashMap<PathBuf, bool>,
    last_real: Last<bool>,
    /// Blob path -> what its `lstat` found when it was not a file (`None`: it failed); files are
    /// remembered by the caller's `blob_stats`.
    targets: HashMap<CleanKey, Option<Lstat>>,
    folders: BlobFolders,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            real: HashMap::new(),
            last_real: Last::new(),
            targets: HashMap::new(),
            folders: BlobFolders::default(),
        }
    }
}

impl Probe {
    /// `root_real`: the walked snapshot folder is its own real path (so is every folder below it the
    /// walk entered). `known`: the stats taken so far, each with whether this `lstat` took it.
    fn fast(
        &mut self,
        found: &Found,
        root_real: bool,
        flavour: Flavour,
        known: &HashMap<CleanKey, (BlobStat, bool)>,
    ) -> Fast {
        let Some(kind) = found.kind else {
            return Fast::Slow;
        };
        if kind == Kind::Dir {
            return Fast::Folder;
        }
        let file_path = found.path.as_path();
        let Some((parent, _)) = split_clean(file_path) else {
            return Fast::Slow;
        };
        if !root_real {
            return Fast::Slow;
        }
        match kind {
            // Not a link: both flavours report the entry itself (its folder being real).
            Kind::File => return Fast::Blob(file_path.to_path_buf(), None),
            Kind::Link => {}
            Kind::Dir | Kind::Other => return Fast::Slow,
        }
        let Some(target) = &found.target else {
            return Fast::Slow;
        };
        if !plain_target(target) {
            return Fast::Slow;
        }
        let blob_path = lexical_join(parent, target);
        if flavour == Flavour::V0x {
            let real = &mut self.real;
            let blob_folder_real = split_clean(&blob_path).is_some_and(|(dir, _)| {
                self.last_real.get_or(dir, |dir| {
                    *real
                        .entry(dir.to_path_buf())
                        .or_insert_with_key(|dir| is_real(dir))
                })
            });
            if !blob_folder_real {
                return Fast::Slow;
            }
        }
        let key = CleanKey::bytes(&blob_path);
        if let Some((stat, true)) = known.get(key) {
            return Fast::Blob(blob_path, Some(*stat));
        }
        let found = match self.targets.get(key) {
            Some(found) => *found,
            None => {
                let found = self.folders.lstat(&blob_path).ok();
                if !matches!(found, Some(Lstat::File(_))) {
                    self.targets.insert(CleanKey::new(&blob_path), found);
                }
                found
            }
        };
        match found {
            Some(Lstat::File(stat)) => Fast::Blob(blob_path, Some(stat)),
            Some(Lstat::Folder) => Fast::Folder,
            Some(Lstat::Link) | None => Fast::Slow,
        }
    }

    fn is_real(&mut self, folder: &Path) -> bool {
        *self
            .real
            .entry(folder.to_path_buf())
            .or_insert_with_key(|folder| is_real(folder))
    }
}

/// Whether `folder` is its own real path.
fn is_real(folder: &Path) -> bool {
    fs::canonicalize(folder).is_ok_and(|real| real == folder)
}

/// `abspath(parent / target)` for an absolute, clean `parent` and a [`plain_target`]: clean too.
fn lexical_join(parent: &Path, target: &Path) -> PathBuf {
    if target.is_absolute() {
        return absolute_normalized(target);
    }
    let mut base = parent;
    let mut names = target.components();
    while names.clone().next() == Some(Component::ParentDir) {
        names.next();
        // `..` at the root stays at the root.
        base = split_clean(base).map_or(base, |(parent, _)| parent);
    }
    let mut joined = PathBuf::with_capacity(base.as_os_str().len() + target.as_os_str().len() + 1);
    joined.push(base);
    for name in names {
        joined.push(name);
    }
    joined
}

/// A link target whose lexical normalisation is exact: leading `..` only (or absolute with none),
/// then at least one name.
fn plain_target(target: &Path) -> bool {
    let mut names = 0;
    for component in target.components() {
        match component {
            Component::ParentDir if names == 0 => {}
            Component::Normal(_) => names += 1,
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return false,
        }
    }
    names > 0
}

/// `ref_path.relative_to(refs_path).as_posix()`.
fn relative_posix(path: &Path, base: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `open(path).read()` of a ref: UTF-8 (lossy here) with universal newlines (`\r\n` and `\r` become
/// `\n`), only from a regular file (not a link) within the size cap.
fn read_ref(path: &Path) -> Result<String, ReadError> {
    let bytes = read_capped(path, SMALL_FILE_CAP, Links::Refuse)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Where a snapshot entry really leads when that is outside the cache, `None` when it stays inside
/// (or cannot be resolved: then the usual missing-blob rules apply). Cheap for a normal cache: the
/// blob path is first checked lexically (2.x) and only a blob that is itself a link is resolved.
fn outside(
    cache_dir: &Path,
    repo_path: &Path,
    file_path: &Path,
    blob_path: &Path,
    flavour: Flavour,
) -> Option<PathBuf> {
    let inside = |path: &Path| path.starts_with(cache_dir) || path.starts_with(repo_path);
    let is_link =
        |path: &Path| fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match flavour {
        Flavour::V2x if inside(blob_path) && !(blob_path != file_path && is_link(blob_path)) => {
            return None;
        }
        Flavour::V0x if inside(blob_path) => return None,
        _ => {}
    }
    // Resolve fully, and allow a repo folder that is itself a link (its own target is inside).
    let real = fs::canonicalize(blob_path).ok()?;
    let real_repo = fs::canonicalize(repo_path).ok()?;
    let real_cache = fs::canonicalize(cache_dir).ok()?;
    (!real.starts_with(&real_cache) && !real.starts_with(&real_repo)).then_some(real)
}

/// `Path.expanduser()` for the forms that matter: `~` and `~/...` with `$HOME`.
fn expand_user(path: &Path) -> PathBuf {
    let mut components = path.components();
    if components.next() == Some(Component::Normal(OsStr::new("~")))
        && let Some(home) = crate::env::process_home()
    {
        return PathBuf::from(home).join(components.as_path());
    }
    path.to_path_buf()
}

/// [`python_resolve`] for many files of few folders: each folder is resolved once, then only a
/// file's own name (and its link, if it is one) is looked at. `realpath(dir/name)` equals
/// `realpath(realpath(dir)/name)` whenever `dir` resolves without a loop; otherwise the whole path is
/// resolved as `python_resolve` does.
#[derive(Default)]
struct Resolver {
    /// Folder → its resolved path, `None` when its resolution hit a loop.
    folders: HashMap<PathBuf, Option<PathBuf>>,
}

impl Resolver {
    fn resolve(&mut self, path: &Path) -> PathBuf {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return python_resolve(path);
        };
        if !path.is_absolute() {
            return python_resolve(path);
        }
        let folder = self
            .folders
            .entry(parent.to_path_buf())
            .or_insert_with(|| {
                let mut seen = HashMap::new();
                let (resolved, ok) = join_real(PathBuf::from("/"), parent, &mut seen);
                ok.then(|| absolute_normalized(&resolved))
            })
            .clone();
        match folder {
            Some(folder) => {
                let mut seen = HashMap::new();
                let (resolved, _) = join_real(folder, Path::new(name), &mut seen);
                absolute_normalized(&resolved)
            }
            None => python_resolve(path),
        }
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text has a `'` and no `"`; backslash,
/// the quote, `\t`, `\n`, `\r` escaped; other non-printable characters as `\xNN`, `\uNNNN`,
/// `\UNNNNNNNN` (see `python_printable` for the one known gap: unassigned code points).
pub fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !python_printable(c) => {
                let code = u32::from(c);
                if code < 0x100 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` per character for assigned code points: false for categories Cc, Cf, Cs, Co,
/// Zl, Zp and Zs other than the ASCII space (Unicode 14.0, as in Python 3.11). Unassigned code points,
/// which Python also escapes, are treated as printable.
fn python_printable(c: char) -> bool {
    const NOT_PRINTABLE: [(u32, u32); 28] = [
        (0x0, 0x1f),
        (0x7f, 0xa0),
        (0xad, 0xad),
        (0x600, 0x605),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x2064),
        (0x2066, 0x206f),
        (0x3000, 0x3000),
        (0xd800, 0xf8ff),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x13438),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0xffffd),
        (0x100000, 0x10fffd),
    ];
    let code = u32::from(c);
    !NOT_PRINTABLE
        .iter()
        .any(|&(low, high)| (low..=high).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_like_python() {
        assert_eq!(python_str_repr("main"), "'main'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(python_str_repr("abc\n"), "'abc\\n'");
        assert_eq!(python_str_repr("\u{7f}\u{e9}"), "'\\x7f\u{e9}'");
    }

    #[test]
    fn lexical_normalisation() {
        assert_eq!(
            absolute_normalized(Path::new("/c/m/snapshots/abc/sub/../../../blobs/e")),
            Path::new("/c/m/blobs/e")
        );
        assert_eq!(
            absolute_normalized(Path::new("/../a/./b")),
            Path::new("/a/b")
        );
    }
}
