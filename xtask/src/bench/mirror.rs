//! Scenario 9: a pull-through mirror (`hfhub serve --upstream`, issue 18) in front of the bench's
//! `hfhub serve`: 8 `hfhub download` clients ask it for the large file at the same moment, with an
//! empty mirror cache each round. Measured: the wall time until the last client has the verified
//! file, the bytes the mirror took from the origin (its `/metrics`) and the requests the origin
//! logged.

use std::fs;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};

use super::data::{LARGE_FILE, LARGE_REPO};
use super::scenarios::{Bench, check_file, printed_in};
use crate::serve::Server;

/// Clients at once.
pub const CLIENTS: usize = 8;

/// The measured rounds.
#[derive(Debug, Clone)]
pub struct MirrorRun {
    pub clients: usize,
    /// The file's size.
    pub size: u64,
    /// Wall seconds of each round.
    pub seconds: Vec<f64>,
    /// Bytes the mirror downloaded from the origin in each round.
    pub upstream_bytes: Vec<u64>,
    /// Requests the origin logged in each round.
    pub origin_requests: Vec<u64>,
}

pub fn mirror(bench: &Bench) -> anyhow::Result<MirrorRun> {
    let hfhub = bench.peers.hfhub.as_path();
    let origin = bench.serve;
    let expected = &bench.data.large;
    let mut result = MirrorRun {
        clients: CLIENTS,
        size: expected.size,
        seconds: Vec::new(),
        upstream_bytes: Vec::new(),
        origin_requests: Vec::new(),
    };
    let rounds = bench.rounds.warmup + bench.rounds.measured;
    for round in 0..rounds {
        let scratch = bench.scratch("mirror")?;
        let cache = scratch.join("mirror-cache");
        fs::create_dir_all(&cache)
            .with_context(|| format!("cannot create `{}`", cache.display()))?;
        let log = fs::File::create(scratch.join("mirror.log"))
            .with_context(|| format!("cannot create `{}`", scratch.display()))?;
        let mirror = Server::start_with_args(
            hfhub,
            &cache,
            log.into(),
            "warn",
            &["--upstream", &origin.endpoint],
        )?;
        let mark = origin.mark()?;
        let started = Instant::now();
        let children = (0..CLIENTS)
            .map(|client| {
                let home = scratch.join(format!("client-{client}"));
                Command::new(hfhub)
                    .args(["download", LARGE_REPO, LARGE_FILE])
                    .env("HF_ENDPOINT", &mirror.endpoint)
                    .env("HF_HOME", &home)
                    .env_remove("HF_TOKEN")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map(|child| (home, child))
                    .context("cannot start `hfhub download`")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut outputs = Vec::new();
        for (home, child) in children {
            let output = child
                .wait_with_output()
                .context("waiting for `hfhub download`")?;
            outputs.push((home, output));
        }
        let seconds = started.elapsed().as_secs_f64();
        let load = origin.since(mark)?;
        for (home, output) in &outputs {
            ensure!(
                output.status.success(),
                "hfhub download through the mirror failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            check_file(&printed_in(&stdout, &home.join("hub"))?, expected)?;
        }
        let metrics = Command::new("curl")
            .args(["-sS", "-f"])
            .arg(format!("{}/metrics", mirror.endpoint))
            .output()
            .context("cannot run curl")?;
        let page = String::from_utf8_lossy(&metrics.stdout);
        let upstream = page
            .lines()
            .find_map(|line| line.strip_prefix("hfhub_mirror_upstream_bytes_total "))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .context("the mirror's /metrics has no hfhub_mirror_upstream_bytes_total")?;
        drop(mirror);
        fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot remove `{}`", scratch.display()))?;
        if round >= bench.rounds.warmup {
            result.seconds.push(seconds);
            result.upstream_bytes.push(upstream);
            result.origin_requests.push(load.requests);
        }
    }
    Ok(result)
}
