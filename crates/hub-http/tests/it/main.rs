//! hub-http against hub-server on 127.0.0.1, serving the `big-mixed` fixture cache.

// Test helpers panic on purpose: a failed setup fails the test.
#![allow(clippy::unwrap_used)]

mod download;
mod faults;
mod forward_proxy;
mod hostile;
mod hygiene;
mod oracle;
mod parallel_hashing;
mod proxy;
mod resolve;
mod support;
mod tls;
