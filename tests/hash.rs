//! The content hashes a hub cache names blobs by, computed here with `sha1`/`sha2` directly rather
//! than with `hub_cache::hash`, so tests and fixtures check that code instead of reusing it: git's
//! blob id for regular files, sha256 for LFS files, both as lower-case hex.

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

/// Git's blob id: sha1 of `blob <len>\0` followed by the content, 40 lower-case hex.
pub fn git_sha1(content: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex(&hasher.finalize())
}

/// sha256 of the content, 64 lower-case hex (the ETag of an LFS file).
pub fn sha256(content: &[u8]) -> String {
    hex(&Sha256::digest(content))
}

/// sha1 of the content, 40 lower-case hex (deterministic commit hashes from a label).
pub fn sha1(content: &[u8]) -> String {
    hex(&Sha1::digest(content))
}

/// The blob name of a file: sha256 for an LFS file, git blob sha1 otherwise.
pub fn etag(content: &[u8], lfs: bool) -> String {
    if lfs {
        sha256(content)
    } else {
        git_sha1(content)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
