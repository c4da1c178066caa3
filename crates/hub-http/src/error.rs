//! One error type for every request, with query methods so callers (hub-sync) decide on a cache
//! fallback without matching transport types. Classification follows upstream's
//! `utils/_http.py::hf_raise_for_status` (2.x): the `X-Error-Code` header first, then the status.

use std::time::Duration;

use crate::metadata::MetadataError;
use crate::url::{escape, shown};

/// A failed Hub request. Every variant names the URL; none carries the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Offline mode (`HF_HUB_OFFLINE`, or [`crate::ClientBuilder::with_offline`]): refused before
    /// any socket was opened.
    #[error("offline mode is enabled (HF_HUB_OFFLINE): no request sent to {}", shown(.url))]
    Offline {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
    },
    /// The repository does not exist or is not visible with this token (`X-Error-Code:
    /// RepoNotFound`).
    #[error("repository not found for url {}{}", shown(.url), server_message(.message))]
    RepoNotFound {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// The branch, tag or commit does not exist in the repository (`X-Error-Code:
    /// RevisionNotFound`).
    #[error("revision not found for url {}{}", shown(.url), server_message(.message))]
    RevisionNotFound {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// The file does not exist at that revision (`X-Error-Code: EntryNotFound`).
    #[error("entry not found for url {}{}", shown(.url), server_message(.message))]
    EntryNotFound {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// `X-Repo-Commit` of the 404, so the caller can record the absence in `.no_exist/<commit>/`.
        commit: Option<String>,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// The repository is gated and this token has not been granted access (`X-Error-Code:
    /// GatedRepo`).
    #[error("cannot access gated repo for url {}{}", shown(.url), server_message(.message))]
    Gated {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// The Hub disabled the repository (`X-Error-Message: Access to this resource is disabled.`).
    #[error("access to this resource is disabled: {}", shown(.url))]
    Disabled {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
    },
    /// A 401 with no more specific `X-Error-Code`: a missing, invalid or expired token.
    #[error("{status} unauthorized for url {}{}", shown(.url), server_message(.message))]
    Unauthorized {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The HTTP status (401).
        status: u16,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// A 403 with no more specific `X-Error-Code`: the token lacks a permission.
    #[error("403 forbidden for url {}{}", shown(.url), server_message(.message))]
    Forbidden {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
    },
    /// A 429: too many requests; retried after `Retry-After` by the retry policy.
    #[error("429 too many requests for url {}{}", shown(.url), retry_hint(.retry_after))]
    RateLimited {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Any other error status (5xx, 408, an unexpected 4xx).
    #[error("{status} error for url {}{}", shown(.url), server_message(.message))]
    Status {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's `X-Error-Message`, when it sent one.
        message: Option<String>,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// A deadline passed: the request (connection and response head), a stall between two body
    /// chunks, or the whole read of an API answer.
    #[error("timed out after {after:?} waiting for {}", shown(.url))]
    Timeout {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// No connection could be made: the name did not resolve, the connection was refused, or the
    /// TLS handshake failed (a [`TlsFailure`] source).
    #[error("cannot connect to {}", shown(.url))]
    Connect {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The cause (resolver, socket or TLS error).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection failed after it was made (reset, closed mid-body, protocol error).
    #[error("connection to {} failed", shown(.url))]
    Transport {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A metadata answer lacked, or had an invalid, commit or ETag header.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A resolve followed more redirects than allowed.
    #[error("more than {hops} redirects while resolving {}", shown(.url))]
    TooManyRedirects {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The number of redirects followed.
        hops: usize,
    },
    /// A redirect that cannot be followed (an invalid or unsupported `Location`).
    #[error("invalid redirect from {} to `{}`: {}", shown(.url), shown(.location), escape(.reason))]
    BadRedirect {
        /// The URL that answered with the redirect.
        url: String,
        /// The `Location` header as received.
        location: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL that could not be built or parsed (from an endpoint, a repo id, a file name).
    #[error("invalid url `{}`", shown(.url))]
    BadUrl {
        /// The URL text.
        url: String,
    },
    /// An answer that does not follow the protocol (bad JSON, a listing over its limits, a
    /// malformed header).
    #[error("invalid answer from {}: {}", shown(.url), escape(.reason))]
    BadResponse {
        /// The request URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body was shorter or longer than announced; the download is not published.
    #[error(
        "consistency check failed: {} should be {expected} bytes but {actual} bytes were received",
        shown(.url)
    )]
    SizeMismatch {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The size announced, in bytes.
        expected: u64,
        /// The bytes received, counting any resumed prefix.
        actual: u64,
    },
    /// The content does not hash to its ETag; the download is not published.
    #[error("{kind} of the content from {} is {actual}, expected {expected}", shown(.url))]
    HashMismatch {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// sha256 (an LFS file) or git blob sha1 (a regular file).
        kind: hub_cache::hash::HashKind,
        /// The ETag, lower-case hex.
        expected: String,
        /// The digest of what was received, lower-case hex.
        actual: String,
    },
    /// The transfer stayed under the low-speed limit for the whole window ([`crate::LowSpeedLimit`]).
    #[error("transfer from {} slower than {bytes_per_second} bytes/s for {window:?} (HFHUB_LOW_SPEED_LIMIT, HFHUB_LOW_SPEED_TIME)", shown(.url))]
    TooSlow {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The limit, in bytes per second.
        bytes_per_second: u64,
        /// How long the transfer stayed under it.
        window: Duration,
    },
    /// The proxy (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`) could not be reached or refused the
    /// tunnel.
    #[error("cannot reach {} through the proxy {proxy}: {}", shown(.url), escape(.reason))]
    Proxy {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The proxy, without credentials.
        proxy: String,
        /// What failed.
        reason: String,
        /// Whether trying again may help (the proxy was unreachable, not refusing).
        retryable: bool,
    },
    /// The client could not be built: an invalid PEM certificate or root, a TLS configuration
    /// rustls refuses, an environment value that does not parse ([`crate::Client::from_env`]), a
    /// user agent that is not a valid header value. Nothing was sent. (A CA file that holds no
    /// certificate is only a warning: the other roots stay trusted.)
    #[error("cannot set up the HTTP client: {}", escape(.reason))]
    Setup {
        /// What could not be set up.
        reason: String,
    },
    /// The downloaded bytes could not be written to the caller's file.
    #[error("cannot write the download from {}", shown(.url))]
    Io {
        /// The request URL (the Hub or CDN URL asked, never with a token).
        url: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether a connection failure will not go away by trying again at once: a name that does not
/// resolve, a refused connection, a certificate that is not trusted.
pub(crate) fn permanent_connect_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.to_string() == "dns error" || current.is::<TlsFailure>() {
            return true;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Why a TLS handshake failed, as the source of an [`Error::Connect`]: the host, the reason, and
/// how to trust a private CA.
#[derive(Debug, thiserror::Error)]
#[error(
    "the TLS certificate of `{}` was not accepted: {}; a private CA can be trusted with SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE",
    escape(.host), escape(.reason)
)]
pub struct TlsFailure {
    /// The host whose certificate was refused.
    pub host: String,
    /// The verifier's reason (unknown issuer, expired, wrong name...).
    pub reason: String,
}

fn server_message(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {}", escape(m)),
        _ => String::new(),
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {} s)", d.as_secs()),
        None => String::new(),
    }
}

impl Error {
    /// Classifies an error answer. `url` is the request URL; `error_code` and `error_message` are
    /// the `X-Error-Code` and `X-Error-Message` headers.
    pub(crate) fn from_status(
        url: &str,
        status: u16,
        error_code: Option<&str>,
        error_message: Option<&str>,
        repo_commit: Option<&str>,
        retry_after: Option<Duration>,
    ) -> Error {
        let url = url.to_owned();
        let message = error_message.map(str::to_owned);
        match (error_code, status) {
            (Some("RevisionNotFound"), _) => Error::RevisionNotFound { url, message },
            (Some("EntryNotFound"), _) => Error::EntryNotFound {
                url,
                commit: repo_commit.map(str::to_owned),
                message,
            },
            (Some("GatedRepo"), _) => Error::Gated { url, message },
            _ if error_message == Some("Access to this resource is disabled.") => {
                Error::Disabled { url }
            }
            (Some("RepoNotFound"), _) => Error::RepoNotFound { url, message },
            (_, 401) => Error::Unauthorized {
                url,
                status,
                message,
            },
            (_, 403) => Error::Forbidden { url, message },
            (_, 429) => Error::RateLimited { url, retry_after },
            _ => Error::Status {
                url,
                status,
                message,
                retry_after,
            },
        }
    }

    /// The repository, revision or file does not exist (or is not visible with this token).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::RepoNotFound { .. }
                | Error::RevisionNotFound { .. }
                | Error::EntryNotFound { .. }
        )
    }

    /// Offline mode refused the request before any socket was opened.
    pub fn is_offline(&self) -> bool {
        matches!(self, Error::Offline { .. })
    }

    /// The Hub wants a (valid) token: a gated repository, a 401, or a 403.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Error::Gated { .. } | Error::Unauthorized { .. } | Error::Forbidden { .. }
        )
    }

    /// The commit of an `EntryNotFound` answer, when the server sent one.
    pub fn missing_entry_commit(&self) -> Option<&str> {
        match self {
            Error::EntryNotFound { commit, .. } => commit.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::RepoNotFound { .. }
            | Error::RevisionNotFound { .. }
            | Error::EntryNotFound { .. }
            | Error::Gated { .. } => Some(404),
            Error::Unauthorized { status, .. } | Error::Status { status, .. } => Some(*status),
            Error::Forbidden { .. } => Some(403),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Whether a cached copy may be returned instead, as `hf_hub_download` does (spec 2.7): every
    /// failure but revision-not-found, entry-not-found and local write errors.
    pub fn allows_cache_fallback(&self) -> bool {
        !matches!(
            self,
            Error::RevisionNotFound { .. } | Error::EntryNotFound { .. } | Error::Io { .. }
        )
    }

    /// Whether trying again may succeed: timeouts, dropped connections, 408, 429 and 5xx. A host
    /// that does not resolve, refuses the connection or shows an untrusted certificate is not
    /// retried (upstream's metadata request retries no connection error), so an unreachable
    /// endpoint fails at once.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { source, .. } => !permanent_connect_failure(source.as_ref()),
            Error::Timeout { .. }
            | Error::Transport { .. }
            | Error::RateLimited { .. }
            | Error::TooSlow { .. }
            | Error::SizeMismatch { .. } => true,
            Error::Proxy { retryable, .. } => *retryable,
            Error::Status { status, .. } => matches!(status, 408 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Status { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_upstream_order() {
        let e = Error::from_status("u", 404, Some("EntryNotFound"), None, Some("c"), None);
        assert_eq!(e.missing_entry_commit(), Some("c"));
        assert!(!e.allows_cache_fallback());
        let e = Error::from_status("u", 404, Some("RepoNotFound"), None, None, None);
        assert!(e.is_not_found() && e.allows_cache_fallback());
        let e = Error::from_status(
            "u",
            403,
            Some("RepoNotFound"),
            Some("Access to this resource is disabled."),
            None,
            None,
        );
        assert!(matches!(e, Error::Disabled { .. }));
        let e = Error::from_status("u", 503, None, None, None, None);
        assert!(e.is_retryable());
        let e = Error::from_status("u", 401, None, Some("Invalid credentials"), None, None);
        assert_eq!(e.status(), Some(401));
        assert!(e.to_string().contains("Invalid credentials"));
    }
}
