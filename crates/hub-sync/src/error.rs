//! Why a download failed. Every variant names the repository and revision (and the file when there is
//! one), and keeps the cause as its source. File names, revisions, reasons and paths can come from a
//! server or a folder: they are shown through [`Escaped`], so no control character reaches a terminal.

use std::io;
use std::path::PathBuf;

use hub_cache::Repo;
use hub_cache::display::Escaped;
use hub_cache::lock::LockError;
use hub_cache::lookup::OfflineError;
use hub_cache::write::WriteError;

/// ` file `name``, or nothing for a whole snapshot.
fn file_suffix(filename: &Option<String>) -> String {
    filename
        .as_deref()
        .map(|f| format!(" (file `{}`)", Escaped(f)))
        .unwrap_or_default()
}

/// A failed [`crate::Downloader`] operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file name would leave its folder or is not a valid repo path (upstream's `ValueError`).
    #[error("invalid filename `{}` for {repo}: {}", Escaped(.filename), Escaped(.reason))]
    InvalidFilename {
        /// The repository asked for.
        repo: Repo,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// Why it was refused.
        reason: String,
    },
    /// The revision would leave `refs/` (`..`, absolute, backslash, NUL); refused before any request.
    #[error("invalid revision for {repo}")]
    InvalidRevision {
        /// The repository asked for.
        repo: Repo,
        /// Why the revision was refused.
        #[source]
        source: hub_cache::repo::InvalidRevision,
    },
    /// The file does not exist at that revision (upstream's `RemoteEntryNotFoundError`); the absence is
    /// recorded in `.no_exist/` when the server named the commit.
    #[error("file `{}` not found in {repo} at revision `{}`", Escaped(.filename), Escaped(.revision))]
    EntryNotFound {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// The Hub's error.
        #[source]
        source: hub_http::Error,
    },
    /// The revision does not exist (never falls back to the cache).
    #[error("revision `{}` not found in {repo}{}", Escaped(.revision), file_suffix(.filename))]
    RevisionNotFound {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for; `None` for a whole snapshot.
        filename: Option<String>,
        /// The Hub's error.
        #[source]
        source: hub_http::Error,
    },
    /// The Hub refused or could not answer and the cache holds nothing usable; for a missing, gated or
    /// unauthorized repository this is upstream's original error, else its `LocalEntryNotFoundError`.
    #[error("cannot get {repo} at revision `{}`{} from the Hub, and it is not in the local cache", Escaped(.revision), file_suffix(.filename))]
    Remote {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for; `None` for a whole snapshot.
        filename: Option<String>,
        /// The Hub's error.
        #[source]
        source: hub_http::Error,
    },
    /// Offline mode (or an unreachable Hub with an incomplete cache): the cache alone could not answer.
    #[error("offline: cannot find {repo} at revision `{}`{} in the local cache", Escaped(.revision), file_suffix(.filename))]
    Offline {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for; `None` for a whole snapshot.
        filename: Option<String>,
        /// What the cache lookup could not find.
        #[source]
        source: OfflineError,
    },
    /// `force_download` with offline mode, or a forced download whose metadata request failed.
    #[error("cannot force the download of {repo} at revision `{}`{}: the Hub cannot be used", Escaped(.revision), file_suffix(.filename))]
    ForceDownload {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for; `None` for a whole snapshot.
        filename: Option<String>,
        /// The metadata request's error; `None` in offline mode.
        #[source]
        source: Option<hub_http::Error>,
    },
    /// The server answered something we cannot use (e.g. a commit that is not 40 hex digits).
    #[error("invalid answer from the Hub for {repo} at revision `{}`{}: {}", Escaped(.revision), file_suffix(.filename), Escaped(.reason))]
    BadAnswer {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for; `None` for a whole snapshot.
        filename: Option<String>,
        /// What is wrong with the answer.
        reason: String,
    },
    /// Fetching the bytes failed (the partial file is kept for a later resume when the failure is
    /// transient, removed otherwise).
    #[error("cannot download file `{}` of {repo} at revision `{}`", Escaped(.filename), Escaped(.revision))]
    Download {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// The Hub's error.
        #[source]
        source: hub_http::Error,
    },
    /// The downloaded file could not be stored in the cache (blob, snapshot entry or ref).
    #[error("cannot store file `{}` of {repo} at revision `{}` in the cache", Escaped(.filename), Escaped(.revision))]
    Write {
        /// The repository asked for.
        repo: Repo,
        /// The revision as the caller gave it (`main` by default).
        revision: String,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// The cache write's error.
        #[source]
        source: WriteError,
    },
    /// The lock around the blob (or the `local_dir` file) could not be taken.
    #[error("cannot lock the download of file `{}` of {repo}", Escaped(.filename))]
    Lock {
        /// The repository asked for.
        repo: Repo,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// The lock's error.
        #[source]
        source: LockError,
    },
    /// A file-system call on the way failed (in the cache or the `local_dir`).
    #[error("cannot {action} `{}` (file `{}` of {repo})", Escaped(&.path.display().to_string()), Escaped(.filename))]
    Io {
        /// The repository asked for.
        repo: Repo,
        /// The file asked for (its repo path, `/`-separated).
        filename: String,
        /// What was being done, for the message.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The repository id is not valid (upstream's `HFValidationError`); nothing was requested.
    #[error("invalid repository id `{}`", Escaped(.id))]
    InvalidRepoId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        #[source]
        source: hub_cache::repo::InvalidRepoId,
    },
    /// The downloader could not be set up (an invalid environment value, the TLS roots...); nothing
    /// was requested.
    #[error("cannot set up the downloader: {reason}")]
    Setup {
        /// What could not be set up.
        reason: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A worker task of a snapshot panicked or was cancelled.
    #[error("a download task of {repo} stopped unexpectedly: {}", Escaped(.reason))]
    Task {
        /// The repository asked for.
        repo: Repo,
        /// Why the task stopped (its panic message, or the cancellation).
        reason: String,
    },
}

impl Error {
    /// The Hub error behind this one, if any (for callers that classify, like the CLI).
    pub fn remote_error(&self) -> Option<&hub_http::Error> {
        match self {
            Error::EntryNotFound { source, .. }
            | Error::RevisionNotFound { source, .. }
            | Error::Remote { source, .. }
            | Error::Download { source, .. } => Some(source),
            Error::ForceDownload { source, .. } => source.as_ref(),
            _ => None,
        }
    }

    /// The repository, revision or file does not exist (or is not visible with this token).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::EntryNotFound { .. } | Error::RevisionNotFound { .. }
        ) || self
            .remote_error()
            .is_some_and(hub_http::Error::is_not_found)
    }

    /// Offline mode (or an unreachable Hub) and the cache could not answer.
    pub fn is_offline(&self) -> bool {
        matches!(self, Error::Offline { .. })
            || self.remote_error().is_some_and(hub_http::Error::is_offline)
    }

    /// The Hub refused the request for want of a (valid) token: gated, private, unauthorized.
    pub fn is_auth(&self) -> bool {
        self.remote_error().is_some_and(hub_http::Error::is_auth)
    }

    /// Whether nothing usable was found in the cache (upstream's `LocalEntryNotFoundError` family).
    pub fn is_not_cached(&self) -> bool {
        matches!(self, Error::Offline { .. } | Error::Remote { .. })
    }
}
