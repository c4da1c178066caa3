//! The `local_dir` layout (`_local_folder.py` of huggingface_hub 2.x): where a file downloaded into a
//! plain folder goes, and the bookkeeping next to it.
//!
//! ```text
//! <local_dir>/
//! ├── <path…>                                   the file itself (a regular file)
//! └── .cache/huggingface/
//!     ├── .gitignore                            "*" (no newline), created once
//!     ├── CACHEDIR.TAG
//!     ├── download/<path…>.metadata             "<commit>\n<etag>\n<time.time()>\n"
//!     ├── download/<path…>.lock                 held while the file is checked, copied or downloaded
//!     ├── download/<dirs>/<b64>.<etag>.<8hex>.incomplete   a download in progress (resumed next run)
//!     └── trees/<commit>.json                   a snapshot's listing ([`crate::tree`])
//! ```
//!
//! `<b64>` is the URL-safe base64 (with padding) of the SHA-1 of the metadata file's name. Metadata is
//! trusted only while the file's mtime is at most one second past its timestamp.
//!
//! The folder belongs to the user and may hold links planted by anyone: every write below the
//! `local_dir` goes through [`LocalDir`], which reaches each folder from the `local_dir` root with
//! no-follow semantics ([`crate::fs::Dir`]) and creates or replaces files relative to the folder it
//! opened, so a symbolic link at any component, the last one included, is refused (or, for a file
//! being replaced, replaced itself), and nothing is written before those checks pass. The destination
//! folder of a download is reached again just before the file is moved there, so a folder swapped for
//! a link while the download ran does not receive it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::Digest as _;

use crate::fs::{AtomicOptions, Dir, DirError, EntryKind, ReadError, SMALL_FILE_CAP};
use crate::repo_path::RepoPath;

/// Exactly what upstream writes into `.gitignore`.
pub const GITIGNORE: &str = "*";

/// Why a `local_dir` operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalDirError {
    /// A component is a symbolic link (or not a folder): refused, nothing written through it.
    #[error(transparent)]
    Unsafe(#[from] DirError),
    /// Any other failure.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done (`create`, `open`, `write`...), for the message.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl LocalDirError {
    /// True when a planted link (or a file where a folder should be) was refused.
    pub fn is_unsafe(&self) -> bool {
        matches!(self, LocalDirError::Unsafe(DirError::NotAFolder { .. }))
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LocalDirError {
    let path = path.to_path_buf();
    move |source| LocalDirError::Io {
        action,
        path,
        source,
    }
}

/// The bookkeeping paths of one file of a local folder (`get_local_download_paths`), for messages and
/// for callers that take a path (locks); writes go through [`LocalDir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPaths {
    /// `<local_dir>/<path>`.
    pub file: PathBuf,
    /// `<local_dir>/.cache/huggingface/download/<path>.metadata`.
    pub metadata: PathBuf,
    /// `<local_dir>/.cache/huggingface/download/<path>.lock`.
    pub lock: PathBuf,
}

impl LocalPaths {
    /// The paths for `filename` (a checked repo path) under `local_dir`; nothing is created.
    pub fn new(local_dir: &Path, filename: &str) -> LocalPaths {
        let mut file = local_dir.to_path_buf();
        let mut metadata = huggingface_dir(local_dir).join("download");
        for part in filename.split('/') {
            file.push(part);
            metadata.push(part);
        }
        let name = base_name(filename);
        let lock = metadata.with_file_name(format!("{name}.lock"));
        let metadata = metadata.with_file_name(format!("{name}.metadata"));
        LocalPaths {
            file,
            metadata,
            lock,
        }
    }

    /// `<b64>.<etag>.` — the prefix of this file's partial downloads in its metadata folder.
    pub fn incomplete_prefix(&self, etag: &str) -> String {
        let name = self
            .metadata
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        incomplete_prefix(&name, etag)
    }
}

fn incomplete_prefix(metadata_name: &str, etag: &str) -> String {
    use base64::Engine as _;
    let digest = sha1::Sha1::digest(metadata_name.as_bytes());
    format!(
        "{}.{etag}.",
        base64::engine::general_purpose::URL_SAFE.encode(digest)
    )
}

fn base_name(filename: &str) -> &str {
    filename.rsplit('/').next().unwrap_or(filename)
}

fn parent_components(filename: &str) -> impl Iterator<Item = &str> {
    let mut parts: Vec<&str> = filename.split('/').collect();
    parts.pop();
    parts.into_iter()
}

/// `<local_dir>/.cache/huggingface`.
pub fn huggingface_dir(local_dir: &Path) -> PathBuf {
    local_dir.join(".cache").join("huggingface")
}

/// A parsed `.metadata` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The commit the file was downloaded at (first line, stripped; not validated here).
    pub commit: String,
    /// The file's ETag (second line, stripped; not validated here).
    pub etag: String,
    /// When the file was last checked, in seconds since the Unix epoch (third line; finite).
    pub timestamp: f64,
}

impl Metadata {
    /// Parses `<commit>\n<etag>\n<timestamp>\n` as upstream reads it (each line stripped).
    pub fn parse(text: &str) -> Option<Metadata> {
        let mut lines = text.lines().map(str::trim);
        let commit = lines.next()?.to_owned();
        let etag = lines.next()?.to_owned();
        let timestamp: f64 = lines.next()?.parse().ok()?;
        timestamp.is_finite().then_some(Metadata {
            commit,
            etag,
            timestamp,
        })
    }
}

/// Python's `str(time.time())`: the shortest repr of the float, always with a fraction.
pub fn timestamp_text(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut text = format!("{seconds}");
    if !text.contains('.') {
        text.push_str(".0");
    }
    text
}

/// A regular file found at a `local_dir` path (never through a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time (compared with [`Metadata::timestamp`]).
    pub modified: SystemTime,
}

/// A `local_dir`, opened once: every path below it is reached without following links.
#[derive(Debug)]
pub struct LocalDir {
    root: Dir,
}

impl LocalDir {
    /// Creates `path` if needed, resolves it as Python's `Path.resolve()` does (the user's own links on
    /// the way to it are followed: it is the folder they named) and opens it.
    pub fn open(path: &Path) -> Result<LocalDir, LocalDirError> {
        std::fs::create_dir_all(path).map_err(io_error("create", path))?;
        let resolved = crate::fs::resolve_path(path).map_err(io_error("resolve", path))?;
        let root = Dir::open(&resolved).map_err(io_error("open", &resolved))?;
        Ok(LocalDir { root })
    }

    /// The resolved `local_dir`.
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// The bookkeeping paths of `filename`.
    pub fn paths(&self, filename: &RepoPath) -> LocalPaths {
        LocalPaths::new(self.path(), filename.as_str())
    }

    /// `.cache/huggingface/` with its `CACHEDIR.TAG` and `.gitignore` (`_huggingface_dir`), each
    /// created only if absent and never through a link (a dangling `.gitignore` link is left alone).
    pub fn prepare(&self) -> Result<Dir, LocalDirError> {
        let dir = self.root.walk([".cache", "huggingface"], true)?;
        for (name, content) in [
            (
                crate::layout::CACHEDIR_TAG_NAME,
                crate::layout::CACHEDIR_TAG,
            ),
            (".gitignore", GITIGNORE),
        ] {
            match dir.create_new(name, 0o666) {
                Ok(mut file) => {
                    io::Write::write_all(&mut file, content.as_bytes())
                        .map_err(io_error("write", &dir.join(name)))?;
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(io_error("create", &dir.join(name))(error)),
            }
        }
        Ok(dir)
    }

    /// The folder that holds `filename`, created if asked, and the file's own name.
    pub fn file_dir<'a>(
        &self,
        filename: &'a RepoPath,
        create: bool,
    ) -> Result<(Dir, &'a str), LocalDirError> {
        let dir = self
            .root
            .walk(parent_components(filename.as_str()), create)?;
        Ok((dir, base_name(filename.as_str())))
    }

    /// The folder of `filename`'s metadata, lock and partial downloads
    /// (`.cache/huggingface/download/<dirs>`), created if asked.
    pub fn download_dir(&self, filename: &RepoPath, create: bool) -> Result<Dir, LocalDirError> {
        let components = [".cache", "huggingface", "download"]
            .into_iter()
            .chain(parent_components(filename.as_str()));
        Ok(self.root.walk(components, create)?)
    }

    /// `<b64>.<etag>.`, the prefix of `filename`'s partial downloads in [`LocalDir::download_dir`].
    pub fn incomplete_prefix(&self, filename: &RepoPath, etag: &str) -> String {
        incomplete_prefix(&format!("{}.metadata", base_name(filename.as_str())), etag)
    }

    /// The file at `filename` when it is a regular file itself (a link, even to a file, is `None`).
    pub fn file_state(&self, filename: &RepoPath) -> Option<FileState> {
        let (dir, name) = self.file_dir(filename, false).ok()?;
        match dir.entry(name) {
            Ok(Some(EntryKind::File { len, modified })) => Some(FileState { len, modified }),
            _ => None,
        }
    }

    /// Opens the regular file at `filename` for reading (never through a link).
    pub fn open_file(&self, filename: &RepoPath) -> Result<File, LocalDirError> {
        let (dir, name) = self.file_dir(filename, false)?;
        dir.open_read(name).map_err(|error| read_error(&error))
    }

    /// Removes the file at `filename` (a link itself, never its target); absent is fine.
    pub fn remove_file(&self, filename: &RepoPath) -> Result<(), LocalDirError> {
        match self.file_dir(filename, false) {
            Ok((dir, name)) => dir
                .remove_file(name)
                .map_err(io_error("remove", &self.paths(filename).file)),
            Err(error) if matches!(&error, LocalDirError::Unsafe(e) if e.is_missing()) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// `read_download_metadata`: `None` when absent, unparsable (then deleted, as upstream), not a
    /// regular file or larger than the cap (named in a warning, left alone), or outdated (the file was
    /// modified more than a second after the metadata was written, or is not a regular file).
    pub fn read_metadata(&self, filename: &RepoPath) -> Option<Metadata> {
        let paths = self.paths(filename);
        let dir = self.download_dir(filename, false).ok()?;
        let name = format!("{}.metadata", base_name(filename.as_str()));
        let bytes = match dir.read_capped(&name, SMALL_FILE_CAP) {
            Ok(bytes) => bytes,
            Err(error) if error.is_missing() => return None,
            Err(error) => {
                tracing::warn!("ignoring the metadata file: {error}");
                return None;
            }
        };
        let Some(metadata) = std::str::from_utf8(&bytes).ok().and_then(Metadata::parse) else {
            tracing::warn!(
                "invalid metadata file `{}`, removing it from disk",
                crate::display::Escaped(&paths.metadata.to_string_lossy())
            );
            let _ = dir.remove_file(&name);
            return None;
        };
        let mtime = self
            .file_state(filename)?
            .modified
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        if mtime - 1.0 <= metadata.timestamp {
            Some(metadata)
        } else {
            tracing::info!("ignored metadata for `{filename}` (outdated)");
            None
        }
    }

    /// `write_download_metadata` without its lock (callers hold it): `<commit>\n<etag>\n<time>\n`,
    /// written atomically; a link at the metadata's name is replaced, not followed.
    pub fn write_metadata(
        &self,
        filename: &RepoPath,
        commit: &str,
        etag: &str,
    ) -> Result<(), LocalDirError> {
        let dir = self.download_dir(filename, true)?;
        let name = format!("{}.metadata", base_name(filename.as_str()));
        let text = format!("{commit}\n{etag}\n{}\n", timestamp_text(SystemTime::now()));
        // `tmp<8hex>.tmp`: a temporary name no longer than the metadata's own.
        let options = AtomicOptions {
            tmp_prefix: true,
            ..AtomicOptions::default()
        };
        dir.write_atomic(&name, text.as_bytes(), options)
            .map_err(io_error("write", &self.paths(filename).metadata))
    }

    /// Moves `from_name` of `from` (a finished download in the download folder) to `filename`. The
    /// destination folder is reached again from the root now, without following links, so a folder
    /// swapped for a link during the download is refused; a link at the file's own name is replaced.
    pub fn install(
        &self,
        from: &Dir,
        from_name: &str,
        filename: &RepoPath,
    ) -> Result<PathBuf, LocalDirError> {
        let (dir, name) = self.file_dir(filename, true)?;
        let path = self.paths(filename).file;
        match from.rename(from_name, &dir, name) {
            Ok(()) => Ok(path),
            Err(error) if error.kind() == io::ErrorKind::CrossesDevices => {
                let mut source = from.open_read(from_name).map_err(|e| read_error(&e))?;
                let (tmp, mut target) = dir
                    .create_unique("", "tmp", 0o666)
                    .map_err(io_error("create a file in", dir.path()))?;
                let copied = io::copy(&mut source, &mut target)
                    .and_then(|_| dir.rename(&tmp, &dir, name))
                    .and_then(|()| from.remove_file(from_name));
                if copied.is_err() {
                    let _ = dir.remove_file(&tmp);
                }
                copied.map_err(io_error("move the download to", &path))?;
                Ok(path)
            }
            Err(error) => Err(io_error("move the download to", &path)(error)),
        }
    }

    /// Copies `source` (an open file, e.g. a blob of the cache) to `filename`: through a file unique
    /// to this call in the download folder, then [`LocalDir::install`]. Its cost grows with the file:
    /// async callers run it in a blocking task.
    pub fn copy_in(&self, mut source: File, filename: &RepoPath) -> Result<PathBuf, LocalDirError> {
        let dir = self.download_dir(filename, true)?;
        let (tmp, mut target) = dir
            .create_unique("", "copy", 0o666)
            .map_err(io_error("create a file in", dir.path()))?;
        let result = io::copy(&mut source, &mut target)
            .map_err(io_error("copy into", &dir.join(&tmp)))
            .and_then(|_| self.install(&dir, &tmp, filename));
        if result.is_err() {
            let _ = dir.remove_file(&tmp);
        }
        result
    }
}

fn read_error(error: &ReadError) -> LocalDirError {
    LocalDirError::Io {
        action: "open",
        path: error.path().to_path_buf(),
        source: io::Error::other(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> RepoPath {
        RepoPath::parse(text).unwrap()
    }

    #[test]
    fn bookkeeping_is_written_where_upstream_writes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let local = LocalDir::open(&tmp.path().join("local")).unwrap();
        let hf = local.prepare().unwrap();
        assert_eq!(std::fs::read_to_string(hf.join(".gitignore")).unwrap(), "*");
        assert!(hf.join("CACHEDIR.TAG").is_file());
        let file = path("sub/dir/notes.txt");
        local
            .write_metadata(&file, &"a".repeat(40), "etag")
            .unwrap();
        assert!(local.paths(&file).metadata.is_file());
        // No file yet: the metadata is not trusted.
        assert_eq!(local.read_metadata(&file), None);
        let (dir, name) = local.file_dir(&file, true).unwrap();
        std::fs::write(dir.join(name), b"x").unwrap();
        let metadata = local.read_metadata(&file).unwrap();
        assert_eq!(
            (metadata.commit.len(), metadata.etag.as_str()),
            (40, "etag")
        );
        assert_eq!(
            local.incomplete_prefix(&file, "e"),
            local.paths(&file).incomplete_prefix("e")
        );
    }

    #[test]
    fn planted_links_are_refused_or_replaced_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let root = tmp.path().join("local");
        let local = LocalDir::open(&root).unwrap();
        let file = path("f.txt");
        // A metadata link to a file outside: replaced by the write, the target untouched.
        let hf = local.prepare().unwrap();
        std::fs::create_dir_all(hf.join("download")).unwrap();
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), hf.join("download/f.txt.metadata"))
            .unwrap();
        assert_eq!(local.read_metadata(&file), None);
        local.write_metadata(&file, "c", "e").unwrap();
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        // A symlinked sub-folder: refused, naming it.
        std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
        let error = local.file_dir(&path("sub/x"), true).unwrap_err();
        assert!(error.is_unsafe(), "{error}");
        assert!(error.to_string().contains("sub"), "{error}");
        // A file that is a link is not a file here.
        std::os::unix::fs::symlink(outside.join("victim"), root.join("g.txt")).unwrap();
        assert_eq!(local.file_state(&path("g.txt")), None);
        // Installing over a link replaces the link.
        let download = local.download_dir(&path("g.txt"), true).unwrap();
        std::fs::write(download.join("new"), b"fresh").unwrap();
        local.install(&download, "new", &path("g.txt")).unwrap();
        assert_eq!(std::fs::read(root.join("g.txt")).unwrap(), b"fresh");
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
    }
}
