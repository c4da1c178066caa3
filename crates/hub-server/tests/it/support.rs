//! Shared test support: a small cache built with std::fs, and a minimal HTTP client.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hub_cache::layout::pointer_target;
use hub_cache::{Cache, Repo, RepoId, RepoType};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
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

pub fn git_sha1(content: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    format!("{:x}", hasher.finalize())
}

pub fn sha256(content: &[u8]) -> String {
    format!("{:x}", Sha256::digest(content))
}

/// One repository's worth of cache, written as upstream writes it.
pub struct RepoWriter {
    pub dir: PathBuf,
}

impl RepoWriter {
    pub fn new(cache: &Path, repo_type: RepoType, id: &str) -> RepoWriter {
        let repo = Repo::new(repo_type, RepoId::new(id).expect("valid test id"));
        let dir = Cache::new(cache).repo(&repo).path().to_path_buf();
        fs::create_dir_all(dir.join("blobs")).expect("create blobs");
        RepoWriter { dir }
    }

    pub fn reference(&self, name: &str, commit: &str) -> &Self {
        let path = self.dir.join("refs").join(name);
        fs::create_dir_all(path.parent().expect("ref has a parent")).expect("create refs");
        fs::write(path, commit).expect("write ref");
        self
    }

    /// Writes blob + relative symlink; LFS files get a sha256 blob name, others the git sha1.
    pub fn file(&self, commit: &str, path: &str, content: &[u8], lfs: bool) -> &Self {
        let etag = if lfs {
            sha256(content)
        } else {
            git_sha1(content)
        };
        fs::write(self.dir.join("blobs").join(&etag), content).expect("write blob");
        let pointer = self.dir.join("snapshots").join(commit).join(path);
        fs::create_dir_all(pointer.parent().expect("pointer has a parent"))
            .expect("create snapshot");
        std::os::unix::fs::symlink(pointer_target(path, &etag), &pointer).expect("symlink");
        self
    }
}

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
    fs::create_dir_all(root.join(".locks/models--org--model")).expect("locks");
    fs::write(root.join(".locks/models--org--model/x.lock"), b"").expect("lock file");
    let model = RepoWriter::new(root, RepoType::Model, "org/model");
    model
        .reference("main", MAIN)
        .reference("v1.0", MAIN)
        .reference("refs/pr/1", PR1)
        .file(
            MAIN,
            ".gitattributes",
            b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
            false,
        )
        .file(MAIN, "config.json", CONFIG, false)
        .file(MAIN, "README.md", b"# model\n", false)
        .file(MAIN, "model.safetensors", &weights(300_000), true)
        .file(MAIN, "nested/dir/file.txt", NESTED, false)
        .file(MAIN, UNICODE_NAME, "unicode content\n".as_bytes(), false)
        .file(PR1, "config.json", CONFIG_PR1, false);
    // A download in progress and a half-written snapshot entry must stay invisible.
    fs::write(model.dir.join("blobs/abc.0123abcd.incomplete"), b"partial").expect("incomplete");
    fs::write(
        model
            .dir
            .join("snapshots")
            .join(MAIN)
            .join("tmp.incomplete"),
        b"x",
    )
    .expect("incomplete");
    RepoWriter::new(root, RepoType::Dataset, "org/data")
        .reference("main", DATASET_MAIN)
        .file(DATASET_MAIN, "data/train.csv", b"a,b\n1,2\n", false)
        .file(
            DATASET_MAIN,
            "data/big.parquet",
            &weights(70_000)[1000..],
            true,
        );
    RepoWriter::new(root, RepoType::Kernel, "org/kernel")
        .reference("main", SPACE_MAIN)
        .file(SPACE_MAIN, "build/torch/ops.py", b"def op(): pass\n", false);
    RepoWriter::new(root, RepoType::Space, "org/space")
        .reference("main", SPACE_MAIN)
        .file(SPACE_MAIN, "app.py", b"print('hi')\n", false);
    for id in ["org/gated", "org/private"] {
        RepoWriter::new(root, RepoType::Model, id)
            .reference("main", GATED_MAIN)
            .file(GATED_MAIN, "config.json", CONFIG, false);
    }
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
