//! Locks that do not work, simulated with `HFHUB_TEST_LOCKS` (`noop`: every lock "succeeds" without
//! locking; `fail`: every lock fails), a stale lock left by a killed process, and a wait reported.

use std::time::{Duration, Instant};

use hfhub_tests::synthetic::{SyntheticRepo, seeded_bytes, write_model};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{BlockingServer, Origin, Server};

use super::*;

fn served(root: &Path, lfs_size: usize) -> SyntheticRepo {
    let mut files: Vec<(String, Vec<u8>, bool)> = (0..6)
        .map(|i| {
            (
                format!("small-{i}.txt"),
                seeded_bytes(100 + i, 3000 + i as usize),
                false,
            )
        })
        .collect();
    files.push(("weights.bin".to_owned(), seeded_bytes(7, lfs_size), true));
    files.push(("extra.bin".to_owned(), seeded_bytes(8, lfs_size / 2), true));
    write_model(root, "acme/locked", "locked-1", "main", &files).expect("repo")
}

fn check_snapshot(cache: &Path, repo: &SyntheticRepo) {
    let snapshot = cache
        .join("models--acme--locked/snapshots")
        .join(&repo.commit);
    hfhub_tests::tree::assert_holds(
        &snapshot,
        repo.files
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_slice())),
    );
}

#[test]
fn with_locks_that_do_nothing_eight_processes_still_leave_a_correct_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rounds = if heavy() { 10 } else { 2 };
    let repo = served(&tmp.path().join("served"), 6 << 20);
    let server = Server::builder(tmp.path().join("served"))
        .start_blocking()
        .expect("server");
    let mut failures = 0;
    for round in 0..rounds {
        let cache = tmp.path().join(format!("hub-{round}"));
        let children: Vec<_> = (0..8)
            .map(|_| {
                hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
                    .args(["download", "acme/locked", "--quiet"])
                    .env("HFHUB_TEST_LOCKS", "noop")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            if !output.status.success() {
                failures += 1;
                eprintln!("{}", stderr(&output));
            }
        }
        // Whatever failed, nothing wrong was published.
        verify_blobs(&cache);
        // A run with working locks finishes the job and leaves no temp file.
        let output = hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
            .args(["download", "acme/locked", "--quiet"])
            .output()
            .expect("run");
        assert!(output.status.success(), "{}", stderr(&output));
        check_snapshot(&cache, &repo);
        assert_eq!(verify_blobs(&cache), repo.files.len());
        assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
    }
    eprintln!("noop locks: {rounds} rounds of 8 processes, {failures} failed runs");
    assert_eq!(failures, 0);
}

#[test]
fn with_locks_that_always_fail_nothing_is_published_and_the_error_names_the_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = served(&tmp.path().join("served"), 1 << 20);
    let server = Server::builder(tmp.path().join("served"))
        .start_blocking()
        .expect("server");
    let cache = tmp.path().join("hub");
    let output = hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
        .args(["download", "acme/locked", "weights.bin", "--quiet"])
        .env("HFHUB_TEST_LOCKS", "fail")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(".lock") && err.contains("weights.bin") && err.contains("does not work"),
        "{err}"
    );
    let blobs = cache.join("models--acme--locked/blobs");
    assert!(!blobs.exists() || fs::read_dir(&blobs).expect("blobs").count() == 0);
    assert!(hub_cache::scan(&cache).expect("scan").warnings.is_empty());
    let _ = repo;
}

/// Serves with the first CDN GET stalled after 1.5 MiB: the download holds its lock meanwhile.
fn stalling_server(root: &Path) -> BlockingServer {
    Server::builder(root)
        .with_fault(
            Fault::new(FaultKind::Stall {
                after: 3 << 19,
                duration: Duration::from_secs(60),
            })
            .on(Origin::Cdn)
            .method("GET")
            .first(1),
        )
        .start_blocking()
        .expect("server")
}

fn wait_for_partial(blobs: &Path) {
    let start = Instant::now();
    loop {
        let found = fs::read_dir(blobs).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
        });
        if found {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_lock_left_by_a_killed_process_does_not_block_the_next_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = served(&tmp.path().join("served"), 4 << 20);
    let server = stalling_server(&tmp.path().join("served"));
    let cache = tmp.path().join("hub");
    let home = tmp.path().join("home");
    let mut child = hfhub(&home, &cache, &server.endpoint())
        .args(["download", "acme/locked", "weights.bin", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_partial(&cache.join("models--acme--locked/blobs"));
    let weights = repo
        .files
        .iter()
        .find(|f| f.path == "weights.bin")
        .expect("weights");
    let lock = cache
        .join(".locks/models--acme--locked")
        .join(format!("{}.lock", weights.etag));
    assert!(
        hub_cache::FileLock::new(&lock)
            .try_acquire()
            .expect("lock")
            .is_none(),
        "the running download holds the lock"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(lock.is_file(), "the lock file stays behind");
    let start = Instant::now();
    let output = hfhub(&home, &cache, &server.endpoint())
        .args(["download", "acme/locked", "weights.bin", "--quiet"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?} {:#?}",
        start.elapsed(),
        server.request_log().records()
    );
    assert_eq!(
        fs::read(stdout(&output).trim_end()).expect("read"),
        weights.content
    );
}

#[test]
fn waiting_for_a_lock_held_elsewhere_is_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = served(&tmp.path().join("served"), 1 << 20);
    let server = Server::builder(tmp.path().join("served"))
        .start_blocking()
        .expect("server");
    let cache = tmp.path().join("hub");
    let weights = repo
        .files
        .iter()
        .find(|f| f.path == "weights.bin")
        .expect("weights");
    let lock = cache
        .join(".locks/models--acme--locked")
        .join(format!("{}.lock", weights.etag));
    let guard = hub_cache::FileLock::new(&lock)
        .acquire()
        .expect("hold the lock");
    let child = hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
        // Default log level: the wait is reported without asking.
        .args(["download", "acme/locked", "weights.bin"])
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // hub-cache reports every 10 s (upstream's FILELOCK_LOG_EVERY_SECONDS).
    std::thread::sleep(Duration::from_millis(10_700));
    drop(guard);
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "Still waiting to acquire lock on {}",
            lock.display()
        )),
        "{err}"
    );
}
