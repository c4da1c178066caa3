//! Metadata, listings and errors.

use hub_http::Error;
use hub_server::Origin;

use crate::support::{self, Setup, gpt2, gpt2_file, serve};

#[tokio::test]
async fn regular_and_lfs_files_resolve_to_commit_etag_size_and_location() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let (commit, config) = gpt2_file(&env, "config.json");
    let resolved = client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap();
    assert_eq!(resolved.commit, commit);
    assert_eq!(resolved.etag.as_str(), config.etag);
    assert!(!config.lfs);
    assert_eq!(resolved.size, Some(config.size()));
    assert!(resolved.location.starts_with(&env.server.endpoint()));

    let (_, weights) = gpt2_file(&env, "model.safetensors");
    assert!(weights.lfs);
    let resolved = client
        .resolve(&gpt2(), "main", "model.safetensors")
        .await
        .unwrap();
    assert_eq!(
        resolved.etag.as_str(),
        weights.etag,
        "LFS files are named by their sha256"
    );
    assert_eq!(resolved.size, Some(weights.size()));
    assert!(resolved.location.starts_with(&env.server.cdn_endpoint()));
    let records = env.server.request_log().records();
    assert!(
        records.iter().all(|r| r.origin == Origin::Hub),
        "the HEAD never goes to the CDN"
    );
    assert!(
        records
            .iter()
            .all(|r| r.method == "HEAD" && r.authorization)
    );
}

#[tokio::test]
async fn revisions_by_tag_pr_ref_and_commit() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let repo = env.fixture.repo("gpt2").unwrap();
    for (revision, commit) in &repo.refs {
        let resolved = client
            .resolve(&gpt2(), revision, "config.json")
            .await
            .unwrap();
        assert_eq!(&resolved.commit, commit, "{revision}");
        let by_commit = client
            .resolve(&gpt2(), commit, "config.json")
            .await
            .unwrap();
        assert_eq!(&by_commit.commit, commit);
    }
    let paths: Vec<_> = env
        .server
        .request_log()
        .records()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths.iter().any(|p| p.contains("/resolve/refs%2Fpr%2F1/")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn not_found_errors_are_typed_and_carry_the_commit() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).build().unwrap();
    let missing_repo = support::repo(hub_cache::RepoType::Model, "nobody/nothing");
    let error = client
        .resolve(&missing_repo, "main", "x")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RepoNotFound { .. }), "{error:?}");
    let error = client
        .resolve(&gpt2(), "no-such-branch", "config.json")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RevisionNotFound { .. }), "{error:?}");
    let error = client
        .resolve(&gpt2(), "main", "missing.txt")
        .await
        .unwrap_err();
    let (commit, _) = gpt2_file(&env, "config.json");
    assert_eq!(error.missing_entry_commit(), Some(commit), "{error:?}");
    assert!(!error.allows_cache_fallback());
    assert!(error.to_string().contains("missing.txt"), "{error}");
}

#[tokio::test]
async fn gated_repo_without_token_is_refused_and_with_token_resolves() {
    let env = serve(Setup {
        gated: Some(gpt2()),
        ..Setup::default()
    })
    .await;
    let anonymous = support::client(&env).with_token(None).build().unwrap();
    let error = anonymous
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Gated { .. }), "{error:?}");
    assert!(!format!("{error:?} {error}").contains(support::TOKEN));
    let client = support::client(&env).build().unwrap();
    client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap();
}

#[tokio::test]
async fn repo_info_and_paginated_tree_match_the_cache() {
    let env = serve(Setup {
        page_size: Some(3),
        ..Setup::default()
    })
    .await;
    let client = support::client(&env).build().unwrap();
    let (commit, _) = gpt2_file(&env, "config.json");
    let info = client.repo_info(&gpt2(), "main").await.unwrap();
    assert_eq!(info.sha, commit);
    let entries = client.list_tree(&gpt2(), commit).await.unwrap();
    let fixture_revision = env.fixture.repo("gpt2").unwrap().revision(commit).unwrap();
    let mut listed: Vec<(String, String, u64)> = entries
        .iter()
        .filter(|e| e.is_file())
        .map(|e| {
            (
                e.path.clone(),
                e.etag().to_owned(),
                e.lfs.as_ref().map_or(e.size, |l| l.size),
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String, u64)> = fixture_revision
        .files
        .iter()
        .map(|f| (f.path.clone(), f.etag.clone(), f.size()))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
    let pages = env
        .server
        .request_log()
        .records()
        .iter()
        .filter(|r| r.path.contains("/tree/"))
        .count();
    assert!(pages > 1, "the listing was paginated ({pages} pages of 3)");
}

#[tokio::test]
async fn offline_mode_sends_nothing() {
    let env = serve(Setup::default()).await;
    let client = support::client(&env).with_offline(true).build().unwrap();
    let error = client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap_err();
    assert!(error.is_offline());
    assert!(
        client
            .repo_info(&gpt2(), "main")
            .await
            .unwrap_err()
            .is_offline()
    );
    assert!(env.server.request_log().records().is_empty());
}
