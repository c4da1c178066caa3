//! Content hashes that name blobs: an LFS blob is named by the sha256 of its content (64 hex), a
//! regular file by its git blob sha1 (40 hex, the sha1 of `blob {len}\0` followed by the content).
//! Downloads are verified against the name before a blob is published; `cache verify` re-hashes.

use std::fmt;
use std::io::{self, Read};

use sha1::Digest as _;

/// The hash a blob name (a normalised ETag) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// 64 lowercase hex: sha256 of the content (LFS and Xet files).
    Sha256,
    /// 40 lowercase hex: git blob sha1 of the content (regular files).
    GitSha1,
}

impl HashKind {
    /// The kind a blob name stands for, or `None` when it is not a hash we can check. Hex digits
    /// are accepted in either case (one rule with [`crate::etag::Etag::hash_kind`]); compare a
    /// digest with the name without regard to case.
    pub fn of_blob_name(name: &str) -> Option<HashKind> {
        HashKind::of_hex(name)
    }

    /// The kind of a hex digest of 64 (sha256) or 40 (git blob sha1) digits, in either case.
    pub fn of_hex(value: &str) -> Option<HashKind> {
        let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
        match value.len() {
            64 if hex => Some(HashKind::Sha256),
            40 if hex => Some(HashKind::GitSha1),
            _ => None,
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashKind::Sha256 => "sha256",
            HashKind::GitSha1 => "git blob sha1",
        })
    }
}

/// An incremental hasher for one blob. A git blob sha1 needs the total size up front.
pub enum Hasher {
    /// The sha256 of the content (an LFS file's ETag).
    Sha256(sha2::Sha256),
    /// The sha1 of `blob <size>\0` followed by the content (a regular git file's ETag).
    GitSha1(sha1::Sha1),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Hasher::Sha256(_) => HashKind::Sha256,
            Hasher::GitSha1(_) => HashKind::GitSha1,
        };
        write!(f, "Hasher({kind})")
    }
}

impl Hasher {
    /// Starts hashing a content of `size` bytes.
    pub fn new(kind: HashKind, size: u64) -> Hasher {
        match kind {
            HashKind::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashKind::GitSha1 => {
                let mut sha1 = sha1::Sha1::new();
                sha1.update(format!("blob {size}\0").as_bytes());
                Hasher::GitSha1(sha1)
            }
        }
    }

    /// Feeds the next bytes of the content, in order.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::GitSha1(h) => h.update(bytes),
        }
    }

    /// Lowercase hex digest.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => to_hex(&h.finalize()),
            Hasher::GitSha1(h) => to_hex(&h.finalize()),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Hashes a whole reader of `size` bytes (the size is needed for git blob sha1).
pub fn hash_reader(kind: HashKind, size: u64, mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Hasher::new(kind, size);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buffer[..n]);
    }
}

/// Hashes bytes in memory.
pub fn hash_bytes(kind: HashKind, bytes: &[u8]) -> String {
    let mut hasher = Hasher::new(kind, bytes.len() as u64);
    hasher.update(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // `git hash-object` of an empty file and of "hello\n".
        assert_eq!(
            hash_bytes(HashKind::GitSha1, b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            hash_bytes(HashKind::GitSha1, b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            hash_bytes(HashKind::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            HashKind::of_blob_name(&"a".repeat(64)),
            Some(HashKind::Sha256)
        );
        assert_eq!(
            HashKind::of_blob_name(&"A".repeat(40)),
            Some(HashKind::GitSha1)
        );
        assert_eq!(HashKind::of_blob_name(&"G".repeat(40)), None);
    }
}
