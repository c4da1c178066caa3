//! What a failed download leaves in the cache is what Python `huggingface_hub` 2.4 leaves in the same
//! case (issue 14): a gated repository without a token, a missing repository, a missing file, each as
//! one file and as a snapshot. Folders count too: no empty `blobs/` where Python creates none.

use std::collections::BTreeMap;
use std::path::Path;

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::hash::{HashKind, hash_bytes};
use hub_cache::{Cache, Repo};
use hub_http::{Client, Endpoint, RetryPolicy};
use hub_server::fault::Fault;
use hub_server::{Origin, Server};
use hub_sync::{Downloader, FileRequest, SnapshotRequest};
use serde_json::{Value, json};

use crate::support::tree;

const SCRIPT: &str = r#"
import json, sys
from huggingface_hub import hf_hub_download, snapshot_download
out = []
for c in json.loads(sys.argv[1]):
    try:
        if c["filename"]:
            hf_hub_download(c["repo_id"], c["filename"])
        else:
            snapshot_download(c["repo_id"])
        out.append("ok")
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))
"#;

/// `(repo id, file or None for a snapshot)`; every one fails without a token.
const CASES: &[(&str, Option<&str>)] = &[
    ("acme/gated", Some("config.json")),
    ("acme/gated", Some("weights.bin")),
    ("acme/gated", None),
    ("acme/missing", Some("config.json")),
    ("acme/missing", None),
    ("acme/open", Some("absent.txt")),
    ("acme/open", Some("refused.txt")),
    ("acme/open", Some("refused.bin")),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_leaves_the_folders_python_leaves_and_no_others() {
    let oracle = Oracle::get(HF_HUB_2X);
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let files = vec![
        ("config.json".to_owned(), b"{}\n".to_vec(), false),
        ("weights.bin".to_owned(), seeded_bytes(5, 200_000), true),
        ("refused.txt".to_owned(), b"no\n".to_vec(), false),
        ("refused.bin".to_owned(), seeded_bytes(6, 100_000), true),
    ];
    write_model(&served, "acme/open", "open-1", "main", &files).expect("repo");
    write_model(&served, "acme/gated", "gated-1", "main", &files).expect("repo");
    let server = Server::builder(&served)
        .with_token("hf_failures_test_token")
        .with_gated(Repo::model("acme/gated").expect("id"))
        // The metadata request succeeds, the bytes are refused (at the Hub, and at the CDN).
        .with_fault(
            Fault::status(403, None)
                .method("GET")
                .path_contains("refused."),
        )
        .with_fault(
            Fault::status(403, None)
                .method("GET")
                .on(Origin::Cdn)
                .path_contains(&hash_bytes(HashKind::Sha256, &files[3].1)),
        )
        .start()
        .await
        .expect("server");

    for (index, (repo_id, filename)) in CASES.iter().enumerate() {
        let (theirs, ours) = (
            tmp.path().join(format!("python-{index}")),
            tmp.path().join(format!("hfhub-{index}")),
        );
        let case = json!([{"repo_id": repo_id, "filename": filename}]);
        let mut command = oracle.command();
        command
            .env("HF_HOME", theirs.with_extension("home"))
            .env("HF_HUB_CACHE", &theirs)
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .env("HF_HUB_DISABLE_XET", "1")
            .env("HF_HUB_OFFLINE", "0")
            .env("HF_ENDPOINT", server.endpoint())
            .env_remove("HF_TOKEN")
            .args(["-c", SCRIPT, &case.to_string()])
            .stdin(std::process::Stdio::null());
        let output = command.output().expect("run the oracle");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let outcome: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| {
                panic!(
                    "not JSON ({e}): {stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        assert_ne!(
            outcome[0], "ok",
            "Python succeeded on {repo_id} {filename:?}"
        );

        let client = Client::builder()
            .with_endpoint(Endpoint::new(server.endpoint()))
            .with_retry(RetryPolicy::none())
            .build()
            .expect("client");
        let downloader = Downloader::new(client, Cache::new(&ours)).with_retry(RetryPolicy::none());
        let repo = Repo::model(repo_id).expect("id");
        let result = match filename {
            Some(name) => {
                downloader
                    .download_file(&FileRequest::new(repo, *name))
                    .await
            }
            None => downloader.snapshot(&SnapshotRequest::new(repo)).await,
        };
        assert!(result.is_err(), "hfhub succeeded on {repo_id} {filename:?}");
        assert_eq!(
            shape(&ours),
            shape(&theirs),
            "{repo_id} {filename:?}: hfhub's cache (left) differs from Python's (right), \
             Python raised {}",
            outcome[0]
        );
    }
}

/// Every path below `root` (missing root: nothing) with its kind, lock files left out (Python's
/// `filelock` and ours leave them alike, but not at the same moment).
fn shape(root: &Path) -> BTreeMap<String, String> {
    if !root.exists() {
        return BTreeMap::new();
    }
    tree(root, |path| path.starts_with(".locks"))
}
