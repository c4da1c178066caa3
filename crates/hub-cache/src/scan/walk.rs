//! The scan's system calls on many files: `path.glob("**/*")` walked through directory handles, a
//! link's target read relative to its folder while the folder is listed, and blobs `lstat`ed
//! relative to an open handle on their folder.
//!
//! Relative calls answer exactly what the same calls on full paths answer: `readlinkat(dir, name)` is
//! `readlink(dir_path/name)` when `dir` is the folder `dir_path` names, and `fstatat(folder, name,
//! AT_SYMLINK_NOFOLLOW)` is `lstat(folder_path/name)` for a single `name` (the kernel walks
//! `folder_path` following links either way, then looks `name` up without following it). What they
//! save is the kernel's walk of every component of the full path, once per file.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// What a directory entry is, from its type in the listing (or an `lstat` where the listing does not
/// say), links not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File,
    Link,
    /// A FIFO, socket or device.
    Other,
}

impl Kind {
    fn of(file_type: FileType) -> Kind {
        match file_type {
            FileType::Directory => Kind::Dir,
            FileType::RegularFile => Kind::File,
            FileType::Symlink => Kind::Link,
            _ => Kind::Other,
        }
    }
}

/// One entry met by [`glob_recursive`].
pub(super) struct Found {
    /// The folder walked, joined with the names below it.
    pub path: PathBuf,
    /// `None` when the type could not be had.
    pub kind: Option<Kind>,
    /// A link's target, read while its folder was listed (`None`: not a link, or unreadable).
    pub target: Option<PathBuf>,
}

/// `path.glob("**/*")` of Python 3.11 in its order: a directory's entries, then each real (not
/// symlinked) subdirectory in turn. Nothing when `path` is not a directory (links followed); a
/// directory that cannot be listed for lack of permission contributes nothing.
pub(super) fn glob_recursive(path: &Path) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
    if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Ok(found);
    }
    // The walked folder itself may be reached through links, as `read_dir` would.
    glob_into(path, OFlags::empty(), &mut found)?;
    Ok(found)
}

/// Lists `dir` into `found`, then each subdirectory the listing typed as a folder. A listing's handle
/// is closed before the walk goes deeper, so the handles open at once stay few however deep the tree.
fn glob_into(dir: &Path, extra: OFlags, found: &mut Vec<Found>) -> io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | extra;
    let fd = match rustix::fs::openat(rustix::fs::CWD, dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::ACCESS) => return Ok(()),
        Err(errno) => return Err(errno.into()),
    };
    let mut listing = rustix::fs::Dir::new(fd)?;
    let first = found.len();
    while let Some(entry) = listing.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = OsStr::from_bytes(name);
        let handle = listing.fd()?;
        let kind = match entry.file_type() {
            FileType::Unknown => rustix::fs::statat(handle, name, AtFlags::SYMLINK_NOFOLLOW)
                .ok()
                .map(|stat| Kind::of(FileType::from_raw_mode(stat.st_mode))),
            known => Some(Kind::of(known)),
        };
        let target = match kind {
            Some(Kind::Link) => rustix::fs::readlinkat(handle, name, Vec::new())
                .ok()
                .map(|target| PathBuf::from(OsString::from_vec(target.into_bytes()))),
            _ => None,
        };
        found.push(Found {
            path: dir.join(name),
            kind,
            target,
        });
    }
    drop(listing);
    let listed = found.len();
    for at in first..listed {
        if found[at].kind == Some(Kind::Dir) {
            let sub = found[at].path.clone();
            // A real folder when listed: never follow a link that replaced it since.
            glob_into(&sub, OFlags::NOFOLLOW, found)?;
        }
    }
    Ok(())
}

/// Size and times of a blob (links followed where the caller followed them).
#[derive(Debug, Clone, Copy)]
pub(super) struct BlobStat {
    pub size: u64,
    pub accessed: SystemTime,
    pub modified: SystemTime,
}

impl BlobStat {
    pub fn of(metadata: &std::fs::Metadata) -> BlobStat {
        // Both are available on every platform we build for; the epoch is a harmless fallback.
        BlobStat {
            size: metadata.len(),
            accessed: metadata.accessed().unwrap_or(UNIX_EPOCH),
            modified: metadata.modified().unwrap_or(UNIX_EPOCH),
        }
    }
}

/// What an `lstat` of a blob path found.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lstat {
    /// Neither a link nor a folder: the stat is what `stat()` would give too.
    File(BlobStat),
    Folder,
    Link,
}

/// Handles a [`BlobFolders`] keeps open at most (one per repo is the usual; each repo's scan has its
/// own, dropped at its end).
const MAX_HANDLES: usize = 16;

/// `lstat` of blob paths, relative to one handle per distinct folder (the first [`MAX_HANDLES`]).
pub(super) struct BlobFolders {
    /// Handles by folder (`None` when it could not be opened: then the full path is used).
    handles: Vec<Option<OwnedFd>>,
    index: HashMap<PathBuf, usize>,
    last: Last<usize>,
}

impl Default for BlobFolders {
    fn default() -> Self {
        BlobFolders {
            handles: Vec::new(),
            index: HashMap::new(),
            last: Last::new(),
        }
    }
}

impl BlobFolders {
    /// `lstat(path)`.
    pub fn lstat(&mut self, path: &Path) -> io::Result<Lstat> {
        let Some((folder, name)) = split_clean(path) else {
            return lstat_path(path);
        };
        let (handles, index) = (&mut self.handles, &mut self.index);
        let at = self.last.get_or(folder, |folder| {
            *index
                .entry(folder.to_path_buf())
                .or_insert_with_key(|folder| {
                    // A hostile repo may name a folder per pointer: past a few handles, full paths.
                    let open = || {
                        rustix::fs::openat(rustix::fs::CWD, folder, handle_flags(), Mode::empty())
                    };
                    let handle = (handles.len() < MAX_HANDLES)
                        .then(open)
                        .and_then(Result::ok);
                    handles.push(handle);
                    handles.len() - 1
                })
        });
        let Some(Some(handle)) = self.handles.get(at) else {
            return lstat_path(path);
        };
        let stat = rustix::fs::statat(handle, name, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => Lstat::Folder,
            FileType::Symlink => Lstat::Link,
            _ => Lstat::File(BlobStat {
                size: u64::try_from(stat.st_size).unwrap_or(0),
                accessed: system_time(stat.st_atime as i64, stat.st_atime_nsec as i64),
                modified: system_time(stat.st_mtime as i64, stat.st_mtime_nsec as i64),
            }),
        })
    }
}

fn lstat_path(path: &Path) -> io::Result<Lstat> {
    let metadata = std::fs::symlink_metadata(path)?;
    Ok(if metadata.is_dir() {
        Lstat::Folder
    } else if metadata.file_type().is_symlink() {
        Lstat::Link
    } else {
        Lstat::File(BlobStat::of(&metadata))
    })
}

/// A handle good for `fstatat` only: `O_PATH` where there is one (it needs no read permission on the
/// folder, as `lstat` of a path needs none).
fn handle_flags() -> OFlags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    flags
}

/// A `stat` time as `SystemTime` (what `Metadata::accessed`/`modified` give).
fn system_time(seconds: i64, nanos: i64) -> SystemTime {
    let nanos = Duration::from_nanos(u64::try_from(nanos.clamp(0, 999_999_999)).unwrap_or(0));
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs()) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()) + nanos
    }
}

/// `a.cmp(b)` of two clean paths (no empty, `.` or `..` component, no trailing `/`: what the walk
/// and lexical normalisation produce), from their bytes: comparing component by component is
/// comparing the bytes with `/` ranked below every byte a name can hold (names hold neither `/` nor
/// NUL), which needs only the first differing byte.
pub(super) fn clean_cmp(a: &Path, b: &Path) -> std::cmp::Ordering {
    clean_cmp_bytes(a.as_os_str().as_bytes(), b.as_os_str().as_bytes())
}

/// [`clean_cmp`] of the bytes of two clean paths, or of what follows the same clean prefix and `/`.
pub(super) fn clean_cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let rank = |byte: u8| if byte == b'/' { 0 } else { u16::from(byte) + 1 };
    let common = a.len().min(b.len());
    let (a_head, b_head) = (&a[..common], &b[..common]);
    // Whole blocks first (a compare of 16 bytes at once), then the byte that differs.
    let mut at = 0;
    for (x, y) in a_head.chunks_exact(16).zip(b_head.chunks_exact(16)) {
        if x != y {
            break;
        }
        at += 16;
    }
    match a_head[at..].iter().zip(&b_head[at..]).find(|(x, y)| x != y) {
        Some((x, y)) => rank(*x).cmp(&rank(*y)),
        None => a.len().cmp(&b.len()),
    }
}

/// `(path.parent(), path.file_name())` of a clean absolute path, from its last `/`.
pub(super) fn split_clean(path: &Path) -> Option<(&Path, &OsStr)> {
    let bytes = path.as_os_str().as_bytes();
    let slash = bytes.iter().rposition(|byte| *byte == b'/')?;
    let name = &bytes[slash + 1..];
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    let parent = if slash == 0 {
        &bytes[..1]
    } else {
        &bytes[..slash]
    };
    Some((
        Path::new(OsStr::from_bytes(parent)),
        OsStr::from_bytes(name),
    ))
}

/// `path.starts_with(base)` for clean paths, from their bytes.
pub(super) fn clean_starts_with(path: &Path, base: &Path) -> bool {
    let (path, base) = (path.as_os_str().as_bytes(), base.as_os_str().as_bytes());
    path.starts_with(base)
        && (path.len() == base.len() || base.ends_with(b"/") || path[base.len()] == b'/')
}

/// A clean path as a map key, hashed and compared as bytes (for clean paths, equal bytes are equal
/// paths; `Path`'s own hash walks the components).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CleanKey(Vec<u8>);

impl std::borrow::Borrow<[u8]> for CleanKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl CleanKey {
    pub fn new(path: &Path) -> CleanKey {
        CleanKey(path.as_os_str().as_bytes().to_vec())
    }

    /// What a map of these keys is looked up with.
    pub fn bytes(path: &Path) -> &[u8] {
        path.as_os_str().as_bytes()
    }
}

/// A one-entry memory in front of a lookup keyed by folder: the files of a folder come together, so
/// most questions repeat the last one.
pub(super) struct Last<T> {
    last: Option<(PathBuf, T)>,
}

impl<T: Clone> Last<T> {
    pub fn new() -> Last<T> {
        Last { last: None }
    }

    /// The answer for `folder`, from memory when it was the last one asked about.
    pub fn get_or(&mut self, folder: &Path, answer: impl FnOnce(&Path) -> T) -> T {
        if let Some((known, value)) = &self.last
            && known.as_os_str() == folder.as_os_str()
        {
            return value.clone();
        }
        let value = answer(folder);
        self.last = Some((folder.to_path_buf(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A clean absolute path from names of characters that sort around `/` (`-`, `.`, `0`), with
    /// multi-byte ones.
    fn clean_path() -> impl Strategy<Value = PathBuf> {
        let name = "[-.0a/é]{1,4}".prop_filter_map("a name", |name| {
            (!name.contains('/') && name != "." && name != "..").then_some(name)
        });
        proptest::collection::vec(name, 1..5)
            .prop_map(|names| PathBuf::from(format!("/r/{}", names.join("/"))))
    }

    proptest! {
        #[test]
        fn clean_cmp_is_path_cmp(a in clean_path(), b in clean_path()) {
            prop_assert_eq!(clean_cmp(&a, &b), a.cmp(&b));
            prop_assert_eq!(clean_starts_with(&a, &b), a.starts_with(&b));
            let (parent, name) = split_clean(&a).expect("a name");
            prop_assert_eq!(Some(parent), a.parent());
            prop_assert_eq!(Some(name), a.file_name());
        }
    }

    #[test]
    fn split_clean_at_the_root() {
        assert_eq!(
            split_clean(Path::new("/blob")),
            Some((Path::new("/"), OsStr::new("blob")))
        );
        assert_eq!(split_clean(Path::new("/")), None);
        assert!(clean_starts_with(Path::new("/a/b"), Path::new("/")));
        assert!(!clean_starts_with(Path::new("/ab"), Path::new("/a")));
    }
}
