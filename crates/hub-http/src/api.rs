//! The Hub's answers about files: the metadata `HEAD` (resolve), the repo info (commit of a
//! revision) and the paginated tree listing, on top of [`Transport`].
//!
//! A listing is bounded: at most [`ListingLimits::max_pages`] pages and
//! [`ListingLimits::max_entries`] entries, no page visited twice (a `Link: rel="next"` that points
//! back is refused), every page on the first page's origin, each page at most
//! [`MAX_JSON_BYTES`] under the API deadlines.

use std::collections::HashSet;

use hyper::Method;
use hyper::header::{self, HeaderMap};
use serde::Deserialize;

use crate::error::Error;
use crate::metadata::{MetadataHeaders, Resolved};
use crate::transport::{Origin, Redirects, Transport, join_location};

/// Largest JSON answer read into memory (a Hub listing page is about 200 KB).
pub const MAX_JSON_BYTES: usize = 64 * 1024 * 1024;

/// How long a tree listing may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingLimits {
    /// Most pages followed through `Link: rel="next"` (10,000 by default); more is an
    /// [`Error::BadResponse`].
    pub max_pages: usize,
    /// Most entries kept over all pages (2,000,000 by default); more is an
    /// [`Error::BadResponse`].
    pub max_entries: usize,
}

impl Default for ListingLimits {
    fn default() -> ListingLimits {
        ListingLimits {
            max_pages: 10_000,
            max_entries: 2_000_000,
        }
    }
}

/// One entry of a recursive tree listing (`/api/{type}s/{id}/tree/{revision}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
///
/// The strings are the server's, unvalidated: callers parse `path` into a [`hub_cache::RepoPath`]
/// and the ETag into a [`hub_cache::Etag`] before using them.
pub struct TreeEntry {
    /// `"file"` or `"directory"`, as the server sent it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The path in the repository, `/`-separated.
    pub path: String,
    /// The file's size in bytes (the LFS object's size for an LFS file; 0 when absent).
    #[serde(default)]
    pub size: u64,
    /// The git blob id (sha1, 40 hex digits) or, for a folder, the tree id.
    #[serde(default)]
    pub oid: String,
    /// The LFS object, for a file stored in LFS.
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
    /// The Xet hash, for a file stored on Xet.
    #[serde(default, rename = "xetHash")]
    pub xet_hash: Option<String>,
}

impl TreeEntry {
    /// Whether the entry is a file (`type` is `"file"`), not a folder.
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }

    /// The blob name this file gets in the cache: the LFS sha256, else the git blob id.
    pub fn etag(&self) -> &str {
        self.lfs.as_ref().map_or(&self.oid, |lfs| &lfs.oid)
    }
}

/// The `lfs` object of a tree entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LfsInfo {
    /// The object's sha256 (64 hex digits): the blob name in the cache.
    pub oid: String,
    /// The object's size in bytes.
    pub size: u64,
    /// The size of the LFS pointer file in git, in bytes.
    #[serde(default, rename = "pointerSize")]
    pub pointer_size: Option<u64>,
}

/// The fields of the repo-info answer we use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoInfo {
    /// The commit the revision resolved to.
    pub sha: String,
    /// The repository's files at that commit, as the server listed them (unvalidated).
    #[serde(default)]
    pub siblings: Vec<Sibling>,
    /// Whether the repository is private (absent: not private).
    #[serde(default)]
    pub private: bool,
    /// `false`, or how access is granted (`"auto"`, `"manual"`).
    #[serde(default)]
    pub gated: Gated,
}

impl Default for Gated {
    fn default() -> Gated {
        Gated::Flag(false)
    }
}

/// The `gated` field of a repo-info answer: `false` or an approval mode.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Gated {
    /// `false` (not gated), or `true` as some Hub-compatible servers send.
    Flag(bool),
    /// Gated, with this approval mode (`"auto"`, `"manual"`).
    Mode(String),
}

impl Gated {
    /// Whether a token with granted access is needed.
    pub fn is_gated(&self) -> bool {
        match self {
            Gated::Flag(flag) => *flag,
            Gated::Mode(_) => true,
        }
    }
}

/// One file of a repo-info answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sibling {
    /// The path in the repository, `/`-separated (unvalidated: parse it into a
    /// [`hub_cache::RepoPath`]).
    pub rfilename: String,
}

/// The metadata request (`HEAD` on a resolve URL), with 2.x's redirect policy: relative and
/// same-origin or Hub-origin redirects are followed with the token; any other redirect stops, and
/// the metadata is read from the 3xx answer itself.
pub(crate) async fn resolve(transport: &Transport, url: &str) -> Result<Resolved, Error> {
    let answer = transport
        .fetch(
            Method::HEAD,
            url,
            url,
            &HeaderMap::new(),
            Redirects::StopAtForeign,
            transport.etag_timeout(),
        )
        .await?;
    let headers = answer.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let metadata = MetadataHeaders {
        repo_commit: text("x-repo-commit"),
        linked_etag: text("x-linked-etag"),
        etag: text(header::ETAG.as_str()),
        linked_size: text("x-linked-size"),
        content_length: text(header::CONTENT_LENGTH.as_str()),
        location: answer.location(),
    };
    let resolved = metadata.resolve(answer.url(), answer.status().is_redirection())?;
    check_header_value("X-Repo-Commit", answer.url(), &resolved.commit)?;
    Ok(resolved)
}

/// `GET` a repo-info URL: the commit a revision points to.
pub(crate) async fn repo_info(transport: &Transport, url: &str) -> Result<RepoInfo, Error> {
    let (info, _) = get_json::<RepoInfo>(transport, url).await?;
    check_header_value("sha", url, &info.sha)?;
    Ok(info)
}

/// The recursive tree listing from its first page, following `Link: <...>; rel="next"` pages;
/// each page's entries go to `on_page` as soon as the page is parsed (nothing is kept here).
pub(crate) async fn list_tree(
    transport: &Transport,
    first: &str,
    limits: ListingLimits,
    on_page: &mut (dyn FnMut(Vec<TreeEntry>) + Send),
) -> Result<(), Error> {
    let mut url = first.to_owned();
    let mut visited = HashSet::new();
    let mut entries = 0usize;
    loop {
        visited.insert(url.clone());
        let (page, next) = get_json::<Vec<TreeEntry>>(transport, &url).await?;
        entries = entries.saturating_add(page.len());
        if entries > limits.max_entries {
            return Err(Error::BadResponse {
                url: first.to_owned(),
                reason: format!(
                    "the listing has more than {} entries; stopped",
                    limits.max_entries
                ),
            });
        }
        on_page(page);
        let Some(next) = next else {
            return Ok(());
        };
        let next = join_location(&url, &next)?;
        if Origin::of(&next) != Origin::of(first) {
            return Err(Error::BadRedirect {
                url,
                location: next,
                reason: "a listing page may not lead to another origin",
            });
        }
        if visited.contains(&next) {
            return Err(Error::BadResponse {
                url,
                reason: format!(
                    "the listing repeats the page {}; stopped",
                    crate::url::shown(&next)
                ),
            });
        }
        if visited.len() >= limits.max_pages {
            return Err(Error::BadResponse {
                url: first.to_owned(),
                reason: format!(
                    "the listing has more than {} pages; stopped",
                    limits.max_pages
                ),
            });
        }
        url = next;
    }
}

/// `GET` a JSON document (following same-origin redirects), with retries; returns it and the
/// `rel="next"` link if any.
async fn get_json<T: serde::de::DeserializeOwned>(
    transport: &Transport,
    url: &str,
) -> Result<(T, Option<String>), Error> {
    transport
        .retry()
        .run(|| async {
            let answer = transport
                .fetch(
                    Method::GET,
                    url,
                    url,
                    &HeaderMap::new(),
                    Redirects::RefuseForeign,
                    transport.download_timeout(),
                )
                .await?;
            let next = next_link(answer.headers());
            let value = transport.read_json(answer, MAX_JSON_BYTES).await?;
            Ok((value, next))
        })
        .await
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::LINK).iter().find_map(|value| {
        let value = value.to_str().ok()?;
        value.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "rel=\"next\"" || p == "rel=next"
                })
                .then(|| target.to_owned())
        })
    })
}

/// A commit or ETag that will become a file name must be plain: no separator, no `..`, printable.
fn check_header_value(name: &str, url: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 256
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadResponse {
            url: url.to_owned(),
            reason: format!("{name} `{value}` is not a plain identifier"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn links_and_header_values() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                "<http://h/api/x?cursor=2>; rel=\"next\", <http://h/a>; rel=\"prev\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("http://h/api/x?cursor=2")
        );
        assert!(check_header_value("ETag", "u", "../x").is_err());
        assert!(check_header_value("ETag", "u", "abc123").is_ok());
    }
}
