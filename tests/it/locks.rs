//! Our locks and Python's `filelock` (through huggingface_hub 2.4's `WeakFileLock`) exclude each other on
//! the same `.locks/<repo_folder>/<etag>.lock` file.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_cache::lock::{FileLock, LockError};
use hub_cache::{Cache, Repo};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Python takes the lock, says so, holds it for 1.5 s, then prints the release time.
const PY_HOLD: &str = r#"
import sys, time
from huggingface_hub.utils._fixes import WeakFileLock
with WeakFileLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(1.5)
    released = time.time()
print(f"released {released!r}", flush=True)
"#;

#[test]
fn python_lock_blocks_ours_until_released() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path());
    let path = cache.blob_lock_path(&Repo::model("org/alpha").unwrap(), "0123abcd");
    let oracle = Oracle::get(HF_HUB_2X);
    let mut child = oracle
        .command()
        .arg("-c")
        .arg(PY_HOLD)
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "locked");
    // Python created the lock file (and its parents) with mode 0664.
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o664
    );

    let lock = FileLock::new(&path).with_timeout(Duration::from_secs(20));
    assert!(
        lock.try_acquire().unwrap().is_none(),
        "python holds the lock"
    );
    let started = Instant::now();
    let guard = lock.acquire().unwrap();
    let acquired_at = now();
    assert!(started.elapsed() >= Duration::from_millis(500));
    let released_line = lines.next().unwrap().unwrap();
    let released_at: f64 = released_line
        .strip_prefix("released ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        acquired_at >= released_at,
        "acquired at {acquired_at}, python released at {released_at}"
    );
    drop(guard);
    assert!(child.wait().unwrap().success());
    assert!(path.is_file(), "lock files stay on disk");
}

/// Python tries with `timeout=0.3` (must time out while we hold the lock), then waits for it.
const PY_CONTEND: &str = r#"
import sys, time
from filelock import Timeout
from huggingface_hub.utils._fixes import WeakFileLock
try:
    with WeakFileLock(sys.argv[1], timeout=0.3):
        print("acquired-early", flush=True)
except Timeout:
    print("timeout", flush=True)
with WeakFileLock(sys.argv[1], timeout=20):
    print(f"acquired {time.time()!r}", flush=True)
"#;

#[test]
fn our_lock_blocks_python() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path());
    let path = cache.blob_lock_path(&Repo::model("org/alpha").unwrap(), "0123abcd");
    let guard = FileLock::new(&path).acquire().unwrap();
    // We created parents and the file, mode 0664 like 2.x.
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o664
    );

    let oracle = Oracle::get(HF_HUB_2X);
    let mut child = oracle
        .command()
        .arg("-c")
        .arg(PY_CONTEND)
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "timeout");
    std::thread::sleep(Duration::from_millis(300));
    let released_at = now();
    drop(guard);
    let acquired_line = lines.next().unwrap().unwrap();
    let acquired_at: f64 = acquired_line
        .strip_prefix("acquired ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        acquired_at >= released_at,
        "python acquired at {acquired_at}, we released at {released_at}"
    );
    assert!(child.wait().unwrap().success());

    // Our timeout variant gives up while another handle holds the lock.
    let held = FileLock::new(&path).acquire().unwrap();
    let timed = FileLock::new(&path)
        .with_timeout(Duration::from_millis(100))
        .acquire();
    assert!(matches!(timed, Err(LockError::Timeout { .. })));
    drop(held);
}

#[test]
fn waiting_is_logged_at_info() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.lock");
    let held = FileLock::new(&path).acquire().unwrap();
    let logs = crate::cache_write::capture_logs(|| {
        let waiter = FileLock::new(&path)
            .with_log_every(Duration::from_millis(100))
            .with_timeout(Duration::from_millis(350));
        assert!(matches!(waiter.acquire(), Err(LockError::Timeout { .. })));
    });
    drop(held);
    let waiting: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("Still waiting"))
        .collect();
    assert!((2..=4).contains(&waiting.len()), "{logs}");
    let expected = format!(
        "INFO Still waiting to acquire lock on {} (elapsed: 0.",
        path.display()
    );
    assert!(waiting[0].contains(&expected), "{logs}");
    assert!(waiting[0].ends_with(" seconds)"), "{logs}");
}
