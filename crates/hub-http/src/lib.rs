//! Transport to a Hugging Face Hub endpoint: resolve, list and download over HTTP.
//!
//! Filled by the hub-http issue. This crate knows URLs, headers and bytes; it never computes a cache
//! path (the caller hands it a destination).
