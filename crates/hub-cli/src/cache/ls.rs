//! `hfhub cache ls`: 2.x `hf cache ls` (`cli/cache.py::ls`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use hub_cache::display::escape;
use hub_cache::format::{Flavour, format_size, format_timesince_now, python_timestamp};
use hub_cache::scan::{CachedRepo, CachedRevision, Report};

use super::output::{Failure, Output, OutputArgs, Value};

/// Arguments of `hfhub cache ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Cache directory to scan [default: the hub cache the environment selects].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// One row per revision instead of per repository.
    #[arg(long)]
    revisions: bool,
    /// Filter entries: `size>1GB`, `type=model`, `accessed>7d`, `modified<=1y`, `refs=main` (repeatable).
    #[arg(short, long = "filter", value_name = "EXPR")]
    filters: Vec<String>,
    /// Sort by `name`, `size`, `accessed` or `modified`, optionally `:asc` or `:desc`.
    #[arg(long, value_parser = SORT_VALUES)]
    sort: Option<String>,
    /// Keep only the first N entries after sorting.
    #[arg(long, allow_negative_numbers = true)]
    limit: Option<i64>,
    /// Print the cache inconsistencies found.
    #[arg(long)]
    show_warnings: bool,
    #[command(flatten)]
    output: OutputArgs,
}

const SORT_VALUES: [&str; 12] = [
    "accessed",
    "accessed:asc",
    "accessed:desc",
    "modified",
    "modified:asc",
    "modified:desc",
    "name",
    "name:asc",
    "name:desc",
    "size",
    "size:asc",
    "size:desc",
];

/// One row: a repo, or one of its revisions.
type Entry<'a> = (&'a CachedRepo, Option<&'a CachedRevision>);

/// Runs `hfhub cache ls`.
pub fn run(args: LsArgs) -> anyhow::Result<ExitCode> {
    let env = hub_cache::env::Env::from_process();
    let out = Output::new(&args.output, &env);
    match ls(&args, &out, &env) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(failure) => Ok(out.fail(failure, "cache ls")),
    }
}

/// Scans as 2.x does; a missing cache is upstream's `CLIError`.
pub fn scan(dir: Option<&PathBuf>, env: &hub_cache::env::Env) -> Result<Report, Failure> {
    let dir = dir
        .cloned()
        .unwrap_or_else(|| super::default_cache_dir(env));
    match hub_cache::scan::scan_with(&dir, &hub_cache::scan::Options::new().with_confined(true)) {
        Ok(report) => Ok(report),
        Err(hub_cache::scan::ScanError::NotFound { path }) => Err(Failure::Cli(format!(
            "Cache directory not found: {}",
            path.display()
        ))),
        Err(error) => Err(Failure::Cli(format!("{error:#}"))),
    }
}

fn ls(args: &LsArgs, out: &Output, env: &hub_cache::env::Env) -> Result<(), Failure> {
    let report = scan(args.cache_dir.as_ref(), env)?;
    let mut entries: Vec<Entry> = Vec::new();
    for repo in &report.repos {
        if args.revisions {
            entries.extend(repo.revisions.iter().map(|revision| (repo, Some(revision))));
        } else {
            entries.push((repo, None));
        }
    }
    entries.sort_by(|a, b| {
        cache_id(a.0).cmp(&cache_id(b.0)).then_with(|| {
            let hash = |e: &Entry| e.1.map(|r| r.commit_hash.clone()).unwrap_or_default();
            hash(a).cmp(&hash(b))
        })
    });
    let filters = args
        .filters
        .iter()
        .map(|expr| Filter::parse(expr).map_err(Failure::BadParameter))
        .collect::<Result<Vec<_>, _>>()?;
    let now = python_timestamp(SystemTime::now());
    for filter in &filters {
        entries.retain(|entry| filter.keeps(*entry, now));
    }
    if let Some(sort) = &args.sort {
        sort_entries(&mut entries, sort);
    }
    if let Some(limit) = args.limit {
        if limit < 0 {
            return Err(Failure::BadParameter(format!(
                "Limit must be a positive integer, got {limit}."
            )));
        }
        entries.truncate(limit as usize);
    }

    let flavour = Flavour::V2x;
    if args.revisions {
        let items: Vec<Vec<(&'static str, Value)>> = entries
            .iter()
            .filter_map(|(repo, revision)| revision.map(|revision| (repo, revision)))
            .map(|(repo, revision)| {
                vec![
                    ("id", shown(&cache_id(repo))),
                    ("repo_id", shown(repo.repo.id.as_str())),
                    (
                        "repo_type",
                        Value::Str(repo.repo.repo_type.as_str().to_owned()),
                    ),
                    ("revision", shown(&revision.commit_hash)),
                    (
                        "snapshot_path",
                        shown(&revision.snapshot_path.display().to_string()),
                    ),
                    ("size", Value::Str(format_size(revision.size_on_disk))),
                    (
                        "last_modified",
                        Value::Str(format_timesince_now(revision.last_modified, flavour)),
                    ),
                    ("refs", shown_list(revision.refs.iter())),
                ]
            })
            .collect();
        out.table(
            &items,
            &["id", "revision", "size", "last_modified", "refs"],
            "revision",
            &["size"],
        );
    } else {
        let items: Vec<Vec<(&'static str, Value)>> = entries
            .iter()
            .map(|(repo, _)| {
                vec![
                    ("id", shown(&cache_id(repo))),
                    ("repo_id", shown(repo.repo.id.as_str())),
                    (
                        "repo_type",
                        Value::Str(repo.repo.repo_type.as_str().to_owned()),
                    ),
                    ("size", Value::Str(format_size(repo.size_on_disk))),
                    (
                        "last_accessed",
                        Value::Str(format_timesince_now(repo.last_accessed, flavour)),
                    ),
                    (
                        "last_modified",
                        Value::Str(format_timesince_now(repo.last_modified, flavour)),
                    ),
                    ("refs", shown_list(repo_refs(repo).iter())),
                ]
            })
            .collect();
        out.table(
            &items,
            &["id", "size", "last_accessed", "last_modified", "refs"],
            "id",
            &["size"],
        );
    }

    if !entries.is_empty() {
        let mut unique: Vec<&CachedRepo> = entries.iter().map(|(repo, _)| *repo).collect();
        unique.sort_by_key(|repo| &repo.repo_path);
        unique.dedup_by_key(|repo| &repo.repo_path);
        let (revision_count, total_size) = if args.revisions {
            (
                entries.iter().filter(|(_, r)| r.is_some()).count(),
                entries
                    .iter()
                    .filter_map(|(_, r)| r.map(|r| r.size_on_disk))
                    .sum::<u64>(),
            )
        } else {
            let revisions = unique.iter().map(|repo| repo.revisions.len()).sum();
            let size = if !filters.is_empty() || args.limit.is_some() {
                unique.iter().map(|repo| repo.size_on_disk).sum()
            } else {
                report.size_on_disk
            };
            (revisions, size)
        };
        out.text(&out.ansi().bold(&format!(
            "\nFound {} repo(s) for a total of {revision_count} revision(s) and {} on disk.",
            unique.len(),
            format_size(total_size)
        )));
    }

    if !report.warnings.is_empty() {
        if args.show_warnings {
            for warning in &report.warnings {
                let text = escape(&warning.to_string()).into_owned();
                out.warning(&format!("{}. Repo ignored.", text.trim_end_matches('.')));
            }
        } else {
            out.warning(&format!(
                "Found {} cache inconsistencies. Re-run with `--show-warnings` to display them.",
                report.warnings.len()
            ));
        }
    }
    for refused in &report.refused {
        out.warning(&format!("not counted: {refused}"));
    }
    if !report.incomplete_files.is_empty() {
        out.hint(&format!(
            "Found {} incomplete download(s) totalling {}. Remove them with 'hfhub cache prune'.",
            report.incomplete_files.len(),
            format_size(report.incomplete_size_on_disk())
        ));
    }
    let unreferenced = hub_cache::delete::unreferenced_shared_blobs(&report.cache_dir);
    if !unreferenced.is_empty() {
        out.hint(&format!(
            "Found {} unreferenced shared blob(s) totalling {}. Remove them with 'hfhub cache prune'.",
            unreferenced.len(),
            format_size(unreferenced.values().sum::<u64>())
        ));
    }
    Ok(())
}

/// `type/id`, upstream's `cache_id`.
pub fn cache_id(repo: &CachedRepo) -> String {
    format!("{}/{}", repo.repo.repo_type.as_str(), repo.repo.id.as_str())
}

/// A disk-chosen name (folder, ref, path) as shown: control characters escaped.
fn shown(text: &str) -> Value {
    Value::Str(escape(text).into_owned())
}

/// [`shown`] for a list of names.
fn shown_list<'a>(names: impl Iterator<Item = &'a String>) -> Value {
    Value::List(names.map(|name| escape(name).into_owned()).collect())
}

/// Refs of every revision of a repo (upstream's `repo_refs_map`).
fn repo_refs(repo: &CachedRepo) -> BTreeSet<String> {
    repo.revisions
        .iter()
        .flat_map(|revision| revision.refs.iter().cloned())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn compare(self, left: f64, right: f64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Gt => left > right,
            Op::Lt => left < right,
            Op::Ge => left >= right,
            Op::Le => left <= right,
        }
    }
}

/// A compiled `--filter` expression.
enum Filter {
    Size(Op, u64),
    Age {
        accessed: bool,
        op: Op,
        seconds: u64,
    },
    Type(String),
    Refs(String),
}

impl Filter {
    /// `compile_cache_filter`: `key op value`, keys `accessed modified refs size type`.
    fn parse(expr: &str) -> Result<Filter, String> {
        let invalid = || format!("Invalid filter expression: '{expr}'.");
        let stripped = expr.trim();
        let key_end = stripped
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(stripped.len());
        if key_end == 0 {
            return Err(invalid());
        }
        let key = stripped[..key_end].to_lowercase();
        let rest = stripped[key_end..].trim_start();
        let (op_text, rest) = ["==", "!=", ">=", "<=", ">", "<", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|rest| (*op, rest)))
            .ok_or_else(invalid)?;
        let value = rest.trim();
        if value.is_empty() || value.contains('\n') {
            return Err(invalid());
        }
        let op = match op_text {
            "=" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            _ => {
                return Err(format!(
                    "Unsupported operator '{op_text}' in filter '{expr}'. Must be one of ['=', '!=', '>', '<', '>=', '<=']."
                ));
            }
        };
        match key.as_str() {
            "size" => Ok(Filter::Size(op, parse_with_unit(value, BYTE_UNITS)?)),
            "accessed" | "modified" => Ok(Filter::Age {
                accessed: key == "accessed",
                op,
                seconds: parse_with_unit(value, TIME_UNITS)?,
            }),
            "type" if op != Op::Eq => Err(format!(
                "Only '=' is supported for 'type' filters. Got '{op_text}'."
            )),
            "type" => Ok(Filter::Type(value.to_lowercase())),
            "refs" if op != Op::Eq => Err(format!(
                "Only '=' is supported for 'refs' filters. Got {op_text}."
            )),
            "refs" => Ok(Filter::Refs(value.to_lowercase())),
            _ => Err(format!(
                "Unsupported filter key '{key}' in '{expr}'. Must be one of ['accessed', 'modified', 'refs', 'size', 'type']."
            )),
        }
    }

    fn keeps(&self, (repo, revision): Entry, now: f64) -> bool {
        match self {
            Filter::Size(op, threshold) => {
                let size = revision.map_or(repo.size_on_disk, |r| r.size_on_disk);
                op.compare(size as f64, *threshold as f64)
            }
            Filter::Age {
                accessed,
                op,
                seconds,
            } => {
                let time = if *accessed {
                    repo.last_accessed
                } else {
                    revision.map_or(repo.last_modified, |r| r.last_modified)
                };
                op.compare(now - python_timestamp(time), *seconds as f64)
            }
            Filter::Type(expected) => repo.repo.repo_type.as_str() == expected,
            Filter::Refs(expected) => {
                let refs = match revision {
                    Some(revision) => revision.refs.clone(),
                    None => repo_refs(repo),
                };
                refs.iter().any(|r| r.to_lowercase() == *expected)
            }
        }
    }
}

const BYTE_UNITS: &[(&str, u64)] = &[
    ("k", 1_000),
    ("kb", 1_000),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("t", 1_000_000_000_000),
    ("tb", 1_000_000_000_000),
    ("p", 1_000_000_000_000_000),
    ("pb", 1_000_000_000_000_000),
];

const TIME_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 604_800),
    ("mo", 2_592_000),
    ("y", 31_536_000),
];

/// `utils/_parsing.py::_parse_with_unit`: a plain integer, or digits and a unit.
fn parse_with_unit(value: &str, units: &[(&str, u64)]) -> Result<u64, String> {
    let stripped = value.trim();
    if stripped.is_empty() {
        return Err("Value cannot be empty.".to_owned());
    }
    if let Ok(number) = stripped.replace('_', "").parse::<u64>() {
        return Ok(number);
    }
    let digits_end = stripped
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(stripped.len());
    let (digits, unit) = stripped.split_at(digits_end);
    if digits.is_empty() || unit.is_empty() || !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "Invalid value '{value}'. Must match pattern '\\d+[a-z]+' or be a plain number."
        ));
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("Invalid value '{value}'."))?;
    let unit = unit.to_lowercase();
    match units.iter().find(|(name, _)| *name == unit) {
        Some((_, factor)) => Ok(number.saturating_mul(*factor)),
        None => Err(format!(
            "Unknown unit '{unit}'. Must be one of [{}].",
            units
                .iter()
                .map(|(name, _)| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `compile_cache_sort` applied with Python's stable sort (`reverse=True` keeps ties in order).
fn sort_entries(entries: &mut [Entry], sort: &str) {
    let (key, order) = sort.split_once(':').unwrap_or((sort, ""));
    let descending = match order {
        "asc" => false,
        "desc" => true,
        _ => key != "name",
    };
    let value = |(repo, revision): &Entry| -> f64 {
        match key {
            "size" => revision.map_or(repo.size_on_disk, |r| r.size_on_disk) as f64,
            "accessed" => python_timestamp(repo.last_accessed),
            _ => python_timestamp(revision.map_or(repo.last_modified, |r| r.last_modified)),
        }
    };
    if key == "name" {
        entries.sort_by(|a, b| {
            let ordering = cache_id(a.0)
                .to_lowercase()
                .cmp(&cache_id(b.0).to_lowercase());
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    } else {
        entries.sort_by(|a, b| {
            let ordering = value(a).total_cmp(&value(b));
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
}
