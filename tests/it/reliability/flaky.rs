//! A flaky server: 10 % of file downloads dropped mid-body, 5 % of all requests answered 503 or 429
//! with `Retry-After`; a snapshot of 500 files completes and every byte is verified.

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{Origin, Server};
use hub_sync::{Downloader, SnapshotRequest};
use std::time::Duration;

use super::*;

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_file_snapshot_completes_through_drops_and_503_429() {
    let (files, seeds): (usize, &[u64]) = if heavy() {
        (2000, &[1, 2, 3])
    } else {
        (500, &[1])
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let specs: Vec<(String, Vec<u8>, bool)> = (0..files)
        .map(|i| {
            let lfs = i % 10 == 0;
            let size = if lfs { 4096 + i } else { 300 + (i * 37) % 2500 };
            (
                format!(
                    "shard-{:02}/file-{i:04}.{}",
                    i % 16,
                    if lfs { "bin" } else { "txt" }
                ),
                seeded_bytes(1000 + i as u64, size),
                lfs,
            )
        })
        .collect();
    let repo_files = write_model(&served, "acme/many", "many-1", "main", &specs).expect("repo");
    for &seed in seeds {
        let server = Server::builder(&served)
            .with_fault(
                Fault::new(FaultKind::DropAfter(200))
                    .on(Origin::Hub)
                    .method("GET")
                    .path_contains("/resolve/")
                    .share(10, seed),
            )
            .with_fault(
                Fault::new(FaultKind::DropAfter(200))
                    .on(Origin::Cdn)
                    .method("GET")
                    .share(10, seed + 100),
            )
            .with_fault(Fault::status(503, Some(1)).share(3, seed + 200))
            .with_fault(Fault::status(429, Some(1)).share(2, seed + 300))
            .start()
            .await
            .expect("server");
        let cache = tmp.path().join(format!("hub-{seed}"));
        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.endpoint()))
            .with_retry(policy())
            .build()
            .expect("client");
        let downloader = Downloader::new(client, Cache::new(&cache))
            .with_retry(policy())
            .with_max_workers(8);
        let snapshot = downloader
            .snapshot(&SnapshotRequest::new(
                Repo::model("acme/many").expect("repo"),
            ))
            .await
            .expect("the snapshot completes");
        hfhub_tests::tree::assert_holds(
            &snapshot,
            repo_files
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.content.as_slice())),
        );
        assert_eq!(verify_blobs(&cache), files);
        let records = server.request_log().records();
        let faulted = records.iter().filter(|r| r.fault.is_some()).count();
        let dropped = records
            .iter()
            .filter(|r| r.fault.as_deref().is_some_and(|f| f.contains("DropAfter")))
            .count();
        let incomplete = walkdir::WalkDir::new(&cache)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
            .count();
        assert_eq!(incomplete, 0);
        eprintln!(
            "flaky server (seed {seed}): {files} files, {} requests, {faulted} faults ({dropped} dropped \
             mid-body, {} 503/429), 0 failures",
            records.len(),
            faulted - dropped
        );
        assert!(
            dropped > files / 20 && faulted > dropped,
            "the faults happened"
        );
        server.shutdown().await;
    }
}
