//! Support for tests that play the attacker: a raw HTTP/1.1 server on 127.0.0.1 that answers what
//! no honest server would (wrong sizes, stalls, trickles, hostile names), a canary folder outside
//! the cache that must stay byte-identical, and a check that every blob holds the bytes its name
//! stands for. Used by the workspace tests (`it/`) and by the crates' own integration tests.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::tree::state as tree_state;

/// One request as the hostile server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// What the hostile server does with one connection: send bytes and close, or drive the stream
/// itself (stall after the headers, trickle a byte every few seconds, never close).
pub enum Reply {
    Bytes(Vec<u8>),
    Stream(Box<dyn FnOnce(&mut TcpStream) + Send>),
}

impl From<Vec<u8>> for Reply {
    fn from(bytes: Vec<u8>) -> Reply {
        Reply::Bytes(bytes)
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 answering each request with what a handler returns (one
/// request per connection), so a test can send what no honest server would.
pub struct Hostile {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    /// Starts the server; `handler` gets the request and the server's own base URL.
    pub fn start<R: Into<Reply>>(
        handler: impl Fn(&Seen, &str) -> R + Send + Sync + 'static,
    ) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, me) = (seen.clone(), base.clone());
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (log, handler, me) = (log.clone(), handler.clone(), me.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&stream) else {
                        return;
                    };
                    let reply = handler(&request, &me).into();
                    log.lock().expect("log").push(request);
                    match reply {
                        Reply::Bytes(bytes) => {
                            let _ = stream.write_all(&bytes);
                            let _ = stream.flush();
                        }
                        Reply::Stream(drive) => drive(&mut stream),
                    }
                });
            }
        });
        Hostile { base, seen }
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Some(Seen {
        method,
        path,
        headers,
    })
}

/// A raw HTTP/1.1 answer: status line, headers, `Connection: close`, body (a HEAD gets no body).
pub fn answer(status: &str, headers: &[(&str, String)], body: &[u8], head: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    }) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if !head {
        out.extend_from_slice(body);
    }
    out
}

/// A folder outside the cache and the `local_dir` holding a few files (one a decoy named like a
/// secret): an attack that writes, truncates or deletes anything in it fails
/// [`Canary::assert_untouched`].
pub struct Canary {
    pub dir: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

impl Canary {
    /// Creates `<parent>/canary` with its files and records their state.
    pub fn plant(parent: &Path) -> Canary {
        let dir = parent.join("canary");
        fs::create_dir_all(dir.join("sub")).expect("create canary");
        fs::write(dir.join("passwd"), "root:x:0:0:canary\n").expect("write canary");
        fs::write(dir.join("sub/config"), "[core]\n\tbare = false\n").expect("write canary");
        let before = tree_state(&dir);
        Canary { dir, before }
    }

    /// Panics, naming the difference, if anything below the canary folder changed.
    pub fn assert_untouched(&self) {
        let after = tree_state(&self.dir);
        assert_eq!(
            self.before,
            after,
            "the canary folder `{}` outside the cache changed",
            self.dir.display()
        );
    }
}

/// Checks that every blob of the cache at `cache` holds the content its name stands for (compared
/// without regard to case, the ETag rule); returns how many blobs were checked.
pub fn verify_blobs(cache: &Path) -> usize {
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(cache).min_depth(3).max_depth(3) {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        if path.parent().and_then(Path::file_name) != Some("blobs".as_ref()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = hub_cache::hash::HashKind::of_blob_name(&name)
            .unwrap_or_else(|| panic!("`{name}` is not a blob name"));
        let file = fs::File::open(path).expect("open blob");
        let size = file.metadata().expect("stat blob").len();
        let digest = hub_cache::hash::hash_reader(kind, size, file).expect("hash blob");
        assert!(
            digest.eq_ignore_ascii_case(&name),
            "blob `{}` holds other bytes",
            path.display()
        );
        checked += 1;
    }
    checked
}
