//! Running one tool once: wall time from spawn to exit, the child's CPU time (user + system) and
//! peak resident memory (`ru_utime`, `ru_stime`, `ru_maxrss` from `wait4`, so no external `time`
//! tool is needed); the CPU time of a server process from `/proc/<pid>/stat`; statistics over runs.

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
    /// User + system CPU time of the process (and the children it waited for).
    pub cpu: Duration,
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
    let (status, cpu, max_rss) =
        wait_with_rusage(child.id()).with_context(|| format!("waiting for {command:?}"))?;
    let wall = start.elapsed();
    if !status.success() {
        let stderr = std::fs::read_to_string(stderr_log).unwrap_or_default();
        let tail: String = tail_lines(&stderr, 30);
        bail!("{command:?} failed ({status}); stdout:\n{stdout}\nstderr (tail):\n{tail}");
    }
    Ok(Run {
        wall,
        cpu,
        max_rss,
        stdout,
    })
}

/// `wait4(pid)`: the exit status, user + system CPU time, and `ru_maxrss` (KiB on Linux) in bytes.
#[allow(unsafe_code)]
fn wait_with_rusage(pid: u32) -> std::io::Result<(ExitStatus, Duration, u64)> {
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
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let cpu = time(usage.ru_utime) + time(usage.ru_stime);
    Ok((ExitStatus::from_raw(status), cpu, max_rss))
}

/// User + system CPU time a live process has used so far (all its threads), from
/// `/proc/<pid>/stat`, in seconds; the resolution is one clock tick (10 ms on most systems).
pub fn process_cpu(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{path}`"))?;
    parse_stat_cpu(&text, clock_ticks_per_second())
        .with_context(|| format!("unexpected contents of `{path}`: {text}"))
}

/// `utime + stime` (fields 14 and 15, counted after the parenthesised command name, which may
/// itself hold spaces and parentheses) over the tick rate.
fn parse_stat_cpu(text: &str, ticks: f64) -> Option<f64> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / ticks)
}

#[allow(unsafe_code)]
fn clock_ticks_per_second() -> f64 {
    // SAFETY: `sysconf` only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
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
        // A busy loop of about 0.2 s of CPU is counted as the child's CPU time.
        let busy = measure(
            Command::new("sh").args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]),
            &log,
        )
        .expect("runs");
        assert!(busy.cpu.as_secs_f64() > 0.05, "{:?}", busy.cpu);
        assert!(
            busy.cpu <= busy.wall + Duration::from_millis(20),
            "{busy:?}"
        );
        let error = measure(
            Command::new("sh").args(["-c", "echo oops >&2; exit 3"]),
            &log,
        )
        .expect_err("fails");
        assert!(format!("{error:#}").contains("oops"), "{error:#}");
    }

    #[test]
    fn reads_a_process_cpu_time_from_proc() {
        // A command name with a space and a parenthesis does not shift the fields.
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat_cpu(stat, 100.0), Some(3.0));
        assert_eq!(parse_stat_cpu("42 (x) S 1", 100.0), None);
        let own = process_cpu(std::process::id()).expect("our own stat");
        assert!(own >= 0.0);
    }
}
