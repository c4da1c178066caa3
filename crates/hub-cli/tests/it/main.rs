//! hub-cli end-to-end tests: the `hfhub` binary run as a user runs it, against hub-server on 127.0.0.1.

mod boundary;
mod download;
mod messages;
mod mirror;
mod networks;
mod parity;
mod progress;
mod reliability;
mod serve;
