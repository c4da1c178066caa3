//! File-system primitives: bounded reads of files hfhub does not trust, folders reached without
//! following symbolic links, atomic writes and unique names.
//!
//! - Every small file hfhub reads from a user's folder or a cache (a token, a ref, a `.metadata`
//!   file, a cached listing) goes through [`read_capped`] (or [`Dir::read_capped`]), so a file that
//!   is a FIFO, `/dev/zero`, a directory or a multi-gigabyte blob planted where a ref should be gives
//!   a named error, never a hang or an unbounded allocation.
//! - [`Dir`] is an open folder: files and sub-folders are created, opened, renamed and removed
//!   relative to it with no-follow semantics (`openat`/`mkdirat`/`renameat` with `O_NOFOLLOW`), so a
//!   symbolic link planted at any component, the last one included, is refused rather than followed,
//!   and a folder swapped for a link after it was opened does not redirect a write (no time-of-check
//!   to time-of-use gap).
//! - [`write_atomic`] / [`Dir::write_atomic`]: a temporary file with a unique name in the same
//!   folder, then a rename over the destination, so a reader never sees half a file.
//! - [`random_hex8`], [`random_u64`], [`random_uuid`]: names unique to a call (not cryptographic).
//!
//! This module is a leaf: it uses nothing else from the crate.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, Read, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};

/// Cap for the small bookkeeping files: refs, tokens, `.metadata` files (64 KiB; a ref is 40 bytes).
pub const SMALL_FILE_CAP: u64 = 64 * 1024;

/// Whether [`read_capped`] may follow a symlink at the final component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a token file may legitimately be a symlink into a secrets mount).
    Follow,
    /// Refuse it: the file must itself be a regular file (refs and metadata inside a checked folder).
    Refuse,
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at that path.
    #[error("`{path}` does not exist")]
    Missing {
        /// The path read.
        path: PathBuf,
    },
    /// A directory, FIFO, socket, device, or (with [`Links::Refuse`]) a symlink.
    #[error("`{path}` is not a regular file")]
    NotRegular {
        /// The path read.
        path: PathBuf,
    },
    /// Larger than the cap the caller set.
    #[error("`{path}` is larger than {cap} bytes")]
    TooLarge {
        /// The path read.
        path: PathBuf,
        /// The cap, in bytes.
        cap: u64,
    },
    /// Not valid UTF-8 (only from [`read_capped_string`]).
    #[error("`{path}` is not valid UTF-8")]
    NotUtf8 {
        /// The path read.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("cannot read `{path}`")]
    Io {
        /// The path read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    /// True when nothing exists at the path (callers often treat that as "not set").
    pub fn is_missing(&self) -> bool {
        matches!(self, ReadError::Missing { .. })
    }

    /// The path that was not read.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Missing { path }
            | ReadError::NotRegular { path }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotUtf8 { path }
            | ReadError::Io { path, .. } => path,
        }
    }
}

/// Reads a whole regular file of at most `cap` bytes.
///
/// The file is opened non-blocking (a FIFO with no writer does not hang the open) and checked with
/// `fstat` on the opened handle (no race between check and read); at most `cap + 1` bytes are read,
/// so a file that grows or lies about its size cannot make the read unbounded.
pub fn read_capped(path: &Path, cap: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path, links)?;
    read_all_capped(file, path, cap)
}

/// [`read_capped`], then UTF-8.
pub fn read_capped_string(path: &Path, cap: u64, links: Links) -> Result<String, ReadError> {
    String::from_utf8(read_capped(path, cap, links)?).map_err(|_| ReadError::NotUtf8 {
        path: path.to_owned(),
    })
}

fn open_regular(path: &Path, links: Links) -> Result<File, ReadError> {
    open_regular_at(rustix::fs::CWD, path, path, links)
}

/// Opens `name` relative to `dir` for reading, non-blocking, and checks on the handle that it is a
/// regular file; `shown` is the path errors name.
fn open_regular_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &Path,
    shown: &Path,
    links: Links,
) -> Result<File, ReadError> {
    let path = shown;
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    if links == Links::Refuse {
        flags |= OFlags::NOFOLLOW;
    }
    let opened = rustix::fs::openat(dir, name, flags, Mode::empty())
        .map(File::from)
        .map_err(io::Error::from);
    let file = match opened {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ReadError::Missing {
                path: path.to_owned(),
            });
        }
        // ELOOP: the final component is a symlink and links are refused.
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(ReadError::NotRegular {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(ReadError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let metadata = file.metadata().map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

fn read_all_capped(file: File, path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            cap,
        });
    }
    Ok(bytes)
}

/// 64 random bits that differ between calls, threads and processes (not cryptographic).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

/// 8 random lowercase hex characters (upstream: `uuid4().hex[:8]`).
pub fn random_hex8() -> String {
    format!("{:08x}", random_u64() as u32)
}

/// A uuid4-shaped random string (upstream's `tmp_<uuid4>` probe names).
pub fn random_uuid() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// Python's `Path(path).resolve()` (non-strict), the one resolution of the crate: see
/// [`python_resolve`]; fails only when the current directory cannot be read for a relative path.
pub fn resolve_path(path: &Path) -> io::Result<PathBuf> {
    if !path.is_absolute() {
        std::env::current_dir()?;
    }
    Ok(python_resolve(path))
}

/// `os.path.abspath`: joined to the current directory and normalised lexically (`.`, `..`, `//`).
pub fn abspath(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut normalized = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if normalized.parent().is_some() {
                    normalized.pop();
                }
            }
            other => normalized.push(other),
        }
    }
    normalized
}

/// `Path.resolve()` (non-strict `os.path.realpath` of Python 3.11): symlinks resolved as far as they
/// exist, the rest appended lexically; a symlink loop stops resolution there.
pub fn python_resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut seen: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let (resolved, _) = join_real(PathBuf::from("/"), &absolute, &mut seen);
    abspath(&resolved)
}

/// The core of [`python_resolve`]: `rest` joined to the resolved `current`, each link on the way
/// replaced by its target; `false` when a loop stopped resolution.
pub(crate) fn join_real(
    mut current: PathBuf,
    rest: &Path,
    seen: &mut HashMap<PathBuf, Option<PathBuf>>,
) -> (PathBuf, bool) {
    if rest.is_absolute() {
        current = PathBuf::from("/");
    }
    let mut components = rest.components();
    while let Some(component) = components.next() {
        let name = match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
            Component::ParentDir => {
                current.pop();
                continue;
            }
            Component::Normal(name) => name,
        };
        let candidate = current.join(name);
        let is_link =
            std::fs::symlink_metadata(&candidate).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            current = candidate;
            continue;
        }
        if let Some(known) = seen.get(&candidate) {
            match known {
                Some(resolved) => {
                    current = resolved.clone();
                    continue;
                }
                None => return (candidate.join(components.as_path()), false),
            }
        }
        seen.insert(candidate.clone(), None);
        let Ok(target) = std::fs::read_link(&candidate) else {
            current = candidate;
            continue;
        };
        let (resolved, ok) = join_real(current.clone(), &target, seen);
        if !ok {
            return (resolved.join(components.as_path()), false);
        }
        seen.insert(candidate, Some(resolved.clone()));
        current = resolved;
    }
    (current, true)
}

/// Names in a directory, in the order the OS lists them (as `os.scandir`).
pub fn list_dir(path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    std::fs::read_dir(path)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect()
}

/// How [`write_atomic`] names its temporary file and what it gives the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtomicOptions {
    /// `tmp<8hex>.tmp` (upstream's `tempfile.mkstemp` for listings) instead of `<name>.<8hex>.tmp`.
    pub tmp_prefix: bool,
    /// Mode bits at creation (the umask applies unless `exact_mode`).
    pub mode: u32,
    /// Set `mode` exactly after creation (ignoring the umask), best effort.
    pub exact_mode: bool,
    /// `fsync` before the rename.
    pub sync: bool,
}

impl Default for AtomicOptions {
    /// `<name>.<8hex>.tmp`, mode 0666 less the umask, no sync (what `open(..., "w")` gives).
    fn default() -> Self {
        AtomicOptions {
            tmp_prefix: false,
            mode: 0o666,
            exact_mode: false,
            sync: false,
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file unique to this call in the same folder,
/// renamed over `path` (which is replaced even when it is a symlink: the link itself, never its
/// target). The folder must exist; the temporary file is removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8], options: AtomicOptions) -> io::Result<()> {
    let (parent, name) = split_parent(path)?;
    Dir::open(parent)?.write_atomic(name, bytes, options)
}

fn split_parent(path: &Path) -> io::Result<(&Path, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a path without a file name"))?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((parent, name))
}

/// Why a folder could not be reached without following a link.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// A component is a symbolic link (or a file where a folder should be): refused, not followed.
    #[error("`{path}` is a symbolic link or not a folder; refusing to write through it")]
    NotAFolder {
        /// The refused component's path.
        path: PathBuf,
    },
    /// Any other failure.
    #[error("cannot open the folder `{path}`")]
    Io {
        /// The folder that could not be opened or created.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl DirError {
    /// True when nothing exists at the path (and it was not to be created).
    pub fn is_missing(&self) -> bool {
        matches!(self, DirError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// What a no-follow `stat` of a name in a [`Dir`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Its size in bytes.
        len: u64,
        /// Its modification time.
        modified: std::time::SystemTime,
    },
    /// A folder.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// An open folder, and its path for messages. Every operation takes a single file name (no `/`)
/// and never follows a symbolic link at that name.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens a folder by path, following links on the way (the caller trusts this path: the cache
    /// root, a `local_dir` the user named).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            path: path.to_owned(),
        })
    }

    /// The path this folder was reached by (for messages and for callers that need a path).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this folder.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Opens the sub-folder `name`, creating it when asked and absent; a symlink is refused.
    pub fn child(&self, name: &str, create: bool) -> Result<Dir, DirError> {
        let path = self.path.join(name);
        check_name(OsStr::new(name)).map_err(|source| DirError::Io {
            path: path.clone(),
            source,
        })?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut created = false;
        loop {
            match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
                Ok(fd) => return Ok(Dir { fd, path }),
                Err(rustix::io::Errno::NOENT) if create && !created => {
                    match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => created = true,
                        Err(errno) => {
                            return Err(DirError::Io {
                                path,
                                source: errno.into(),
                            });
                        }
                    }
                }
                Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                    return Err(DirError::NotAFolder { path });
                }
                Err(errno) => {
                    return Err(DirError::Io {
                        path,
                        source: errno.into(),
                    });
                }
            }
        }
    }

    /// Walks `components` below this folder without following any link, creating missing folders
    /// when asked.
    pub fn walk<'a>(
        &self,
        components: impl IntoIterator<Item = &'a str>,
        create: bool,
    ) -> Result<Dir, DirError> {
        let mut current: Option<Dir> = None;
        for component in components {
            let next = current.as_ref().unwrap_or(self).child(component, create)?;
            current = Some(next);
        }
        match current {
            Some(dir) => Ok(dir),
            None => self.try_clone().map_err(|source| DirError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Opens the folder at `relative` (`/`-separated, below this folder) without following a link
    /// at any component, creating missing folders when asked. One `openat2` call
    /// (`RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH`) when every folder exists; otherwise (a folder to
    /// create, a refused component to name, a kernel without `openat2`) a walk of [`Dir::child`]
    /// calls, which names the component it refuses.
    pub fn open_beneath(&self, relative: &str, create: bool) -> Result<Dir, DirError> {
        let components = || relative.split('/').filter(|part| !part.is_empty());
        let valid = components().all(|part| check_name(OsStr::new(part)).is_ok());
        if valid && components().next().is_some() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let resolve = rustix::fs::ResolveFlags::NO_SYMLINKS
                | rustix::fs::ResolveFlags::BENEATH
                | rustix::fs::ResolveFlags::NO_MAGICLINKS;
            if let Ok(fd) = rustix::fs::openat2(&self.fd, relative, flags, Mode::empty(), resolve) {
                return Ok(Dir {
                    fd,
                    path: self.path.join(relative),
                });
            }
        }
        self.walk(components(), create)
    }

    /// Whether this folder was removed since it was opened (no name links to it any more: a
    /// folder made in it now fails, a file made in it is lost). One `fstat`.
    pub fn is_removed(&self) -> io::Result<bool> {
        Ok(rustix::fs::fstat(&self.fd)?.st_nlink == 0)
    }

    /// A second handle on the same folder.
    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
        })
    }

    /// What `name` is, without following a link; `None` when absent.
    pub fn entry(&self, name: impl AsRef<Path>) -> io::Result<Option<EntryKind>> {
        check_name(name.as_ref().as_os_str())?;
        match rustix::fs::statat(&self.fd, name.as_ref(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => {
                let kind = rustix::fs::FileType::from_raw_mode(stat.st_mode);
                Ok(Some(match kind {
                    rustix::fs::FileType::RegularFile => EntryKind::File {
                        len: stat.st_size as u64,
                        modified: system_time(stat.st_mtime, stat.st_mtime_nsec as i64),
                    },
                    rustix::fs::FileType::Directory => EntryKind::Dir,
                    rustix::fs::FileType::Symlink => EntryKind::Symlink,
                    _ => EntryKind::Other,
                }))
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(errno) => Err(errno.into()),
        }
    }

    /// Creates `name` (it must not exist: never through a link, even a dangling one), for reading
    /// and writing.
    pub fn create_new(&self, name: impl AsRef<Path>, mode: u32) -> io::Result<File> {
        check_name(name.as_ref().as_os_str())?;
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(
            &self.fd,
            name.as_ref(),
            flags,
            Mode::from_raw_mode(mode),
        )?))
    }

    /// Opens an existing regular file `name` for reading and writing (a link is refused).
    pub fn open_rw(&self, name: impl AsRef<Path>) -> io::Result<File> {
        check_name(name.as_ref().as_os_str())?;
        let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = File::from(rustix::fs::openat(
            &self.fd,
            name.as_ref(),
            flags,
            Mode::empty(),
        )?);
        if !file.metadata()?.is_file() {
            return Err(io::Error::other(format!(
                "`{}` is not a regular file",
                self.path.join(name).display()
            )));
        }
        Ok(file)
    }

    /// Opens an existing regular file `name` for reading (a link is refused, a FIFO does not block).
    pub fn open_read(&self, name: impl AsRef<Path>) -> Result<File, ReadError> {
        let shown = self.path.join(name.as_ref());
        check_name(name.as_ref().as_os_str()).map_err(|source| ReadError::Io {
            path: shown.clone(),
            source,
        })?;
        open_regular_at(self.fd.as_fd(), name.as_ref(), &shown, Links::Refuse)
    }

    /// [`read_capped`] of the regular file `name` in this folder (never through a link).
    pub fn read_capped(&self, name: impl AsRef<Path>, cap: u64) -> Result<Vec<u8>, ReadError> {
        let shown = self.path.join(name.as_ref());
        let file = self.open_read(name)?;
        read_all_capped(file, &shown, cap)
    }

    /// Removes the entry `name` (a link itself, never its target); absent is not an error.
    pub fn remove_file(&self, name: impl AsRef<Path>) -> io::Result<()> {
        check_name(name.as_ref().as_os_str())?;
        match rustix::fs::unlinkat(&self.fd, name.as_ref(), AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(errno) => Err(errno.into()),
        }
    }

    /// Renames `name` to `dest_name` in `dest` (replacing it; a link there is replaced, not followed).
    pub fn rename(
        &self,
        name: impl AsRef<Path>,
        dest: &Dir,
        dest_name: impl AsRef<Path>,
    ) -> io::Result<()> {
        check_name(name.as_ref().as_os_str())?;
        check_name(dest_name.as_ref().as_os_str())?;
        rustix::fs::renameat(&self.fd, name.as_ref(), &dest.fd, dest_name.as_ref())?;
        Ok(())
    }

    /// Moves the file at `from` (a path this process made, outside any folder it must not follow)
    /// to `name` in this folder, replacing what is there (a link there is replaced, not followed).
    pub fn move_in(&self, from: &Path, name: impl AsRef<Path>) -> io::Result<()> {
        check_name(name.as_ref().as_os_str())?;
        rustix::fs::renameat(rustix::fs::CWD, from, &self.fd, name.as_ref())?;
        Ok(())
    }

    /// Creates the symbolic link `name` -> `target` in this folder (`symlinkat`); an existing entry
    /// is an error (`AlreadyExists`), never replaced or followed.
    pub fn symlink(&self, target: impl AsRef<Path>, name: impl AsRef<Path>) -> io::Result<()> {
        check_name(name.as_ref().as_os_str())?;
        rustix::fs::symlinkat(target.as_ref(), &self.fd, name.as_ref())?;
        Ok(())
    }

    /// The target of the link `name` in this folder (`readlinkat`).
    pub fn read_link(&self, name: impl AsRef<Path>) -> io::Result<PathBuf> {
        check_name(name.as_ref().as_os_str())?;
        let target = rustix::fs::readlinkat(&self.fd, name.as_ref(), Vec::new())?;
        Ok(PathBuf::from(
            OsStr::from_bytes(target.as_bytes()).to_owned(),
        ))
    }

    /// Whether `name` here and `other_name` in `other` are the same file once links are followed
    /// (a read: device and inode compared; false when either is absent).
    pub fn same_file(
        &self,
        name: impl AsRef<Path>,
        other: &Dir,
        other_name: impl AsRef<Path>,
    ) -> bool {
        let id = |dir: &Dir, name: &Path| {
            check_name(name.as_os_str()).ok()?;
            let stat = rustix::fs::statat(&dir.fd, name, AtFlags::empty()).ok()?;
            Some((stat.st_dev, stat.st_ino))
        };
        let here = id(self, name.as_ref());
        here.is_some() && here == id(other, other_name.as_ref())
    }

    /// Creates the regular file `name` if absent (an existing one is left as is, its contents kept);
    /// a link at the name is refused, and a FIFO there does not block.
    pub fn touch(&self, name: impl AsRef<Path>, mode: u32) -> io::Result<()> {
        check_name(name.as_ref().as_os_str())?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = File::from(rustix::fs::openat(
            &self.fd,
            name.as_ref(),
            flags,
            Mode::from_raw_mode(mode),
        )?);
        if !file.metadata()?.is_file() {
            return Err(io::Error::other(format!(
                "`{}` is not a regular file",
                self.path.join(name).display()
            )));
        }
        Ok(())
    }

    /// The names in this folder (`.` and `..` left out; names that are not UTF-8 left out).
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let bytes = entry.file_name().to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            if let Ok(name) = std::str::from_utf8(bytes) {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// A temporary file with a unique name in this folder: `<stem>.<8hex>.<suffix>` (or
    /// `tmp<8hex>.<suffix>` with an empty stem), created new.
    pub fn create_unique(&self, stem: &str, suffix: &str, mode: u32) -> io::Result<(String, File)> {
        loop {
            let name = if stem.is_empty() {
                format!("tmp{}.{suffix}", random_hex8())
            } else {
                format!("{stem}.{}.{suffix}", random_hex8())
            };
            match self.create_new(&name, mode) {
                Ok(file) => return Ok((name, file)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// [`write_atomic`] of `name` in this folder.
    pub fn write_atomic(
        &self,
        name: impl AsRef<Path>,
        bytes: &[u8],
        options: AtomicOptions,
    ) -> io::Result<()> {
        let name = name.as_ref();
        check_name(name.as_os_str())?;
        let stem = if options.tmp_prefix {
            String::new()
        } else {
            name.to_string_lossy().into_owned()
        };
        let (tmp, mut file) = self.create_unique(&stem, "tmp", options.mode)?;
        let result = (|| {
            if options.exact_mode {
                let _ = rustix::fs::fchmod(&file, Mode::from_raw_mode(options.mode));
            }
            file.write_all(bytes)?;
            if options.sync {
                file.sync_all()?;
            }
            drop(file);
            self.rename(&tmp, self, name)
        })();
        if result.is_err() {
            let _ = self.remove_file(&tmp);
        }
        result
    }
}

/// One plain file name: not empty, not `.`/`..`, no `/`.
fn check_name(name: &OsStr) -> io::Result<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a single file name", name.to_string_lossy()),
        ));
    }
    Ok(())
}

fn system_time(seconds: i64, nanos: i64) -> std::time::SystemTime {
    let base = std::time::UNIX_EPOCH;
    let nanos = std::time::Duration::from_nanos(nanos.clamp(0, 999_999_999) as u64);
    if seconds >= 0 {
        base + std::time::Duration::from_secs(seconds as u64) + nanos
    } else {
        base - std::time::Duration::from_secs(seconds.unsigned_abs()) + nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(read_capped(&path, 3, Links::Refuse).unwrap(), b"abc");
        assert!(matches!(
            read_capped(&path, 2, Links::Refuse),
            Err(ReadError::TooLarge { cap: 2, .. })
        ));
    }

    #[test]
    fn devices_fifos_directories_and_refused_links_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        // /dev/zero would be read for ever by a plain read_to_string.
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(matches!(
            read_capped(dir.path(), 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // No writer: a blocking open would hang here.
        assert!(matches!(
            read_capped(&fifo, 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_capped(&link, 10, Links::Follow).unwrap(), b"x");
        assert!(matches!(
            read_capped(&link, 10, Links::Refuse),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(
            read_capped(&dir.path().join("none"), 10, Links::Follow)
                .unwrap_err()
                .is_missing()
        );
        std::fs::write(&target, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_capped_string(&target, 10, Links::Follow),
            Err(ReadError::NotUtf8 { .. })
        ));
    }
}
