//! The listing side of the trust boundary at the library level, against the in-memory fake: the
//! patterns run before the path rule, a refused name fails the run before any byte is fetched, a
//! listing is cached only after the run verified it, and a cached listing the Hub contradicts is
//! dropped and the commit listed again.

use std::collections::BTreeMap;

use hub_cache::Cache;
use hub_cache::tree::{self, Entry, Listing};
use hub_sync::{Downloader, Error, SnapshotRequest};

use crate::support::*;

const EVIL: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn file(content: &[u8]) -> FakeFile {
    FakeFile {
        content: content.to_vec(),
        lfs: false,
    }
}

#[tokio::test]
async fn a_listed_git_folder_fails_the_run_unless_the_patterns_leave_it_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fake = Fake::default();
    fake.add_commit(
        EVIL,
        &[
            (".git/config", file(b"[core]\n\tfsmonitor = evil\n")),
            ("README.md", file(b"# hi\n")),
        ],
    );
    fake.set_ref("main", EVIL);
    let downloader = Downloader::new(fake, Cache::new(tmp.path()));
    let repo_dir = tmp.path().join("models--org--fake");

    let error = downloader
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect_err("a .git name is refused");
    match &error {
        Error::InvalidFilename { filename, .. } => assert_eq!(filename, ".git/config"),
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("`.git` component"), "{error}");
    assert_eq!(downloader.remote().count("GET"), 0);
    assert!(!tree::path(&repo_dir, EVIL).exists());
    assert!(!repo_dir.join("refs").exists(), "nothing written");

    let folder = downloader
        .snapshot(&SnapshotRequest::new(repo()).with_ignore(Some(vec![".git/*".to_owned()])))
        .await
        .expect("the rest downloads");
    assert!(folder.join("README.md").is_file());
    assert!(!folder.join(".git").exists());
    assert_eq!(downloader.remote().count("GET"), 1);
    // The listing is cached as the server sent it (as Python writes it), once the run succeeded.
    let cached = tree::read(&repo_dir, EVIL).expect("cached listing");
    assert_eq!(cached.files.len(), 2);
}

#[tokio::test]
async fn a_cached_listing_the_hub_contradicts_is_dropped_and_listed_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let downloader = Downloader::new(Fake::standard(), Cache::new(tmp.path()));
    let repo_dir = tmp.path().join("models--org--fake");
    // `config.json` with another blob id than the Hub's.
    let poisoned = Listing {
        files: BTreeMap::from([(
            "config.json".to_owned(),
            Entry {
                size: 9,
                blob_id: "d".repeat(40),
                lfs_sha256: None,
                lfs_size: None,
                xet_hash: None,
            },
        )]),
    };
    tree::write(&repo_dir, MAIN, &poisoned).expect("plant");
    let folder = downloader
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect("an honest Hub succeeds");
    assert_eq!(downloader.remote().count("TREE"), 1, "listed again");
    assert!(folder.join("config.json").is_file());
    assert!(folder.join("model.bin").is_file());
    let cached = tree::read(&repo_dir, MAIN).expect("the honest listing");
    assert_eq!(cached.files.len(), 3);
    assert_eq!(
        cached.files["config.json"].blob_id,
        downloader.remote().file(MAIN, "config.json").etag()
    );
    // A force run never reads a cached listing.
    tree::write(&repo_dir, MAIN, &poisoned).expect("plant");
    downloader
        .snapshot(&SnapshotRequest::new(repo()).with_force_download(true))
        .await
        .expect("forced");
    assert_eq!(downloader.remote().count("TREE"), 2);
    assert_eq!(tree::read(&repo_dir, MAIN).expect("listing").files.len(), 3);
}
