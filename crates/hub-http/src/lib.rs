//! Transport to a Hugging Face Hub endpoint: resolve, list and download over HTTP.
//!
//! This crate knows URLs, headers and bytes; it never computes a cache path: the caller hands
//! [`Client::download`] an open file and gets back a verified size and hash.
//!
//! - [`Client::resolve`]: the metadata `HEAD` (commit, ETag, size, location) with 2.x's redirect rules;
//! - [`Client::repo_info`], [`Client::list_tree`]: the commit of a revision and the file listing;
//! - [`Client::download`]: the `GET`, resumed, ranged in parallel, verified, retried.
//!
//! With `HF_HUB_OFFLINE=1` every call fails with [`Error::Offline`] before a socket is opened.

pub mod auth;
pub mod client;
pub mod download;
pub mod error;
pub mod metadata;
pub mod retry;
pub mod url;

pub use auth::{Token, TokenChoice};
pub use client::{Client, ClientBuilder, RepoInfo, TreeEntry};
pub use download::{DownloadRequest, Downloaded, ParallelOptions, Progress};
pub use error::Error;
pub use metadata::{MetadataError, Resolved, normalize_etag};
pub use retry::RetryPolicy;
pub use url::Endpoint;
