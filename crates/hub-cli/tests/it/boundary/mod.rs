//! The trust boundary of the `hfhub` binary (issue 11): hostile servers, planted `local_dir`
//! folders and tampered caches, each run against a canary folder outside that must stay
//! byte-identical, with the exit code and the message asserted. Classes and figures are listed in
//! docs/reliability.md.

pub use super::reliability::{hfhub, stderr, stdout};

mod cache_commands;
mod local_dir;
