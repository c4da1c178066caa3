//! Integrity: a server sending wrong bytes for an LFS file (CDN) and for a regular file (Hub) never
//! gets them published as blobs, whatever the offset of the flipped byte; a blob corrupted on disk
//! afterwards is found by hashing it (`hub_cache::hash`, what `hfhub cache verify` uses; the command
//! itself is not on this branch yet).

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::hash::{HashKind, hash_reader};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{Origin, Server};
use hub_sync::{Downloader, FileRequest, SnapshotRequest};

use super::*;
use std::fs;
use std::path::{Path, PathBuf};

/// Blobs whose content does not hash to their name.
fn corrupted_blobs(cache: &Path) -> Vec<PathBuf> {
    let mut bad = Vec::new();
    for entry in walkdir::WalkDir::new(cache)
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .flatten()
    {
        let path = entry.path();
        if path.parent().and_then(Path::file_name) != Some("blobs".as_ref()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(kind) = HashKind::of_blob_name(&name) else {
            continue;
        };
        let file = fs::File::open(path).expect("open");
        let size = file.metadata().expect("stat").len();
        if hash_reader(kind, size, file).expect("hash") != name {
            bad.push(path.to_path_buf());
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bytes_are_never_published_and_on_disk_corruption_is_found() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let files = vec![
        ("weights.bin".to_owned(), seeded_bytes(21, 3 << 20), true),
        ("config.json".to_owned(), seeded_bytes(22, 70_000), false),
    ];
    let repo = write_model(&served, "acme/honest", "honest-1", "main", &files).expect("repo");
    let offsets: Vec<u64> = if heavy() {
        (0..40).map(|i| i * 70_001 % 70_000).collect()
    } else {
        vec![0, 1, 4095, 65_536, 69_999]
    };
    let mut trials = 0;
    for &offset in &offsets {
        for file in &repo.files {
            let fault = Fault::new(FaultKind::Corrupt { offset }).method("GET");
            let fault = if file.lfs {
                fault.on(Origin::Cdn)
            } else {
                fault.on(Origin::Hub).path_contains(&file.path)
            };
            let server = Server::builder(&served)
                .with_fault(fault)
                .start()
                .await
                .expect("server");
            let cache = tmp.path().join(format!("hub-{trials}"));
            let client = Client::builder()
                .with_endpoint(Endpoint::new(server.endpoint()))
                .with_retry(RetryPolicy::none())
                .build()
                .expect("client");
            let downloader =
                Downloader::new(client, Cache::new(&cache)).with_retry(RetryPolicy::none());
            let repo_id = Repo::model("acme/honest").expect("repo");
            let result = downloader
                .download_file(&FileRequest::new(repo_id.clone(), file.path.as_str()))
                .await;
            let error = result.expect_err("wrong bytes must not be accepted");
            let message = format!(
                "{error}: {}",
                std::error::Error::source(&error).map_or(String::new(), |s| s.to_string())
            );
            assert!(
                message.contains("sha256 of the content")
                    || message.contains("sha1 of the content"),
                "{message}"
            );
            let blobs = cache.join("models--acme--honest/blobs");
            let published: Vec<_> = fs::read_dir(&blobs)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| !e.file_name().to_string_lossy().ends_with(".incomplete"))
                        .map(|e| e.path())
                        .collect()
                })
                .unwrap_or_default();
            assert!(published.is_empty(), "published: {published:?}");
            assert!(
                !cache
                    .join("models--acme--honest/snapshots")
                    .join(&repo.commit)
                    .join(&file.path)
                    .exists()
            );
            server.shutdown().await;
            trials += 1;
        }
    }

    // An honest download, then a byte flipped on disk in each blob: the hash check finds both.
    let server = Server::builder(&served).start().await.expect("server");
    let cache = tmp.path().join("hub-honest");
    let client = Client::builder()
        .with_endpoint(Endpoint::new(server.endpoint()))
        .build()
        .expect("client");
    Downloader::new(client, Cache::new(&cache))
        .snapshot(&SnapshotRequest::new(
            Repo::model("acme/honest").expect("repo"),
        ))
        .await
        .expect("honest snapshot");
    assert_eq!(corrupted_blobs(&cache), Vec::<PathBuf>::new());
    let mut flipped = Vec::new();
    for file in &repo.files {
        let blob = cache.join("models--acme--honest/blobs").join(&file.etag);
        let mut bytes = fs::read(&blob).expect("read blob");
        bytes[1234] ^= 0x01;
        fs::write(&blob, bytes).expect("corrupt blob");
        flipped.push(blob);
    }
    flipped.sort();
    let mut found = corrupted_blobs(&cache);
    found.sort();
    assert_eq!(found, flipped);
    server.shutdown().await;
    eprintln!(
        "integrity: {trials} corrupted downloads (LFS and regular, {} offsets), 0 published; {} blobs corrupted on disk, {} found",
        offsets.len(),
        flipped.len(),
        found.len()
    );
}

/// A partial download holding wrong bytes (as a killed parallel download leaves, with holes) is
/// resumed, fails verification, and is downloaded again from byte 0 in the same run, in cache and
/// `local_dir` modes; it is never published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_file_with_wrong_bytes_is_downloaded_again_in_the_same_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let content = seeded_bytes(31, 2 << 20);
    let repo = write_model(
        &served,
        "acme/partial",
        "partial-1",
        "main",
        &[("weights.bin".to_owned(), content.clone(), true)],
    )
    .expect("repo");
    let etag = repo.files[0].etag.clone();
    let server = Server::builder(&served).start().await.expect("server");
    for local in [false, true] {
        let area = tmp.path().join(format!("area-{local}"));
        let (cache, local_dir) = (area.join("hub"), area.join("local"));
        // Half of the file, zeros where a parallel connection had not written yet.
        let partial_dir = if local {
            let paths = hub_sync::local_dir::LocalPaths::new(&local_dir, "weights.bin");
            let dir = paths.metadata.parent().expect("download dir").to_path_buf();
            let name = format!("{}0badf00d.incomplete", paths.incomplete_prefix(&etag));
            (dir, name)
        } else {
            (
                cache.join("models--acme--partial/blobs"),
                format!("{etag}.0badf00d.incomplete"),
            )
        };
        fs::create_dir_all(&partial_dir.0).expect("partial dir");
        let mut holes = content[..1 << 20].to_vec();
        holes[1000..300_000].fill(0);
        fs::write(partial_dir.0.join(&partial_dir.1), holes).expect("partial");
        server.request_log().clear();
        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.endpoint()))
            .build()
            .expect("client");
        let path = Downloader::new(client, Cache::new(&cache))
            .download_file(
                &FileRequest::new(Repo::model("acme/partial").expect("repo"), "weights.bin")
                    .with_local_dir(local.then(|| local_dir.clone())),
            )
            .await
            .expect("downloaded again in the same run");
        assert_eq!(
            fs::read(&path).expect("read"),
            content,
            "local_dir: {local}"
        );
        let ranges: Vec<_> = server
            .request_log()
            .records()
            .into_iter()
            .filter(|r| r.origin == Origin::Cdn)
            .map(|r| r.range)
            .collect();
        assert_eq!(
            ranges,
            [Some(format!("bytes={}-{}", 1 << 20, (2 << 20) - 1)), None]
        );
        assert!(!partial_dir.0.join(&partial_dir.1).exists());
        if !local {
            assert_eq!(corrupted_blobs(&cache), Vec::<PathBuf>::new());
        }
    }
    server.shutdown().await;
}
