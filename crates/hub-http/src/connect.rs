//! Connections: direct, or through a proxy taken from the environment as curl and Python read it
//! (`https_proxy`/`HTTPS_PROXY`, `http_proxy`/`HTTP_PROXY`, `all_proxy`/`ALL_PROXY`,
//! `no_proxy`/`NO_PROXY`), then TLS with the trust of [`crate::tls`].
//!
//! Matching is hyper-util's (`client::proxy::matcher`: host, domain suffix, IP, CIDR, `*`), plus
//! `host:port` entries of `NO_PROXY`, which it does not read. An `https://` target goes through a
//! CONNECT tunnel (hyper-util's `Tunnel`), TLS inside it; an `http://` target goes in absolute form
//! to the proxy, unless the request carries the Hub token: then it is tunnelled too, so the proxy
//! never sees the token. Proxy credentials are percent-decoded and sent as `Proxy-Authorization`
//! (marked sensitive); they are never logged, and a proxy is only ever shown without them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hub_cache::env::{
    ALL_PROXY, ALL_PROXY_LOWER, Env, HTTP_PROXY, HTTP_PROXY_LOWER, HTTPS_PROXY, HTTPS_PROXY_LOWER,
    NO_PROXY, NO_PROXY_LOWER, Var,
};
use hyper::Uri;
use hyper::header::HeaderValue;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::Error;
use crate::url::shown;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The connector every request uses: TLS (when the target is https) over [`ProxyConnector`]. The
/// TLS side is built at the first `https://` connection: loading the system's certificate store
/// costs about 160 file opens and most of a millisecond, which a run against an `http://` endpoint
/// (a mirror on a private network, `hfhub serve`) that never leaves it does not pay. An `http://`
/// endpoint that redirects to an `https://` CDN loads it then.
#[derive(Clone)]
pub(crate) struct Connector {
    plain: ProxyConnector,
    https: Arc<OnceLock<Result<hyper_rustls::HttpsConnector<ProxyConnector>, String>>>,
    tls: Arc<LazyTls>,
}

/// The TLS settings of a client, made once, at the first `https://` connection of any of its
/// connectors.
pub(crate) struct LazyTls {
    made: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    make: Box<dyn Fn() -> Result<rustls::ClientConfig, Error> + Send + Sync>,
}

impl LazyTls {
    /// Settings that `make` builds when first needed.
    pub(crate) fn new(
        make: impl Fn() -> Result<rustls::ClientConfig, Error> + Send + Sync + 'static,
    ) -> LazyTls {
        LazyTls {
            made: OnceLock::new(),
            make: Box::new(make),
        }
    }

    fn config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.made
            .get_or_init(|| (self.make)().map(Arc::new).map_err(|e| e.to_string()))
            .clone()
    }
}

impl Service<Uri> for Connector {
    type Response = hyper_rustls::MaybeHttpsStream<Stream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        if dst.scheme_str() != Some("https") {
            let mut plain = self.plain.clone();
            return Box::pin(async move {
                Ok(hyper_rustls::MaybeHttpsStream::Http(plain.call(dst).await?))
            });
        }
        let https = self.https.get_or_init(|| {
            let config = self.tls.config()?;
            Ok(hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config((*config).clone())
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .wrap_connector(self.plain.clone()))
        });
        match https {
            Ok(https) => https.clone().call(dst),
            Err(reason) => {
                let reason = reason.clone();
                Box::pin(async move { Err(BoxError::from(reason)) })
            }
        }
    }
}

/// The proxies in effect, from the environment.
#[derive(Clone)]
pub(crate) struct Proxies {
    /// `NO_PROXY=*`.
    bypass_all: bool,
    matcher: Arc<Matcher>,
    /// `NO_PROXY` entries with a port: port → a matcher that bypasses exactly those hosts.
    by_port: Arc<BTreeMap<u16, Matcher>>,
    /// What is in effect, credentials masked.
    described: Vec<(&'static str, String)>,
}

/// The first non-empty value of `vars` (lower case first, as curl and Python's urllib prefer).
fn first(env: &Env, vars: &[Var]) -> Option<String> {
    vars.iter()
        .filter_map(|v| env.get(*v))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Proxies {
    /// The proxies the environment names, `None` when it names none.
    pub(crate) fn from_env(env: &Env) -> Option<Proxies> {
        let all = first(env, &[ALL_PROXY_LOWER, ALL_PROXY]);
        let http = first(env, &[HTTP_PROXY_LOWER, HTTP_PROXY]);
        let https = first(env, &[HTTPS_PROXY_LOWER, HTTPS_PROXY]);
        if all.is_none() && http.is_none() && https.is_none() {
            return None;
        }
        let no = first(env, &[NO_PROXY_LOWER, NO_PROXY]).unwrap_or_default();
        let (plain, with_port) = split_no_proxy(&no);
        // `*` bypasses every host (hyper-util applies it to names only, not to IP addresses).
        let bypass_all = plain.iter().any(|entry| entry == "*");
        let mut builder = Matcher::builder().no(plain.join(","));
        let mut described = Vec::new();
        for (name, value) in [("all", &all), ("http", &http), ("https", &https)] {
            if let Some(value) = value {
                described.push((name, mask(value)));
            }
        }
        if let Some(all) = all {
            builder = builder.all(all);
        }
        if let Some(http) = http {
            builder = builder.http(http);
        }
        if let Some(https) = https {
            builder = builder.https(https);
        }
        if !no.is_empty() {
            described.push(("no_proxy", no.clone()));
        }
        let mut by_port: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for (host, port) in with_port {
            by_port.entry(port).or_default().push(host);
        }
        let by_port = by_port
            .into_iter()
            .map(|(port, hosts)| {
                let matcher = Matcher::builder()
                    .all("http://0.0.0.0:1")
                    .no(hosts.join(","))
                    .build();
                (port, matcher)
            })
            .collect();
        Some(Proxies {
            bypass_all,
            matcher: Arc::new(builder.build()),
            by_port: Arc::new(by_port),
            described,
        })
    }

    /// What is in effect, credentials masked: `(scheme or no_proxy, value)`.
    pub(crate) fn describe(&self) -> Vec<(&'static str, String)> {
        self.described.clone()
    }

    /// The proxy for `dst`, `None` when it is reached directly.
    fn intercept(&self, dst: &Uri) -> Option<Intercept> {
        if self.bypass_all {
            return None;
        }
        let port = dst
            .port_u16()
            .unwrap_or(if dst.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        if let Some(bypass) = self.by_port.get(&port)
            && bypass.intercept(dst).is_none()
        {
            return None;
        }
        self.matcher.intercept(dst)
    }
}

/// Splits `NO_PROXY` into entries without a port and `(host, port)` entries.
fn split_no_proxy(no: &str) -> (Vec<String>, Vec<(String, u16)>) {
    let mut plain = Vec::new();
    let mut with_port = Vec::new();
    for entry in no.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        // `host:port` or `[v6]:port`; a bare IPv6 address has several colons and no port.
        let split = match entry.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
                port.parse::<u16>().ok().map(|port| {
                    (
                        host.trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_owned(),
                        port,
                    )
                })
            }
            _ => None,
        };
        match split {
            Some(pair) => with_port.push(pair),
            None => plain.push(entry.to_owned()),
        }
    }
    (plain, with_port)
}

/// A proxy URL with its credentials masked: `http://user:***@host:port`.
pub(crate) fn mask(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => shown(proxy),
    }
}

/// The network settings of a client: TLS trust (made when first needed) and proxies.
#[derive(Clone)]
pub(crate) struct Network {
    tls: Arc<LazyTls>,
    proxies: Option<Proxies>,
}

impl Network {
    pub(crate) fn new(tls: LazyTls, proxies: Option<Proxies>) -> Network {
        Network {
            tls: Arc::new(tls),
            proxies,
        }
    }

    /// A pooled HTTP client over this network. With `tunnel_plain_http`, `http://` targets go
    /// through a CONNECT tunnel when proxied (for requests that carry the token).
    pub(crate) fn client(
        &self,
        connect_timeout: Duration,
        tunnel_plain_http: bool,
    ) -> HyperClient<Connector, Empty<Bytes>> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let inner = ProxyConnector {
            http,
            proxies: self.proxies.clone(),
            tunnel_plain_http,
        };
        let connector = Connector {
            plain: inner,
            https: Arc::default(),
            tls: self.tls.clone(),
        };
        HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector)
    }

    /// The proxy for `uri`, shown without credentials.
    pub(crate) fn proxy_for(&self, uri: &Uri) -> Option<String> {
        let intercept = self.proxies.as_ref()?.intercept(uri)?;
        Some(shown(&intercept.uri().to_string()))
    }

    /// The `Proxy-Authorization` of a plain-http request sent in absolute form to a proxy.
    pub(crate) fn absolute_form_auth(&self, uri: &Uri) -> Option<HeaderValue> {
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let intercept = self.proxies.as_ref()?.intercept(uri)?;
        let mut auth = intercept.basic_auth()?.clone();
        auth.set_sensitive(true);
        Some(auth)
    }

    /// What is in effect, credentials masked: `(scheme or no_proxy, proxy)`.
    pub(crate) fn describe_proxies(&self) -> Vec<(&'static str, String)> {
        self.proxies
            .as_ref()
            .map(Proxies::describe)
            .unwrap_or_default()
    }

    /// Turns a failed request into an [`Error`] that names the proxy or the certificate problem.
    pub(crate) fn classify(
        &self,
        url: &str,
        uri: &Uri,
        error: hyper_util::client::legacy::Error,
    ) -> Error {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = cause {
            if let Some(failure) = current.downcast_ref::<ProxyFailure>() {
                return Error::Proxy {
                    url: url.to_owned(),
                    proxy: failure.proxy.clone(),
                    reason: failure.reason.clone(),
                    retryable: failure.retryable,
                };
            }
            if let Some(tls) = current.downcast_ref::<rustls::Error>() {
                return Error::Connect {
                    url: url.to_owned(),
                    source: Box::new(crate::error::TlsFailure {
                        host: uri.host().unwrap_or_default().to_owned(),
                        reason: tls.to_string(),
                    }),
                };
            }
            // An `io::Error`'s `source` skips the error it wraps: step into it.
            cause = match current.downcast_ref::<std::io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => current.source(),
            };
        }
        match self.proxy_for(uri) {
            Some(proxy) if error.is_connect() => Error::Proxy {
                url: url.to_owned(),
                proxy,
                reason: format!("cannot connect through the proxy: {error}"),
                retryable: !crate::error::permanent_connect_failure(&error),
            },
            _ if error.is_connect() => Error::Connect {
                url: url.to_owned(),
                source: Box::new(error),
            },
            _ => Error::Transport {
                url: url.to_owned(),
                source: Box::new(error),
            },
        }
    }
}

/// A failure at the proxy, carried through hyper's error chain to [`Network::classify`].
#[derive(Debug, thiserror::Error)]
#[error("proxy {proxy}: {reason}")]
struct ProxyFailure {
    /// Without credentials.
    proxy: String,
    reason: String,
    retryable: bool,
}

/// Opens the TCP connection of a request: to the target, to the proxy (absolute form), or a
/// CONNECT tunnel through the proxy to the target.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    proxies: Option<Proxies>,
    tunnel_plain_http: bool,
}

impl Service<Uri> for ProxyConnector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let intercept = self.proxies.as_ref().and_then(|p| p.intercept(&dst));
        let tunnel_plain_http = self.tunnel_plain_http;
        Box::pin(async move {
            let Some(proxy) = intercept else {
                let io = http.call(dst).await?;
                return Ok(Stream { io, proxied: false });
            };
            let shown_proxy = shown(&proxy.uri().to_string());
            if proxy.uri().scheme_str() != Some("http") {
                return Err(ProxyFailure {
                    proxy: shown_proxy,
                    reason: "only http:// proxies are supported".to_owned(),
                    retryable: false,
                }
                .into());
            }
            let https = dst.scheme_str() == Some("https");
            if !https && !tunnel_plain_http {
                let io = http
                    .call(proxy.uri().clone())
                    .await
                    .map_err(|e| unreachable_proxy(&shown_proxy, &e as &dyn std::error::Error))?;
                return Ok(Stream { io, proxied: true });
            }
            let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let target = with_port(&dst);
            let io = tunnel.call(target).await.map_err(|error| {
                // hyper-util does not export its error type: its messages are its variants.
                let target = format!("{}:{}", dst.host().unwrap_or_default(), port_of(&dst));
                let message = error.to_string();
                match message.strip_prefix("tunnel error: ").unwrap_or(&message) {
                    "failed to create underlying connection" => {
                        unreachable_proxy(&shown_proxy, &error)
                    }
                    "proxy authorization required" => ProxyFailure {
                        proxy: shown_proxy,
                        reason: format!(
                            "the proxy requires authentication for CONNECT to {target} (407); \
                             put the credentials in the proxy URL"
                        ),
                        retryable: false,
                    },
                    "unsuccessful" => ProxyFailure {
                        proxy: shown_proxy,
                        reason: format!("the proxy refused CONNECT to {target}"),
                        retryable: false,
                    },
                    other => ProxyFailure {
                        proxy: shown_proxy,
                        reason: format!("CONNECT to {target} failed: {other}"),
                        retryable: true,
                    },
                }
            })?;
            Ok(Stream { io, proxied: false })
        })
    }
}

fn unreachable_proxy(proxy: &str, error: &(dyn std::error::Error + 'static)) -> ProxyFailure {
    let mut reason = format!("cannot connect to the proxy: {error}");
    let mut cause = error.source();
    while let Some(current) = cause {
        reason.push_str(&format!(": {current}"));
        cause = current.source();
    }
    ProxyFailure {
        proxy: proxy.to_owned(),
        reason,
        retryable: !crate::error::permanent_connect_failure(error),
    }
}

fn port_of(uri: &Uri) -> u16 {
    uri.port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        })
}

/// `uri` with its port written out (the tunnel assumes 443 when there is none).
fn with_port(uri: &Uri) -> Uri {
    if uri.port_u16().is_some() {
        return uri.clone();
    }
    let authority = format!("{}:{}", uri.host().unwrap_or_default(), port_of(uri));
    let mut parts = uri.clone().into_parts();
    match authority.parse() {
        Ok(authority) => {
            parts.authority = Some(authority);
            Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
        }
        Err(_) => uri.clone(),
    }
}

/// A TCP stream that knows whether it leads to a proxy speaking for the target (absolute form).
pub(crate) struct Stream {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(pairs: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn proxied(p: &Proxies, url: &str) -> bool {
        p.intercept(&url.parse().unwrap()).is_some()
    }

    #[test]
    fn no_proxy_hosts_suffixes_ips_cidrs_ports_and_star() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://u:p%40ss@127.0.0.1:3128"),
            (
                "NO_PROXY",
                "internal.example, .corp.example, 10.1.2.3, 192.168.0.0/16, mirror.example:8443",
            ),
        ]);
        assert!(proxied(&p, "https://huggingface.co/x"));
        assert!(!proxied(&p, "https://internal.example/x"));
        assert!(!proxied(&p, "https://a.internal.example/x"));
        assert!(proxied(&p, "https://notinternal.example/x"));
        assert!(!proxied(&p, "https://b.corp.example/x"));
        assert!(!proxied(&p, "https://10.1.2.3/x"));
        assert!(!proxied(&p, "https://192.168.7.9/x"));
        assert!(!proxied(&p, "https://mirror.example:8443/x"));
        assert!(proxied(&p, "https://mirror.example/x"));
        assert!(!proxied(&p, "http://huggingface.co/x"), "no http proxy set");
        let auth = p
            .intercept(&"https://huggingface.co".parse().unwrap())
            .unwrap();
        // Percent-decoded: `u:p@ss`.
        assert_eq!(auth.basic_auth().unwrap(), "Basic dTpwQHNz");
        assert_eq!(
            p.described,
            vec![
                ("https", "http://u:***@127.0.0.1:3128/".to_owned()),
                (
                    "no_proxy",
                    "internal.example, .corp.example, 10.1.2.3, 192.168.0.0/16, mirror.example:8443"
                        .to_owned()
                )
            ]
        );
        let star = proxies(&[("all_proxy", "http://127.0.0.1:1"), ("no_proxy", "*")]);
        assert!(!proxied(&star, "https://huggingface.co/x"));
        assert!(!proxied(&star, "http://127.0.0.1:8080/x"));
        let lower_wins = proxies(&[
            ("https_proxy", "http://127.0.0.1:1"),
            ("HTTPS_PROXY", "http://127.0.0.1:2"),
        ]);
        let chosen = lower_wins
            .intercept(&"https://hf.co".parse().unwrap())
            .unwrap();
        assert_eq!(chosen.uri().port_u16(), Some(1));
        assert!(Proxies::from_env(&Env::from_pairs([("HTTPS_PROXY", "")])).is_none());
    }
}
