//! Transport to a Hugging Face Hub endpoint: resolve, list and download over HTTP.
//!
//! This crate knows URLs, headers and bytes; it never computes a cache path: the caller hands
//! [`Client::download`] an open file and gets back a verified size and hash.
//!
//! - [`Client::resolve`]: the metadata `HEAD` (commit, ETag, size, location) with 2.x's redirect rules;
//! - [`Client::repo_info`], [`Client::list_tree`]: the commit of a revision and the file listing;
//! - [`Client::download`]: the `GET`, resumed, ranged in parallel, verified, retried.
//!
//! Layers: `transport` (connections through `connect` and `tls`, the one redirect follower, the
//! auth rule, body deadlines in `body`) under `api` (resolve, repo info, listing) and `download`;
//! `client` holds the settings and hands each call down.
//!
//! With `HF_HUB_OFFLINE=1` every call fails with [`Error::Offline`] before a socket is opened.
//!
//! One file, resolved then downloaded into a file the caller opened (here against a `hub-server`
//! the example starts on 127.0.0.1):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let served = tempfile::tempdir()?;
//! # hfhub_tests::synthetic::write_model(served.path(), "org/name", "c1", "main",
//! #     &[("config.json".into(), b"{}".to_vec(), false)])?;
//! # let server = hub_server::Server::builder(served.path()).start().await?;
//! use hub_http::{Client, DownloadRequest, Endpoint};
//!
//! // Client::from_env()? reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, timeouts, proxies, CAs.
//! let client = Client::builder().with_endpoint(Endpoint::new(server.endpoint())).build()?;
//! let repo = hub_cache::Repo::model("org/name")?;
//! let resolved = client.resolve(&repo, "main", "config.json").await?;
//! assert_eq!(resolved.size, Some(2));
//!
//! let request = DownloadRequest {
//!     resolve_url: client.endpoint().resolve_url(&repo, "main", "config.json"),
//!     location: resolved.location.clone(),
//!     expected_size: resolved.size,
//!     etag: resolved.etag.clone(),
//!     resume_from: 0,
//! };
//! let destination = tempfile::tempfile()?; // read + write; the caller decides where it lives
//! let downloaded = client.download(&request, destination, |_progress| {}).await?;
//! assert_eq!(downloaded.size, 2);
//! assert!(downloaded.verified.is_some()); // `{}` hashed to its ETag (a git blob sha1)
//!
//! let missing = client.resolve(&repo, "main", "absent.json").await.unwrap_err();
//! assert!(missing.is_not_found());
//! # server.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod api;
pub mod auth;
mod body;
mod client;
mod connect;
mod download;
pub mod error;
pub mod metadata;
pub mod retry;
mod tls;
mod transport;
pub mod url;

pub use api::{Gated, LfsInfo, ListingLimits, MAX_JSON_BYTES, RepoInfo, Sibling, TreeEntry};
pub use auth::{Token, TokenChoice};
pub use body::LowSpeedLimit;
pub use client::{Client, ClientBuilder, NetworkDescription};
pub use download::{DownloadRequest, Downloaded, ParallelOptions, Progress};
pub use error::{Error, TlsFailure};
pub use metadata::{MetadataError, Resolved};
pub use retry::RetryPolicy;
pub use tls::CA_VARIABLES;
pub use url::Endpoint;
