//! `hfhub cache verify`: re-hash every blob of the cache (or of some repos) and check every pointer.
//!
//! The checks are [`hub_cache::verify`]'s (blob names in either case, digests compared without regard
//! to case, pointers that resolve outside the cache reported); this module parses the arguments,
//! shows progress and prints the problems (their paths with control characters escaped).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hub_cache::Repo;
use hub_cache::format::format_size;
pub use hub_cache::verify::Problem;

/// Arguments of `hfhub cache verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Repos to verify: `model/gpt2`, `dataset/org/name`, `org/name`, `datasets/org/name`,
    /// `hf://...` [default: all].
    #[arg(value_name = "REPO", value_parser = parse_repo)]
    repos: Vec<Repo>,
    /// Cache directory [default: the hub cache the environment selects].
    #[arg(long, visible_alias = "cache-dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// What a verification went through.
#[derive(Debug, Default)]
pub struct Verification {
    pub repos: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub pointers: usize,
    pub problems: Vec<Problem>,
}

/// Runs `hfhub cache verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| super::default_cache_dir(&env));
    if !dir.is_dir() {
        anyhow::bail!("cache directory not found: `{}`", dir.display());
    }
    let wanted = args.repos.clone();
    let progress = std::io::stderr().is_terminal();
    let verification = verify(&dir, &wanted, progress)?;
    for problem in &verification.problems {
        println!("{problem}");
    }
    println!(
        "Verified {} blob(s) ({}) and {} pointer(s) in {} repo(s): {} problem(s).",
        verification.blobs,
        format_size(verification.bytes),
        verification.pointers,
        verification.repos,
        verification.problems.len()
    );
    Ok(if verification.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Any repository spelling of `FromStr for Repo`: `model/gpt2` and `dataset/org/name` (as
/// `cache ls` prints them), `org/name`, `datasets/org/name`, `hf://datasets/org/name`; a bad one is
/// a usage error (exit code 2).
fn parse_repo(spec: &str) -> Result<Repo, String> {
    spec.parse()
        .map_err(|e: hub_cache::repo::InvalidRepoRef| e.to_string())
}

/// Verifies every repo folder of `cache_dir` (or only `wanted` ones), with progress on stderr
/// when asked ([`hub_cache::verify`] does the work).
pub fn verify(cache_dir: &Path, wanted: &[Repo], progress: bool) -> anyhow::Result<Verification> {
    let plan = hub_cache::verify::plan(cache_dir, wanted)?;
    let total = plan.bytes();
    let done = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let problems = std::thread::scope(|scope| {
        if progress {
            scope.spawn(|| {
                let started = Instant::now();
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    eprint!(
                        "\rVerifying: {} / {} ({:.0}s)",
                        format_size(done.load(Ordering::Relaxed)),
                        format_size(total),
                        started.elapsed().as_secs_f64()
                    );
                }
                eprintln!("\r\u{1b}[K");
            });
        }
        let problems = plan.hash(&done);
        finished.store(true, Ordering::Relaxed);
        problems
    });
    Ok(Verification {
        repos: plan.repos,
        blobs: plan.blobs.len(),
        bytes: total,
        pointers: plan.pointers,
        problems,
    })
}
