//! `/api/{type}s/{repo}/revision/{rev}` and `/api/{type}s/{repo}/tree/{rev}[/{path}]`.

use hub_server::Server;
use serde_json::Value;

use crate::support::*;

async fn json(url: &str) -> (u16, Value) {
    let got = fetch("GET", url, &[]).await;
    let value = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
    (got.status, value)
}

fn paths(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("a JSON list")
        .iter()
        .map(|item| item["path"].as_str().expect("path").to_owned())
        .collect()
}

#[tokio::test]
async fn repo_info_has_what_clients_read() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let (status, info) = json(&format!("{base}/api/models/org/model/revision/main")).await;
    assert_eq!(status, 200);
    assert_eq!(info["id"], "org/model");
    assert_eq!(info["sha"], MAIN);
    for key in [
        "private",
        "gated",
        "downloads",
        "likes",
        "tags",
        "lastModified",
        "author",
    ] {
        assert!(!info[key].is_null(), "missing {key}");
    }
    let mut siblings: Vec<&str> = info["siblings"]
        .as_array()
        .expect("siblings")
        .iter()
        .map(|s| s["rfilename"].as_str().expect("rfilename"))
        .collect();
    siblings.sort();
    assert_eq!(
        siblings,
        [
            ".gitattributes",
            "README.md",
            "config.json",
            UNICODE_NAME,
            "model.safetensors",
            "nested/dir/file.txt"
        ]
    );
    let (_, bare) = json(&format!("{base}/api/models/org/model")).await;
    assert_eq!(bare["sha"], MAIN);
    let (_, pr) = json(&format!(
        "{base}/api/models/org/model/revision/refs%2Fpr%2F1"
    ))
    .await;
    assert_eq!(pr["sha"], PR1);
    let (_, tag) = json(&format!("{base}/api/models/org/model/revision/v1.0")).await;
    assert_eq!(tag["sha"], MAIN);
    let (_, dataset) = json(&format!("{base}/api/datasets/org/data/revision/main")).await;
    assert_eq!(dataset["sha"], DATASET_MAIN);
    let (_, space) = json(&format!("{base}/api/spaces/org/space/revision/main")).await;
    assert_eq!(space["siblings"][0]["rfilename"], "app.py");
    let (_, blobs) = json(&format!(
        "{base}/api/models/org/model/revision/main?blobs=true"
    ))
    .await;
    let weights_entry = blobs["siblings"]
        .as_array()
        .expect("siblings")
        .iter()
        .find(|s| s["rfilename"] == "model.safetensors")
        .expect("weights listed")
        .clone();
    assert_eq!(weights_entry["lfs"]["sha256"], sha256(&weights(300_000)));
    assert_eq!(weights_entry["size"], 300_000);
    let missing = fetch(
        "GET",
        &format!("{base}/api/models/org/model/revision/nope"),
        &[],
    )
    .await;
    assert_eq!(
        (missing.status, missing.header("x-error-code")),
        (404, Some("RevisionNotFound"))
    );
    let missing = fetch(
        "GET",
        &format!("{base}/api/models/org/none/revision/main"),
        &[],
    )
    .await;
    assert_eq!(
        (missing.status, missing.header("x-error-code")),
        (404, Some("RepoNotFound"))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tree_lists_files_and_folders_with_git_and_lfs_ids() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let (status, all) = json(&format!(
        "{base}/api/models/org/model/tree/{MAIN}?recursive=true&expand=false"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        paths(&all),
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "d\u{e9}j\u{e0} vu",
            UNICODE_NAME,
            "model.safetensors",
            "nested",
            "nested/dir",
            "nested/dir/file.txt",
        ]
    );
    let items = all.as_array().expect("list");
    let find = |path: &str| {
        items
            .iter()
            .find(|i| i["path"] == path)
            .expect("listed")
            .clone()
    };
    let config = find("config.json");
    assert_eq!(config["type"], "file");
    assert_eq!(config["oid"], git_sha1(CONFIG));
    assert_eq!(config["size"], CONFIG.len());
    assert!(config.get("lfs").is_none());
    let content = weights(300_000);
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 300000\n",
        sha256(&content)
    );
    let lfs = find("model.safetensors");
    assert_eq!(lfs["size"], 300_000);
    assert_eq!(lfs["oid"], git_sha1(pointer.as_bytes()));
    assert_eq!(lfs["lfs"]["oid"], sha256(&content));
    assert_eq!(lfs["lfs"]["size"], 300_000);
    assert_eq!(lfs["lfs"]["pointerSize"], pointer.len());
    let folder = find("nested/dir");
    assert_eq!(folder["type"], "directory");
    assert_eq!(folder["oid"].as_str().map(str::len), Some(40));
    // One level, at the root and in a folder; `True` as requests spells it.
    let (_, top) = json(&format!("{base}/api/models/org/model/tree/main")).await;
    assert_eq!(
        paths(&top),
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "d\u{e9}j\u{e0} vu",
            "model.safetensors",
            "nested"
        ]
    );
    let (_, nested) = json(&format!(
        "{base}/api/models/org/model/tree/main/nested?recursive=True"
    ))
    .await;
    assert_eq!(paths(&nested), ["nested/dir", "nested/dir/file.txt"]);
    let (_, pr) = json(&format!(
        "{base}/api/models/org/model/tree/refs%2Fpr%2F1?recursive=true"
    ))
    .await;
    assert_eq!(paths(&pr), ["config.json"]);
    let missing = fetch(
        "GET",
        &format!("{base}/api/models/org/model/tree/main/nope"),
        &[],
    )
    .await;
    assert_eq!(missing.header("x-error-code"), Some("EntryNotFound"));
    let (_, dataset) = json(&format!(
        "{base}/api/datasets/org/data/tree/main?recursive=true"
    ))
    .await;
    assert_eq!(
        paths(&dataset),
        ["data", "data/big.parquet", "data/train.csv"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tree_pages_follow_the_link_header() {
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_page_size(4)
        .start()
        .await
        .expect("start");
    let base = server.endpoint();
    let mut url = format!("{base}/api/models/org/model/tree/main?recursive=true&expand=false");
    let mut listed = Vec::new();
    let mut pages = 0;
    loop {
        let page = fetch("GET", &url, &[]).await;
        assert_eq!(page.status, 200);
        let items: Value = serde_json::from_slice(&page.body).expect("JSON");
        assert!(items.as_array().expect("list").len() <= 4);
        listed.extend(paths(&items));
        pages += 1;
        let Some(link) = page.header("link") else {
            break;
        };
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(url, _)| url.to_owned())
            .expect("a next link");
        assert!(next.starts_with(&base), "{next}");
        assert!(next.contains("recursive=true"), "{next}");
        url = next;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        listed,
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "d\u{e9}j\u{e0} vu",
            UNICODE_NAME,
            "model.safetensors",
            "nested",
            "nested/dir",
            "nested/dir/file.txt",
        ]
    );
    server.shutdown().await;
}

/// A snapshot's index is built once, but files that reach the cache while it is served (another
/// download into the same cache) are found within the index's recheck period (2 s).
#[tokio::test]
async fn files_added_to_a_served_snapshot_are_found() {
    let cache = cache();
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let tree = format!("{base}/api/models/org/model/tree/main/nested/dir");
    let resolve = format!("{base}/org/model/resolve/main/nested/dir/late.txt");
    let (status, items) = json(&tree).await;
    assert_eq!(status, 200);
    assert!(!paths(&items).contains(&"nested/dir/late.txt".to_owned()));
    assert_eq!(fetch("GET", &resolve, &[]).await.status, 404);
    hfhub_tests::tree::write(
        cache.path(),
        &format!(r"models--org--model/snapshots/{MAIN}/nested/dir/late.txt => git late\n"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = fetch("GET", &resolve, &[]).await;
        if got.status == 200 {
            assert_eq!(got.body, b"late\n");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a file added while serving is still {}",
            got.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, items) = json(&tree).await;
    assert!(paths(&items).contains(&"nested/dir/late.txt".to_owned()));
    server.shutdown().await;
}
