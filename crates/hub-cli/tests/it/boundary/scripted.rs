//! A Hub the test scripts: one repository `acme/evil` at [`COMMIT`], a tree listing the test writes
//! (it may lie), and files served by path with the ETag and bytes the test chooses; a file it does
//! not serve is a 404 `EntryNotFound`, as the Hub answers. Built on [`Hostile`], so every request is
//! logged for the test to inspect.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

pub use hfhub_tests::hash::{git_sha1, sha256};
pub use hfhub_tests::hostile::{Canary, Hostile, Seen, answer};
pub use hfhub_tests::tree::state as tree_state;
use serde_json::{Value, json};

pub use crate::reliability::{stderr, stdout};

pub const REPO: &str = "acme/evil";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// One file as served: its bytes and the ETag the answers carry (unquoted).
#[derive(Debug, Clone)]
pub struct Served {
    pub content: Vec<u8>,
    pub etag: String,
    /// The size the `HEAD` announces, when it lies about the content's.
    pub announced: Option<u64>,
}

impl Served {
    /// A regular file, named by its git blob sha1 as the Hub does.
    pub fn regular(content: &[u8]) -> Served {
        Served {
            content: content.to_vec(),
            etag: git_sha1(content),
            announced: None,
        }
    }

    /// Bytes served under an ETag the test chooses.
    pub fn with_etag(content: &[u8], etag: impl Into<String>) -> Served {
        Served {
            content: content.to_vec(),
            etag: etag.into(),
            announced: None,
        }
    }
}

/// A listing entry of a regular file.
pub fn entry(path: &str, oid: &str, size: u64) -> Value {
    json!({"type": "file", "path": path, "oid": oid, "size": size})
}

/// A listing entry of an LFS file (`lfs.oid` names the blob).
pub fn lfs_entry(path: &str, sha: &str, size: u64) -> Value {
    json!({"type": "file", "path": path, "oid": git_sha1(path.as_bytes()), "size": size,
        "lfs": {"oid": sha, "size": size, "pointerSize": 134}})
}

/// The listing of honest files: each entry says what the server serves.
pub fn honest_listing(files: &BTreeMap<String, Served>) -> Vec<Value> {
    files
        .iter()
        .map(|(path, file)| entry(path, &file.etag, file.content.len() as u64))
        .collect()
}

/// Starts the scripted Hub.
pub fn start(listing: Vec<Value>, files: BTreeMap<String, Served>) -> Hostile {
    let listing = Value::Array(listing).to_string();
    let resolve = format!("/{REPO}/resolve/");
    Hostile::start(move |request, _base| {
        let head = request.method == "HEAD";
        let path = request.path.split('?').next().unwrap_or_default();
        if path.starts_with(&format!("/api/models/{REPO}/revision/")) {
            let body = json!({"sha": COMMIT, "siblings": []}).to_string();
            return answer(
                "200 OK",
                &[("Content-Type", "application/json".into())],
                body.as_bytes(),
                head,
            );
        }
        if path.starts_with(&format!("/api/models/{REPO}/tree/")) {
            return answer(
                "200 OK",
                &[("Content-Type", "application/json".into())],
                listing.as_bytes(),
                head,
            );
        }
        let Some(rest) = path.strip_prefix(&resolve) else {
            return answer("404 Not Found", &[], b"", head);
        };
        let name = rest.split_once('/').map_or("", |(_revision, name)| name);
        let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        match files.get(name.as_ref()) {
            Some(file) => {
                let mut headers = vec![
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("ETag", format!("\"{}\"", file.etag)),
                ];
                if let (true, Some(size)) = (head, file.announced) {
                    headers.push(("Content-Length", size.to_string()));
                }
                answer("200 OK", &headers, &file.content, head)
            }
            None => answer(
                "404 Not Found",
                &[
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("X-Error-Code", "EntryNotFound".to_owned()),
                    ("X-Error-Message", "Entry not found".to_owned()),
                ],
                b"",
                head,
            ),
        }
    })
}

/// `hfhub download acme/evil ARGS` against `server`, with its cache at `<tmp>/hub`, no retries.
pub fn download(tmp: &Path, server: &Hostile, args: &[&str]) -> Command {
    let mut command = crate::reliability::hfhub(&tmp.join("home"), &tmp.join("hub"), &server.base);
    command
        .args(["download", REPO])
        .args(args)
        .env("HF_HUB_ETAG_TIMEOUT", "10")
        .env("HF_HUB_DOWNLOAD_TIMEOUT", "10");
    command
}

/// The repository folder in the cache at `<tmp>/hub`.
pub fn repo_dir(tmp: &Path) -> std::path::PathBuf {
    tmp.join("hub").join("models--acme--evil")
}

/// Requests whose method is `method` and whose decoded path contains `text`.
pub fn requests(server: &Hostile, method: &str, text: &str) -> Vec<Seen> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == method
                && percent_encoding::percent_decode_str(&r.path)
                    .decode_utf8_lossy()
                    .contains(text)
        })
        .collect()
}

/// Asserts that a run's stderr holds no control character but line ends: nothing a server chose can
/// drive the terminal.
pub fn assert_no_control_characters(text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
}
