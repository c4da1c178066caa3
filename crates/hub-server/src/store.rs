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
//! ref file must lie inside `refs/`. Anything else is reported as not found.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

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

/// The cache directory being served.
#[derive(Debug)]
pub(crate) struct Store {
    cache: Cache,
    /// git blob ids of plain (non-symlink) snapshot files, keyed by path, size and mtime.
    hashes: Mutex<HashMap<FileStamp, String>>,
}

impl Store {
    /// `root` must already be canonical.
    pub(crate) fn new(root: PathBuf) -> Store {
        Store {
            cache: Cache::new(root),
            hashes: Mutex::new(HashMap::new()),
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
        match fs::symlink_metadata(dir.snapshot_dir(&commit)) {
            Ok(meta) if meta.is_dir() => Ok(commit),
            _ => Err(Lookup::RevisionNotFound),
        }
    }

    /// The file at `path` in the snapshot of `commit`.
    pub(crate) fn file(
        &self,
        dir: &RepoDir,
        commit: &str,
        path: &str,
    ) -> Result<FileEntry, Lookup> {
        check_repo_path(path).map_err(|e| Lookup::BadRequest(e.to_string()))?;
        if path.contains('\\') {
            return Err(Lookup::BadRequest(format!(
                "invalid file path `{path}`: backslash"
            )));
        }
        let not_found = || Lookup::EntryNotFound {
            commit: commit.to_owned(),
        };
        if !path.split('/').all(listable) {
            return Err(not_found());
        }
        let pointer = dir.pointer_path(commit, path);
        match self.entry(dir, commit, &pointer, path)? {
            Some(TreeItem::File(file)) => Ok(file),
            _ => Err(not_found()),
        }
    }

    /// The modification time of a commit's snapshot folder (the `lastModified` we report).
    pub(crate) fn snapshot_time(&self, dir: &RepoDir, commit: &str) -> Option<SystemTime> {
        fs::symlink_metadata(dir.snapshot_dir(commit))
            .and_then(|meta| meta.modified())
            .ok()
    }

    /// The listing of a commit under `folder` (`""` = root), recursive or one level, sorted by path,
    /// each directory before its content. `None` when `folder` is not a directory of the snapshot.
    pub(crate) fn tree(
        &self,
        dir: &RepoDir,
        commit: &str,
        folder: &str,
        recursive: bool,
    ) -> Result<Option<Vec<TreeItem>>, Lookup> {
        let mut start = dir.snapshot_dir(commit);
        if !folder.is_empty() {
            check_repo_path(folder).map_err(|e| Lookup::BadRequest(e.to_string()))?;
            start = dir.pointer_path(commit, folder);
        }
        match fs::symlink_metadata(&start) {
            Ok(meta) if meta.is_dir() => {}
            _ => return Ok(None),
        }
        let mut items = Vec::new();
        self.walk(dir, commit, &start, folder, recursive, &mut items)?;
        Ok(Some(items))
    }

    /// Lists `real_dir` (the snapshot folder for repo path `prefix`) into `out`; returns the git tree
    /// id of the folder.
    fn walk(
        &self,
        dir: &RepoDir,
        commit: &str,
        real_dir: &Path,
        prefix: &str,
        recursive: bool,
        out: &mut Vec<TreeItem>,
    ) -> Result<String, Lookup> {
        let mut names: Vec<String> = fs::read_dir(real_dir)?
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| listable(name))
            .collect();
        names.sort();
        // (name, is_dir, oid) for the git tree object of this folder.
        let mut tree_entries: Vec<(String, bool, String)> = Vec::new();
        for name in names {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let real = real_dir.join(&name);
            match self.entry(dir, commit, &real, &path)? {
                Some(TreeItem::File(file)) => {
                    tree_entries.push((name, false, file.kind.git_oid().to_owned()));
                    out.push(TreeItem::File(file));
                }
                Some(TreeItem::Directory { .. }) => {
                    let at = out.len();
                    let mut nested = Vec::new();
                    let oid = self.walk(dir, commit, &real, &path, recursive, &mut nested)?;
                    tree_entries.push((name, true, oid.clone()));
                    out.insert(at, TreeItem::Directory { path, oid });
                    if recursive {
                        out.extend(nested);
                    }
                }
                None => {}
            }
        }
        Ok(git_tree_oid(&mut tree_entries))
    }

    /// Classifies one snapshot entry: a file resolved to its blob, a real directory, or `None` for
    /// what must not be served (dangling or escaping symlinks, special files).
    fn entry(
        &self,
        dir: &RepoDir,
        commit: &str,
        pointer: &Path,
        path: &str,
    ) -> Result<Option<TreeItem>, Lookup> {
        let Ok(meta) = fs::symlink_metadata(pointer) else {
            return Ok(None);
        };
        if meta.is_dir() {
            return Ok(Some(TreeItem::Directory {
                path: path.to_owned(),
                oid: String::new(),
            }));
        }
        let Some(real) = canonical(pointer) else {
            return Ok(None);
        };
        let Ok(real_meta) = fs::metadata(&real) else {
            return Ok(None);
        };
        if !real_meta.is_file() {
            return Ok(None);
        }
        let size = real_meta.len();
        let blobs = canonical(&dir.blobs_dir());
        let snapshot = canonical(&dir.snapshot_dir(commit));
        let kind = if blobs.as_ref().is_some_and(|b| real.parent() == Some(b)) {
            let name = real
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            blob_kind(name, size).ok_or_else(|| Lookup::EntryNotFound {
                commit: commit.to_owned(),
            })?
        } else if meta.is_file() && snapshot.as_ref().is_some_and(|s| real.starts_with(s)) {
            BlobKind::Regular {
                sha1: self.hash_plain_file(&real, size, real_meta.modified().ok())?,
            }
        } else {
            return Ok(None);
        };
        Ok(Some(TreeItem::File(FileEntry {
            path: path.to_owned(),
            blob_path: real,
            size,
            kind,
        })))
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
        self.hashes
            .lock()
            .expect("hash cache lock")
            .insert(key, oid.clone());
        Ok(oid)
    }

    /// The LFS blob `sha256` of a repository folder, for the CDN: canonical path and size.
    pub(crate) fn lfs_blob(&self, folder: &str, sha256: &str) -> Option<(PathBuf, u64)> {
        let repo = Repo::from_folder_name(folder)?;
        hub_cache::RepoId::new(repo.id.as_str()).ok()?;
        if !is_hex(sha256, 64) {
            return None;
        }
        let dir = self.cache.repo(&repo);
        let blobs = canonical(&dir.blobs_dir())?;
        let real = canonical(&dir.blob_path(sha256))?;
        let meta = fs::metadata(&real).ok()?;
        (real.parent() == Some(blobs.as_path()) && meta.is_file()).then_some((real, meta.len()))
    }
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
