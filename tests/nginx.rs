//! nginx for tests and benchmarks: the binary (on `PATH` or in `/usr/sbin`, else installed from the
//! distribution's packages with `apt-get`), and loopback ports for it. The one copy of this code:
//! `cargo xtask bench` and the mirror's tests both use it.

use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The nginx binary: on `PATH` or in `/usr/sbin`, else installed with `apt-get` (Debian's
/// `nginx-light`, else `nginx`). Fails when none can be had.
pub fn ensure_installed() -> io::Result<PathBuf> {
    if let Some(found) = find() {
        return Ok(found);
    }
    eprintln!("nginx is missing, installing it with apt-get");
    let mut failures = Vec::new();
    for package in ["nginx-light", "nginx"] {
        for update_first in [false, true] {
            if update_first && let Err(error) = apt_get(&["update"]) {
                failures.push(error.to_string());
            }
            match apt_get(&["install", "-y", "--no-install-recommends", package]) {
                Ok(()) => {
                    if let Some(found) = find() {
                        return Ok(found);
                    }
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
    }
    Err(io::Error::other(format!(
        "nginx is not installed and `apt-get install nginx-light` failed: {}",
        failures.join("; ")
    )))
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

fn apt_get(args: &[&str]) -> io::Result<()> {
    let output = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "apt-get {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// A loopback port nobody listens on now (bound, then released for nginx to take).
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `nginx -p <dir> -c <config> -e <dir>/error.log`: nginx on a configuration of its own, every
/// relative path and the early error log under `dir`.
pub fn command(
    binary: &std::path::Path,
    dir: &std::path::Path,
    config: &std::path::Path,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(config)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null());
    command
}
