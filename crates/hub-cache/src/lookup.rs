//! Reading files back from the cache without the network.
//!
//! ```text
//! <cache>/<repo_folder>/
//! ├── refs/<revision>              revision -> commit (raw content, a trailing newline breaks the lookup)
//! ├── .no_exist/<commit>/<path>    answers "the file does not exist at that commit"
//! ├── snapshots/<commit>/<path>    the cached file
//! └── trees/<commit>.json          the listing a whole snapshot is checked against
//! ```
//!
//! Three entry points, each the counterpart of one upstream function:
//!
//! * [`Cache::try_to_load_from_cache`] is `file_download.py::try_to_load_from_cache`, step for step. Like
//!   2.x it uses the cache root **as given** (no resolution), so returned paths start with [`Cache::root`].
//! * [`Cache::cached_file`] is the offline branch of `hf_hub_download` (cache mode) and
//!   [`Cache::cached_snapshot`] the one of `snapshot_download`. Like 2.x (`Path(cache_dir).expanduser()
//!   .resolve()`) they resolve the cache root first, so returned paths are absolute with the root's symlinks
//!   resolved (entries inside are not resolved). `~` is the caller's business (see [`crate::env::Env::expand`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::layout::{self, Cache, InvalidRepoPath, RepoDir};
use crate::refs::read_ref_file;
use crate::repo::{self, Repo};
use crate::tree;

pub use crate::fs::resolve_path;
pub use crate::repo_path::{InvalidFilename, validate_filename};

/// What the cache knows about one file (upstream returns a path, `_CACHED_NO_EXIST` or `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedFile {
    /// The file is cached at this path (`snapshots/<commit>/<path>`).
    Found(PathBuf),
    /// The cache recorded that the file does not exist at that revision (`.no_exist/`).
    CachedNoExist,
    /// The cache knows nothing about it.
    Unknown,
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The file name would leave its folder ([`validate_filename`]).
    #[error(transparent)]
    InvalidFilename(#[from] InvalidFilename),
    /// A cache folder could not be listed, or a ref or file could not be read or opened.
    #[error("cannot read `{path}`")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The operating system's error (or the bounded read's, for a ref).
        #[source]
        source: io::Error,
    },
}

/// Why an offline resolution found nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The file name would leave its folder ([`validate_filename`]).
    #[error(transparent)]
    InvalidFilename(#[from] InvalidFilename),
    /// The file name cannot name a snapshot entry ([`layout::check_repo_path`]).
    #[error(transparent)]
    InvalidRepoPath(#[from] InvalidRepoPath),
    /// No cached commit for the revision, or no snapshot entry for the file at that commit.
    #[error("`{filename}` of {repo} at revision `{revision}` is not in the disk cache")]
    FileNotCached {
        /// The repository looked in.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for.
        filename: String,
    },
    /// No cached commit for the revision, or no snapshot folder for that commit.
    #[error("no cached snapshot of {repo} for revision `{revision}` on the local disk")]
    SnapshotNotCached {
        /// The repository looked in.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
    },
    /// The snapshot folder lacks files its cached listing names.
    #[error(transparent)]
    IncompleteSnapshot(Box<IncompleteSnapshot>),
    /// The cache root could not be resolved, or a ref could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// What was being resolved or read.
        path: PathBuf,
        /// The operating system's error (or the bounded read's, for a ref).
        #[source]
        source: io::Error,
    },
}

impl OfflineError {
    /// True for the errors upstream raises as `LocalEntryNotFoundError` (nothing usable in the cache).
    pub fn is_not_cached(&self) -> bool {
        matches!(
            self,
            OfflineError::FileNotCached { .. }
                | OfflineError::SnapshotNotCached { .. }
                | OfflineError::IncompleteSnapshot(_)
        )
    }
}

/// Upstream's `IncompleteSnapshotError` (a `LocalEntryNotFoundError`): the cached listing names files the
/// snapshot folder lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the cached snapshot for '{repo_id}' (revision '{revision}', commit {commit}) is incomplete: {count} file(s) are missing ({sample})",
    repo_id = repo.id,
    count = missing.len(),
    sample = missing_sample(missing)
)]
pub struct IncompleteSnapshot {
    /// The repository looked in.
    pub repo: Repo,
    /// The revision as the caller gave it.
    pub revision: String,
    /// The commit the revision resolved to (40 hex digits, or the raw ref content).
    pub commit: String,
    /// Every expected file missing from the snapshot, in listing order.
    pub missing: Vec<String>,
    /// The incomplete snapshot folder, still usable for what it holds.
    pub snapshot: PathBuf,
}

/// Upstream's sample of missing files: the first three, then `, ... (N more)`.
pub fn missing_sample(missing: &[String]) -> String {
    let mut sample = missing
        .iter()
        .take(3)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if missing.len() > 3 {
        sample.push_str(&format!(", ... ({} more)", missing.len() - 3));
    }
    sample
}

/// A snapshot folder found offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSnapshot {
    /// `snapshots/<commit>` under the resolved cache root.
    pub path: PathBuf,
    /// The commit the revision resolved to (the revision itself when it is a full commit hash, else
    /// the content of `refs/<revision>`).
    pub commit: String,
    /// Whether a cached tree listing confirmed that every expected file is present; `false` when no listing
    /// was cached and the folder is returned unchecked (as upstream).
    pub verified: bool,
}

fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn is_dir(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// A revision (or ref content) we can join under a folder without escaping it.
fn joinable(revision: &str) -> bool {
    repo::check_revision(revision).is_ok()
}

impl Cache {
    /// `try_to_load_from_cache(repo_id, filename, cache_dir, revision, repo_type)` of 2.4 (spec 4.10):
    ///
    /// 1. `revision` defaults to `main`; the filename is checked with [`validate_filename`];
    /// 2. no repo folder → [`CachedFile::Unknown`];
    /// 3. `refs/<revision>` is a file → the revision becomes its raw content;
    /// 4. `.no_exist/<revision>/<filename>` is a file → [`CachedFile::CachedNoExist`];
    /// 5. no `snapshots/`, or `<revision>` not an entry of it → [`CachedFile::Unknown`] (never another
    ///    revision);
    /// 6. `snapshots/<revision>/<filename>` is a file (following links) that resolves inside the cache →
    ///    [`CachedFile::Found`] (one that leads outside is named in a warning and is `Unknown`).
    ///
    /// Upstream joins any revision string; a revision (or ref content) that could leave its folder
    /// (`..`, absolute, `\`) is not joined here, which can only turn a sentinel into `Unknown`.
    pub fn try_to_load_from_cache(
        &self,
        repo: &Repo,
        filename: &str,
        revision: Option<&str>,
    ) -> Result<CachedFile, LookupError> {
        let mut revision = revision.unwrap_or(repo::DEFAULT_REVISION).to_owned();
        validate_filename(filename)?;
        let dir = self.repo(repo);
        if !is_dir(dir.path()) {
            return Ok(CachedFile::Unknown);
        }
        if is_dir(&dir.refs_dir()) && joinable(&revision) {
            let ref_file = dir.ref_path(&revision);
            if let Some(content) = read_raw(&ref_file)? {
                revision = content;
            }
        }
        if joinable(&revision) && is_file(&dir.no_exist_dir().join(&revision).join(filename)) {
            return Ok(CachedFile::CachedNoExist);
        }
        let snapshots = dir.snapshots_dir();
        if !snapshots.exists() {
            return Ok(CachedFile::Unknown);
        }
        let entries = fs::read_dir(&snapshots).map_err(|source| LookupError::Io {
            path: snapshots.clone(),
            source,
        })?;
        let mut listed = false;
        for entry in entries {
            let entry = entry.map_err(|source| LookupError::Io {
                path: snapshots.clone(),
                source,
            })?;
            if entry.file_name() == revision.as_str() {
                listed = true;
                break;
            }
        }
        if !listed {
            return Ok(CachedFile::Unknown);
        }
        let cached = snapshots.join(&revision).join(filename);
        Ok(if is_file(&cached) && self.is_inside(&cached) {
            CachedFile::Found(cached)
        } else {
            CachedFile::Unknown
        })
    }

    /// Whether an existing `path` resolves inside this cache ([`layout::resolve_inside`]); one that
    /// leads outside is named in a warning and is not a cache file. A missing path is `false`.
    pub fn is_inside(&self, path: &Path) -> bool {
        match layout::resolve_inside(self.root(), path) {
            Ok(Some(_)) => true,
            Ok(None) => {
                tracing::warn!(
                    "not using `{}`: it resolves outside the cache",
                    crate::display::Escaped(&path.to_string_lossy())
                );
                false
            }
            Err(_) => false,
        }
    }

    /// The cached file `filename` at `revision`, opened for reading, when it is a regular file that
    /// resolves inside this cache ([`layout::resolve_inside`]); a pointer that leads outside the cache
    /// is named in a warning and never opened. `Ok(None)` when not cached.
    pub fn open_cached_file(
        &self,
        repo: &Repo,
        filename: &str,
        revision: Option<&str>,
    ) -> Result<Option<fs::File>, LookupError> {
        let CachedFile::Found(pointer) = self.try_to_load_from_cache(repo, filename, revision)?
        else {
            return Ok(None);
        };
        let io = |source| LookupError::Io {
            path: pointer.clone(),
            source,
        };
        let Some(real) = layout::resolve_inside(self.root(), &pointer).map_err(io)? else {
            return Ok(None);
        };
        match crate::fs::Dir::open(real.parent().unwrap_or(Path::new("/"))) {
            Ok(dir) => match dir.open_read(real.file_name().unwrap_or_default()) {
                Ok(file) => Ok(Some(file)),
                Err(error) => Err(io(io::Error::other(error.to_string()))),
            },
            Err(error) => Err(io(error)),
        }
    }

    /// The commit a revision names offline: the revision itself when it is a full commit hash, else the raw
    /// content of `refs/<revision>` when that is a file, else `None`.
    pub fn commit_for_revision(
        &self,
        repo: &Repo,
        revision: &str,
    ) -> Result<Option<String>, LookupError> {
        commit_for_revision(&self.repo(repo), revision)
    }

    /// The offline branch of `hf_hub_download` (spec 4.11): `snapshots/<commit>/<filename>` under the
    /// resolved cache root if it exists (and resolves inside the cache), where the commit comes from
    /// [`Cache::commit_for_revision`].
    pub fn cached_file(
        &self,
        repo: &Repo,
        revision: Option<&str>,
        filename: &str,
    ) -> Result<PathBuf, OfflineError> {
        let revision = revision.unwrap_or(repo::DEFAULT_REVISION);
        validate_filename(filename)?;
        layout::check_repo_path(filename)?;
        let resolved =
            Cache::new(
                resolve_path(self.root()).map_err(|source| OfflineError::Io {
                    path: self.root().to_path_buf(),
                    source,
                })?,
            );
        let dir = resolved.repo(repo);
        let not_cached = || OfflineError::FileNotCached {
            repo: repo.clone(),
            revision: revision.to_owned(),
            filename: filename.to_owned(),
        };
        let commit = commit_for_revision(&dir, revision)
            .map_err(offline_io)?
            .filter(|c| joinable(c))
            .ok_or_else(not_cached)?;
        let pointer = dir.pointer_path(&commit, filename);
        if pointer.exists() && resolved.is_inside(&pointer) {
            Ok(pointer)
        } else {
            Err(not_cached())
        }
    }

    /// The offline branch of `snapshot_download` (spec 4.11): `snapshots/<commit>/` under the resolved
    /// cache root if it exists. When `trees/<commit>.json` is cached, every listed path the caller's
    /// `wanted` filter keeps (upstream: allow/ignore patterns) must be a file there, else
    /// [`OfflineError::IncompleteSnapshot`]; without a listing the folder is returned unchecked.
    pub fn cached_snapshot(
        &self,
        repo: &Repo,
        revision: Option<&str>,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<CachedSnapshot, OfflineError> {
        let revision = revision.unwrap_or(repo::DEFAULT_REVISION);
        let resolved =
            Cache::new(
                resolve_path(self.root()).map_err(|source| OfflineError::Io {
                    path: self.root().to_path_buf(),
                    source,
                })?,
            );
        let dir = resolved.repo(repo);
        let not_cached = || OfflineError::SnapshotNotCached {
            repo: repo.clone(),
            revision: revision.to_owned(),
        };
        let commit = commit_for_revision(&dir, revision)
            .map_err(offline_io)?
            .filter(|c| joinable(c))
            .ok_or_else(not_cached)?;
        let path = dir.snapshot_dir(&commit);
        if !path.exists() {
            return Err(not_cached());
        }
        // One `stat` per listed file the filter keeps (following links, as upstream), relative to
        // the snapshot folder so the kernel walks the repo path only (a leading `/` stays inside
        // it, as when joined). The stats run as the listing is parsed, so no entry is stored; what
        // they found counts only once the whole listing parsed and proved valid. (A `readlink`
        // per file, with `blobs/` listed once, was measured no faster on tmpfs: listing 2,000
        // entries costs about what the second path walks it saves.)
        // Opened at the first file to check (a listing that selects none needs no folder).
        let mut folder = None;
        let mut is_listed_file = |p: &str| match folder.get_or_insert_with(|| {
            rustix::fs::open(
                &path,
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
        }) {
            Ok(folder) => rustix::fs::statat(
                &*folder,
                p.trim_start_matches('/'),
                rustix::fs::AtFlags::empty(),
            )
            .is_ok_and(|stat| {
                rustix::fs::FileType::from_raw_mode(stat.st_mode)
                    == rustix::fs::FileType::RegularFile
            }),
            Err(_) => is_file(&p.split('/').fold(path.clone(), |acc, part| acc.join(part))),
        };
        // Sorted and without duplicates, as the keys of a parsed listing.
        let mut missing = std::collections::BTreeSet::new();
        let read = tree::read_selected(dir.path(), &commit, &mut |p: &str| {
            if wanted(p) && !is_listed_file(p) {
                missing.insert(p.to_owned());
            }
            false
        });
        if read.is_none() {
            return Ok(CachedSnapshot {
                path,
                commit,
                verified: false,
            });
        }
        let missing: Vec<String> = missing.into_iter().collect();
        if missing.is_empty() {
            Ok(CachedSnapshot {
                path,
                commit,
                verified: true,
            })
        } else {
            Err(OfflineError::IncompleteSnapshot(Box::new(
                IncompleteSnapshot {
                    repo: repo.clone(),
                    revision: revision.to_owned(),
                    commit,
                    missing,
                    snapshot: path,
                },
            )))
        }
    }
}

/// Whether the snapshot pointers of one repository are cached files inside the cache, the answer
/// [`Cache::is_inside`] gives for an existing pointer, at a cost that does not grow with the path:
/// the folders on the way are checked once (and remembered), then a pointer costs a `readlink`
/// and a no-follow `stat` of its blob.
///
/// A pointer is inside by construction when the repository folder resolves to its own name under
/// the resolved cache root, every folder from `snapshots/` down to the pointer is a real folder
/// (no link), and the pointer is a regular file, or the link upstream writes
/// ([`layout::pointer_target`]: `../` once per folder up to the repository folder, then
/// `blobs/<name>`) to a regular file in a real `blobs/` folder. Anything else (a link elsewhere, a
/// linked folder, a missing repository folder) is answered by [`Cache::is_inside`]: never a
/// different answer, only a slower one.
#[derive(Debug)]
pub struct PointerCheck {
    cache: Cache,
    dir: RepoDir,
    /// Set once the repository folder and its `blobs/` were found where their names say.
    base: std::sync::OnceLock<()>,
    /// Folders found to be real folders (not links), by commit then path under the snapshot folder.
    real_folders:
        std::sync::Mutex<std::collections::HashMap<String, std::collections::HashSet<String>>>,
}

impl PointerCheck {
    /// The check for `repo` in `cache` (whose root the caller resolved, as [`Cache::cached_file`]
    /// does); nothing is read until the first pointer.
    pub fn new(cache: &Cache, repo: &Repo) -> PointerCheck {
        PointerCheck {
            cache: cache.clone(),
            dir: cache.repo(repo),
            base: std::sync::OnceLock::new(),
            real_folders: std::sync::Mutex::default(),
        }
    }

    /// `snapshots/<commit>/<path>` when it exists (following links) and resolves inside the cache.
    pub fn cached(&self, commit: &crate::CommitHash, path: &crate::RepoPath) -> Option<PathBuf> {
        let pointer = self.dir.pointer_path(commit.as_str(), path.as_str());
        let inside = match fs::read_link(&pointer) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Ok(target) => {
                self.is_upstream_link(&target, path)
                    && self.real_folders(commit, path)
                    && self.base_in_place()
            }
            // EINVAL: not a link.
            Err(error) if error.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                fs::symlink_metadata(&pointer).is_ok_and(|meta| meta.is_file())
                    && self.real_folders(commit, path)
                    && self.base_in_place()
            }
            Err(_) => false,
        };
        (inside || self.cache.is_inside(&pointer)).then_some(pointer)
    }

    /// Whether `target` is the link upstream writes for `path` to a regular file of `blobs/`.
    fn is_upstream_link(&self, target: &Path, path: &crate::RepoPath) -> bool {
        let Some(target) = target.to_str() else {
            return false;
        };
        let mut rest = target;
        for _ in 0..2 + path.as_str().matches('/').count() {
            let Some(up) = rest.strip_prefix("../") else {
                return false;
            };
            rest = up;
        }
        let Some(blob) = rest.strip_prefix("blobs/") else {
            return false;
        };
        !blob.is_empty()
            && blob != "."
            && blob != ".."
            && !blob.contains('/')
            && fs::symlink_metadata(self.dir.blob_path(blob)).is_ok_and(|meta| meta.is_file())
    }

    /// Whether `snapshots/`, `snapshots/<commit>/` and every folder of `path` are real folders.
    /// A folder checked once is remembered (by commit, then path under the snapshot folder, `""`
    /// for the snapshot folder itself), so the files of one folder cost one lookup, no allocation.
    fn real_folders(&self, commit: &crate::CommitHash, path: &crate::RepoPath) -> bool {
        let path = path.as_str();
        let parent = path.rfind('/').map_or("", |slash| &path[..slash]);
        let mut known = self
            .real_folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if known
            .get(commit.as_str())
            .is_some_and(|folders| folders.contains(parent))
        {
            return true;
        }
        let is_real = |folder: &Path| fs::symlink_metadata(folder).is_ok_and(|meta| meta.is_dir());
        let snapshot = self.dir.snapshot_dir(commit.as_str());
        let folders = match known.get_mut(commit.as_str()) {
            Some(folders) => folders,
            None => {
                if !(is_real(&self.dir.snapshots_dir()) && is_real(&snapshot)) {
                    return false;
                }
                known
                    .entry(commit.as_str().to_owned())
                    .or_insert_with(|| std::collections::HashSet::from([String::new()]))
            }
        };
        let mut end = 0;
        while end < parent.len() {
            end = parent[end..]
                .find('/')
                .map_or(parent.len(), |slash| end + slash);
            let folder = &parent[..end];
            if !folders.contains(folder) {
                if !is_real(
                    &folder
                        .split('/')
                        .fold(snapshot.clone(), |acc, part| acc.join(part)),
                ) {
                    return false;
                }
                folders.insert(folder.to_owned());
            }
            end += 1;
        }
        true
    }

    /// Whether the repository folder is where its name says under the resolved root, and its
    /// `blobs/` a real folder (checked until true once).
    fn base_in_place(&self) -> bool {
        if self.base.get().is_some() {
            return true;
        }
        let in_place = fs::canonicalize(self.cache.root()).is_ok_and(|root| {
            let folder = self.dir.path().file_name().map(|name| root.join(name));
            fs::canonicalize(self.dir.path()).ok() == folder
        }) && fs::symlink_metadata(self.dir.blobs_dir())
            .is_ok_and(|meta| meta.is_dir());
        if in_place {
            let _ = self.base.set(());
        }
        in_place
    }
}

fn offline_io(error: LookupError) -> OfflineError {
    match error {
        LookupError::InvalidFilename(e) => OfflineError::InvalidFilename(e),
        LookupError::Io { path, source } => OfflineError::Io { path, source },
    }
}

fn commit_for_revision(dir: &RepoDir, revision: &str) -> Result<Option<String>, LookupError> {
    if repo::is_commit_hash(revision) {
        return Ok(Some(revision.to_owned()));
    }
    if !joinable(revision) {
        return Ok(None);
    }
    read_raw(&dir.ref_path(revision))
}

/// A ref's content when it is a regular file within the size cap ([`read_ref_file`]).
fn read_raw(path: &Path) -> Result<Option<String>, LookupError> {
    read_ref_file(path).map_err(|error| LookupError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(error.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_follow_upstream() {
        for ok in [
            "a",
            "a/b",
            "a//b",
            "./a",
            "a/",
            "",
            "a..b",
            "a\\b",
            "é/ü.txt",
            "ab:c/d",
            "1:x",
        ] {
            assert!(validate_filename(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "..", "../a", "a/..", "a\\..\\b", "/a", "\\a", "C:x", "a/C:x", "\\\\h\\s", "a/\\b",
            "a:b/c",
        ] {
            assert!(validate_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sample_lists_three() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        assert_eq!(missing_sample(&names[..2]), "a, b");
        assert_eq!(missing_sample(&names), "a, b, c, ... (2 more)");
    }

    /// The pointer check answers as [`Cache::is_inside`] on honest and hostile layouts: links to
    /// outside, linked blobs, linked folders on the way (inside and outside), a linked `blobs/` or
    /// repository folder, plain-file pointers, dangling and missing pointers.
    #[test]
    fn the_pointer_check_answers_as_is_inside() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir_all(outside.join("blobs")).unwrap();
        fs::create_dir_all(outside.join("a/b/c")).unwrap();
        fs::write(outside.join("secret"), "secret").unwrap();
        fs::write(outside.join("blobs/e"), "outside blob").unwrap();
        symlink("../../../blobs/e", outside.join("a/b/c/f")).unwrap();
        // Shaped as upstream's link for `out2/y/f`, it leads to `outside/blobs/e` from there.
        fs::create_dir_all(outside.join("p/q/x/y")).unwrap();
        symlink("../../../../blobs/e", outside.join("p/q/x/y/f")).unwrap();
        let commit = crate::CommitHash::new(&"c".repeat(40)).unwrap();
        let path = |p: &str| crate::RepoPath::parse(p).unwrap();
        let layouts = [
            ("honest", "d/f", true),
            ("honest at the root", "top", true),
            ("a plain file", "plain", true),
            ("missing", "d/none", false),
            ("dangling", "dangling", false),
            ("absolute link outside", "leak", false),
            ("linked blob", "linked-blob", false),
            ("a link with too few ../", "d/short", true),
            ("folder linked outside", "out/c/f", false),
            ("folder linked outside, upstream's link", "out2/y/f", false),
            ("folder linked inside", "in/f", true),
        ];
        let build = |root: &Path| -> RepoDir {
            let cache = Cache::new(root);
            let dir = cache.repo(&Repo::model("org/m").unwrap());
            let snap = dir.snapshot_dir(commit.as_str());
            fs::create_dir_all(snap.join("d")).unwrap();
            fs::create_dir_all(dir.blobs_dir()).unwrap();
            fs::write(dir.blob_path("e"), "blob").unwrap();
            symlink("../../../blobs/e", snap.join("d/f")).unwrap();
            symlink("../../blobs/e", snap.join("top")).unwrap();
            fs::write(snap.join("plain"), "plain").unwrap();
            symlink("../../blobs/gone", snap.join("dangling")).unwrap();
            symlink(outside.join("secret"), snap.join("leak")).unwrap();
            symlink(outside.join("secret"), dir.blob_path("linked")).unwrap();
            symlink("../../blobs/linked", snap.join("linked-blob")).unwrap();
            symlink("../top", snap.join("d/short")).unwrap();
            symlink(outside.join("a/b"), snap.join("out")).unwrap();
            symlink(outside.join("p/q/x"), snap.join("out2")).unwrap();
            symlink("d", snap.join("in")).unwrap();
            dir
        };
        let check = |root: &Path, dir: &RepoDir, extra: &str| {
            let cache = Cache::new(root);
            let pointers = PointerCheck::new(&cache, &Repo::model("org/m").unwrap());
            for (name, file, expected) in &layouts {
                let pointer = dir.pointer_path(commit.as_str(), file);
                let reference = cache.is_inside(&pointer);
                let answer = pointers.cached(&commit, &path(file));
                assert_eq!(answer.is_some(), reference, "{extra}{name}");
                if extra.is_empty() {
                    assert_eq!(reference, *expected, "{name}");
                }
                // Asked twice: what was remembered does not change the answer.
                assert_eq!(pointers.cached(&commit, &path(file)).is_some(), reference);
            }
        };
        let root = tmp.path().join("cache");
        let dir = build(&root);
        check(&root, &dir, "");
        // `blobs/` linked outside: no pointer through it is inside.
        let root = tmp.path().join("cache-linked-blobs");
        let dir = build(&root);
        fs::rename(dir.blobs_dir(), tmp.path().join("moved-blobs")).unwrap();
        symlink(outside.join("blobs"), dir.blobs_dir()).unwrap();
        check(&root, &dir, "linked blobs: ");
        // The repository folder linked outside.
        let root = tmp.path().join("cache-linked-repo");
        let real = build(&tmp.path().join("elsewhere"));
        fs::create_dir_all(&root).unwrap();
        let dir = Cache::new(&root).repo(&Repo::model("org/m").unwrap());
        symlink(real.path(), dir.path()).unwrap();
        check(&root, &dir, "linked repo: ");
    }

    #[test]
    fn resolve_handles_missing_tails() {
        let tmp = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(
            resolve_path(&tmp.path().join("x/./y/../z")).unwrap(),
            real.join("x/z")
        );
    }
}
