//! URLs exactly as upstream builds them (`file_download.py::hf_hub_url`, `hf_api.py`).
//!
//! ```text
//! {endpoint}/{prefix}{repo_id}/resolve/{revision_q}/{filename_q}        file content / metadata
//! {endpoint}/api/{type}s/{repo_id}/revision/{revision_q}                 repo info (commit of a revision)
//! {endpoint}/api/{type}s/{repo_id}/tree/{revision_q}?recursive=true&expand=false   file listing
//! ```
//! `prefix` is empty for models, `datasets/`, `spaces/`, `kernels/` otherwise; the repo id is inserted
//! verbatim; the revision is percent-encoded with no safe character (`refs/pr/1` → `refs%2Fpr%2F1`);
//! the file name keeps `/` and the unreserved set `A-Z a-z 0-9 _ . - ~`.

use hub_cache::Repo;
use hub_cache::env::{Env, HF_ENDPOINT};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The default Hub endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Everything but the unreserved set `A-Z a-z 0-9 _ . - ~` (Python `quote(s, safe="")`).
const QUOTE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// [`QUOTE_ALL`] keeping `/` (Python `quote(s)`, whose default safe set is `/`).
const QUOTE_PATH: &AsciiSet = &QUOTE_ALL.remove(b'/');

/// A Hub base URL such as `https://huggingface.co` or `http://127.0.0.1:8080`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// Takes a base URL as given (upstream does not strip an `endpoint=` argument).
    pub fn new(base: impl Into<String>) -> Endpoint {
        Endpoint(base.into())
    }

    /// `HF_ENDPOINT` with trailing `/` stripped, else [`DEFAULT_ENDPOINT`].
    pub fn from_env(env: &Env) -> Endpoint {
        match env.get(HF_ENDPOINT) {
            Some(value) => Endpoint(value.trim_end_matches('/').to_owned()),
            None => Endpoint(DEFAULT_ENDPOINT.to_owned()),
        }
    }

    /// The base URL, without a trailing `/` when it came from the environment.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The endpoint as it may be printed: without userinfo.
    pub fn shown(&self) -> String {
        shown(&self.0)
    }

    /// `{endpoint}/{prefix}{repo_id}/resolve/{revision_q}/{filename_q}`.
    pub fn resolve_url(&self, repo: &Repo, revision: &str, filename: &str) -> String {
        format!(
            "{}/{}{}/resolve/{}/{}",
            self.0,
            repo.repo_type.url_prefix(),
            repo.id,
            quote_all(revision),
            quote_path(filename)
        )
    }

    /// `{endpoint}/api/{type}s/{repo_id}/revision/{revision_q}`.
    pub fn repo_info_url(&self, repo: &Repo, revision: &str) -> String {
        format!(
            "{}/api/{}/{}/revision/{}",
            self.0,
            repo.repo_type.plural(),
            repo.id,
            quote_all(revision)
        )
    }

    /// `{endpoint}/api/{type}s/{repo_id}/tree/{revision_q}?recursive=true&expand=false` (2.x query form).
    pub fn tree_url(&self, repo: &Repo, revision: &str) -> String {
        format!(
            "{}/api/{}/{}/tree/{}?recursive=true&expand=false",
            self.0,
            repo.repo_type.plural(),
            repo.id,
            quote_all(revision)
        )
    }
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint(DEFAULT_ENDPOINT.to_owned())
    }
}

/// A URL as it may be shown in an error or a log line: without userinfo (`user:password@`), and
/// with control characters escaped.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            escape(parsed.as_str()).into_owned()
        }
        Ok(_) => escape(url).into_owned(),
        // Not a URL: a userinfo may still be in it; show nothing between `//` and `@`.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                escape(&format!("{}{}", &url[..start + 3], &url[at + 1..])).into_owned()
            }
            _ => escape(url).into_owned(),
        },
    }
}

pub(crate) use hub_cache::display::escape;

/// Python `urllib.parse.quote(s, safe="")`.
pub fn quote_all(s: &str) -> String {
    utf8_percent_encode(s, QUOTE_ALL).to_string()
}

/// Python `urllib.parse.quote(s)` (keeps `/`).
pub fn quote_path(s: &str) -> String {
    utf8_percent_encode(s, QUOTE_PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_cache::{RepoId, RepoType};

    fn repo(repo_type: RepoType, id: &str) -> Repo {
        Repo::new(repo_type, RepoId::new(id).unwrap())
    }

    #[test]
    fn resolve_urls_match_the_spec_table() {
        let hub = Endpoint::default();
        assert_eq!(
            hub.resolve_url(
                &repo(RepoType::Model, "org/m"),
                "refs/pr/1",
                "dir/my file+name#1?.txt"
            ),
            "https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/dir/my%20file%2Bname%231%3F.txt"
        );
        assert_eq!(
            hub.resolve_url(
                &repo(RepoType::Dataset, "org/d"),
                "v1.0",
                "data/train.parquet"
            ),
            "https://huggingface.co/datasets/org/d/resolve/v1.0/data/train.parquet"
        );
        assert_eq!(
            hub.resolve_url(&repo(RepoType::Model, "gpt2"), "main", "\u{e9}~_.-x.json"),
            "https://huggingface.co/gpt2/resolve/main/%C3%A9~_.-x.json"
        );
        assert_eq!(
            hub.repo_info_url(&repo(RepoType::Space, "org/s"), "refs/pr/2"),
            "https://huggingface.co/api/spaces/org/s/revision/refs%2Fpr%2F2"
        );
    }

    #[test]
    fn shown_urls_have_no_userinfo_and_no_control_characters() {
        assert_eq!(
            shown("http://user:pw@127.0.0.1:9/gpt2/resolve/main/x"),
            "http://127.0.0.1:9/gpt2/resolve/main/x"
        );
        assert_eq!(shown("http://pw@h/"), "http://h/");
        assert_eq!(shown("not a url://user:pw@h\x1b"), "not a url://h\\u{1b}");
        assert_eq!(shown("weird\u{1b}[2J"), "weird\\u{1b}[2J");
    }

    #[test]
    fn endpoint_from_env_strips_trailing_slashes() {
        let env = Env::from_pairs([("HF_ENDPOINT", "http://127.0.0.1:9/")]);
        assert_eq!(Endpoint::from_env(&env).as_str(), "http://127.0.0.1:9");
    }
}
