//! Reliability and security of the library stack against hostile and flaky servers (issue 8; the
//! figures are in docs/reliability.md): a malicious server, a flaky one, wrong bytes, token hygiene,
//! and bounded fuzzing of the parsers. Process-level items (SIGKILL, concurrent processes, file size
//! limits, bad input) live in `crates/hub-cli/tests/it/reliability/`.
//!
//! Every test is seeded and bounded; `HFHUB_RELIABILITY_HEAVY=1` runs heavier variants.

pub use hfhub_tests::hostile::{Hostile, Seen, answer, tree_state, verify_blobs};

mod flaky;
mod fuzz;
mod integrity;
mod malicious;
mod tokens;

/// Whether the heavier variants run (`HFHUB_RELIABILITY_HEAVY=1`).
pub fn heavy() -> bool {
    std::env::var_os("HFHUB_RELIABILITY_HEAVY").is_some_and(|v| v == "1")
}
