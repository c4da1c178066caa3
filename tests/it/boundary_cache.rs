//! The cache and `local_dir` side of the trust boundary at the library level (issue 11, classes 5, 7
//! and 10): bookkeeping files read only as capped regular files, folders reached without following
//! links, pointers that lead outside the cache never opened. Each test plants the folder and keeps a
//! canary outside that must stay byte-identical.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};

use hfhub_tests::hostile::Canary;
use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::local_dir::LocalDir;
use hub_cache::tree::{self, Entry, Listing};
use hub_cache::{Cache, Repo, RepoPath};

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

fn listing() -> Listing {
    let mut listing = Listing::default();
    listing.files.insert(
        "a.txt".to_owned(),
        Entry {
            size: 1,
            blob_id: "e".repeat(40),
            lfs_sha256: None,
            lfs_size: None,
            xet_hash: None,
        },
    );
    listing
}

#[test]
fn metadata_and_listings_that_are_fifos_or_links_are_not_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let root = tmp.path().join("local");
    let local = LocalDir::open(&root).expect("local dir");
    let hf = local.prepare().expect("prepare");
    let file = RepoPath::parse("f.txt").expect("path");
    fs::write(root.join("f.txt"), b"x").expect("file");
    fs::create_dir_all(hf.join("download")).expect("download");
    fs::create_dir_all(hf.join("trees")).expect("trees");
    let commit = "c".repeat(40);
    // FIFOs with no writer: a plain read would block for ever.
    mkfifo(&hf.join("download/f.txt.metadata"));
    mkfifo(&hf.join(format!("trees/{commit}.json")));
    let started = Instant::now();
    assert_eq!(local.read_metadata(&file), None);
    assert_eq!(tree::read(hf.path(), &commit), None);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Links to files outside (holding a valid listing and valid metadata) are not followed.
    let outside_listing = canary.dir.join("listing.json");
    let outside_metadata = canary.dir.join("f.metadata");
    fs::remove_file(hf.join(format!("trees/{commit}.json"))).expect("rm fifo");
    fs::remove_file(hf.join("download/f.txt.metadata")).expect("rm fifo");
    let canary = {
        fs::write(&outside_listing, listing().to_json()).expect("listing");
        fs::write(&outside_metadata, format!("{commit}\netag\n9999999999.0\n")).expect("meta");
        Canary::plant(&tmp.path().join("second"))
    };
    symlink(&outside_listing, hf.join(format!("trees/{commit}.json"))).expect("plant");
    symlink(&outside_metadata, hf.join("download/f.txt.metadata")).expect("plant");
    assert_eq!(tree::read(hf.path(), &commit), None);
    assert_eq!(local.read_metadata(&file), None);
    // A regular listing is read.
    fs::remove_file(hf.join(format!("trees/{commit}.json"))).expect("rm link");
    assert!(tree::write(hf.path(), &commit, &listing()).expect("write"));
    assert_eq!(tree::read(hf.path(), &commit), Some(listing()));
    canary.assert_untouched();
}

#[test]
fn a_listing_is_never_written_through_a_planted_link() {
    for planted in [".cache", ".cache/huggingface", ".cache/huggingface/trees"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let canary = Canary::plant(tmp.path());
        let root = tmp.path().join("local");
        let link = root.join(planted);
        fs::create_dir_all(link.parent().expect("parent")).expect("parents");
        symlink(canary.dir.join("sub"), &link).expect("plant");
        let hf = root.join(".cache/huggingface");
        let error = tree::write(&hf, &"c".repeat(40), &listing()).expect_err(planted);
        let text = format!(
            "{error}: {}",
            std::error::Error::source(&error).expect("cause")
        );
        assert!(text.contains("symbolic link"), "{planted}: {text}");
        canary.assert_untouched();
    }
}

#[test]
fn a_cached_pointer_that_leads_outside_the_cache_is_never_opened() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let cache_dir = tmp.path().join("hub");
    let repo = write_model(
        &cache_dir,
        "acme/tiny",
        "tiny-1",
        "main",
        &[("model.bin".to_owned(), seeded_bytes(1, 100), true)],
    )
    .expect("repo");
    let cache = Cache::new(&cache_dir);
    let id = Repo::model("acme/tiny").expect("repo id");
    let inside = cache
        .open_cached_file(&id, "model.bin", Some(&repo.commit))
        .expect("lookup");
    assert!(inside.is_some());
    let snapshot = repo.path.join("snapshots").join(&repo.commit);
    symlink(canary.dir.join("passwd"), snapshot.join("leak.txt")).expect("plant");
    let outside = cache
        .open_cached_file(&id, "leak.txt", Some(&repo.commit))
        .expect("lookup");
    assert!(outside.is_none());
    // Nor is it found by the lookups that hand out paths (the offline branch included).
    assert_eq!(
        cache
            .try_to_load_from_cache(&id, "leak.txt", Some(&repo.commit))
            .expect("lookup"),
        hub_cache::CachedFile::Unknown
    );
    assert!(cache.cached_file(&id, Some("main"), "leak.txt").is_err());
    assert!(cache.cached_file(&id, Some("main"), "model.bin").is_ok());
    // A ref linked to an outside file is not read either.
    symlink(canary.dir.join("passwd"), repo.path.join("refs/evil")).expect("plant");
    assert_eq!(cache.repo(&id).read_ref("evil").expect("read"), None);
    assert_eq!(cache.commit_for_revision(&id, "evil").expect("read"), None);
    // Upstream's numbers count the outside file; a confined scan does not; both name it.
    let upstream = hub_cache::scan(&cache_dir).expect("scan");
    assert_eq!(upstream.refused.len(), 2, "{:?}", upstream.refused);
    assert_eq!(upstream.repos[0].revisions[0].files.len(), 2);
    let options = hub_cache::scan::Options::new().with_confined(true);
    let confined = hub_cache::scan::scan_with(&cache_dir, &options).expect("scan");
    assert_eq!(confined.refused, upstream.refused);
    assert_eq!(confined.repos[0].size_on_disk, 100);
    assert_eq!(confined.repos[0].revisions[0].files.len(), 1);
    canary.assert_untouched();
}

#[test]
fn an_honest_cache_scans_with_nothing_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_model(
        &tmp.path().join("hub"),
        "acme/tiny",
        "tiny-1",
        "main",
        &[
            ("model.bin".to_owned(), seeded_bytes(1, 100), true),
            ("sub/c.json".to_owned(), b"{}".to_vec(), false),
        ],
    )
    .expect("repo");
    let report = hub_cache::scan(tmp.path().join("hub")).expect("scan");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.repos[0].nb_files, 2);
}

/// Every write of a [`hub_cache::RepoWriter`] reaches its folder below the repository folder
/// without following a link, with symlinks and without (moved and copied blobs): a link planted at
/// any depth is refused with a message naming it, and the canary outside stays untouched. Without
/// a plant, the same calls succeed (the control).
#[test]
fn no_cache_write_follows_a_folder_link_planted_below_the_repository_folder() {
    use hub_cache::{BlobOrigin, CommitHash, Symlinks, WriteOptions};
    let commit = CommitHash::new(&"c".repeat(40)).expect("commit");
    let etag = "e".repeat(40);
    let plants = [
        None,
        Some("blobs".to_owned()),
        Some("snapshots".to_owned()),
        Some(format!("snapshots/{commit}")),
        Some(format!("snapshots/{commit}/sub")),
        Some("refs".to_owned()),
        Some("refs/pr".to_owned()),
        Some(".no_exist".to_owned()),
        Some(format!(".no_exist/{commit}/sub")),
    ];
    for symlinks in [Symlinks::Supported, Symlinks::Disabled] {
        for planted in &plants {
            let tmp = tempfile::tempdir().expect("tempdir");
            let canary = Canary::plant(tmp.path());
            let cache = Cache::new(tmp.path().join("hub"));
            let repo = Repo::model("acme/tiny").expect("repo");
            let folder = cache.repo(&repo).path().to_path_buf();
            fs::create_dir_all(&folder).expect("repo folder");
            if let Some(planted) = planted {
                let link = folder.join(planted);
                fs::create_dir_all(link.parent().expect("parent")).expect("parents");
                symlink(canary.dir.join("sub"), &link).expect("plant");
            }
            let writer = cache.writer(&repo, WriteOptions::default().with_symlinks(symlinks));
            let mut errors = Vec::new();
            let mut note = |result: Result<(), hub_cache::write::WriteError>| {
                if let Err(error) = result {
                    errors.push(format!(
                        "{error}: {}",
                        std::error::Error::source(&error).map_or(String::new(), |s| s.to_string())
                    ));
                }
            };
            let blob = writer.create_incomplete_blob(&etag);
            if let Ok(mut blob) = blob {
                std::io::Write::write_all(&mut blob.file, b"x").expect("write");
                note(writer.publish_blob(&blob.path, &etag).map(drop));
            } else if let Err(error) = blob {
                note(Err(error));
            }
            for (path, origin) in [
                ("top.txt", BlobOrigin::Existing),
                ("sub/a.txt", BlobOrigin::Existing),
                ("sub/b.txt", BlobOrigin::Downloaded),
            ] {
                note(writer.link_pointer(&commit, path, &etag, origin).map(drop));
            }
            note(writer.write_ref("main", &commit).map(drop));
            note(writer.write_ref("pr/1", &commit).map(drop));
            note(writer.mark_no_exist(&commit, "sub/missing.txt").map(drop));
            canary.assert_untouched();
            match planted {
                None => assert!(errors.is_empty(), "{symlinks:?}: {errors:?}"),
                Some(planted) => {
                    assert!(
                        !errors.is_empty(),
                        "{symlinks:?} {planted}: nothing refused"
                    );
                    for error in &errors {
                        assert!(
                            error.contains("symbolic link") || error.contains("does not exist"),
                            "{symlinks:?} {planted}: {error}"
                        );
                    }
                }
            }
        }
    }
}
