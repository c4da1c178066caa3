//! Reliability of the `hfhub` binary as processes meet it: killed at random points, run eight at
//! once, with a file size limit, with bad input, with its logs turned up (issue 8; figures in
//! docs/reliability.md). Every test is seeded and bounded; `HFHUB_RELIABILITY_HEAVY=1` runs the
//! heavier variants.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use hfhub_tests::hostile::verify_blobs;

mod bad_input;
mod concurrency;
mod crash;
mod disk_full;
mod integrity;
mod locks;
mod tokens;

/// Whether the heavier variants run (`HFHUB_RELIABILITY_HEAVY=1`).
pub fn heavy() -> bool {
    std::env::var_os("HFHUB_RELIABILITY_HEAVY").is_some_and(|v| v == "1")
}

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
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    out.sort();
    out
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
