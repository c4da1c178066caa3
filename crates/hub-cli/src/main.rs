//! `hfhub`: the command line. The only crate that prints to the terminal.

mod cache;

use std::io::Write as _;
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
    /// Print where the hub cache, assets cache and token file are, as the environment selects them.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Env => {
            let locations = hub_cache::env::Env::from_process().locations();
            println!("HF_HOME: {}", locations.hf_home.display());
            println!("HF_HUB_CACHE: {}", locations.hub_cache.display());
            println!("HF_ASSETS_CACHE: {}", locations.assets_cache.display());
            println!("HF_TOKEN_PATH: {}", locations.token_path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Download(args) => download::run(args),
        Command::ScanCache(args) => cache::scan_cache::run(args),
        Command::Cache(command) => cache::run(command),
        Command::DeleteCache(args) => cache::delete_cache::run(args),
        Command::Serve(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(serve(args))?;
            Ok(ExitCode::SUCCESS)
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

/// `org/name` (a model), `datasets/org/name`, `spaces/org/name`, `kernels/org/name`; a bad one is a
/// usage error (exit code 2).
fn parse_repo_arg(spec: &str) -> Result<hub_cache::Repo, String> {
    use hub_cache::RepoType;
    let (repo_type, id) = [RepoType::Dataset, RepoType::Space, RepoType::Kernel]
        .into_iter()
        .find_map(|t| spec.strip_prefix(t.url_prefix()).map(|id| (t, id)))
        .unwrap_or((RepoType::Model, spec));
    let id = hub_cache::RepoId::new(id).map_err(|e| format!("invalid repository `{spec}`: {e}"))?;
    Ok(hub_cache::Repo::new(repo_type, id))
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
