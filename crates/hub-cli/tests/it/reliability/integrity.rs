//! Integrity through the binary: wrong bytes from the server (LFS file from the CDN, regular file
//! from the Hub) are never published by `hfhub download`, and a blob corrupted on disk afterwards is
//! reported by `hfhub cache verify` (exit code 1, one line per blob).

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{Origin, Server};

use super::*;

#[test]
fn wrong_bytes_are_never_published_and_cache_verify_reports_corrupted_blobs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let files = vec![
        ("weights.bin".to_owned(), seeded_bytes(51, 1 << 20), true),
        ("config.json".to_owned(), seeded_bytes(52, 50_000), false),
    ];
    let repo = write_model(&served, "acme/checked", "checked-1", "main", &files).expect("repo");
    let home = tmp.path().join("home");
    let cache = tmp.path().join("hub");
    let corrupting = Server::builder(&served)
        .with_fault(
            Fault::new(FaultKind::Corrupt { offset: 4321 })
                .on(Origin::Cdn)
                .method("GET"),
        )
        .with_fault(
            Fault::new(FaultKind::Corrupt { offset: 4321 })
                .on(Origin::Hub)
                .method("GET")
                .path_contains("config.json"),
        )
        .start_blocking()
        .expect("server");
    for file in &repo.files {
        let output = hfhub(&home, &cache, &corrupting.endpoint())
            .args(["download", "acme/checked", &file.path, "--quiet"])
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("of the content"),
            "{}",
            stderr(&output)
        );
        assert!(
            !cache
                .join("models--acme--checked/blobs")
                .join(&file.etag)
                .exists()
        );
    }
    let honest = Server::builder(&served).start_blocking().expect("server");
    let output = hfhub(&home, &cache, &honest.endpoint())
        .args(["download", "acme/checked", "--quiet"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let verify = || {
        hfhub(&home, &cache, &honest.endpoint())
            .args(["cache", "verify", "--dir"])
            .arg(&cache)
            .output()
            .expect("run verify")
    };
    let clean = verify();
    assert!(
        clean.status.success(),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert!(
        stdout(&clean).contains("0 problem(s)"),
        "{}",
        stdout(&clean)
    );
    let mut flipped = Vec::new();
    for file in &repo.files {
        let blob = cache.join("models--acme--checked/blobs").join(&file.etag);
        let mut bytes = fs::read(&blob).expect("read blob");
        bytes[777] ^= 0x80;
        fs::write(&blob, bytes).expect("corrupt blob");
        flipped.push(blob);
    }
    let dirty = verify();
    assert_eq!(dirty.status.code(), Some(1), "{}", stderr(&dirty));
    let out = stdout(&dirty);
    for blob in &flipped {
        assert!(
            out.lines()
                .any(|l| l.starts_with("corrupted blob:") && l.contains(&*blob.to_string_lossy())),
            "{out}"
        );
    }
    assert!(out.contains("2 problem(s)"), "{out}");
    eprintln!(
        "integrity (cli): 2 corrupted downloads refused, 2 corrupted blobs reported by cache verify"
    );
}
