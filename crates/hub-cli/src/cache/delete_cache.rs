//! `hfhub delete-cache`: huggingface_hub 0.25's `huggingface-cli delete-cache`, with its checkbox TUI
//! or (`--disable-tui`) its edit-a-file review, the same texts, the same confirmation loop.

use std::cmp::Ordering;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use hub_cache::format::{Flavour, format_size, format_timesince_now, python_timestamp};
use hub_cache::scan::{CachedRepo, CachedRevision, Options, Report, scan_with};

use super::choices::{CANCEL_DELETION, Group, expectation, refs_text, repo_title};
use super::table::Ansi;

/// Arguments of `hfhub delete-cache`.
#[derive(Debug, clap::Args)]
pub struct DeleteCacheArgs {
    /// Cache directory [default: the hub cache the environment selects].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Review the deletion by editing a temporary file instead of the interactive list.
    #[arg(long)]
    disable_tui: bool,
    /// Order of the repos (0.30+); default: by type, least recently used first (0.25).
    #[arg(long, value_enum)]
    sort: Option<SortBy>,
}

/// `--sort` values of `huggingface-cli delete-cache` 0.30+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    /// By type, then lower-cased repo id.
    Alphabetical,
    /// Most recently modified first.
    #[value(name = "lastUpdated")]
    LastUpdated,
    /// Most recently used first.
    #[value(name = "lastUsed")]
    LastUsed,
    /// Largest first.
    Size,
}

/// Runs `hfhub delete-cache`.
pub fn run(args: DeleteCacheArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let ansi = Ansi::from_env(&env);
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| super::default_cache_dir(&env));
    let report = scan_with(&dir, &Options::new().with_flavour(Flavour::V0x)).map_err(|error| {
        anyhow::anyhow!(
            error
                .upstream_message()
                .unwrap_or_else(|| format!("{error:#}"))
        )
    })?;
    let groups = groups(&report, args.sort);
    let selected = if args.disable_tui {
        review_in_file(&report, &groups, ansi)?
    } else {
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            eprintln!("{}", super::tui::NOT_A_TERMINAL);
            return Ok(ExitCode::from(2));
        }
        match super::tui::select(&report, &groups)? {
            super::tui::Selection::Chosen(hashes) => hashes,
            super::tui::Selection::TooSmall => {
                eprintln!("{}", super::tui::TOO_SMALL);
                return Ok(ExitCode::from(2));
            }
        }
    };
    if !selected.is_empty() && !selected.iter().any(|h| h == CANCEL_DELETION) {
        let message = format!("{} Confirm deletion ?", expectation(&report, &selected));
        let confirmed = if args.disable_tui {
            ask_yes_no(&message, true)?
        } else {
            super::tui::confirm(&message, true)?
        };
        if confirmed {
            let plan = report.delete_revisions(&selected);
            if let Some(warning) = plan.not_found_message() {
                eprintln!("{warning}");
            }
            println!("Start deletion.");
            let outcome = plan.execute().context("deletion failed")?;
            for warning in &outcome.warnings {
                eprintln!("{warning}");
            }
            println!(
                "Done. Deleted {} repo(s) and {} revision(s) for a total of {}.",
                plan.repos.len(),
                plan.snapshots.len(),
                format_size(plan.expected_freed_size)
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    println!("Deletion is cancelled. Do nothing.");
    Ok(ExitCode::SUCCESS)
}

/// Repos in the chosen order (0.25: type, then least recently accessed; ties by path), revisions
/// oldest modification first.
pub fn groups(report: &Report, sort: Option<SortBy>) -> Vec<Group<'_>> {
    let time = |t| python_timestamp(t);
    let mut repos: Vec<&CachedRepo> = report.repos.iter().collect();
    repos.sort_by(|a, b| {
        let by_type = a.repo.repo_type.as_str().cmp(b.repo.repo_type.as_str());
        let ordering = match sort {
            None => by_type.then(time(a.last_accessed).total_cmp(&time(b.last_accessed))),
            Some(SortBy::Alphabetical) => by_type.then_with(|| {
                a.repo
                    .id
                    .as_str()
                    .to_lowercase()
                    .cmp(&b.repo.id.as_str().to_lowercase())
            }),
            Some(SortBy::LastUpdated) => time(b.last_modified).total_cmp(&time(a.last_modified)),
            Some(SortBy::LastUsed) => time(b.last_accessed).total_cmp(&time(a.last_accessed)),
            Some(SortBy::Size) => b.size_on_disk.cmp(&a.size_on_disk),
        };
        ordering.then_with(|| a.repo_path.cmp(&b.repo_path))
    });
    repos
        .into_iter()
        .map(|repo| {
            let mut revisions: Vec<&CachedRevision> = repo.revisions.iter().collect();
            revisions.sort_by(|a, b| {
                match time(a.last_modified).total_cmp(&time(b.last_modified)) {
                    Ordering::Equal => a.commit_hash.cmp(&b.commit_hash),
                    other => other,
                }
            });
            (repo, revisions)
        })
        .collect()
}

/// The instructions at the top of the review file (0.25's `_MANUAL_REVIEW_NO_TUI_INSTRUCTIONS`,
/// reproduced for byte compatibility).
const INSTRUCTIONS: &str = "# INSTRUCTIONS
# ------------
# This is a temporary file created by running `huggingface-cli delete-cache` with the
# `--disable-tui` option. It contains a set of revisions that can be deleted from your
# local cache directory.
#
# Please manually review the revisions you want to delete:
#   - Revision hashes can be commented out with '#'.
#   - Only non-commented revisions in this file will be deleted.
#   - Revision hashes that are removed from this file are ignored as well.
#   - If `CANCEL_DELETION` line is uncommented, the all cache deletion is cancelled and
#     no changes will be applied.
#
# Once you've manually reviewed this file, please confirm deletion in the terminal. This
# file will be automatically removed once done.
# ------------

# KILL SWITCH
# ------------
# Un-comment following line to completely cancel the deletion process
# CANCEL_DELETION
# ------------

# REVISIONS
# ------------";

/// The whole review file (no trailing newline), nothing preselected.
pub fn review_file(groups: &[Group]) -> String {
    let mut lines = Vec::new();
    for (repo, revisions) in groups {
        lines.push(format!("\n# {}", repo_title(repo)));
        for revision in revisions {
            lines.push(format!(
                "#    {} # Refs: {} # modified {}",
                revision.commit_hash,
                refs_text(revision),
                format_timesince_now(revision.last_modified, Flavour::V0x)
            ));
        }
    }
    format!("{INSTRUCTIONS}{}", lines.join("\n"))
}

/// `_read_manual_review_tmp_file`: uncommented lines, the text before any `#`, non-empty.
pub fn read_review(content: &str) -> Vec<String> {
    content
        .split('\n')
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|hash| !hash.is_empty())
        .collect()
}

/// The `--disable-tui` review: write the file, print its path, loop until the user says yes.
fn review_in_file(report: &Report, groups: &[Group], ansi: Ansi) -> anyhow::Result<Vec<String>> {
    let file = tempfile::Builder::new()
        .prefix("tmp")
        .rand_bytes(8)
        .suffix(".txt")
        .tempfile()
        .context("cannot create the review file")?;
    let (_, path) = file.keep().context("cannot keep the review file")?;
    std::fs::write(&path, review_file(groups))
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    println!(
        "TUI is disabled. In order to select which revisions you want to delete, please edit\n\
         the following file using the text editor of your choice. Instructions for manual\n\
         editing are located at the beginning of the file. Edit the file, save it and confirm\n\
         to continue.\n\
         File to edit: {}",
        ansi.bold(&path.display().to_string())
    );
    let selected = loop {
        let content = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let selected = read_review(&content);
        let message = format!("{} Continue ?", expectation(report, &selected));
        if ask_yes_no(&message, false)? {
            break selected;
        }
    };
    std::fs::remove_file(&path).with_context(|| format!("cannot remove `{}`", path.display()))?;
    Ok(selected)
}

/// `_ask_for_confirmation_no_tui`: `(Y/n)` or `(y/N)`, y/yes/1, n/no/0, empty = default.
fn ask_yes_no(message: &str, default: bool) -> anyhow::Result<bool> {
    let suffix = if default { " (Y/n) " } else { " (y/N) " };
    let stdin = std::io::stdin();
    loop {
        print!("{message}{suffix}");
        std::io::stdout()
            .flush()
            .context("cannot write to stdout")?;
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read stdin")?
            == 0
        {
            anyhow::bail!("EOF when reading a line");
        }
        let answer = line.trim_end_matches(['\n', '\r']).to_lowercase();
        match answer.as_str() {
            "" => return Ok(default),
            "y" | "yes" | "1" => return Ok(true),
            "n" | "no" | "0" => return Ok(false),
            _ => println!("Invalid input. Must be one of ('y', 'yes', '1', 'n', 'no', '0', '')"),
        }
    }
}
