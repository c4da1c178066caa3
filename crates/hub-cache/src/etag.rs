//! The one ETag rule of the workspace: what a server's `ETag` / `X-Linked-Etag` header, a listing's
//! `oid`, or a blob file name is allowed to be, and how it is checked against downloaded bytes.
//!
//! An [`Etag`] is the normalised header value exactly as upstream stores it (`blobs/<etag>`: the
//! case is kept, so a cache stays byte-compatible with Python), and it is safe as one file name.
//! Whether bytes can be verified against it is [`Etag::hash_kind`]: 64 hex digits are a sha256,
//! 40 a git blob sha1, in either case; anything else cannot be verified, and the caller says so.

use std::fmt;

use crate::hash::HashKind;

/// Longest ETag accepted: a blob name must fit in one file name (255 bytes on common file systems).
pub const MAX_ETAG_LEN: usize = 200;

/// A validated blob name: a normalised ETag that is safe as a file name in `blobs/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Etag(String);

/// Why a value is not usable as an ETag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ETag `{}`: {reason}", crate::display::Escaped(.value))]
pub struct InvalidEtag {
    /// The value as received (shown escaped).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Etag {
    /// Parses a header value: upstream's `_normalize_etag` (strip every leading `W` or `/`
    /// character, then `"` from both ends), then the file-name rule of [`Etag::parse`].
    pub fn from_header(raw: &str) -> Result<Etag, InvalidEtag> {
        Etag::parse(raw.trim_start_matches(['W', '/']).trim_matches('"'))
    }

    /// Parses an already normalised value (a listing's `oid`, a blob file name, a lock name).
    pub fn parse(value: &str) -> Result<Etag, InvalidEtag> {
        let invalid = |reason| InvalidEtag {
            value: value.chars().take(MAX_ETAG_LEN + 8).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("it is empty"));
        }
        if value.len() > MAX_ETAG_LEN {
            return Err(invalid("it is too long"));
        }
        if value == "." || value == ".." {
            return Err(invalid("it is a relative path component"));
        }
        if value.contains(['/', '\\']) {
            return Err(invalid("it contains a path separator"));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid("it contains a control character"));
        }
        Ok(Etag(value.to_owned()))
    }

    /// The name as stored (`blobs/<etag>`, `.locks/<repo>/<etag>.lock`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The content hash this ETag names, compared without regard to case; `None` when it is not a
    /// hash we can check (then only the size can be verified, and the caller warns).
    pub fn hash_kind(&self) -> Option<HashKind> {
        HashKind::of_hex(&self.0)
    }

    /// True when `digest` (hex, any case) is the hash this ETag names.
    pub fn matches_digest(&self, digest: &str) -> bool {
        self.0.eq_ignore_ascii_case(digest)
    }
}

impl fmt::Display for Etag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Etag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_normalised_like_upstream() {
        assert_eq!(Etag::from_header("W/\"abc\"").unwrap().as_str(), "abc");
        assert_eq!(Etag::from_header("\"abc\"").unwrap().as_str(), "abc");
        assert_eq!(Etag::from_header("WW//\"x\"").unwrap().as_str(), "x");
    }

    #[test]
    fn hashes_are_recognised_in_either_case_and_kept_as_sent() {
        let upper = Etag::parse(&"AB".repeat(32)).unwrap();
        assert_eq!(upper.hash_kind(), Some(HashKind::Sha256));
        assert_eq!(upper.as_str(), "AB".repeat(32));
        assert!(upper.matches_digest(&"ab".repeat(32)));
        assert!(!upper.matches_digest(&"ac".repeat(32)));
        assert_eq!(
            Etag::parse(&"e".repeat(40)).unwrap().hash_kind(),
            Some(HashKind::GitSha1)
        );
        assert_eq!(Etag::parse("abc-123").unwrap().hash_kind(), None);
        assert_eq!(Etag::parse(&"g".repeat(64)).unwrap().hash_kind(), None);
    }

    #[test]
    fn names_that_are_not_one_safe_file_name_are_refused() {
        for bad in [
            String::new(),
            ".".into(),
            "..".into(),
            "a/b".into(),
            "../../x".into(),
            "a\\b".into(),
            "a\0b".into(),
            "a\x1b[2Jb".into(),
            "x".repeat(MAX_ETAG_LEN + 1),
        ] {
            assert!(Etag::parse(&bad).is_err(), "{bad:?}");
        }
        let error = Etag::from_header("\"a\x1bb/c\"").unwrap_err().to_string();
        assert!(!error.contains('\x1b'), "{error}");
    }
}
