//! `local_dir` disk work that grows with the file runs off the async runtime (issue 16): on a
//! current-thread runtime, checking a 1 GiB local file against its sha256 ETag (no metadata yet, so
//! upstream re-hashes it) does not hold up another download: the small file finishes first.

use std::fs;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hfhub_tests::synthetic::write_model;
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint};
use hub_server::Server;
use hub_server::fault::{Fault, FaultKind};
use hub_sync::{Downloader, Event, FileRequest};

/// sha256 of 2^30 zero bytes (a sparse file of 1 GiB costs no disk).
const ZEROS_1GIB_SHA256: &str = "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14";
const GIB: u64 = 1 << 30;

fn sparse_zeros(path: &std::path::Path) {
    fs::File::create(path)
        .and_then(|file| file.set_len(GIB))
        .expect("sparse file");
}

#[test]
fn hashing_a_large_local_file_does_not_stall_another_download() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let repo = write_model(
        &served,
        "acme/big",
        "big-1",
        "main",
        &[("small.txt".to_owned(), b"small\n".to_vec(), false)],
    )
    .expect("served repo");
    sparse_zeros(&repo.path.join("blobs").join(ZEROS_1GIB_SHA256));
    hfhub_tests::tree::write(
        &served,
        &format!(
            "models--acme--big/snapshots/{}/big.bin => {ZEROS_1GIB_SHA256}",
            repo.commit
        ),
    );
    // The small file's requests wait a little, so its download surely overlaps the hashing.
    let server = Server::builder(&served)
        .with_fault(
            Fault::new(FaultKind::Delay(Duration::from_millis(300))).path_contains("small.txt"),
        )
        .start_blocking()
        .expect("server");
    let local = tmp.path().join("local");
    fs::create_dir_all(&local).expect("local dir");
    sparse_zeros(&local.join("big.bin"));

    let finished = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.endpoint()))
            .build()
            .expect("client");
        let record = finished.clone();
        let downloader =
            Downloader::new(client, Cache::new(tmp.path().join("hub"))).with_events(move |event| {
                if let Event::FileFinished {
                    filename,
                    downloaded,
                    ..
                } = event
                {
                    record
                        .lock()
                        .expect("events")
                        .push((filename.clone(), *downloaded));
                }
            });
        let id = Repo::model("acme/big").expect("repo id");
        let big = FileRequest::new(id.clone(), "big.bin").with_local_dir(Some(local.clone()));
        let small = FileRequest::new(id, "small.txt").with_local_dir(Some(local.clone()));
        let (big, small) = tokio::join!(
            downloader.download_file(&big),
            downloader.download_file(&small)
        );
        big.expect("big file checked");
        small.expect("small file downloaded");
    });
    assert_eq!(
        *finished.lock().expect("events"),
        [
            ("small.txt".to_owned(), true),
            ("big.bin".to_owned(), false)
        ],
        "the small download finished while the large file was hashed"
    );
    assert_eq!(
        fs::read(local.join("small.txt")).expect("small"),
        b"small\n"
    );
    assert_eq!(fs::metadata(local.join("big.bin")).expect("big").len(), GIB);
}
