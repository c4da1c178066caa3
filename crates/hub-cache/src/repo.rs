//! The vocabulary every crate shares: repository types, repository ids and revisions.

use std::fmt;
use std::str::FromStr;

/// The kind of a Hub repository.
///
/// Its plural form names the cache folder (`models--org--name`) and its URL prefix
/// (`datasets/`, `spaces/`, `kernels/`; none for models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoType {
    Model,
    Dataset,
    Space,
    /// Added in huggingface_hub 1.x/2.x; 0.2x caches never contain it.
    Kernel,
}

impl RepoType {
    /// Every type, in the order upstream lists them.
    pub const ALL: [RepoType; 4] = [
        RepoType::Model,
        RepoType::Dataset,
        RepoType::Space,
        RepoType::Kernel,
    ];

    /// Singular name as upstream spells it (`model`, `dataset`, `space`, `kernel`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
            RepoType::Kernel => "kernel",
        }
    }

    /// Plural name used as the cache folder prefix (`models`, `datasets`...).
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
            RepoType::Kernel => "kernels",
        }
    }

    /// Parses the plural cache folder prefix.
    pub fn from_plural(plural: &str) -> Option<RepoType> {
        RepoType::ALL.into_iter().find(|t| t.plural() == plural)
    }

    /// URL prefix in `hf_hub_url` (`""` for models, `datasets/` ...).
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
            RepoType::Kernel => "kernels/",
        }
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown repository type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repo type `{0}`: expected one of model, dataset, space, kernel")]
pub struct InvalidRepoType(pub String);

impl FromStr for RepoType {
    type Err = InvalidRepoType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| InvalidRepoType(s.to_owned()))
    }
}

/// A repository id (`gpt2`, `org/name`), validated as `utils/_validators.py::validate_repo_id` does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoId(String);

/// Why a repository id was refused; messages follow upstream's `HFValidationError` texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRepoId {
    #[error("repo id must be in the form 'repo_name' or 'namespace/repo_name': '{0}'")]
    TooManySlashes(String),
    #[error(
        "repo id must use alphanumeric chars, '-', '_' or '.'; the name cannot start or end with '-' or '.' and the maximum length is 96: '{0}'"
    )]
    BadCharacters(String),
    #[error("cannot have -- or .. in repo id: '{0}'")]
    DoubleSeparator(String),
    #[error("repo id cannot end by '.git': '{0}'")]
    EndsWithGit(String),
}

impl RepoId {
    /// Validates and wraps a repository id.
    pub fn new(id: impl Into<String>) -> Result<RepoId, InvalidRepoId> {
        let id = id.into();
        if id.matches('/').count() > 1 {
            return Err(InvalidRepoId::TooManySlashes(id));
        }
        if !id.split('/').all(valid_id_part) {
            return Err(InvalidRepoId::BadCharacters(id));
        }
        if id.contains("--") || id.contains("..") {
            return Err(InvalidRepoId::DoubleSeparator(id));
        }
        if id.ends_with(".git") {
            return Err(InvalidRepoId::EndsWithGit(id));
        }
        Ok(RepoId(id))
    }

    /// Wraps an id read back from a cache folder name without validating it (scan reports what is on
    /// disk, as upstream does).
    pub fn from_cache_unchecked(id: impl Into<String>) -> RepoId {
        RepoId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace (`org` in `org/name`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(ns, _)| ns)
    }

    /// The name without its namespace.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

/// `REPO_ID_REGEX` part: 1 to 96 of `[A-Za-z0-9_.-]`, first and last an ASCII word character.
fn valid_id_part(part: &str) -> bool {
    let bytes = part.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (1..=96).contains(&bytes.len())
        && bytes.iter().all(|&b| word(b) || b == b'-' || b == b'.')
        && word(bytes[0])
        && word(bytes[bytes.len() - 1])
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepoId {
    type Err = InvalidRepoId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoId::new(s)
    }
}

impl AsRef<str> for RepoId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A repository and its type: what a cache folder names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repo {
    pub repo_type: RepoType,
    pub id: RepoId,
}

impl Repo {
    pub fn new(repo_type: RepoType, id: RepoId) -> Repo {
        Repo { repo_type, id }
    }

    pub fn model(id: &str) -> Result<Repo, InvalidRepoId> {
        Ok(Repo::new(RepoType::Model, RepoId::new(id)?))
    }

    /// Cache folder name: `"--".join([f"{repo_type}s", *repo_id.split("/")])`
    /// (`file_download.py::repo_folder_name`).
    pub fn folder_name(&self) -> String {
        let mut name = String::from(self.repo_type.plural());
        for part in self.id.as_str().split('/') {
            name.push_str("--");
            name.push_str(part);
        }
        name
    }

    /// Reverse of [`Repo::folder_name`] as the scan does it: split at the first `--`, the prefix is the
    /// plural type, remaining `--` become `/`. Returns `None` for a name with no `--` or an unknown prefix.
    pub fn from_folder_name(name: &str) -> Option<Repo> {
        let (prefix, rest) = name.split_once("--")?;
        let repo_type = RepoType::from_plural(prefix)?;
        Some(Repo::new(
            repo_type,
            RepoId::from_cache_unchecked(rest.replace("--", "/")),
        ))
    }
}

impl fmt::Display for Repo {
    /// `model/gpt2`, as `hf cache ls` names a repo.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.repo_type, self.id)
    }
}

/// The default revision when none is given.
pub const DEFAULT_REVISION: &str = "main";

/// True for a full commit hash as upstream recognises it: `^[0-9a-f]{40}$` (`REGEX_COMMIT_HASH`).
pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A commit hash: 40 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitHash(String);

impl CommitHash {
    /// Accepts exactly `^[0-9a-f]{40}$`.
    pub fn new(hash: &str) -> Option<CommitHash> {
        is_commit_hash(hash).then(|| CommitHash(hash.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CommitHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a revision string cannot name a ref file inside `refs/`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid revision `{0}`: a revision must be non-empty, relative, and free of `..`, `\\` and NUL"
)]
pub struct InvalidRevision(pub String);

/// Checks that a revision (branch, tag, `refs/pr/N`, commit) can be used as a relative path under
/// `refs/` without escaping it. Upstream uses the string literally; we refuse what would escape.
pub fn check_revision(revision: &str) -> Result<(), InvalidRevision> {
    let bad = revision.is_empty()
        || revision.starts_with('/')
        || revision.contains('\\')
        || revision.contains('\0')
        || revision
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(InvalidRevision(revision.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_follow_upstream_validation() {
        for ok in [
            "gpt2",
            "foo/bar",
            "123",
            "Foo-BAR_foo.bar123",
            "a/b.c",
            "_x",
        ] {
            assert!(RepoId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "datasets/foo/bar",
            ".repo_id",
            "foo--bar",
            "foo.git",
            "other..repo..id",
            "",
            "a/",
            "/a",
            "caf\u{e9}",
            "-a",
            "a-",
            "a/.b",
        ] {
            assert!(RepoId::new(bad).is_err(), "{bad}");
        }
        assert!(RepoId::new("a".repeat(96)).is_ok());
        assert!(RepoId::new("a".repeat(97)).is_err());
    }

    #[test]
    fn folder_names_round_trip() {
        let repo = Repo::new(RepoType::Dataset, RepoId::new("org/name").unwrap());
        assert_eq!(repo.folder_name(), "datasets--org--name");
        assert_eq!(Repo::from_folder_name("datasets--org--name"), Some(repo));
        assert_eq!(Repo::model("gpt2").unwrap().folder_name(), "models--gpt2");
        assert_eq!(Repo::from_folder_name("gpt2"), None);
        assert_eq!(Repo::from_folder_name("model--gpt2"), None);
    }

    #[test]
    fn revisions() {
        assert!(is_commit_hash(&"a".repeat(40)));
        assert!(!is_commit_hash(&"A".repeat(40)));
        assert!(check_revision("refs/pr/1").is_ok());
        assert!(check_revision("../x").is_err());
        assert!(check_revision("a//b").is_err());
    }
}
