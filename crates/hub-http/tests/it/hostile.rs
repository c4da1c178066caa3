//! A hostile Hub on 127.0.0.1 (`hfhub_tests::hostile`), scripted per test: it answers each
//! request with raw bytes and may stall, trickle or lie. Each case is a class of issue 11 that hub-http must survive:
//! 1 (a size header never sizes an allocation), 2 (every read has a deadline, and a low-speed
//! limit), 3 (bounded pagination and JSON), 10 (no userinfo shown) and 12 (control characters
//! escaped in errors).

use std::future::Future;
use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use hfhub_tests::hostile::{Hostile, Reply, Seen, answer};
use hub_cache::env::Env;
use hub_http::{
    Client, ClientBuilder, DownloadRequest, Endpoint, Error, ListingLimits, ParallelOptions,
    RetryPolicy,
};

use crate::support::{self, gpt2};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA256: &str = "a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// A head with `Connection: close` and no body.
fn head(status: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut headers = headers.to_vec();
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        headers.push(("Content-Length", "0".to_owned()));
    }
    answer(status, &headers, b"", true)
}

/// A whole answer.
fn full(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    answer(status, headers, body, false)
}

/// A reply that writes `head`, then `each` every `pause` for `count` times (or until the client
/// goes away).
fn trickle(head: Vec<u8>, each: &'static [u8], pause: Duration, count: usize) -> Reply {
    Reply::Stream(Box::new(move |stream: &mut TcpStream| {
        if stream.write_all(&head).is_err() {
            return;
        }
        for _ in 0..count {
            if stream
                .write_all(each)
                .and_then(|()| stream.flush())
                .is_err()
            {
                return;
            }
            std::thread::sleep(pause);
        }
    }))
}

/// Fast retries, short timeouts, no token.
fn hostile_client(base: &str) -> ClientBuilder {
    Client::builder()
        .with_endpoint(Endpoint::new(base))
        .with_download_timeout(Duration::from_secs(2))
        .with_etag_timeout(Duration::from_secs(2))
        .with_retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
        })
}

/// Runs `future`, failing the test if it has not finished within `limit` (a hang is the bug).
async fn bounded<T>(limit: u64, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(limit), future)
        .await
        .expect("finished in bounded time")
}

fn temp_target(dir: &tempfile::TempDir) -> std::fs::File {
    support::open_rw(&dir.path().join("blob"))
}

/// Peak resident memory of this process, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test]
async fn class_1_a_size_of_1e18_in_any_header_never_sizes_an_allocation() {
    const HUGE: &str = "1000000000000000000";
    let hostile = Hostile::start(|request: &Seen, _: &str| {
        if request.path.contains("/tree/") {
            let listing = format!(
                "[{{\"type\":\"file\",\"path\":\"big.bin\",\"oid\":\"{COMMIT}\",\"size\":{HUGE},\
                 \"lfs\":{{\"oid\":\"{SHA256}\",\"size\":{HUGE}}}}}]"
            );
            full("200 OK", &[], listing.as_bytes())
        } else if request.method == "HEAD" {
            let size = if request.path.contains("linked") {
                ("X-Linked-Size", HUGE.to_owned())
            } else {
                ("Content-Length", HUGE.to_owned())
            };
            head(
                "200 OK",
                &[
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("ETag", format!("\"{SHA256}\"")),
                    size,
                ],
            )
        } else {
            // Whatever was asked, a few bytes.
            answer(
                "206 Partial Content",
                &[("Content-Length", HUGE.to_owned())],
                b"tiny",
                false,
            )
        }
    });
    let client = hostile_client(&hostile.base).build().unwrap();
    let before = peak_rss();
    for file in ["linked.bin", "plain.bin"] {
        let resolved = bounded(30, client.resolve(&gpt2(), "main", file))
            .await
            .unwrap();
        assert_eq!(resolved.size, Some(1_000_000_000_000_000_000), "{file}");
        let request = DownloadRequest {
            resolve_url: client.endpoint().resolve_url(&gpt2(), "main", file),
            location: resolved.location,
            expected_size: resolved.size,
            etag: resolved.etag,
            resume_from: 0,
        };
        let dir = tempfile::tempdir().unwrap();
        let error = bounded(30, client.download(&request, temp_target(&dir), |_| {}))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("Content-Length"),
            "{file}: {error}"
        );
    }
    let listed = bounded(30, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap();
    assert_eq!(listed[0].size, 1_000_000_000_000_000_000);
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 512 * 1024 * 1024,
        "peak memory grew by {grown} bytes"
    );
}

#[tokio::test]
async fn class_2_an_api_answer_that_stops_after_a_brace_fails_at_the_stall_timeout() {
    // `{`, then nothing for longer than any test runs.
    let hostile = Hostile::start(|_: &Seen, _: &str| {
        let head = head("200 OK", &[("Content-Length", "100".to_owned())]);
        trickle(head, b"{", Duration::from_secs(600), 1)
    });
    let client = hostile_client(&hostile.base)
        .with_download_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let error = bounded(30, client.repo_info(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let error = bounded(30, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    // One attempt and one retry each.
    assert_eq!(hostile.seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn class_2_a_whole_json_answer_has_a_deadline() {
    // One byte every 200 ms: never a stall, and above a low-speed limit of 1 byte/s.
    let hostile = Hostile::start(|_: &Seen, _: &str| {
        let head = head("200 OK", &[("Content-Length", "100000".to_owned())]);
        trickle(head, b" ", Duration::from_millis(200), 100_000)
    });
    let env = Env::from_pairs([
        ("HF_ENDPOINT", hostile.base.as_str()),
        ("HFHUB_LOW_SPEED_LIMIT", "1"),
        ("HFHUB_LOW_SPEED_TIME", "1"),
    ]);
    let client = ClientBuilder::from_env(&env)
        .unwrap()
        .with_retry(RetryPolicy::none())
        .with_api_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let error = bounded(30, client.repo_info(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, .. } if after == Duration::from_secs(2)),
        "{error:?}"
    );
}

#[tokio::test]
async fn class_2_a_trickle_is_abandoned_under_the_low_speed_limit_set_by_env() {
    // One byte every 300 ms: under the stall timeout, under 100 bytes/s.
    let hostile = Hostile::start(|request: &Seen, _: &str| {
        if request.method == "HEAD" {
            return Reply::Bytes(head(
                "200 OK",
                &[
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("ETag", format!("\"{SHA256}\"")),
                    ("Content-Length", "1000".to_owned()),
                ],
            ));
        }
        let from: usize = request
            .headers
            .iter()
            .find(|(n, _)| n == "range")
            .and_then(|(_, r)| r.strip_prefix("bytes="))
            .and_then(|r| r.split('-').next())
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        let status = if from > 0 {
            "206 Partial Content"
        } else {
            "200 OK"
        };
        let length = (1000 - from).to_string();
        let head = head(status, &[("Content-Length", length)]);
        trickle(head, b"x", Duration::from_millis(300), 1000 - from)
    });
    let env = Env::from_pairs([
        ("HF_ENDPOINT", hostile.base.as_str()),
        ("HF_HUB_DOWNLOAD_TIMEOUT", "5"),
        ("HFHUB_LOW_SPEED_LIMIT", "100"),
        ("HFHUB_LOW_SPEED_TIME", "2"),
    ]);
    let client = ClientBuilder::from_env(&env)
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let resolved = client.resolve(&gpt2(), "main", "slow.bin").await.unwrap();
    let request = DownloadRequest {
        resolve_url: client.endpoint().resolve_url(&gpt2(), "main", "slow.bin"),
        location: resolved.location,
        expected_size: resolved.size,
        etag: resolved.etag,
        resume_from: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let error = bounded(60, client.download(&request, temp_target(&dir), |_| {}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooSlow { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains("HFHUB_LOW_SPEED_LIMIT"),
        "{error}"
    );
    let gets = hostile
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 2, "abandoned, resumed once, abandoned again");
}

/// A listing whose pages link on forever: `next` is `self` (`repeat`) or a fresh cursor.
fn endless_listing(repeat: bool) -> Hostile {
    Hostile::start(move |request: &Seen, _: &str| {
        let cursor: u64 = request
            .path
            .rsplit_once("cursor=")
            .and_then(|(_, c)| c.parse().ok())
            .unwrap_or(0);
        let next = if repeat {
            request.path.clone()
        } else {
            let (path, _) = request.path.split_once('?').unwrap();
            format!("{path}?recursive=true&cursor={}", cursor + 1)
        };
        let page = format!("[{{\"type\":\"file\",\"path\":\"f{cursor}\",\"oid\":\"{COMMIT}\"}}]");
        full(
            "200 OK",
            &[("Link", format!("<{next}>; rel=\"next\""))],
            page.as_bytes(),
        )
    })
}

#[tokio::test]
async fn class_3_pagination_stops_on_a_repeated_cursor_and_at_the_page_limit() {
    let hostile = endless_listing(true);
    let client = hostile_client(&hostile.base).build().unwrap();
    let error = bounded(30, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("repeats the page"), "{error}");
    assert_eq!(hostile.seen.lock().unwrap().len(), 1);

    let hostile = endless_listing(false);
    let client = hostile_client(&hostile.base)
        .with_listing_limits(ListingLimits {
            max_pages: 5,
            max_entries: 1_000,
        })
        .build()
        .unwrap();
    let error = bounded(30, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("more than 5 pages"), "{error}");
    assert_eq!(hostile.seen.lock().unwrap().len(), 5);

    let client = hostile_client(&hostile.base)
        .with_listing_limits(ListingLimits {
            max_pages: 100,
            max_entries: 3,
        })
        .build()
        .unwrap();
    let error = bounded(30, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("more than 3 entries"), "{error}");
}

#[tokio::test]
async fn class_3_a_json_answer_larger_than_the_cap_is_refused() {
    let size = hub_http::MAX_JSON_BYTES + 1024 * 1024;
    let hostile = Hostile::start(move |_: &Seen, _: &str| {
        let head = head("200 OK", &[("Content-Length", size.to_string())]);
        Reply::Stream(Box::new(move |stream: &mut TcpStream| {
            let chunk = vec![b' '; 1024 * 1024];
            let _ = stream.write_all(&head);
            for _ in 0..size / chunk.len() {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
            }
        }))
    });
    let client = hostile_client(&hostile.base)
        .with_retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = bounded(120, client.list_tree(&gpt2(), "main"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("larger than"), "{error}");
}

#[tokio::test]
async fn class_10_userinfo_in_the_endpoint_or_a_location_is_never_shown() {
    let logs = crate::hygiene::captured_logs();
    let hostile = Hostile::start(|request: &Seen, base: &str| {
        if request.method == "HEAD" {
            full("503 Service Unavailable", &[], b"")
        } else {
            // An API redirect to another origin, with userinfo.
            let other = base.replace(
                "http://127.0.0.1",
                "http://mallory:location-secret@localhost",
            );
            full("302 Found", &[("Location", format!("{other}/x"))], b"")
        }
    });
    let endpoint = hostile
        .base
        .replace("http://", "http://alice:endpoint-secret@");
    let env = Env::from_pairs([("HF_ENDPOINT", endpoint.as_str())]);
    let client = ClientBuilder::from_env(&env)
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let repo = gpt2();
    let mut printed = String::new();
    let error = client
        .retry_policy()
        .run(|| client.resolve(&repo, "main", "config.json"))
        .await
        .unwrap_err();
    printed.push_str(&format!("{error}\n"));
    let error = client.repo_info(&gpt2(), "main").await.unwrap_err();
    printed.push_str(&format!("{error}\n"));
    assert!(
        printed.contains("localhost"),
        "the location is named: {printed}"
    );
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "the 503 was logged: {logs}");
    for secret in ["endpoint-secret", "location-secret", "alice", "mallory"] {
        assert!(!printed.contains(secret), "{secret} in errors:\n{printed}");
        assert!(!logs.contains(secret), "{secret} in logs");
    }
}

#[tokio::test]
async fn class_12_server_chosen_strings_are_escaped_in_errors() {
    let hostile = Hostile::start(|request: &Seen, _: &str| {
        let body: &[u8] = if request.path.contains("/revision/") {
            b"{\"sha\": \"\\u001b[2J\\u0007fake OK\"}"
        } else {
            b"[{\"type\": \"file\", \"path\": \"a\", \"size\": \"\\u001b]0;owned\\u0007\\u009b\"}]"
        };
        full("200 OK", &[], body)
    });
    let client = hostile_client(&hostile.base)
        .with_retry(RetryPolicy::none())
        .build()
        .unwrap();
    let errors = [
        client.repo_info(&gpt2(), "main").await.unwrap_err(),
        client.list_tree(&gpt2(), "main").await.unwrap_err(),
    ];
    for error in errors {
        let shown = error.to_string();
        assert!(
            !shown.contains(|c: char| c.is_control()),
            "a control character reaches the terminal: {shown:?}"
        );
        assert!(shown.contains("\\u{1b}"), "{shown}");
    }
}

#[tokio::test]
async fn lazily_computed_ranges_cover_a_file_exactly() {
    // The parallel path computes each range as it is taken; the whole file still arrives.
    let env = support::serve(support::Setup::default()).await;
    let client = support::client(&env)
        .with_parallel(ParallelOptions {
            threshold: 1,
            chunk_size: 7_777,
            connections: 3,
            solo_speed: u64::MAX,
        })
        .build()
        .unwrap();
    let (_, expected) = support::gpt2_file(&env, "tokenizer.json");
    let request = crate::download::request_for(&client, "tokenizer.json").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    client
        .download(&request, support::open_rw(&path), |_| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected.content);
}
