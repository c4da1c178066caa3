//! Support code for the workspace integration tests (`it/`), the crates' own integration tests and
//! `cargo xtask`: the Python oracle (pinned `huggingface_hub` in a virtualenv this crate creates
//! itself), the one cache-tree builder and folder dumps ([`tree`]), the content hashes blobs are
//! named by ([`hash`]), the deterministic fixture caches, synthetic repositories, the request log
//! of a test server ([`served`]), the hostile server and canary of the security tests, and nginx
//! (installed when missing, [`nginx`]).

pub mod counting;
pub mod fixtures;
pub mod hash;
pub mod hostile;
pub mod nginx;
pub mod oracle;
pub mod served;
pub mod synthetic;
pub mod tree;

/// Whether the heavier variants of the reliability tests run (`HFHUB_RELIABILITY_HEAVY=1`).
pub fn heavy() -> bool {
    std::env::var_os("HFHUB_RELIABILITY_HEAVY").is_some_and(|v| v == "1")
}
