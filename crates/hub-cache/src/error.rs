//! [`Error`]: every failure of this crate in one type, for callers that do not care which operation
//! failed and want to use `?` across lookups, scans, deletions, writes and locks.
//!
//! Each operation keeps its own precise error type (a [`LookupError`], a [`ScanError`]...), and
//! `Error` has a `From` for each of them, so a function returning `Result<_, hub_cache::Error>` can
//! call any of them with `?`. The message is the inner error's, unchanged (the variants are
//! transparent): it already names the repository, revision, file or path involved. Ask the error
//! rather than matching variants ([`Error::is_not_found`], [`Error::is_not_cached`],
//! [`Error::is_permission_denied`], [`Error::repo`], [`Error::path`]...): the enum is
//! `#[non_exhaustive]` and grows with the crate.
//!
//! ```
//! # fn main() -> Result<(), hub_cache::Error> {
//! let dir = tempfile::tempdir().expect("a temporary folder");
//! let cache = hub_cache::Cache::new(dir.path());
//! let error = cache.model("openai-community/gpt2").get("config.json").unwrap_err();
//! assert!(error.is_not_found() && error.is_not_cached());
//! assert_eq!(error.repo().map(|r| r.id.as_str()), Some("openai-community/gpt2"));
//! assert_eq!(error.revision(), Some("main"));
//! assert_eq!(error.filename(), Some("config.json"));
//! # Ok(())
//! # }
//! ```

use std::io;
use std::path::Path;

use crate::assets::AssetsError;
use crate::delete::DeleteError;
use crate::env::BadValue;
use crate::etag::InvalidEtag;
use crate::fs::{DirError, ReadError};
use crate::layout::InvalidRepoPath;
use crate::local_dir::LocalDirError;
use crate::lock::LockError;
use crate::lookup::{LookupError, OfflineError};
use crate::refs::ReadRefError;
use crate::repo::{InvalidRepoId, InvalidRepoRef, InvalidRepoType, InvalidRevision, Repo};
use crate::repo_path::InvalidFilename;
use crate::scan::ScanError;
use crate::tree::WriteTreeError;
use crate::verify::VerifyError;
use crate::write::WriteError;

/// Any failure of a hub-cache operation. The message is the inner error's (see the module docs);
/// the inner error stays reachable through the variant and through [`std::error::Error::source`]
/// of the inner error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A cache lookup ([`crate::Cache::try_to_load_from_cache`] and its siblings) failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// An offline resolution found nothing usable ([`crate::Cache::cached_file`],
    /// [`crate::Cache::cached_snapshot`], [`crate::RepoLookup::get`]...).
    #[error(transparent)]
    Offline(#[from] OfflineError),
    /// A bounded read of a small file (a ref, a token, a `.metadata` file) failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A ref could not be read ([`crate::RepoDir::read_ref`]).
    #[error(transparent)]
    ReadRef(#[from] ReadRefError),
    /// A folder could not be reached without following a link.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// A write into the cache failed ([`crate::RepoWriter`]).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A lock file could not be taken ([`crate::FileLock`]).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// An assets folder could not be made ([`crate::cached_assets_path`]).
    #[error(transparent)]
    Assets(#[from] AssetsError),
    /// A verification could not run ([`crate::verify::plan`]).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A `local_dir` operation failed ([`crate::local_dir::LocalDir`]).
    #[error(transparent)]
    LocalDir(#[from] LocalDirError),
    /// A deletion failed ([`crate::Plan::execute`]).
    #[error(transparent)]
    Delete(#[from] DeleteError),
    /// A scan could not run ([`crate::scan()`]).
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A cached listing (`trees/<commit>.json`) could not be written ([`crate::tree::write`]).
    #[error(transparent)]
    WriteTree(#[from] WriteTreeError),
    /// A repository id was refused ([`crate::RepoId::new`], [`crate::Cache::model`]...).
    #[error(transparent)]
    InvalidRepoId(#[from] InvalidRepoId),
    /// A repository type name was refused (`"model"`, `"dataset"`, `"space"`, `"kernel"` are valid).
    #[error(transparent)]
    InvalidRepoType(#[from] InvalidRepoType),
    /// A repository argument (`org/name`, `datasets/org/name`, `hf://...`) was refused.
    #[error(transparent)]
    InvalidRepoRef(#[from] InvalidRepoRef),
    /// A revision could not name a ref file ([`crate::repo::check_revision`]).
    #[error(transparent)]
    InvalidRevision(#[from] InvalidRevision),
    /// A file name upstream refuses ([`crate::repo_path::validate_filename`]).
    #[error(transparent)]
    InvalidFilename(#[from] InvalidFilename),
    /// A repo file path that cannot be written under a snapshot ([`crate::layout::check_repo_path`]).
    #[error(transparent)]
    InvalidRepoPath(#[from] InvalidRepoPath),
    /// A repo file path refused where it enters ([`crate::RepoPath::parse`]).
    #[error(transparent)]
    RefusedRepoPath(#[from] crate::repo_path::InvalidRepoPath),
    /// A value not usable as an ETag ([`crate::Etag::parse`]).
    #[error(transparent)]
    InvalidEtag(#[from] InvalidEtag),
    /// An environment variable with a value that does not parse ([`crate::env::Env::int_or`]).
    #[error(transparent)]
    BadEnvValue(#[from] BadValue),
}

impl Error {
    /// What was asked for does not exist: a file, snapshot or repository that is not in the cache
    /// (every [`Error::is_not_cached`] error), a cache directory that does not exist, or a path an
    /// operation needed that was missing.
    pub fn is_not_found(&self) -> bool {
        if self.is_not_cached() {
            return true;
        }
        match self {
            Error::Scan(ScanError::NotFound { .. }) | Error::Read(ReadError::Missing { .. }) => {
                true
            }
            Error::ReadRef(ReadRefError::Read(ReadError::Missing { .. })) => true,
            _ => self
                .io_error()
                .is_some_and(|e| e.kind() == io::ErrorKind::NotFound),
        }
    }

    /// Nothing usable is in the cache for this file, snapshot or repository (upstream's
    /// `LocalEntryNotFoundError` family: not cached, or a cached snapshot lacking files its cached
    /// listing names). A caller that may go online fetches it then.
    pub fn is_not_cached(&self) -> bool {
        match self {
            Error::Offline(error) => error.is_not_cached(),
            Error::Verify(VerifyError::NotCached { .. }) => true,
            _ => false,
        }
    }

    /// The operating system refused access to a path (`EACCES`/`EPERM`).
    pub fn is_permission_denied(&self) -> bool {
        self.io_error()
            .is_some_and(|e| e.kind() == io::ErrorKind::PermissionDenied)
    }

    /// An argument was refused before anything was read or written: a repository id, type or
    /// argument, a revision, a file name or path, an ETag, an assets folder name, or an environment
    /// value.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidRepoId(_)
                | Error::InvalidRepoType(_)
                | Error::InvalidRepoRef(_)
                | Error::InvalidRevision(_)
                | Error::InvalidFilename(_)
                | Error::InvalidRepoPath(_)
                | Error::RefusedRepoPath(_)
                | Error::InvalidEtag(_)
                | Error::BadEnvValue(_)
                | Error::Assets(AssetsError::InvalidName(_))
                | Error::Lookup(LookupError::InvalidFilename(_))
                | Error::Offline(
                    OfflineError::InvalidFilename(_) | OfflineError::InvalidRepoPath(_)
                )
                | Error::ReadRef(ReadRefError::InvalidRevision(_))
                | Error::Write(
                    WriteError::InvalidRevision(_)
                        | WriteError::InvalidRepoPath(_)
                        | WriteError::InvalidFilename(_)
                        | WriteError::InvalidEtag(_)
                )
        )
    }

    /// A symbolic link (or a file where a folder should be) was refused rather than followed: the
    /// cache or local folder holds something hfhub did not make, and nothing was written through it.
    pub fn is_refused_link(&self) -> bool {
        matches!(
            self,
            Error::Dir(DirError::NotAFolder { .. })
                | Error::LocalDir(LocalDirError::Unsafe(DirError::NotAFolder { .. }))
        )
    }

    /// Waiting for a lock took longer than the lock's timeout ([`crate::FileLock::with_timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Lock(LockError::Timeout { .. }))
    }

    /// The operating system's error behind this one, when the failure was an I/O call.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Lookup(LookupError::Io { source, .. })
            | Error::Offline(OfflineError::Io { source, .. })
            | Error::Read(ReadError::Io { source, .. })
            | Error::ReadRef(ReadRefError::Read(ReadError::Io { source, .. }))
            | Error::Dir(DirError::Io { source, .. })
            | Error::Write(WriteError::Io { source, .. })
            | Error::Lock(LockError::Io { source, .. })
            | Error::Assets(AssetsError::Io { source, .. })
            | Error::Verify(VerifyError::Io { source, .. })
            | Error::LocalDir(LocalDirError::Io { source, .. })
            | Error::LocalDir(LocalDirError::Unsafe(DirError::Io { source, .. }))
            | Error::Delete(DeleteError { source, .. })
            | Error::Scan(ScanError::Io { source, .. })
            | Error::WriteTree(WriteTreeError { source, .. }) => Some(source),
            _ => None,
        }
    }

    /// The repository the failure concerns, when the error names one (offline resolutions and
    /// verifications do; a failure on a path names the path instead, see [`Error::path`]).
    pub fn repo(&self) -> Option<&Repo> {
        match self {
            Error::Offline(OfflineError::FileNotCached { repo, .. })
            | Error::Offline(OfflineError::SnapshotNotCached { repo, .. })
            | Error::Verify(VerifyError::NotCached { repo, .. }) => Some(repo),
            Error::Offline(OfflineError::IncompleteSnapshot(incomplete)) => Some(&incomplete.repo),
            _ => None,
        }
    }

    /// The revision (branch, tag or commit, as the caller gave it) the failure concerns, when the
    /// error names one.
    pub fn revision(&self) -> Option<&str> {
        match self {
            Error::Offline(OfflineError::FileNotCached { revision, .. })
            | Error::Offline(OfflineError::SnapshotNotCached { revision, .. }) => Some(revision),
            Error::Offline(OfflineError::IncompleteSnapshot(incomplete)) => {
                Some(&incomplete.revision)
            }
            Error::InvalidRevision(InvalidRevision(revision))
            | Error::ReadRef(ReadRefError::InvalidRevision(InvalidRevision(revision)))
            | Error::Write(WriteError::InvalidRevision(InvalidRevision(revision))) => {
                Some(revision)
            }
            _ => None,
        }
    }

    /// The file in the repository (its path with `/` separators) the failure concerns, when the
    /// error names one.
    pub fn filename(&self) -> Option<&str> {
        match self {
            Error::Offline(OfflineError::FileNotCached { filename, .. }) => Some(filename),
            Error::InvalidFilename(error)
            | Error::Lookup(LookupError::InvalidFilename(error))
            | Error::Offline(OfflineError::InvalidFilename(error))
            | Error::Write(WriteError::InvalidFilename(error)) => Some(invalid_filename(error)),
            Error::InvalidRepoPath(InvalidRepoPath(path))
            | Error::Offline(OfflineError::InvalidRepoPath(InvalidRepoPath(path)))
            | Error::Write(WriteError::InvalidRepoPath(InvalidRepoPath(path))) => Some(path),
            Error::RefusedRepoPath(error) => Some(&error.path),
            _ => None,
        }
    }

    /// The path on disk the failure concerns, when the error names one (the file, folder, lock file
    /// or cache directory that could not be read, written, locked or found).
    pub fn path(&self) -> Option<&Path> {
        Some(match self {
            Error::Lookup(LookupError::Io { path, .. })
            | Error::Offline(OfflineError::Io { path, .. })
            | Error::Write(WriteError::Io { path, .. })
            | Error::Write(WriteError::BlobMissing { pointer: path, .. })
            | Error::Lock(LockError::Timeout { path, .. })
            | Error::Lock(LockError::Io { path, .. })
            | Error::Assets(AssetsError::Corrupted(path))
            | Error::Assets(AssetsError::Io { path, .. })
            | Error::Verify(VerifyError::Io { path, .. })
            | Error::Verify(VerifyError::NotCached { cache: path, .. })
            | Error::LocalDir(LocalDirError::Io { path, .. })
            | Error::Delete(DeleteError { path, .. })
            | Error::Scan(ScanError::NotFound { path })
            | Error::Scan(ScanError::NotADirectory { path })
            | Error::Scan(ScanError::Io { path, .. })
            | Error::WriteTree(WriteTreeError { path, .. }) => path,
            Error::Offline(OfflineError::IncompleteSnapshot(incomplete)) => &incomplete.snapshot,
            Error::Read(error) | Error::ReadRef(ReadRefError::Read(error)) => error.path(),
            Error::Dir(error) | Error::LocalDir(LocalDirError::Unsafe(error)) => dir_path(error),
            _ => return None,
        })
    }
}

fn invalid_filename(error: &InvalidFilename) -> &str {
    match error {
        InvalidFilename::ParentSegment(name) | InvalidFilename::Anchored(name) => name,
    }
}

fn dir_path(error: &DirError) -> &Path {
    match error {
        DirError::NotAFolder { path } | DirError::Io { path, .. } => path,
    }
}
