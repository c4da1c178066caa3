//! Peak memory of a download does not grow with the file size.
//!
//! Its own test binary (an exception to one-binary-per-crate) because it installs a counting global
//! allocator and measures the whole process: nothing else may run beside it. The origin
//! (hub-server, in the same process) runs on a runtime of its own whose threads are not counted:
//! its read-ahead blocks are the server's memory, not the download's.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::Duration;

use hfhub_tests::counting::{Counting, peak_since, reset_peak, uncounted_runtime};
use hub_cache::hash::{HashKind, Hasher};
use hub_cache::write::{BlobOrigin, WriteOptions};
use hub_cache::{Cache, CommitHash, Repo, RepoId, RepoType};
use hub_http::{Client, DownloadRequest, Endpoint, ParallelOptions};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;

/// Writes an LFS file of `size` pseudo-random bytes into `cache` as `big/weights` at `main`.
fn plant(cache: &Cache, repo: &Repo, path: &str, size: usize, seed: u64) -> String {
    let writer = cache.writer(repo, WriteOptions::default());
    let incomplete = writer.create_incomplete_blob(&"0".repeat(64)).unwrap();
    let mut hasher = Hasher::new(HashKind::Sha256, size as u64);
    let mut out = std::io::BufWriter::new(incomplete.file);
    let mut state = seed;
    let mut block = vec![0u8; MIB];
    for _ in 0..size / MIB {
        for chunk in block.chunks_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        hasher.update(&block);
        out.write_all(&block).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let etag = hasher.finish();
    writer.publish_blob(&incomplete.path, &etag).unwrap();
    let commit = CommitHash::new(&"c".repeat(40)).unwrap();
    writer
        .link_pointer(&commit, path, &etag, BlobOrigin::Downloaded)
        .unwrap();
    writer.write_ref("main", &commit).unwrap();
    etag
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_memory_does_not_grow_with_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("served"));
    let repo = Repo::new(RepoType::Model, RepoId::new("big/file").unwrap());
    let sizes = [32 * MIB, 160 * MIB];
    for (i, size) in sizes.iter().enumerate() {
        plant(&cache, &repo, &format!("weights-{i}.bin"), *size, i as u64);
    }
    // The origin on its own uncounted runtime.
    let origin = uncounted_runtime();
    let server = origin
        .spawn(hub_server::Server::builder(cache.root().to_path_buf()).start())
        .await
        .unwrap()
        .unwrap();
    // Split over four connections (ranges held or read back out of order), then one connection
    // after the first range (every frame in order).
    for solo_speed in [u64::MAX, 0] {
        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.endpoint()))
            .with_download_timeout(Duration::from_secs(30))
            .with_parallel(ParallelOptions {
                threshold: 16 * MIB as u64,
                chunk_size: 8 * MIB as u64,
                connections: 4,
                solo_speed,
            })
            .build()
            .unwrap();
        let mut peaks = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let path = format!("weights-{i}.bin");
            let resolved = client.resolve(&repo, "main", &path).await.unwrap();
            let request = DownloadRequest {
                resolve_url: client.endpoint().resolve_url(&repo, "main", &path),
                location: resolved.location,
                expected_size: resolved.size,
                etag: resolved.etag,
                resume_from: 0,
            };
            let target = dir.path().join(format!("out-{i}"));
            let file = std::fs::File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&target)
                .unwrap();
            let baseline = reset_peak();
            let done = client.download(&request, file, |_| {}).await.unwrap();
            let peak = peak_since(baseline);
            assert_eq!(done.size, *size as u64);
            assert_eq!(std::fs::metadata(&target).unwrap().len(), *size as u64);
            eprintln!(
                "download of {} MiB (solo_speed {solo_speed}): peak heap {:.1} MiB above baseline",
                size / MIB,
                peak as f64 / MIB as f64
            );
            peaks.push(peak);
        }
        assert!(
            peaks[1] < 24 * MIB,
            "peak {} bytes for a 160 MiB file (solo_speed {solo_speed})",
            peaks[1]
        );
        // The hasher's held window (8 MiB) fills or not with how far the hasher lags, which the
        // machine's load decides: either file may or may not reach it. Growing with the file
        // would be about 128 MiB more here.
        assert!(
            peaks[1] < peaks[0] + 8 * MIB,
            "peak grew with the file size: {peaks:?} for sizes {sizes:?} (solo_speed {solo_speed})"
        );
    }
    drop(server);
    origin.shutdown_background();
}
