//! End-to-end tests of the cache commands (`scan-cache`, `cache ls|rm|prune|verify`,
//! `delete-cache`), compared with upstream's CLIs run on the same copies of the fixture caches.

mod delete_cache;
mod hf_cache;
mod scan_cache;
mod support;
mod verify;
