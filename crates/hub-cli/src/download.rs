//! `hfhub download`: `huggingface-cli download` (0.25) and `hf download` (2.x) over hub-sync.
//!
//! Stdout: without a format flag exactly one line, the path (as 0.25 prints it, and as 2.x
//! `--format quiet`); `--format human|agent|json|quiet` (`--json`, `-q`) print as 2.x does.
//! Progress bars and the closing summary line go to stderr. `--dry-run` lists what would be
//! downloaded and writes nothing.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hub_cache::env::{self, Env};
use hub_cache::repo::{HF_URI_SCHEME, RepoRef};
use hub_cache::write::WriteOptions;
use hub_cache::{Cache, Repo, RepoType};
use hub_sync::{Downloader, Event, FileRequest, Remote as _, SnapshotRequest};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Exit;
use crate::cache::output::{Format, Json, Output, OutputArgs, Value};

/// The most files downloaded at once (`--max-workers`).
const MAX_WORKERS: u16 = 256;

#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// The repository: `org/name`, `datasets/org/name`, `spaces/org/name`, or an `hf://` URI
    /// (`hf://datasets/org/name@revision/path`).
    repo_id: String,
    /// Files to download. One file: its path is printed; none, several or a folder (`dir/`): a
    /// snapshot is downloaded (the names act as allow patterns) and its folder printed.
    filenames: Vec<String>,
    /// Type of the repository [default: model].
    #[arg(long, visible_alias = "type", value_name = "TYPE", value_parser = parse_repo_type)]
    repo_type: Option<RepoType>,
    /// Branch, tag, PR ref (`refs/pr/1`) or commit hash [default: main].
    #[arg(long)]
    revision: Option<String>,
    /// Glob patterns of files to download (Python fnmatch; `dir/` means everything under `dir`).
    #[arg(long, num_args = 1.., value_name = "PATTERN")]
    include: Vec<String>,
    /// Glob patterns of files to leave out.
    #[arg(long, num_args = 1.., value_name = "PATTERN")]
    exclude: Vec<String>,
    /// The hub cache to use [default: HF_HUB_CACHE, else HF_HOME/hub].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Download into this folder instead of the cache (bookkeeping in `.cache/huggingface/`).
    #[arg(long, value_name = "DIR")]
    local_dir: Option<PathBuf>,
    /// Download even if the file is already cached.
    #[arg(long, overrides_with = "no_force_download")]
    force_download: bool,
    /// Use cached files (the default; as 2.x's `--no-force-download`).
    #[arg(long, overrides_with = "force_download")]
    no_force_download: bool,
    /// List what would be downloaded (size, already cached or not) without downloading or writing.
    #[arg(long, overrides_with = "no_dry_run")]
    dry_run: bool,
    /// Download (the default; as 2.x's `--no-dry-run`).
    #[arg(long, overrides_with = "dry_run", hide = true)]
    no_dry_run: bool,
    /// Deprecated in 0.2x and ignored: a local folder never holds symlinks.
    #[arg(long, value_name = "auto|True|False", value_parser = ["auto", "True", "False"], hide = true)]
    local_dir_use_symlinks: Option<String>,
    /// Deprecated in 0.2x and ignored: downloads always resume when possible.
    #[arg(long, hide = true)]
    resume_download: bool,
    /// Access token [default: HF_TOKEN, else the stored token].
    #[arg(long)]
    token: Option<String>,
    /// Files downloaded at once for a snapshot (1 to 256).
    #[arg(
        long,
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_WORKERS))
    )]
    max_workers: u16,
    #[command(flatten)]
    output: OutputArgs,
}

fn parse_repo_type(value: &str) -> Result<RepoType, String> {
    value
        .parse()
        .map_err(|e: hub_cache::repo::InvalidRepoType| e.to_string())
}

/// What to download, once the command line is understood.
#[derive(Debug)]
struct Plan {
    repo: Repo,
    revision: String,
    filenames: Vec<String>,
}

/// Checks what the user typed (repository, revision, file names, patterns, flag combinations)
/// before anything runs, so a mistake is a usage error (exit code 2) naming the value, never a
/// request or a write.
fn check_usage(args: &DownloadArgs) -> Result<Plan, String> {
    if let Some((first, second)) = args.output.conflict() {
        return Err(format!("'{first}' and '{second}' are mutually exclusive"));
    }
    let parsed: RepoRef = args.repo_id.parse().map_err(|e| format!("{e}"))?;
    let mut filenames = args.filenames.clone();
    let repo = if args.repo_id.starts_with(HF_URI_SCHEME) {
        // As 2.x: a URI is authoritative for the type, revision and path.
        if args.repo_type.is_some() {
            return Err(format!(
                "'--repo-type' cannot be used with an 'hf://' URI ('{}')",
                args.repo_id
            ));
        }
        if args.revision.is_some() {
            return Err(format!(
                "'--revision' cannot be used with an 'hf://' URI ('{}')",
                args.repo_id
            ));
        }
        if let Some(path) = &parsed.path {
            if !filenames.is_empty() {
                return Err(format!(
                    "cannot combine a file path in the hf:// URI ('{path}') with positional filenames {filenames:?}"
                ));
            }
            filenames.push(path.clone());
        }
        parsed.repo
    } else if parsed.repo.id.as_str() != args.repo_id {
        // A type prefix (`datasets/org/name`) names the type; `--type` too would be ambiguous.
        if args.repo_type.is_some() {
            let prefix = args.repo_id.split('/').next().unwrap_or_default();
            return Err(format!(
                "ambiguous repo type: got prefix '{prefix}/' in repo ID and explicit --type; use one or the other"
            ));
        }
        parsed.repo
    } else {
        Repo::new(args.repo_type.unwrap_or(RepoType::Model), parsed.repo.id)
    };
    let revision = parsed
        .revision
        .or_else(|| args.revision.clone())
        .unwrap_or_else(|| hub_cache::repo::DEFAULT_REVISION.to_owned());
    hub_cache::repo::check_revision(&revision).map_err(|e| e.to_string())?;
    if let [filename] = filenames.as_slice()
        && !filename.ends_with('/')
    {
        // The one path rule (`.git` look-alikes and `.cache/huggingface/` included): a usage error.
        hub_cache::RepoPath::parse(filename).map_err(|e| e.to_string())?;
    }
    let mut patterns = filenames.iter().chain(&args.include).chain(&args.exclude);
    if patterns.any(String::is_empty) {
        return Err("invalid pattern ``: a file name or pattern cannot be empty".to_owned());
    }
    Ok(Plan {
        repo,
        revision,
        filenames,
    })
}

pub fn run(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    let plan = match check_usage(&args) {
        Ok(plan) => plan,
        Err(problem) => {
            eprintln!("error: {problem}");
            return Ok(Exit::Usage.into());
        }
    };
    let env = Env::from_process();
    let out = Output::new(&args.output, &env);
    let quiet = out.mode == Format::Quiet;
    // Waiting for a lock another process holds is reported (hub-cache logs it at INFO every 10 s).
    crate::init_logging(
        &env,
        if quiet {
            "error"
        } else {
            "warn,hub_cache::lock=info"
        },
    );
    if !quiet {
        warn_deprecated(&args);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // Past a file size limit (RLIMIT_FSIZE) the kernel kills the writer with SIGXFSZ unless the
    // signal is handled; with a handler installed the write fails with EFBIG ("File too large"),
    // which is reported like any other I/O error and leaves nothing published.
    #[cfg(target_os = "linux")]
    runtime.block_on(async {
        const SIGXFSZ: i32 = 25;
        let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ));
    });
    let result = runtime.block_on(async {
        tokio::select! {
            result = download(&args, plan, &env, &out) => result.map(|()| Exit::Success.into()),
            _ = tokio::signal::ctrl_c() => {
                // Dropping the download stops it: partial files stay for the next run to resume,
                // nothing half-written is ever published.
                eprintln!("Interrupted; run the same command again to resume.");
                Ok(Exit::Interrupted.into())
            }
        }
    });
    // Do not wait for a task still blocked on a lock another process holds.
    runtime.shutdown_background();
    result
}

/// The two 0.2x flags that are accepted, ignored and warned about, as 0.25 does.
fn warn_deprecated(args: &DownloadArgs) {
    if args.local_dir_use_symlinks.is_some() {
        eprintln!(
            "warning: ignoring `--local-dir-use-symlinks`: downloading to a local directory does not use symlinks anymore"
        );
    }
    if args.resume_download {
        eprintln!(
            "warning: `--resume-download` is deprecated and ignored: downloads always resume when possible; use `--force-download` to start over"
        );
    }
}

fn cache_of(args: &DownloadArgs, env: &Env) -> Cache {
    match &args.cache_dir {
        Some(dir) => Cache::new(env.expand(&dir.to_string_lossy())),
        None => Cache::from_env(env),
    }
}

async fn download(args: &DownloadArgs, plan: Plan, env: &Env, out: &Output) -> anyhow::Result<()> {
    let cache = cache_of(args, env);
    let mut client = hub_http::ClientBuilder::from_env(env)?;
    if let Some(token) = &args.token {
        client = client.with_token(hub_http::Token::new(token));
    }
    let client = client.build()?;
    let quiet = out.mode == Format::Quiet;
    let progress = (!quiet && show_progress(env)).then(Progress::new);
    let mut downloader = Downloader::new(client, cache)
        .with_offline(env.offline())
        .with_write_options(WriteOptions::from_env(env))
        .with_max_workers(usize::from(args.max_workers));
    if let Some(progress) = &progress {
        let progress = progress.clone();
        downloader = downloader.with_events(move |event| progress.on(event));
    }
    let Plan {
        repo,
        revision,
        filenames,
    } = plan;
    let explicit_files = !filenames.is_empty();
    if explicit_files && !quiet {
        warn_ignored(args);
    }
    // As `hf download`: one plain name downloads that file; a folder (`dir/`) is a pattern.
    let single = match filenames.as_slice() {
        [filename] if !filename.ends_with('/') => Some(filename.clone()),
        _ => None,
    };
    let (allow, ignore) = if explicit_files {
        (Some(filenames), None)
    } else {
        (
            (!args.include.is_empty()).then(|| args.include.clone()),
            (!args.exclude.is_empty()).then(|| args.exclude.clone()),
        )
    };
    let force = args.force_download;
    if args.dry_run {
        let infos = match &single {
            Some(filename) => {
                vec![dry_run_file(&downloader, &repo, &revision, filename, force).await?]
            }
            None => {
                dry_run_snapshot(
                    &downloader,
                    &repo,
                    &revision,
                    allow.as_deref(),
                    ignore.as_deref(),
                    args.local_dir.as_deref(),
                    force,
                )
                .await?
            }
        };
        print_dry_run(&infos, out);
        return Ok(());
    }
    let result = match single {
        Some(filename) => {
            downloader
                .download_file(
                    &FileRequest::new(repo, filename)
                        .with_revision(revision)
                        .with_force_download(force)
                        .with_local_dir(args.local_dir.clone()),
                )
                .await
        }
        None => {
            downloader
                .snapshot(
                    &SnapshotRequest::new(repo)
                        .with_revision(revision)
                        .with_allow(allow)
                        .with_ignore(ignore)
                        .with_force_download(force)
                        .with_local_dir(args.local_dir.clone()),
                )
                .await
        }
    };
    if let Some(progress) = &progress {
        progress.finish(result.is_ok());
    }
    let path = result?;
    print_path(&path, args, out)
}

/// The path on stdout: the bare path without a format flag (0.25's output, 2.x's `--quiet`), else
/// 2.x's `out.result("Downloaded", path=...)`.
fn print_path(path: &Path, args: &DownloadArgs, out: &Output) -> anyhow::Result<()> {
    let text = path.display().to_string();
    if args.output.given() {
        out.result("Downloaded", &[("path", Json::Str(text))]);
        Ok(())
    } else {
        // A closed stdout is an error main() treats as success, not a panic.
        writeln!(std::io::stdout().lock(), "{text}").context("cannot print the path")
    }
}

fn warn_ignored(args: &DownloadArgs) {
    if !args.include.is_empty() {
        eprintln!("warning: ignoring `--include` since filenames have been explicitly set");
    }
    if !args.exclude.is_empty() {
        eprintln!("warning: ignoring `--exclude` since filenames have been explicitly set");
    }
}

/// One file of a dry run (2.x `DryRunFileInfo`, the fields the CLI prints).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DryRunFile {
    filename: String,
    /// `None` when the server did not say.
    size: Option<u64>,
    will_download: bool,
}

/// A dry run of one file: a commit-hash revision whose pointer exists needs no request; otherwise
/// one HEAD, and the file counts as cached when its pointer or its blob is on disk.
async fn dry_run_file(
    downloader: &Downloader<hub_http::Client>,
    repo: &Repo,
    revision: &str,
    filename: &str,
    force: bool,
) -> anyhow::Result<DryRunFile> {
    let repo_dir = downloader.cache().repo(repo);
    if hub_cache::repo::is_commit_hash(revision) {
        let pointer = repo_dir.pointer_path(revision, filename);
        if let Ok(meta) = std::fs::metadata(&pointer) {
            return Ok(DryRunFile {
                filename: filename.to_owned(),
                size: Some(meta.len()),
                will_download: force,
            });
        }
    }
    let resolved = downloader
        .remote()
        .resolve(repo, revision, filename)
        .await
        .with_context(|| format!("cannot resolve `{filename}` in {repo} at `{revision}`"))?;
    let cached = repo_dir.pointer_path(&resolved.commit, filename).exists()
        || repo_dir.blob_path(resolved.etag.as_str()).exists();
    Ok(DryRunFile {
        filename: filename.to_owned(),
        size: resolved.size,
        will_download: force || !cached,
    })
}

/// A dry run of a snapshot: the commit and the listing from the server (never written), the
/// filter applied, then per file the cache (pointer, else blob) or the local folder (file and its
/// metadata) says whether it is already there. One listing, no request per file.
async fn dry_run_snapshot(
    downloader: &Downloader<hub_http::Client>,
    repo: &Repo,
    revision: &str,
    allow: Option<&[String]>,
    ignore: Option<&[String]>,
    local_dir: Option<&Path>,
    force: bool,
) -> anyhow::Result<Vec<DryRunFile>> {
    let remote = downloader.remote();
    let commit = if hub_cache::repo::is_commit_hash(revision) {
        revision.to_owned()
    } else {
        remote
            .commit(repo, revision)
            .await
            .with_context(|| format!("cannot resolve {repo} at `{revision}`"))?
    };
    let filter = hub_sync::pattern::Filter::new(allow, ignore);
    // The listing is filtered page by page as it arrives: only the selected entries are kept (a
    // listing of a million entries with `--include` naming one file holds one entry).
    let mut selected = Vec::new();
    remote
        .list_tree_pages(repo, &commit, &mut |page| {
            selected.extend(
                page.into_iter()
                    .filter(|entry| entry.is_file() && filter.matches(&entry.path)),
            );
        })
        .await
        .with_context(|| format!("cannot list {repo} at `{commit}`"))?;
    let repo_dir = downloader.cache().repo(repo);
    // Opened only when it exists: a dry run creates nothing.
    let local = match local_dir {
        Some(folder) if folder.is_dir() => Some(
            hub_cache::local_dir::LocalDir::open(folder)
                .with_context(|| format!("cannot open `{}`", folder.display()))?,
        ),
        _ => None,
    };
    let mut files = Vec::new();
    for entry in selected {
        let cached = match local_dir {
            Some(_) => match (&local, hub_cache::RepoPath::parse(&entry.path)) {
                (Some(local), Ok(path)) => {
                    local.file_state(&path).is_some()
                        && local
                            .read_metadata(&path)
                            .is_some_and(|m| m.commit == commit || m.etag == entry.etag())
                }
                _ => false,
            },
            None => {
                repo_dir.pointer_path(&commit, &entry.path).exists()
                    || repo_dir.blob_path(entry.etag()).exists()
            }
        };
        files.push(DryRunFile {
            size: Some(entry.lfs.as_ref().map_or(entry.size, |lfs| lfs.size)),
            filename: entry.path,
            will_download: force || !cached,
        });
    }
    Ok(files)
}

/// 2.x's dry-run report: a `[dry-run] Will download ...` line and a FILE/SIZE table sorted by name
/// (size `-` for a file that will not be downloaded).
fn print_dry_run(infos: &[DryRunFile], out: &Output) {
    let will: Vec<&DryRunFile> = infos.iter().filter(|i| i.will_download).collect();
    let total = will
        .iter()
        .map(|i| i.size)
        .sum::<Option<u64>>()
        .map_or_else(|| "an unknown size".to_owned(), hub_cache::format_size);
    out.text(&format!(
        "[dry-run] Will download {} files (out of {}) totalling {total}.",
        will.len(),
        infos.len()
    ));
    let mut sorted: Vec<&DryRunFile> = infos.iter().collect();
    sorted.sort_by(|a, b| a.filename.cmp(&b.filename));
    let rows: Vec<Vec<(&'static str, Value)>> = sorted
        .iter()
        .map(|info| {
            let size = match (info.will_download, info.size) {
                (true, Some(size)) => hub_cache::format_size(size),
                _ => "-".to_owned(),
            };
            vec![
                ("file", Value::Str(info.filename.clone())),
                ("size", Value::Str(size)),
            ]
        })
        .collect();
    out.table(&rows, &["file", "size"], "file", &[]);
}

/// Bars unless `--quiet`; `HF_HUB_DISABLE_PROGRESS_BARS=1` turns them off.
fn show_progress(env: &Env) -> bool {
    !env.is_true(env::HF_HUB_DISABLE_PROGRESS_BARS)
}

/// How often a bar is redrawn even when no byte arrived (elapsed time, rate and ETA move on).
const TICK: Duration = Duration::from_millis(200);

/// indicatif bars on stderr fed by hub-sync events: one for the file count, one per file in flight;
/// a one-line summary when the download ends.
#[derive(Clone)]
struct Progress {
    bars: MultiProgress,
    files: Arc<Mutex<HashMap<String, ProgressBar>>>,
    total: Arc<Mutex<Option<ProgressBar>>>,
    started: Instant,
    /// Files whose bytes were fetched, and those found in place.
    fetched: Arc<AtomicUsize>,
    in_place: Arc<AtomicUsize>,
    /// Bytes fetched by this run (a resumed file counts from where it resumed).
    bytes: Arc<AtomicU64>,
    done: Arc<Mutex<HashMap<String, (u64, u64)>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Progress {
    fn new() -> Progress {
        Progress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            files: Arc::default(),
            total: Arc::default(),
            started: Instant::now(),
            fetched: Arc::default(),
            in_place: Arc::default(),
            bytes: Arc::default(),
            done: Arc::default(),
        }
    }

    fn on(&self, event: &Event) {
        match event {
            Event::SnapshotStarted { files, .. } => {
                let bar = self.bars.add(ProgressBar::new(*files as u64));
                bar.set_style(
                    ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed}]")
                        .expect("a valid template"),
                );
                bar.set_message(format!("Fetching {files} files"));
                bar.enable_steady_tick(TICK);
                *lock(&self.total) = Some(bar);
            }
            Event::FileStarted {
                filename,
                size,
                resumed_from,
            } => {
                let bar = self.bars.add(ProgressBar::new(size.unwrap_or(0)));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta} [{elapsed}]",
                    )
                    .expect("a valid template"),
                );
                bar.set_message(filename.clone());
                bar.set_position(*resumed_from);
                bar.enable_steady_tick(TICK);
                lock(&self.done).insert(filename.clone(), (*resumed_from, *resumed_from));
                lock(&self.files).insert(filename.clone(), bar);
            }
            Event::FileProgress { filename, done, .. } => {
                if let Some(bar) = lock(&self.files).get(filename) {
                    bar.set_position(*done);
                }
                if let Some((_, last)) = lock(&self.done).get_mut(filename) {
                    *last = (*last).max(*done);
                }
            }
            Event::FileFinished {
                filename,
                downloaded,
                ..
            } => {
                if let Some(bar) = lock(&self.files).remove(filename) {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                if let Some((first, last)) = lock(&self.done).remove(filename) {
                    self.bytes
                        .fetch_add(last.saturating_sub(first), Ordering::Relaxed);
                }
                let counter = if *downloaded {
                    &self.fetched
                } else {
                    &self.in_place
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if let Some(total) = &*lock(&self.total) {
                    total.inc(1);
                }
            }
        }
    }

    /// Clears the bars and, after a success, leaves one summary line on stderr.
    fn finish(&self, ok: bool) {
        if let Some(total) = lock(&self.total).take() {
            total.finish_and_clear();
        }
        for (_, bar) in lock(&self.files).drain() {
            bar.finish_and_clear();
        }
        let _ = self.bars.clear();
        if !ok {
            return;
        }
        let elapsed = self.started.elapsed();
        let fetched = self.fetched.load(Ordering::Relaxed);
        let in_place = self.in_place.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        eprintln!("{}", summary(fetched, in_place, bytes, elapsed));
    }
}

/// `Downloaded 3 files (12.3M) in 1.2s, 10.2M/s; 2 already in place.`
fn summary(fetched: usize, in_place: usize, bytes: u64, elapsed: Duration) -> String {
    let plural = |n: usize| if n == 1 { "file" } else { "files" };
    let seconds = elapsed.as_secs_f64();
    let mut line = if fetched == 0 {
        format!("Nothing to download in {seconds:.1}s")
    } else {
        let rate = (bytes as f64 / seconds.max(0.001)) as u64;
        format!(
            "Downloaded {fetched} {} ({}B) in {seconds:.1}s, {}B/s",
            plural(fetched),
            hub_cache::format_size(bytes),
            hub_cache::format_size(rate)
        )
    };
    if in_place > 0 {
        line.push_str(&format!(
            "; {in_place} {} already in place",
            plural(in_place)
        ));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line() {
        assert_eq!(
            summary(2, 0, 3_000_000, Duration::from_secs(2)),
            "Downloaded 2 files (3.0MB) in 2.0s, 1.5MB/s."
        );
        assert_eq!(
            summary(0, 5, 0, Duration::from_millis(100)),
            "Nothing to download in 0.1s; 5 files already in place."
        );
    }
}
