//! Token hygiene in the library: through redirect chains across three origins (Hub → CDN → another
//! CDN) and a listing whose next page is on another origin, the token goes to the Hub's origin only,
//! and never appears in an error's text or debug form.

use hfhub_tests::hash::sha256;
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy, Token};
use hub_sync::{Downloader, FileRequest, SnapshotRequest};

use super::*;
use std::fs;

const TOKEN: &str = "hf_libraryHygieneSecret0123456789";
const COMMIT: &str = "fedcba9876543210fedcba9876543210fedcba98";

fn authorized(seen: &Seen) -> bool {
    seen.headers.iter().any(|(name, _)| name == "authorization")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_goes_to_the_hub_origin_only_and_is_never_in_an_error() {
    let body: &'static [u8] = b"large file content\n";
    let etag = sha256(body);
    // The last hop: serves the bytes.
    let third =
        Hostile::start(move |request, _| answer("200 OK", &[], body, request.method == "HEAD"));
    // A CDN that redirects once more, to another origin.
    let third_base = third.base.clone();
    let cdn = Hostile::start(move |request, _| {
        answer(
            "302 Found",
            &[("Location", format!("{third_base}/final{}", request.path))],
            b"",
            request.method == "HEAD",
        )
    });
    let (cdn_base, etag_for_hub) = (cdn.base.clone(), etag.clone());
    let hub = Hostile::start(move |request, base| {
        let head = request.method == "HEAD";
        if request.path.contains("/resolve/") && request.path.contains("broken") {
            answer("500 Internal Server Error", &[], b"oops", head)
        } else if request.path.contains("/resolve/") {
            answer(
                "302 Found",
                &[
                    ("Location", format!("{cdn_base}/blob/{etag_for_hub}")),
                    ("X-Repo-Commit", COMMIT.to_owned()),
                    ("X-Linked-Etag", format!("\"{etag_for_hub}\"")),
                    ("X-Linked-Size", body.len().to_string()),
                    ("ETag", "\"0123\"".to_owned()),
                ],
                b"",
                head,
            )
        } else if request.path.contains("/revision/") {
            let json = format!("{{\"sha\": \"{COMMIT}\", \"siblings\": []}}");
            answer("200 OK", &[], json.as_bytes(), head)
        } else if request.path.contains("/tree/") {
            // The next page is on another origin.
            answer(
                "200 OK",
                &[("Link", format!("<{cdn_base}/api/page2>; rel=\"next\""))],
                b"[]",
                head,
            )
        } else {
            let _ = base;
            answer("404 Not Found", &[], b"", head)
        }
    });
    let client = Client::builder()
        .with_endpoint(Endpoint::new(hub.base.clone()))
        .with_token(Token::new(TOKEN))
        .with_retry(RetryPolicy::none())
        .build()
        .expect("client");
    let tmp = tempfile::tempdir().expect("tempdir");
    let downloader =
        Downloader::new(client, Cache::new(tmp.path().join("hub"))).with_retry(RetryPolicy::none());
    let repo = Repo::model("acme/secret").expect("repo");
    let path = downloader
        .download_file(&FileRequest::new(repo.clone(), "weights.bin"))
        .await
        .expect("download through two redirects");
    assert_eq!(fs::read(path).expect("read"), body);
    let mut errors = Vec::new();
    for request in [FileRequest::new(repo.clone(), "broken.bin")] {
        errors.push(downloader.download_file(&request).await.expect_err("500"));
    }
    // (A fresh cache: with the commit's folder present, a failed listing falls back to it, as upstream.)
    let fresh = Downloader::new(
        downloader.remote().clone(),
        Cache::new(tmp.path().join("hub2")),
    )
    .with_retry(RetryPolicy::none());
    errors.push(
        fresh
            .snapshot(&SnapshotRequest::new(repo.clone()))
            .await
            .expect_err("a listing page on another origin is refused"),
    );
    for error in &errors {
        let mut text = format!("{error:?}");
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(cause) = source {
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        assert!(
            !text.contains(TOKEN) && !text.contains(&TOKEN[3..15]),
            "{text}"
        );
    }
    let hub_seen = hub.seen.lock().expect("log").clone();
    let cdn_seen = cdn.seen.lock().expect("log").clone();
    let third_seen = third.seen.lock().expect("log").clone();
    assert!(!hub_seen.is_empty() && !cdn_seen.is_empty() && !third_seen.is_empty());
    assert!(hub_seen.iter().all(authorized), "the Hub gets the token");
    assert!(
        !cdn_seen.iter().chain(&third_seen).any(authorized),
        "another origin got the token: {cdn_seen:?} {third_seen:?}"
    );
    eprintln!(
        "token hygiene (library): {} Hub requests with the token, {} requests to two other origins \
         without it, {} errors checked",
        hub_seen.len(),
        cdn_seen.len() + third_seen.len(),
        errors.len()
    );
}
