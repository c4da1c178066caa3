//! Support code for the workspace integration tests (`it/`) and for `cargo xtask`:
//! the Python oracle (pinned `huggingface_hub` in a virtualenv this crate creates itself) and the
//! deterministic fixture caches, the hostile server and canary of the security tests, and tree
//! listings to compare folders, and nginx (installed when missing).

pub mod fixtures;
pub mod hostile;
pub mod nginx;
pub mod oracle;
pub mod synthetic;
pub mod tree;
