//! Reliability and security of the library stack against hostile and flaky servers (issue 8; the
//! figures are in docs/reliability.md): a malicious server, a flaky one, wrong bytes, token hygiene,
//! and bounded fuzzing of the parsers. Process-level items (SIGKILL, concurrent processes, file size
//! limits, bad input) live in `crates/hub-cli/tests/it/reliability/`.
//!
//! Every test is seeded and bounded; `HFHUB_RELIABILITY_HEAVY=1` runs heavier variants.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod flaky;
mod fuzz;
mod integrity;
mod malicious;
mod tokens;

/// Whether the heavier variants run (`HFHUB_RELIABILITY_HEAVY=1`).
pub fn heavy() -> bool {
    std::env::var_os("HFHUB_RELIABILITY_HEAVY").is_some_and(|v| v == "1")
}

/// One request as the hostile server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 answering each request with the raw bytes a handler returns
/// (one request per connection), so a test can send what no honest server would.
pub struct Hostile {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    pub fn start(handler: impl Fn(&Seen, &str) -> Vec<u8> + Send + Sync + 'static) -> Hostile {
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
                    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
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
                    let request = Seen {
                        method,
                        path,
                        headers,
                    };
                    let answer = handler(&request, &me);
                    log.lock().expect("log").push(request);
                    let _ = stream.write_all(&answer);
                    let _ = stream.flush();
                });
            }
        });
        Hostile { base, seen }
    }
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

/// Every path below `root` with its kind and size (`d`, `f <len>`, `l <target>`), to compare a folder
/// before and after.
pub fn tree_state(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let Ok(entry) = entry else { continue };
        let meta = match entry.path().symlink_metadata() {
            Ok(meta) => meta,
            Err(_) => continue,
        };
        let kind = if meta.file_type().is_symlink() {
            format!(
                "l {}",
                fs::read_link(entry.path()).map_or(String::new(), |t| t.display().to_string())
            )
        } else if meta.is_dir() {
            "d".to_owned()
        } else {
            format!("f {}", meta.len())
        };
        out.insert(entry.path().to_path_buf(), kind);
    }
    out
}

/// Verifies every blob of a cache against its name; returns how many.
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
        let size = file.metadata().expect("stat").len();
        assert_eq!(
            hub_cache::hash::hash_reader(kind, size, file).expect("hash"),
            name,
            "blob `{}` holds other bytes",
            path.display()
        );
        checked += 1;
    }
    checked
}
