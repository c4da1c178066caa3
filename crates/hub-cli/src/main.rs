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
    /// Read-only. LFS files are redirected to a second listener (the "CDN") with signed links that
    /// expire; each request is logged to stderr (RUST_LOG filters, default `info`). On Ctrl-C or
    /// SIGTERM it stops accepting, lets running transfers finish (--grace), and exits.
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
    /// A token accepted for gated and private repositories (repeatable). With no --gated or
    /// --private, every repository needs one.
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
    /// The URL clients reach the Hub endpoint at, for `Link` headers and messages
    /// [default: the address each client connected to].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// The URL clients reach the CDN listener at, for LFS redirects
    /// [default: the address each client connected to, with the CDN port].
    #[arg(long, value_name = "URL")]
    cdn_url: Option<String>,
    /// A file holding the secret CDN links are signed with, so that several servers accept each
    /// other's links [default: a random key made at start-up].
    #[arg(long, value_name = "FILE")]
    cdn_key_file: Option<PathBuf>,
    /// Seconds a CDN link stays valid.
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = parse_seconds)]
    cdn_link_lifetime: std::time::Duration,
    /// Seconds a client has to send a request head (also the keep-alive wait between requests).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    header_timeout: std::time::Duration,
    /// Seconds a connection with no request in flight stays open.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    idle_timeout: std::time::Duration,
    /// Seconds a response may make no progress (a client that stops reading) before its
    /// connection is closed.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    body_timeout: std::time::Duration,
    /// Open connections (both listeners); past it the oldest idle one is closed.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// Concurrent HTTP/2 streams per connection.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_streams: u32,
    /// Repo-info and tree listings computed at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_listings: usize,
    /// Seconds running transfers may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    grace: std::time::Duration,
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
    let limits = hub_server::Limits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        body_timeout: args.body_timeout,
        max_connections: args.max_connections.max(1),
        max_streams: args.max_streams.max(1),
        max_listings: args.max_listings.max(1),
    };
    let mut builder = hub_server::Server::builder(&dir)
        .with_addr(args.addr)
        .with_cdn_addr(args.cdn_addr)
        .with_page_size(args.page_size)
        .with_limits(limits)
        .with_cdn_link_lifetime(args.cdn_link_lifetime)
        .without_request_log();
    if let Some(url) = &args.public_url {
        builder = builder.with_public_url(url);
    }
    if let Some(url) = &args.cdn_url {
        builder = builder.with_cdn_url(url);
    }
    if let Some(path) = &args.cdn_key_file {
        let secret = std::fs::read(path)
            .with_context(|| format!("cannot read the CDN key file `{}`", path.display()))?;
        let secret = secret.trim_ascii();
        anyhow::ensure!(
            !secret.is_empty(),
            "the CDN key file `{}` is empty",
            path.display()
        );
        builder = builder.with_cdn_key(hub_server::CdnKey::from_secret(secret));
    }
    let token_count = args.tokens.len();
    let everything_private = token_count > 0 && args.gated.is_empty() && args.private.is_empty();
    for token in args.tokens {
        builder = builder.with_token(token);
    }
    for repo in args.gated {
        builder = builder.with_gated(repo);
    }
    for repo in args.private {
        builder = builder.with_private(repo);
    }
    if everything_private {
        builder = builder.with_every_repo_private();
    }
    let server = builder.start().await?;
    // A server keeps serving when whoever started it stops reading its stdout.
    let say = |line: String| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    };
    let reached_as = |url: Option<String>| url.map(|url| format!(" as {url}")).unwrap_or_default();
    say(format!(
        "Serving {} at {}{} (HF_ENDPOINT)",
        dir.display(),
        server.endpoint(),
        reached_as(args.public_url),
    ));
    say(format!(
        "LFS downloads are redirected to {}{} (signed links, valid {} s)",
        server.cdn_endpoint(),
        reached_as(args.cdn_url),
        args.cdn_link_lifetime.as_secs().max(1)
    ));
    if everything_private {
        say(format!(
            "Every repository needs a token ({token_count} accepted): no --gated or --private was given."
        ));
    }
    say("Press Ctrl-C to stop.".to_owned());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot listen for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    say(format!(
        "Stopping: no new connections; running transfers have {} s to finish.",
        args.grace.as_secs()
    ));
    tokio::select! {
        () = server.shutdown_within(args.grace) => {}
        // A second signal: stop now.
        _ = tokio::signal::ctrl_c() => say("Second signal: not waiting for running transfers.".to_owned()),
        _ = terminate.recv() => say("Second signal: not waiting for running transfers.".to_owned()),
    }
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

/// Seconds, whole or decimal (`30`, `0.5`).
fn parse_seconds(value: &str) -> Result<std::time::Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|seconds| std::time::Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("`{value}` is not a number of seconds"))
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
