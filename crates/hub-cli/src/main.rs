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
    /// Make this a pull-through mirror of a Hub: what the cache misses is fetched from URL into it
    /// (verified, the layout `hfhub download` writes), then served.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// The token sent to the upstream (never to clients) [default: HF_TOKEN or the stored token].
    #[arg(long, value_name = "TOKEN", requires = "upstream")]
    upstream_token: Option<String>,
    /// Seconds a branch or tag resolved upstream is used before asking again.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds, requires = "upstream")]
    upstream_ttl: std::time::Duration,
    /// Upstream transfers (listings, files) at once, whatever the number of clients.
    #[arg(long, value_name = "N", default_value_t = 16, requires = "upstream")]
    upstream_fetches: usize,
    /// When the upstream is unreachable, also serve branch and tag names from the cache after
    /// their freshness window (commits always are).
    #[arg(long, requires = "upstream")]
    serve_stale: bool,
    /// Keep the mirror's cache at most this large (bytes, or with K, M, G, T: powers of 1024),
    /// deleting the least recently used revisions after a download.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "upstream")]
    max_cache_size: Option<u64>,
    /// Seconds running transfers may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    grace: std::time::Duration,
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
    let limits = hub_server::Limits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        body_timeout: args.body_timeout,
        max_connections: args.max_connections.max(1),
        max_streams: args.max_streams.max(1),
        max_listings: args.max_listings.max(1),
    };
    if args.upstream.is_some() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the cache folder `{}`", dir.display()))?;
    }
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
    if let Some(url) = &args.upstream {
        let upstream = hub_server::Upstream::new(url)
            .with_env(hub_cache::env::Env::from_process())
            .with_token(args.upstream_token.clone())
            .with_ttl(args.upstream_ttl)
            .with_max_fetches(args.upstream_fetches)
            .with_serve_stale(args.serve_stale)
            .with_max_cache_size(args.max_cache_size);
        builder = builder.with_upstream(upstream);
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
    if let Some(url) = &args.upstream {
        say(format!(
            "Mirroring {} (branches re-resolved after {} s)",
            hub_http::url::shown(url),
            args.upstream_ttl.as_secs()
        ));
    }
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

/// `1048576`, `512K`, `10G`, `1.5T` (`KiB`/`KB` forms too; powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (bytes, or a number with K, M, G or T)"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let shift = match unit.trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{text}`: unknown unit (K, M, G or T)")),
    };
    let bytes =
        number * f64::from(1u32 << shift.min(30)) * f64::from(1u32 << (shift - shift.min(30)));
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < 2f64.powi(63)) {
        return Err(format!("`{text}` is not a usable size"));
    }
    Ok(bytes as u64)
}

/// Any repository spelling of `FromStr for Repo` (`org/name`, `datasets/org/name`,
/// `hf://spaces/org/name`...); a bad one is a usage error (exit code 2).
fn parse_repo_arg(spec: &str) -> Result<hub_cache::Repo, String> {
    spec.parse()
        .map_err(|e: hub_cache::repo::InvalidRepoRef| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("3 MB"), Ok(3 << 20));
        for bad in ["", "G", "-1", "0", "5X", "1e3", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
