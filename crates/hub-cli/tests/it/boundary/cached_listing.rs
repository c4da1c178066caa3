//! Class 9: state that poisons later runs. A hostile listing (a file that does not exist, a wrong
//! size and oid) is never cached, since a listing is written only after the files it selected were
//! fetched and verified; one already on disk (Python 2.4 writes it before downloading) is dropped
//! when the server disagrees with it and never read by `--force-download`, so an honest server
//! always succeeds; offline answers never rest on it.

use std::collections::BTreeMap;
use std::fs;

use hub_cache::tree::{self, Entry, Listing};

use super::scripted::*;

const CONFIG: &[u8] = b"{}\n\n\n";

/// What the hostile server lists: `config.json` 21 bytes with another oid, and `ghost.bin`, which
/// no server has.
fn poisoned() -> Listing {
    let entry = |size, blob_id: String| Entry {
        size,
        blob_id,
        lfs_sha256: None,
        lfs_size: None,
        xet_hash: None,
    };
    Listing {
        files: BTreeMap::from([
            (
                "config.json".to_owned(),
                entry(21, git_sha1(b"twenty-one bytes long")),
            ),
            ("ghost.bin".to_owned(), entry(21, git_sha1(b"ghost"))),
        ]),
    }
}

fn as_json(listing: &Listing) -> Vec<serde_json::Value> {
    listing
        .files
        .iter()
        .map(|(path, e)| entry(path, &e.blob_id, e.size))
        .collect()
}

fn served() -> BTreeMap<String, Served> {
    BTreeMap::from([("config.json".to_owned(), Served::regular(CONFIG))])
}

#[test]
fn a_poisoned_listing_is_never_cached_and_never_makes_an_honest_server_fail() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let canary = Canary::plant(tmp);
    let repo = repo_dir(tmp);
    let listing_file = tree::path(&repo, COMMIT);

    // 1. The hostile server: the run fails, and its listing is not kept.
    let hostile = start(as_json(&poisoned()), served());
    let output = download(tmp, &hostile, &[]).output().expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("`config.json`") || message.contains("`ghost.bin`"),
        "{message}"
    );
    assert!(!listing_file.exists(), "a listing that failed is cached");
    // Offline, nothing rests on the hostile listing: no file it named is reported or found.
    let offline = download(tmp, &hostile, &[])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run");
    assert!(
        !stderr(&offline).contains("ghost.bin"),
        "{}",
        stderr(&offline)
    );
    assert!(
        !repo
            .join("snapshots")
            .join(COMMIT)
            .join("ghost.bin")
            .exists()
    );

    // 2. A poisoned listing on disk, as Python writes it before downloading; then an honest server.
    let honest_files = served();
    let honest_listing = honest_listing(&honest_files);
    let honest = start(honest_listing, honest_files);
    tree::write(&repo, COMMIT, &poisoned()).expect("plant the listing");
    let output = download(tmp, &honest, &[]).output().expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    assert!(message.contains("disagrees with the Hub"), "{message}");
    let snapshot = repo.join("snapshots").join(COMMIT);
    assert_eq!(
        fs::read(snapshot.join("config.json")).expect("file"),
        CONFIG
    );
    let cached = tree::read(&repo, COMMIT).expect("the honest listing is cached");
    assert_eq!(
        cached.files.keys().collect::<Vec<_>>(),
        ["config.json"],
        "{cached:?}"
    );
    assert_eq!(cached.files["config.json"].size, CONFIG.len() as u64);
    assert_eq!(requests(&honest, "GET", "/tree/").len(), 1);

    // 3. Poisoned again: --force-download never reads it.
    tree::write(&repo, COMMIT, &poisoned()).expect("plant the listing");
    let before = requests(&honest, "GET", "/tree/").len();
    let ghosts =
        requests(&honest, "HEAD", "ghost.bin").len() + requests(&honest, "GET", "ghost.bin").len();
    let output = download(tmp, &honest, &["--force-download"])
        .output()
        .expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    assert!(!message.contains("disagrees"), "{message}");
    assert_eq!(requests(&honest, "GET", "/tree/").len(), before + 1);
    assert_eq!(
        requests(&honest, "HEAD", "ghost.bin").len() + requests(&honest, "GET", "ghost.bin").len(),
        ghosts,
        "the forced run asked for a file only the poisoned listing names"
    );
    assert_eq!(
        tree::read(&repo, COMMIT).expect("listing").files.len(),
        1,
        "the forced run cached the honest listing"
    );

    // 4. Offline, the honest listing proves the snapshot complete.
    let offline = download(tmp, &honest, &[])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run");
    assert_eq!(offline.status.code(), Some(0), "{}", stderr(&offline));
    assert_eq!(
        stdout(&offline).trim(),
        snapshot
            .canonicalize()
            .expect("snapshot")
            .display()
            .to_string()
    );
    canary.assert_untouched();
}
