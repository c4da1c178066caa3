//! The Hub client: settings ([`ClientBuilder`]) and the public calls, each handed to `api` or
//! `download` over the shared [`Transport`].

use std::sync::Arc;
use std::time::Duration;

use hub_cache::Repo;
use hub_cache::env::{
    BadValue, Env, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT, HF_HUB_USER_AGENT_ORIGIN,
    HFHUB_LOW_SPEED_LIMIT, HFHUB_LOW_SPEED_TIME,
};
use hyper::header::HeaderValue;

use crate::api::{self, ListingLimits, RepoInfo, TreeEntry};
use crate::auth::{Token, TokenChoice, resolve_token};
use crate::body::LowSpeedLimit;
use crate::connect::{Network, Proxies};
use crate::download::{self, DownloadRequest, Downloaded, ParallelOptions, Progress};
use crate::error::Error;
use crate::metadata::Resolved;
use crate::retry::RetryPolicy;
use crate::tls::CaSources;
use crate::transport::{Timeouts, Transport};
use crate::url::Endpoint;

/// A Hub client: cheap to clone, share it.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
    endpoint: Endpoint,
    parallel: ParallelOptions,
    listing: ListingLimits,
    ca_sources: Vec<String>,
}

/// The endpoint and settings; never the token.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &crate::url::shown(self.endpoint.as_str()))
            .field("offline", &self.is_offline())
            .field("parallel", &self.parallel)
            .field("listing", &self.listing)
            .field("ca_sources", &self.ca_sources)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`]; [`ClientBuilder::from_env`] reads the environment table.
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: Endpoint,
    token: Option<Token>,
    offline: bool,
    etag_timeout: Duration,
    download_timeout: Duration,
    api_timeout: Duration,
    low_speed: LowSpeedLimit,
    user_agent_origin: Option<String>,
    retry: RetryPolicy,
    parallel: ParallelOptions,
    listing: ListingLimits,
    proxies: Option<Proxies>,
    ca_sources: CaSources,
    /// Extra trusted roots (DER), beside the others.
    extra_roots: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &crate::url::shown(self.endpoint.as_str()))
            .field("token", &self.token)
            .field("offline", &self.offline)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            endpoint: Endpoint::default(),
            token: None,
            offline: false,
            etag_timeout: Duration::from_secs(10),
            download_timeout: Duration::from_secs(10),
            api_timeout: Duration::from_secs(120),
            low_speed: LowSpeedLimit::default(),
            user_agent_origin: None,
            retry: RetryPolicy::default(),
            parallel: ParallelOptions::default(),
            listing: ListingLimits::default(),
            proxies: None,
            ca_sources: CaSources::default(),
            extra_roots: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// Endpoint, implicit token, offline mode, timeouts, low-speed limit, proxies and CA files
    /// from the environment.
    pub fn from_env(env: &Env) -> Result<ClientBuilder, BadValue> {
        Ok(ClientBuilder {
            endpoint: Endpoint::from_env(env),
            token: resolve_token(&TokenChoice::Implicit, env),
            offline: env.offline(),
            etag_timeout: Duration::from_secs(env.int_or(HF_HUB_ETAG_TIMEOUT, 10)?),
            download_timeout: Duration::from_secs(env.int_or(HF_HUB_DOWNLOAD_TIMEOUT, 10)?),
            low_speed: LowSpeedLimit {
                bytes_per_second: env.int_or(HFHUB_LOW_SPEED_LIMIT, 10)?,
                window: Duration::from_secs(env.int_or(HFHUB_LOW_SPEED_TIME, 30)?),
            },
            user_agent_origin: env.get(HF_HUB_USER_AGENT_ORIGIN).map(str::to_owned),
            proxies: Proxies::from_env(env),
            ca_sources: CaSources::from_env(env),
            ..ClientBuilder::default()
        })
    }

    /// The Hub to talk to (`HF_ENDPOINT`; `https://huggingface.co` by default).
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The token sent as `Authorization: Bearer`, only to the origin a request started at (and the
    /// Hub's own origins), never to another host a redirect leads to (a CDN); `None` sends none.
    pub fn with_token(mut self, token: Option<Token>) -> Self {
        self.token = token;
        self
    }

    /// Offline mode (`HF_HUB_OFFLINE`): every call fails with [`Error::Offline`] before a socket
    /// is opened.
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Timeout of a metadata request (`HF_HUB_ETAG_TIMEOUT`).
    pub fn with_etag_timeout(mut self, timeout: Duration) -> Self {
        self.etag_timeout = timeout;
        self
    }

    /// Time to the first byte and longest stall between two body chunks (`HF_HUB_DOWNLOAD_TIMEOUT`).
    pub fn with_download_timeout(mut self, timeout: Duration) -> Self {
        self.download_timeout = timeout;
        self
    }

    /// Longest time to read a whole API answer (repo info, one listing page); default 120 s.
    pub fn with_api_timeout(mut self, timeout: Duration) -> Self {
        self.api_timeout = timeout;
        self
    }

    /// The low-speed limit (`HFHUB_LOW_SPEED_LIMIT`, `HFHUB_LOW_SPEED_TIME`).
    pub fn with_low_speed_limit(mut self, limit: LowSpeedLimit) -> Self {
        self.low_speed = limit;
        self
    }

    /// How failed requests are retried (attempts and back-off; see [`RetryPolicy`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// When and how a large download is split into parallel ranged requests.
    pub fn with_parallel(mut self, parallel: ParallelOptions) -> Self {
        self.parallel = parallel;
        self
    }

    /// The bounds on a paginated file listing (pages, entries) a server may send.
    pub fn with_listing_limits(mut self, limits: ListingLimits) -> Self {
        self.listing = limits;
        self
    }

    /// Trusts the certificates of a PEM bundle (a private mirror's CA) beside the other roots.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Setup {
                reason: format!("invalid PEM certificate: {e}"),
            })?;
            self.extra_roots.push(cert.as_ref().to_vec());
        }
        Ok(self)
    }

    /// The client. The TLS roots (the platform's, or the `SSL_CERT_FILE`-style bundles the
    /// environment named, plus [`ClientBuilder::with_root_certificates_pem`]'s) are loaded at its
    /// first `https://` connection; the roots given here are checked now.
    ///
    /// # Errors
    /// [`Error::Setup`]: a root certificate rustls refuses, or a `HF_HUB_USER_AGENT_ORIGIN` that is
    /// not a valid header value. (A CA file with no readable certificate is only a warning.)
    pub fn build(self) -> Result<Client, Error> {
        // The given roots are checked now, without loading anything; the full settings are made at
        // the first https connection (never for an offline client, which opens no socket).
        crate::tls::config(&self.ca_sources, &self.extra_roots, false)?;
        let (sources, extra, load) = (
            self.ca_sources.clone(),
            self.extra_roots.clone(),
            !self.offline,
        );
        let tls = crate::connect::LazyTls::new(move || crate::tls::config(&sources, &extra, load));
        let mut user_agent = format!("hfhub/{}; rust", env!("CARGO_PKG_VERSION"));
        if let Some(origin) = &self.user_agent_origin {
            user_agent.push_str("; origin/");
            user_agent.push_str(origin);
        }
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| Error::Setup {
            reason: "HF_HUB_USER_AGENT_ORIGIN is not a valid header value".to_owned(),
        })?;
        let timeouts = Timeouts::new(
            self.etag_timeout,
            self.download_timeout,
            self.api_timeout,
            self.low_speed,
        );
        let transport = Transport::new(
            Network::new(tls, self.proxies),
            self.endpoint.as_str(),
            self.token,
            self.offline,
            user_agent,
            timeouts,
            self.retry,
        );
        Ok(Client {
            transport: Arc::new(transport),
            endpoint: self.endpoint,
            parallel: self.parallel,
            listing: self.listing,
            ca_sources: self.ca_sources.describe(),
        })
    }
}

impl Client {
    /// A client configured from the process environment.
    pub fn from_env() -> Result<Client, Error> {
        let env = Env::from_process();
        ClientBuilder::from_env(&env)
            .map_err(|e| Error::Setup {
                reason: e.to_string(),
            })?
            .build()
    }

    /// A builder with the defaults (no environment read): `https://huggingface.co`, no token,
    /// online.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The Hub this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether every call fails with [`Error::Offline`] before a socket is opened.
    pub fn is_offline(&self) -> bool {
        self.transport.is_offline()
    }

    /// How failed requests are retried.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.transport.retry()
    }

    /// The network settings in effect, for `hfhub env`: the proxies (`("https", url)`,
    /// `("http", url)`, `("all", url)`, `("no_proxy", list)`, credentials masked) and the CA
    /// sources (`VAR=path`).
    pub fn describe_network(&self) -> NetworkDescription {
        NetworkDescription {
            proxies: owned(self.transport.network().describe_proxies()),
            ca_sources: self.ca_sources.clone(),
        }
    }

    /// The metadata of a file at a revision (see [`Resolved`]).
    pub async fn resolve(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
    ) -> Result<Resolved, Error> {
        let url = self.endpoint.resolve_url(repo, revision, filename);
        self.resolve_url(&url).await
    }

    /// [`Client::resolve`] for a resolve URL built by the caller.
    pub async fn resolve_url(&self, url: &str) -> Result<Resolved, Error> {
        api::resolve(&self.transport, url).await
    }

    /// `GET /api/{type}s/{id}/revision/{revision}`: the commit a revision points to.
    pub async fn repo_info(&self, repo: &Repo, revision: &str) -> Result<RepoInfo, Error> {
        api::repo_info(
            &self.transport,
            &self.endpoint.repo_info_url(repo, revision),
        )
        .await
    }

    /// The recursive tree listing at a revision, following `Link: <...>; rel="next"` pages.
    pub async fn list_tree(&self, repo: &Repo, revision: &str) -> Result<Vec<TreeEntry>, Error> {
        let first = self.endpoint.tree_url(repo, revision);
        let mut entries = Vec::new();
        api::list_tree(&self.transport, &first, self.listing, &mut |page| {
            entries.extend(page)
        })
        .await?;
        Ok(entries)
    }

    /// [`Client::list_tree`] page by page: `on_page` gets each page's entries as it is parsed, so a
    /// caller that filters keeps only what it needs (the limits apply as for `list_tree`).
    pub async fn list_tree_pages(
        &self,
        repo: &Repo,
        revision: &str,
        on_page: &mut (dyn FnMut(Vec<TreeEntry>) + Send),
    ) -> Result<(), Error> {
        let first = self.endpoint.tree_url(repo, revision);
        api::list_tree(&self.transport, &first, self.listing, on_page).await
    }

    /// Downloads `request` into `file` (opened for reading and writing), continuing after
    /// `resume_from` bytes, and verifies size and hash. `on_progress` is called as bytes land.
    ///
    /// On error, the bytes written so far stay in the file (a later call can resume from the
    /// verified-contiguous length the caller measures); the caller must not publish the file.
    pub async fn download(
        &self,
        request: &DownloadRequest,
        file: std::fs::File,
        on_progress: impl Fn(Progress) + Send + Sync + 'static,
    ) -> Result<Downloaded, Error> {
        download::download(
            self.transport.clone(),
            self.parallel.clone(),
            request,
            file,
            on_progress,
        )
        .await
    }
}

/// The network settings of a client, secrets masked (see [`Client::describe_network`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkDescription {
    /// `("https" | "http" | "all" | "no_proxy", value)`, credentials shown as `user:***`.
    pub proxies: Vec<(String, String)>,
    /// `VAR=path` for each CA variable set.
    pub ca_sources: Vec<String>,
}

impl NetworkDescription {
    /// What a client built by [`ClientBuilder::from_env`] would use, without building one (for
    /// `hfhub env`).
    pub fn from_env(env: &Env) -> NetworkDescription {
        NetworkDescription {
            proxies: owned(
                Proxies::from_env(env)
                    .map(|p| p.describe())
                    .unwrap_or_default(),
            ),
            ca_sources: CaSources::from_env(env).describe(),
        }
    }
}

fn owned(pairs: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_cannot_be_built_is_a_setup_error_not_a_bad_answer() {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let error = Client::builder()
            .with_root_certificates_pem(pem)
            .expect_err("not base64");
        assert!(matches!(error, Error::Setup { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("cannot set up the HTTP client: invalid PEM")
        );

        let env = hub_cache::env::Env::from_pairs([("HF_HUB_USER_AGENT_ORIGIN", "a\nb")]);
        let Err(error) = ClientBuilder::from_env(&env).expect("parses").build() else {
            panic!("a user agent with a newline was accepted");
        };
        assert!(matches!(error, Error::Setup { .. }), "{error:?}");
        assert!(
            error.to_string().contains("HF_HUB_USER_AGENT_ORIGIN"),
            "{error}"
        );
        assert!(!error.is_retryable() && !error.is_not_found() && error.status().is_none());
    }
}
