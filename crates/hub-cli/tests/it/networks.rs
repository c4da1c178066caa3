//! Issue 13 as the `hfhub` binary meets it (hub-http's tests drive a real forward proxy): a proxy
//! that refuses the CONNECT tunnel ends the run at once with exit 1 and a message that names the
//! proxy, its answer and the endpoint; nothing is retried for half a minute and no password shows.

use std::time::{Duration, Instant};

use hfhub_tests::hostile::{Hostile, Seen, answer};

use crate::reliability::{hfhub, stderr};

#[test]
fn a_proxy_that_refuses_connect_fails_the_download_at_once_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Every request, CONNECT included, gets 403: a corporate proxy that does not allow the Hub.
    let proxy = Hostile::start(|request: &Seen, _: &str| {
        answer("403 Forbidden", &[], b"", request.method == "HEAD")
    });
    let proxy_url = proxy.base.replace("http://", "http://bob:proxy-secret@");
    let started = Instant::now();
    let output = hfhub(
        &tmp.path().join("home"),
        &tmp.path().join("hub"),
        // An https endpoint: reached only through the proxy's tunnel, never resolved here.
        "https://hub.invalid",
    )
    .args(["download", "acme/model", "config.json"])
    .env("HTTPS_PROXY", &proxy_url)
    .env("RUST_LOG", "trace")
    .output()
    .expect("run hfhub");
    let took = started.elapsed();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("hub.invalid"), "the endpoint is named: {err}");
    assert!(err.contains("proxy"), "the proxy is named: {err}");
    assert!(
        err.contains("refused CONNECT"),
        "the refusal is said: {err}"
    );
    assert!(
        !err.contains("proxy-secret"),
        "the proxy password is printed: {err}"
    );
    // Refused, not flaky: no back-off (the default retries take about 25 s).
    assert!(took < Duration::from_secs(20), "took {took:?}: {err}");
    let seen = proxy.requests();
    assert!(!seen.is_empty(), "the proxy was asked");
    assert!(
        seen.iter()
            .all(|r| r.method == "CONNECT" && r.path.starts_with("hub.invalid:443")),
        "{seen:?}"
    );
}
