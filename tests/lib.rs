//! Support code for the workspace integration tests (`it/`) and for `cargo xtask`:
//! the Python oracle (pinned `huggingface_hub` in a virtualenv this crate creates itself) and the
//! deterministic fixture caches, and the hostile server and canary of the security tests.

pub mod fixtures;
pub mod hostile;
pub mod oracle;
pub mod synthetic;
