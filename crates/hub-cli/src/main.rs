//! `hfhub`: the command line. The only crate that prints to the terminal.

mod cache;
mod env;

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use clap::Parser;

mod download;

#[derive(Debug, Parser)]
#[command(
    name = "hfhub",
    version,
    about = "Download, inspect and serve the Hugging Face hub cache"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the version, platform, endpoint, cache paths and settings (as `hf env`; never the token).
    Env,
    /// Serve a hub cache directory as a Hugging Face Hub endpoint (point HF_ENDPOINT at it).
    ///
    /// Read-only. LFS files are redirected to a second listener (the "CDN"); each request is
    /// logged to stderr (RUST_LOG filters, default `info`). Stops on Ctrl-C.
    Serve(ServeArgs),
    /// Download a file or a snapshot of a repository into the cache (or a folder); prints its path.
    Download(download::DownloadArgs),
    /// Scan the hub cache (as `huggingface-cli scan-cache` prints it).
    ScanCache(cache::ScanCacheArgs),
    /// List, remove, prune and verify the hub cache (as 2.x `hf cache`).
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Select revisions to delete from the hub cache (as `huggingface-cli delete-cache`).
    DeleteCache(cache::DeleteCacheArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The hub cache to serve [default: the cache the environment selects, as `hfhub env` shows].
    #[arg(long, value_name = "CACHE")]
    dir: Option<PathBuf>,
    /// Address of the Hub endpoint; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Address of the listener LFS downloads are redirected to; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    cdn_addr: SocketAddr,
    /// A token accepted for gated and private repositories (repeatable).
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// Serve this repository as gated: `org/name`, `datasets/org/name`, `spaces/...` (repeatable).
    #[arg(long, value_name = "REPO", value_parser = parse_repo_arg)]
    gated: Vec<hub_cache::Repo>,
    /// Serve this repository as private (same form as --gated; repeatable).
    #[arg(long, value_name = "REPO", value_parser = parse_repo_arg)]
    private: Vec<hub_cache::Repo>,
    /// Entries per page of the tree listing.
    #[arg(long, default_value_t = 1000, value_parser = parse_page_size)]
    page_size: usize,
}

/// The exit codes of `hfhub`, named once at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// The command ran and failed (an error, problems found, a declined confirmation).
    Failure,
    /// Bad command-line input, found before any request or write (clap's code too).
    Usage,
    /// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = hub_cache::env::Env::from_process();
    let debug = env.is_true(hub_cache::env::HF_DEBUG);
    match run(cli, &env) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return Exit::Success.into();
            }
            if debug {
                // `HF_DEBUG=1`: every cause on its own line, and a backtrace when RUST_BACKTRACE
                // asks for one.
                eprintln!("Error: {error:?}");
            } else {
                eprintln!("Error: {error:#}");
            }
            Exit::Failure.into()
        }
    }
}

/// Logs to stderr: `default` unless `RUST_LOG` says otherwise, everything at debug level with
/// `HF_DEBUG=1`; ANSI colours only on a terminal and without `NO_COLOR`.
pub fn init_logging(env: &hub_cache::env::Env, default: &str) {
    let filter = if env.is_true(hub_cache::env::HF_DEBUG) {
        tracing_subscriber::EnvFilter::new("debug")
    } else {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
    };
    let colour = std::io::stderr().is_terminal()
        && env.get(hub_cache::env::NO_COLOR).is_none_or(str::is_empty);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .with_target(false)
        .try_init();
}

fn run(cli: Cli, env: &hub_cache::env::Env) -> anyhow::Result<ExitCode> {
    // The cache commands print what upstream prints, byte for byte: their logs show only when
    // asked for with HF_DEBUG (`download` and `serve` set up their own).
    if env.is_true(hub_cache::env::HF_DEBUG)
        && !matches!(cli.command, Command::Download(_) | Command::Serve(_))
    {
        init_logging(env, "debug");
    }
    match cli.command {
        Command::Env => env::run(env),
        Command::Download(args) => download::run(args),
        Command::ScanCache(args) => cache::scan_cache::run(args),
        Command::Cache(command) => cache::run(command),
        Command::DeleteCache(args) => cache::delete_cache::run(args),
        Command::Serve(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(serve(args))?;
            Ok(Exit::Success.into())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let dir = args
        .dir
        .unwrap_or_else(|| hub_cache::env::Env::from_process().locations().hub_cache);
    let mut builder = hub_server::Server::builder(&dir)
        .with_addr(args.addr)
        .with_cdn_addr(args.cdn_addr)
        .with_page_size(args.page_size);
    for token in args.tokens {
        builder = builder.with_token(token);
    }
    for repo in args.gated {
        builder = builder.with_gated(repo);
    }
    for repo in args.private {
        builder = builder.with_private(repo);
    }
    let server = builder.start().await?;
    // A server keeps serving when whoever started it stops reading its stdout.
    let say = |line: String| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    };
    say(format!(
        "Serving {} at {} (HF_ENDPOINT)",
        dir.display(),
        server.endpoint()
    ));
    say(format!(
        "LFS downloads are redirected to {}",
        server.cdn_endpoint()
    ));
    say("Press Ctrl-C to stop.".to_owned());
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    server.shutdown().await;
    say("Stopped.".to_owned());
    Ok(())
}

/// Any repository spelling of `FromStr for Repo` (`org/name`, `datasets/org/name`,
/// `hf://spaces/org/name`...); a bad one is a usage error (exit code 2).
fn parse_repo_arg(spec: &str) -> Result<hub_cache::Repo, String> {
    spec.parse()
        .map_err(|e: hub_cache::repo::InvalidRepoRef| e.to_string())
}

fn parse_page_size(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("a page holds at least 1 entry".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{value}` is not a number of entries")),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
