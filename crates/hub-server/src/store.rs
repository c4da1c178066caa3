//! What the server knows about a cache directory: read-only look-ups that never leave it.
//!
//! ```text
//! <cache>/<repo_folder>/
//! ├── refs/<revision>            branch, tag or refs/pr/N  ->  40-hex commit
//! ├── snapshots/<commit>/<path>  symlink to ../../blobs/<etag>: the tree of that commit
//! └── blobs/<etag>               40-hex = regular git file (sha1), 64-hex = LFS file (sha256)
//! ```
//!
//! Every path handed out is canonical and checked to lie inside the repository folder: a snapshot
//! entry must resolve into its repository's `blobs/` (or be a plain file inside its own snapshot), a
//! ref file must lie inside `refs/`, a listed folder must be a real folder of the snapshot (a symlink
//! to a folder is neither listed nor followed). Anything else is reported as not found.
//!
//! A commit's snapshot is walked once into a [`Snapshot`] index that repo info, tree pages and
//! resolve share; it is rebuilt only when a folder of the snapshot changes (files added to the cache
//! while serving), and the least recently used indexes are dropped past a bound.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hub_cache::layout::{OS_HELPER_FILES, check_repo_path};
use hub_cache::repo::{check_revision, is_commit_hash};
use hub_cache::{Cache, Repo, RepoDir};
use sha1::{Digest as _, Sha1};

/// Why a look-up failed; each maps to one Hub error response.
#[derive(Debug)]
pub(crate) enum Lookup {
    RepoNotFound,
    RevisionNotFound,
    /// The commit is known, the path is not in it.
    EntryNotFound {
        commit: String,
    },
    BadRequest(String),
    /// The client went away before the work was done.
    Cancelled,
    Io(io::Error),
}

impl From<io::Error> for Lookup {
    fn from(error: io::Error) -> Lookup {
        Lookup::Io(error)
    }
}

/// How a file's content is stored on the Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlobKind {
    /// A regular git file; `sha1` is its git blob id (the Hub's ETag).
    Regular { sha1: String },
    /// An LFS file: `sha256` of the content, and the git id and size of its pointer file.
    Lfs {
        sha256: String,
        pointer_oid: String,
        pointer_size: u64,
    },
}

impl BlobKind {
    /// The git object id the tree endpoint reports as `oid`.
    pub(crate) fn git_oid(&self) -> &str {
        match self {
            BlobKind::Regular { sha1 } => sha1,
            BlobKind::Lfs { pointer_oid, .. } => pointer_oid,
        }
    }
}

/// One file of a snapshot, resolved to its blob.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub path: String,
    pub blob_path: PathBuf,
    pub size: u64,
    pub kind: BlobKind,
}

/// One item of a tree listing.
#[derive(Debug, Clone)]
pub(crate) enum TreeItem {
    File(FileEntry),
    Directory { path: String, oid: String },
}

/// A plain file's identity for the hash cache: canonical path, size, modification time.
type FileStamp = (PathBuf, u64, Option<SystemTime>);

/// At most this many plain-file hashes are remembered (then the memo starts over).
const MAX_HASHES: usize = 100_000;
/// Indexes kept: at most this many snapshots, and at most this many entries in all.
const MAX_SNAPSHOTS: usize = 256;
const MAX_INDEXED_ENTRIES: usize = 1_000_000;
/// How often an index checks that no folder of its snapshot changed.
const RECHECK: Duration = Duration::from_secs(2);

/// The cache directory being served.
#[derive(Debug)]
pub(crate) struct Store {
    cache: Cache,
    /// git blob ids of plain (non-symlink) snapshot files, keyed by path, size and mtime.
    hashes: Mutex<HashMap<FileStamp, String>>,
    /// Snapshot indexes by canonical snapshot folder, each built once and shared.
    indexes: Mutex<HashMap<PathBuf, Arc<Slot>>>,
    clock: AtomicU64,
}

#[derive(Debug, Default)]
struct Slot {
    built: Mutex<Option<Arc<Snapshot>>>,
    last_used: AtomicU64,
    entries: AtomicUsize,
}

/// Everything the API says about one commit's snapshot, built by one walk of its folder.
///
/// `items` is the recursive listing in the order the tree endpoint answers (sorted by name, each
/// folder followed by its content), so a folder's content is the contiguous range after it.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub commit: String,
    pub time: Option<SystemTime>,
    items: Vec<TreeItem>,
    /// Repo path of a file -> its index in `items`.
    files: HashMap<String, usize>,
    /// Repo path of a folder (`""` for the root) -> the range of its content in `items`.
    folders: HashMap<String, (usize, usize)>,
    /// Every folder walked and its modification time: a changed one means a stale index.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    checked: Mutex<Instant>,
}

impl Snapshot {
    /// The file at `path`.
    pub(crate) fn file(&self, path: &str) -> Result<&FileEntry, Lookup> {
        check_repo_path(path).map_err(|e| Lookup::BadRequest(e.to_string()))?;
        if path.contains('\\') {
            return Err(Lookup::BadRequest(format!(
                "invalid file path `{path}`: backslash"
            )));
        }
        match self.files.get(path).and_then(|at| self.items.get(*at)) {
            Some(TreeItem::File(file)) => Ok(file),
            _ => Err(Lookup::EntryNotFound {
                commit: self.commit.clone(),
            }),
        }
    }

    /// Every file, sorted by path. O(entries).
    pub(crate) fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.items.iter().filter_map(|item| match item {
            TreeItem::File(file) => Some(file),
            TreeItem::Directory { .. } => None,
        })
    }

    /// The listing under `folder` (`""` = root), recursive or one level; `None` when `folder` is not
    /// a folder of the snapshot. O(entries below `folder`).
    pub(crate) fn tree(
        &self,
        folder: &str,
        recursive: bool,
    ) -> Result<Option<Vec<&TreeItem>>, Lookup> {
        if !folder.is_empty() {
            check_repo_path(folder).map_err(|e| Lookup::BadRequest(e.to_string()))?;
        }
        let Some(&(start, end)) = self.folders.get(folder) else {
            return Ok(None);
        };
        let items = self.items.get(start..end).unwrap_or_default();
        let depth = |item: &TreeItem| item.path().matches('/').count();
        let top = if folder.is_empty() {
            0
        } else {
            folder.matches('/').count() + 1
        };
        Ok(Some(
            items
                .iter()
                .filter(|item| recursive || depth(item) == top)
                .collect(),
        ))
    }

    /// Whether no folder of the snapshot changed since the walk (checked at most every [`RECHECK`]).
    fn fresh(&self) -> bool {
        let mut checked = self.checked.lock().expect("index check lock");
        if checked.elapsed() < RECHECK {
            return true;
        }
        let fresh = self.stamps.iter().all(|(path, time)| {
            fs::symlink_metadata(path)
                .ok()
                .filter(fs::Metadata::is_dir)
                .map(|meta| meta.modified().ok())
                == Some(*time)
        });
        *checked = Instant::now();
        fresh
    }
}

impl Snapshot {
    /// The index of `items`, listed in the order the tree endpoint answers (each folder followed
    /// by its content, siblings sorted by name); `stamps` are the folders whose change makes it
    /// stale (none: never stale).
    pub(crate) fn from_items(
        commit: &str,
        time: Option<SystemTime>,
        items: Vec<TreeItem>,
        stamps: Vec<(PathBuf, Option<SystemTime>)>,
    ) -> Snapshot {
        let mut files = HashMap::new();
        let mut folders = HashMap::new();
        folders.insert(String::new(), (0, items.len()));
        // A folder's content ends where the first item outside it starts.
        let mut open: Vec<(String, usize)> = Vec::new();
        for (at, item) in items.iter().enumerate() {
            let path = item.path();
            while let Some((folder, start)) = open.last() {
                if path.starts_with(folder.as_str())
                    && path.as_bytes().get(folder.len()) == Some(&b'/')
                {
                    break;
                }
                folders.insert(folder.clone(), (*start, at));
                open.pop();
            }
            match item {
                TreeItem::File(_) => {
                    files.insert(path.to_owned(), at);
                }
                TreeItem::Directory { .. } => open.push((path.to_owned(), at + 1)),
            }
        }
        for (folder, start) in open {
            folders.insert(folder, (start, items.len()));
        }
        Snapshot {
            commit: commit.to_owned(),
            time,
            items,
            files,
            folders,
            stamps,
            checked: Mutex::new(Instant::now()),
        }
    }

    /// How many files and folders it lists.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

impl TreeItem {
    pub(crate) fn path(&self) -> &str {
        match self {
            TreeItem::File(file) => &file.path,
            TreeItem::Directory { path, .. } => path,
        }
    }
}

/// What one walk of a snapshot knows: canonical folders of the repository, and the caller's
/// cancellation flag.
struct Walk<'a> {
    commit: &'a str,
    /// The canonical `blobs/` of the repository, when it is a real folder inside it.
    blobs: Option<PathBuf>,
    cancel: &'a AtomicBool,
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    visited: usize,
}

impl Store {
    /// `root` must already be canonical.
    pub(crate) fn new(root: PathBuf) -> Store {
        Store {
            cache: Cache::new(root),
            hashes: Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
        }
    }

    /// The repository folder, if it exists as a real directory inside the cache.
    pub(crate) fn repo_dir(&self, repo: &Repo) -> Result<RepoDir, Lookup> {
        let dir = self.cache.repo(repo);
        match fs::symlink_metadata(dir.path()) {
            Ok(meta) if meta.is_dir() => Ok(RepoDir::at(dir.path().to_path_buf())),
            _ => Err(Lookup::RepoNotFound),
        }
    }

    /// A branch, tag, `refs/pr/N` or full commit, to the commit whose snapshot exists.
    pub(crate) fn resolve_revision(&self, dir: &RepoDir, revision: &str) -> Result<String, Lookup> {
        let commit = if is_commit_hash(revision) {
            revision.to_owned()
        } else {
            check_revision(revision).map_err(|e| Lookup::BadRequest(e.to_string()))?;
            let ref_path = dir.ref_path(revision);
            let refs_dir = canonical(&dir.refs_dir()).ok_or(Lookup::RevisionNotFound)?;
            let real = canonical(&ref_path).ok_or(Lookup::RevisionNotFound)?;
            if !real.starts_with(&refs_dir) || !real.is_file() {
                return Err(Lookup::RevisionNotFound);
            }
            let text = fs::read_to_string(&real).map_err(|_| Lookup::RevisionNotFound)?;
            let commit = text.trim().to_owned();
            if !is_commit_hash(&commit) {
                return Err(Lookup::RevisionNotFound);
            }
            commit
        };
        match self.snapshot_dir(dir, &commit) {
            Some(_) => Ok(commit),
            None => Err(Lookup::RevisionNotFound),
        }
    }

    /// The canonical snapshot folder of `commit`: a real folder at `<repo>/snapshots/<commit>`
    /// (neither it nor `snapshots/` a symlink leading elsewhere).
    fn snapshot_dir(&self, dir: &RepoDir, commit: &str) -> Option<PathBuf> {
        let repo = canonical(dir.path())?;
        let expected = repo.join("snapshots").join(commit);
        (repo.starts_with(self.cache.root()) && canonical(&dir.snapshot_dir(commit))? == expected)
            .then_some(expected)
    }

    /// The index of a commit's snapshot: built on first use (one walk; `cancel` stops it), then
    /// shared by every request until a folder of the snapshot changes or it is evicted.
    pub(crate) fn snapshot(
        &self,
        dir: &RepoDir,
        commit: &str,
        cancel: &AtomicBool,
    ) -> Result<Arc<Snapshot>, Lookup> {
        let snapshot_dir = self
            .snapshot_dir(dir, commit)
            .ok_or(Lookup::RevisionNotFound)?;
        let slot = {
            let mut indexes = self.indexes.lock().expect("index map lock");
            let slot = indexes.entry(snapshot_dir.clone()).or_default().clone();
            slot.last_used.store(
                self.clock.fetch_add(1, Ordering::Relaxed),
                Ordering::Relaxed,
            );
            evict(&mut indexes, &snapshot_dir);
            slot
        };
        let mut built = slot.built.lock().expect("index slot lock");
        if let Some(index) = built.as_ref()
            && index.fresh()
        {
            return Ok(index.clone());
        }
        *built = None;
        slot.entries.store(0, Ordering::Relaxed);
        let index = Arc::new(self.build(dir, commit, &snapshot_dir, cancel)?);
        slot.entries.store(index.items.len(), Ordering::Relaxed);
        *built = Some(index.clone());
        Ok(index)
    }

    fn build(
        &self,
        dir: &RepoDir,
        commit: &str,
        snapshot_dir: &Path,
        cancel: &AtomicBool,
    ) -> Result<Snapshot, Lookup> {
        let repo = snapshot_dir
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let blobs = canonical(&dir.blobs_dir()).filter(|b| *b == repo.join("blobs"));
        let mut walk = Walk {
            commit,
            blobs,
            cancel,
            stamps: Vec::new(),
            visited: 0,
        };
        let mut items = Vec::new();
        self.walk(&mut walk, snapshot_dir, "", &mut items)?;
        let time = fs::symlink_metadata(snapshot_dir)
            .and_then(|meta| meta.modified())
            .ok();
        Ok(Snapshot::from_items(commit, time, items, walk.stamps))
    }

    /// Lists the real folder `real_dir` (repo path `prefix`) into `out`, recursively, each folder
    /// before its content; returns the git tree id of the folder. Symlinks to folders are not
    /// followed (a symlink is only ever a file pointing into `blobs/`). O(entries below).
    fn walk(
        &self,
        walk: &mut Walk<'_>,
        real_dir: &Path,
        prefix: &str,
        out: &mut Vec<TreeItem>,
    ) -> Result<String, Lookup> {
        let dir_meta = fs::symlink_metadata(real_dir)?;
        walk.stamps
            .push((real_dir.to_path_buf(), dir_meta.modified().ok()));
        let mut names: Vec<String> = fs::read_dir(real_dir)?
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| listable(name))
            .collect();
        names.sort();
        // (name, is_dir, oid) for the git tree object of this folder.
        let mut tree_entries: Vec<(String, bool, String)> = Vec::new();
        for name in names {
            walk.visited += 1;
            if walk.visited.is_multiple_of(256) && walk.cancel.load(Ordering::Relaxed) {
                return Err(Lookup::Cancelled);
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let real = real_dir.join(&name);
            let Ok(meta) = fs::symlink_metadata(&real) else {
                continue;
            };
            if meta.is_dir() {
                let at = out.len();
                out.push(TreeItem::Directory {
                    path: path.clone(),
                    oid: String::new(),
                });
                let oid = self.walk(walk, &real, &path, out)?;
                tree_entries.push((name, true, oid.clone()));
                out[at] = TreeItem::Directory { path, oid };
            } else if let Some(file) = self.file_entry(walk, &real, &meta, path)? {
                tree_entries.push((name, false, file.kind.git_oid().to_owned()));
                out.push(TreeItem::File(file));
            }
        }
        Ok(git_tree_oid(&mut tree_entries))
    }

    /// A snapshot entry that is not a folder: a symlink resolving to a regular file directly in the
    /// repository's `blobs/`, or a plain file; `None` for anything else (dangling or escaping
    /// symlinks, special files).
    fn file_entry(
        &self,
        walk: &Walk<'_>,
        pointer: &Path,
        meta: &fs::Metadata,
        path: String,
    ) -> Result<Option<FileEntry>, Lookup> {
        if meta.is_file() {
            let size = meta.len();
            let sha1 = self.hash_plain_file(pointer, size, meta.modified().ok())?;
            return Ok(Some(FileEntry {
                path,
                blob_path: pointer.to_path_buf(),
                size,
                kind: BlobKind::Regular { sha1 },
            }));
        }
        let Some(blobs) = walk.blobs.as_deref() else {
            return Ok(None);
        };
        if !meta.is_symlink() {
            return Ok(None);
        }
        // Upstream's relative link, resolved by name: exact because every folder above it is real.
        let lexical = fs::read_link(pointer).ok().and_then(|target| {
            pointer
                .parent()
                .map(|parent| normalize(&parent.join(target)))
        });
        let real = match lexical {
            Some(real) if real.parent() == Some(blobs) => real,
            _ => match canonical(pointer) {
                Some(real) if real.parent() == Some(blobs) => real,
                _ => return Ok(None),
            },
        };
        let Ok(real_meta) = fs::symlink_metadata(&real) else {
            return Ok(None);
        };
        if !real_meta.is_file() {
            return Ok(None);
        }
        let size = real_meta.len();
        let name = real
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let kind = blob_kind(name, size).ok_or_else(|| Lookup::EntryNotFound {
            commit: walk.commit.to_owned(),
        })?;
        Ok(Some(FileEntry {
            path,
            blob_path: real,
            size,
            kind,
        }))
    }

    fn hash_plain_file(
        &self,
        real: &Path,
        size: u64,
        modified: Option<SystemTime>,
    ) -> Result<String, Lookup> {
        let key = (real.to_path_buf(), size, modified);
        if let Some(known) = self.hashes.lock().expect("hash cache lock").get(&key) {
            return Ok(known.clone());
        }
        let mut hasher = Sha1::new();
        hasher.update(format!("blob {size}\0").as_bytes());
        let mut file = fs::File::open(real)?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        let oid = hex(&hasher.finalize());
        let mut hashes = self.hashes.lock().expect("hash cache lock");
        if hashes.len() >= MAX_HASHES {
            hashes.clear();
        }
        hashes.insert(key, oid.clone());
        Ok(oid)
    }

    /// The LFS blob `sha256` of a repository folder, for the CDN: canonical path and size.
    pub(crate) fn lfs_blob(&self, folder: &str, sha256: &str) -> Option<(PathBuf, u64)> {
        let repo = Repo::from_folder_name(folder)?;
        hub_cache::RepoId::new(repo.id.as_str()).ok()?;
        if !is_hex(sha256, 64) {
            return None;
        }
        let dir = self.repo_dir(&repo).ok()?;
        let blobs = canonical(&dir.blobs_dir())?;
        if blobs != canonical(dir.path())?.join("blobs") {
            return None;
        }
        let real = canonical(&dir.blob_path(sha256))?;
        let meta = fs::metadata(&real).ok()?;
        (real.parent() == Some(blobs.as_path()) && meta.is_file()).then_some((real, meta.len()))
    }
}

/// Drops the least recently used indexes (never `keep`) while there are too many or they hold too
/// many entries in all. O(indexes) per call.
fn evict(indexes: &mut HashMap<PathBuf, Arc<Slot>>, keep: &Path) {
    loop {
        let entries: usize = indexes
            .values()
            .map(|slot| slot.entries.load(Ordering::Relaxed))
            .sum();
        if indexes.len() <= MAX_SNAPSHOTS && entries <= MAX_INDEXED_ENTRIES {
            return;
        }
        let oldest = indexes
            .iter()
            .filter(|(path, _)| path.as_path() != keep)
            .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
            .map(|(path, _)| path.clone());
        match oldest {
            Some(path) => {
                indexes.remove(&path);
            }
            None => return,
        }
    }
}

/// `a/b/../c/./d` -> `a/c/d`, by name only.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Names never listed: upstream's temporary files and OS helper files.
fn listable(name: &str) -> bool {
    !name.ends_with(".incomplete") && !OS_HELPER_FILES.contains(&name)
}

/// A blob file name to its kind: 64 hex = LFS sha256, 40 hex = git blob sha1, else refused.
fn blob_kind(name: &str, size: u64) -> Option<BlobKind> {
    if is_hex(name, 64) {
        let pointer = lfs_pointer(name, size);
        Some(BlobKind::Lfs {
            sha256: name.to_owned(),
            pointer_oid: git_blob_oid(pointer.as_bytes()),
            pointer_size: pointer.len() as u64,
        })
    } else if is_hex(name, 40) {
        Some(BlobKind::Regular {
            sha1: name.to_owned(),
        })
    } else {
        None
    }
}

/// The git-lfs pointer file that stands in git for an LFS file.
pub(crate) fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// `sha1("blob <len>\0" + content)`, the git blob id.
pub(crate) fn git_blob_oid(content: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex(&hasher.finalize())
}

/// The git tree id of a folder from its entries (name, is directory, hex oid).
fn git_tree_oid(entries: &mut [(String, bool, String)]) -> String {
    // git orders tree entries by name, a directory compared as if its name ended with `/`.
    let sort_key = |(name, is_dir, _): &(String, bool, String)| {
        let mut key = name.as_bytes().to_vec();
        if *is_dir {
            key.push(b'/');
        }
        key
    };
    entries.sort_by_key(sort_key);
    let mut body = Vec::new();
    for (name, is_dir, oid) in entries.iter() {
        body.extend_from_slice(if *is_dir { b"40000 " } else { b"100644 " });
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend(unhex(oid));
    }
    let mut hasher = Sha1::new();
    hasher.update(format!("tree {}\0", body.len()).as_bytes());
    hasher.update(&body);
    hex(&hasher.finalize())
}

pub(crate) fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn canonical(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_oid(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // `git mktree` of an empty input.
        assert_eq!(
            git_tree_oid(&mut []),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        // A tree with one file `hello.txt` = "hello\n".
        assert_eq!(
            git_tree_oid(&mut [(
                "hello.txt".into(),
                false,
                "ce013625030ba8dba906f756967f9e9ca394464a".into()
            )]),
            "aaa96ced2d9a1c8e72c56b253a0e2fe78393feb7"
        );
    }
}
