//! A flaky or hostile server: retries, resume after a cut, expired CDN links, corrupt bytes.

use std::time::Duration;

use hub_http::{Error, ParallelOptions};
use hub_server::Origin;
use hub_server::fault::{CdnLinks, Fault, FaultKind};

use crate::download::request_for;
use crate::support::{self, Setup, gpt2, gpt2_file, serve};

fn temp_file(dir: &tempfile::TempDir) -> (std::path::PathBuf, std::fs::File) {
    let path = dir.path().join("blob");
    let file = support::open_rw(&path);
    (path, file)
}

#[tokio::test]
async fn a_dropped_connection_resumes_where_it_stopped() {
    let env = serve(Setup {
        faults: vec![
            Fault::new(FaultKind::DropAfter(200_000))
                .on(Origin::Cdn)
                .method("GET")
                .first(2),
        ],
        ..Setup::default()
    })
    .await;
    let client = support::client(&env).build().unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = temp_file(&dir);
    client.download(&request, file, |_| {}).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expected.content);
    let cdn: Vec<_> = support::cdn_records(&env);
    assert_eq!(cdn.len(), 3, "{cdn:#?}");
    let total: u64 = cdn.iter().map(|r| r.bytes_sent).sum();
    assert_eq!(
        total,
        expected.size(),
        "no byte was fetched twice: {cdn:#?}"
    );
    assert!(
        cdn[1]
            .range
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=")),
        "{cdn:#?}"
    );
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried() {
    let env = serve(Setup {
        faults: vec![
            Fault::status(503, None)
                .on(Origin::Hub)
                .method("HEAD")
                .first(1),
            Fault::status(429, Some(1))
                .on(Origin::Cdn)
                .method("GET")
                .first(1),
            Fault::status(500, None)
                .on(Origin::Cdn)
                .method("GET")
                .nth(2),
        ],
        ..Setup::default()
    })
    .await;
    let client = support::client(&env).build().unwrap();
    // The metadata request is a single attempt, as upstream's first HEAD; callers retry it.
    let error = client
        .resolve(&gpt2(), "main", "model.safetensors")
        .await
        .unwrap_err();
    assert!(
        error.is_retryable() && error.allows_cache_fallback(),
        "{error:?}"
    );
    let repo = gpt2();
    let resolved = client
        .retry_policy()
        .run(|| client.resolve(&repo, "main", "model.safetensors"))
        .await
        .unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    assert_eq!(resolved.etag.as_str(), expected.etag);
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = temp_file(&dir);
    let started = std::time::Instant::now();
    client.download(&request, file, |_| {}).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(std::fs::read(&path).unwrap(), expected.content);
    let statuses: Vec<u16> = support::cdn_records(&env)
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 500, 200]);
}

#[tokio::test]
async fn a_permanent_failure_gives_up_after_the_retries() {
    let env = serve(Setup {
        faults: vec![Fault::status(503, None).on(Origin::Cdn)],
        ..Setup::default()
    })
    .await;
    let client = support::client(&env).build().unwrap();
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let (_, file) = temp_file(&dir);
    let error = client.download(&request, file, |_| {}).await.unwrap_err();
    assert_eq!(error.status(), Some(503), "{error:?}");
    let attempts = env
        .server
        .request_log()
        .records()
        .iter()
        .filter(|r| r.origin == Origin::Cdn)
        .count();
    assert_eq!(attempts, 6, "one attempt and five retries");
}

#[tokio::test]
async fn corrupt_bytes_are_never_accepted() {
    for path in ["model.safetensors", "tokenizer.json"] {
        let origin = if path == "tokenizer.json" {
            Origin::Hub
        } else {
            Origin::Cdn
        };
        let env = serve(Setup {
            faults: vec![
                Fault::new(FaultKind::Corrupt { offset: 1000 })
                    .on(origin)
                    .method("GET"),
            ],
            ..Setup::default()
        })
        .await;
        let client = support::client(&env).build().unwrap();
        let request = request_for(&client, path).await;
        let dir = tempfile::tempdir().unwrap();
        let (_, file) = temp_file(&dir);
        let error = client.download(&request, file, |_| {}).await.unwrap_err();
        assert!(
            matches!(error, Error::HashMismatch { .. }),
            "{path}: {error:?}"
        );
    }
}

#[tokio::test]
async fn expired_and_single_range_cdn_links_are_resolved_again() {
    for links in [CdnLinks::Expiring { uses: 1 }, CdnLinks::SingleRange] {
        let env = serve(Setup {
            cdn_links: links,
            ..Setup::default()
        })
        .await;
        let client = support::client(&env)
            .with_parallel(ParallelOptions {
                threshold: 64 * 1024,
                chunk_size: 256 * 1024,
                connections: 2,
                solo_speed: u64::MAX,
            })
            .build()
            .unwrap();
        let (_, expected) = gpt2_file(&env, "model.safetensors");
        let request = request_for(&client, "model.safetensors").await;
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = temp_file(&dir);
        client.download(&request, file, |_| {}).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected.content, "{links:?}");
        let records = env.server.request_log().records();
        let heads = records.iter().filter(|r| r.method == "HEAD").count();
        assert!(
            heads > 1,
            "{links:?}: the location was resolved again ({heads} HEADs)"
        );
    }
}

#[tokio::test]
async fn a_stalled_body_times_out_and_resumes() {
    let env = serve(Setup {
        faults: vec![
            Fault::new(FaultKind::Stall {
                after: 100_000,
                duration: Duration::from_secs(3),
            })
            .on(Origin::Cdn)
            .first(1),
        ],
        ..Setup::default()
    })
    .await;
    let client = support::client(&env)
        .with_download_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = temp_file(&dir);
    let started = std::time::Instant::now();
    client.download(&request, file, |_| {}).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the stall to end"
    );
    assert_eq!(std::fs::read(&path).unwrap(), expected.content);
}
