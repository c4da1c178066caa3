//! `download --local-dir` into a folder someone planted links in (classes 5, 7 and 11): no write
//! follows a link at any component, the last one included; a folder swapped for a link while the
//! download runs does not receive the file; a cache pointer that leads outside the cache is never
//! copied.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use hfhub_tests::hostile::Canary;
use hfhub_tests::synthetic::{SyntheticRepo, seeded_bytes, write_model};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{BlockingServer, Origin, Server};

use super::*;

const REPO: &str = "acme/tiny";

pub(super) struct Setup {
    tmp: tempfile::TempDir,
    pub(super) repo: SyntheticRepo,
    pub(super) canary: Canary,
}

impl Setup {
    /// A served repo with an LFS file at the top and a small file in a sub-folder, and a canary.
    pub(super) fn new() -> Setup {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = write_model(
            &tmp.path().join("served"),
            REPO,
            "tiny-1",
            "main",
            &[
                ("model.bin".to_owned(), seeded_bytes(5, 64 * 1024), true),
                (
                    "sub/config.json".to_owned(),
                    b"{\"a\": 1}\n".to_vec(),
                    false,
                ),
            ],
        )
        .expect("served repo");
        let canary = Canary::plant(tmp.path());
        Setup { tmp, repo, canary }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn local(&self) -> PathBuf {
        self.path("local")
    }

    fn hf(&self) -> PathBuf {
        self.local().join(".cache/huggingface")
    }

    pub(super) fn served(&self) -> BlockingServer {
        Server::builder(self.path("served"))
            .start_blocking()
            .expect("server")
    }

    /// `hfhub download acme/tiny ARGS --local-dir <local>` against `server`.
    fn download(&self, server: &BlockingServer, args: &[&str]) -> Output {
        let local = self.local();
        hfhub(&self.path("home"), &self.path("hub"), &server.endpoint())
            .arg("download")
            .arg(REPO)
            .args(args)
            .arg("--local-dir")
            .arg(&local)
            .output()
            .expect("run hfhub")
    }

    fn content(&self, name: &str) -> &[u8] {
        &self
            .repo
            .files
            .iter()
            .find(|f| f.path == name)
            .expect("served file")
            .content
    }
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn a_metadata_file_planted_as_a_link_is_replaced_and_its_target_untouched() {
    let s = Setup::new();
    let download = s.hf().join("download");
    fs::create_dir_all(&download).expect("download dir");
    let metadata = download.join("model.bin.metadata");
    symlink(s.canary.dir.join("passwd"), &metadata).expect("plant");
    let server = s.served();
    let output = s.download(&server, &["model.bin"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        fs::read(s.local().join("model.bin")).expect("file"),
        s.content("model.bin")
    );
    assert!(!is_link(&metadata), "the metadata link is replaced");
    let text = fs::read_to_string(&metadata).expect("metadata");
    assert!(text.starts_with(&format!("{}\n", s.repo.commit)), "{text}");
    s.canary.assert_untouched();
}

#[test]
fn a_dangling_gitignore_link_creates_nothing_outside() {
    let s = Setup::new();
    fs::create_dir_all(s.hf()).expect("hf dir");
    let planted = s.canary.dir.join("planted-by-gitignore");
    symlink(&planted, s.hf().join(".gitignore")).expect("plant");
    symlink(s.canary.dir.join("tag"), s.hf().join("CACHEDIR.TAG")).expect("plant");
    let server = s.served();
    let output = s.download(&server, &["sub/config.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        fs::read(s.local().join("sub/config.json")).expect("file"),
        s.content("sub/config.json")
    );
    assert!(!planted.exists() && !s.canary.dir.join("tag").exists());
    assert!(is_link(&s.hf().join(".gitignore")));
    s.canary.assert_untouched();
}

#[test]
fn a_symlinked_trees_folder_receives_no_listing() {
    let s = Setup::new();
    fs::create_dir_all(s.hf()).expect("hf dir");
    symlink(s.canary.dir.join("sub"), s.hf().join("trees")).expect("plant");
    let server = s.served();
    // A snapshot (no file named) writes the listing, then the files.
    let output = s.download(&server, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("trees` is a symbolic link or not a folder; refusing to write through it"),
        "{err}"
    );
    assert_eq!(
        fs::read(s.local().join("model.bin")).expect("file"),
        s.content("model.bin")
    );
    s.canary.assert_untouched();
}

#[test]
fn a_symlinked_cache_folder_is_refused_before_anything_is_written() {
    for args in [&["model.bin"][..], &[][..]] {
        let s = Setup::new();
        fs::create_dir_all(s.local()).expect("local dir");
        symlink(s.canary.dir.join("sub"), s.local().join(".cache")).expect("plant");
        let server = s.served();
        let output = s.download(&server, args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        let named = format!(
            "`{}` is a symbolic link or not a folder; refusing to write through it",
            s.local().join(".cache").display()
        );
        assert!(err.contains(&named), "{args:?}: {err}");
        assert!(!s.local().join("model.bin").exists(), "{args:?}");
        s.canary.assert_untouched();
    }
}

#[test]
fn a_folder_swapped_for_a_link_during_a_download_does_not_receive_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let size = 2 << 20;
    write_model(
        &tmp.path().join("served"),
        REPO,
        "tiny-2",
        "main",
        &[("sub/big.bin".to_owned(), seeded_bytes(9, size), true)],
    )
    .expect("served repo");
    let canary = Canary::plant(tmp.path());
    // Every body stalls for a while after its first 256 KiB: the swap happens then.
    let server = Server::builder(tmp.path().join("served"))
        .with_fault(
            Fault::new(FaultKind::Stall {
                after: 256 * 1024,
                duration: Duration::from_secs(4),
            })
            .on(Origin::Cdn)
            .method("GET"),
        )
        .start_blocking()
        .expect("server");
    let local = tmp.path().join("local");
    let mut child = hfhub(
        &tmp.path().join("home"),
        &tmp.path().join("hub"),
        &server.endpoint(),
    )
    .args(["download", REPO, "sub/big.bin", "--local-dir"])
    .arg(&local)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn hfhub");
    // Wait until the download has bytes on disk.
    let partial_dir = local.join(".cache/huggingface/download/sub");
    let started = Instant::now();
    let receiving = || {
        fs::read_dir(&partial_dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_string_lossy().ends_with(".incomplete")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
        })
    };
    while !receiving() {
        if let Ok(Some(status)) = child.try_wait() {
            let output = child.wait_with_output().expect("output");
            panic!(
                "hfhub ended ({status}) before the swap: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fs::rename(local.join("sub"), local.join("sub-moved")).expect("move the folder away");
    symlink(canary.dir.join("sub"), local.join("sub")).expect("swap in a link");
    let output = child.wait_with_output().expect("wait for hfhub");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let named = format!(
        "`{}` is a symbolic link or not a folder; refusing to write through it",
        local.join("sub").display()
    );
    assert!(err.contains(&named), "{err}");
    assert!(!local.join("sub-moved/big.bin").exists());
    canary.assert_untouched();
}

#[test]
fn a_cache_pointer_to_an_outside_file_is_fetched_not_copied() {
    let s = Setup::new();
    // The user's cache claims the commit's model.bin, as a link to a file outside the cache.
    let cached = s.path("hub/models--acme--tiny");
    let snapshot = cached.join("snapshots").join(&s.repo.commit);
    fs::create_dir_all(&snapshot).expect("snapshot");
    fs::create_dir_all(cached.join("refs")).expect("refs");
    fs::write(cached.join("refs/main"), &s.repo.commit).expect("ref");
    symlink(s.canary.dir.join("passwd"), snapshot.join("model.bin")).expect("plant");
    let server = s.served();
    let output = s.download(&server, &["model.bin"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("resolves outside the cache"), "{err}");
    assert_eq!(
        fs::read(s.local().join("model.bin")).expect("file"),
        s.content("model.bin")
    );
    // A second run trusts the metadata of the downloaded file, not the outside one.
    let again = s.download(&server, &["model.bin"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        fs::read(s.local().join("model.bin")).expect("file"),
        s.content("model.bin")
    );
    s.canary.assert_untouched();
}

#[test]
fn a_cache_pointer_to_an_outside_file_is_never_returned_in_cache_mode() {
    let s = Setup::new();
    // The cache claims the commit's files as links to a file outside the cache.
    let cached = s.path("hub/models--acme--tiny");
    let snapshot = cached.join("snapshots").join(&s.repo.commit);
    fs::create_dir_all(snapshot.join("sub")).expect("snapshot");
    fs::create_dir_all(cached.join("refs")).expect("refs");
    fs::write(cached.join("refs/main"), &s.repo.commit).expect("ref");
    symlink(s.canary.dir.join("passwd"), snapshot.join("model.bin")).expect("plant");
    symlink(
        s.canary.dir.join("sub/config"),
        snapshot.join("sub/config.json"),
    )
    .expect("plant");
    let server = s.served();
    // By branch (resolved online) and by commit (answered from the cache without a request when
    // the pointer is usable): both fetch the real bytes and replace the planted links.
    for (file, revision) in [
        ("model.bin", "main"),
        ("sub/config.json", s.repo.commit.as_str()),
    ] {
        let output = hfhub(&s.path("home"), &s.path("hub"), &server.endpoint())
            .args(["download", REPO, file, "--revision", revision])
            .output()
            .expect("run hfhub");
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{file}: {err}");
        assert!(err.contains("resolves outside the cache"), "{file}: {err}");
        let printed = PathBuf::from(stdout(&output).trim());
        assert_eq!(fs::read(&printed).expect("file"), s.content(file), "{file}");
        let real = fs::canonicalize(&printed).expect("resolve");
        assert!(
            real.starts_with(fs::canonicalize(s.path("hub")).expect("cache")),
            "{file} still resolves to {}",
            real.display()
        );
    }
    s.canary.assert_untouched();
}
