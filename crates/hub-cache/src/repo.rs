//! The vocabulary every crate shares: repository types, repository ids and revisions.

use std::fmt;
use std::str::FromStr;

/// The kind of a Hub repository.
///
/// Its plural form names the cache folder (`models--org--name`) and its URL prefix
/// (`datasets/`, `spaces/`, `kernels/`; none for models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoType {
    /// A model (`models--org--name` in the cache, no URL prefix).
    Model,
    /// A dataset (`datasets--org--name`, URLs under `datasets/`).
    Dataset,
    /// A Space (`spaces--org--name`, URLs under `spaces/`).
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
    /// More than one `/` (the id as given).
    #[error("repo id must be in the form 'repo_name' or 'namespace/repo_name': '{0}'")]
    TooManySlashes(String),
    /// A part that is empty, longer than 96 characters, has a character outside `[A-Za-z0-9_.-]`,
    /// or starts or ends with `-` or `.` (the id as given).
    #[error(
        "repo id must use alphanumeric chars, '-', '_' or '.'; the name cannot start or end with '-' or '.' and the maximum length is 96: '{0}'"
    )]
    BadCharacters(String),
    /// `--` or `..` somewhere in the id (`--` separates parts of a cache folder name).
    #[error("cannot have -- or .. in repo id: '{0}'")]
    DoubleSeparator(String),
    /// An id ending in `.git` (the id as given).
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

    /// The id as given (`org/name` or `name`).
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
    /// Model, dataset, space or kernel.
    pub repo_type: RepoType,
    /// `org/name` or `name`.
    pub id: RepoId,
}

impl Repo {
    /// The repository `id` of type `repo_type`.
    pub fn new(repo_type: RepoType, id: RepoId) -> Repo {
        Repo { repo_type, id }
    }

    /// The model `id` (`"gpt2"`, `"org/name"`), validated with [`RepoId::new`].
    ///
    /// ```
    /// let repo = hub_cache::Repo::model("openai-community/gpt2")?;
    /// assert_eq!(repo.folder_name(), "models--openai-community--gpt2");
    /// assert!(hub_cache::Repo::model("a/b/c").is_err());
    /// # Ok::<(), hub_cache::repo::InvalidRepoId>(())
    /// ```
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

    /// The 40 lower-case hex digits.
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

/// The scheme of a Hub URI (`hf://[TYPE/]ID[@REVISION][/PATH]`).
pub const HF_URI_SCHEME: &str = "hf://";

/// A repository as a user names it on a command line, with the revision and the path in the repo
/// an `hf://` URI may carry. The one parser for every repository argument of `hfhub`.
///
/// Accepted spellings (the first three as `hf` 2.x parses them):
/// - a plain id: `gpt2`, `org/name` (a model);
/// - a plural type prefix: `datasets/org/name`, `spaces/org/name`, `models/org/name`,
///   `kernels/org/name` (2.x's CLI rewrites these to `org/name --type ...`; only with both a
///   namespace and a name after the prefix, so `datasets/name` stays the model `datasets/name`);
/// - an `hf://` URI, `utils/_hf_uris.py::parse_hf_uri`'s grammar:
///   `hf://[models|datasets|spaces|kernels/]namespace/name[@revision][/path]`, where `@refs/pr/N`
///   and `@refs/convert/NAME` keep their slashes, other revisions are percent-decoded, and a trailing
///   `/` on the path is kept (it marks a folder); buckets and web URLs are refused;
/// - a singular type prefix as `hf cache ls` prints repo ids: `model/gpt2`, `dataset/org/name`.
///   This one differs from 2.x's `hf download`, which reads `model/gpt2` as the model of the user
///   `model`; that model is spelled `models/model/gpt2` here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// The repository named.
    pub repo: Repo,
    /// The revision after `@` in an `hf://` URI.
    pub revision: Option<String>,
    /// The path in the repository after the id (and revision) in an `hf://` URI.
    pub path: Option<String>,
}

/// Why a repository argument was refused. Messages name the argument as typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRepoRef {
    /// The repository id part was refused.
    #[error("invalid repository `{spec}`: {source}")]
    Id {
        /// The argument as typed.
        spec: String,
        /// Why the id was refused.
        #[source]
        source: InvalidRepoId,
    },
    /// An `hf://` URI that does not follow the grammar; `reason` is upstream's `HfUriError` text.
    #[error("invalid HF URI `{uri}`: {reason}")]
    Uri {
        /// The URI as typed.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A revision that could not name a ref file (see [`check_revision`]).
    #[error("invalid HF URI `{uri}`: {source}")]
    Revision {
        /// The URI as typed.
        uri: String,
        /// Why the revision was refused.
        #[source]
        source: InvalidRevision,
    },
    /// A revision or path where only a repository is expected.
    #[error("`{0}` names a revision or a file; a repository is expected here")]
    NotARepo(String),
}

impl FromStr for RepoRef {
    type Err = InvalidRepoRef;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if let Some(body) = spec.strip_prefix(HF_URI_SCHEME) {
            return parse_hf_uri(spec, body);
        }
        let bad_id = |source| InvalidRepoRef::Id {
            spec: spec.to_owned(),
            source,
        };
        let parts: Vec<&str> = spec.splitn(3, '/').collect();
        let prefixed = |prefix: &str| {
            RepoType::from_plural(prefix)
                .or_else(|| RepoType::ALL.into_iter().find(|t| t.as_str() == prefix))
        };
        let (repo_type, id) = match parts.as_slice() {
            // `datasets/org/name` (2.x's rewrite) or `dataset/org/name` (a `cache ls` id).
            [prefix, _, _] if prefixed(prefix).is_some() => {
                (prefixed(prefix), &spec[prefix.len() + 1..])
            }
            // `model/gpt2`, `dataset/wikitext` (a `cache ls` id); `datasets/x` stays a model id.
            [prefix, _] if RepoType::ALL.iter().any(|t| t.as_str() == *prefix) => {
                (prefixed(prefix), &spec[prefix.len() + 1..])
            }
            _ => (Some(RepoType::Model), spec),
        };
        let repo_type = repo_type.unwrap_or(RepoType::Model);
        let id = RepoId::new(id).map_err(bad_id)?;
        Ok(RepoRef {
            repo: Repo::new(repo_type, id),
            revision: None,
            path: None,
        })
    }
}

impl FromStr for Repo {
    type Err = InvalidRepoRef;
    /// Any [`RepoRef`] spelling that names no revision and no path.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let parsed: RepoRef = spec.parse()?;
        if parsed.revision.is_some() || parsed.path.is_some() {
            return Err(InvalidRepoRef::NotARepo(spec.to_owned()));
        }
        Ok(parsed.repo)
    }
}

/// `hf://` + `body`, as `parse_hf_uri` (2.x) splits it; messages are upstream's.
fn parse_hf_uri(uri: &str, body: &str) -> Result<RepoRef, InvalidRepoRef> {
    let fail = |reason: String| InvalidRepoRef::Uri {
        uri: uri.to_owned(),
        reason,
    };
    if body.is_empty() {
        return Err(fail(format!("empty body after '{HF_URI_SCHEME}'")));
    }
    let singular = |word: &str| RepoType::ALL.into_iter().find(|t| t.as_str() == word);
    let (repo_type, location) = match body.split_once('/') {
        None if RepoType::from_plural(body).is_some() || body == "buckets" => {
            return Err(fail(format!(
                "missing identifier after '{body}'; expected '{HF_URI_SCHEME}{body}/<ID>'"
            )));
        }
        None if singular(body).is_some() || body == "bucket" => {
            return Err(fail(format!(
                "type prefix must be plural; did you mean '{HF_URI_SCHEME}{body}s/...'?"
            )));
        }
        None => (RepoType::Model, body),
        Some(("buckets", _)) => {
            return Err(fail(
                "buckets are not repositories; `hf sync` handles them".to_owned(),
            ));
        }
        Some((first, rest)) => match RepoType::from_plural(first) {
            Some(repo_type) => (repo_type, rest),
            None if singular(first).is_some() || first == "bucket" => {
                return Err(fail(format!(
                    "type prefix must be plural, got '{first}/'; did you mean '{first}s/'?"
                )));
            }
            None => (RepoType::Model, body),
        },
    };
    let folder = location.ends_with('/');
    let location = location.trim_matches('/');
    if location.is_empty() {
        return Err(fail("missing repository id".to_owned()));
    }
    let (id, revision, path) = match location.find('@') {
        Some(at) if location[..at].matches('/').count() <= 1 => {
            let id = &location[..at];
            if id.is_empty() {
                return Err(fail("missing repository id before '@'".to_owned()));
            }
            let rest = &location[at + 1..];
            let (revision, path) = match special_ref_len(rest) {
                Some(len) => (
                    &rest[..len],
                    rest[len..].strip_prefix('/').unwrap_or(&rest[len..]),
                ),
                None => rest.split_once('/').unwrap_or((rest, "")),
            };
            let revision = percent_encoding::percent_decode_str(revision)
                .decode_utf8_lossy()
                .into_owned();
            if revision.is_empty() {
                return Err(fail("empty revision after '@'".to_owned()));
            }
            (id, Some(revision), path)
        }
        _ => {
            let mut parts = location.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(namespace), Some(name)) => {
                    let id = &location[..namespace.len() + 1 + name.len()];
                    (id, None, parts.next().unwrap_or(""))
                }
                _ => {
                    return Err(fail(format!(
                        "repository id must be 'namespace/name', got '{location}'"
                    )));
                }
            }
        }
    };
    if id.matches('/').count() != 1 {
        return Err(fail(format!("id must be 'namespace/name', got '{id}'")));
    }
    let id = RepoId::new(id).map_err(|e| fail(e.to_string()))?;
    if let Some(revision) = &revision {
        check_revision(revision).map_err(|source| InvalidRepoRef::Revision {
            uri: uri.to_owned(),
            source,
        })?;
    }
    if path.starts_with('/') || path.contains("//") {
        return Err(fail(format!(
            "path must not contain empty segments (got '{path}')"
        )));
    }
    let path = (!path.is_empty()).then(|| {
        if folder {
            format!("{path}/")
        } else {
            path.to_owned()
        }
    });
    Ok(RepoRef {
        repo: Repo::new(repo_type, id),
        revision,
        path,
    })
}

/// Length of a leading `refs/pr/<digits>` or `refs/convert/<[A-Za-z0-9_.-]+>` (upstream's
/// `_SPECIAL_REFS_REVISION_REGEX`), which keep their `/` in a URI revision.
fn special_ref_len(text: &str) -> Option<usize> {
    let run = |rest: &str, ok: fn(char) -> bool| rest.find(|c: char| !ok(c)).unwrap_or(rest.len());
    if let Some(rest) = text.strip_prefix("refs/pr/") {
        let digits = run(rest, |c| c.is_ascii_digit());
        (digits > 0).then_some("refs/pr/".len() + digits)
    } else if let Some(rest) = text.strip_prefix("refs/convert/") {
        let name = run(rest, |c| {
            c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
        });
        (name > 0).then_some("refs/convert/".len() + name)
    } else {
        None
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

    #[test]
    fn command_line_repo_spellings() {
        let parse = |s: &str| s.parse::<RepoRef>();
        let repo = |t: RepoType, id: &str| Repo::new(t, RepoId::new(id).unwrap());
        let plain = |t, id: &str| RepoRef {
            repo: repo(t, id),
            revision: None,
            path: None,
        };
        assert_eq!(parse("gpt2"), Ok(plain(RepoType::Model, "gpt2")));
        assert_eq!(parse("org/name"), Ok(plain(RepoType::Model, "org/name")));
        assert_eq!(
            parse("datasets/org/name"),
            Ok(plain(RepoType::Dataset, "org/name"))
        );
        assert_eq!(parse("spaces/o/n"), Ok(plain(RepoType::Space, "o/n")));
        assert_eq!(parse("models/o/n"), Ok(plain(RepoType::Model, "o/n")));
        assert_eq!(parse("kernels/o/n"), Ok(plain(RepoType::Kernel, "o/n")));
        // 2.x rewrites a prefix only before `namespace/name`.
        assert_eq!(
            parse("datasets/x"),
            Ok(plain(RepoType::Model, "datasets/x"))
        );
        assert_eq!(parse("dataset/o/n"), Ok(plain(RepoType::Dataset, "o/n")));
        assert_eq!(parse("model/gpt2"), Ok(plain(RepoType::Model, "gpt2")));
        assert_eq!(
            parse("dataset/wikitext"),
            Ok(plain(RepoType::Dataset, "wikitext"))
        );
        assert!(parse("datasets/o/n/x").is_err());
        assert!(parse("a/b/c").is_err());
        assert!(parse("datasets/bad--name").is_err());
    }

    #[test]
    fn hf_uris_as_2x_parses_them() {
        let parse = |s: &str| s.parse::<RepoRef>();
        let full = |t, id: &str, rev: Option<&str>, path: Option<&str>| RepoRef {
            repo: Repo::new(t, RepoId::new(id).unwrap()),
            revision: rev.map(str::to_owned),
            path: path.map(str::to_owned),
        };
        use RepoType::*;
        assert_eq!(
            parse("hf://org/name"),
            Ok(full(Model, "org/name", None, None))
        );
        assert_eq!(
            parse("hf://datasets/org/name"),
            Ok(full(Dataset, "org/name", None, None))
        );
        assert_eq!(
            parse("hf://org/name@v1.0"),
            Ok(full(Model, "org/name", Some("v1.0"), None))
        );
        assert_eq!(
            parse("hf://datasets/o/n@refs/pr/3/train.json"),
            Ok(full(Dataset, "o/n", Some("refs/pr/3"), Some("train.json")))
        );
        assert_eq!(
            parse("hf://o/n@refs/convert/parquet"),
            Ok(full(Model, "o/n", Some("refs/convert/parquet"), None))
        );
        assert_eq!(
            parse("hf://o/n@feature%2Fx/a/b.txt"),
            Ok(full(Model, "o/n", Some("feature/x"), Some("a/b.txt")))
        );
        assert_eq!(
            parse("hf://spaces/o/n/data/"),
            Ok(full(Space, "o/n", None, Some("data/")))
        );
        assert_eq!(
            parse("hf://o/n/file@1.txt"),
            Ok(full(Model, "o/n", None, Some("file@1.txt")))
        );
        for bad in [
            "hf://",
            "hf://gpt2",
            "hf://datasets",
            "hf://dataset/o/n",
            "hf://buckets/o/n",
            "hf://o/n@",
            "hf://o/n@../x",
            "hf://o/n/a//b",
            "hf://a/b--c",
            "hf://@main",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            "hf://datasets/o/n".parse::<Repo>(),
            Ok(Repo::new(Dataset, RepoId::new("o/n").unwrap()))
        );
        assert!("hf://o/n@main".parse::<Repo>().is_err());
    }
}
