//! `hfhub cache verify`: planted corruption is found, clean caches pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{fixtures, output, stdout};

fn verify(dir: &Path, repos: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
    command
        .args(["cache", "verify", "--dir"])
        .arg(dir)
        .args(repos);
    let result = output(&mut command);
    (result.status.code(), stdout(&result))
}

/// Blobs of a repo folder, by name length (64: sha256, 40: git sha1).
fn blobs(repo: &Path, name_len: usize) -> Vec<PathBuf> {
    let mut blobs: Vec<PathBuf> = fs::read_dir(repo.join("blobs"))
        .expect("blobs dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().expect("name").len() == name_len)
        .collect();
    blobs.sort();
    blobs
}

#[test]
fn verify_passes_every_clean_fixture_and_flags_the_missing_blob_one() {
    let root = tempfile::tempdir().expect("temp dir");
    for (name, dir) in fixtures(root.path()) {
        let (code, text) = verify(&dir, &[]);
        if name == "corrupt-missing-blob" {
            assert_eq!(code, Some(1), "{name}: {text}");
            assert!(text.contains("missing blob: "), "{name}: {text}");
        } else {
            assert_eq!(code, Some(0), "{name}: {text}");
            assert!(text.ends_with(": 0 problem(s).\n"), "{name}: {text}");
        }
    }
}

#[test]
fn verify_finds_corrupted_missing_blobs_and_broken_pointers() {
    let root = tempfile::tempdir().expect("temp dir");
    let fixture = hfhub_tests::fixtures::generate(root.path(), hfhub_tests::fixtures::BIG_MIXED)
        .expect("fixture");
    let dir = fixture.cache_dir;
    let (code, clean) = verify(&dir, &[]);
    assert_eq!(code, Some(0), "{clean}");

    let gpt2 = dir.join("models--gpt2");
    let lfs = blobs(&gpt2, 64);
    let regular = blobs(&gpt2, 40);
    assert!(
        !lfs.is_empty() && regular.len() >= 2,
        "gpt2 has both kinds of blobs"
    );
    // A flipped byte in an LFS blob and a regular blob of the same size with other content.
    let mut bytes = fs::read(&lfs[0]).expect("read");
    bytes[0] ^= 0xff;
    fs::write(&lfs[0], &bytes).expect("write");
    let size = fs::metadata(&regular[0]).expect("stat").len() as usize;
    fs::write(&regular[0], vec![b'x'; size]).expect("write");
    // A blob deleted under its pointers.
    fs::remove_file(&regular[1]).expect("remove");
    // A pointer leading outside blobs/.
    let snapshot = fs::read_dir(gpt2.join("snapshots"))
        .expect("snapshots")
        .next()
        .expect("a snapshot")
        .expect("entry")
        .path();
    std::os::unix::fs::symlink("../../nowhere/file", snapshot.join("planted.bin")).expect("link");

    let (code, text) = verify(&dir, &[]);
    assert_eq!(code, Some(1), "{text}");
    let corrupted: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("corrupted blob: "))
        .collect();
    assert_eq!(corrupted.len(), 2, "{text}");
    assert!(
        corrupted
            .iter()
            .any(|l| l.contains(&lfs[0].display().to_string()) && l.contains("sha256"))
    );
    assert!(
        corrupted
            .iter()
            .any(|l| l.contains(&regular[0].display().to_string()) && l.contains("git blob sha1"))
    );
    let missing: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("missing blob: "))
        .collect();
    assert!(!missing.is_empty(), "{text}");
    assert!(
        missing
            .iter()
            .all(|l| l.ends_with(&regular[1].display().to_string())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "broken pointer: {}",
            snapshot.join("planted.bin").display()
        )),
        "{text}"
    );

    // Only the named repos are checked.
    let (code, text) = verify(&dir, &["dataset/wikitext"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("in 1 repo(s): 0 problem(s)."), "{text}");
    let (code, text) = verify(&dir, &["model/gpt2"]);
    assert_eq!(code, Some(1), "{text}");
    let (code, _) = verify(&dir, &["model/not-cached"]);
    assert_eq!(code, Some(1));
}
