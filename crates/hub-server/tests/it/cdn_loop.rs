//! The CDN listener's own HTTP/1.1 loop: blobs sent with `sendfile(2)` (the `/metrics` counter
//! shows it), keep-alive, pipelining, HTTP/1.0, `Connection: close`, `HEAD`, HTTP/2 with prior
//! knowledge left to hyper, a stop between requests, and hostile clients: oversized heads, too
//! many headers, malformed heads, request bodies, odd targets, a head sent byte by byte.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hub_server::{Limits, Server};

use crate::support::*;

/// The LFS file of the test cache, as the Hub listener's redirect gives it: (CDN authority,
/// signed target).
async fn signed_blob(server: &hub_server::RunningServer) -> (String, String) {
    let url = format!(
        "{}/org/model/resolve/main/model.safetensors",
        server.endpoint()
    );
    let head = fetch("HEAD", &url, &[]).await;
    let location = head.header("location").expect("LFS redirect");
    let (authority, target) = split_url(location);
    (authority.to_owned(), target.to_owned())
}

/// Runs `client` (blocking) against a server with `limits` over the test cache, with the CDN
/// authority and the signed target of its LFS file.
async fn with_blob_client(limits: Limits, client: impl FnOnce(String, String) + Send + 'static) {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_limits(limits)
        .start()
        .await
        .expect("start");
    let (authority, target) = signed_blob(&server).await;
    tokio::task::spawn_blocking(move || client(authority, target))
        .await
        .expect("client");
    server.shutdown().await;
}

/// A blocking connection to `authority` with a 10 s read timeout.
fn connect(authority: &str) -> TcpStream {
    let stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
}

/// One response read from `stream` (what came after it stays in `carry`): the lower-cased head
/// and the body (`Content-Length` bytes, none for a `HEAD`).
fn read_response(
    stream: &mut TcpStream,
    carry: &mut Vec<u8>,
    head_only: bool,
) -> (String, Vec<u8>) {
    let mut buffer = vec![0u8; 1 << 16];
    let end_of_head = loop {
        if let Some(at) = carry.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).expect("a response");
        assert!(read > 0, "closed before a whole head came");
        carry.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&carry[..end_of_head]).to_lowercase();
    carry.drain(..end_of_head);
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("a content-length")
        .trim()
        .parse()
        .expect("a number");
    let length = if head_only { 0 } else { length };
    while carry.len() < length {
        let read = stream.read(&mut buffer).expect("the body");
        assert!(read > 0, "closed before the whole body came");
        carry.extend_from_slice(&buffer[..read]);
    }
    let body = carry.drain(..length).collect();
    (head, body)
}

/// Sends `request` on `stream` and reads its response (see [`read_response`]).
fn exchange(
    stream: &mut TcpStream,
    carry: &mut Vec<u8>,
    request: &str,
    head_only: bool,
) -> (String, Vec<u8>) {
    stream.write_all(request.as_bytes()).expect("send");
    read_response(stream, carry, head_only)
}

/// The value of an unlabelled counter in the Hub listener's `/metrics`.
async fn counter(server: &hub_server::RunningServer, name: &str) -> u64 {
    let page = fetch("GET", &format!("{}/metrics", server.endpoint()), &[]).await;
    let page = String::from_utf8(page.body).expect("text");
    page.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .expect("the counter")
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn blobs_go_out_by_sendfile_and_the_counter_shows_it() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let (authority, target) = signed_blob(&server).await;
    let before = counter(&server, "hfhub_sendfile_bytes_total").await;
    let whole = fetch("GET", &format!("http://{authority}{target}"), &[]).await;
    assert_eq!(whole.status, 200);
    assert!(whole.complete);
    assert!(whole.body == weights(300_000), "the blob differs");
    let part = fetch(
        "GET",
        &format!("http://{authority}{target}"),
        &[("range", "bytes=1000-100999")],
    )
    .await;
    assert_eq!(part.status, 206);
    assert!(
        part.body == weights(300_000)[1000..101_000],
        "the range differs"
    );
    let after = counter(&server, "hfhub_sendfile_bytes_total").await;
    assert_eq!(after - before, 400_000, "bytes not sent by sendfile");
    // The request log counts them as sent too.
    let sent: Vec<u64> = server
        .request_log()
        .records()
        .iter()
        .filter(|record| record.origin == hub_server::Origin::Cdn)
        .map(|record| record.bytes_sent)
        .collect();
    assert_eq!(sent, [300_000, 100_000]);
    // A body of up to 64 KiB is read where the answer is made, and written from memory.
    let small = fetch(
        "GET",
        &format!("http://{authority}{target}"),
        &[("range", "bytes=0-999")],
    )
    .await;
    assert!(
        small.body == weights(300_000)[..1000],
        "the small range differs"
    );
    assert_eq!(counter(&server, "hfhub_sendfile_bytes_total").await, after);
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_pipelining_head_and_ranges_on_one_connection() {
    with_blob_client(Limits::default(), |authority, target| {
        let content = weights(300_000);
        let mut stream = connect(&authority);
        let mut carry = Vec::new();
        let get = format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        let (head, body) = exchange(&mut stream, &mut carry, &get, false);
        assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
        assert!(head.contains("\r\ndate: "), "{head}");
        assert!(body == content, "first body differs");
        // A second request on the same connection.
        let (head, body) = exchange(&mut stream, &mut carry, &get, false);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body == content, "second body differs");
        // Four requests in one write: HEAD, a range, a range past the end, a whole GET.
        let pipelined = format!(
            "HEAD {target} HTTP/1.1\r\nHost: a\r\n\r\n\
             GET {target} HTTP/1.1\r\nHost: a\r\nRange: bytes=10-19\r\n\r\n\
             GET {target} HTTP/1.1\r\nHost: a\r\nRange: bytes=300000-\r\n\r\n\
             GET {target} HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        stream
            .write_all(pipelined.as_bytes())
            .expect("send pipelined");
        let (head, body) = read_response(&mut stream, &mut carry, true);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-length: 300000\r\n"), "{head}");
        assert!(body.is_empty());
        let (head, body) = read_response(&mut stream, &mut carry, false);
        assert!(head.starts_with("http/1.1 206"), "{head}");
        assert!(
            head.contains("content-range: bytes 10-19/300000\r\n"),
            "{head}"
        );
        assert!(body == content[10..20], "range differs");
        let (head, _) = read_response(&mut stream, &mut carry, false);
        assert!(head.starts_with("http/1.1 416"), "{head}");
        assert!(head.contains("content-range: bytes */300000\r\n"), "{head}");
        let (head, body) = read_response(&mut stream, &mut carry, false);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body == content, "last body differs");
        assert!(!head.contains("connection: close"), "{head}");
        // Then `Connection: close`: answered, then closed.
        let close = format!("GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let (head, body) = exchange(&mut stream, &mut carry, &close, false);
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert!(body == content, "closing body differs");
        assert!(read_until_closed(&mut stream, Duration::from_secs(10)).is_empty());
    })
    .await;
}

#[tokio::test]
async fn http_1_0_is_answered_then_closed() {
    with_blob_client(Limits::default(), |authority, target| {
        let mut stream = connect(&authority);
        let request = format!("GET {target} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let received = read_until_closed(&mut stream, Duration::from_secs(10));
        let end_of_head = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        let text = String::from_utf8_lossy(&received[..end_of_head + 4]).to_lowercase();
        assert!(text.starts_with("http/1.1 200"), "{text}");
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert!(received.ends_with(&weights(300_000)), "the body differs");
    })
    .await;
}

#[tokio::test]
async fn absolute_form_and_asterisk_targets() {
    with_blob_client(Limits::default(), |authority, target| {
        let mut stream = connect(&authority);
        let mut carry = Vec::new();
        let absolute = format!("GET http://{authority}{target} HTTP/1.1\r\nHost: a\r\n\r\n");
        let (head, body) = exchange(&mut stream, &mut carry, &absolute, false);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body == weights(300_000), "the body differs");
        for request in [
            "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            let (head, _) = exchange(&mut stream, &mut carry, request, false);
            assert!(
                head.starts_with("http/1.1 404") || head.starts_with("http/1.1 405"),
                "{request}: {head}"
            );
        }
    })
    .await;
}

/// What the CDN listener answers to `request` on a new connection, read until it closes.
fn refused(authority: &str, request: &[u8]) -> String {
    let mut stream = connect(authority);
    // The server may answer and close before the whole request went out.
    let _ = stream.write_all(request);
    let received = read_until_closed(&mut stream, Duration::from_secs(10));
    String::from_utf8_lossy(&received).to_lowercase()
}

#[tokio::test]
async fn hostile_heads_are_refused_and_the_connection_closed() {
    with_blob_client(Limits::default(), |authority, target| {
        let huge = format!(
            "GET {target} HTTP/1.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(70_000)
        );
        let answer = refused(&authority, huge.as_bytes());
        assert!(answer.starts_with("http/1.1 431"), "{answer}");
        // A head that never ends: refused once 64 KiB came.
        let endless = format!("GET {target} HTTP/1.1\r\n{}", "X-A: b\r\n".repeat(20_000));
        let answer = refused(&authority, endless.as_bytes());
        assert!(answer.starts_with("http/1.1 431"), "{answer}");
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        let answer = refused(
            &authority,
            format!("GET {target} HTTP/1.1\r\n{many}\r\n").as_bytes(),
        );
        assert!(answer.starts_with("http/1.1 431"), "{answer}");
        for malformed in [
            "GET\r\n\r\n".to_owned(),
            "GET / HTTP/9.9\r\n\r\n".to_owned(),
            format!("GET {target} HTTP/1.1\r\nNo colon here\r\n\r\n"),
            format!("GET {target} HTTP/1.1\r\nX: a\x01b\r\n\r\n"),
            "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n\r\n".to_owned(),
        ] {
            let answer = refused(&authority, malformed.as_bytes());
            assert!(
                answer.starts_with("http/1.1 400"),
                "{malformed:?}: {answer}"
            );
        }
        // Bodies are never read: refused, whatever follows.
        for with_body in [
            format!("GET {target} HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            format!("GET {target} HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"),
            format!("GET {target} HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            format!("POST {target} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ] {
            let answer = refused(&authority, with_body.as_bytes());
            assert!(
                answer.starts_with("http/1.1 400"),
                "{with_body:?}: {answer}"
            );
            assert!(answer.contains("connection: close"), "{answer}");
        }
        // `Content-Length: 0` is no body.
        let mut stream = connect(&authority);
        let empty = format!("GET {target} HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(empty.as_bytes()).expect("send");
        let (head, _) = read_response(&mut stream, &mut Vec::new(), false);
        assert!(head.starts_with("http/1.1 200"), "{head}");
    })
    .await;
}

#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_at_the_header_timeout() {
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(600),
        ..Limits::default()
    };
    with_blob_client(limits, |authority, target| {
        let mut stream = connect(&authority);
        // A first request completes: the next head gets the header timeout, not the idle one.
        let mut carry = Vec::new();
        let get = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        stream.write_all(get.as_bytes()).expect("send");
        read_response(&mut stream, &mut carry, false);
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let started = Instant::now();
        let slow = format!("GET {target} HTTP/1.1\r\nX-Slow: {}", "z".repeat(1000));
        let mut closed = false;
        for byte in slow.bytes() {
            if stream.write_all(&[byte]).is_err() {
                closed = true;
                break;
            }
            match stream.read(&mut [0u8; 64]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => panic!("an answer to half a head"),
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_reset) => {
                    closed = true;
                    break;
                }
            }
        }
        assert!(closed, "a head sent byte by byte kept the connection open");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "closed only after {:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_still_served() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let (authority, target) = signed_blob(&server).await;
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(stream).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = hyper::Request::get(format!("http://{authority}{target}"))
        .body(())
        .expect("request");
    let (response, _) = client.send_request(request, true).expect("send");
    let response = response.await.expect("response");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("data");
        body.flow_control()
            .release_capacity(chunk.len())
            .expect("flow control");
        received.extend_from_slice(&chunk);
    }
    assert!(received == weights(300_000), "the body differs");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stop_closes_a_kept_alive_connection_between_requests() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let (authority, target) = signed_blob(&server).await;
    let mut stream = tokio::task::spawn_blocking(move || {
        let mut stream = connect(&authority);
        let get = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        let (head, _) = exchange(&mut stream, &mut Vec::new(), &get, false);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        stream
    })
    .await
    .expect("client");
    // Idle and kept alive: a stop with a long grace closes it at once, not after the grace.
    let started = Instant::now();
    server.shutdown_within(Duration::from_secs(60)).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stop waited {:?} for an idle connection",
        started.elapsed()
    );
    tokio::task::spawn_blocking(move || {
        assert!(read_until_closed(&mut stream, Duration::from_secs(10)).is_empty());
    })
    .await
    .expect("closed");
}
