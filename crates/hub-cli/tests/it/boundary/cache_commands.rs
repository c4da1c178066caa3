//! `scan-cache`, `cache ls` and `cache verify` on a tampered cache (classes 7, 8, 10 and 12): a
//! pointer to a file outside the cache is never counted and is reported; a ref that is a link to an
//! outside file is never read nor printed; a ref that is a FIFO or too large does not hang nor fill
//! memory; names with control characters are printed escaped; blob names count in either case.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Output;

use hfhub_tests::hostile::Canary;
use hfhub_tests::synthetic::{SyntheticRepo, seeded_bytes, write_model};

use super::*;

/// A cache with one honest repo, a canary beside it, and what the test plants.
struct Tampered {
    tmp: tempfile::TempDir,
    repo: SyntheticRepo,
    canary: Canary,
}

impl Tampered {
    fn new() -> Tampered {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = write_model(
            &tmp.path().join("hub"),
            "acme/tiny",
            "tiny-1",
            "main",
            &[
                ("model.bin".to_owned(), seeded_bytes(3, 4096), true),
                ("config.json".to_owned(), b"{}\n".to_vec(), false),
            ],
        )
        .expect("repo");
        let canary = Canary::plant(tmp.path());
        Tampered { tmp, repo, canary }
    }

    fn cache(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    fn snapshot(&self) -> PathBuf {
        self.repo.path.join("snapshots").join(&self.repo.commit)
    }

    fn run(&self, args: &[&str]) -> Output {
        hfhub(
            &self.tmp.path().join("home"),
            &self.cache(),
            "http://127.0.0.1:9",
        )
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run hfhub")
    }

    /// `scan-cache -vvv`, `cache ls --revisions --show-warnings`, `cache verify` on this cache.
    fn all(&self) -> [(&'static str, Output); 3] {
        let dir = self.cache().display().to_string();
        [
            (
                "scan-cache",
                self.run(&["scan-cache", "--dir", &dir, "-vvv"]),
            ),
            (
                "cache ls",
                self.run(&[
                    "cache",
                    "ls",
                    "--cache-dir",
                    &dir,
                    "--revisions",
                    "--show-warnings",
                    "--no-truncate",
                ]),
            ),
            (
                "cache verify",
                self.run(&["cache", "verify", "--dir", &dir]),
            ),
        ]
    }
}

fn both(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

#[test]
fn a_pointer_to_an_outside_file_is_never_counted_and_is_reported() {
    let t = Tampered::new();
    // A large outside file, so counting it would show in the sizes.
    let outside = t.canary.dir.join("big-outside");
    fs::write(&outside, vec![7u8; 3 << 20]).expect("outside file");
    let canary = Canary::plant(&t.tmp.path().join("second"));
    symlink(&outside, t.snapshot().join("leak.bin")).expect("plant");
    let [(_, scan), (_, ls), (_, verify)] = t.all();
    assert_eq!(scan.status.code(), Some(0), "{}", both(&scan));
    assert!(stdout(&scan).contains("4.1K"), "{}", stdout(&scan));
    assert!(!stdout(&scan).contains("3.1M"), "{}", stdout(&scan));
    assert!(
        stderr(&scan).contains("leak.bin`: it resolves outside the cache"),
        "{}",
        stderr(&scan)
    );
    assert_eq!(ls.status.code(), Some(0), "{}", both(&ls));
    assert!(
        stderr(&ls).contains("leak.bin`: it resolves outside the cache"),
        "{}",
        stderr(&ls)
    );
    assert!(!stdout(&ls).contains("3.1M"), "{}", stdout(&ls));
    assert_eq!(verify.status.code(), Some(1), "{}", both(&verify));
    let out = stdout(&verify);
    assert!(out.contains("pointer outside the cache: "), "{out}");
    assert!(out.contains("leak.bin -> "), "{out}");
    assert!(out.contains(": 1 problem(s)."), "{out}");
    canary.assert_untouched();
}

#[test]
fn a_ref_linked_to_an_outside_file_is_never_read_nor_printed() {
    let t = Tampered::new();
    let secret = t.canary.dir.join("passwd");
    symlink(&secret, t.repo.path.join("refs/evil")).expect("plant");
    for (name, output) in t.all() {
        let text = both(&output);
        assert!(!text.contains("root:x:0:0"), "{name}: {text}");
        if name != "cache verify" {
            assert_eq!(output.status.code(), Some(0), "{name}: {text}");
            assert!(text.contains("ignoring ref `"), "{name}: {text}");
            assert!(
                text.contains("refs/evil` is not a regular file"),
                "{name}: {text}"
            );
        }
    }
    t.canary.assert_untouched();
}

#[test]
fn a_ref_that_is_a_fifo_or_huge_is_refused_without_hanging() {
    let t = Tampered::new();
    let fifo = t.repo.path.join("refs/fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    fs::write(t.repo.path.join("refs/huge"), vec![b'a'; 1 << 20]).expect("huge ref");
    for (name, output) in t.all() {
        let text = both(&output);
        if name == "cache verify" {
            assert_eq!(output.status.code(), Some(0), "{name}: {text}");
            continue;
        }
        assert_eq!(output.status.code(), Some(0), "{name}: {text}");
        assert!(
            text.contains("refs/fifo` is not a regular file"),
            "{name}: {text}"
        );
        assert!(
            text.contains("refs/huge` is larger than 65536 bytes"),
            "{name}: {text}"
        );
        assert!(!text.contains(&"a".repeat(41)), "{name}: {text}");
    }
    t.canary.assert_untouched();
}

#[test]
fn names_with_control_characters_are_printed_escaped() {
    let t = Tampered::new();
    fs::write(t.repo.path.join("refs/x\x1b[2Jy\x07"), &t.repo.commit).expect("ref");
    // A second repo whose broken pointer's name clears the screen: a scan warning, a verify problem.
    let other = write_model(
        &t.cache(),
        "acme/other",
        "other-1",
        "main",
        &[("a.txt".to_owned(), b"a".to_vec(), false)],
    )
    .expect("repo");
    let snapshot = other.path.join("snapshots").join(&other.commit);
    symlink("../../blobs/mi\x1bssing", snapshot.join("b\x1b[2Jad")).expect("pointer");
    for (name, output) in t.all() {
        let text = both(&output);
        assert!(
            !text.contains('\x1b') && !text.contains('\x07'),
            "{name}: {text:?}"
        );
        assert!(text.contains("mi\\u{1b}ssing"), "{name}: {text}");
        if name == "cache verify" {
            assert!(text.contains("b\\u{1b}[2Jad"), "{name}: {text}");
        } else {
            assert!(text.contains("x\\u{1b}[2Jy\\u{7}"), "{name}: {text}");
        }
    }
}

#[test]
fn a_ref_to_a_missing_commit_shows_at_most_forty_characters() {
    let t = Tampered::new();
    let long = format!("{}{}", "c".repeat(40), "SECRET-TAIL".repeat(100));
    fs::write(t.repo.path.join("refs/long"), &long).expect("ref");
    let dir = t.cache().display().to_string();
    let scan = t.run(&["scan-cache", "--dir", &dir, "-vvv"]);
    let text = both(&scan);
    assert_eq!(scan.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("'{}…'", "c".repeat(40))), "{text}");
    assert!(!text.contains("SECRET-TAIL"), "{text}");
}

#[test]
fn verify_reads_blob_names_in_either_case() {
    let t = Tampered::new();
    let blobs = t.repo.path.join("blobs");
    let lfs = t
        .repo
        .files
        .iter()
        .find(|f| f.lfs)
        .expect("an lfs file")
        .etag
        .clone();
    let upper = lfs.to_uppercase();
    fs::copy(blobs.join(&lfs), blobs.join(&upper)).expect("upper-case copy");
    let dir = t.cache().display().to_string();
    let good = t.run(&["cache", "verify", "--dir", &dir]);
    assert_eq!(good.status.code(), Some(0), "{}", both(&good));
    assert!(
        stdout(&good).contains("Verified 3 blob(s)"),
        "{}",
        stdout(&good)
    );
    fs::write(blobs.join(&upper), b"tampered").expect("tamper");
    let bad = t.run(&["cache", "verify", "--dir", &dir]);
    assert_eq!(bad.status.code(), Some(1), "{}", both(&bad));
    let out = stdout(&bad);
    assert!(
        out.contains(&format!("corrupted blob: {}", blobs.join(&upper).display())),
        "{out}"
    );
}
