//! Downloads: direct and through the CDN, parallel ranges, resume, verification.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use hub_http::{DownloadRequest, ParallelOptions, Progress};
use hub_server::Origin;

use crate::support::{self, Setup, gpt2, gpt2_file, serve};

pub async fn request_for(client: &hub_http::Client, path: &str) -> DownloadRequest {
    let resolved = client.resolve(&gpt2(), "main", path).await.unwrap();
    DownloadRequest {
        resolve_url: client.endpoint().resolve_url(&gpt2(), "main", path),
        location: resolved.location,
        expected_size: resolved.size,
        etag: resolved.etag,
        resume_from: 0,
    }
}

#[tokio::test]
async fn regular_and_lfs_files_arrive_verified_and_the_cdn_never_sees_the_token() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for path in ["config.json", "model.safetensors"] {
        let (_, expected) = gpt2_file(&env, path);
        let request = request_for(&client, path).await;
        let target = dir.path().join(path);
        let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
        let sink = seen.clone();
        let done = client
            .download(&request, support::open_rw(&target), move |p| {
                sink.lock().unwrap().push(p)
            })
            .await
            .unwrap();
        assert_eq!(done.size, expected.size());
        assert!(done.verified.is_some());
        assert_eq!(std::fs::read(&target).unwrap(), expected.content);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last().map(|p| p.done), Some(expected.size()));
        assert!(
            seen.windows(2).all(|w| w[0].done <= w[1].done),
            "progress only grows"
        );
    }
    let records = env.server.request_log().records();
    let cdn: Vec<_> = records.iter().filter(|r| r.origin == Origin::Cdn).collect();
    assert_eq!(cdn.len(), 1, "{records:#?}");
    assert!(!cdn[0].authorization, "the token never goes to the CDN");
    assert!(
        records
            .iter()
            .filter(|r| r.origin == Origin::Hub)
            .all(|r| r.authorization),
        "the Hub gets the token"
    );
}

#[tokio::test]
async fn large_files_use_parallel_ranges_written_in_place() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env)
        .with_parallel(ParallelOptions {
            threshold: 64 * 1024,
            chunk_size: 100 * 1024,
            connections: 4,
            solo_speed: u64::MAX,
        })
        .build()
        .unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob");
    client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), expected.content);
    let ranges: Vec<String> = support::cdn_records(&env)
        .into_iter()
        .filter_map(|r| r.range)
        .collect();
    let chunks = expected.size().div_ceil(100 * 1024) as usize;
    assert_eq!(ranges.len(), chunks, "{ranges:?}");
    assert!(ranges.contains(&"bytes=0-102399".to_owned()), "{ranges:?}");
}

#[tokio::test]
async fn a_partial_file_is_resumed_from_its_length() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    let mut request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob.incomplete");
    let half = expected.content.len() / 2;
    File::create(&target)
        .unwrap()
        .write_all(&expected.content[..half])
        .unwrap();
    request.resume_from = half as u64;
    client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), expected.content);
    let cdn: Vec<_> = support::cdn_records(&env);
    assert_eq!(cdn.len(), 1);
    assert_eq!(
        cdn[0].range.as_deref(),
        Some(format!("bytes={half}-{}", expected.content.len() - 1).as_str())
    );
    assert_eq!(
        cdn[0].bytes_sent,
        (expected.content.len() - half) as u64,
        "completed bytes are not fetched again"
    );
}

#[tokio::test]
async fn a_wrong_prefix_on_disk_fails_verification() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let (_, expected) = gpt2_file(&env, "tokenizer.json");
    let mut request = request_for(&client, "tokenizer.json").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob.incomplete");
    File::create(&target)
        .unwrap()
        .write_all(&[b'x'; 100])
        .unwrap();
    request.resume_from = 100;
    let error = client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, hub_http::Error::HashMismatch { .. }),
        "{error:?}"
    );
    assert_eq!(std::fs::metadata(&target).unwrap().len(), expected.size());
}

#[tokio::test]
async fn a_complete_file_costs_no_request() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let (_, expected) = gpt2_file(&env, "config.json");
    let mut request = request_for(&client, "config.json").await;
    env.server.request_log().clear();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob");
    std::fs::write(&target, &expected.content).unwrap();
    request.resume_from = expected.size();
    client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap();
    assert!(env.server.request_log().records().is_empty());
}
