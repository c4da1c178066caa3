//! Classes 2, 3 and 10 as the `hfhub` binary meets them (hub-http's own tests check the mechanisms):
//! an API answer that stops after `{` fails at the stall timeout instead of hanging; a tree listing
//! whose `Link: rel="next"` points back at itself stops with an error that says so instead of growing
//! memory for ever; a password in `HF_ENDPOINT` never reaches stderr, even at TRACE. Each run ends
//! with exit 1, writes nothing outside the cache, and its message is asserted.

use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use hfhub_tests::hostile::Reply;
use serde_json::json;

use super::scripted::*;

/// Runs `command`, killing it (and failing) if it has not ended after `limit`: the bound is what
/// the test asserts, not a speed.
fn bounded(mut command: std::process::Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hfhub");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "hfhub still ran after {limit:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn an_api_answer_that_stops_after_a_brace_fails_in_bounded_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    // Headers announcing 100 bytes, `{`, then nothing for ten minutes.
    let server = Hostile::start(|_: &Seen, _: &str| {
        Reply::Stream(Box::new(|stream: &mut TcpStream| {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            );
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(600));
        }))
    });
    let mut command = download(tmp.path(), &server, &[]);
    command
        .env("HF_HUB_ETAG_TIMEOUT", "1")
        .env("HF_HUB_DOWNLOAD_TIMEOUT", "1");
    let output = bounded(command, Duration::from_secs(90));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(REPO), "the error names the repository: {err}");
    assert!(
        err.contains("timed out") || err.contains("no data"),
        "the error says the answer stalled: {err}"
    );
    assert!(!repo_dir(tmp.path()).join("snapshots").exists());
    canary.assert_untouched();
}

#[test]
fn a_listing_that_links_to_itself_stops_with_an_error_that_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let server = Hostile::start(|request: &Seen, base: &str| {
        let head = request.method == "HEAD";
        let json_answer = |extra: Vec<(&str, String)>, body: String| {
            let mut headers = vec![("Content-Type", "application/json".to_owned())];
            headers.extend(extra);
            answer("200 OK", &headers, body.as_bytes(), head)
        };
        if request.path.contains("/tree/") {
            // Every page says the next one is itself.
            let next = format!("<{base}{}>; rel=\"next\"", request.path);
            let page = json!([{"type": "file", "path": "a.txt", "oid": git_sha1(b"a"), "size": 1}]);
            json_answer(vec![("Link", next)], page.to_string())
        } else {
            json_answer(vec![], json!({"sha": COMMIT, "siblings": []}).to_string())
        }
    });
    let output = bounded(download(tmp.path(), &server, &[]), Duration::from_secs(90));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("repeats the page"), "{err}");
    // The second page was recognised as the first: two listing requests at most per attempt.
    let pages = requests(&server, "GET", "/tree/").len();
    assert!(pages <= 4, "{pages} listing requests");
    assert!(!repo_dir(tmp.path()).join("trees").exists());
    canary.assert_untouched();
}

#[test]
fn a_password_in_the_endpoint_never_reaches_stderr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Hostile::start(|request: &Seen, _: &str| {
        answer(
            "500 Internal Server Error",
            &[],
            b"",
            request.method == "HEAD",
        )
    });
    let endpoint = server
        .base
        .replace("http://", "http://alice:endpoint-secret@");
    for trace in [false, true] {
        let mut command =
            crate::reliability::hfhub(&tmp.path().join("home"), &tmp.path().join("hub"), &endpoint);
        command.args(["download", REPO, "config.json"]);
        if trace {
            command.env("RUST_LOG", "trace").env("HF_DEBUG", "1");
        }
        let output = bounded(command, Duration::from_secs(120));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains("127.0.0.1"), "the endpoint is named: {err}");
        for secret in ["endpoint-secret", "alice:"] {
            assert!(
                !err.contains(secret),
                "`{secret}` printed (trace: {trace}):\n{err}"
            );
        }
    }
    // The credentials were not sent either (the endpoint's userinfo is dropped before a request).
    assert!(
        server.requests().iter().all(|r| r
            .headers
            .iter()
            .all(|(_, v)| !v.contains("endpoint-secret"))),
        "a request carried the password"
    );
}
