//! The request log and each kind of injected fault.

use std::time::{Duration, Instant};

use hub_server::fault::{CdnLinks, Fault, FaultKind};
use hub_server::{Origin, Server};

use crate::support::*;

const WEIGHTS: &str = "/org/model/resolve/main/model.safetensors";
const CONFIG_URL: &str = "/org/model/resolve/main/config.json";

async fn cdn_location(endpoint: &str) -> String {
    let head = fetch("HEAD", &format!("{endpoint}{WEIGHTS}"), &[]).await;
    head.header("location").expect("LFS redirect").to_owned()
}

#[tokio::test]
async fn the_request_log_records_every_request() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let auth = [("authorization", "Bearer hf_x"), ("user-agent", "test/1")];
    fetch("HEAD", &format!("{base}{CONFIG_URL}"), &auth).await;
    fetch(
        "GET",
        &format!("{base}/api/models/org/model/tree/main?recursive=true"),
        &[],
    )
    .await;
    let location = cdn_location(&base).await;
    fetch("GET", &location, &[("range", "bytes=10-")]).await;
    fetch(
        "GET",
        &format!("{base}/org/model/resolve/main/missing"),
        &[],
    )
    .await;
    let records = server.request_log().records();
    let summary: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.origin,
                r.method.as_str(),
                r.status,
                r.authorization,
                r.range.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Origin::Hub, "HEAD", 200, true, None),
            (Origin::Hub, "GET", 200, false, None),
            (Origin::Hub, "HEAD", 302, false, None),
            (Origin::Cdn, "GET", 206, false, Some("bytes=10-")),
            (Origin::Hub, "GET", 404, false, None),
        ]
    );
    assert_eq!(records[0].path, CONFIG_URL);
    assert_eq!(records[0].user_agent.as_deref(), Some("test/1"));
    assert_eq!(records[0].bytes_sent, 0);
    assert_eq!(
        records[1].path,
        "/api/models/org/model/tree/main?recursive=true"
    );
    assert!(records[1].bytes_sent > 0);
    assert_eq!(records[3].bytes_sent, 300_000 - 10);
    assert!(records.iter().all(|r| r.fault.is_none()));
    server.request_log().clear();
    assert!(server.request_log().records().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_cut_the_body() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_fault(
            Fault::new(FaultKind::DropAfter(100_000))
                .on(Origin::Cdn)
                .first(1),
        )
        .start()
        .await
        .expect("start");
    let location = cdn_location(&server.endpoint()).await;
    let broken = fetch("GET", &location, &[]).await;
    assert_eq!(broken.status, 200);
    assert!(!broken.complete, "the body must end with an error");
    assert!(broken.body.len() <= 100_000);
    assert_eq!(broken.body, weights(300_000)[..broken.body.len()]);
    // Resuming where it broke gets the rest.
    let rest = fetch(
        "GET",
        &location,
        &[("range", &format!("bytes={}-", broken.body.len()))],
    )
    .await;
    assert!(rest.complete);
    let mut whole = broken.body.clone();
    whole.extend(rest.body);
    assert!(whole == weights(300_000));
    let records = server.request_log().records();
    assert_eq!(records[1].bytes_sent, 100_000);
    assert!(
        records[1]
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("DropAfter"))
    );
    assert_eq!(records[2].fault, None);
    server.shutdown().await;
}

#[tokio::test]
async fn corrupted_bytes() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_fault(Fault::new(FaultKind::Corrupt { offset: 3 }).path_contains("config.json"))
        .start()
        .await
        .expect("start");
    let got = fetch("GET", &format!("{}{CONFIG_URL}", server.endpoint()), &[]).await;
    let mut expected = CONFIG.to_vec();
    expected[3] = !expected[3];
    assert_eq!(got.body, expected);
    server.shutdown().await;
}

#[tokio::test]
async fn status_faults_with_retry_after_for_the_first_requests() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_fault(Fault::status(429, Some(1)).method("HEAD").first(2))
        .with_fault(Fault::status(503, None).on(Origin::Cdn).nth(2))
        .start()
        .await
        .expect("start");
    let url = format!("{}{CONFIG_URL}", server.endpoint());
    for _ in 0..2 {
        let limited = fetch("HEAD", &url, &[]).await;
        assert_eq!(
            (limited.status, limited.header("retry-after")),
            (429, Some("1"))
        );
    }
    assert_eq!(fetch("HEAD", &url, &[]).await.status, 200);
    assert_eq!(fetch("GET", &url, &[]).await.status, 200);
    let location = cdn_location(&server.endpoint()).await;
    let statuses = [
        fetch("GET", &location, &[]).await.status,
        fetch("GET", &location, &[]).await.status,
        fetch("GET", &location, &[]).await.status,
    ];
    assert_eq!(statuses, [200, 503, 200]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_share_of_requests_fails_the_same_way_on_every_run() {
    let cache = cache();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let server = Server::builder(cache.path())
            .with_fault(Fault::status(500, None).share(40, 42))
            .start()
            .await
            .expect("start");
        let url = format!("{}{CONFIG_URL}", server.endpoint());
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(fetch("HEAD", &url, &[]).await.status);
        }
        runs.push(statuses);
        server.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    let failed = runs[0].iter().filter(|s| **s == 500).count();
    assert!((4..=26).contains(&failed), "{failed} of 30 failed");
    assert!(runs[0].iter().all(|s| *s == 500 || *s == 200));
}

#[tokio::test]
async fn delays_and_stalls() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_fault(Fault::new(FaultKind::Delay(Duration::from_millis(300))).method("HEAD"))
        .with_fault(
            Fault::new(FaultKind::Stall {
                after: 50_000,
                duration: Duration::from_millis(300),
            })
            .on(Origin::Cdn),
        )
        .start()
        .await
        .expect("start");
    let started = Instant::now();
    let location = cdn_location(&server.endpoint()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "HEAD not delayed"
    );
    let started = Instant::now();
    let got = fetch("GET", &location, &[]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "body not stalled"
    );
    assert!(got.complete && got.body == weights(300_000));
    server.shutdown().await;
}

#[tokio::test]
async fn cdn_locations_that_expire() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_cdn_links(CdnLinks::Expiring { uses: 1 })
        .start()
        .await
        .expect("start");
    let location = cdn_location(&server.endpoint()).await;
    assert_eq!(fetch("GET", &location, &[]).await.status, 200);
    assert_eq!(fetch("GET", &location, &[]).await.status, 403);
    let fresh = cdn_location(&server.endpoint()).await;
    assert_ne!(fresh, location);
    assert_eq!(fetch("GET", &fresh, &[]).await.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn cdn_locations_valid_for_one_range() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_cdn_links(CdnLinks::SingleRange)
        .start()
        .await
        .expect("start");
    let location = cdn_location(&server.endpoint()).await;
    let range = [("range", "bytes=0-99")];
    assert_eq!(fetch("GET", &location, &range).await.status, 206);
    assert_eq!(fetch("GET", &location, &range).await.status, 206);
    assert_eq!(
        fetch("GET", &location, &[("range", "bytes=100-")])
            .await
            .status,
        403
    );
    assert_eq!(fetch("GET", &location, &[]).await.status, 403);
    server.shutdown().await;
}
