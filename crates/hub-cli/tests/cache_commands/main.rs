//! End-to-end tests of the cache commands, compared with upstream's CLIs run on the same caches.

mod delete_cache;
mod hf_cache;
mod scan_cache;
mod support;
mod verify;
