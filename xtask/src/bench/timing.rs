//! Running one tool once: wall time from spawn to exit and the child's peak resident memory
//! (`ru_maxrss` from `wait4`, so no external `time` tool is needed), plus the statistics over runs.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What one run of a command gave.
#[derive(Debug, Clone)]
pub struct Run {
    pub wall: Duration,
    /// Peak resident set size of the process (and the children it waited for), in bytes.
    pub max_rss: u64,
    pub stdout: String,
}

/// Runs `command` to completion with stdin closed, stdout captured and stderr written to
/// `stderr_log` (so a chatty tool cannot block on a pipe). Fails, quoting the log, when it exits
/// unsuccessfully.
pub fn measure(command: &mut Command, stderr_log: &Path) -> anyhow::Result<Run> {
    let log = File::create(stderr_log)
        .with_context(|| format!("cannot create `{}`", stderr_log.display()))?;
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .with_context(|| format!("reading the output of {command:?}"))?;
    }
    // The child is reaped here, not through `Child::wait`, to get its resource usage.
    let (status, max_rss) =
        wait_with_rusage(child.id()).with_context(|| format!("waiting for {command:?}"))?;
    let wall = start.elapsed();
    if !status.success() {
        let stderr = std::fs::read_to_string(stderr_log).unwrap_or_default();
        let tail: String = tail_lines(&stderr, 30);
        bail!("{command:?} failed ({status}); stdout:\n{stdout}\nstderr (tail):\n{tail}");
    }
    Ok(Run {
        wall,
        max_rss,
        stdout,
    })
}

/// `wait4(pid)`: the exit status and `ru_maxrss` (KiB on Linux) in bytes.
#[allow(unsafe_code)]
fn wait_with_rusage(pid: u32) -> std::io::Result<(ExitStatus, u64)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the right types; `pid` is our
        // own child, not yet reaped (std's `Child` never waited for it).
        let result = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if result == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    Ok((ExitStatus::from_raw(status), max_rss))
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples. The median of an even count is the mean of the middle two.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let odd = Summary::of(&[3.0, 1.0, 2.0]).expect("samples");
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Summary::of(&[4.0, 1.0, 3.0, 2.0]).expect("samples");
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn measures_a_child_and_its_memory() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("stderr");
        // Any process has more than 100 KiB resident; a failure quotes the tool's stderr.
        let run = measure(Command::new("sh").args(["-c", "echo hello"]), &log).expect("runs");
        assert_eq!(run.stdout, "hello\n");
        assert!(run.max_rss > 100 * 1024, "{}", run.max_rss);
        let error = measure(
            Command::new("sh").args(["-c", "echo oops >&2; exit 3"]),
            &log,
        )
        .expect_err("fails");
        assert!(format!("{error:#}").contains("oops"), "{error:#}");
    }
}
