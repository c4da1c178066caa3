//! `hfhub download`: `huggingface-cli download` over hub-sync. Stdout gets exactly one line, the path;
//! progress bars go to stderr.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use hub_cache::env::{self, Env};
use hub_cache::write::WriteOptions;
use hub_cache::{Cache, Repo, RepoId, RepoType};
use hub_sync::{Downloader, Event, FileRequest, SnapshotRequest};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// The repository, e.g. `openai-community/gpt2`.
    repo_id: String,
    /// Files to download. One file: its path is printed; none, several or a folder (`dir/`): a
    /// snapshot is downloaded (the names act as allow patterns) and its folder printed.
    filenames: Vec<String>,
    /// Type of the repository.
    #[arg(long, value_name = "TYPE", default_value = "model", value_parser = parse_repo_type)]
    repo_type: RepoType,
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
    #[arg(long)]
    force_download: bool,
    /// Access token [default: HF_TOKEN, else the stored token].
    #[arg(long)]
    token: Option<String>,
    /// No progress bars and no warnings: print only the path.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Files downloaded at once for a snapshot.
    #[arg(long, default_value_t = hub_sync::DEFAULT_MAX_WORKERS, value_parser = parse_max_workers)]
    max_workers: usize,
}

fn parse_repo_type(value: &str) -> Result<RepoType, String> {
    value
        .parse()
        .map_err(|e: hub_cache::repo::InvalidRepoType| e.to_string())
}

fn parse_max_workers(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("`--max-workers` must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{value}` is not a number of workers")),
    }
}

/// Checks what the user typed (repository id, revision, file names, patterns) before anything runs,
/// so a mistake is a usage error (exit code 2) naming the value, never a request or a write.
fn check_usage(args: &DownloadArgs) -> Result<(), String> {
    RepoId::new(args.repo_id.as_str())
        .map_err(|e| format!("invalid repository id `{}`: {e}", args.repo_id))?;
    if let Some(revision) = &args.revision {
        hub_cache::repo::check_revision(revision).map_err(|e| e.to_string())?;
    }
    if let [filename] = args.filenames.as_slice()
        && !filename.ends_with('/')
    {
        hub_cache::lookup::validate_filename(filename).map_err(|e| e.to_string())?;
        hub_cache::layout::check_repo_path(filename).map_err(|e| e.to_string())?;
    }
    let mut patterns = args
        .filenames
        .iter()
        .chain(&args.include)
        .chain(&args.exclude);
    if patterns.any(String::is_empty) {
        return Err("invalid pattern ``: a file name or pattern cannot be empty".to_owned());
    }
    Ok(())
}

pub fn run(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    if let Err(problem) = check_usage(&args) {
        eprintln!("error: {problem}");
        return Ok(ExitCode::from(2));
    }
    let env = Env::from_process();
    init_logging(args.quiet, &env);
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
            result = download(args, &env) => {
                let path = result?;
                // A closed stdout is an error main() treats as success, not a panic.
                writeln!(std::io::stdout().lock(), "{}", path.display())
                    .context("cannot print the path")?;
                Ok(ExitCode::SUCCESS)
            }
            _ = tokio::signal::ctrl_c() => {
                // Dropping the download stops it: partial files stay for the next run to resume,
                // nothing half-written is ever published.
                eprintln!("Interrupted; run the same command again to resume.");
                Ok(ExitCode::from(130))
            }
        }
    });
    // Do not wait for a task still blocked on a lock another process holds.
    runtime.shutdown_background();
    result
}

fn init_logging(quiet: bool, env: &Env) {
    // Waiting for a lock another process holds is reported (hub-cache logs it at INFO every 10 s).
    let default = if quiet {
        "error"
    } else {
        "warn,hub_cache::lock=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(env.get(env::NO_COLOR).is_none_or(str::is_empty))
        .without_time()
        .with_target(false)
        .try_init();
}

async fn download(args: DownloadArgs, env: &Env) -> anyhow::Result<PathBuf> {
    let id = RepoId::new(args.repo_id.as_str())
        .with_context(|| format!("invalid repository id `{}`", args.repo_id))?;
    let repo = Repo::new(args.repo_type, id);
    let cache = match &args.cache_dir {
        Some(dir) => Cache::new(env.expand(&dir.to_string_lossy())),
        None => Cache::from_env(env),
    };
    let mut client = hub_http::ClientBuilder::from_env(env)?;
    if let Some(token) = &args.token {
        client = client.with_token(hub_http::Token::new(token));
    }
    let client = client.build()?;
    let progress = show_progress(args.quiet, env).then(Progress::new);
    let mut downloader = Downloader::new(client, cache)
        .with_offline(env.offline())
        .with_write_options(WriteOptions::from_env(env))
        .with_max_workers(args.max_workers);
    if let Some(progress) = &progress {
        let progress = progress.clone();
        downloader = downloader.with_events(move |event| progress.on(event));
    }
    let revision = args
        .revision
        .clone()
        .unwrap_or_else(|| hub_cache::repo::DEFAULT_REVISION.to_owned());

    // As `hf download`: one plain name downloads that file; a folder (`dir/`) is a pattern.
    let result = if let [filename] = args.filenames.as_slice()
        && !filename.ends_with('/')
    {
        warn_ignored(&args);
        downloader
            .download_file(
                &FileRequest::new(repo, filename.as_str())
                    .with_revision(revision)
                    .with_force_download(args.force_download)
                    .with_local_dir(args.local_dir.clone()),
            )
            .await
    } else {
        let (allow, ignore) = if args.filenames.is_empty() {
            (
                (!args.include.is_empty()).then(|| args.include.clone()),
                (!args.exclude.is_empty()).then(|| args.exclude.clone()),
            )
        } else {
            warn_ignored(&args);
            (Some(args.filenames.clone()), None)
        };
        downloader
            .snapshot(
                &SnapshotRequest::new(repo)
                    .with_revision(revision)
                    .with_allow(allow)
                    .with_ignore(ignore)
                    .with_force_download(args.force_download)
                    .with_local_dir(args.local_dir.clone()),
            )
            .await
    };
    if let Some(progress) = &progress {
        progress.clear();
    }
    Ok(result?)
}

fn warn_ignored(args: &DownloadArgs) {
    if args.quiet {
        return;
    }
    if !args.include.is_empty() {
        eprintln!("warning: ignoring `--include` since filenames have been explicitly set");
    }
    if !args.exclude.is_empty() {
        eprintln!("warning: ignoring `--exclude` since filenames have been explicitly set");
    }
}

/// Bars unless `--quiet`; `HF_HUB_DISABLE_PROGRESS_BARS=1` turns them off.
fn show_progress(quiet: bool, env: &Env) -> bool {
    !quiet && !env.is_true(env::HF_HUB_DISABLE_PROGRESS_BARS)
}

/// indicatif bars on stderr fed by hub-sync events: one for the file count, one per file in flight.
#[derive(Clone)]
struct Progress {
    bars: MultiProgress,
    files: Arc<Mutex<HashMap<String, ProgressBar>>>,
    total: Arc<Mutex<Option<ProgressBar>>>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            files: Arc::default(),
            total: Arc::default(),
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
                *self.total.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
            }
            Event::FileStarted {
                filename,
                size,
                resumed_from,
            } => {
                let bar = self.bars.add(ProgressBar::new(size.unwrap_or(0)));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                    )
                    .expect("a valid template"),
                );
                bar.set_message(filename.clone());
                bar.set_position(*resumed_from);
                self.files
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(filename.clone(), bar);
            }
            Event::FileProgress { filename, done, .. } => {
                if let Some(bar) = self
                    .files
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(filename)
                {
                    bar.set_position(*done);
                }
            }
            Event::FileFinished { filename, .. } => {
                if let Some(bar) = self
                    .files
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(filename)
                {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                if let Some(total) = &*self.total.lock().unwrap_or_else(|p| p.into_inner()) {
                    total.inc(1);
                }
            }
        }
    }

    fn clear(&self) {
        if let Some(total) = self.total.lock().unwrap_or_else(|p| p.into_inner()).take() {
            total.finish();
        }
        let _ = self.bars.clear();
    }
}
