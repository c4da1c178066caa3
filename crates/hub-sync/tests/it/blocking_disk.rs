//! Disk work whose cost grows with the file never runs on the async runtime (issue 16): on a
//! current-thread runtime, a blob copy (the no-symlink fallback) that the disk holds up for as long
//! as the test likes does not stop another download from streaming to its end.
//!
//! The slow disk is a FIFO standing in for the blob: the copy blocks reading it until the test
//! writes the bytes, which it does only once the other download finished (or after a minute, when
//! it never does: then the test fails). Nothing is timed: the stream's completion while the copy is
//! held, and one single GET for it (no stall-timeout abandonment), are what is asserted.

use std::fs;
use std::io::Write as _;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use hfhub_tests::hostile::{Hostile, Reply, answer};
use hub_cache::hash::{HashKind, hash_bytes};
use hub_cache::write::{Symlinks, WriteOptions};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_sync::{Downloader, Event, FileRequest};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const CHUNK: usize = 16 * 1024;
const CHUNKS: usize = 64;

fn stream_bytes() -> Vec<u8> {
    hfhub_tests::synthetic::seeded_bytes(21, CHUNK * CHUNKS)
}

/// `copy.bin` (named by `copy_etag`) and `stream.bin`, whose GET trickles in chunks.
fn server(copy_etag: String, copy: Vec<u8>) -> Hostile {
    let stream = stream_bytes();
    let stream_etag = hash_bytes(HashKind::Sha256, &stream);
    Hostile::start(move |request, _| -> Reply {
        let head = request.method == "HEAD";
        let (etag, body) = if request.path.ends_with("/copy.bin") {
            (copy_etag.clone(), copy.clone())
        } else if request.path.ends_with("/stream.bin") {
            (stream_etag.clone(), stream.clone())
        } else {
            return answer("404 Not Found", &[], b"", head).into();
        };
        let headers = [
            ("X-Repo-Commit", COMMIT.to_owned()),
            ("ETag", format!("\"{etag}\"")),
        ];
        if head || request.path.ends_with("/copy.bin") {
            return answer("200 OK", &headers, &body, head).into();
        }
        let mut headers = headers.to_vec();
        headers.push(("Content-Length", body.len().to_string()));
        // The headers alone (as for a HEAD), then the body in chunks.
        let start = answer("200 OK", &headers, b"", true);
        Reply::Stream(Box::new(move |socket: &mut TcpStream| {
            let _ = socket.write_all(&start);
            for chunk in body.chunks(CHUNK) {
                if socket.write_all(chunk).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }))
    })
}

#[tokio::test(flavor = "current_thread")]
async fn a_held_blob_copy_does_not_stall_a_download_on_a_current_thread_runtime() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = hfhub_tests::synthetic::seeded_bytes(22, 3 * CHUNK);
    let copy_etag = hash_bytes(HashKind::Sha256, &copy);
    let cache = tmp.path().join("hub");
    let repo = Repo::model("acme/slow-disk").expect("id");
    // The blob is already in the cache, its pointer is not: with symlinks off, it is copied.
    let blobs = Cache::new(&cache).repo(&repo).blobs_dir();
    fs::create_dir_all(&blobs).expect("blobs");
    let fifo = blobs.join(&copy_etag);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());

    let hub = server(copy_etag, copy.clone());
    let client = Client::builder()
        .with_endpoint(Endpoint::new(hub.base.clone()))
        .with_retry(RetryPolicy::none())
        .build()
        .expect("client");
    let (events, finished) = mpsc::channel::<String>();
    let events = std::sync::Mutex::new(events);
    let downloader = Downloader::new(client, Cache::new(&cache))
        .with_write_options(WriteOptions::default().with_symlinks(Symlinks::Disabled))
        .with_retry(RetryPolicy::none())
        .with_events(move |event| {
            if let Event::FileFinished { filename, .. } = event {
                let _ = events.lock().expect("events").send(filename.clone());
            }
        });

    // The disk: it lets the copy read only after the stream finished (or a minute passed).
    let disk = std::thread::spawn(move || {
        // Opening the write end waits for the copy to open the read end.
        let mut writer = fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("open the fifo");
        let mut done_while_held = false;
        while let Ok(name) = finished.recv_timeout(Duration::from_secs(60)) {
            if name == "stream.bin" {
                done_while_held = true;
                break;
            }
        }
        writer.write_all(&copy).expect("write the blob");
        done_while_held
    });

    let (copy_request, stream_request) = (
        FileRequest::new(repo.clone(), "copy.bin"),
        FileRequest::new(repo.clone(), "stream.bin"),
    );
    let copying = downloader.download_file(&copy_request);
    let streaming = downloader.download_file(&stream_request);
    let (copied, streamed) = tokio::join!(copying, streaming);
    let copied = copied.expect("the copy");
    let streamed = streamed.expect("the stream");
    let done_while_held = tokio::task::spawn_blocking(move || disk.join().expect("disk"))
        .await
        .expect("join");
    assert!(
        done_while_held,
        "the stream did not finish while the blob copy was held: the copy blocks the runtime"
    );
    assert_eq!(
        fs::read(&copied).expect("copied"),
        hfhub_tests::synthetic::seeded_bytes(22, 3 * CHUNK)
    );
    assert_eq!(fs::read(&streamed).expect("streamed"), stream_bytes());
    let gets: Vec<_> = hub
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/stream.bin"))
        .collect();
    assert_eq!(
        gets.len(),
        1,
        "the stream was abandoned and asked again: {gets:?}"
    );
}
