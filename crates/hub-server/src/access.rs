//! Who may read a repository: the server's `--gated`/`--private` settings, or what a mirror's
//! upstream says.

/// Who may read a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Readable with an accepted token: 401 `GatedRepo` without one, 403 `GatedRepo` with another.
    Gated,
    /// Readable with an accepted token: 401 `RepoNotFound` without one, 404 `RepoNotFound` with another.
    Private,
}
