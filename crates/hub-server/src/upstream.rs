//! The upstream of a pull-through mirror (`hfhub serve --upstream`): its settings, the client that
//! reaches it through hub-sync, and how its failures become Hub-style answers.
//!
//! The upstream is a Hub like any other for hub-sync: its answers cross the same trust boundary
//! (`hub_http` parses and bounds every answer, hub-sync validates names and verifies content before
//! anything is published). The upstream token stays in the client: it is sent upstream only, never
//! to a mirror client, and shows in no message.

use std::time::Duration;

use hub_cache::env::Env;
use hyper::StatusCode;

/// How long a branch or tag resolved upstream is trusted by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// Upstream transfers (listings, files) a mirror runs at once by default.
pub const DEFAULT_MAX_FETCHES: usize = 16;

/// Where a mirror fetches what its cache misses ([`crate::Builder::with_upstream`]).
#[derive(Debug, Clone)]
pub struct Upstream {
    pub(crate) url: String,
    pub(crate) token: Option<String>,
    pub(crate) ttl: Duration,
    pub(crate) max_fetches: usize,
    pub(crate) serve_stale: bool,
    pub(crate) max_cache_size: Option<u64>,
    pub(crate) env: Env,
}

impl Upstream {
    /// A Hub-compatible endpoint (`https://huggingface.co`, another `hfhub serve`), reached with the
    /// network settings (proxies, CA files, timeouts) of an empty environment and no token.
    pub fn new(url: impl Into<String>) -> Upstream {
        Upstream {
            url: url.into().trim_end_matches('/').to_owned(),
            token: None,
            ttl: DEFAULT_TTL,
            max_fetches: DEFAULT_MAX_FETCHES,
            serve_stale: false,
            max_cache_size: None,
            env: Env::from_pairs([]),
        }
    }

    /// The token sent upstream (never to the mirror's clients); default: the one the environment
    /// given to [`Upstream::with_env`] selects (`HF_TOKEN`, the token file), if any.
    pub fn with_token(mut self, token: Option<String>) -> Upstream {
        self.token = token;
        self
    }

    /// How long a branch or tag resolved upstream is used before asking again (default
    /// [`DEFAULT_TTL`]); commits never change and are not asked again.
    pub fn with_ttl(mut self, ttl: Duration) -> Upstream {
        self.ttl = ttl;
        self
    }

    /// Upstream transfers at once (default [`DEFAULT_MAX_FETCHES`], at least 1): the most upstream
    /// work clients can cause, however many they are.
    pub fn with_max_fetches(mut self, max_fetches: usize) -> Upstream {
        self.max_fetches = max_fetches.max(1);
        self
    }

    /// When the upstream cannot be reached, also answer branch and tag names from the cache's refs
    /// after their freshness window (commits are always answered from the cache).
    pub fn with_serve_stale(mut self, serve_stale: bool) -> Upstream {
        self.serve_stale = serve_stale;
        self
    }

    /// Keep the cache at most this large: after a download, the least recently used revisions are
    /// deleted (whole, through hub-cache's delete plans) until it fits; default: no limit.
    pub fn with_max_cache_size(mut self, bytes: Option<u64>) -> Upstream {
        self.max_cache_size = bytes;
        self
    }

    /// Network settings (proxies, CA files, timeouts, low-speed limit) from this environment; its
    /// endpoint and token are not used.
    pub fn with_env(mut self, env: Env) -> Upstream {
        self.env = env;
        self
    }

    /// The downloader the mirror fills its cache with: hub-sync into `cache_root`, symlinked
    /// pointers, a short retry policy (a client is waiting).
    pub(crate) fn downloader(
        &self,
        cache_root: &std::path::Path,
    ) -> Result<hub_sync::Downloader<hub_http::Client>, Box<hub_sync::Error>> {
        let retry = hub_http::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
        };
        let mut hub = hub_sync::HubBuilder::new(&self.env)?
            .with_endpoint(&self.url)
            .with_cache_dir(cache_root)
            // The server reads blobs from `blobs/`: a no-symlink cache would move them away.
            .with_symlinks(true)
            .with_offline(false);
        if let Some(token) = &self.token {
            hub = hub.with_token(Some(token));
        }
        let hub = hub.build()?;
        Ok(hub.downloader().clone().with_retry(retry))
    }
}

/// How the mirror answers an upstream failure: status, Hub error code, message; and whether the
/// upstream was unreachable (then the cache may answer instead).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub message: &'static str,
    pub unreachable: bool,
}

/// Classifies a hub-http error. The upstream's own message is not passed on (it may name the
/// upstream's URLs); the status and error code are.
pub(crate) fn failure(error: &hub_http::Error) -> Failure {
    use hub_http::Error as E;
    let answer = |status, code, message| Failure {
        status,
        code,
        message,
        unreachable: false,
    };
    match error {
        E::RepoNotFound { .. } | E::Unauthorized { .. } | E::Forbidden { .. } => answer(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
        ),
        E::RevisionNotFound { .. } => answer(
            StatusCode::NOT_FOUND,
            Some("RevisionNotFound"),
            "Invalid rev id",
        ),
        E::EntryNotFound { .. } => answer(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            "Entry not found",
        ),
        E::Gated { .. } => answer(
            StatusCode::FORBIDDEN,
            Some("GatedRepo"),
            "Access to this gated repository is not granted to the mirror upstream.",
        ),
        E::Connect { .. }
        | E::Timeout { .. }
        | E::Transport { .. }
        | E::Proxy { .. }
        | E::TooSlow { .. }
        | E::Offline { .. } => Failure {
            status: StatusCode::GATEWAY_TIMEOUT,
            code: None,
            message: "The upstream Hub cannot be reached and the mirror has no cached copy.",
            unreachable: true,
        },
        E::Status { status, .. } if *status >= 500 => Failure {
            status: StatusCode::BAD_GATEWAY,
            code: None,
            message: "The upstream Hub failed and the mirror has no cached copy.",
            unreachable: true,
        },
        E::RateLimited { .. } => Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: None,
            message: "The upstream Hub is rate limiting the mirror.",
            unreachable: true,
        },
        _ => answer(
            StatusCode::BAD_GATEWAY,
            None,
            "The upstream Hub sent an invalid answer.",
        ),
    }
}

/// Classifies a hub-sync error (its Hub error, if any; otherwise a local failure of the mirror).
pub(crate) fn sync_failure(error: &hub_sync::Error) -> Failure {
    match error.remote_error() {
        Some(remote) => failure(remote),
        None if error.is_not_found() => Failure {
            status: StatusCode::NOT_FOUND,
            code: Some("EntryNotFound"),
            message: "Entry not found",
            unreachable: false,
        },
        None => Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: None,
            message: "The mirror cannot store the file in its cache.",
            unreachable: false,
        },
    }
}
