//! `hfhub cache rm`: 2.x `hf cache rm` (`cli/cache.py::rm`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use hub_cache::format::format_size;
use hub_cache::scan::{CachedRepo, CachedRevision, Report};

use super::ls::{cache_id, scan};
use super::output::{Failure, Json, Output, OutputArgs};

/// Arguments of `hfhub cache rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Repos (`model/gpt2`, `dataset/org/name`), `hf://` repo or file URIs, or 40-hex revision hashes.
    #[arg(required = true, value_name = "TARGET")]
    targets: Vec<String>,
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

/// Revisions selected per repo (index in `report.repos` → revision indexes).
pub type Selection = BTreeMap<usize, BTreeSet<usize>>;

/// Runs `hfhub cache rm`.
pub fn run(args: RmArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let out = Output::new(&args.output, &env);
    match rm(&args, &out, &env) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(failure) => Ok(out.fail(failure, "cache rm")),
    }
}

/// A parsed `hf://` repo URI: (type, id, path in repo).
struct HfUri {
    repo_type: &'static str,
    id: String,
    path: String,
}

fn parse_hf_uri(target: &str) -> Result<HfUri, Failure> {
    let body = target.strip_prefix("hf://").unwrap_or(target);
    if body.is_empty() {
        return Err(Failure::Cli(format!(
            "Invalid HF URI '{target}': Empty body after 'hf://'."
        )));
    }
    let (repo_type, location) = match body.split_once('/') {
        Some((first, rest)) => match first {
            "models" => ("model", rest),
            "datasets" => ("dataset", rest),
            "spaces" => ("space", rest),
            "kernels" => ("kernel", rest),
            "buckets" => {
                return Err(Failure::Cli(
                    "Only repository hf:// URIs are supported by `hfhub cache rm`.".to_owned(),
                ));
            }
            _ => ("model", body),
        },
        None => ("model", body),
    };
    let location = location.trim_matches('/');
    let at = location.find('@');
    if let Some(at) = at.filter(|at| location[..*at].matches('/').count() <= 1) {
        let has_path = location[at + 1..].contains('/');
        let hint = if has_path {
            "Drop '@<revision>' to delete the file from all cached revisions."
        } else {
            "Pass the revision hash instead, see 'hfhub cache ls --revisions'."
        };
        return Err(Failure::Cli(format!(
            "Revisions in hf:// URIs are not supported by `hfhub cache rm`. {hint}"
        )));
    }
    let parts: Vec<&str> = location.splitn(3, '/').collect();
    if parts.len() < 2 {
        return Err(Failure::Cli(format!(
            "Invalid HF URI '{target}': Repository id must be 'namespace/name', got '{location}'. "
        )));
    }
    Ok(HfUri {
        repo_type,
        id: format!("{}/{}", parts[0], parts[1]),
        path: parts.get(2).map(|p| p.to_string()).unwrap_or_default(),
    })
}

fn rm(args: &RmArgs, out: &Output, env: &hub_cache::env::Env) -> Result<(), Failure> {
    let report = scan(args.cache_dir.as_ref(), env)?;
    let targets: Vec<String> = args
        .targets
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let mut uris = BTreeMap::new();
    for target in targets.iter().filter(|t| t.starts_with("hf://")) {
        uris.insert(target.clone(), parse_hf_uri(target)?);
    }
    let distinct: BTreeSet<&String> = targets.iter().collect();
    let file_targets: Vec<(&String, &HfUri)> = uris
        .iter()
        .filter(|(_, uri)| !uri.path.is_empty())
        .collect();
    if !file_targets.is_empty() {
        if file_targets.len() != distinct.len() {
            return Err(Failure::Cli(
                "File targets cannot be mixed with repository or revision targets.".to_owned(),
            ));
        }
        return rm_files(args, out, &report, &file_targets);
    }

    let mut selection = Selection::new();
    let mut missing = Vec::new();
    for target in &targets {
        let lowered = target.to_lowercase();
        if lowered.len() == 40 && lowered.chars().all(|c| c.is_ascii_hexdigit()) {
            // The last repo holding the hash wins, as upstream's lookup dict.
            let found = report.repos.iter().enumerate().rev().find_map(|(r, repo)| {
                repo.revisions
                    .iter()
                    .position(|rev| rev.commit_hash.to_lowercase() == lowered)
                    .map(|v| (r, v))
            });
            match found {
                Some((r, v)) => {
                    selection.entry(r).or_default().insert(v);
                }
                None => missing.push(target.clone()),
            }
            continue;
        }
        let wanted = match uris.get(target) {
            Some(uri) => format!("{}/{}", uri.repo_type, uri.id),
            None => target.clone(),
        }
        .to_lowercase();
        // The last repo with a given lower-cased id wins, as upstream's lookup dict.
        match report
            .repos
            .iter()
            .rposition(|repo| cache_id(repo).to_lowercase() == wanted)
        {
            Some(r) => {
                selection
                    .entry(r)
                    .or_default()
                    .extend(0..report.repos[r].revisions.len());
            }
            None => missing.push(target.clone()),
        }
    }
    if !missing.is_empty() {
        let details: Vec<String> = missing.iter().map(|t| format!("  - {t}")).collect();
        out.warning(&format!("Could not find in cache:\n{}", details.join("\n")));
    }
    let hashes: BTreeSet<String> = selection
        .iter()
        .flat_map(|(r, revs)| {
            revs.iter()
                .map(|v| report.repos[*r].revisions[*v].commit_hash.clone())
        })
        .collect();
    if hashes.is_empty() {
        out.text("Nothing to delete.");
        return Ok(());
    }
    let hashes: Vec<String> = hashes.into_iter().collect();
    let plan = report.delete_revisions(&hashes);
    let counts = Counts::of(&report, &selection);
    let mut parts = Vec::new();
    if counts.repos > 0 {
        parts.push(format!("{} repo(s)", counts.repos));
    }
    if counts.partial_revisions > 0 {
        parts.push(format!("{} revision(s)", counts.partial_revisions));
    }
    if parts.is_empty() {
        parts.push(format!("{} revision(s)", counts.total_revisions));
    }
    let size = format_size(plan.expected_freed_size);
    out.text(&format!(
        "About to delete {} totalling {size}.",
        parts.join(" and ")
    ));
    print_selected(out, &report, &selection);
    if args.dry_run {
        out.result(
            "Dry run: no files were deleted.",
            &[
                ("dry_run", Json::Bool(true)),
                ("repos", Json::Int(counts.repos as u64)),
                ("revisions", Json::Int(counts.total_revisions as u64)),
                ("size", Json::Str(size)),
            ],
        );
        return Ok(());
    }
    out.confirm("Proceed with deletion?", args.yes)?;
    execute(out, &plan)?;
    out.result(
        &format!(
            "Deleted {} repo(s) and {} revision(s); freed {size}.",
            counts.repos, counts.total_revisions
        ),
        &[
            ("repos_deleted", Json::Int(counts.repos as u64)),
            (
                "revisions_deleted",
                Json::Int(counts.total_revisions as u64),
            ),
            ("freed", Json::Str(size)),
        ],
    );
    Ok(())
}

fn rm_files(
    args: &RmArgs,
    out: &Output,
    report: &Report,
    targets: &[(&String, &HfUri)],
) -> Result<(), Failure> {
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut missing = Vec::new();
    for (target, uri) in targets {
        let wanted = format!("{}/{}", uri.repo_type, uri.id).to_lowercase();
        let Some(repo) = report
            .repos
            .iter()
            .rev()
            .find(|repo| cache_id(repo).to_lowercase() == wanted)
        else {
            missing.push((*target).clone());
            continue;
        };
        let mut found = false;
        for revision in &repo.revisions {
            for file in &revision.files {
                let relative = file
                    .file_path
                    .strip_prefix(&revision.snapshot_path)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if relative == uri.path {
                    found = true;
                    files.insert(
                        file.file_path.clone(),
                        format!("{}@{}/{}", cache_id(repo), revision.commit_hash, uri.path),
                    );
                }
            }
        }
        if !found {
            missing.push((*target).clone());
        }
    }
    if !missing.is_empty() {
        let details: Vec<String> = missing.iter().map(|t| format!("  - {t}")).collect();
        out.warning(&format!("Could not find in cache:\n{}", details.join("\n")));
    }
    if files.is_empty() {
        out.text("Nothing to delete.");
        return Ok(());
    }
    let paths: Vec<&PathBuf> = files.keys().collect();
    let plan = report.delete_files(&paths);
    let size = format_size(plan.expected_freed_size);
    out.text(&format!(
        "About to delete {} file(s) totalling {size}.",
        files.len()
    ));
    let mut labels: Vec<&String> = files.values().collect();
    labels.sort();
    for label in labels {
        out.text(&format!("  - {label}"));
    }
    if args.dry_run {
        out.result(
            "Dry run: no files were deleted.",
            &[
                ("dry_run", Json::Bool(true)),
                ("files", Json::Int(files.len() as u64)),
                ("size", Json::Str(size)),
            ],
        );
        return Ok(());
    }
    out.confirm("Proceed with deletion?", args.yes)?;
    execute(out, &plan)?;
    out.result(
        &format!("Deleted {} file(s); freed {size}.", files.len()),
        &[
            ("files_deleted", Json::Int(files.len() as u64)),
            ("freed", Json::Str(size)),
        ],
    );
    Ok(())
}

/// Executes a plan; upstream logs its warnings (not shown by default) and lets other errors raise.
pub fn execute(out: &Output, plan: &hub_cache::Plan) -> Result<(), Failure> {
    let outcome = plan
        .execute()
        .map_err(|error| Failure::Cli(format!("{error}: {}", error.source)))?;
    for warning in &outcome.warnings {
        if matches!(warning, hub_cache::delete::DeleteWarning::Refused { .. }) {
            out.warning(&warning.to_string());
        }
    }
    Ok(())
}

/// `CacheDeletionCounts`.
pub struct Counts {
    pub repos: usize,
    pub partial_revisions: usize,
    pub total_revisions: usize,
}

impl Counts {
    /// `summarize_deletions`.
    pub fn of(report: &Report, selection: &Selection) -> Counts {
        let mut repos = 0;
        let mut total = 0;
        let mut in_full = 0;
        for (r, revisions) in selection {
            total += revisions.len();
            if revisions.len() == report.repos[*r].revisions.len() {
                repos += 1;
                in_full += revisions.len();
            }
        }
        Counts {
            repos,
            partial_revisions: total - in_full,
            total_revisions: total,
        }
    }
}

/// `print_cache_selected_revisions`: repos by (type, lower-cased id), revisions by hash.
pub fn print_selected(out: &Output, report: &Report, selection: &Selection) {
    let mut repos: Vec<(&CachedRepo, &BTreeSet<usize>)> = selection
        .iter()
        .map(|(r, revs)| (&report.repos[*r], revs))
        .collect();
    repos.sort_by_key(|(repo, _)| {
        (
            repo.repo.repo_type.as_str(),
            repo.repo.id.as_str().to_lowercase(),
        )
    });
    for (repo, revisions) in repos {
        let key = cache_id(repo);
        if revisions.len() == repo.revisions.len() {
            out.text(&format!("  - {key} (entire repo)"));
            continue;
        }
        out.text(&format!("  - {key}:"));
        let mut selected: Vec<&CachedRevision> =
            revisions.iter().map(|v| &repo.revisions[*v]).collect();
        selected.sort_by(|a, b| a.commit_hash.cmp(&b.commit_hash));
        for revision in selected {
            let refs = if revision.refs.is_empty() {
                "(detached)".to_owned()
            } else {
                revision.refs.iter().cloned().collect::<Vec<_>>().join(" ")
            };
            out.text(&format!(
                "      {} [{refs}] {}",
                revision.commit_hash,
                format_size(revision.size_on_disk)
            ));
        }
    }
}
