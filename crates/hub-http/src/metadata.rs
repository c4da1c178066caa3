//! What a metadata (`HEAD`) answer says about a file: commit, ETag, size, download location
//! (`file_download.py::get_hf_file_metadata`). The ETag is parsed by the workspace's one rule,
//! [`hub_cache::Etag::from_header`].

use hub_cache::etag::{Etag, InvalidEtag};

/// The file metadata a resolve answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `X-Repo-Commit`: the commit the revision resolved to.
    pub commit: String,
    /// `X-Linked-Etag`, else `ETag`, normalised: sha256 for LFS files, git blob sha1 otherwise.
    pub etag: Etag,
    /// `X-Linked-Size`, else `Content-Length` (not on a redirect); `None` when unknown.
    pub size: Option<u64>,
    /// Where the bytes are: the `Location` of a redirect not followed, else the final URL.
    pub location: String,
}

/// Why an answer is not usable as file metadata (upstream `FileMetadataError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// No `X-Repo-Commit` header: the server is not a Hub.
    #[error(
        "response from {} is missing the 'X-Repo-Commit' header, so it does not seem to be served by a Hugging Face Hub endpoint",
        crate::url::shown(.url)
    )]
    MissingCommit {
        /// The URL of the answer.
        url: String,
    },
    /// Neither `X-Linked-Etag` nor `ETag`.
    #[error(
        "response from {} has no ETag, so the file cannot be stored reliably",
        crate::url::shown(.url)
    )]
    MissingEtag {
        /// The URL of the answer.
        url: String,
    },
    /// An ETag that cannot name a blob file ([`hub_cache::Etag::from_header`]).
    #[error("response from {}: {source}", crate::url::shown(.url))]
    InvalidEtag {
        /// The URL of the answer.
        url: String,
        /// Why the ETag was refused.
        #[source]
        source: InvalidEtag,
    },
}

/// The headers of a metadata answer that matter, as plain strings (so this stays free of HTTP types).
#[derive(Debug, Clone, Default)]
pub struct MetadataHeaders<'a> {
    /// `X-Repo-Commit`: the commit the revision resolved to.
    pub repo_commit: Option<&'a str>,
    /// `X-Linked-Etag`: an LFS file's sha256 (preferred over `ETag`).
    pub linked_etag: Option<&'a str>,
    /// `ETag`.
    pub etag: Option<&'a str>,
    /// `X-Linked-Size`: an LFS file's size (preferred over `Content-Length`).
    pub linked_size: Option<&'a str>,
    /// `Content-Length` (the file size only when the answer is not a redirect).
    pub content_length: Option<&'a str>,
    /// `Location`, on a redirect: where the bytes are.
    pub location: Option<&'a str>,
}

impl MetadataHeaders<'_> {
    /// Derives the metadata. `final_url` is the URL of the last request; `is_redirect` tells whether
    /// that answer was a 3xx (then `Content-Length` is not the file size, as since 1.28).
    pub fn resolve(&self, final_url: &str, is_redirect: bool) -> Result<Resolved, MetadataError> {
        let commit = self
            .repo_commit
            .ok_or_else(|| MetadataError::MissingCommit {
                url: final_url.to_owned(),
            })?;
        let etag = self
            .linked_etag
            .or(self.etag)
            .ok_or_else(|| MetadataError::MissingEtag {
                url: final_url.to_owned(),
            })?;
        let etag = Etag::from_header(etag).map_err(|source| MetadataError::InvalidEtag {
            url: final_url.to_owned(),
            source,
        })?;
        let parse = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok());
        let size = match parse(self.linked_size) {
            Some(size) => Some(size),
            None if is_redirect => None,
            None => parse(self.content_length),
        };
        Ok(Resolved {
            commit: commit.to_owned(),
            etag,
            size,
            location: self.location.unwrap_or(final_url).to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_values_win_and_redirect_length_is_ignored() {
        let headers = MetadataHeaders {
            repo_commit: Some("c"),
            linked_etag: Some("\"sha256\""),
            etag: Some("\"sha1\""),
            linked_size: None,
            content_length: Some("12"),
            location: Some("http://cdn/x"),
        };
        let resolved = headers.resolve("http://hub/x", true).unwrap();
        assert_eq!(resolved.etag.as_str(), "sha256");
        assert_eq!(resolved.size, None);
        assert_eq!(resolved.location, "http://cdn/x");
        assert_eq!(
            headers.resolve("http://hub/x", false).unwrap().size,
            Some(12)
        );
        let missing = MetadataHeaders::default().resolve("u", false);
        assert!(matches!(missing, Err(MetadataError::MissingCommit { .. })));
    }
}
