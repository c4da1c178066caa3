//! Class 1 (the listing side): a size of 1e18 bytes in a listing or a `HEAD` never sizes an
//! allocation or a pre-allocation; it is refused as an invalid answer naming the file, before any
//! byte is fetched or anything is written.

use std::collections::BTreeMap;

use super::scripted::*;

const HUGE: u64 = 1_000_000_000_000_000_000;

#[test]
fn a_listed_size_of_1e18_is_refused_before_anything_is_fetched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let body = Served::regular(b"small\n");
    let server = start(
        vec![
            entry("huge.bin", &body.etag, HUGE),
            entry("fine.txt", &body.etag, 6),
        ],
        BTreeMap::from([
            ("huge.bin".to_owned(), body.clone()),
            ("fine.txt".to_owned(), body),
        ]),
    );
    for local in [false, true] {
        let local_dir = tmp.path().join("local");
        let local_arg = local_dir.to_str().expect("utf-8").to_owned();
        let args: Vec<&str> = if local {
            vec!["--local-dir", &local_arg]
        } else {
            vec![]
        };
        let output = download(tmp.path(), &server, &args).output().expect("run");
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert!(message.contains("(file `huge.bin`)"), "{message}");
        assert!(
            message.contains(&format!("announced as {HUGE} bytes")),
            "{message}"
        );
        assert!(requests(&server, "GET", "/resolve/").is_empty());
        assert!(!repo_dir(tmp.path()).join("blobs").exists());
        assert!(!local_dir.join("fine.txt").exists());
    }
    // Excluded, the rest downloads.
    let output = download(tmp.path(), &server, &["--exclude", "huge.bin"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    canary.assert_untouched();
}

#[test]
fn a_head_announcing_1e18_bytes_is_refused_before_anything_is_fetched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let mut body = Served::regular(b"small\n");
    body.announced = Some(HUGE);
    let server = start(vec![], BTreeMap::from([("huge.bin".to_owned(), body)]));
    let output = download(tmp.path(), &server, &["huge.bin"])
        .output()
        .expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("(file `huge.bin`)"), "{message}");
    assert!(
        message.contains(&format!("announced as {HUGE} bytes")),
        "{message}"
    );
    assert_eq!(requests(&server, "HEAD", "huge.bin").len(), 1);
    assert!(requests(&server, "GET", "/resolve/").is_empty());
    assert!(!repo_dir(tmp.path()).join("blobs").exists());
    canary.assert_untouched();
}
