//! The servers the tools download from (`hfhub serve`, nginx), seen from the bench: an endpoint,
//! a process whose CPU time is read from `/proc/<pid>/stat`, and a log with one line per request,
//! both sampled before and after every run.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::timing::process_cpu;

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `hfhub serve` (its `info` log has one `request` line per request).
    HfhubServe,
    /// nginx (its access log has one line per request).
    Nginx,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::HfhubServe => "`hfhub serve`",
            Kind::Nginx => "nginx",
        }
    }

    /// Whether a log line records one request.
    fn is_request(self, line: &str) -> bool {
        match self {
            Kind::HfhubServe => line.contains(" request ") && line.contains("status="),
            Kind::Nginx => !line.trim().is_empty(),
        }
    }
}

/// A running server, as the scenarios use it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub kind: Kind,
    /// What `HF_ENDPOINT` is set to.
    pub endpoint: String,
    /// The one process that serves (nginx runs without a master process).
    pub pid: u32,
    /// The log with one line per request.
    pub log: PathBuf,
}

/// The server's state before a run.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    cpu: f64,
    log_len: u64,
}

/// What the server did during a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    /// CPU seconds (user + system) the server used.
    pub cpu: f64,
    /// Requests it logged.
    pub requests: u64,
}

impl Origin {
    pub fn mark(&self) -> anyhow::Result<Mark> {
        let log_len = std::fs::metadata(&self.log)
            .with_context(|| format!("cannot stat `{}`", self.log.display()))?
            .len();
        Ok(Mark {
            cpu: process_cpu(self.pid)?,
            log_len,
        })
    }

    /// The server's work since `mark`. Waits 20 ms first: a server logs a request when the last
    /// byte is handed to the socket, which may be after the client has read it and exited.
    pub fn since(&self, mark: Mark) -> anyhow::Result<Load> {
        std::thread::sleep(Duration::from_millis(20));
        let cpu = process_cpu(self.pid)? - mark.cpu;
        let mut log = File::open(&self.log)
            .with_context(|| format!("cannot open `{}`", self.log.display()))?;
        log.seek(SeekFrom::Start(mark.log_len))
            .with_context(|| format!("cannot seek in `{}`", self.log.display()))?;
        let mut text = Vec::new();
        log.read_to_end(&mut text)
            .with_context(|| format!("cannot read `{}`", self.log.display()))?;
        let requests = String::from_utf8_lossy(&text)
            .lines()
            .filter(|line| self.kind.is_request(line))
            .count() as u64;
        Ok(Load { cpu, requests })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_requests_logged_since_a_mark() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("server.log");
        std::fs::write(
            &log,
            "2026-12-06T18:00:00Z  INFO hub_server::server: serving addr=127.0.0.1:1\n\
             2026-12-06T18:00:01Z  INFO hub_server::server: request origin=Hub method=GET path=/a status=200\n",
        )
        .expect("write");
        let origin = Origin {
            kind: Kind::HfhubServe,
            endpoint: "http://127.0.0.1:1".to_owned(),
            pid: std::process::id(),
            log: log.clone(),
        };
        let mark = origin.mark().expect("mark");
        let mut text = std::fs::read_to_string(&log).expect("read");
        text += "2026-12-06T18:00:02Z  INFO hub_server::server: request origin=Cdn method=GET path=/b status=206\n\
                 2026-12-06T18:00:02Z  WARN hub_server::server: cache read failed\n\
                 2026-12-06T18:00:03Z  INFO hub_server::server: request origin=Hub method=HEAD path=/c status=302\n";
        std::fs::write(&log, text).expect("write");
        let load = origin.since(mark).expect("load");
        assert_eq!(load.requests, 2);
        assert!(load.cpu >= 0.0);

        let nginx = Origin {
            kind: Kind::Nginx,
            ..origin
        };
        let mark = nginx.mark().expect("mark");
        let mut text = std::fs::read_to_string(&log).expect("read");
        text += "127.0.0.1 - - [06/Dec/2026:18:00:04 +0000] \"GET / HTTP/1.1\" 200 1\n";
        std::fs::write(&log, text).expect("write");
        assert_eq!(nginx.since(mark).expect("load").requests, 1);
    }
}
