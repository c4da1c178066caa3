//! Disk work never blocks the async runtime on something a hostile cache planted (issues 16 and
//! 11): on a current-thread runtime, a FIFO standing where a blob should be (`blobs/<etag>`, the
//! no-symlink fallback would copy it) is not read (a read that could block forever, with no
//! deadline); it is replaced by a fresh, verified download, and another download streams to its end
//! meanwhile with one single GET.
//!
//! Until 2026-12-07 this test used the FIFO as a slow disk that the copy read once the stream had
//! finished; since a blob must now be a regular file to be linked or copied, the FIFO is never
//! opened, and the copy itself runs on the blocking pool as before (not shown by a test any more:
//! no regular file can be held up the way a FIFO was).

use std::fs;
use std::io::Write as _;
use std::net::TcpStream;
use std::os::unix::fs::FileTypeExt as _;
use std::time::Duration;

use hfhub_tests::hostile::{Hostile, Reply, answer};
use hub_cache::hash::{HashKind, hash_bytes};
use hub_cache::write::{Symlinks, WriteOptions};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_sync::{Downloader, FileRequest};

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
async fn a_fifo_planted_as_a_blob_is_replaced_never_read_on_a_current_thread_runtime() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = hfhub_tests::synthetic::seeded_bytes(22, 3 * CHUNK);
    let copy_etag = hash_bytes(HashKind::Sha256, &copy);
    let cache = tmp.path().join("hub");
    let repo = Repo::model("acme/slow-disk").expect("id");
    // A FIFO where the blob should be, its pointer absent: with symlinks off, a regular blob would
    // be copied; a FIFO would block its reader until someone writes, and nobody does.
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
    let downloader = Downloader::new(client, Cache::new(&cache))
        .with_write_options(WriteOptions::default().with_symlinks(Symlinks::Disabled))
        .with_retry(RetryPolicy::none());

    let (copy_request, stream_request) = (
        FileRequest::new(repo.clone(), "copy.bin"),
        FileRequest::new(repo.clone(), "stream.bin"),
    );
    let both = async {
        tokio::join!(
            downloader.download_file(&copy_request),
            downloader.download_file(&stream_request)
        )
    };
    let (copied, streamed) = tokio::time::timeout(Duration::from_secs(60), both)
        .await
        .expect("a download blocked on the planted FIFO");
    let copied = copied.expect("the planted blob is downloaded again");
    let streamed = streamed.expect("the stream");
    assert_eq!(fs::read(&copied).expect("copied"), copy);
    assert_eq!(fs::read(&streamed).expect("streamed"), stream_bytes());
    assert!(
        !fs::symlink_metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo()),
        "the FIFO is still the blob"
    );
    let gets = |name: &str| {
        hub.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(name))
            .count()
    };
    assert_eq!(gets("/copy.bin"), 1, "the planted blob is fetched once");
    assert_eq!(
        gets("/stream.bin"),
        1,
        "the stream was abandoned and asked again"
    );
}
