//! `HEAD`/`GET /{repo}/resolve/{revision}/{path}`: headers, revisions, LFS redirects, ranges, errors.

use hub_cache::{Repo, RepoId, RepoType};
use hub_server::{Origin, Server};

use crate::support::*;

#[tokio::test]
async fn regular_file_by_branch_tag_pr_and_commit() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    for (revision, commit, content) in [
        ("main", MAIN, CONFIG),
        ("v1.0", MAIN, CONFIG),
        ("refs%2Fpr%2F1", PR1, CONFIG_PR1),
        (MAIN, MAIN, CONFIG),
        (PR1, PR1, CONFIG_PR1),
    ] {
        let url = format!("{base}/org/model/resolve/{revision}/config.json");
        let head = fetch("HEAD", &url, &[]).await;
        assert_eq!(head.status, 200, "{revision}");
        assert_eq!(head.header("x-repo-commit"), Some(commit));
        let etag = format!("\"{}\"", git_sha1(content));
        assert_eq!(head.header("etag"), Some(etag.as_str()));
        let length = content.len().to_string();
        assert_eq!(head.header("content-length"), Some(length.as_str()));
        assert_eq!(head.header("accept-ranges"), Some("bytes"));
        assert_eq!(head.header("content-type"), Some("application/json"));
        assert!(head.body.is_empty());
        let get = fetch("GET", &url, &[]).await;
        assert_eq!((get.status, get.body.as_slice()), (200, content));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn nested_unicode_dataset_and_space_files() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let nested = fetch(
        "GET",
        &format!("{base}/org/model/resolve/main/nested/dir/file.txt"),
        &[],
    )
    .await;
    assert_eq!((nested.status, nested.body.as_slice()), (200, NESTED));
    // As hf_hub_url encodes it: `/` kept, everything outside the unreserved set as %XX.
    let encoded = "d%C3%A9j%C3%A0%20vu/r%C3%A9sum%C3%A9%2B%231.txt";
    let unicode = fetch(
        "GET",
        &format!("{base}/org/model/resolve/main/{encoded}"),
        &[],
    )
    .await;
    assert_eq!(
        (unicode.status, unicode.body.as_slice()),
        (200, &b"unicode content\n"[..])
    );
    let dataset = fetch(
        "GET",
        &format!("{base}/datasets/org/data/resolve/main/data/train.csv"),
        &[],
    )
    .await;
    assert_eq!(dataset.status, 200);
    assert_eq!(dataset.header("x-repo-commit"), Some(DATASET_MAIN));
    assert_eq!(dataset.body, b"a,b\n1,2\n");
    let space = fetch(
        "GET",
        &format!("{base}/spaces/org/space/resolve/main/app.py"),
        &[],
    )
    .await;
    assert_eq!(
        (space.status, space.body.as_slice()),
        (200, &b"print('hi')\n"[..])
    );
    let kernel = fetch(
        "GET",
        &format!("{base}/kernels/org/kernel/resolve/main/build/torch/ops.py"),
        &[],
    )
    .await;
    assert_eq!(
        (kernel.status, kernel.body.as_slice()),
        (200, &b"def op(): pass\n"[..])
    );
    let info = fetch(
        "GET",
        &format!("{base}/api/kernels/org/kernel/revision/main"),
        &[],
    )
    .await;
    assert_eq!(info.status, 200);
    // A model URL does not reach the dataset.
    let wrong = fetch(
        "HEAD",
        &format!("{base}/org/data/resolve/main/data/train.csv"),
        &[],
    )
    .await;
    assert_eq!(wrong.header("x-error-code"), Some("RepoNotFound"));
    server.shutdown().await;
}

#[tokio::test]
async fn lfs_files_redirect_to_the_cdn_which_needs_no_authorization() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let content = weights(300_000);
    let sha = sha256(&content);
    let url = format!(
        "{}/org/model/resolve/main/model.safetensors",
        server.endpoint()
    );
    let auth = [("authorization", "Bearer hf_secret")];
    let head = fetch("HEAD", &url, &auth).await;
    assert_eq!(head.status, 302);
    assert_eq!(head.header("x-repo-commit"), Some(MAIN));
    let quoted = format!("\"{sha}\"");
    assert_eq!(head.header("x-linked-etag"), Some(quoted.as_str()));
    assert_eq!(head.header("etag"), Some(quoted.as_str()));
    assert_eq!(head.header("x-linked-size"), Some("300000"));
    let location = head.header("location").expect("location").to_owned();
    assert!(
        location.starts_with(&format!("{}/", server.cdn_endpoint())),
        "{location} is not on {}",
        server.cdn_endpoint()
    );
    // What clients do: fetch the location without the token.
    let get = fetch("GET", &location, &[]).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-length"), Some("300000"));
    assert_eq!(get.header("etag"), Some(quoted.as_str()));
    assert!(get.body == content, "CDN bytes differ");
    // A GET on the Hub redirects as well; the CDN supports ranges.
    let redirect = fetch("GET", &url, &auth).await;
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").expect("location").to_owned();
    let part = fetch("GET", &location, &[("range", "bytes=100-199")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 100-199/300000"));
    assert_eq!(part.body, &content[100..200]);
    // The dataset's LFS file too.
    let big = fetch(
        "HEAD",
        &format!(
            "{}/datasets/org/data/resolve/main/data/big.parquet",
            server.endpoint()
        ),
        &[],
    )
    .await;
    assert_eq!(big.status, 302);
    assert_eq!(big.header("x-linked-size"), Some("69000"));
    let cdn_requests: Vec<_> = server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn)
        .collect();
    assert_eq!(cdn_requests.len(), 2);
    assert!(cdn_requests.iter().all(|r| !r.authorization));
    assert_eq!(cdn_requests[0].bytes_sent, 300_000);
    assert_eq!(cdn_requests[1].range.as_deref(), Some("bytes=100-199"));
    // A link edited to name another blob, and a path without a signature, are refused.
    let made_up = location.replace(&sha, &"0".repeat(64));
    assert_eq!(fetch("GET", &made_up, &[]).await.status, 403);
    let unsigned = location.split('?').next().expect("has a path").to_owned();
    assert_eq!(fetch("GET", &unsigned, &[]).await.status, 403);
    server.shutdown().await;
}

#[tokio::test]
async fn ranges_on_regular_files() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let url = format!("{}/org/model/resolve/main/config.json", server.endpoint());
    let size = CONFIG.len();
    for (range, expected) in [
        ("bytes=0-4", &CONFIG[0..5]),
        ("bytes=5-", &CONFIG[5..]),
        ("bytes=-3", &CONFIG[size - 3..]),
    ] {
        let part = fetch("GET", &url, &[("range", range)]).await;
        assert_eq!(part.status, 206, "{range}");
        assert_eq!(part.body, expected, "{range}");
        let length = expected.len().to_string();
        assert_eq!(part.header("content-length"), Some(length.as_str()));
    }
    let part = fetch("GET", &url, &[("range", "bytes=2-3")]).await;
    let content_range = format!("bytes 2-3/{size}");
    assert_eq!(part.header("content-range"), Some(content_range.as_str()));
    let beyond = fetch("GET", &url, &[("range", &format!("bytes={size}-"))]).await;
    assert_eq!(beyond.status, 416);
    let star = format!("bytes */{size}");
    assert_eq!(beyond.header("content-range"), Some(star.as_str()));
    server.shutdown().await;
}

#[tokio::test]
async fn hub_errors() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let repo = fetch(
        "HEAD",
        &format!("{base}/org/nope/resolve/main/config.json"),
        &[],
    )
    .await;
    assert_eq!(repo.status, 404);
    assert_eq!(repo.header("x-error-code"), Some("RepoNotFound"));
    assert!(repo.header("x-error-message").is_some());
    let revision = fetch(
        "HEAD",
        &format!("{base}/org/model/resolve/nope/config.json"),
        &[],
    )
    .await;
    assert_eq!(revision.status, 404);
    assert_eq!(revision.header("x-error-code"), Some("RevisionNotFound"));
    let unknown_commit = fetch(
        "GET",
        &format!("{base}/org/model/resolve/{}/config.json", "9".repeat(40)),
        &[],
    )
    .await;
    assert_eq!(
        unknown_commit.header("x-error-code"),
        Some("RevisionNotFound")
    );
    let entry = fetch(
        "GET",
        &format!("{base}/org/model/resolve/main/missing.bin"),
        &[],
    )
    .await;
    assert_eq!(entry.status, 404);
    assert_eq!(entry.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(entry.header("x-repo-commit"), Some(MAIN));
    let body: serde_json::Value = serde_json::from_slice(&entry.body).expect("JSON error body");
    assert_eq!(body["error"], "Entry not found");
    // A file of main is not in the PR's commit.
    let pr = fetch(
        "HEAD",
        &format!("{base}/org/model/resolve/refs%2Fpr%2F1/README.md"),
        &[],
    )
    .await;
    assert_eq!(pr.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(pr.header("x-repo-commit"), Some(PR1));
    // A folder is not a file.
    let folder = fetch(
        "HEAD",
        &format!("{base}/org/model/resolve/main/nested"),
        &[],
    )
    .await;
    assert_eq!(folder.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(
        fetch("GET", &format!("{base}/nothing/here"), &[])
            .await
            .status,
        404
    );
    assert_eq!(
        fetch(
            "POST",
            &format!("{base}/org/model/resolve/main/config.json"),
            &[]
        )
        .await
        .status,
        405
    );
    server.shutdown().await;
}

#[tokio::test]
async fn gated_and_private_repos_want_an_accepted_token() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_token("hf_good")
        .with_gated(Repo::model("org/gated").expect("id"))
        .with_private(Repo::model("org/private").expect("id"))
        .start()
        .await
        .expect("start");
    let base = server.endpoint();
    let cases = [
        ("org/gated", None, 401, Some("GatedRepo")),
        ("org/gated", Some("Bearer hf_bad"), 403, Some("GatedRepo")),
        ("org/gated", Some("Bearer hf_good"), 200, None),
        ("org/private", None, 401, Some("RepoNotFound")),
        (
            "org/private",
            Some("Bearer hf_bad"),
            404,
            Some("RepoNotFound"),
        ),
        ("org/private", Some("Bearer hf_good"), 200, None),
        ("org/model", None, 200, None),
    ];
    for (id, token, status, code) in cases {
        let headers: Vec<(&str, &str)> = token.map(|t| ("authorization", t)).into_iter().collect();
        for url in [
            format!("{base}/{id}/resolve/main/config.json"),
            format!("{base}/api/models/{id}/revision/main"),
        ] {
            let got = fetch("GET", &url, &headers).await;
            assert_eq!(
                (got.status, got.header("x-error-code")),
                (status, code),
                "{url} {token:?}"
            );
        }
    }
    let info = fetch(
        "GET",
        &format!("{base}/api/models/org/gated"),
        &[("authorization", "Bearer hf_good")],
    )
    .await;
    let info: serde_json::Value = serde_json::from_slice(&info.body).expect("JSON");
    assert_eq!(info["gated"], "manual");
    server.shutdown().await;
}

#[tokio::test]
async fn renamed_repos_answer_a_relative_redirect() {
    let cache = cache();
    let old = Repo::new(RepoType::Model, RepoId::new("org/old-name").expect("id"));
    let server = Server::builder(cache.path())
        .with_renamed(old, RepoId::new("org/model").expect("id"))
        .start()
        .await
        .expect("start");
    let base = server.endpoint();
    let head = fetch(
        "HEAD",
        &format!("{base}/org/old-name/resolve/refs%2Fpr%2F1/config.json"),
        &[],
    )
    .await;
    assert_eq!(head.status, 307);
    assert_eq!(
        head.header("location"),
        Some("/org/model/resolve/refs%2Fpr%2F1/config.json")
    );
    let api = fetch(
        "GET",
        &format!("{base}/api/models/org/old-name/tree/main?recursive=true"),
        &[],
    )
    .await;
    assert_eq!(api.status, 307);
    assert_eq!(
        api.header("location"),
        Some("/api/models/org/model/tree/main?recursive=true")
    );
    let followed = fetch(
        "HEAD",
        &format!("{base}{}", head.header("location").expect("location")),
        &[],
    )
    .await;
    assert_eq!(followed.header("x-repo-commit"), Some(PR1));
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_and_many_concurrent_connections() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let authority = server.addr().to_string();
    // Several requests on one connection.
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    for _ in 0..3 {
        let response = sender
            .send_request(request(
                "GET",
                &authority,
                "/org/model/resolve/main/config.json",
                &[],
            ))
            .await
            .expect("response on the same connection");
        assert_eq!(read(response).await.body, CONFIG);
    }
    // Many connections at once, each reading the LFS file from the CDN.
    let head = fetch(
        "HEAD",
        &format!(
            "{}/org/model/resolve/main/model.safetensors",
            server.endpoint()
        ),
        &[],
    )
    .await;
    let location = head.header("location").expect("location").to_owned();
    let expected = weights(300_000);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let location = location.clone();
        tasks.spawn(async move { fetch("GET", &location, &[]).await.body });
    }
    while let Some(body) = tasks.join_next().await {
        assert!(body.expect("task") == expected);
    }
    server.shutdown().await;
}

#[test]
fn a_blocking_server_for_synchronous_callers() {
    use std::io::{Read, Write};
    let cache = cache();
    let server = Server::builder(cache.path())
        .start_blocking()
        .expect("start");
    let mut stream = std::net::TcpStream::connect(server.addr()).expect("connect");
    write!(
        stream,
        "GET /org/model/resolve/main/config.json HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(answer.ends_with(CONFIG));
    assert_eq!(server.request_log().records().len(), 1);
    server.shutdown();
}
