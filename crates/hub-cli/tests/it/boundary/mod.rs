//! The trust boundary of issue 11, class by class, as the `hfhub` binary meets it: a hostile Hub on
//! 127.0.0.1 or a planted folder, a canary folder outside that must stay byte-identical, the exit
//! code and the message asserted. Library-level checks live in each crate's own tests.

mod cached_listing;
mod etags;
mod git_paths;
mod scripted;
mod sizes;
mod terminal;
