//! A malicious server: crafted tree listings, commits, headers and redirects. Each is refused with an
//! error naming the problem, and not one byte is written outside the cache or the `local_dir`
//! (the whole temp folder around them is compared before and after).

use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_sync::{Downloader, FileRequest, SnapshotRequest};

use super::*;
use std::fs;
use std::path::Path;
use std::sync::Arc;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Raw answer to a resolve request: `(request, is HEAD, base URL) -> bytes`.
type Responder = Arc<dyn Fn(&Seen, bool, &str) -> Vec<u8> + Send + Sync>;

/// What the hostile Hub answers, per case.
#[derive(Clone)]
struct Script {
    /// `sha` of the repo info answer.
    sha: String,
    /// The tree listing (JSON).
    tree: String,
    /// Raw answer to a resolve request: `(request, is HEAD, base URL) -> bytes`.
    file: Responder,
}

fn serve(script: Script) -> Hostile {
    Hostile::start(move |request, base| {
        let head = request.method == "HEAD";
        if request.path.starts_with("/api/models/acme/evil/revision/") {
            let body = format!("{{\"sha\": {}, \"siblings\": []}}", json(&script.sha));
            answer(
                "200 OK",
                &[("Content-Type", "application/json".into())],
                body.as_bytes(),
                head,
            )
        } else if request.path.starts_with("/api/models/acme/evil/tree/") {
            answer("200 OK", &[], script.tree.as_bytes(), head)
        } else if request.path.contains("/resolve/") {
            (script.file)(request, head, base)
        } else {
            answer("404 Not Found", &[], b"", head)
        }
    })
}

fn json(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// A listing of regular files `(path, oid, size)`.
fn listing(files: &[(String, String, u64)]) -> String {
    let items: Vec<String> = files
        .iter()
        .map(|(path, oid, size)| {
            format!(
                "{{\"type\": \"file\", \"path\": {}, \"oid\": {}, \"size\": {size}}}",
                json(path),
                json(oid)
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Serves `content` as a regular file with honest headers.
fn honest_file(content: &'static [u8]) -> Responder {
    Arc::new(move |_, head, _| {
        answer(
            "200 OK",
            &[
                ("X-Repo-Commit", COMMIT.to_owned()),
                (
                    "ETag",
                    format!("\"{}\"", hfhub_tests::hash::git_sha1(content)),
                ),
            ],
            content,
            head,
        )
    })
}

enum Action {
    Snapshot { local: bool, revision: &'static str },
    File { name: String, local: bool },
}

struct Case {
    name: &'static str,
    script: Script,
    action: Action,
    /// Text the error must contain.
    needle: String,
}

const BODY: &[u8] = b"pwned by a hostile server\n";

fn cases(outside: &Path) -> Vec<Case> {
    let good = hfhub_tests::hash::git_sha1(BODY);
    let tree_case = |name, path: String, needle: String, local| Case {
        name,
        script: Script {
            sha: COMMIT.to_owned(),
            tree: listing(&[(path, good.clone(), BODY.len() as u64)]),
            file: honest_file(BODY),
        },
        action: Action::Snapshot {
            local,
            revision: "main",
        },
        needle,
    };
    let absolute = outside.join("abs.txt").display().to_string();
    let long = format!("{}.txt", "a".repeat(5000));
    let mut cases = Vec::new();
    for local in [false, true] {
        cases.push(tree_case(
            "dot-dot in a listed path",
            "../../escape.txt".into(),
            "../../escape.txt".into(),
            local,
        ));
        cases.push(tree_case(
            "absolute listed path",
            absolute.clone(),
            absolute.clone(),
            local,
        ));
        cases.push(tree_case(
            "backslashes",
            "sub\\..\\..\\..\\bs.txt".into(),
            "bs.txt".into(),
            local,
        ));
        cases.push(tree_case(
            "NUL byte",
            "nul\u{0}.txt".into(),
            "nul".into(),
            local,
        ));
        cases.push(tree_case(
            "name over 4 KiB",
            long.clone(),
            "aaaa".into(),
            local,
        ));
    }
    cases.push(tree_case(
        "symlink in local_dir",
        "link/pwn.txt".into(),
        "symbolic link".into(),
        true,
    ));
    // A listed blob id that is a path.
    for (local, oid) in [
        (false, "../../../../outside/oid"),
        (false, "../../../../../outside/oid"),
        (true, "../../../../../../../outside/oid"),
        (true, "x/../../../../../../../../outside/oid"),
    ] {
        cases.push(Case {
            name: "listed oid with ..",
            script: Script {
                sha: COMMIT.to_owned(),
                tree: listing(&[("file.txt".into(), oid.into(), BODY.len() as u64)]),
                file: honest_file(BODY),
            },
            action: Action::Snapshot {
                local,
                revision: "main",
            },
            needle: "etag".into(),
        });
    }
    for sha in [
        "../../../outside/commit",
        "abc",
        "0123456789ABCDEF0123456789ABCDEF01234567",
    ] {
        cases.push(Case {
            name: "commit that is not 40 hex",
            script: Script {
                sha: sha.to_owned(),
                tree: listing(&[]),
                file: honest_file(BODY),
            },
            action: Action::Snapshot {
                local: false,
                revision: "main",
            },
            needle: sha.into(),
        });
    }
    cases.push(Case {
        name: "ref name with ..",
        script: Script {
            sha: COMMIT.to_owned(),
            tree: listing(&[]),
            file: honest_file(BODY),
        },
        action: Action::Snapshot {
            local: false,
            revision: "../../../outside/ref",
        },
        needle: "../../../outside/ref".into(),
    });
    let file = |name: &'static str, needle: &str, respond: Responder| Case {
        name,
        script: Script {
            sha: COMMIT.to_owned(),
            tree: listing(&[]),
            file: respond,
        },
        action: Action::File {
            name: "file.txt".into(),
            local: false,
        },
        needle: needle.to_owned(),
    };
    cases.push(file(
        "redirect loop",
        "redirect",
        Arc::new(|request, head, base| {
            answer(
                "302 Found",
                &[("Location", format!("{base}{}", request.path))],
                b"",
                head,
            )
        }),
    ));
    for target in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/file.txt",
        "javascript:alert(1)",
    ] {
        cases.push(file(
            "redirect to a non-HTTP scheme",
            target.split(':').next().expect("scheme"),
            Arc::new(move |_, head, _| {
                answer("302 Found", &[("Location", target.to_owned())], b"", head)
            }),
        ));
    }
    cases.push(file(
        "Content-Length far beyond the listed size",
        "Content-Length",
        Arc::new(|_, head, _| {
            let mut out = answer(
                "200 OK",
                &[
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("ETag", format!("\"{}\"", hfhub_tests::hash::git_sha1(BODY))),
                    ("Content-Length", "10000000000".to_owned()),
                ],
                b"",
                true,
            );
            if head {
                // The HEAD says the honest size; the GET then claims 10 GB.
                out = answer(
                    "200 OK",
                    &[
                        ("X-Repo-Commit", COMMIT.to_owned()),
                        ("ETag", format!("\"{}\"", hfhub_tests::hash::git_sha1(BODY))),
                    ],
                    BODY,
                    true,
                );
            } else {
                out.extend_from_slice(&seeded(1 << 20));
            }
            out
        }),
    ));
    // The same lie against a snapshot, whose sizes come from the tree listing, and a body with no
    // length at all that goes on past the listed size.
    let good_listing = listing(&[(
        "file.txt".into(),
        hfhub_tests::hash::git_sha1(BODY),
        BODY.len() as u64,
    )]);
    for (local, chunked) in [(false, false), (true, false), (false, true), (true, true)] {
        cases.push(Case {
            name: if chunked {
                "unbounded body beyond the listed size"
            } else {
                "Content-Length beyond the listed size (snapshot)"
            },
            script: Script {
                sha: COMMIT.to_owned(),
                tree: good_listing.clone(),
                file: Arc::new(move |_, head, _| {
                    let length = if chunked {
                        ("Transfer-Encoding", "chunked".to_owned())
                    } else {
                        ("Content-Length", "10000000000".to_owned())
                    };
                    let mut out = answer(
                        "200 OK",
                        &[("X-Repo-Commit", COMMIT.to_owned()), length],
                        b"",
                        true,
                    );
                    if !head {
                        for _ in 0..64 {
                            out.extend_from_slice(format!("{:x}\r\n", 16384).as_bytes());
                            out.extend_from_slice(&seeded(16384));
                            out.extend_from_slice(b"\r\n");
                        }
                    }
                    out
                }),
            },
            action: Action::Snapshot {
                local,
                revision: "main",
            },
            needle: if chunked {
                "more than the 26 bytes expected".into()
            } else {
                "Content-Length 10000000000".into()
            },
        });
    }
    for (header, value, needle) in [
        ("ETag", "\"ab\u{1}cd\"", "invalid HTTP header"),
        ("ETag", "\"../../../../outside/etag\"", "ETag"),
        (
            "X-Repo-Commit",
            "0123456789abcdef0123456789abcdef0123456\u{7f}",
            "invalid HTTP header",
        ),
        ("X-Repo-Commit", "../../../outside/commit", "X-Repo-Commit"),
    ] {
        cases.push(file(
            "header with control characters or a path",
            needle,
            Arc::new(move |_, head, _| {
                let mut headers = vec![
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("ETag", format!("\"{}\"", hfhub_tests::hash::git_sha1(BODY))),
                ];
                headers.retain(|(n, _)| *n != header);
                headers.push((header, value.to_owned()));
                answer("200 OK", &headers, BODY, head)
            }),
        ));
    }
    cases
}

fn seeded(len: usize) -> Vec<u8> {
    hfhub_tests::synthetic::seeded_bytes(11, len)
}

#[test]
fn every_malicious_answer_is_refused_and_nothing_is_written_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("root");
    let outside = root.join("outside");
    fs::create_dir_all(&outside).expect("outside");
    fs::write(outside.join("keep.txt"), b"untouched").expect("canary");
    let cases = cases(&outside);
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let area = root.join(format!("case-{index}"));
        let (cache, local) = (area.join("hub"), area.join("local"));
        fs::create_dir_all(&local).expect("local");
        // A symlink inside local_dir pointing outside: a listed `link/...` must not follow it.
        std::os::unix::fs::symlink(&outside, local.join("link")).expect("symlink");
        let before = tree_state(&root);
        let server = serve(case.script.clone());
        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.base.clone()))
            .with_retry(RetryPolicy::none())
            .build()
            .expect("client");
        let downloader = hub_sync::blocking::Downloader::new(
            Downloader::new(client, Cache::new(&cache)).with_retry(RetryPolicy::none()),
        )
        .expect("runtime");
        let repo = Repo::model("acme/evil").expect("repo");
        let result = match &case.action {
            Action::Snapshot {
                local: in_local,
                revision,
            } => downloader.snapshot(
                &SnapshotRequest::new(repo)
                    .with_revision(*revision)
                    .with_local_dir(in_local.then(|| local.clone())),
            ),
            Action::File {
                name,
                local: in_local,
            } => downloader.download_file(
                &FileRequest::new(repo, name.as_str())
                    .with_local_dir(in_local.then(|| local.clone())),
            ),
        };
        let after = tree_state(&root);
        // Everything that changed is below this case's cache or local folder.
        let changed: Vec<_> = after
            .iter()
            .filter(|(path, kind)| before.get(*path) != Some(kind))
            .map(|(path, _)| path.clone())
            .chain(before.keys().filter(|p| !after.contains_key(*p)).cloned())
            // (tree_state does not follow links: a write through `local/link` shows under `outside/`.)
            .filter(|path| !path.starts_with(&cache) && !path.starts_with(&local))
            .collect();
        let message = match &result {
            Ok(path) => format!("accepted: {}", path.display()),
            Err(error) => error_chain(error),
        };
        let refused = result.is_err() && message.contains(&case.needle);
        eprintln!(
            "{:>2} {:<45} {}",
            index,
            case.name,
            message.chars().take(200).collect::<String>()
        );
        if !refused || !changed.is_empty() {
            failures.push(format!(
                "case {index} ({}): {message}; written outside: {changed:?}",
                case.name
            ));
        }
    }
    assert_eq!(
        fs::read(outside.join("keep.txt")).expect("canary"),
        b"untouched"
    );
    eprintln!(
        "malicious server: {} cases, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
