//! Proxies from the environment (issue 13): a single file, an LFS file through the CDN redirect
//! and a snapshot-style listing go through a forward proxy for http and https targets; NO_PROXY
//! bypasses it; proxy credentials are sent and never logged; the Hub token never reaches the
//! proxy; a proxy that refuses CONNECT or cannot be reached gives a clear error at once.

use std::time::Duration;

use hub_cache::env::Env;
use hub_http::{Client, ClientBuilder, DownloadRequest, Error, RetryPolicy};
use hub_server::Origin;

use crate::forward_proxy::{ForwardProxy, Mode};
use crate::support::{self, Setup, TOKEN, gpt2, serve};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    }
}

/// A client built from `pairs` as the environment (plus the token), with fast retries.
fn client_from_env(pairs: &[(&str, &str)]) -> Client {
    let mut all: Vec<(&str, &str)> = vec![("HF_TOKEN", TOKEN)];
    all.extend_from_slice(pairs);
    ClientBuilder::from_env(&Env::from_pairs(all))
        .unwrap()
        .with_retry(fast_retries())
        .build()
        .unwrap()
}

/// Lists gpt2 at `main` and downloads every file (regular ones from the Hub, LFS ones through
/// the CDN redirect), checking each against the fixture.
async fn snapshot(client: &Client, env: &support::Env) {
    let repo = env.fixture.repo("gpt2").unwrap();
    let commit = &repo.refs["main"];
    let listed = client.list_tree(&gpt2(), commit).await.unwrap();
    let files: Vec<_> = listed.iter().filter(|e| e.is_file()).collect();
    assert!(files.len() >= 2, "{listed:?}");
    let dir = tempfile::tempdir().unwrap();
    for entry in files {
        let (_, expected) = support::gpt2_file(env, &entry.path);
        let resolved = client.resolve(&gpt2(), commit, &entry.path).await.unwrap();
        let request = DownloadRequest {
            resolve_url: client.endpoint().resolve_url(&gpt2(), commit, &entry.path),
            location: resolved.location,
            expected_size: resolved.size,
            etag: resolved.etag,
            resume_from: 0,
        };
        let target = dir.path().join(entry.path.replace('/', "_"));
        client
            .download(&request, support::open_rw(&target), |_| {})
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(&target).unwrap(),
            expected.content,
            "{}",
            entry.path
        );
    }
}

fn port(url: &str) -> String {
    url.rsplit_once(':')
        .unwrap()
        .1
        .trim_end_matches('/')
        .to_owned()
}

#[tokio::test]
async fn http_targets_go_through_the_proxy_and_the_token_never_reaches_it() {
    let env = serve(Setup::default()).await;
    let proxy = ForwardProxy::start(Mode::Open).await;
    let endpoint = env.server.endpoint();
    let client = client_from_env(&[("HF_ENDPOINT", &endpoint), ("http_proxy", &proxy.url)]);
    snapshot(&client, &env).await;
    let log = proxy.log_text();
    let hub = format!("CONNECT 127.0.0.1:{}", port(&endpoint));
    assert!(
        log.contains(&hub),
        "the Hub requests carry the token: tunnelled\n{log}"
    );
    let cdn = format!("GET {}/", env.server.cdn_endpoint());
    assert!(
        log.contains(&cdn),
        "the CDN requests go in absolute form\n{log}"
    );
    assert!(!log.contains(TOKEN), "the token reached the proxy\n{log}");
    let records = env.server.request_log().records();
    assert!(records.iter().any(|r| r.origin == Origin::Cdn));
    assert!(
        records
            .iter()
            .all(|r| r.authorization == (r.origin == Origin::Hub)),
        "the token went to the Hub only: {records:#?}"
    );
}

#[tokio::test]
async fn https_targets_tunnel_through_the_proxy() {
    let env = serve(Setup::default()).await;
    let (endpoint, ca_pem) = crate::tls::tls_front(env.server.addr(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let proxy = ForwardProxy::start(Mode::Open).await;
    let client = client_from_env(&[
        ("HF_ENDPOINT", &endpoint),
        ("HTTPS_PROXY", &proxy.url),
        ("HTTP_PROXY", &proxy.url),
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
    ]);
    snapshot(&client, &env).await;
    let log = proxy.log_text();
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{}", port(&endpoint))),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "the token reached the proxy\n{log}");
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| r.method == "CONNECT" || r.path.starts_with(&env.server.cdn_endpoint())),
        "only the plain-http CDN goes in absolute form\n{log}"
    );
}

#[tokio::test]
async fn no_proxy_bypasses_the_proxy() {
    let env = serve(Setup::default()).await;
    let proxy = ForwardProxy::start(Mode::Open).await;
    let endpoint = env.server.endpoint();
    let by_port = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        port(&endpoint),
        port(&env.server.cdn_endpoint())
    );
    for no_proxy in [
        "127.0.0.1",
        "127.0.0.0/8",
        "*",
        " localhost, 127.0.0.1 ",
        &by_port,
    ] {
        let client = client_from_env(&[
            ("HF_ENDPOINT", &endpoint),
            ("ALL_PROXY", &proxy.url),
            ("no_proxy", no_proxy),
        ]);
        snapshot(&client, &env).await;
        assert_eq!(proxy.connections(), 0, "NO_PROXY={no_proxy}");
    }
    // Another port of the same host does not match.
    let client = client_from_env(&[
        ("HF_ENDPOINT", &endpoint),
        ("ALL_PROXY", &proxy.url),
        ("NO_PROXY", "127.0.0.1:1"),
    ]);
    client.repo_info(&gpt2(), "main").await.unwrap();
    assert!(proxy.connections() > 0);
}

#[tokio::test]
async fn proxy_credentials_are_sent_and_never_logged() {
    let logs = crate::hygiene::captured_logs();
    let env = serve(Setup::default()).await;
    // `zoe:p@ss word` percent-encoded in the URL, sent decoded.
    let expected = "Basic em9lOnBAc3Mgd29yZA==";
    let proxy = ForwardProxy::start(Mode::RequireAuth(expected.to_owned())).await;
    let with_credentials = proxy.url.replace("http://", "http://zoe:p%40ss%20word@");
    let endpoint = env.server.endpoint();
    let client = client_from_env(&[
        ("HF_ENDPOINT", &endpoint),
        ("HTTP_PROXY", &with_credentials),
    ]);
    snapshot(&client, &env).await;
    assert!(proxy.connections() > 0);
    assert_eq!(
        client.describe_network(),
        hub_http::NetworkDescription::from_env(&Env::from_pairs([(
            "HTTP_PROXY",
            with_credentials.as_str()
        )]))
    );
    assert_eq!(
        client.describe_network().proxies,
        vec![(
            "http".to_owned(),
            format!("{}/", proxy.url.replace("http://", "http://zoe:***@"))
        )]
    );

    let anonymous = client_from_env(&[("HF_ENDPOINT", &endpoint), ("HTTP_PROXY", &proxy.url)]);
    let error = anonymous.repo_info(&gpt2(), "main").await.unwrap_err();
    assert!(matches!(error, Error::Proxy { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("407") && message.contains(&proxy.url),
        "{message}"
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "TRACE logs were captured");
    for secret in ["p@ss", "p%40ss", "em9lOnBAc3Mgd29yZA"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(!message.contains(secret), "{secret} in the error");
    }
}

#[tokio::test]
async fn a_proxy_that_refuses_connect_gives_a_clear_error() {
    let env = serve(Setup::default()).await;
    let proxy = ForwardProxy::start(Mode::RefuseConnect).await;
    let endpoint = env.server.endpoint();
    let client = client_from_env(&[("HF_ENDPOINT", &endpoint), ("HTTP_PROXY", &proxy.url)]);
    let error = client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Proxy { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    for needle in ["refused CONNECT", proxy.url.as_str(), endpoint.as_str()] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert!(env.server.request_log().records().is_empty());
}

#[tokio::test]
async fn an_unreachable_proxy_fails_at_once_naming_it_and_the_endpoint() {
    // A port nobody listens on: bind, note, close.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let client = ClientBuilder::from_env(&Env::from_pairs([
        ("HF_ENDPOINT", "https://hub.invalid"),
        ("HTTPS_PROXY", closed.as_str()),
    ]))
    .unwrap()
    .build()
    .unwrap();
    // The default retry policy waits 1 + 2 + 4 + 8 + 8 s for retryable errors; this one is not.
    let repo = gpt2();
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client
            .retry_policy()
            .run(|| client.repo_info(&repo, "main")),
    )
    .await
    .expect("failed at once")
    .unwrap_err();
    assert!(matches!(error, Error::Proxy { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&closed) && message.contains("https://hub.invalid"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_at_once_naming_it() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let client = ClientBuilder::from_env(&Env::from_pairs([("HF_ENDPOINT", closed.as_str())]))
        .unwrap()
        .build()
        .unwrap();
    let repo = gpt2();
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client
            .retry_policy()
            .run(|| client.resolve(&repo, "main", "config.json")),
    )
    .await
    .expect("failed at once")
    .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains(&closed), "{error}");
}
