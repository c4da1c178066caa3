//! Servers the tests start: reading a `hub_server::Server`'s request log (what reached the CDN
//! origin, and the one check every resume test makes: the rest of the file came in one ranged
//! request), and the command line of `hfhub serve` on loopback ports.

use std::path::Path;
use std::process::{Command, Stdio};

use hub_server::{Origin, RequestLog, RequestRecord};

/// Every request the CDN origin received so far, oldest first.
pub fn cdn_records(log: &RequestLog) -> Vec<RequestRecord> {
    log.records()
        .into_iter()
        .filter(|record| record.origin == Origin::Cdn)
        .collect()
}

/// Asserts that the CDN received exactly one request since the log was cleared, asking for the
/// bytes from `done` to the end of a file of `size` bytes; returns it.
pub fn assert_resumed_at(log: &RequestLog, done: u64, size: u64) -> RequestRecord {
    let cdn = cdn_records(log);
    assert_eq!(cdn.len(), 1, "{cdn:?}");
    assert_eq!(
        cdn[0].range.as_deref(),
        Some(format!("bytes={done}-{}", size - 1).as_str())
    );
    cdn[0].clone()
}

/// `command` (the `hfhub` binary, or a shell that execs it) as `hfhub serve` on loopback ports:
/// `serve --addr 127.0.0.1:0 --cdn-addr 127.0.0.1:0 --dir <dir>`, stdin closed and stdout piped (the
/// start-up lines name both listeners). Used by the CLI tests and by `cargo xtask demo|bench`.
pub fn serve_on_loopback(mut command: Command, dir: &Path) -> Command {
    command
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--cdn-addr",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}
