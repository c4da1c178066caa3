//! Crash safety: `hfhub download` of a large LFS file killed with SIGKILL at seeded random points,
//! then run to completion. Each killed run stalls after a seeded number of body bytes (so the kill
//! lands mid-body, at a different offset each time); the kill itself comes after a seeded delay.

use std::fs;
use std::time::{Duration, Instant};

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{Origin, Server};

use super::*;

const MIB: usize = 1 << 20;

/// `(trials, file size)`.
fn plan() -> (usize, usize) {
    if heavy() {
        (40, 63 * MIB)
    } else {
        (20, 40 * MIB)
    }
}

#[test]
fn sigkill_at_random_points_then_a_run_that_completes_without_refetching() {
    let (trials, size) = plan();
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let content = seeded_bytes(8, size);
    let repo = write_model(
        &served,
        "acme/big",
        "big-1",
        "main",
        &[("model.safetensors".to_owned(), content.clone(), true)],
    )
    .expect("served repo");
    let etag = repo.files[0].etag.clone();

    // Killed runs: the n-th CDN GET stalls after a seeded offset (about 1/2 of size/trials each, so
    // the file is not done before the last run).
    let mut rng = fastrand_like(0x5eed_c4a5);
    let per_trial = (size / trials) as u64;
    let mut builder = Server::builder(&served);
    for n in 1..=trials as u64 {
        let after = rng.next() % per_trial;
        builder = builder.with_fault(
            Fault::new(FaultKind::Stall {
                after,
                duration: Duration::from_secs(60),
            })
            .on(Origin::Cdn)
            .method("GET")
            .nth(n),
        );
    }
    let stalling = builder.start_blocking().expect("server");
    let cache = tmp.path().join("hub");
    let home = tmp.path().join("home");
    let blobs = cache.join("models--acme--big/blobs");
    let partial_len = || -> u64 {
        fs::read_dir(&blobs)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
                    .map(|e| e.metadata().map_or(0, |m| m.len()))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    let args = ["download", "acme/big", "model.safetensors", "--quiet"];
    let mut kills = 0;
    let mut on_disk_before = Vec::new();
    for _ in 0..trials {
        on_disk_before.push(partial_len());
        let mut child = hfhub(&home, &cache, &stalling.endpoint())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn hfhub");
        let delay = Duration::from_millis(20 + rng.next() % 400);
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().expect("poll").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().expect("poll").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        child.wait().expect("reap");
        assert!(
            !blobs.join(&etag).exists(),
            "a stalled download was never complete, so never published: {on_disk_before:?} {:#?}",
            stalling
                .request_log()
                .records()
                .iter()
                .filter(|r| r.origin == Origin::Cdn)
                .map(|r| (r.range.clone(), r.bytes_sent, r.fault.clone()))
                .collect::<Vec<_>>()
        );
    }
    // Every killed run asked only for the bytes not yet on disk when it started.
    let cdn: Vec<_> = stalling
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn && r.method == "GET")
        .collect();
    let starts: Vec<u64> = cdn
        .iter()
        .map(|r| range_start(r.range.as_deref()))
        .collect();
    let sent_to_killed: u64 = cdn.iter().map(|r| r.bytes_sent).sum();
    for start in &starts {
        assert!(
            on_disk_before.contains(start),
            "a GET from byte {start} matches no on-disk length {on_disk_before:?}"
        );
    }
    drop(stalling);

    // The final run against a healthy server.
    let before_final = partial_len();
    let healthy = Server::builder(&served).start_blocking().expect("server");
    let output = hfhub(&home, &cache, &healthy.endpoint())
        .args(args)
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = PathBuf::from(stdout(&output).trim_end());
    assert_eq!(fs::read(&printed).expect("read"), content);
    let cdn: Vec<_> = healthy
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn && r.method == "GET")
        .collect();
    assert_eq!(cdn.len(), 1, "{cdn:?}");
    assert_eq!(range_start(cdn[0].range.as_deref()), before_final);
    assert_eq!(cdn[0].bytes_sent, size as u64 - before_final);
    assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
    assert_eq!(verify_blobs(&cache), 1);
    eprintln!(
        "crash safety: {trials} runs, {kills} killed, {} GETs sent {sent_to_killed} bytes to killed \
         runs of which {before_final} were on disk before the final run; the final run fetched {} \
         of {size} bytes (Range from {before_final})",
        starts.len(),
        cdn[0].bytes_sent
    );
    assert!(kills >= trials / 2, "most runs must be killed: {kills}");
    assert!(before_final > 0, "some bytes reached disk before a kill");
}

fn range_start(range: Option<&str>) -> u64 {
    range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A tiny seeded generator (xorshift64), so the kill plan is the same on every run.
pub struct Rng(u64);

pub fn fastrand_like(seed: u64) -> Rng {
    Rng(seed | 1)
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Files of 64 MiB and more are fetched over 4 ranged connections, each writing its own region of
/// the temp file: a kill leaves holes before the file's end. The next run must still end with a
/// verified blob.
#[test]
fn a_parallel_download_killed_mid_way_still_ends_verified() {
    let size = 80 * MIB;
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let content = seeded_bytes(9, size);
    write_model(
        &served,
        "acme/huge",
        "huge-1",
        "main",
        &[("model.safetensors".to_owned(), content.clone(), true)],
    )
    .expect("served repo");
    // Every CDN GET stalls after 3 MiB: each connection leaves 2-3 MiB at its chunk's offset.
    let stalling = Server::builder(&served)
        .with_fault(
            Fault::new(FaultKind::Stall {
                after: 3 * MIB as u64,
                duration: Duration::from_secs(60),
            })
            .on(Origin::Cdn)
            .method("GET"),
        )
        .start_blocking()
        .expect("server");
    let cache = tmp.path().join("hub");
    let home = tmp.path().join("home");
    let args = ["download", "acme/huge", "model.safetensors", "--quiet"];
    let mut child = hfhub(&home, &cache, &stalling.endpoint())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let blobs = cache.join("models--acme--huge/blobs");
    let start = Instant::now();
    // Wait until the file reaches into the last chunk (bytes at 48 MiB and beyond are on disk).
    loop {
        let len = fs::read_dir(&blobs)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if len > (48 + 1) as u64 * MIB as u64 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the parallel download never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    drop(stalling);
    let healthy = Server::builder(&served).start_blocking().expect("server");
    let output = hfhub(&home, &cache, &healthy.endpoint())
        .args(args)
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read(stdout(&output).trim_end()).expect("read"), content);
    assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
    assert_eq!(verify_blobs(&cache), 1);
    let fetched: u64 = healthy
        .request_log()
        .records()
        .iter()
        .filter(|r| r.origin == Origin::Cdn)
        .map(|r| r.bytes_sent)
        .sum();
    eprintln!("parallel crash: final run fetched {fetched} of {size} bytes");
}
