//! One error type for every request, with query methods so callers (hub-sync) decide on a cache
//! fallback without matching transport types. Classification follows upstream's
//! `utils/_http.py::hf_raise_for_status` (2.x): the `X-Error-Code` header first, then the status.

use std::time::Duration;

use crate::metadata::MetadataError;
use crate::url::{escape, shown};

/// A failed Hub request. Every variant names the URL; none carries the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("offline mode is enabled (HF_HUB_OFFLINE): no request sent to {}", shown(.url))]
    Offline { url: String },
    #[error("repository not found for url {}{}", shown(.url), server_message(.message))]
    RepoNotFound {
        url: String,
        message: Option<String>,
    },
    #[error("revision not found for url {}{}", shown(.url), server_message(.message))]
    RevisionNotFound {
        url: String,
        message: Option<String>,
    },
    #[error("entry not found for url {}{}", shown(.url), server_message(.message))]
    EntryNotFound {
        url: String,
        /// `X-Repo-Commit` of the 404, so the caller can record the absence in `.no_exist/<commit>/`.
        commit: Option<String>,
        message: Option<String>,
    },
    #[error("cannot access gated repo for url {}{}", shown(.url), server_message(.message))]
    Gated {
        url: String,
        message: Option<String>,
    },
    #[error("access to this resource is disabled: {}", shown(.url))]
    Disabled { url: String },
    #[error("{status} unauthorized for url {}{}", shown(.url), server_message(.message))]
    Unauthorized {
        url: String,
        status: u16,
        message: Option<String>,
    },
    #[error("403 forbidden for url {}{}", shown(.url), server_message(.message))]
    Forbidden {
        url: String,
        message: Option<String>,
    },
    #[error("429 too many requests for url {}{}", shown(.url), retry_hint(.retry_after))]
    RateLimited {
        url: String,
        retry_after: Option<Duration>,
    },
    #[error("{status} error for url {}{}", shown(.url), server_message(.message))]
    Status {
        url: String,
        status: u16,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("timed out after {after:?} waiting for {}", shown(.url))]
    Timeout { url: String, after: Duration },
    #[error("cannot connect to {}", shown(.url))]
    Connect {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("connection to {} failed", shown(.url))]
    Transport {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("more than {hops} redirects while resolving {}", shown(.url))]
    TooManyRedirects { url: String, hops: usize },
    #[error("invalid redirect from {} to `{}`: {}", shown(.url), shown(.location), escape(.reason))]
    BadRedirect {
        url: String,
        location: String,
        reason: &'static str,
    },
    #[error("invalid url `{}`", shown(.url))]
    BadUrl { url: String },
    #[error("invalid answer from {}: {}", shown(.url), escape(.reason))]
    BadResponse { url: String, reason: String },
    #[error(
        "consistency check failed: {} should be {expected} bytes but {actual} bytes were received",
        shown(.url)
    )]
    SizeMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error("{kind} of the content from {} is {actual}, expected {expected}", shown(.url))]
    HashMismatch {
        url: String,
        kind: hub_cache::hash::HashKind,
        expected: String,
        actual: String,
    },
    #[error("transfer from {} slower than {bytes_per_second} bytes/s for {window:?} (HFHUB_LOW_SPEED_LIMIT, HFHUB_LOW_SPEED_TIME)", shown(.url))]
    TooSlow {
        url: String,
        bytes_per_second: u64,
        window: Duration,
    },
    #[error("cannot reach {} through the proxy {proxy}: {}", shown(.url), escape(.reason))]
    Proxy {
        url: String,
        /// The proxy, without credentials.
        proxy: String,
        reason: String,
        /// Whether trying again may help (the proxy was unreachable, not refusing).
        retryable: bool,
    },
    #[error("cannot write the download from {}", shown(.url))]
    Io {
        url: String,
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
    pub host: String,
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
