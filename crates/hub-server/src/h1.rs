//! The CDN listener's own HTTP/1.1 loop, so that a blob body goes from the page cache to the
//! socket with `sendfile(2)`, never through the server's memory: request heads parsed with
//! `httparse` (at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers), keep-alive and pipelining
//! (bytes read past a head are the next request), `Connection: close`, HTTP/1.0 (closed after
//! its answer), `HEAD`. A request with a body is refused (`400`) and the connection closed: no
//! CDN request has one, and none is ever read.
//!
//! A connection that starts with the HTTP/2 preface is left to hyper ([`is_http2`]). Bodies in
//! memory and file bodies with faults are written frame by frame from [`Body`], so that the faults
//! apply. The limits of [`crate::conn`] hold as on the hyper path: a head must be complete within
//! the header timeout of its first byte; the idle and body timeouts, the connection cap and the
//! shedding are the caller's (the request guard and the progress marks are what it watches); a
//! stop ends the loop between requests, never in the middle of an answer.

use std::fs::File;
use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Body as _;
use hyper::header::{CONNECTION, CONTENT_LENGTH, DATE, HeaderName, HeaderValue, TRANSFER_ENCODING};
use hyper::http::request::Parts;
use hyper::http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, Interest};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::body::{Body, PlainFile};
use crate::conn::{Active, Tracked, TrackedBody};
use crate::metrics::Metrics;

/// The largest request head, as hyper's `max_buf_size` on the other path; past it: `431`.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The most headers in a request head (hyper's default); past it: `431`.
pub(crate) const MAX_HEADERS: usize = 100;
/// Bytes handed to one `sendfile` call at most.
const SENDFILE_CHUNK: usize = 4 << 20;
/// What an HTTP/2 client with prior knowledge sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the connection starts with the HTTP/2 preface (looked at, not consumed). Waits while
/// the bytes that came are a beginning of the preface; the caller bounds the wait.
pub(crate) async fn is_http2(stream: &TcpStream) -> bool {
    let mut start = [0u8; PREFACE.len()];
    loop {
        let Ok(seen) = stream.peek(&mut start).await else {
            return false;
        };
        if seen == 0 || start[..seen] != PREFACE[..seen] {
            return false;
        }
        if seen == PREFACE.len() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What one connection needs beside its socket.
pub(crate) struct Connection {
    pub tracked: Arc<Tracked>,
    pub metrics: Arc<Metrics>,
    pub header_timeout: Duration,
    pub stopped: watch::Receiver<Option<Duration>>,
}

/// A request head, parsed.
#[derive(Debug)]
struct Head {
    parts: Parts,
    /// Bytes of the head in the buffer.
    length: usize,
    /// The client keeps the connection open after the answer.
    keep_alive: bool,
}

/// Why no request head came.
#[derive(Debug, PartialEq, Eq)]
enum NoHead {
    /// Closed by the client, too slow, or the server stops: close without an answer.
    Close,
    /// A head the server refuses: answer with this status and close.
    Refuse(StatusCode),
}

/// Serves requests on `stream` until the client closes it, asks to close it, sends what cannot be
/// answered, or the server stops; `respond` makes each answer.
pub(crate) async fn serve<R, F>(mut stream: TcpStream, mut conn: Connection, mut respond: R)
where
    R: FnMut(Parts) -> F,
    F: Future<Output = (Response<Body>, Active)>,
{
    let mut buffer = BytesMut::with_capacity(8 * 1024);
    loop {
        let head = match read_head(&mut stream, &mut buffer, &mut conn).await {
            Ok(head) => head,
            Err(NoHead::Close) => return,
            Err(NoHead::Refuse(status)) => {
                let _ = write_refusal(&mut stream, status).await;
                return;
            }
        };
        buffer.advance(head.length);
        let is_head = head.parts.method == Method::HEAD;
        let (response, active) = respond(head.parts).await;
        let keep_alive = head.keep_alive && conn.stopped.borrow().is_none();
        let (parts, body) = response.into_parts();
        if answer(&mut stream, &conn, parts, body, active, is_head, keep_alive)
            .await
            .is_err()
            || !keep_alive
        {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads until `buffer` holds a whole request head (it may hold more: the next requests).
async fn read_head(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    conn: &mut Connection,
) -> Result<Head, NoHead> {
    let mut deadline = None;
    loop {
        if !buffer.is_empty() {
            if let Some(head) = parse(buffer)? {
                return Ok(head);
            }
            if buffer.len() >= MAX_HEAD {
                return Err(NoHead::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
            }
            // The header timeout runs from the head's first byte; before it, the idle timeout.
            deadline.get_or_insert_with(|| tokio::time::Instant::now() + conn.header_timeout);
        }
        let room = MAX_HEAD - buffer.len();
        buffer.reserve(room.min(16 * 1024));
        let idle = buffer.is_empty();
        let read = async {
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, stream.read_buf(buffer))
                    .await
                    .unwrap_or(Ok(0)),
                None => stream.read_buf(buffer).await,
            }
        };
        tokio::select! {
            read = read => match read {
                Ok(0) | Err(_) => return Err(NoHead::Close),
                Ok(_) => {}
            },
            // Between requests a stop closes the connection at once.
            _ = conn.stopped.wait_for(Option::is_some), if idle => return Err(NoHead::Close),
        }
    }
}

/// A whole head at the start of `buffer`, `None` while it is partial.
fn parse(buffer: &[u8]) -> Result<Option<Head>, NoHead> {
    let bad = || NoHead::Refuse(StatusCode::BAD_REQUEST);
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(NoHead::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        }
        Err(_) => return Err(bad()),
    };
    let method =
        Method::from_bytes(request.method.unwrap_or_default().as_bytes()).map_err(|_| bad())?;
    let uri: Uri = request
        .path
        .unwrap_or_default()
        .parse()
        .map_err(|_| bad())?;
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut map = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_bytes(header.value).map_err(|_| bad())?;
        map.append(name, value);
    }
    // No CDN request has a body, and none is read: the connection would be out of step.
    let has_body = map.contains_key(TRANSFER_ENCODING)
        || map
            .get_all(CONTENT_LENGTH)
            .iter()
            .any(|value| value.as_bytes() != b"0");
    if has_body {
        return Err(bad());
    }
    let close = map
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"));
    let (mut parts, ()) = Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(())
        .map_err(|_| bad())?
        .into_parts();
    parts.headers = map;
    Ok(Some(Head {
        parts,
        length,
        keep_alive: version == Version::HTTP_11 && !close,
    }))
}

/// Writes a response: the head, then the body with `sendfile` when it is a plain file, else frame
/// by frame; an error means the connection is to be closed.
async fn answer(
    stream: &mut TcpStream,
    conn: &Connection,
    parts: hyper::http::response::Parts,
    body: Body,
    active: Active,
    is_head: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("Unknown")
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        head.extend_from_slice(format!("date: {date}\r\n").as_bytes());
    }
    if !parts.headers.contains_key(CONTENT_LENGTH) {
        let length = body.size_hint().exact().unwrap_or_default();
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    }
    if !keep_alive {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    if is_head {
        return stream.write_all(&head).await;
    }
    if let Some(plain) = body.plain_file() {
        let file = open(&plain).await?;
        stream.write_all(&head).await?;
        send_file(stream, &file, &plain, conn).await?;
        drop(active);
        return Ok(());
    }
    stream.write_all(&head).await?;
    let mut body = TrackedBody::new(body, active);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(std::io::Error::other)?;
        if let Some(data) = frame.data_ref() {
            stream.write_all(data).await?;
        }
    }
    Ok(())
}

/// Opens a plain file body's file, off the runtime.
async fn open(plain: &PlainFile<'_>) -> std::io::Result<File> {
    let path = plain.path.to_owned();
    tokio::task::spawn_blocking(move || File::open(path))
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("file opening task failed")))
}

/// Sends a plain file body with `sendfile(2)`, waiting for the socket to be writable when it is
/// full (never blocking a runtime thread on a client that reads slowly).
async fn send_file(
    stream: &TcpStream,
    file: &File,
    plain: &PlainFile<'_>,
    conn: &Connection,
) -> std::io::Result<()> {
    let end = plain.start + plain.length;
    let mut offset = plain.start;
    while offset < end {
        let count = usize::try_from(end - offset).map_or(SENDFILE_CHUNK, |n| n.min(SENDFILE_CHUNK));
        let sent = stream.try_io(Interest::WRITABLE, || {
            Ok(rustix::fs::sendfile(
                stream,
                file,
                Some(&mut offset),
                count,
            )?)
        });
        let sent = match sent {
            Ok(0) => {
                // The head promised bytes the file no longer has.
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "file shrank while being served",
                ));
            }
            Ok(sent) => sent as u64,
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                stream.writable().await?;
                continue;
            }
            Err(error) => return Err(error),
        };
        plain.sent.fetch_add(sent, Ordering::SeqCst);
        conn.metrics.sent_by_sendfile(sent);
        conn.tracked.progress();
    }
    Ok(())
}

/// The answer to a head the server refuses, before closing.
async fn write_refusal(stream: &mut TcpStream, status: StatusCode) -> std::io::Result<()> {
    let answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    );
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `parse` may answer for any bytes: nothing yet, a head no longer than the bytes, or a
    /// refusal with 400 or 431; never a panic.
    fn check(bytes: &[u8]) {
        match parse(bytes) {
            Ok(None) => {}
            Ok(Some(head)) => {
                assert!(head.length <= bytes.len());
                assert!(head.parts.version == Version::HTTP_11 || !head.keep_alive);
                assert!(!head.parts.headers.contains_key(TRANSFER_ENCODING));
            }
            Err(NoHead::Refuse(status)) => assert!(
                status == StatusCode::BAD_REQUEST
                    || status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "{status}"
            ),
            Err(NoHead::Close) => panic!("parse never closes without an answer"),
        }
    }

    proptest! {
        #[test]
        fn any_bytes_parse_to_a_head_a_partial_one_or_a_refusal(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            check(&bytes);
        }

        #[test]
        fn any_header_lines_after_a_request_line_parse_without_panic(
            method in "(GET|HEAD|POST|[A-Z]{1,8}|[ -~]{0,6})",
            target in "[ -~]{0,40}",
            version in "HTTP/1\\.[01]|HTTP/[0-9.]{0,4}",
            lines in proptest::collection::vec("[ -~\\t]{0,60}", 0..8),
        ) {
            let mut head = format!("{method} {target} {version}\r\n");
            for line in &lines {
                head.push_str(line);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            check(head.as_bytes());
        }
    }

    #[test]
    fn a_body_or_too_many_headers_is_refused_and_a_plain_get_is_kept_alive() {
        let get = parse(b"GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /next").expect("valid");
        let get = get.expect("whole");
        assert_eq!(get.parts.uri.path(), "/a/b");
        assert!(get.keep_alive);
        assert_eq!(get.length, "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n".len());
        let old = parse(b"GET / HTTP/1.0\r\n\r\n")
            .expect("valid")
            .expect("whole");
        assert!(!old.keep_alive);
        for body in [
            &b"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"[..],
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(
                parse(body).err(),
                Some(NoHead::Refuse(StatusCode::BAD_REQUEST))
            );
        }
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("x-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            parse(&many).err(),
            Some(NoHead::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
        );
        assert!(matches!(parse(b"GET / HT"), Ok(None)));
    }
}
