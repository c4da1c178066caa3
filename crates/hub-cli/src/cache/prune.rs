//! `hfhub cache prune`: 2.x `hf cache prune` (`cli/cache.py::prune`).

use std::path::PathBuf;
use std::process::ExitCode;

use hub_cache::format::format_size;

use super::ls::scan;
use super::output::{Failure, Json, Output, OutputArgs};
use super::rm::{Counts, Selection, print_selected};

/// Arguments of `hfhub cache prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Cache directory to scan [default: the hub cache the environment selects].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Skip the confirmation prompt.
    #[arg(short, long)]
    yes: bool,
    /// Show what would be deleted without deleting anything.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs `hfhub cache prune`.
pub fn run(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let out = Output::new(&args.output, &env);
    match prune(&args, &out, &env) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(failure) => Ok(out.fail(failure, "cache prune")),
    }
}

/// `_prune_summary`.
fn summary(revisions: usize, incomplete: usize, shared: usize) -> String {
    let mut parts = Vec::new();
    if revisions > 0 {
        parts.push(format!("{revisions} unreferenced revision(s)"));
    }
    if incomplete > 0 {
        parts.push(format!("{incomplete} incomplete download(s)"));
    }
    if shared > 0 {
        parts.push(format!("{shared} unreferenced shared blob(s)"));
    }
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    }
}

fn prune(args: &PruneArgs, out: &Output, env: &hub_cache::env::Env) -> Result<(), Failure> {
    let report = scan(args.cache_dir.as_ref(), env)?;
    let plan = report.prune();
    if plan.is_empty() {
        out.text("No unreferenced revisions, incomplete downloads or shared blobs found. Nothing to prune.");
        return Ok(());
    }
    let mut selection = Selection::new();
    for (r, repo) in report.repos.iter().enumerate() {
        for (v, revision) in repo.revisions.iter().enumerate() {
            if revision.refs.is_empty() {
                selection.entry(r).or_default().insert(v);
            }
        }
    }
    let counts = Counts::of(&report, &selection);
    let total = format_size(plan.expected_freed_size());
    let summary = summary(
        counts.total_revisions,
        plan.incomplete_files.len(),
        plan.unreferenced_shared_blobs.len(),
    );
    out.text(&format!("About to delete {summary} ({total} total)."));
    print_selected(out, &report, &selection);
    if args.dry_run {
        out.result(
            "Dry run: no files were deleted.",
            &[
                ("dry_run", Json::Bool(true)),
                ("revisions", Json::Int(counts.total_revisions as u64)),
                ("incomplete", Json::Int(plan.incomplete_files.len() as u64)),
                (
                    "shared_blobs",
                    Json::Int(plan.unreferenced_shared_blobs.len() as u64),
                ),
                ("size", Json::Str(total)),
            ],
        );
        return Ok(());
    }
    out.confirm("Proceed?", args.yes)?;
    let outcome = plan
        .execute()
        .map_err(|error| Failure::Cli(format!("{error}: {}", error.source)))?;
    for warning in &outcome.warnings {
        if matches!(
            warning,
            hub_cache::delete::DeleteWarning::Failed { .. }
                | hub_cache::delete::DeleteWarning::Refused { .. }
        ) {
            out.warning(&warning.to_string());
        }
    }
    out.result(
        &format!("Deleted {summary}; freed {total}."),
        &[
            (
                "revisions_deleted",
                Json::Int(counts.total_revisions as u64),
            ),
            (
                "incomplete_deleted",
                Json::Int(plan.incomplete_files.len() as u64),
            ),
            (
                "shared_blobs_deleted",
                Json::Int(plan.unreferenced_shared_blobs.len() as u64),
            ),
            ("freed", Json::Str(total)),
        ],
    );
    Ok(())
}
