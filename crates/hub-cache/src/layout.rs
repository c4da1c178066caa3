//! Where things live in a hub cache. Paths only: nothing here touches the disk.
//!
//! ```text
//! <cache>/
//! ├── CACHEDIR.TAG
//! ├── .locks/<repo_folder>/<etag>.lock
//! └── <repo_folder>/                       models--org--name, datasets--x, spaces--y, kernels--z
//!     ├── blobs/<etag>                     40-hex git blob sha1, or 64-hex sha256 for LFS files
//!     ├── refs/<revision>                  the 40-hex commit, no trailing newline (refs/refs/pr/1 nested)
//!     ├── snapshots/<commit>/<path>        relative symlink ../../blobs/<etag> (one more ../ per folder)
//!     ├── .no_exist/<commit>/<path>        empty marker: the file does not exist at that commit
//!     └── trees/<commit>.json              cached recursive listing (huggingface_hub 1.22+)
//! ```

use std::path::{Path, PathBuf};

use crate::repo::Repo;

/// Exact bytes of upstream's `CACHEDIR.TAG` (`_local_folder.py::_create_cachedir_tag`).
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// File name of the cache directory tag.
pub const CACHEDIR_TAG_NAME: &str = "CACHEDIR.TAG";

/// Top-level folder holding the lock files.
pub const LOCKS_DIR: &str = ".locks";

/// A repository's folder of refs (`refs/<revision>`).
pub const REFS_DIR: &str = "refs";
/// A repository's folder of file contents (`blobs/<etag>`).
pub const BLOBS_DIR: &str = "blobs";
/// A repository's folder of snapshots (`snapshots/<commit>/<path>`).
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// A repository's folder of "does not exist" markers (`.no_exist/<commit>/<path>`).
pub const NO_EXIST_DIR: &str = ".no_exist";

/// Operating-system helper files that 2.x ignores wherever it lists cache folders.
pub const OS_HELPER_FILES: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];

/// A hub cache rooted at a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache rooted at `root`, used as given (not resolved, not created: paths are computed
    /// under it; lookups that follow upstream resolve it themselves).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache the environment selects (`HF_HUB_CACHE`, ..., `~/.cache/huggingface/hub`).
    pub fn from_env(env: &crate::env::Env) -> Cache {
        Cache::new(env.locations().hub_cache)
    }

    /// The cache directory, as given to [`Cache::new`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one repository.
    pub fn repo(&self, repo: &Repo) -> RepoDir {
        RepoDir {
            path: self.root.join(repo.folder_name()),
        }
    }

    /// `<cache>/.locks/<repo_folder>/<etag>.lock`, the file Python's `filelock` locks around a blob download.
    pub fn blob_lock_path(&self, repo: &Repo, etag: &str) -> PathBuf {
        self.root
            .join(LOCKS_DIR)
            .join(repo.folder_name())
            .join(format!("{etag}.lock"))
    }

    /// The lock around one blob download ([`Cache::blob_lock_path`]), its folders below the cache
    /// root reached without following a link ([`crate::lock::FileLock::beneath`]).
    pub fn blob_lock(&self, repo: &Repo, etag: &str) -> crate::lock::FileLock {
        crate::lock::FileLock::new(self.blob_lock_path(repo, etag)).beneath(&self.root)
    }

    /// `<cache>/CACHEDIR.TAG`, the marker backup tools skip (see [`Cache::ensure_cachedir_tag`]).
    pub fn cachedir_tag_path(&self) -> PathBuf {
        self.root.join(CACHEDIR_TAG_NAME)
    }
}

/// The folder of one repository inside a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoDir {
    path: PathBuf,
}

impl RepoDir {
    /// A repo folder at an arbitrary path (the scan walks folders it did not name).
    pub fn at(path: impl Into<PathBuf>) -> RepoDir {
        RepoDir { path: path.into() }
    }

    /// The repository folder, `<cache>/<type>s--<namespace>--<name>`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `refs/`: one file per branch, tag or PR ref, holding a commit hash.
    pub fn refs_dir(&self) -> PathBuf {
        self.path.join(REFS_DIR)
    }

    /// `refs/<revision>`, the revision used literally as a relative path (`refs/pr/1` nests).
    /// Callers check the revision with [`crate::repo::check_revision`] first.
    pub fn ref_path(&self, revision: &str) -> PathBuf {
        join_relative(&self.refs_dir(), revision)
    }

    /// `blobs/`: file contents named by ETag.
    pub fn blobs_dir(&self) -> PathBuf {
        self.path.join(BLOBS_DIR)
    }

    /// `blobs/<etag>`. The ETag is joined as is: callers pass a validated [`crate::Etag`]'s text.
    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.blobs_dir().join(etag)
    }

    /// `snapshots/`: one folder per cached commit.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.path.join(SNAPSHOTS_DIR)
    }

    /// `snapshots/<commit>`, joined as is (callers pass a commit hash or a checked revision).
    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.snapshots_dir().join(commit)
    }

    /// `snapshots/<commit>/<path>` for a repo path with `/` separators (checked with [`check_repo_path`]).
    pub fn pointer_path(&self, commit: &str, repo_path: &str) -> PathBuf {
        join_relative(&self.snapshot_dir(commit), repo_path)
    }

    /// `.no_exist/`: empty files recording paths the Hub said do not exist at a commit.
    pub fn no_exist_dir(&self) -> PathBuf {
        self.path.join(NO_EXIST_DIR)
    }

    /// `.no_exist/<commit>/<path>` for a repo path with `/` separators (checked with
    /// [`check_repo_path`] first).
    pub fn no_exist_path(&self, commit: &str, repo_path: &str) -> PathBuf {
        join_relative(&self.no_exist_dir().join(commit), repo_path)
    }

    /// `trees/`: cached snapshot listings (see [`crate::tree`]).
    pub fn trees_dir(&self) -> PathBuf {
        self.path.join("trees")
    }

    /// `trees/<commit>.json`, the cached listing of one commit.
    pub fn tree_path(&self, commit: &str) -> PathBuf {
        self.trees_dir().join(format!("{commit}.json"))
    }
}

/// The symlink target upstream writes for a snapshot pointer: `"../" * (2 + d) + "blobs/<etag>"` where
/// `d` is the number of `/` in the repo path (`file_download.py::_create_symlink`, relative form).
pub fn pointer_target(repo_path: &str, etag: &str) -> String {
    let depth = 2 + repo_path.matches('/').count();
    let mut target = "../".repeat(depth);
    target.push_str("blobs/");
    target.push_str(etag);
    target
}

/// Where `path` (a snapshot pointer, a blob) really is: its canonical path when that lies inside the
/// canonical `root` (the cache), `Ok(None)` when it resolves outside (a pointer planted to
/// `/etc/passwd`), `Err` when it cannot be resolved (missing, dangling, unreadable). This is the one
/// rule for "a cache file": scan, verify and the copy into a `local_dir` all apply it.
pub fn resolve_inside(root: &Path, path: &Path) -> std::io::Result<Option<PathBuf>> {
    let root = std::fs::canonicalize(root)?;
    let real = std::fs::canonicalize(path)?;
    Ok(real.starts_with(&root).then_some(real))
}

/// Why a path inside a repository is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid file path `{0}` in repository: it must be relative and must not contain `..`, empty segments or NUL"
)]
pub struct InvalidRepoPath(pub String);

/// Checks a repo file path as upstream's `_validate_relative_filename` does (no `..` segment split on
/// `/` or `\`, not absolute under POSIX or Windows rules), plus what would make it unusable as a
/// path here: empty, empty or `.` segments, NUL.
pub fn check_repo_path(path: &str) -> Result<(), InvalidRepoPath> {
    let bytes = path.as_bytes();
    let windows_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.starts_with('\\')
        || windows_drive
        || path.contains('\0')
        || path.split(['/', '\\']).any(|segment| segment == "..")
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == ".");
    if bad {
        Err(InvalidRepoPath(path.to_owned()))
    } else {
        Ok(())
    }
}

fn join_relative(base: &Path, relative: &str) -> PathBuf {
    let mut path = base.to_path_buf();
    for part in relative.split('/') {
        path.push(part);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_targets() {
        let cache = Cache::new("/c");
        let repo = Repo::model("org/alpha").unwrap();
        let dir = cache.repo(&repo);
        assert_eq!(dir.path(), Path::new("/c/models--org--alpha"));
        assert_eq!(
            dir.ref_path("refs/pr/1"),
            Path::new("/c/models--org--alpha/refs/refs/pr/1")
        );
        assert_eq!(
            cache.blob_lock_path(&repo, "abc"),
            Path::new("/c/.locks/models--org--alpha/abc.lock")
        );
        assert_eq!(pointer_target("README.md", "e"), "../../blobs/e");
        assert_eq!(
            pointer_target("sub/dir/file.txt", "e"),
            "../../../../blobs/e"
        );
        assert_eq!(CACHEDIR_TAG.len(), 191);
    }

    #[test]
    fn repo_paths() {
        for ok in ["a", "a/b.txt", "d\u{e9}j\u{e0}/vu.txt", "a..b"] {
            assert!(check_repo_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "../a", "a/../b", "a\\..\\b", "C:x", "a//b", "a/./b", "a\0b", "a/",
        ] {
            assert!(check_repo_path(bad).is_err(), "{bad:?}");
        }
    }
}
