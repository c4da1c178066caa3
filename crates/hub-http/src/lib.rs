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
