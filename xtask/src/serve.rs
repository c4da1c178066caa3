//! `hfhub serve` as a child process on a free loopback port (for `demo` and `bench`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::{Context, bail};

/// `hfhub serve` as a child process, stopped on drop.
pub struct Server {
    child: Child,
    /// Kept open so the server's later lines never meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
    pub endpoint: String,
}

impl Server {
    /// Starts `hfhub serve --dir DIR` on 127.0.0.1 with its log going to `stderr`, and reads its
    /// endpoint from the first line it prints.
    pub fn start(hfhub: &Path, dir: &Path, stderr: Stdio) -> anyhow::Result<Server> {
        Server::start_with_log(hfhub, dir, stderr, "warn")
    }

    /// [`Server::start`] with `RUST_LOG` set to `filter` (the bench logs every request to count
    /// them).
    pub fn start_with_log(
        hfhub: &Path,
        dir: &Path,
        stderr: Stdio,
        filter: &str,
    ) -> anyhow::Result<Server> {
        Server::start_with_args(hfhub, dir, stderr, filter, &[])
    }

    /// [`Server::start_with_log`] with more `hfhub serve` arguments (`--upstream URL`).
    pub fn start_with_args(
        hfhub: &Path,
        dir: &Path,
        stderr: Stdio,
        filter: &str,
        args: &[&str],
    ) -> anyhow::Result<Server> {
        let mut child = hfhub_tests::served::serve_on_loopback(Command::new(hfhub), dir)
            .args(args)
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start `{} serve`", hfhub.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .context("reading the server's first line")?;
        let endpoint = line
            .trim_end()
            .strip_suffix(" (HF_ENDPOINT)")
            .and_then(|rest| rest.rsplit_once(" at "))
            .map(|(_, endpoint)| endpoint.to_owned());
        let Some(endpoint) = endpoint else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("unexpected first line from `hfhub serve`: {line:?}");
        };
        Ok(Server {
            child,
            _stdout: stdout,
            endpoint,
        })
    }
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
