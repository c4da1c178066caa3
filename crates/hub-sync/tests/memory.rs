//! Peak memory of a snapshot grows with its listing, not with a download in flight per file: a
//! snapshot of ten times the files costs little more than the listing's own entries.
//!
//! Its own test binary because it installs a counting global allocator (the whole process's); the
//! origin (hub-server, in the same process) runs on a runtime whose threads are not counted.

#![allow(clippy::unwrap_used)]

use hfhub_tests::counting::{Counting, peak_since, reset_peak, uncounted_runtime};
use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint};
use hub_sync::{Downloader, SnapshotRequest};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a file of the larger snapshot may add at most: its listing entry, its planned download,
/// its path in the result. A task per file waiting for a permit was about 7 KiB.
const PER_FILE: usize = 2048;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_ten_times_the_files_does_not_hold_a_download_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    let counts = [200usize, 2_000];
    for count in counts {
        let files: Vec<_> = (0..count)
            .map(|i| {
                (
                    format!("d{:02}/f{i:05}.txt", i % 20),
                    seeded_bytes(i as u64, 64),
                    false,
                )
            })
            .collect();
        write_model(
            &served,
            &format!("acme/files-{count}"),
            "m-1",
            "main",
            &files,
        )
        .unwrap();
    }
    let origin = uncounted_runtime();
    let server = origin
        .spawn(hub_server::Server::builder(served).start())
        .await
        .unwrap()
        .unwrap();
    let client = Client::builder()
        .with_endpoint(Endpoint::new(server.endpoint()))
        .build()
        .unwrap();
    let downloader = Downloader::new(client, Cache::new(tmp.path().join("hub")));
    let mut peaks = Vec::new();
    for count in counts {
        let request = SnapshotRequest::new(Repo::model(&format!("acme/files-{count}")).unwrap());
        let baseline = reset_peak();
        let folder = downloader.snapshot(&request).await.unwrap();
        peaks.push(peak_since(baseline));
        assert_eq!(
            walkdir::WalkDir::new(&folder)
                .into_iter()
                .filter(|e| e.as_ref().is_ok_and(|e| !e.file_type().is_dir()))
                .count(),
            count
        );
    }
    eprintln!("snapshot peak heap above baseline: {peaks:?} bytes for {counts:?} files");
    let extra_files = counts[1] - counts[0];
    assert!(
        peaks[1] < peaks[0] + extra_files * PER_FILE,
        "peak heap {peaks:?} for {counts:?} files: more than {PER_FILE} bytes per extra file"
    );
    drop(server);
    origin.shutdown_background();
}
