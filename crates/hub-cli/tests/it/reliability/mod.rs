//! Reliability of the `hfhub` binary as processes meet it: killed at random points, run eight at
//! once, with a file size limit, with bad input, with its logs turned up (issue 8; figures in
//! docs/reliability.md). Every test is seeded and bounded; `HFHUB_RELIABILITY_HEAVY=1` runs the
//! heavier variants.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use hfhub_tests::heavy;
pub use hfhub_tests::hostile::verify_blobs;

mod bad_input;
mod concurrency;
mod crash;
mod disk_full;
mod integrity;
mod locks;
mod tokens;

/// `hfhub ARGS` with every HF_* variable cleared, the cache at `cache`, the endpoint at `endpoint`.
pub fn hfhub(home: &Path, cache: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
    for var in hub_cache::env::ALL {
        command.env_remove(var.name);
    }
    command
        .env("HF_HOME", home)
        .env("HF_HUB_CACHE", cache)
        .env("HF_ENDPOINT", endpoint)
        .env_remove("RUST_LOG")
        .env_remove("HFHUB_TEST_LOCKS")
        .stdin(Stdio::null());
    command
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file (not folder) below `root`, symlinks included, relative.
pub fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = hfhub_tests::tree::entries(root, |_| true)
        .into_iter()
        .filter(|entry| entry.kind != hfhub_tests::tree::Kind::Dir)
        .map(|entry| PathBuf::from(entry.relative))
        .collect();
    files.sort();
    files
}

/// Temp files (`*.incomplete`, `*.tmp`) left anywhere below `root`.
pub fn temp_files(root: &Path) -> Vec<PathBuf> {
    files_below(root)
        .into_iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".incomplete") || name.ends_with(".tmp")
        })
        .collect()
}
