//! File bodies streamed in blocks: exact bytes for whole files and for ranges that cross block
//! boundaries or run past the end, and a file that shrinks while it is served never makes the
//! server lie about its size (the connection breaks short of `Content-Length`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::Server;

use crate::support::*;

const MIB: usize = 1 << 20;

/// A model `org/big` with one LFS file `weights.bin`; the path of its blob.
fn big_model(cache: &Path, content: Vec<u8>) -> PathBuf {
    write_model(
        cache,
        "org/big",
        "big",
        "main",
        &[("weights.bin".to_owned(), content, true)],
    )
    .expect("model");
    let blobs = cache.join("models--org--big").join("blobs");
    let mut entries = std::fs::read_dir(&blobs).expect("blobs");
    let blob = entries.next().expect("one blob").expect("entry").path();
    assert!(entries.next().is_none(), "one blob");
    blob
}

async fn cdn_location(server: &hub_server::RunningServer) -> String {
    let url = format!("{}/org/big/resolve/main/weights.bin", server.endpoint());
    let head = fetch("HEAD", &url, &[]).await;
    head.header("location").expect("LFS redirect").to_owned()
}

#[tokio::test]
async fn whole_blobs_and_ranges_across_blocks_are_exact() {
    let cache = tempfile::tempdir().expect("tempdir");
    let content = seeded_bytes(7, 3 * MIB + 12_345);
    let size = content.len();
    big_model(cache.path(), content.clone());
    let server = Server::builder(cache.path()).start().await.expect("start");
    let location = cdn_location(&server).await;

    let whole = fetch("GET", &location, &[]).await;
    assert_eq!(whole.status, 200);
    assert!(whole.complete);
    assert_eq!(
        whole.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert!(whole.body == content, "the whole blob differs");

    let head = fetch("HEAD", &location, &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert!(head.body.is_empty());

    for (range, expected) in [
        (
            format!("bytes={}-{}", MIB - 7, 2 * MIB + 7),
            MIB - 7..2 * MIB + 8,
        ),
        (format!("bytes={}-", MIB), MIB..size),
        (format!("bytes={}-{}", size - 1, size + 100), size - 1..size),
        ("bytes=-5".to_owned(), size - 5..size),
        (format!("bytes=-{}", 10 * size), 0..size),
        ("bytes=0-0".to_owned(), 0..1),
    ] {
        let part = fetch("GET", &location, &[("range", &range)]).await;
        assert_eq!(part.status, 206, "{range}");
        assert!(part.complete, "{range}");
        let length = expected.len().to_string();
        assert_eq!(
            part.header("content-length"),
            Some(length.as_str()),
            "{range}"
        );
        let content_range = format!("bytes {}-{}/{size}", expected.start, expected.end - 1);
        assert_eq!(
            part.header("content-range"),
            Some(content_range.as_str()),
            "{range}"
        );
        assert!(part.body == content[expected], "{range}: bytes differ");
    }
    // Past the end: 416; several ranges or an inverted one: the whole blob.
    let beyond = fetch("GET", &location, &[("range", &format!("bytes={size}-"))]).await;
    assert_eq!(beyond.status, 416);
    for range in ["bytes=0-1,5-9", "bytes=9-2"] {
        let whole = fetch("GET", &location, &[("range", range)]).await;
        assert_eq!(whole.status, 200, "{range}");
        assert!(whole.body == content, "{range}: bytes differ");
    }
    server.shutdown().await;
}

/// With a request for a file of `length` bytes sent on `stream`: lets the socket buffers fill, cuts
/// `blob` to 1 MiB under the running response and reads until the server closes; the body bytes
/// that came.
fn shrink_while_served(stream: &mut std::net::TcpStream, blob: &Path, length: usize) -> Vec<u8> {
    std::thread::sleep(Duration::from_millis(500));
    std::fs::OpenOptions::new()
        .write(true)
        .open(blob)
        .and_then(|file| file.set_len(MIB as u64))
        .expect("truncate the blob");
    let received = read_until_closed(stream, Duration::from_secs(60));
    let end_of_head = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&received[..end_of_head]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {length}")),
        "{head}"
    );
    let body = received[end_of_head..].to_vec();
    assert!(
        body.len() < length,
        "the whole length came although the blob shrank"
    );
    body
}

/// The CDN listener sends blobs with `sendfile(2)`: the socket holds references to the file's
/// pages, not copies, so bytes queued past the new end may change; what the file still has is
/// exact, and the connection breaks short of the promised length.
#[test]
fn a_blob_that_shrinks_while_sent_by_sendfile_breaks_the_connection_short_of_its_length() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = seeded_bytes(11, 64 * MIB);
    let blob = big_model(tmp.path(), content.clone());
    let server = Server::builder(tmp.path()).start_blocking().expect("start");
    let mut cdn = raw_cdn_get(
        server.addr(),
        "/org/big/resolve/main/weights.bin",
        Duration::from_secs(20),
    );
    let body = shrink_while_served(&mut cdn, &blob, content.len());
    let kept = body.len().min(MIB);
    assert!(body[..kept] == content[..kept], "the bytes sent differ");
    server.shutdown();
}

/// A file streamed in blocks (the Hub listener's regular files) copies what it sends: what came
/// is the file's beginning, with no filler for the missing bytes.
#[test]
fn a_file_that_shrinks_while_streamed_breaks_the_connection_with_no_filler() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = seeded_bytes(12, 64 * MIB);
    write_model(
        tmp.path(),
        "org/big",
        "big",
        "main",
        &[("weights.bin".to_owned(), content.clone(), false)],
    )
    .expect("model");
    let blobs = tmp.path().join("models--org--big").join("blobs");
    let blob = std::fs::read_dir(&blobs)
        .expect("blobs")
        .next()
        .expect("one blob")
        .expect("entry")
        .path();
    let server = Server::builder(tmp.path()).start_blocking().expect("start");
    let mut hub = std::net::TcpStream::connect(server.addr()).expect("connect");
    hub.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    hub.write_all(b"GET /org/big/resolve/main/weights.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let body = shrink_while_served(&mut hub, &blob, content.len());
    assert!(body == content[..body.len()], "the bytes sent differ");
    server.shutdown();
}
