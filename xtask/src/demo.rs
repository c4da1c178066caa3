//! `cargo xtask demo [--out DIR]`: the README's main-job command.
//!
//! For now: generate the fixture caches and print a scan summary of the big healthy one, computed
//! by a small walk of its own (repo folders, `refs/`, `snapshots/`, the blobs the pointers reach),
//! checked against what the generator says it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hfhub_tests::fixtures::{self, BIG_MIXED};

/// What the walk finds in one repo folder.
#[derive(Debug, Default, PartialEq, Eq)]
struct RepoSummary {
    repo_type: String,
    repo_id: String,
    revisions: usize,
    /// Pointers across all snapshots.
    files: usize,
    /// Distinct blobs the pointers reach, with their sizes.
    blobs: BTreeMap<PathBuf, u64>,
    refs: BTreeSet<String>,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let out = crate::out_option(args)?.unwrap_or_else(crate::fixtures::default_dir);
    let all = crate::fixtures::regenerate(&out)?;
    let big = all
        .iter()
        .find(|f| f.name == BIG_MIXED)
        .context("the fixture set has no big-mixed cache")?;
    let summaries = walk_cache(&big.cache_dir)?;
    check_against_generator(&summaries, big)?;

    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "generated {} fixture caches in {}",
        all.len(),
        out.display()
    )?;
    writeln!(stdout, "scan of {}:\n", big.cache_dir.display())?;
    writeln!(
        stdout,
        "{:<24} {:<8} {:>9} {:>6} {:>9}  REFS",
        "REPO ID", "TYPE", "REVISIONS", "FILES", "SIZE"
    )?;
    for repo in &summaries {
        let refs: Vec<&str> = repo.refs.iter().map(String::as_str).collect();
        writeln!(
            stdout,
            "{:<24} {:<8} {:>9} {:>6} {:>9}  {}",
            repo.repo_id,
            repo.repo_type,
            repo.revisions,
            repo.files,
            format_size(repo.blobs.values().sum()),
            refs.join(", ")
        )?;
    }
    let revisions: usize = summaries.iter().map(|r| r.revisions).sum();
    let files: usize = summaries.iter().map(|r| r.files).sum();
    let blobs: usize = summaries.iter().map(|r| r.blobs.len()).sum();
    let size: u64 = summaries.iter().flat_map(|r| r.blobs.values()).sum();
    writeln!(
        stdout,
        "\n{} repos, {revisions} revisions, {files} files ({blobs} distinct blobs), total {}",
        summaries.len(),
        format_size(size)
    )?;
    Ok(())
}

/// Every repo folder of a cache (the entries with `--`, `.locks` and `CACHEDIR.TAG` aside).
fn walk_cache(cache: &Path) -> anyhow::Result<Vec<RepoSummary>> {
    let mut summaries = Vec::new();
    for entry in sorted_entries(cache)? {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((plural, id)) = name.split_once("--") else {
            continue;
        };
        if !entry.is_dir() {
            continue;
        }
        let mut summary = RepoSummary {
            repo_type: plural.trim_end_matches('s').to_owned(),
            repo_id: id.replace("--", "/"),
            ..RepoSummary::default()
        };
        let refs = entry.join("refs");
        if refs.is_dir() {
            collect_refs(&refs, &refs, &mut summary.refs)?;
        }
        for snapshot in sorted_entries(&entry.join("snapshots"))? {
            summary.revisions += 1;
            walk_snapshot(&snapshot, &mut summary)?;
        }
        summaries.push(summary);
    }
    Ok(summaries)
}

fn collect_refs(refs: &Path, dir: &Path, names: &mut BTreeSet<String>) -> anyhow::Result<()> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            collect_refs(refs, &path, names)?;
        } else if let Ok(relative) = path.strip_prefix(refs) {
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            names.insert(parts.join("/"));
        }
    }
    Ok(())
}

fn walk_snapshot(dir: &Path, summary: &mut RepoSummary) -> anyhow::Result<()> {
    for path in sorted_entries(dir)? {
        let kind = fs::symlink_metadata(&path)
            .with_context(|| format!("reading `{}`", path.display()))?
            .file_type();
        if kind.is_dir() {
            walk_snapshot(&path, summary)?;
            continue;
        }
        summary.files += 1;
        let blob =
            fs::canonicalize(&path).with_context(|| format!("following `{}`", path.display()))?;
        let size = fs::metadata(&blob)
            .with_context(|| format!("reading `{}`", blob.display()))?
            .len();
        summary.blobs.insert(blob, size);
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("listing `{}`", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()
        .with_context(|| format!("listing `{}`", dir.display()))?;
    entries.sort();
    Ok(entries)
}

/// The walk and the generator must agree on every repo: a cheap end-to-end self-check.
fn check_against_generator(
    summaries: &[RepoSummary],
    fixture: &fixtures::Fixture,
) -> anyhow::Result<()> {
    if summaries.len() != fixture.repos.len() {
        bail!(
            "the walk found {} repos in `{}`, the generator wrote {}",
            summaries.len(),
            fixture.cache_dir.display(),
            fixture.repos.len()
        );
    }
    for repo in &fixture.repos {
        let Some(found) = summaries.iter().find(|s| s.repo_id == repo.repo_id) else {
            bail!("the walk missed repo `{}`", repo.repo_id);
        };
        let files: usize = repo.revisions.iter().map(|r| r.files.len()).sum();
        let size: u64 = repo.referenced_blobs().values().sum();
        let found_size: u64 = found.blobs.values().sum();
        if found.revisions != repo.revisions.len()
            || found.files != files
            || found.blobs.len() != repo.referenced_blobs().len()
            || found_size != size
            || found.repo_type != repo.repo_type.as_str()
        {
            bail!(
                "the walk and the generator disagree on `{}`: {found:?}",
                repo.repo_id
            );
        }
    }
    Ok(())
}

/// Sizes as huggingface_hub prints them: 1000-based units, one decimal (`1.5M`).
fn format_size(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["", "K", "M", "G", "T"] {
        if value < 1000.0 {
            return format!("{value:.1}{unit}");
        }
        value /= 1000.0;
    }
    format!("{value:.1}P")
}
