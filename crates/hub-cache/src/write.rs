//! The write side of the cache, byte-compatible with huggingface_hub 2.4 (`file_download.py`).
//!
//! What a download leaves in a repository folder, and which call of this module writes it:
//!
//! ```text
//! <cache>/
//! ├── CACHEDIR.TAG                           Cache::ensure_cachedir_tag (created if absent, never rewritten)
//! └── <repo_folder>/
//!     ├── refs/<revision>                    RepoWriter::write_ref: the 40-hex commit, no newline, written as
//!     │                                      refs/<revision>.<8hex>.tmp then renamed, only if absent or different
//!     ├── blobs/<etag>.<8hex>.incomplete     RepoWriter::create_incomplete_blob: unique to this download
//!     ├── blobs/<etag>                       RepoWriter::publish_blob: mode of a new file in blobs/, atomic rename
//!     ├── snapshots/<commit>/<path>          RepoWriter::link_pointer: relative symlink ../../blobs/<etag>
//!     │                                      (or the blob itself, moved or copied, without symlinks)
//!     └── .no_exist/<commit>/<path>          RepoWriter::mark_no_exist: empty marker
//! ```
//!
//! Correctness never depends on a lock (unique temporary names and atomic renames, as upstream since 1.18);
//! callers still take [`crate::lock`] around a blob download to avoid downloading it twice.
//!
//! Without symlink support (probed per repository folder, once per process, as upstream's
//! `are_symlinks_supported`), a pointer is the blob itself: a freshly downloaded blob is moved to the pointer
//! path (leaving `blobs/` without it), an already-present blob is copied. A warning is logged once per
//! folder unless `HF_HUB_DISABLE_SYMLINKS_WARNING` is set; `HF_HUB_DISABLE_SYMLINKS` forces this mode
//! without probing and without warning.
//!
//! ```
//! use std::io::Write;
//! use hub_cache::{BlobOrigin, Cache, CachedFile, CommitHash, Repo, WriteOptions};
//! use hub_cache::lock::FileLock;
//!
//! let tmp = tempfile::tempdir()?;
//! let cache = Cache::new(tmp.path());
//! let repo = Repo::model("org/name")?;
//! let commit = CommitHash::new("0123456789abcdef0123456789abcdef01234567").expect("40 hex");
//! let writer = cache.writer(&repo, WriteOptions::default());
//! writer.write_ref("main", &commit)?;
//! let etag = "a3f0c1de2b9b8f33e2a5f8e2a1c0b7d6e5f4a3b2";
//! let _lock = FileLock::new(cache.blob_lock_path(&repo, etag)).acquire()?;
//! let mut blob = writer.create_incomplete_blob(etag)?;
//! blob.file.write_all(b"hello")?;
//! writer.publish_blob(&blob.path, etag)?;
//! writer.link_pointer(&commit, "docs/README.md", etag, BlobOrigin::Downloaded)?;
//! cache.ensure_cachedir_tag()?;
//! assert!(matches!(
//!     cache.try_to_load_from_cache(&repo, "docs/README.md", None)?,
//!     CachedFile::Found(_)
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use crate::env::{self, Env};
use crate::etag::{Etag, InvalidEtag};
use crate::fs::{AtomicOptions, Dir, EntryKind, random_hex8, random_uuid};
use crate::layout::{
    self, BLOBS_DIR, Cache, InvalidRepoPath, NO_EXIST_DIR, REFS_DIR, RepoDir, SNAPSHOTS_DIR,
};
use crate::refs::ReadRefError;
use crate::repo::{self, CommitHash, InvalidRevision, Repo};
use crate::repo_path::{self, InvalidFilename};

pub use crate::partial::{ClaimedPartial, claim_partial_in, partials};

/// Why a write into the cache failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A revision that could not name a ref file ([`repo::check_revision`]).
    #[error(transparent)]
    InvalidRevision(#[from] InvalidRevision),
    /// A repo path that cannot name a snapshot entry ([`layout::check_repo_path`]).
    #[error(transparent)]
    InvalidRepoPath(#[from] InvalidRepoPath),
    /// A file name that would leave its folder ([`repo_path::validate_filename`]).
    #[error(transparent)]
    InvalidFilename(#[from] InvalidFilename),
    /// An ETag not usable as a blob file name ([`crate::Etag::parse`]).
    #[error(transparent)]
    InvalidEtag(#[from] InvalidEtag),
    /// A pointer to link names a blob that is not in `blobs/`.
    #[error("cannot link `{pointer}`: blob `{blob}` does not exist")]
    BlobMissing {
        /// The missing blob (`blobs/<etag>`).
        blob: PathBuf,
        /// The snapshot entry that was to point at it.
        pointer: PathBuf,
    },
    /// A file-system call failed.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done (`create`, `rename`, `link`...), for the message.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

impl From<ReadRefError> for WriteError {
    fn from(error: ReadRefError) -> Self {
        match error {
            ReadRefError::InvalidRevision(e) => WriteError::InvalidRevision(e),
            ReadRefError::Read(error) => WriteError::Io {
                action: "read ref",
                path: error.path().to_path_buf(),
                source: io::Error::other(error.to_string()),
            },
        }
    }
}

/// Whether snapshot pointers may be symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Probe the repository folder once per process, as upstream's `are_symlinks_supported` (default).
    Probe,
    /// Assume symlinks work (no probe).
    Supported,
    /// Behave as if the probe had failed: fall back to moving/copying, with the warning.
    Unsupported,
    /// `HF_HUB_DISABLE_SYMLINKS`: fall back to moving/copying without probing and without warning.
    Disabled,
}

/// Switches of the write side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Whether snapshot pointers may be symlinks ([`Symlinks::Probe`] by default).
    pub symlinks: Symlinks,
    /// Log the "does not support symlinks" warning (once per folder). Off with `HF_HUB_DISABLE_SYMLINKS_WARNING`.
    pub warn_without_symlinks: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            symlinks: Symlinks::Probe,
            warn_without_symlinks: true,
        }
    }
}

impl WriteOptions {
    /// Options from `HF_HUB_DISABLE_SYMLINKS` and `HF_HUB_DISABLE_SYMLINKS_WARNING`.
    pub fn from_env(env: &Env) -> WriteOptions {
        WriteOptions {
            symlinks: if env.is_true(env::HF_HUB_DISABLE_SYMLINKS) {
                Symlinks::Disabled
            } else {
                Symlinks::Probe
            },
            warn_without_symlinks: !env.is_true(env::HF_HUB_DISABLE_SYMLINKS_WARNING),
        }
    }

    /// Sets [`WriteOptions::symlinks`].
    pub fn with_symlinks(mut self, symlinks: Symlinks) -> Self {
        self.symlinks = symlinks;
        self
    }

    /// Sets [`WriteOptions::warn_without_symlinks`].
    pub fn with_symlink_warning(mut self, warn: bool) -> Self {
        self.warn_without_symlinks = warn;
        self
    }
}

/// Where the blob a pointer refers to comes from; decides move or copy when symlinks are unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOrigin {
    /// Just downloaded and published by this process: moved to the pointer path without symlinks.
    Downloaded,
    /// Already in `blobs/` (maybe referenced by other snapshots): copied without symlinks.
    Existing,
}

/// How a snapshot pointer was materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerKind {
    /// A relative symlink to the blob was created.
    Symlink,
    /// A concurrent writer created the same symlink between our removal and creation.
    AlreadyLinked,
    /// No symlinks: the blob file was moved to the pointer path.
    Moved,
    /// No symlinks: the blob was copied to the pointer path.
    Copied,
}

/// The result of [`RepoWriter::link_pointer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The snapshot entry, `snapshots/<commit>/<path>`.
    pub path: PathBuf,
    /// Whether it is a symlink or a moved or copied file.
    pub kind: PointerKind,
}

/// A blob download in progress: a file unique to this process, `blobs/<etag>.<8hex>.incomplete`.
#[derive(Debug)]
pub struct IncompleteBlob {
    /// `blobs/<etag>.<8hex>.incomplete`, created new (never an existing file).
    pub path: PathBuf,
    /// The file, open for writing at offset 0; close it before [`RepoWriter::publish_blob`].
    pub file: File,
}

impl Cache {
    /// Creates `<cache>/CACHEDIR.TAG` with upstream's exact bytes if it is absent (the cache root must
    /// exist). Returns whether it was created. Upstream ignores failures; callers may do the same.
    pub fn ensure_cachedir_tag(&self) -> Result<bool, WriteError> {
        let path = self.cachedir_tag_path();
        if path.exists() {
            return Ok(false);
        }
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                io::Write::write_all(&mut file, layout::CACHEDIR_TAG.as_bytes())
                    .map_err(io_error("write", &path))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error("create", &path)(e)),
        }
    }

    /// A writer for one repository folder of this cache.
    pub fn writer(&self, repo: &Repo, options: WriteOptions) -> RepoWriter {
        RepoWriter {
            dir: self.repo(repo),
            options,
            probed: Arc::default(),
        }
    }
}

/// Writes into one repository folder (see the module docs for the tree). What a writer probes on
/// disk (symlink support, the mode of a new blob) is probed once and shared by its clones: a
/// snapshot makes one writer and clones it for every file.
#[derive(Debug, Clone)]
pub struct RepoWriter {
    dir: RepoDir,
    options: WriteOptions,
    probed: Arc<Probed>,
}

/// The answers of a writer's probes, once known.
#[derive(Debug, Default)]
struct Probed {
    /// Whether pointers in the repository folder may be symlinks (the probe of that folder).
    symlinks: OnceLock<bool>,
    /// The permissions a new file gets in a folder (upstream's `tmp_<uuid>` probe), by folder.
    file_mode: Mutex<HashMap<PathBuf, fs::Permissions>>,
    /// The repository folder, once opened (opened again when it was removed meanwhile).
    repo_folder: Mutex<Option<Arc<Dir>>>,
}

impl RepoWriter {
    /// The repository folder written to.
    pub fn dir(&self) -> &RepoDir {
        &self.dir
    }

    /// The switches this writer follows.
    pub fn options(&self) -> WriteOptions {
        self.options
    }

    /// The repository folder, opened once per writer (and its clones) and created if absent. Its
    /// path is trusted, as the cache root is (a user may keep a repository on another disk through
    /// a link); nothing below it is reached through a link (see [`RepoWriter::folder`]). A folder
    /// removed meanwhile (`hfhub delete`, `rm -rf` in another terminal during a snapshot) is made
    /// and opened again, as upstream's writes by path would: one `fstat` per call tells.
    fn repo_folder(&self) -> Result<Arc<Dir>, WriteError> {
        let mut cached = self
            .probed
            .repo_folder
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(dir) = cached.as_ref()
            && !dir.is_removed().unwrap_or(true)
        {
            return Ok(dir.clone());
        }
        let path = self.dir.path();
        let opened = match Dir::open(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(path).map_err(io_error("create directory", path))?;
                Dir::open(path)
            }
            opened => opened,
        }
        .map_err(io_error("open the folder", path))?;
        let opened = Arc::new(opened);
        *cached = Some(opened.clone());
        Ok(opened)
    }

    /// The folder `relative` below the repository folder (`blobs`, `snapshots/<commit>/<dirs>`...),
    /// created when asked and absent, reached without following a link at any component: a link
    /// planted in the cache (`snapshots/<commit>/sub -> /elsewhere`) is refused, never written
    /// through.
    pub fn folder(&self, relative: &str, create: bool) -> Result<Dir, WriteError> {
        self.repo_folder()?
            .open_beneath(relative, create)
            .map_err(|error| WriteError::Io {
                action: "reach the folder",
                path: self.dir.path().join(relative),
                source: io::Error::other(error),
            })
    }

    /// The folder of `relative` (below the repository folder) and its last component.
    fn parent_of(&self, relative: &str) -> Result<(Dir, String), WriteError> {
        let (folder, name) = relative
            .rsplit_once('/')
            .expect("a cache entry lies in a folder of the repository");
        Ok((self.folder(folder, true)?, name.to_owned()))
    }

    /// Records that `revision` points at `commit` (`_cache_commit_hash_for_specific_revision`): nothing when
    /// the revision is the commit itself or the ref already holds it; otherwise `refs/<revision>.<8hex>.tmp`
    /// is written (no trailing newline) and renamed over `refs/<revision>`. Returns whether it wrote.
    pub fn write_ref(&self, revision: &str, commit: &CommitHash) -> Result<bool, WriteError> {
        repo::check_revision(revision)?;
        if revision == commit.as_str() {
            return Ok(false);
        }
        if self.dir.read_ref(revision)?.as_deref() == Some(commit.as_str()) {
            return Ok(false);
        }
        let path = self.dir.ref_path(revision);
        let (refs, name) = self.parent_of(&format!("{REFS_DIR}/{revision}"))?;
        refs.write_atomic(&name, commit.as_str().as_bytes(), AtomicOptions::default())
            .map_err(io_error("write", &path))?;
        Ok(true)
    }

    /// `blobs/<etag>.<8hex>.incomplete`, a path unique to this call (not created).
    pub fn incomplete_blob_path(&self, etag: &str) -> Result<PathBuf, WriteError> {
        check_etag(etag)?;
        Ok(self
            .dir
            .blobs_dir()
            .join(format!("{etag}.{}.incomplete", random_hex8())))
    }

    /// Creates `blobs/` and a new, empty, process-unique `blobs/<etag>.<8hex>.incomplete` to download into.
    pub fn create_incomplete_blob(&self, etag: &str) -> Result<IncompleteBlob, WriteError> {
        check_etag(etag)?;
        let blobs = self.folder(BLOBS_DIR, true)?;
        let (name, file) = blobs
            .create_unique(etag, "incomplete", 0o666)
            .map_err(io_error("create a download file in", blobs.path()))?;
        Ok(IncompleteBlob {
            path: blobs.join(name),
            file,
        })
    }

    /// Moves a finished download into `blobs/<etag>` (`_chmod_and_move`): the temporary file first gets the
    /// permission bits a new file in its directory gets (probed with `tmp_<uuid>`; a failure is only logged),
    /// then it is renamed over any existing entry (even a dangling link), or copied across devices.
    pub fn publish_blob(&self, temp: &Path, etag: &str) -> Result<PathBuf, WriteError> {
        check_etag(etag)?;
        let blob = self.dir.blob_path(etag);
        let blobs = self.folder(BLOBS_DIR, true)?;
        let inside = temp.parent() == Some(blobs.path());
        let temp_name = temp.file_name().filter(|_| inside);
        self.apply_default_mode(&blobs, temp, temp_name);
        let moved = match temp_name {
            Some(name) => blobs.rename(name, &blobs, etag),
            None => blobs.move_in(temp, etag),
        };
        match moved {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                let source = File::open(temp).map_err(io_error("open", temp))?;
                copy_into(source, &blobs, etag)?;
                fs::remove_file(temp).map_err(io_error("remove", temp))?;
            }
            Err(e) => return Err(io_error("move into", &blob)(e)),
        }
        Ok(blob)
    }

    /// Creates `snapshots/<commit>/<repo_path>` pointing at `blobs/<etag>` (`_create_symlink`): any existing
    /// entry is removed first; the symlink target is exactly [`layout::pointer_target`]; a concurrent
    /// writer that produced the same link is accepted. Without symlinks the blob is moved
    /// ([`BlobOrigin::Downloaded`]) or copied ([`BlobOrigin::Existing`]) there instead. The repo path is
    /// checked so the pointer never leaves `snapshots/<commit>/`, and its folders are reached without
    /// following a link; the blob must be a regular file in `blobs/`.
    pub fn link_pointer(
        &self,
        commit: &CommitHash,
        repo_path: &str,
        etag: &str,
        origin: BlobOrigin,
    ) -> Result<Pointer, WriteError> {
        check_pointer_path(repo_path)?;
        check_etag(etag)?;
        let blob = self.dir.blob_path(etag);
        let pointer = self.dir.pointer_path(commit.as_str(), repo_path);
        let blobs = self.folder(BLOBS_DIR, false);
        let blobs = match blobs {
            Ok(blobs) if matches!(blobs.entry(etag), Ok(Some(EntryKind::File { .. }))) => blobs,
            _ => return Err(WriteError::BlobMissing { blob, pointer }),
        };
        let (parent, name) =
            self.parent_of(&format!("{SNAPSHOTS_DIR}/{}/{repo_path}", commit.as_str()))?;
        let name = name.as_str();

        if self.symlinks_supported_for(parent.path())? {
            let target = layout::pointer_target(repo_path, etag);
            // The symlink is tried first (one call when the pointer does not exist); an existing
            // entry is removed, then it is tried again. A concurrent writer may create (and another
            // remove) the same pointer between our removal and our symlink: a link to the same blob
            // is accepted, a vanished one retried a few times.
            let mut removed = false;
            let mut attempts = 0;
            loop {
                attempts += 1;
                match parent.symlink(&target, name) {
                    Ok(()) => {
                        return Ok(Pointer {
                            path: pointer,
                            kind: PointerKind::Symlink,
                        });
                    }
                    Err(e) if !removed && e.kind() == io::ErrorKind::AlreadyExists => {
                        let _ = parent.remove_file(name);
                        removed = true;
                        attempts -= 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        match parent.read_link(name) {
                            Ok(existing)
                                if existing == Path::new(&target)
                                    || parent.same_file(name, &blobs, etag) =>
                            {
                                return Ok(Pointer {
                                    path: pointer,
                                    kind: PointerKind::AlreadyLinked,
                                });
                            }
                            Err(gone)
                                if gone.kind() == io::ErrorKind::NotFound && attempts < 16 =>
                            {
                                continue;
                            }
                            _ => {}
                        }
                        return Err(io_error("create symlink", &pointer)(e));
                    }
                    // Upstream: symlinks work on both sides but not between them; fall back silently.
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => break,
                    Err(e) => return Err(io_error("create symlink", &pointer)(e)),
                }
            }
        }
        let _ = parent.remove_file(name);
        match origin {
            BlobOrigin::Downloaded => {
                match blobs.rename(etag, &parent, name) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                        let source = blobs
                            .open_read(etag)
                            .map_err(|e| io_error("open", &blob)(io::Error::other(e)))?;
                        copy_into(source, &parent, name)?;
                        blobs.remove_file(etag).map_err(io_error("remove", &blob))?;
                    }
                    Err(e) => return Err(io_error("move into", &pointer)(e)),
                }
                Ok(Pointer {
                    path: pointer,
                    kind: PointerKind::Moved,
                })
            }
            BlobOrigin::Existing => {
                let source = blobs
                    .open_read(etag)
                    .map_err(|e| io_error("open", &blob)(io::Error::other(e)))?;
                copy_into(source, &parent, name)?;
                Ok(Pointer {
                    path: pointer,
                    kind: PointerKind::Copied,
                })
            }
        }
    }

    /// Creates the folder of `snapshots/<commit>/<repo_path>` (and its parents) without following a
    /// link, so that the snapshot exists even before its first file does.
    pub fn ensure_pointer_folder(
        &self,
        commit: &CommitHash,
        repo_path: &str,
    ) -> Result<(), WriteError> {
        check_pointer_path(repo_path)?;
        self.parent_of(&format!("{SNAPSHOTS_DIR}/{}/{repo_path}", commit.as_str()))
            .map(drop)
    }

    /// Records that `repo_path` does not exist at `commit`: an empty `.no_exist/<commit>/<repo_path>`
    /// (parents created without following a link, an existing marker left as is).
    pub fn mark_no_exist(
        &self,
        commit: &CommitHash,
        repo_path: &str,
    ) -> Result<PathBuf, WriteError> {
        check_pointer_path(repo_path)?;
        let path = self.dir.no_exist_path(commit.as_str(), repo_path);
        let (parent, name) =
            self.parent_of(&format!("{NO_EXIST_DIR}/{}/{repo_path}", commit.as_str()))?;
        parent
            .touch(&name, 0o666)
            .map_err(io_error("create", &path))?;
        Ok(path)
    }

    /// Whether pointers in this folder may be symlinks under the options, probing (once per folder per
    /// process) if asked, and logging the fallback warning once per folder.
    pub fn symlinks_supported(&self) -> Result<bool, WriteError> {
        self.symlinks_supported_for(self.dir.path())
    }

    /// As upstream, the probe runs in the common ancestor of blob and pointer (the repo folder); if that
    /// folder is read-only or not ours, the pointer's own folder is probed instead.
    fn symlinks_supported_for(&self, pointer_dir: &Path) -> Result<bool, WriteError> {
        if let Some(&known) = self.probed.symlinks.get() {
            return Ok(known);
        }
        let (supported, probed) = match self.options.symlinks {
            Symlinks::Supported => return Ok(true),
            Symlinks::Disabled => return Ok(false),
            Symlinks::Unsupported => (false, self.dir.path()),
            Symlinks::Probe => match probe_symlinks(self.dir.path()) {
                Ok(supported) => {
                    // The repository folder answers for every pointer in it: not probed again.
                    let _ = self.probed.symlinks.set(supported);
                    (supported, self.dir.path())
                }
                Err(WriteError::Io { source, .. })
                    if matches!(
                        source.kind(),
                        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                    ) =>
                {
                    (probe_symlinks(pointer_dir)?, pointer_dir)
                }
                Err(e) => return Err(e),
            },
        };
        if !supported && self.options.warn_without_symlinks {
            warn_once(probed);
        }
        if self.options.symlinks == Symlinks::Unsupported {
            let _ = self.probed.symlinks.set(false);
        }
        Ok(supported)
    }

    /// Gives the file `temp` the permission bits a new file in `blobs/` gets (upstream's
    /// `tmp_<uuid4>` probe, which avoids reading the process umask), probed once per folder by this
    /// writer and its clones (upstream probes for every file; the answer depends on the folder and
    /// the umask only). A file in `blobs/` (`temp_name`) is opened there without following a link.
    /// Failures are logged and ignored, as upstream.
    fn apply_default_mode(&self, blobs: &Dir, temp: &Path, temp_name: Option<&std::ffi::OsStr>) {
        let known = self
            .probed
            .file_mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(blobs.path())
            .cloned();
        let permissions = match known {
            Some(permissions) => Ok(permissions),
            None => new_file_mode(blobs).inspect(|permissions| {
                self.probed
                    .file_mode
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(blobs.path().to_path_buf(), permissions.clone());
            }),
        };
        let result = permissions.and_then(|permissions| match temp_name {
            Some(name) => blobs.open_rw(name)?.set_permissions(permissions),
            None => File::open(temp)?.set_permissions(permissions),
        });
        if let Err(e) = result {
            tracing::warn!(
                "could not set the permissions on the file `{}`: {e}; continuing without setting permissions",
                temp.display()
            );
        }
    }
}

/// Upstream's two checks on a repo path (`_validate_relative_filename`) plus ours
/// ([`layout::check_repo_path`]): together they keep a pointer inside `snapshots/<commit>/`.
fn check_pointer_path(repo_path: &str) -> Result<(), WriteError> {
    repo_path::validate_filename(repo_path)?;
    layout::check_repo_path(repo_path)?;
    Ok(())
}

/// The one ETag rule ([`Etag::parse`]) applied to a blob name given as text.
fn check_etag(etag: &str) -> Result<Etag, WriteError> {
    Ok(Etag::parse(etag)?)
}

/// The permissions of a new file in `dir`: upstream's probe, a `tmp_<uuid4>` file created and removed.
fn new_file_mode(dir: &Dir) -> io::Result<fs::Permissions> {
    let probe = format!("tmp_{}", random_uuid());
    let result = dir
        .create_new(&probe, 0o666)
        .and_then(|f| f.metadata())
        .map(|meta| meta.permissions());
    let _ = dir.remove_file(&probe);
    result
}

/// `shutil.copyfile` into `name` in `dir`: contents only, the new file gets the default mode; a
/// temporary file renamed over `name`, so a link there is replaced, never followed.
fn copy_into(mut source: File, dir: &Dir, name: &str) -> Result<(), WriteError> {
    let path = dir.join(name);
    let (temp, mut dest) = dir
        .create_unique("", "tmp", 0o666)
        .map_err(io_error("create a file in", dir.path()))?;
    let copied = io::copy(&mut source, &mut dest).and_then(|_| dir.rename(&temp, dir, name));
    if let Err(e) = copied {
        let _ = dir.remove_file(&temp);
        return Err(io_error("copy to", &path)(e));
    }
    Ok(())
}

fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

static PROBED: LazyLock<Mutex<HashMap<PathBuf, bool>>> = LazyLock::new(Default::default);
static WARNED: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Default::default);

/// Upstream's `are_symlinks_supported(dir)`: in a fresh `tmpXXXXXXXX` folder inside `dir` (created if
/// needed), create a file and a relative symlink to it. The answer is cached per resolved directory for
/// the life of the process.
pub fn probe_symlinks(dir: &Path) -> Result<bool, WriteError> {
    fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let resolved = fs::canonicalize(dir).map_err(io_error("resolve", dir))?;
    if let Some(&known) = PROBED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&resolved)
    {
        return Ok(known);
    }
    let probe_dir = resolved.join(format!("tmp{}", random_hex8()));
    fs::create_dir(&probe_dir).map_err(io_error("create directory", &probe_dir))?;
    let supported = File::create(probe_dir.join("dummy_file_src")).is_ok()
        && make_symlink(
            Path::new("dummy_file_src"),
            &probe_dir.join("dummy_file_dst"),
        )
        .is_ok();
    let _ = fs::remove_dir_all(&probe_dir);
    PROBED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(resolved, supported);
    Ok(supported)
}

/// The warning upstream shows once per directory when symlinks are unsupported (its text begins the same).
fn warn_once(dir: &Path) {
    let resolved = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let first = WARNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(resolved.clone());
    if first {
        tracing::warn!(
            "`huggingface_hub` cache-system uses symlinks by default to efficiently store duplicated files but \
             your machine does not support them in {}. The cache keeps working in a degraded mode that stores \
             copies and may use more disk space. Set the `HF_HUB_DISABLE_SYMLINKS_WARNING` environment variable \
             to silence this warning; see https://huggingface.co/docs/huggingface_hub/how-to-cache#limitations.",
            resolved.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, RepoWriter, CommitHash) {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let writer = cache.writer(
            &Repo::model("org/alpha").unwrap(),
            WriteOptions::default().with_symlinks(Symlinks::Supported),
        );
        (tmp, writer, CommitHash::new(&"a".repeat(40)).unwrap())
    }

    #[test]
    fn refs_are_rewritten_only_when_different() {
        let (_tmp, writer, commit) = setup();
        let other = CommitHash::new(&"b".repeat(40)).unwrap();
        assert!(writer.write_ref("main", &commit).unwrap());
        let path = writer.dir().ref_path("main");
        assert_eq!(fs::read_to_string(&path).unwrap(), commit.as_str());
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        assert!(!writer.write_ref("main", &commit).unwrap());
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        assert!(writer.write_ref("main", &other).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), other.as_str());
        // A full commit as revision writes nothing.
        assert!(!writer.write_ref(commit.as_str(), &commit).unwrap());
        assert!(!writer.dir().ref_path(commit.as_str()).exists());
        // Nested refs, and no temporary file left behind.
        assert!(writer.write_ref("refs/pr/1", &commit).unwrap());
        assert_eq!(
            writer.dir().read_ref("refs/pr/1").unwrap().as_deref(),
            Some(commit.as_str())
        );
        let leftovers: Vec<_> = walkdir::WalkDir::new(writer.dir().refs_dir())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn refs_with_dot_dot_are_refused() {
        let (tmp, writer, commit) = setup();
        for bad in ["../main", "a/../../b", "/abs", "a\\b", "", "refs//pr"] {
            assert!(
                matches!(
                    writer.write_ref(bad, &commit),
                    Err(WriteError::InvalidRevision(_))
                ),
                "{bad:?}"
            );
            assert!(writer.dir().read_ref(bad).is_err(), "{bad:?}");
        }
        assert!(!tmp.path().join("main").exists());
    }

    #[test]
    fn read_ref_is_raw() {
        let (_tmp, writer, commit) = setup();
        let path = writer.dir().ref_path("main");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("{commit}\n")).unwrap();
        assert_eq!(
            writer.dir().read_ref("main").unwrap(),
            Some(format!("{commit}\n"))
        );
        assert_eq!(writer.dir().read_ref("dev").unwrap(), None);
        // Rewritten because the content differs (the newline).
        assert!(writer.write_ref("main", &commit).unwrap());
        assert_eq!(fs::read(&path).unwrap(), commit.as_str().as_bytes());
    }

    #[test]
    fn repo_paths_that_escape_are_refused() {
        let (tmp, writer, commit) = setup();
        let blob = writer.create_incomplete_blob("e1").unwrap();
        writer.publish_blob(&blob.path, "e1").unwrap();
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\..\\x",
            "C:x",
            "a/C:/x",
            "\\\\host\\share",
            "",
            "a//b",
        ] {
            assert!(
                writer
                    .link_pointer(&commit, bad, "e1", BlobOrigin::Existing)
                    .is_err(),
                "{bad:?}"
            );
            assert!(writer.mark_no_exist(&commit, bad).is_err(), "{bad:?}");
        }
        for bad_etag in ["", "..", "a/b", "../../x"] {
            assert!(matches!(
                writer.link_pointer(&commit, "f", bad_etag, BlobOrigin::Existing),
                Err(WriteError::InvalidEtag(_))
            ));
            assert!(writer.publish_blob(&blob.path, bad_etag).is_err());
        }
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn a_repository_folder_removed_between_two_files_is_made_again() {
        let (_tmp, writer, commit) = setup();
        let clone = writer.clone();
        let write = |writer: &RepoWriter, etag: &str, name: &str| {
            let blob = writer.create_incomplete_blob(etag).unwrap();
            fs::write(&blob.path, etag).unwrap();
            writer.publish_blob(&blob.path, etag).unwrap();
            writer
                .link_pointer(&commit, name, etag, BlobOrigin::Downloaded)
                .unwrap();
            writer.write_ref("main", &commit).unwrap();
        };
        write(&writer, "e1", "a.txt");
        // Deleted in another terminal while the snapshot runs: the next file recreates the tree
        // (the cached folder handle would name a removed folder, where nothing can be made).
        fs::remove_dir_all(writer.dir().path()).unwrap();
        write(&clone, "e2", "d/b.txt");
        let pointer = writer.dir().pointer_path(commit.as_str(), "d/b.txt");
        assert_eq!(fs::read_to_string(&pointer).unwrap(), "e2");
        assert_eq!(
            writer.dir().read_ref("main").unwrap().as_deref(),
            Some(commit.as_str())
        );
        assert!(!writer.dir().pointer_path(commit.as_str(), "a.txt").exists());
    }

    #[test]
    fn pointers_replace_entries_and_accept_races() {
        let (_tmp, writer, commit) = setup();
        let blob = writer.create_incomplete_blob("e1").unwrap();
        assert!(
            blob.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("e1.")
        );
        writer.publish_blob(&blob.path, "e1").unwrap();
        let pointer = writer.dir().pointer_path(commit.as_str(), "d/f.txt");
        fs::create_dir_all(pointer.parent().unwrap()).unwrap();
        fs::write(&pointer, "stale").unwrap();
        let made = writer
            .link_pointer(&commit, "d/f.txt", "e1", BlobOrigin::Existing)
            .unwrap();
        assert_eq!(made.kind, PointerKind::Symlink);
        assert_eq!(
            fs::read_link(&pointer).unwrap(),
            Path::new("../../../blobs/e1")
        );
        // Concurrent writers of the same pointer all succeed (remove/symlink races are tolerated).
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        let made = writer
                            .link_pointer(&commit, "d/f.txt", "e1", BlobOrigin::Existing)
                            .unwrap();
                        assert!(matches!(
                            made.kind,
                            PointerKind::Symlink | PointerKind::AlreadyLinked
                        ));
                    }
                });
            }
        });
        assert_eq!(
            fs::read_link(&pointer).unwrap(),
            Path::new("../../../blobs/e1")
        );
        let missing = writer.link_pointer(&commit, "g", "nope", BlobOrigin::Existing);
        assert!(matches!(missing, Err(WriteError::BlobMissing { .. })));
    }
}
