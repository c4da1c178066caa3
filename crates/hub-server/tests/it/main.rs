//! hub-server integration tests: one binary, one module per feature, against a cache built by
//! `support::build_cache` in a temp dir and a server on 127.0.0.1 port 0.

mod api;
mod bodies;
mod cdn_loop;
mod faults;
mod limits;
mod oracle;
mod resolve;
mod security;
mod support;
