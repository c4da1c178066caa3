//! hub-cli end-to-end tests, the crate's one integration-test binary: the `hfhub` binary run as a user
//! runs it, against hub-server on 127.0.0.1 and against upstream's CLIs on the same caches.

mod boundary;
mod cache_commands;
mod download;
mod messages;
mod mirror;
mod networks;
mod parity;
mod progress;
mod reliability;
mod serve;
