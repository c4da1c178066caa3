//! The cache commands: `scan-cache` and `delete-cache` as huggingface_hub 0.25's `huggingface-cli`
//! prints them, `cache ls|rm|prune` as 2.x `hf cache`, and `cache verify`.

pub mod choices;
pub mod delete_cache;
pub mod ls;
pub mod output;
pub mod prune;
pub mod rm;
pub mod scan_cache;
pub mod table;
pub mod tui;
pub mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

pub use delete_cache::DeleteCacheArgs;
pub use scan_cache::ScanCacheArgs;

/// `hfhub cache ...`.
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// List cached repositories or revisions (as 2.x `hf cache ls`).
    #[command(alias = "list")]
    Ls(ls::LsArgs),
    /// Remove cached repositories, revisions or files (as 2.x `hf cache rm`).
    Rm(rm::RmArgs),
    /// Remove detached revisions, incomplete downloads and unreferenced shared blobs.
    Prune(prune::PruneArgs),
    /// Re-hash every blob and check every snapshot pointer; exit 1 on any problem.
    Verify(verify::VerifyArgs),
}

/// Runs `hfhub cache ...`.
pub fn run(command: CacheCommand) -> anyhow::Result<ExitCode> {
    match command {
        CacheCommand::Ls(args) => ls::run(args),
        CacheCommand::Rm(args) => rm::run(args),
        CacheCommand::Prune(args) => prune::run(args),
        CacheCommand::Verify(args) => verify::run(args),
    }
}

/// The hub cache the environment selects (`HF_HUB_CACHE`, `HF_HOME`...).
pub fn default_cache_dir(env: &hub_cache::env::Env) -> PathBuf {
    env.locations().hub_cache
}
