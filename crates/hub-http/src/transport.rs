//! The transport under every request: connections (TLS, proxies), the one redirect follower and its
//! policies, the auth rule, status classification and body deadlines. `api` and `download` are
//! built on it and never open a connection, follow a redirect or attach a token themselves.
//!
//! The auth rule: `Authorization` goes only to the request's own origin (where the request started:
//! the resolve URL for a download) or to a Hub origin (the endpoint, `huggingface.co`, `hf.co`,
//! `hub-ci.huggingface.co`); never to a CDN or any other host a redirect names.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::Client as HyperClient;

use crate::auth::Token;
use crate::body::{BodyReader, Deadlines, LowSpeedLimit};
use crate::connect::{self, Connector};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::url::shown;

/// Which redirects a request follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// The metadata `HEAD` (2.x): relative, same-origin and Hub-origin targets are followed; at any
    /// other the 3xx answer itself is returned (its `Location` is where the bytes are).
    StopAtForeign,
    /// API answers: the same targets are followed; any other is an error.
    RefuseForeign,
    /// Downloads: any http(s) target is followed (with the token only where the auth rule allows).
    Any,
}

impl Redirects {
    /// Most hops (2.x `_MAX_REDIRECTS` = 20 for metadata and API; 10 for a download).
    fn max_hops(self) -> usize {
        match self {
            Redirects::StopAtForeign | Redirects::RefuseForeign => 20,
            Redirects::Any => 10,
        }
    }
}

/// The final answer of a followed request.
pub(crate) struct Answer {
    response: Response<Incoming>,
    /// The URL that gave this answer.
    url: String,
    /// For [`Redirects::StopAtForeign`]: the absolute target of the 3xx not followed.
    location: Option<String>,
}

impl Answer {
    /// The URL that gave this answer.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// For [`Redirects::StopAtForeign`]: the absolute target of the 3xx not followed.
    pub(crate) fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    pub(crate) fn status(&self) -> hyper::StatusCode {
        self.response.status()
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }
}

/// Timeouts and limits of every read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Metadata request: connect + headers (`HF_HUB_ETAG_TIMEOUT`).
    etag: Duration,
    /// Download and API requests: connect + headers, and each body chunk (`HF_HUB_DOWNLOAD_TIMEOUT`).
    download: Duration,
    /// A whole JSON answer.
    api_total: Duration,
    low_speed: LowSpeedLimit,
}

impl Timeouts {
    pub(crate) fn new(
        etag: Duration,
        download: Duration,
        api_total: Duration,
        low_speed: LowSpeedLimit,
    ) -> Timeouts {
        Timeouts {
            etag,
            download,
            api_total,
            low_speed,
        }
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

/// Connections, token, auth rule, timeouts and retries shared by every request of a client.
pub(crate) struct Transport {
    /// Requests without the token.
    plain: HyperClient<Connector, Empty<Bytes>>,
    /// Requests with the token: through a proxy, an `http://` target is tunnelled (CONNECT) too,
    /// so the proxy never sees the token.
    authorized: HyperClient<Connector, Empty<Bytes>>,
    network: connect::Network,
    token: Option<Token>,
    offline: bool,
    user_agent: HeaderValue,
    timeouts: Timeouts,
    retry: RetryPolicy,
    /// Origins the token may go to besides the request's own.
    hub_origins: Vec<Origin>,
}

impl Transport {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        network: connect::Network,
        endpoint: &str,
        token: Option<Token>,
        offline: bool,
        user_agent: HeaderValue,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Transport {
        let connect_timeout = timeouts.download.max(timeouts.etag);
        let hub_origins = [
            "https://huggingface.co",
            "https://hub-ci.huggingface.co",
            "https://hf.co",
            endpoint,
        ]
        .iter()
        .filter_map(|u| Origin::of(u))
        .collect();
        Transport {
            plain: network.client(connect_timeout, false),
            authorized: network.client(connect_timeout, true),
            network,
            token,
            offline,
            user_agent,
            timeouts,
            retry,
            hub_origins,
        }
    }

    pub(crate) fn is_offline(&self) -> bool {
        self.offline
    }

    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Connect + headers of a metadata request.
    pub(crate) fn etag_timeout(&self) -> Duration {
        self.timeouts.etag
    }

    /// Connect + headers of a download or API request, and each body chunk.
    pub(crate) fn download_timeout(&self) -> Duration {
        self.timeouts.download
    }

    pub(crate) fn network(&self) -> &connect::Network {
        &self.network
    }

    /// The auth rule: whether the token may go to `target` for a request that started at `origin_url`.
    fn may_send_token(&self, origin_url: &str, target: &str) -> bool {
        match (Origin::of(origin_url), Origin::of(target)) {
            (Some(from), Some(to)) => from == to || self.hub_origins.contains(&to),
            _ => false,
        }
    }

    /// Sends `method` to `start` and follows redirects under `policy`; `origin_url` is where the
    /// request started for the auth rule. Error statuses become typed errors.
    pub(crate) async fn fetch(
        &self,
        method: Method,
        start: &str,
        origin_url: &str,
        headers: &HeaderMap,
        policy: Redirects,
        timeout: Duration,
    ) -> Result<Answer, Error> {
        let mut url = start.to_owned();
        for _ in 0..=policy.max_hops() {
            let with_token = self.may_send_token(origin_url, &url);
            let response = self
                .send(method.clone(), &url, headers.clone(), with_token, timeout)
                .await?;
            check_status(&url, &response)?;
            if !response.status().is_redirection() {
                return Ok(Answer {
                    response,
                    url,
                    location: None,
                });
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let Some(location) = location else {
                if policy == Redirects::StopAtForeign {
                    return Ok(Answer {
                        response,
                        url,
                        location: None,
                    });
                }
                return Err(Error::BadResponse {
                    url,
                    reason: "a redirect without Location".to_owned(),
                });
            };
            let target = join_location(&url, location)?;
            if !self.may_send_token(origin_url, &target) {
                match policy {
                    Redirects::StopAtForeign => {
                        return Ok(Answer {
                            response,
                            url,
                            location: Some(target),
                        });
                    }
                    Redirects::RefuseForeign => {
                        return Err(Error::BadRedirect {
                            url,
                            location: target,
                            reason: "an API answer may not lead to another origin",
                        });
                    }
                    Redirects::Any => {}
                }
            }
            url = target;
        }
        Err(Error::TooManyRedirects {
            url: start.to_owned(),
            hops: policy.max_hops(),
        })
    }

    /// Sends one request (no redirect following). Fails with [`Error::Offline`] before any socket
    /// is opened in offline mode.
    async fn send(
        &self,
        method: Method,
        url: &str,
        extra: HeaderMap,
        with_token: bool,
        timeout: Duration,
    ) -> Result<Response<Incoming>, Error> {
        if self.offline {
            return Err(Error::Offline {
                url: url.to_owned(),
            });
        }
        let bad_url = || Error::BadUrl {
            url: url.to_owned(),
        };
        let mut parsed = url::Url::parse(url).map_err(|_| bad_url())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad_url());
        }
        // A userinfo is never sent (nor logged by the connection pool).
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let uri: hyper::Uri = parsed.as_str().parse().map_err(|_| bad_url())?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri.clone())
            .body(Empty::<Bytes>::new())
            .map_err(|_| bad_url())?;
        let headers = request.headers_mut();
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        if method == Method::HEAD {
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        let token = self.token.as_ref().filter(|_| with_token);
        if let Some(token) = token {
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
        let client = if token.is_some() {
            &self.authorized
        } else {
            // A plain-http target through a proxy goes in absolute form, with the proxy's
            // credentials on the request itself.
            if let Some(auth) = self.network.absolute_form_auth(&uri) {
                headers.insert(header::PROXY_AUTHORIZATION, auth);
            }
            &self.plain
        };
        tracing::debug!(%method, url = %shown(url), "request");
        match tokio::time::timeout(timeout, client.request(request)).await {
            Err(_) => Err(Error::Timeout {
                url: url.to_owned(),
                after: timeout,
            }),
            Ok(Err(error)) => Err(self.network.classify(url, &uri, error)),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Reads the body of `answer` as a JSON document under the API deadlines and byte cap.
    pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        answer: Answer,
        cap: usize,
    ) -> Result<T, Error> {
        let deadlines = Deadlines::new(
            self.timeouts.download,
            self.timeouts.low_speed,
            Some(self.timeouts.api_total),
        );
        let body = BodyReader::new(answer.response.into_body(), &answer.url, deadlines)
            .collect(cap)
            .await?;
        serde_json::from_slice(&body).map_err(|e| Error::BadResponse {
            url: answer.url,
            reason: format!("invalid JSON: {e}"),
        })
    }

    /// A reader for a download body: stall timeout per chunk and the low-speed limit.
    pub(crate) fn download_body(&self, answer: Answer) -> BodyReader {
        let deadlines = Deadlines::new(self.timeouts.download, self.timeouts.low_speed, None);
        BodyReader::new(answer.response.into_body(), &answer.url, deadlines)
    }
}

/// Turns an error status into a typed [`Error`].
fn check_status(url: &str, response: &Response<Incoming>) -> Result<(), Error> {
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

/// `Retry-After` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_joined_and_only_http_is_followed() {
        assert_eq!(
            join_location("http://h:1/a/b?q", "/c/d").unwrap(),
            "http://h:1/c/d"
        );
        assert!(join_location("http://h/a", "file:///etc/passwd").is_err());
        assert_eq!(
            Origin::of("https://HF.co/x"),
            Origin::of("https://hf.co:443/y")
        );
    }
}
