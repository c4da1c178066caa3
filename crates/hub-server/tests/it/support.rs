//! Shared test support: the cache every test serves (written from a `hfhub_tests::tree` description),
//! and a minimal HTTP client.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use hfhub_tests::tree::Tree;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const MAIN: &str = "1111111111111111111111111111111111111111";
pub const PR1: &str = "2222222222222222222222222222222222222222";
pub const DATASET_MAIN: &str = "3333333333333333333333333333333333333333";
pub const SPACE_MAIN: &str = "4444444444444444444444444444444444444444";
pub const GATED_MAIN: &str = "5555555555555555555555555555555555555555";

pub const CONFIG: &[u8] = b"{\"model_type\": \"gpt2\"}\n";
pub const CONFIG_PR1: &[u8] = b"{\"model_type\": \"gpt2\", \"pr\": 1}\n";
pub const NESTED: &[u8] = b"deep down\n";
pub const UNICODE_NAME: &str = "d\u{e9}j\u{e0} vu/r\u{e9}sum\u{e9}+#1.txt";

/// A deterministic pseudo-random content of `len` bytes (LFS weights).
pub fn weights(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

pub use hfhub_tests::hash::{git_sha1, sha256};

/// The cache every test serves:
///
/// ```text
/// models--org--model    main=MAIN (tag v1.0 too), refs/pr/1=PR1
///   MAIN: .gitattributes, config.json, README.md, model.safetensors (LFS 300 000 B),
///         nested/dir/file.txt, "déjà vu/résumé+#1.txt"
///   PR1:  config.json (other content)
/// datasets--org--data   main: data/train.csv, data/big.parquet (LFS)
/// spaces--org--space    main: app.py
/// kernels--org--kernel  main: build/torch/ops.py
/// models--org--gated    main: config.json
/// models--org--private  main: config.json
/// ```
pub fn build_cache(root: &Path) {
    let model = "models--org--model/snapshots";
    Tree::at(root)
        .with("config", CONFIG)
        .with("config_pr1", CONFIG_PR1)
        .with("nested", NESTED)
        .with("weights", weights(300_000))
        .with("parquet", weights(70_000)[1000..].to_vec())
        .write(&format!(
            r"
            .locks/models--org--model/x.lock (0 bytes)
            models--org--model/refs/main = {MAIN}
            models--org--model/refs/v1.0 = {MAIN}
            models--org--model/refs/refs/pr/1 = {PR1}
            {model}/{MAIN}/.gitattributes => git *.safetensors filter=lfs diff=lfs merge=lfs -text\n
            {model}/{MAIN}/config.json => git $config
            {model}/{MAIN}/README.md => git # model\n
            {model}/{MAIN}/model.safetensors => lfs $weights
            {model}/{MAIN}/nested/dir/file.txt => git $nested
            {model}/{MAIN}/{UNICODE_NAME} => git unicode content\n
            {model}/{PR1}/config.json => git $config_pr1
            # A download in progress and a half-written snapshot entry must stay invisible.
            models--org--model/blobs/abc.0123abcd.incomplete = partial
            {model}/{MAIN}/tmp.incomplete = x
            datasets--org--data/refs/main = {DATASET_MAIN}
            datasets--org--data/snapshots/{DATASET_MAIN}/data/train.csv => git a,b\n1,2\n
            datasets--org--data/snapshots/{DATASET_MAIN}/data/big.parquet => lfs $parquet
            kernels--org--kernel/refs/main = {SPACE_MAIN}
            kernels--org--kernel/snapshots/{SPACE_MAIN}/build/torch/ops.py => git def op(): pass\n
            spaces--org--space/refs/main = {SPACE_MAIN}
            spaces--org--space/snapshots/{SPACE_MAIN}/app.py => git print('hi')\n
            models--org--gated/refs/main = {GATED_MAIN}
            models--org--gated/snapshots/{GATED_MAIN}/config.json => git $config
            models--org--private/refs/main = {GATED_MAIN}
            models--org--private/snapshots/{GATED_MAIN}/config.json => git $config
            "
        ));
}

/// A temp dir holding the cache of [`build_cache`].
pub fn cache() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    build_cache(dir.path());
    dir
}

/// What a request got back; `complete` is false when the connection broke mid-body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub complete: bool,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request on a fresh connection. `url` is absolute (`http://127.0.0.1:PORT/path`).
pub async fn fetch(method: &str, url: &str, headers: &[(&str, &str)]) -> Fetched {
    let (authority, path) = split_url(url);
    let stream = TcpStream::connect(authority).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let response = sender
        .send_request(request(method, authority, path, headers))
        .await
        .expect("response head");
    read(response).await
}

pub fn request(
    method: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Request<Empty<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).expect("valid request")
}

pub async fn read(response: Response<Incoming>) -> Fetched {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    Fetched {
        status,
        headers,
        body: bytes,
        complete,
    }
}

pub fn split_url(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("http://").expect("http URL");
    match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    }
}

/// A raw HTTP/1 `GET` on the CDN listener for the LFS file at `hub_path` of the server at `hub`
/// (whose `HEAD` gives the signed location): the connection, with `read_timeout` on its reads.
pub fn raw_cdn_get(
    hub: std::net::SocketAddr,
    hub_path: &str,
    read_timeout: Duration,
) -> std::net::TcpStream {
    use std::io::{Read as _, Write as _};
    let mut hub = std::net::TcpStream::connect(hub).expect("connect");
    hub.write_all(format!("HEAD {hub_path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    let mut head = vec![0u8; 4096];
    let read = hub.read(&mut head).expect("head");
    let head = String::from_utf8_lossy(&head[..read]).into_owned();
    let location = head
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .expect("a location")
        .trim()
        .to_owned();
    let (authority, target) = split_url(&location);
    let mut cdn = std::net::TcpStream::connect(authority).expect("connect");
    cdn.set_read_timeout(Some(read_timeout))
        .expect("read timeout");
    cdn.write_all(format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .expect("send");
    cdn
}

/// Everything `stream` receives until the server closes it; panics when the server keeps it open
/// past the stream's read timeout or `limit` in all.
pub fn read_until_closed(stream: &mut std::net::TcpStream, limit: Duration) -> Vec<u8> {
    use std::io::Read as _;
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the server kept the connection open ({} bytes came)",
                    received.len()
                )
            }
            Err(_reset) => break,
        }
        assert!(started.elapsed() < limit, "still open");
    }
    received
}
