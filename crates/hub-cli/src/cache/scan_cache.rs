//! `hfhub scan-cache`: the report `huggingface-cli scan-cache` of huggingface_hub 0.25 prints, byte for
//! byte except the elapsed time, on caches 0.25 wrote. The top-level entries 2.x skips
//! (`CACHEDIR.TAG`, which hfhub itself writes, OS helper files, a marked shared `blobs/`) are skipped
//! too, where 0.25 would report each as a corrupted repo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use hub_cache::display::escape;
use hub_cache::format::{Flavour, format_size, format_timesince_now};
use hub_cache::scan::{Options, Report, ScanError, scan_with};

use super::table::{Ansi, Cell, tabulate_0x};

/// Arguments of `hfhub scan-cache`.
#[derive(Debug, clap::Args)]
pub struct ScanCacheArgs {
    /// Cache directory to scan [default: the hub cache the environment selects].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Show one row per revision (-v); -vvv also prints the warnings.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Runs `hfhub scan-cache`.
pub fn run(args: ScanCacheArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let ansi = Ansi::from_env(&env);
    let dir = args.dir.unwrap_or_else(|| super::default_cache_dir(&env));
    let started = Instant::now();
    let options = Options::new()
        .with_flavour(Flavour::V0x)
        .with_2x_skips(true)
        .with_confined(true);
    let report = match scan_with(&dir, &options) {
        Ok(report) => report,
        Err(ScanError::NotFound { path }) => {
            println!("Cache directory not found: {}", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(error) => return Err(error.into()),
    };
    let elapsed = started.elapsed().as_secs_f64();
    for refused in &report.refused {
        eprintln!("warning: not counted: {refused}");
    }
    println!("{}", table(&report, args.verbose));
    println!();
    println!(
        "Done in {:.1}s. Scanned {} repo(s) for a total of {}.",
        elapsed,
        report.repos.len(),
        ansi.red(&format_size(report.size_on_disk))
    );
    if !report.warnings.is_empty() {
        let message = format!("Got {} warning(s) while scanning.", report.warnings.len());
        if args.verbose >= 3 {
            println!("{}", ansi.gray(&message));
            for warning in &report.warnings {
                println!("{}", ansi.gray(&escape(&warning.to_string())));
            }
        } else {
            println!(
                "{}",
                ansi.gray(&format!("{message} Use -vvv to print details."))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The repo table (verbosity 0) or the revision table (verbosity 1 and more), 0.2x `get_table`.
pub fn table(report: &Report, verbosity: u8) -> String {
    let flavour = Flavour::V0x;
    // `report.repos` is sorted by repo path, revisions by commit hash, as upstream sorts them.
    if verbosity == 0 {
        let rows: Vec<Vec<Cell>> = report
            .repos
            .iter()
            .map(|repo| {
                vec![
                    Cell::Text(escape(repo.repo.id.as_str()).into_owned()),
                    Cell::Text(repo.repo.repo_type.as_str().to_owned()),
                    Cell::Text(format!("{:>12}", format_size(repo.size_on_disk))),
                    Cell::Int(repo.nb_files as u64),
                    Cell::Text(format_timesince_now(repo.last_accessed, flavour)),
                    Cell::Text(format_timesince_now(repo.last_modified, flavour)),
                    Cell::Text(
                        escape(&repo.refs.keys().cloned().collect::<Vec<_>>().join(", "))
                            .into_owned(),
                    ),
                    Cell::Text(escape(&repo.repo_path.display().to_string()).into_owned()),
                ]
            })
            .collect();
        tabulate_0x(
            &rows,
            &[
                "REPO ID",
                "REPO TYPE",
                "SIZE ON DISK",
                "NB FILES",
                "LAST_ACCESSED",
                "LAST_MODIFIED",
                "REFS",
                "LOCAL PATH",
            ],
        )
    } else {
        let rows: Vec<Vec<Cell>> = report
            .repos
            .iter()
            .flat_map(|repo| {
                repo.revisions.iter().map(move |revision| {
                    vec![
                        Cell::Text(escape(repo.repo.id.as_str()).into_owned()),
                        Cell::Text(repo.repo.repo_type.as_str().to_owned()),
                        Cell::Text(escape(&revision.commit_hash).into_owned()),
                        Cell::Text(format!("{:>12}", format_size(revision.size_on_disk))),
                        Cell::Int(revision.nb_files() as u64),
                        Cell::Text(format_timesince_now(revision.last_modified, flavour)),
                        Cell::Text(
                            escape(&revision.refs.iter().cloned().collect::<Vec<_>>().join(", "))
                                .into_owned(),
                        ),
                        Cell::Text(
                            escape(&revision.snapshot_path.display().to_string()).into_owned(),
                        ),
                    ]
                })
            })
            .collect();
        tabulate_0x(
            &rows,
            &[
                "REPO ID",
                "REPO TYPE",
                "REVISION",
                "SIZE ON DISK",
                "NB FILES",
                "LAST_MODIFIED",
                "REFS",
                "LOCAL PATH",
            ],
        )
    }
}
