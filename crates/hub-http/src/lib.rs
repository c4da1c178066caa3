//! Transport to a Hugging Face Hub endpoint: resolve, list and download over HTTP.
//!
//! This crate knows URLs, headers and bytes; it never computes a cache path (the caller hands it a
//! destination). So far: URL construction ([`url`]) and metadata derivation ([`metadata`]); the
//! client itself comes with the hub-http issue.

pub mod metadata;
pub mod url;

pub use metadata::{MetadataError, Resolved, normalize_etag};
pub use url::Endpoint;
