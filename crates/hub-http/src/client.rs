//! The HTTP client: connection pool, headers, redirects, metadata, listings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hub_cache::Repo;
use hub_cache::env::{
    BadValue, Env, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT, HF_HUB_USER_AGENT_ORIGIN,
};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::auth::{Token, TokenChoice, resolve_token};
use crate::download::ParallelOptions;
use crate::error::Error;
use crate::metadata::{MetadataHeaders, Resolved};
use crate::retry::RetryPolicy;
use crate::url::Endpoint;

/// Most redirects the metadata request follows (2.x `_MAX_REDIRECTS`).
pub const MAX_REDIRECTS: usize = 20;

/// Largest JSON answer read into memory (a listing page of the Hub is far smaller).
const MAX_JSON_BYTES: usize = 256 * 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A Hub client: cheap to clone, share it.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: HyperClient<Connector, Empty<Bytes>>,
    pub(crate) endpoint: Endpoint,
    pub(crate) token: Option<Token>,
    pub(crate) offline: bool,
    pub(crate) etag_timeout: Duration,
    pub(crate) download_timeout: Duration,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
    pub(crate) parallel: ParallelOptions,
    /// Origins the token may be sent to besides the request's own: the endpoint and the Hub's.
    pub(crate) hub_origins: Vec<Origin>,
}

/// Settings for a [`Client`]; [`ClientBuilder::from_env`] reads the environment table.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: Endpoint,
    token: Option<Token>,
    offline: bool,
    etag_timeout: Duration,
    download_timeout: Duration,
    user_agent_origin: Option<String>,
    retry: RetryPolicy,
    parallel: ParallelOptions,
    /// Extra trusted roots (DER), beside the system's and webpki's.
    extra_roots: Vec<Vec<u8>>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            endpoint: Endpoint::default(),
            token: None,
            offline: false,
            etag_timeout: Duration::from_secs(10),
            download_timeout: Duration::from_secs(10),
            user_agent_origin: None,
            retry: RetryPolicy::default(),
            parallel: ParallelOptions::default(),
            extra_roots: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// Endpoint, implicit token, offline mode and timeouts from the environment.
    pub fn from_env(env: &Env) -> Result<ClientBuilder, BadValue> {
        Ok(ClientBuilder {
            endpoint: Endpoint::from_env(env),
            token: resolve_token(&TokenChoice::Implicit, env),
            offline: env.offline(),
            etag_timeout: Duration::from_secs(env.int_or(HF_HUB_ETAG_TIMEOUT, 10)?),
            download_timeout: Duration::from_secs(env.int_or(HF_HUB_DOWNLOAD_TIMEOUT, 10)?),
            user_agent_origin: env.get(HF_HUB_USER_AGENT_ORIGIN).map(str::to_owned),
            ..ClientBuilder::default()
        })
    }

    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    pub fn with_token(mut self, token: Option<Token>) -> Self {
        self.token = token;
        self
    }

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

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_parallel(mut self, parallel: ParallelOptions) -> Self {
        self.parallel = parallel;
        self
    }

    /// Trusts the certificates of a PEM bundle (a private mirror's CA) beside the system's roots
    /// and the webpki roots.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::BadResponse {
                url: String::new(),
                reason: format!("invalid PEM certificate: {e}"),
            })?;
            self.extra_roots.push(cert.as_ref().to_vec());
        }
        Ok(self)
    }

    /// The TLS settings: the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured), the webpki
    /// roots, and the extra ones; the ring provider; HTTP/2 and HTTP/1.1 offered by ALPN.
    fn tls_config(&self) -> Result<rustls::ClientConfig, Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, "system root certificates");
        for der in &self.extra_roots {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| Error::BadResponse {
                    url: String::new(),
                    reason: format!("invalid root certificate: {e}"),
                })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::BadResponse {
                url: String::new(),
                reason: format!("TLS setup failed: {e}"),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    pub fn build(self) -> Result<Client, Error> {
        let tls = self.tls_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.download_timeout.max(self.etag_timeout)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let mut user_agent = format!("hfhub/{}; rust", env!("CARGO_PKG_VERSION"));
        if let Some(origin) = &self.user_agent_origin {
            user_agent.push_str("; origin/");
            user_agent.push_str(origin);
        }
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| Error::BadResponse {
            url: String::new(),
            reason: "HF_HUB_USER_AGENT_ORIGIN is not a valid header value".to_owned(),
        })?;
        let hub_origins = [
            "https://huggingface.co",
            "https://hub-ci.huggingface.co",
            "https://hf.co",
            self.endpoint.as_str(),
        ]
        .iter()
        .filter_map(|u| Origin::of(u))
        .collect();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint: self.endpoint,
                token: self.token,
                offline: self.offline,
                etag_timeout: self.etag_timeout,
                download_timeout: self.download_timeout,
                user_agent,
                retry: self.retry,
                parallel: self.parallel,
                hub_origins,
            }),
        })
    }
}

/// (scheme, lowercased host, port with 80/443 defaults), as 2.x `_url_origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub(crate) fn of(url: &str) -> Option<Origin> {
        let parsed = url::Url::parse(url).ok()?;
        Some(Origin {
            scheme: parsed.scheme().to_owned(),
            host: parsed.host_str().unwrap_or("").to_ascii_lowercase(),
            port: parsed.port_or_known_default().unwrap_or(0),
        })
    }
}

/// One entry of a recursive tree listing (`/api/{type}s/{id}/tree/{revision}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TreeEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub oid: String,
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
    #[serde(default, rename = "xetHash")]
    pub xet_hash: Option<String>,
}

impl TreeEntry {
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }

    /// The blob name this file gets in the cache: the LFS sha256, else the git blob id.
    pub fn etag(&self) -> &str {
        self.lfs.as_ref().map_or(&self.oid, |lfs| &lfs.oid)
    }
}

/// The `lfs` object of a tree entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LfsInfo {
    pub oid: String,
    pub size: u64,
    #[serde(default, rename = "pointerSize")]
    pub pointer_size: Option<u64>,
}

/// The fields of the repo-info answer we use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoInfo {
    /// The commit the revision resolved to.
    pub sha: String,
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sibling {
    pub rfilename: String,
}

impl Client {
    /// A client configured from the process environment.
    pub fn from_env() -> Result<Client, Error> {
        let env = Env::from_process();
        ClientBuilder::from_env(&env)
            .map_err(|e| Error::BadResponse {
                url: String::new(),
                reason: e.to_string(),
            })?
            .build()
    }

    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    pub fn is_offline(&self) -> bool {
        self.inner.offline
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Whether the token may go to `target` when the request started at `origin_url`.
    pub(crate) fn may_send_token(&self, origin_url: &str, target: &str) -> bool {
        match (Origin::of(origin_url), Origin::of(target)) {
            (Some(from), Some(to)) => from == to || self.inner.hub_origins.contains(&to),
            _ => false,
        }
    }

    /// Sends one request (no redirect following). Fails with [`Error::Offline`] before any socket
    /// is opened in offline mode.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        extra: HeaderMap,
        with_token: bool,
        timeout: Duration,
    ) -> Result<Response<Incoming>, Error> {
        if self.inner.offline {
            return Err(Error::Offline {
                url: url.to_owned(),
            });
        }
        let parsed = url::Url::parse(url).map_err(|_| Error::BadUrl {
            url: url.to_owned(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::BadUrl {
                url: url.to_owned(),
            });
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(parsed.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|_| Error::BadUrl {
                url: url.to_owned(),
            })?;
        let headers = request.headers_mut();
        headers.insert(header::USER_AGENT, self.inner.user_agent.clone());
        if method == Method::HEAD {
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        if with_token && let Some(token) = &self.inner.token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.secret())).map_err(|_| {
                    Error::BadResponse {
                        url: url.to_owned(),
                        reason: "the token is not a valid header value".to_owned(),
                    }
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        headers.extend(extra);
        tracing::debug!(%method, url, "request");
        match tokio::time::timeout(timeout, self.inner.http.request(request)).await {
            Err(_) => Err(Error::Timeout {
                url: url.to_owned(),
                after: timeout,
            }),
            Ok(Err(error)) if error.is_connect() => Err(Error::Connect {
                url: url.to_owned(),
                source: Box::new(error),
            }),
            Ok(Err(error)) => Err(Error::Transport {
                url: url.to_owned(),
                source: Box::new(error),
            }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Turns an error status into a typed [`Error`].
    pub(crate) fn check_status(url: &str, response: &Response<Incoming>) -> Result<(), Error> {
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(());
        }
        let headers = response.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Err(Error::from_status(
            url,
            status.as_u16(),
            text("x-error-code"),
            text("x-error-message"),
            text("x-repo-commit"),
            retry_after(headers),
        ))
    }

    /// The metadata request (`HEAD` on the resolve URL), with 2.x's redirect policy: relative and
    /// same-origin or Hub-origin redirects are followed with the token; any other redirect stops,
    /// and the metadata is read from the 3xx answer itself.
    pub async fn resolve(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
    ) -> Result<Resolved, Error> {
        let url = self.inner.endpoint.resolve_url(repo, revision, filename);
        self.resolve_url(&url).await
    }

    /// [`Client::resolve`] for a resolve URL built by the caller.
    pub async fn resolve_url(&self, start: &str) -> Result<Resolved, Error> {
        let mut url = start.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .send(
                    Method::HEAD,
                    &url,
                    HeaderMap::new(),
                    true,
                    self.inner.etag_timeout,
                )
                .await?;
            Client::check_status(&url, &response)?;
            let headers = response.headers();
            let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
            let location = match text(header::LOCATION) {
                Some(location) if response.status().is_redirection() => {
                    Some(join_location(&url, location)?)
                }
                _ => None,
            };
            if let Some(target) = &location
                && self.may_send_token(&url, target)
            {
                url = target.clone();
                continue;
            }
            let metadata = MetadataHeaders {
                repo_commit: headers.get("x-repo-commit").and_then(|v| v.to_str().ok()),
                linked_etag: headers.get("x-linked-etag").and_then(|v| v.to_str().ok()),
                etag: text(header::ETAG),
                linked_size: headers.get("x-linked-size").and_then(|v| v.to_str().ok()),
                content_length: text(header::CONTENT_LENGTH),
                location: location.as_deref(),
            };
            let resolved = metadata.resolve(&url, response.status().is_redirection())?;
            check_header_value("X-Repo-Commit", &url, &resolved.commit)?;
            check_header_value("ETag", &url, &resolved.etag)?;
            return Ok(resolved);
        }
        Err(Error::TooManyRedirects {
            url: start.to_owned(),
            hops: MAX_REDIRECTS,
        })
    }

    /// `GET /api/{type}s/{id}/revision/{revision}`: the commit a revision points to.
    pub async fn repo_info(&self, repo: &Repo, revision: &str) -> Result<RepoInfo, Error> {
        let url = self.inner.endpoint.repo_info_url(repo, revision);
        let (info, _) = self.get_json::<RepoInfo>(&url).await?;
        check_header_value("sha", &url, &info.sha)?;
        Ok(info)
    }

    /// The recursive tree listing at a revision, following `Link: <...>; rel="next"` pages.
    pub async fn list_tree(&self, repo: &Repo, revision: &str) -> Result<Vec<TreeEntry>, Error> {
        let first = self.inner.endpoint.tree_url(repo, revision);
        let mut url = first.clone();
        let mut entries = Vec::new();
        for _ in 0..1_000_000 {
            let (page, next) = self.get_json::<Vec<TreeEntry>>(&url).await?;
            entries.extend(page);
            match next {
                None => return Ok(entries),
                Some(next) => {
                    let next = join_location(&url, &next)?;
                    if Origin::of(&next) != Origin::of(&first) {
                        return Err(Error::BadRedirect {
                            url,
                            location: next,
                            reason: "a listing page may not lead to another origin",
                        });
                    }
                    url = next;
                }
            }
        }
        Err(Error::BadResponse {
            url: first,
            reason: "the listing never ends".to_owned(),
        })
    }

    /// GET a JSON document (following same-origin redirects), with retries; returns it and the
    /// `rel="next"` link if any.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), Error> {
        self.inner
            .retry
            .run(|| async {
                let mut current = url.to_owned();
                for _ in 0..=MAX_REDIRECTS {
                    let response = self
                        .send(
                            Method::GET,
                            &current,
                            HeaderMap::new(),
                            true,
                            self.inner.download_timeout,
                        )
                        .await?;
                    Client::check_status(&current, &response)?;
                    if response.status().is_redirection() {
                        let location = response
                            .headers()
                            .get(header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .ok_or_else(|| Error::BadResponse {
                                url: current.clone(),
                                reason: "a redirect without Location".to_owned(),
                            })?;
                        let target = join_location(&current, location)?;
                        if !self.may_send_token(&current, &target) {
                            return Err(Error::BadRedirect {
                                url: current,
                                location: target,
                                reason: "an API answer may not lead to another origin",
                            });
                        }
                        current = target;
                        continue;
                    }
                    let next = next_link(response.headers());
                    let body = Limited::new(response.into_body(), MAX_JSON_BYTES)
                        .collect()
                        .await
                        .map_err(|e| Error::Transport {
                            url: current.clone(),
                            source: e,
                        })?
                        .to_bytes();
                    let value = serde_json::from_slice(&body).map_err(|e| Error::BadResponse {
                        url: current.clone(),
                        reason: format!("invalid JSON: {e}"),
                    })?;
                    return Ok((value, next));
                }
                Err(Error::TooManyRedirects {
                    url: url.to_owned(),
                    hops: MAX_REDIRECTS,
                })
            })
            .await
    }
}

/// Resolves a `Location` against the URL it came from; only http and https targets are accepted.
pub(crate) fn join_location(base: &str, location: &str) -> Result<String, Error> {
    let bad = |reason| Error::BadRedirect {
        url: base.to_owned(),
        location: location.to_owned(),
        reason,
    };
    let base_url = url::Url::parse(base).map_err(|_| bad("the request url is invalid"))?;
    let target = base_url
        .join(location)
        .map_err(|_| bad("the location is not a url"))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(bad("only http and https locations are followed"));
    }
    Ok(target.to_string())
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::LINK).iter().find_map(|value| {
        let value = value.to_str().ok()?;
        value.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "rel=\"next\"" || p == "rel=next"
                })
                .then(|| target.to_owned())
        })
    })
}

/// `Retry-After` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A commit or ETag that will become a file name must be plain: no separator, no `..`, printable.
fn check_header_value(name: &str, url: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 256
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadResponse {
            url: url.to_owned(),
            reason: format!(
                "{name} `{}` is not a plain identifier",
                value.escape_debug()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_locations() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                "<http://h/api/x?cursor=2>; rel=\"next\", <http://h/a>; rel=\"prev\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("http://h/api/x?cursor=2")
        );
        assert_eq!(
            join_location("http://h:1/a/b?q", "/c/d").unwrap(),
            "http://h:1/c/d"
        );
        assert!(join_location("http://h/a", "file:///etc/passwd").is_err());
        assert!(check_header_value("ETag", "u", "../x").is_err());
        assert!(check_header_value("ETag", "u", "abc123").is_ok());
    }
}
