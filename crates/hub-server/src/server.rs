//! The listeners, the configuration and the answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use hub_cache::{Repo, RepoId, RepoType};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::Error;
use crate::access::Access;
use crate::body::Body;
use crate::conn::{Active, Admitted, Limits, Registry, Tracked, TrackedBody, Verdict, fitting_cap};
use crate::fault::{CdnLinks, Fault, Faults};
use crate::log::{self, Origin, RequestLog, RequestRecord};
use crate::metrics::Metrics;
use crate::mirror::{Mirror, Prepared};
use crate::route::{self, Route, Target};
use crate::sign::CdnKey;
use crate::store::{BlobKind, FileEntry, Lookup, Snapshot, Store, TreeItem};
use crate::upstream::Upstream;

/// What RFC 5987 `filename*` escapes: everything but alphanumerics and `.-_~`.
const FILENAME_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// Default page size of the tree endpoint (the Hub's, per upstream's docstring).
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// How long a signed CDN link stays valid by default (clients follow it at once; a resumed
/// download asks the Hub listener again and gets a new one).
pub const DEFAULT_LINK_LIFETIME: Duration = Duration::from_secs(3600);

/// How much of a request path the `tracing` line shows.
const LOGGED_PATH: usize = 256;

/// Entry point: `Server::builder(cache_dir)`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A server over the hub cache at `cache_dir`, listening on 127.0.0.1 ports chosen by the system.
    pub fn builder(cache_dir: impl Into<PathBuf>) -> Builder {
        Builder {
            cache_dir: cache_dir.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            cdn_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tokens: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            access: HashMap::new(),
            renamed: HashMap::new(),
            faults: Vec::new(),
            cdn_links: CdnLinks::Reusable,
            cdn_key: None,
            link_lifetime: DEFAULT_LINK_LIFETIME,
            log_capacity: log::DEFAULT_CAPACITY,
            limits: Limits::default(),
            public_url: None,
            cdn_url: None,
            all_private: false,
            upstream: None,
        }
    }
}

/// Configuration of a server before it starts.
#[derive(Debug)]
pub struct Builder {
    cache_dir: PathBuf,
    addr: SocketAddr,
    cdn_addr: SocketAddr,
    tokens: Vec<String>,
    page_size: usize,
    access: HashMap<(RepoType, RepoId), Access>,
    renamed: HashMap<(RepoType, RepoId), RepoId>,
    faults: Vec<Fault>,
    cdn_links: CdnLinks,
    cdn_key: Option<CdnKey>,
    link_lifetime: Duration,
    log_capacity: usize,
    limits: Limits,
    public_url: Option<String>,
    cdn_url: Option<String>,
    all_private: bool,
    upstream: Option<Upstream>,
}

impl Builder {
    /// The Hub listener's address (default `127.0.0.1:0`).
    pub fn with_addr(mut self, addr: SocketAddr) -> Builder {
        self.addr = addr;
        self
    }

    /// The CDN listener's address (default `127.0.0.1:0`).
    pub fn with_cdn_addr(mut self, addr: SocketAddr) -> Builder {
        self.cdn_addr = addr;
        self
    }

    /// A token accepted for gated and private repositories (`Authorization: Bearer <token>`).
    pub fn with_token(mut self, token: impl Into<String>) -> Builder {
        self.tokens.push(token.into());
        self
    }

    /// Entries per page of the tree endpoint (at least 1).
    pub fn with_page_size(mut self, page_size: usize) -> Builder {
        self.page_size = page_size.max(1);
        self
    }

    /// Makes a repository gated: only requests with an accepted token get through.
    pub fn with_gated(mut self, repo: Repo) -> Builder {
        self.access.insert((repo.repo_type, repo.id), Access::Gated);
        self
    }

    /// Makes a repository private: it does not exist for requests without an accepted token.
    pub fn with_private(mut self, repo: Repo) -> Builder {
        self.access
            .insert((repo.repo_type, repo.id), Access::Private);
        self
    }

    /// Answers every request for `old` with a relative `307` to the same URL under `new_id`.
    pub fn with_renamed(mut self, old: Repo, new_id: RepoId) -> Builder {
        self.renamed.insert((old.repo_type, old.id), new_id);
        self
    }

    /// Adds an injected fault (see [`crate::fault`]).
    pub fn with_fault(mut self, fault: Fault) -> Builder {
        self.faults.push(fault);
        self
    }

    /// How long CDN locations stay valid (a test facility; see [`CdnLinks`]).
    pub fn with_cdn_links(mut self, links: CdnLinks) -> Builder {
        self.cdn_links = links;
        self
    }

    /// The key CDN links are signed with (default: a random key made at start-up). Servers given
    /// the same key accept each other's links.
    pub fn with_cdn_key(mut self, key: CdnKey) -> Builder {
        self.cdn_key = Some(key);
        self
    }

    /// How long a signed CDN link is valid (default [`DEFAULT_LINK_LIFETIME`], at least a second).
    pub fn with_cdn_link_lifetime(mut self, lifetime: Duration) -> Builder {
        self.link_lifetime = lifetime;
        self
    }

    /// Keeps the newest `capacity` records in the request log (default
    /// [`crate::log::DEFAULT_CAPACITY`]; 0 keeps none).
    pub fn with_request_log_capacity(mut self, capacity: usize) -> Builder {
        self.log_capacity = capacity;
        self
    }

    /// Keeps no request log (what a long-running server wants).
    pub fn without_request_log(self) -> Builder {
        self.with_request_log_capacity(0)
    }

    /// Timeouts and caps (default [`Limits::default`]).
    pub fn with_limits(mut self, limits: Limits) -> Builder {
        self.limits = limits;
        self
    }

    /// The URL clients reach the Hub listener at (`http://mirror:8080`), used in `Link` headers and
    /// messages; default: the address the client connected to.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Builder {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The URL clients reach the CDN listener at, used in LFS redirects; default: the address the
    /// client connected to, with the CDN listener's port.
    pub fn with_cdn_url(mut self, url: impl Into<String>) -> Builder {
        self.cdn_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Makes every repository not made gated private: nothing is served without an accepted token.
    pub fn with_every_repo_private(mut self) -> Builder {
        self.all_private = true;
        self
    }

    /// Makes the server a pull-through mirror of `upstream`: what the cache misses is fetched from
    /// there into it (see [`Upstream`]).
    pub fn with_upstream(mut self, upstream: Upstream) -> Builder {
        self.upstream = Some(upstream);
        self
    }

    /// Binds both listeners and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<RunningServer, Error> {
        let cache_error = |source| Error::CacheDir {
            path: self.cache_dir.clone(),
            source,
        };
        let root = std::fs::canonicalize(&self.cache_dir).map_err(cache_error)?;
        if !root.is_dir() {
            return Err(cache_error(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        let bind = |addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind { addr, source })
        };
        let metrics = Arc::new(Metrics::default());
        let mirror = match &self.upstream {
            Some(upstream) => Some(Arc::new(
                Mirror::new(upstream, root.clone(), metrics.clone()).map_err(|source| {
                    Error::Upstream {
                        url: hub_http::url::shown(&upstream.url),
                        source,
                    }
                })?,
            )),
            None => None,
        };
        let hub = bind(self.addr).await?;
        let cdn = bind(self.cdn_addr).await?;
        let local = |listener: &TcpListener, addr| {
            listener
                .local_addr()
                .map_err(|source| Error::Bind { addr, source })
        };
        let addr = local(&hub, self.addr)?;
        let cdn_addr = local(&cdn, self.cdn_addr)?;
        let log = RequestLog::with_capacity(self.log_capacity);
        let key = match self.cdn_key {
            Some(key) => key,
            None => CdnKey::random().map_err(Error::Key)?,
        };
        let shared = Arc::new(Shared {
            store: Store::new(root),
            addr,
            cdn_addr,
            tokens: self.tokens,
            page_size: self.page_size,
            access: self.access,
            renamed: self.renamed,
            faults: Faults::new(self.faults, self.cdn_links),
            next_link: AtomicU64::new(1),
            log: log.clone(),
            key,
            link_lifetime: self.link_lifetime,
            registry: Arc::new(Registry::new(fitting_cap(self.limits.max_connections))),
            listings: Semaphore::new(self.limits.max_listings.max(1)),
            limits: self.limits,
            public_url: self.public_url,
            cdn_url: self.cdn_url,
            all_private: self.all_private,
            mirror,
            metrics,
        });
        let (stop, stopped) = watch::channel(None);
        let tasks = vec![
            tokio::spawn(accept_loop(
                hub,
                shared.clone(),
                Origin::Hub,
                stopped.clone(),
            )),
            tokio::spawn(accept_loop(cdn, shared, Origin::Cdn, stopped)),
        ];
        tracing::info!(%addr, %cdn_addr, "serving");
        Ok(RunningServer {
            addr,
            cdn_addr,
            log,
            stop,
            tasks,
        })
    }

    /// Starts the server on a runtime of its own (two worker threads), for synchronous callers.
    pub fn start_blocking(self) -> Result<BlockingServer, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let running = runtime.block_on(self.start())?;
        Ok(BlockingServer {
            running: Some(running),
            runtime,
        })
    }
}

/// A started server; stops when shut down or dropped.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    cdn_addr: SocketAddr,
    log: RequestLog,
    stop: watch::Sender<Option<Duration>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The Hub endpoint, e.g. `http://127.0.0.1:PORT` (what `HF_ENDPOINT` is set to).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The CDN origin LFS downloads are redirected to.
    pub fn cdn_endpoint(&self) -> String {
        format!("http://{}", self.cdn_addr)
    }

    /// The Hub listener's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CDN listener's bound address.
    pub fn cdn_addr(&self) -> SocketAddr {
        self.cdn_addr
    }

    /// The log of every request both listeners answered.
    pub fn request_log(&self) -> RequestLog {
        self.log.clone()
    }

    /// Stops accepting, lets open connections finish for up to a second, then closes them.
    pub async fn shutdown(self) {
        self.shutdown_within(Duration::from_secs(1)).await;
    }

    /// Stops accepting, closes idle connections, lets running requests and transfers finish for up
    /// to `grace`, then closes what is left.
    pub async fn shutdown_within(mut self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(Some(Duration::from_secs(1)));
    }
}

/// A server with its own runtime; dereferences to [`RunningServer`]. Dropping it shuts it down.
#[derive(Debug)]
pub struct BlockingServer {
    running: Option<RunningServer>,
    runtime: tokio::runtime::Runtime,
}

impl BlockingServer {
    /// Shuts the server down and waits for it.
    pub fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}

impl std::ops::Deref for BlockingServer {
    type Target = RunningServer;
    fn deref(&self) -> &RunningServer {
        self.running
            .as_ref()
            .expect("only shutdown() takes the server, and it consumes self")
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}

#[derive(Debug)]
struct Shared {
    store: Store,
    addr: SocketAddr,
    cdn_addr: SocketAddr,
    tokens: Vec<String>,
    page_size: usize,
    access: HashMap<(RepoType, RepoId), Access>,
    renamed: HashMap<(RepoType, RepoId), RepoId>,
    faults: Faults,
    next_link: AtomicU64,
    log: RequestLog,
    key: CdnKey,
    link_lifetime: Duration,
    registry: Arc<Registry>,
    listings: Semaphore,
    limits: Limits,
    public_url: Option<String>,
    cdn_url: Option<String>,
    all_private: bool,
    mirror: Option<Arc<Mirror>>,
    metrics: Arc<Metrics>,
}

/// Where one connection's clients reach the two listeners: configured, or the address the
/// client connected to (never the `Host` header).
#[derive(Debug)]
struct Bases {
    hub: String,
    cdn: String,
}

impl Shared {
    fn bases(&self, local: Option<SocketAddr>) -> Bases {
        let reached = |listener: SocketAddr| match local {
            Some(local) if listener.ip().is_unspecified() => {
                format!("http://{}", SocketAddr::new(local.ip(), listener.port()))
            }
            _ => format!("http://{listener}"),
        };
        Bases {
            hub: self
                .public_url
                .clone()
                .unwrap_or_else(|| reached(self.addr)),
            cdn: self
                .cdn_url
                .clone()
                .unwrap_or_else(|| reached(self.cdn_addr)),
        }
    }

    /// Whether a CDN request carries a valid signature for its path.
    fn signed(&self, asked: &Asked) -> bool {
        asked
            .path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .is_some_and(|(folder, sha256)| self.key.verify(folder, sha256, &asked.query).is_ok())
    }

    fn access(&self, repo_type: RepoType, id: &RepoId) -> Option<Access> {
        match self.access.get(&(repo_type, id.clone())) {
            Some(access) => Some(*access),
            None => self.all_private.then_some(Access::Private),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    origin: Origin,
    mut stopped: watch::Receiver<Option<Duration>>,
) {
    let mut connections = JoinSet::new();
    let grace = loop {
        tokio::select! {
            grace = wait_stop(&mut stopped) => break grace,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match shared.registry.admit() {
                    Some(admitted) => {
                        connections.spawn(serve_connection(stream, shared.clone(), origin, admitted, stopped.clone()));
                    }
                    None => tracing::warn!(open = shared.registry.len(), "connection refused: every connection is busy"),
                },
                Err(error) => {
                    // Out of file descriptors and the like: close the oldest idle connection to make
                    // room, or wait for one to end.
                    let shed = shared.registry.shed_oldest_idle();
                    tracing::warn!(%error, shed, "accept failed");
                    let pause = if shed { 2 } else { 20 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(grace, drain).await;
    connections.abort_all();
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    origin: Origin,
    admitted: Admitted,
    mut stopped: watch::Receiver<Option<Duration>>,
) {
    let _ = stream.set_nodelay(true);
    let bases = Arc::new(shared.bases(stream.local_addr().ok()));
    let limits = shared.limits;
    let tracked = admitted.tracked.clone();
    let respond = {
        let (shared, tracked) = (shared.clone(), tracked.clone());
        move |request: Parts| {
            let (shared, bases, tracked) = (shared.clone(), bases.clone(), tracked.clone());
            async move { respond(&shared, origin, &bases, &tracked, &request).await }
        }
    };
    // The CDN listener sends blobs itself (sendfile), unless the client speaks HTTP/2.
    let http2 = origin == Origin::Hub || {
        let sniff = crate::h1::is_http2(&stream);
        tokio::pin!(sniff);
        match supervise(sniff, &tracked, &limits, &mut stopped, |_| true).await {
            Some(http2) => http2,
            None => return,
        }
    };
    if !http2 {
        let connection = crate::h1::serve(
            stream,
            crate::h1::Connection {
                tracked: tracked.clone(),
                metrics: shared.metrics.clone(),
                header_timeout: limits.header_timeout,
                stopped: stopped.clone(),
            },
            respond,
        );
        tokio::pin!(connection);
        supervise(connection, &tracked, &limits, &mut stopped, |_| false).await;
        drop(admitted);
        return;
    }
    let service = service_fn(move |request: Request<Incoming>| {
        let (parts, incoming) = request.into_parts();
        let answered = respond(parts);
        async move {
            let (response, active) = answered.await;
            drop(incoming);
            Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, active)))
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(crate::h1::MAX_HEAD);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .max_send_buf_size(256 * 1024)
        .max_header_list_size(crate::h1::MAX_HEAD as u32);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    supervise(connection, &tracked, &limits, &mut stopped, |connection| {
        connection.graceful_shutdown();
        false
    })
    .await;
    drop(admitted);
}

/// Drives `connection` under the limits: closed (dropped) when idle or stalled past its timeout,
/// or when the registry sheds it while idle. On a stop, `on_stop` asks it to finish (`false`: keep
/// driving it) or closes it at once (`true`). `None` when it was closed before it ended.
async fn supervise<F: std::future::Future>(
    mut connection: std::pin::Pin<&mut F>,
    tracked: &Tracked,
    limits: &Limits,
    stopped: &mut watch::Receiver<Option<Duration>>,
    mut on_stop: impl FnMut(std::pin::Pin<&mut F>) -> bool,
) -> Option<F::Output> {
    let tick = limits
        .idle_timeout
        .min(limits.body_timeout)
        .min(limits.header_timeout)
        .div_f32(4.0)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut stopping = false;
    loop {
        tokio::select! {
            output = connection.as_mut() => return Some(output),
            _ = wait_stop(stopped), if !stopping => {
                stopping = true;
                if on_stop(connection.as_mut()) {
                    return None;
                }
            }
            () = tracked.shed_requested() => {
                if tracked.shed_now() {
                    return None;
                }
            }
            () = tokio::time::sleep(tick) => match tracked.verdict(limits) {
                Verdict::Keep => {}
                // Idle, or neither reading nor finishing: drop it (an HTTP/1 connection in the
                // middle of a request head counts as idle).
                Verdict::Idle | Verdict::Stalled => return None,
            },
        }
    }
}

async fn wait_stop(stopped: &mut watch::Receiver<Option<Duration>>) -> Duration {
    match stopped.wait_for(Option::is_some).await {
        Ok(grace) => grace.unwrap_or_default(),
        Err(_) => Duration::ZERO,
    }
}

/// Set when the request's future is dropped (the client went away): blocking work polls it.
#[derive(Debug)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// An answer before it becomes a response: head, and where the body comes from.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, String)>,
    body: ReplyBody,
}

#[derive(Debug)]
enum ReplyBody {
    Bytes(Vec<u8>),
    File {
        path: PathBuf,
        start: u64,
        length: u64,
    },
}

impl Reply {
    fn new(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Bytes(Vec::new()),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header names are static ASCII");
        self.headers.push((name, value.into()));
        self
    }

    fn json(self, value: &Value) -> Reply {
        let mut reply = self.header("content-type", "application/json; charset=utf-8");
        reply.body = ReplyBody::Bytes(value.to_string().into_bytes());
        reply
    }

    /// A Hub error: `X-Error-Code` (when given), `X-Error-Message` and `{"error": message}`.
    fn error(status: StatusCode, code: Option<&str>, message: &str) -> Reply {
        let mut reply = Reply::new(status);
        if let Some(code) = code {
            reply = reply.header("x-error-code", code);
        }
        reply
            .header("x-error-message", message)
            .json(&json!({ "error": message }))
    }
}

/// The request facts the answers depend on.
#[derive(Debug, Clone)]
struct Asked {
    method: String,
    path: String,
    query: String,
    token: Option<String>,
    range: Option<String>,
    /// Set when the client went away.
    cancel: Arc<AtomicBool>,
    /// A mirror's listing of the commit asked for (instead of the cache's snapshot).
    listing: Option<Arc<Snapshot>>,
}

/// The answer to a request on either listener and either connection loop (hyper's, or the CDN
/// listener's own HTTP/1.1 one): faults, the mirror, the reply, `Cache-Control`, metrics and the
/// request log; with the guard of the request in flight, to drop once its body is sent.
async fn respond(
    shared: &Arc<Shared>,
    origin: Origin,
    bases: &Arc<Bases>,
    tracked: &Arc<Tracked>,
    request: &Parts,
) -> (Response<Body>, Active) {
    let active = tracked.start();
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let asked = Asked {
        method: request.method.as_str().to_owned(),
        path: request.uri.path().to_owned(),
        query: request.uri.query().unwrap_or_default().to_owned(),
        token: header("authorization")
            .and_then(|value| value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())),
        range: header("range"),
        cancel: cancel.0.clone(),
        listing: None,
    };
    let path_and_query = request
        .uri
        .path_and_query()
        .map_or_else(|| asked.path.clone(), |pq| pq.as_str().to_owned());
    let chosen = shared.faults.choose(origin, &asked.method, &path_and_query);
    if let Some(delay) = chosen.delay {
        tokio::time::sleep(delay).await;
    }
    let reply = if let Some((status, retry_after)) = chosen.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = Reply::error(status, None, "injected fault");
        if let Some(seconds) = retry_after {
            reply = reply.header("retry-after", seconds.to_string());
        }
        reply
    } else if origin == Origin::Hub && asked.path == "/metrics" {
        let mut reply =
            Reply::new(StatusCode::OK).header("content-type", "text/plain; version=0.0.4");
        reply.body = ReplyBody::Bytes(shared.metrics.render().into_bytes());
        reply
    } else {
        let readable = asked.method == "GET" || asked.method == "HEAD";
        let prepared = match (origin, &shared.mirror) {
            (_, Some(_)) if !readable => Prepared::Cache,
            (Origin::Hub, Some(mirror)) => {
                let deny = |target: &Target, access| refuse(shared, bases, &asked, target, access);
                let cached = async || {
                    answer(shared.clone(), origin, bases.clone(), asked.clone(), false)
                        .await
                        .status
                        .is_success()
                };
                mirror
                    .prepare(&asked.method, &asked.path, deny, cached)
                    .await
            }
            (Origin::Cdn, Some(mirror)) if shared.signed(&asked) => {
                mirror.prepare_blob(&asked.path).await
            }
            _ => Prepared::Cache,
        };
        // A small file body is read on the thread that makes the answer, unless faults apply to it.
        let inline = asked.method != "HEAD" && chosen.body == crate::fault::BodyFaults::default();
        match prepared {
            Prepared::Refused(reply) => reply,
            Prepared::Failed(failed) => Reply::error(failed.status, failed.code, failed.message),
            Prepared::Cache => {
                answer(shared.clone(), origin, bases.clone(), asked.clone(), inline).await
            }
            Prepared::Listing(listing) => {
                let mut asked = asked.clone();
                asked.listing = Some(listing);
                answer(shared.clone(), origin, bases.clone(), asked, inline).await
            }
        }
    };
    let reply = cache_control(shared, origin, &asked, reply);
    shared.metrics.answered(
        origin,
        match &reply.body {
            _ if asked.method == "HEAD" => 0,
            ReplyBody::Bytes(bytes) => bytes.len() as u64,
            ReplyBody::File { length, .. } => *length,
        },
    );
    let head = asked.method == "HEAD";
    let record = RequestRecord {
        origin,
        method: asked.method.clone(),
        path: path_and_query,
        authorization: request.headers.contains_key("authorization"),
        range: asked.range.clone(),
        user_agent: header("user-agent"),
        status: reply.status.as_u16(),
        bytes_sent: match &reply.body {
            ReplyBody::Bytes(bytes) if !head => bytes.len() as u64,
            _ => 0,
        },
        fault: chosen.describe(),
    };
    tracing::info!(
        ?origin,
        method = %record.method,
        path = %logged_path(&record.path),
        status = record.status,
        "request"
    );
    let sent = shared.log.push(record);
    let mut response = Response::builder().status(reply.status);
    let mut content_length = None;
    for (name, value) in &reply.headers {
        if name == hyper::header::CONTENT_LENGTH {
            content_length = Some(value.clone());
        }
        if let Ok(value) = HeaderValue::from_str(value) {
            response = response.header(name, value);
        }
    }
    let body = match reply.body {
        ReplyBody::Bytes(bytes) => {
            if content_length.is_none() {
                response = response.header("content-length", bytes.len());
            }
            if head {
                Body::empty()
            } else {
                Body::bytes(bytes)
            }
        }
        ReplyBody::File {
            path,
            start,
            length,
        } => {
            if head {
                Body::empty()
            } else {
                Body::file(path, start, length, chosen.body, sent)
            }
        }
    };
    let response = response
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::bytes("invalid response")));
    (response, active)
}

/// The answer from the cache (or a mirror's listing), computed off the runtime.
/// The answer from the cache, made on the blocking pool; `inline`: a small file body is read there
/// too (see [`inline_small_file`]).
async fn answer(
    shared: Arc<Shared>,
    origin: Origin,
    bases: Arc<Bases>,
    asked: Asked,
    inline: bool,
) -> Reply {
    // Listings walk a whole snapshot the first time: only a few at once.
    let _permit = match (origin, route::parse(&asked.path)) {
        (Origin::Hub, Route::Info { .. } | Route::Tree { .. }) if asked.listing.is_none() => {
            shared.listings.acquire().await.ok()
        }
        _ => None,
    };
    let worker = shared.clone();
    tokio::task::spawn_blocking(move || {
        let reply = match origin {
            Origin::Hub => hub_reply(&worker, &bases, &asked),
            Origin::Cdn => cdn_reply(&worker, &asked),
        };
        if inline {
            inline_small_file(reply)
        } else {
            reply
        }
    })
    .await
    .unwrap_or_else(|_| Reply::error(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error"))
}

/// `Cache-Control` for HTTP caches in front: a commit-pinned answer and a blob never change; a
/// branch answer may after the mirror's freshness window; errors are not stored; nothing of a
/// gated or private repository (or asked with a token) is stored by a shared cache.
fn cache_control(shared: &Shared, origin: Origin, asked: &Asked, reply: Reply) -> Reply {
    const IMMUTABLE: &str = "max-age=31536000, immutable";
    let status = reply.status;
    if !(status.is_success() || status == StatusCode::FOUND) {
        return reply.header("cache-control", "no-store");
    }
    let scope = if asked.token.is_some() {
        "private"
    } else {
        "public"
    };
    let value = match origin {
        Origin::Cdn => format!("{scope}, {IMMUTABLE}"),
        Origin::Hub => {
            let revision = match route::parse(&asked.path) {
                Route::Resolve { revision, .. }
                | Route::Info { revision, .. }
                | Route::Tree { revision, .. } => revision,
                Route::NotFound | Route::BadRequest(_) => return reply,
            };
            if hub_cache::repo::is_commit_hash(&revision) {
                format!("{scope}, {IMMUTABLE}")
            } else {
                let ttl = shared.mirror.as_ref().map_or(0, |m| m.ttl().as_secs());
                format!("{scope}, max-age={ttl}")
            }
        }
    };
    reply.header("cache-control", value)
}

/// The start of a path, cut at a character boundary.
fn logged_path(path: &str) -> &str {
    let mut end = path.len().min(LOGGED_PATH);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

fn hub_reply(shared: &Shared, bases: &Bases, asked: &Asked) -> Reply {
    if asked.method != "GET" && asked.method != "HEAD" {
        return Reply::error(StatusCode::METHOD_NOT_ALLOWED, None, "method not allowed");
    }
    let route = route::parse(&asked.path);
    let target = match &route {
        Route::Resolve { target, .. } | Route::Info { target, .. } | Route::Tree { target, .. } => {
            target.clone()
        }
        Route::NotFound => return Reply::error(StatusCode::NOT_FOUND, None, "Not Found"),
        Route::BadRequest(message) => {
            return Reply::error(StatusCode::BAD_REQUEST, None, message);
        }
    };
    if let Some(new_id) = shared.renamed.get(&(target.repo_type, target.id.clone())) {
        let mut location = format!("{}{}{}", target.before, new_id, target.after);
        if !asked.query.is_empty() {
            location = format!("{location}?{}", asked.query);
        }
        return Reply::new(StatusCode::TEMPORARY_REDIRECT).header("location", location);
    }
    if let Some(denied) = check_access(shared, bases, asked, &target) {
        return denied;
    }
    let repo = Repo::new(target.repo_type, target.id.clone());
    let result = match route {
        Route::Resolve { revision, path, .. } => {
            resolve(shared, bases, asked, &repo, &revision, &path)
        }
        Route::Info { revision, .. } => info(shared, asked, &repo, &revision),
        Route::Tree { revision, path, .. } => tree(shared, bases, asked, &repo, &revision, &path),
        Route::NotFound | Route::BadRequest(_) => unreachable!("answered above"),
    };
    result.unwrap_or_else(|lookup| lookup_error(lookup, &repo, asked))
}

fn check_access(shared: &Shared, bases: &Bases, asked: &Asked, target: &Target) -> Option<Reply> {
    let access = shared.access(target.repo_type, &target.id)?;
    refuse(shared, bases, asked, target, access)
}

/// The refusal of a repository with `access`, unless the client has an accepted token.
fn refuse(
    shared: &Shared,
    bases: &Bases,
    asked: &Asked,
    target: &Target,
    access: Access,
) -> Option<Reply> {
    if asked
        .token
        .as_deref()
        .is_some_and(|token| shared.tokens.iter().any(|t| t == token))
    {
        return None;
    }
    access_reply(bases, asked, target, access)
}

/// The refusal of a repository with `access` to a client without an accepted token.
fn access_reply(bases: &Bases, asked: &Asked, target: &Target, access: Access) -> Option<Reply> {
    let kind = target.repo_type.as_str();
    let id = &target.id;
    match (access, asked.token.as_deref()) {
        (Access::Gated, None) => Some(Reply::error(
            StatusCode::UNAUTHORIZED,
            Some("GatedRepo"),
            &format!(
                "Access to {kind} {id} is restricted. You must have access to it and be authenticated to access it. Please log in."
            ),
        )),
        (Access::Gated, Some(_)) => Some(Reply::error(
            StatusCode::FORBIDDEN,
            Some("GatedRepo"),
            &format!(
                "Access to {kind} {id} is restricted and you are not in the authorized list. Visit {}/{}{id} to ask for access.",
                bases.hub,
                target.repo_type.url_prefix()
            ),
        )),
        (Access::Private, None) => Some(Reply::error(
            StatusCode::UNAUTHORIZED,
            Some("RepoNotFound"),
            "Invalid username or password.",
        )),
        (Access::Private, Some(_)) => Some(Reply::error(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
        )),
    }
}

fn lookup_error(lookup: Lookup, repo: &Repo, asked: &Asked) -> Reply {
    match lookup {
        Lookup::RepoNotFound => Reply::error(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
        ),
        Lookup::RevisionNotFound => Reply::error(
            StatusCode::NOT_FOUND,
            Some("RevisionNotFound"),
            "Invalid rev id",
        ),
        Lookup::EntryNotFound { commit } => Reply::error(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            "Entry not found",
        )
        .header("x-repo-commit", commit),
        Lookup::BadRequest(message) => Reply::error(StatusCode::BAD_REQUEST, None, &message),
        // Nobody reads it: the client went away.
        Lookup::Cancelled => Reply::error(StatusCode::SERVICE_UNAVAILABLE, None, "cancelled"),
        Lookup::Io(error) => {
            tracing::warn!(%error, repo = %repo, path = %asked.path, "cache read failed");
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "cannot read the cache",
            )
        }
    }
}

/// The snapshot index of `revision`, built once per commit and shared.
fn snapshot(
    shared: &Shared,
    asked: &Asked,
    repo: &Repo,
    revision: &str,
) -> Result<Arc<crate::store::Snapshot>, Lookup> {
    if let Some(listing) = &asked.listing {
        return Ok(listing.clone());
    }
    let dir = shared.store.repo_dir(repo)?;
    let commit = shared.store.resolve_revision(&dir, revision)?;
    shared.store.snapshot(&dir, &commit, &asked.cancel)
}

fn resolve(
    shared: &Shared,
    bases: &Bases,
    asked: &Asked,
    repo: &Repo,
    revision: &str,
    path: &str,
) -> Result<Reply, Lookup> {
    let snapshot = snapshot(shared, asked, repo, revision)?;
    let commit = &snapshot.commit;
    let file = snapshot.file(path)?;
    match &file.kind {
        BlobKind::Regular { sha1 } => Ok(file_reply(asked, file, &format!("\"{sha1}\""))
            .header("x-repo-commit", commit.as_str())),
        BlobKind::Lfs { sha256, .. } => {
            let link = shared.next_link.fetch_add(1, Ordering::Relaxed);
            let folder = repo.folder_name();
            let query = shared.key.sign(&folder, sha256, link, shared.link_lifetime);
            let location = format!("{}/{folder}/{sha256}?{query}", bases.cdn);
            Ok(Reply::new(StatusCode::FOUND)
                .header("location", location)
                .header("x-repo-commit", commit.as_str())
                .header("x-linked-etag", format!("\"{sha256}\""))
                .header("x-linked-size", file.size.to_string())
                .header("etag", format!("\"{sha256}\""))
                .header("accept-ranges", "bytes"))
        }
    }
}

fn cdn_reply(shared: &Shared, asked: &Asked) -> Reply {
    if asked.method != "GET" && asked.method != "HEAD" {
        return Reply::error(StatusCode::METHOD_NOT_ALLOWED, None, "method not allowed");
    }
    let not_found = || Reply::error(StatusCode::NOT_FOUND, None, "NoSuchKey");
    let Some((folder, sha256)) = asked.path.strip_prefix('/').and_then(|p| p.split_once('/'))
    else {
        return not_found();
    };
    // The signature first: an unsigned request learns nothing, not even whether the blob exists.
    let link = match shared.key.verify(folder, sha256, &asked.query) {
        Ok(link) => link,
        Err(refusal) => return Reply::error(StatusCode::FORBIDDEN, None, refusal.message()),
    };
    if !shared.faults.link_valid(link, asked.range.as_deref()) {
        return Reply::error(StatusCode::FORBIDDEN, None, "Request has expired");
    }
    let Some((blob, size)) = shared.store.lfs_blob(folder, sha256) else {
        return not_found();
    };
    let file = FileEntry {
        path: sha256.to_owned(),
        blob_path: blob,
        size,
        kind: BlobKind::Regular {
            sha1: String::new(),
        },
    };
    file_reply(asked, &file, &format!("\"{sha256}\""))
}

/// `200`, `206` or `416` for a file, honouring a single-range `Range` header.
fn file_reply(asked: &Asked, file: &FileEntry, etag: &str) -> Reply {
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let base = |status| {
        Reply::new(status)
            .header("accept-ranges", "bytes")
            .header("etag", etag)
            .header("content-type", content_type(name))
            .header(
                "content-disposition",
                format!(
                    "inline; filename*=UTF-8''{}; filename=\"{}\";",
                    percent_encoding::utf8_percent_encode(name, FILENAME_ESCAPES),
                    name.replace(|c: char| !c.is_ascii() || c == '"', "_")
                ),
            )
    };
    let (status, start, length) = match parse_range(asked.range.as_deref(), file.size) {
        RangeAsked::Whole => (StatusCode::OK, 0, file.size),
        RangeAsked::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeAsked::Unsatisfiable => {
            return Reply::error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                None,
                "Requested Range Not Satisfiable",
            )
            .header("accept-ranges", "bytes")
            .header("content-range", format!("bytes */{}", file.size));
        }
    };
    let mut reply = base(status).header("content-length", length.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        reply = reply.header(
            "content-range",
            format!("bytes {start}-{}/{}", start + length - 1, file.size),
        );
    }
    reply.body = ReplyBody::File {
        path: file.blob_path.clone(),
        start,
        length,
    };
    reply
}

/// File bodies up to this size are read where the answer is made, instead of by a streaming task.
const INLINE_FILE: u64 = 64 * 1024;

/// A small file body read into memory on the thread that made the answer (no streaming task, no
/// further hand-over); left to stream when it is large, or when the file no longer has the
/// bytes the head promised (the stream then breaks the connection as for any shrunk file).
fn inline_small_file(mut reply: Reply) -> Reply {
    let ReplyBody::File {
        path,
        start,
        length,
    } = &reply.body
    else {
        return reply;
    };
    if *length > INLINE_FILE {
        return reply;
    }
    let read = std::fs::File::open(path).and_then(|mut file| {
        use std::io::{Read as _, Seek as _};
        file.seek(std::io::SeekFrom::Start(*start))?;
        let mut bytes = Vec::with_capacity(usize::try_from(*length).unwrap_or_default());
        file.take(*length).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    if let Ok(bytes) = read
        && bytes.len() as u64 == *length
    {
        reply.body = ReplyBody::Bytes(bytes);
    }
    reply
}

#[derive(Debug, PartialEq, Eq)]
enum RangeAsked {
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else (several ranges, other units,
/// bad syntax) is ignored and the whole file is sent, as RFC 9110 allows.
fn parse_range(header: Option<&str>, size: u64) -> RangeAsked {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAsked::Whole;
    };
    if spec.contains(',') {
        return RangeAsked::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsked::Whole;
    };
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                RangeAsked::Unsatisfiable
            } else {
                RangeAsked::Part(size.saturating_sub(suffix), size - 1)
            }
        }
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|end| end < start) {
                return RangeAsked::Whole;
            }
            if start >= size {
                return RangeAsked::Unsatisfiable;
            }
            RangeAsked::Part(start, end.map_or(size - 1, |end| end.min(size - 1)))
        }
        _ => RangeAsked::Whole,
    }
}

fn info(shared: &Shared, asked: &Asked, repo: &Repo, revision: &str) -> Result<Reply, Lookup> {
    let snapshot = snapshot(shared, asked, repo, revision)?;
    let commit = &snapshot.commit;
    let with_blobs = query_flag(&asked.query, "blobs");
    // The file list is most of the answer and the same for every request on this commit: it is
    // serialised once per index.
    let siblings = snapshot.cached(usize::from(with_blobs), |snapshot| {
        let siblings: Vec<Sibling<'_>> = snapshot
            .files()
            .map(|file| Sibling::of(file, with_blobs))
            .collect();
        Bytes::from(serde_json::to_vec(&siblings).unwrap_or_default())
    });
    let used_storage = snapshot.used_storage;
    let time = iso8601(snapshot.time.unwrap_or(UNIX_EPOCH));
    let access = shared.access(repo.repo_type, &repo.id);
    let mut body = json!({
        "_id": format!("{:024x}", u128::from_str_radix(&commit[..24], 16).unwrap_or_default()),
        "id": repo.id.as_str(),
        "author": repo.id.namespace(),
        "sha": commit,
        "lastModified": time,
        "createdAt": time,
        "private": access == Some(Access::Private),
        "gated": if access == Some(Access::Gated) { json!("manual") } else { json!(false) },
        "disabled": false,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": Value::Null,
        "usedStorage": used_storage,
    });
    match repo.repo_type {
        RepoType::Model => body["modelId"] = json!(repo.id.as_str()),
        RepoType::Space => {
            body["sdk"] = json!("static");
            body["runtime"] = json!({ "stage": "RUNNING" });
        }
        RepoType::Dataset | RepoType::Kernel => {}
    }
    // `"siblings":null` occurs once: quotes inside JSON strings are escaped.
    let text = body.to_string();
    let (before, after) = text
        .split_once(SIBLINGS_PLACEHOLDER)
        .unwrap_or((text.as_str(), ""));
    let mut bytes = Vec::with_capacity(text.len() + siblings.len() + 16);
    bytes.extend_from_slice(before.as_bytes());
    bytes.extend_from_slice(b"\"siblings\":");
    bytes.extend_from_slice(&siblings);
    bytes.extend_from_slice(after.as_bytes());
    let mut reply =
        Reply::new(StatusCode::OK).header("content-type", "application/json; charset=utf-8");
    reply.body = ReplyBody::Bytes(bytes);
    Ok(reply)
}

const SIBLINGS_PLACEHOLDER: &str = "\"siblings\":null";

/// One file of a repo info answer (fields in the order a JSON map sorts them).
#[derive(serde::Serialize)]
struct Sibling<'a> {
    #[serde(rename = "blobId", skip_serializing_if = "Option::is_none")]
    blob_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lfs: Option<SiblingLfs<'a>>,
    rfilename: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

#[derive(serde::Serialize)]
struct SiblingLfs<'a> {
    #[serde(rename = "pointerSize")]
    pointer_size: u64,
    sha256: &'a str,
    size: u64,
}

impl<'a> Sibling<'a> {
    fn of(file: &'a FileEntry, with_blobs: bool) -> Sibling<'a> {
        if !with_blobs {
            return Sibling {
                blob_id: None,
                lfs: None,
                rfilename: &file.path,
                size: None,
            };
        }
        let lfs = match &file.kind {
            BlobKind::Lfs {
                sha256,
                pointer_size,
                ..
            } => Some(SiblingLfs {
                pointer_size: *pointer_size,
                sha256,
                size: file.size,
            }),
            BlobKind::Regular { .. } => None,
        };
        Sibling {
            blob_id: Some(file.kind.git_oid()),
            lfs,
            rfilename: &file.path,
            size: Some(file.size),
        }
    }
}

/// One item of a tree page (fields in the order a JSON map sorts them).
#[derive(serde::Serialize)]
struct TreeEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    lfs: Option<TreeLfs<'a>>,
    oid: &'a str,
    path: &'a str,
    size: u64,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(serde::Serialize)]
struct TreeLfs<'a> {
    oid: &'a str,
    #[serde(rename = "pointerSize")]
    pointer_size: u64,
    size: u64,
}

impl<'a> TreeEntry<'a> {
    fn of(item: &'a TreeItem) -> TreeEntry<'a> {
        match item {
            TreeItem::File(file) => TreeEntry {
                lfs: match &file.kind {
                    BlobKind::Lfs {
                        sha256,
                        pointer_size,
                        ..
                    } => Some(TreeLfs {
                        oid: sha256,
                        pointer_size: *pointer_size,
                        size: file.size,
                    }),
                    BlobKind::Regular { .. } => None,
                },
                oid: file.kind.git_oid(),
                path: &file.path,
                size: file.size,
                kind: "file",
            },
            TreeItem::Directory { path, oid } => TreeEntry {
                lfs: None,
                oid,
                path,
                size: 0,
                kind: "directory",
            },
        }
    }
}

fn tree(
    shared: &Shared,
    bases: &Bases,
    asked: &Asked,
    repo: &Repo,
    revision: &str,
    folder: &str,
) -> Result<Reply, Lookup> {
    let snapshot = snapshot(shared, asked, repo, revision)?;
    let commit = &snapshot.commit;
    let recursive = query_flag(&asked.query, "recursive");
    let cursor = query_value(&asked.query, "cursor")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let Some((items, total)) = snapshot.tree_page(folder, recursive, cursor, shared.page_size)?
    else {
        return Err(Lookup::EntryNotFound {
            commit: commit.clone(),
        });
    };
    let end = cursor.saturating_add(shared.page_size).min(total);
    let page: Vec<TreeEntry<'_>> = items.into_iter().map(TreeEntry::of).collect();
    let mut reply = Reply::new(StatusCode::OK).header("x-repo-commit", commit.as_str());
    if end < total {
        let mut query: Vec<&str> = asked
            .query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="))
            .collect();
        let cursor = format!("cursor={end}");
        query.push(&cursor);
        reply = reply.header(
            "link",
            format!(
                "<{}{}?{}>; rel=\"next\"",
                bases.hub,
                asked.path,
                query.join("&")
            ),
        );
    }
    let mut reply = reply.header("content-type", "application/json; charset=utf-8");
    reply.body = ReplyBody::Bytes(serde_json::to_vec(&page).unwrap_or_default());
    Ok(reply)
}

fn query_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key).then_some(value)
    })
}

/// `true`, `True` and `1` are true (httpx sends `true`, requests `True`).
fn query_flag(query: &str, key: &str) -> bool {
    query_value(query, key).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match extension.to_ascii_lowercase().as_str() {
        "json" => "application/json",
        "txt" | "md" | "py" | "yaml" | "yml" | "csv" | "gitattributes" => {
            "text/plain; charset=utf-8"
        }
        "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `2024-05-01T12:00:00.000Z`.
fn iso8601(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), RangeAsked::Whole);
        assert_eq!(parse_range(Some("bytes=2-4"), 10), RangeAsked::Part(2, 4));
        assert_eq!(parse_range(Some("bytes=2-"), 10), RangeAsked::Part(2, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), RangeAsked::Part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), RangeAsked::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), RangeAsked::Part(5, 9));
        assert_eq!(
            parse_range(Some("bytes=10-"), 10),
            RangeAsked::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsked::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), RangeAsked::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeAsked::Whole);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), RangeAsked::Whole);
    }

    #[test]
    fn dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_secs(1_709_294_400 + 3_723)),
            "2024-03-01T13:02:03.000Z"
        );
    }
}
