//! The trust boundary of issue 11, class by class, as the `hfhub` binary meets it: a hostile Hub on
//! 127.0.0.1, a planted `local_dir` folder or a tampered cache, a canary folder outside that must stay
//! byte-identical, the exit code and the message asserted. Library-level checks live in each crate's
//! own tests; classes and figures are listed in docs/reliability.md.

pub use super::reliability::{hfhub, stderr, stdout};

mod cache_commands;
mod cache_folders;
mod cached_listing;
mod etags;
mod git_paths;
mod local_dir;
mod network;
mod scripted;
mod sizes;
mod terminal;
