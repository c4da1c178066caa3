//! Reliability and security of the library stack against hostile and flaky servers (issue 8; the
//! figures are in docs/reliability.md): a malicious server, a flaky one, wrong bytes, token hygiene,
//! and bounded fuzzing of the parsers. Process-level items (SIGKILL, concurrent processes, file size
//! limits, bad input) live in `crates/hub-cli/tests/it/reliability/`.
//!
//! Every test is seeded and bounded; `HFHUB_RELIABILITY_HEAVY=1` runs heavier variants.

pub use hfhub_tests::heavy;
pub use hfhub_tests::hostile::{Hostile, Seen, answer, verify_blobs};
pub use hfhub_tests::tree::state as tree_state;

mod flaky;
mod fuzz;
mod integrity;
mod malicious;
mod tokens;
