//! What a metadata (`HEAD`) answer says about a file: commit, normalised ETag, size, download location
//! (`file_download.py::get_hf_file_metadata`, `_normalize_etag`).

/// The file metadata a resolve answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `X-Repo-Commit`: the commit the revision resolved to.
    pub commit: String,
    /// Normalised `X-Linked-Etag`, else `ETag`: sha256 for LFS files, git blob sha1 otherwise.
    pub etag: String,
    /// `X-Linked-Size`, else `Content-Length` (not on a redirect); `None` when unknown.
    pub size: Option<u64>,
    /// Where the bytes are: the `Location` of a redirect not followed, else the final URL.
    pub location: String,
}

/// Why an answer is not usable as file metadata (upstream `FileMetadataError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error(
        "response from {} is missing the 'X-Repo-Commit' header, so it does not seem to be served by a Hugging Face Hub endpoint",
        crate::url::shown(.url)
    )]
    MissingCommit { url: String },
    #[error(
        "response from {} has no ETag, so the file cannot be stored reliably",
        crate::url::shown(.url)
    )]
    MissingEtag { url: String },
}

/// ETag normalisation as upstream does it: strip every leading `W` or `/` character (a set, not a
/// prefix), then `"` from both ends. `W/"abc"` → `abc`.
pub fn normalize_etag(etag: &str) -> &str {
    etag.trim_start_matches(['W', '/']).trim_matches('"')
}

/// The headers of a metadata answer that matter, as plain strings (so this stays free of HTTP types).
#[derive(Debug, Clone, Default)]
pub struct MetadataHeaders<'a> {
    pub repo_commit: Option<&'a str>,
    pub linked_etag: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub linked_size: Option<&'a str>,
    pub content_length: Option<&'a str>,
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
            .map(normalize_etag)
            .ok_or_else(|| MetadataError::MissingEtag {
                url: final_url.to_owned(),
            })?;
        let parse = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok());
        let size = match parse(self.linked_size) {
            Some(size) => Some(size),
            None if is_redirect => None,
            None => parse(self.content_length),
        };
        Ok(Resolved {
            commit: commit.to_owned(),
            etag: etag.to_owned(),
            size,
            location: self.location.unwrap_or(final_url).to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_normalised_like_upstream() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
        assert_eq!(normalize_etag("WW//\"x\""), "x");
    }

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
        assert_eq!(resolved.etag, "sha256");
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
