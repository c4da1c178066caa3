//! Python `huggingface_hub`, pointed at the server with `HF_ENDPOINT`, downloads from it and builds a
//! cache identical to the served one for what it fetched, and raises the right exceptions.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_cache::Repo;
use hub_server::fault::{Fault, FaultKind};
use hub_server::{Origin, Server};
use serde_json::Value;

use crate::support::*;

const TOKEN: &str = "hf_oracle_token";

/// Runs `script` in the oracle with the server as endpoint and a fresh `HF_HOME`; returns its JSON.
fn run(oracle: &Oracle, endpoint: &str, hf_home: &Path, script: &str) -> Value {
    let output = oracle
        .command()
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HOME", hf_home)
        .env("HF_TOKEN", TOKEN)
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start the oracle's python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "huggingface_hub=={} failed\nstdout:\n{stdout}\nstderr:\n{}",
        oracle.version(),
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

const SCRIPT_2X: &str = r#"
import json, os
from huggingface_hub import hf_hub_download, snapshot_download, HfApi
from huggingface_hub.utils import (
    EntryNotFoundError, GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError,
)
MAIN = "1111111111111111111111111111111111111111"
UNICODE = "d\u00e9j\u00e0 vu/r\u00e9sum\u00e9+#1.txt"
out = {}
def read(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")
out["config"] = read(hf_hub_download("org/model", "config.json"))
out["weights_path"] = hf_hub_download("org/model", "model.safetensors")
out["nested"] = read(hf_hub_download("org/model", "nested/dir/file.txt"))
out["pr"] = read(hf_hub_download("org/model", "config.json", revision="refs/pr/1"))
out["tag"] = read(hf_hub_download("org/model", "README.md", revision="v1.0"))
out["unicode"] = read(hf_hub_download("org/model", UNICODE, revision=MAIN))
out["space"] = read(hf_hub_download("org/space", "app.py", repo_type="space"))
snapshot = snapshot_download("org/model")
out["snapshot"] = sorted(
    os.path.relpath(os.path.join(d, f), snapshot) for d, _, fs in os.walk(snapshot) for f in fs
)
out["snapshot_dir"] = snapshot
csv_only = snapshot_download("org/data", repo_type="dataset", allow_patterns="*.csv")
out["csv_only"] = sorted(
    os.path.relpath(os.path.join(d, f), csv_only) for d, _, fs in os.walk(csv_only) for f in fs
)
out["dataset_path"] = hf_hub_download("org/data", "data/big.parquet", repo_type="dataset")
api = HfApi()
out["sha"] = api.repo_info("org/model").sha
out["pr_sha"] = api.repo_info("org/model", revision="refs/pr/1").sha
out["dataset_sha"] = api.dataset_info("org/data").sha
tree = []
for item in api.list_repo_tree("org/model", recursive=True):
    entry = {"path": item.path, "kind": type(item).__name__}
    if type(item).__name__ == "RepoFile":
        entry["size"] = item.size
        entry["blob_id"] = item.blob_id
        entry["lfs"] = item.lfs.sha256 if item.lfs else None
    tree.append(entry)
out["tree"] = tree
def error(call):
    try:
        call()
        return "no error"
    except Exception as e:
        kinds = [
            k.__name__ for k in (GatedRepoError, EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError)
            if isinstance(e, k)
        ]
        return kinds[0] if kinds else type(e).__name__ + ": " + str(e)
out["missing_file"] = error(lambda: hf_hub_download("org/model", "missing.bin"))
out["missing_repo"] = error(lambda: hf_hub_download("org/nothing", "config.json"))
out["missing_revision"] = error(lambda: hf_hub_download("org/model", "config.json", revision="nope"))
out["gated_without_token"] = error(lambda: hf_hub_download("org/gated", "config.json", token=False))
out["gated_with_token"] = read(hf_hub_download("org/gated", "config.json"))
local = os.path.join(os.environ["HF_HOME"], "local")
out["local_weights"] = hf_hub_download("org/model", "model.safetensors", local_dir=local)
out["local_nested"] = read(hf_hub_download("org/model", "nested/dir/file.txt", local_dir=local))
ignored = os.path.join(os.environ["HF_HOME"], "ignored")
snapshot_download("org/model", local_dir=ignored, ignore_patterns=["*.safetensors", "nested/*"])
out["ignored"] = sorted(
    os.path.relpath(os.path.join(d, f), ignored) for d, _, fs in os.walk(ignored) for f in fs
    if ".cache" not in os.path.relpath(d, ignored).split(os.sep)
)
print(json.dumps(out))
"#;

/// What the fixture's snapshot at `commit` holds: path -> (size, git blob id, LFS sha256).
fn fixture_files(
    cache: &Path,
    folder: &str,
    commit: &str,
) -> BTreeMap<String, (u64, String, Option<String>)> {
    let snapshot = cache.join(folder).join("snapshots").join(commit);
    let mut files = BTreeMap::new();
    let mut stack = vec![snapshot.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read snapshot").flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.file_type().is_symlink() {
                continue; // the `tmp.incomplete` decoy
            }
            let content = fs::read(&path).expect("read file");
            let blob = fs::read_link(&path).expect("link");
            let blob = blob
                .file_name()
                .and_then(|n| n.to_str())
                .expect("blob name");
            let relative = path
                .strip_prefix(&snapshot)
                .expect("inside")
                .to_str()
                .expect("UTF-8")
                .to_owned();
            let (oid, lfs) = if blob.len() == 64 {
                let pointer = format!(
                    "version https://git-lfs.github.com/spec/v1\noid sha256:{blob}\nsize {}\n",
                    content.len()
                );
                (git_sha1(pointer.as_bytes()), Some(blob.to_owned()))
            } else {
                (git_sha1(&content), None)
            };
            files.insert(relative, (content.len() as u64, oid, lfs));
        }
    }
    files
}

/// Every ref, snapshot symlink and blob the client wrote exists in the served cache with the same
/// value, target and bytes. Returns how many snapshot entries were compared.
fn assert_client_cache_matches(client: &Path, served: &Path) -> usize {
    let mut compared = 0;
    for repo in fs::read_dir(client).expect("client cache").flatten() {
        let name = repo.file_name().into_string().expect("UTF-8");
        if Repo::from_folder_name(&name).is_none() {
            continue; // .locks, CACHEDIR.TAG
        }
        let served_repo = served.join(&name);
        assert!(
            served_repo.is_dir(),
            "client cached {name}, which is not served"
        );
        let mut stack = vec![repo.path()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("read").flatten() {
                let path = entry.path();
                let relative = path
                    .strip_prefix(repo.path())
                    .expect("inside")
                    .to_path_buf();
                let top = relative.components().next().expect("non-empty");
                let top = top.as_os_str().to_str().expect("UTF-8");
                if !["refs", "snapshots", "blobs"].contains(&top) {
                    continue; // .no_exist, trees
                }
                let meta = fs::symlink_metadata(&path).expect("metadata");
                let twin = served_repo.join(&relative);
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.file_type().is_symlink() {
                    assert_eq!(
                        fs::read_link(&path).expect("link"),
                        fs::read_link(&twin).unwrap_or_default(),
                        "{name}/{}",
                        relative.display()
                    );
                    compared += 1;
                } else {
                    let ours = fs::read(&path).expect("read");
                    assert!(
                        fs::read(&twin).is_ok_and(|theirs| theirs == ours),
                        "{name}/{} differs from the served cache",
                        relative.display()
                    );
                }
            }
        }
    }
    compared
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huggingface_hub_2x_downloads_from_the_server() {
    let oracle = tokio::task::spawn_blocking(|| Oracle::get(HF_HUB_2X))
        .await
        .expect("oracle");
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_token(TOKEN)
        .with_gated(Repo::model("org/gated").expect("id"))
        .with_page_size(3)
        .start()
        .await
        .expect("start");
    let hf_home = tempfile::tempdir().expect("temp dir");
    let endpoint = server.endpoint();
    let home = hf_home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(&oracle, &endpoint, &home, SCRIPT_2X))
        .await
        .expect("oracle run");
    let text = |key: &str| out[key].as_str().unwrap_or_default().to_owned();
    let latin1 = |bytes: &[u8]| bytes.iter().map(|b| char::from(*b)).collect::<String>();
    assert_eq!(text("config"), latin1(CONFIG));
    assert_eq!(text("pr"), latin1(CONFIG_PR1));
    assert_eq!(text("nested"), latin1(NESTED));
    assert_eq!(text("tag"), "# model\n");
    assert_eq!(text("unicode"), "unicode content\n");
    assert_eq!(text("space"), "print('hi')\n");
    assert!(fs::read(text("weights_path")).expect("weights") == weights(300_000));
    assert!(fs::read(text("dataset_path")).expect("parquet") == weights(70_000)[1000..]);
    assert_eq!(
        out["snapshot"],
        serde_json::json!([
            ".gitattributes",
            "README.md",
            "config.json",
            UNICODE_NAME,
            "model.safetensors",
            "nested/dir/file.txt"
        ])
    );
    assert_eq!(out["csv_only"], serde_json::json!(["data/train.csv"]));
    assert_eq!(
        (text("sha"), text("pr_sha"), text("dataset_sha")),
        (MAIN.into(), PR1.into(), DATASET_MAIN.into())
    );
    // list_repo_tree (paginated by 3) agrees with the served snapshot.
    let mut listed = BTreeMap::new();
    let mut folders = Vec::new();
    for item in out["tree"].as_array().expect("tree") {
        let path = item["path"].as_str().expect("path").to_owned();
        if item["kind"] == "RepoFolder" {
            folders.push(path);
            continue;
        }
        let lfs = item["lfs"].as_str().map(str::to_owned);
        let entry = (
            item["size"].as_u64().expect("size"),
            item["blob_id"].as_str().expect("oid").to_owned(),
            lfs,
        );
        listed.insert(path, entry);
    }
    assert_eq!(
        listed,
        fixture_files(cache.path(), "models--org--model", MAIN)
    );
    assert_eq!(folders, ["d\u{e9}j\u{e0} vu", "nested", "nested/dir"]);
    // Exceptions.
    assert_eq!(text("missing_file"), "EntryNotFoundError");
    assert_eq!(text("missing_repo"), "RepositoryNotFoundError");
    assert_eq!(text("missing_revision"), "RevisionNotFoundError");
    assert_eq!(text("gated_without_token"), "GatedRepoError");
    assert_eq!(text("gated_with_token"), latin1(CONFIG));
    assert!(fs::read(text("local_weights")).expect("local_dir weights") == weights(300_000));
    assert!(text("local_weights").starts_with(&hf_home.path().join("local").display().to_string()));
    assert_eq!(text("local_nested"), latin1(NESTED));
    assert_eq!(
        out["ignored"],
        serde_json::json!([".gitattributes", "README.md", "config.json", UNICODE_NAME])
    );
    // The cache Python built is the served one, for everything it fetched.
    let compared = assert_client_cache_matches(&hf_home.path().join("hub"), cache.path());
    assert!(compared >= 11, "only {compared} snapshot entries compared");
    // The token went to the Hub, never to the CDN.
    let records = server.request_log().records();
    let cdn: Vec<_> = records.iter().filter(|r| r.origin == Origin::Cdn).collect();
    assert!(cdn.len() >= 2, "LFS files came from the CDN: {cdn:?}");
    assert!(cdn.iter().all(|r| !r.authorization), "{cdn:?}");
    assert!(
        records
            .iter()
            .any(|r| r.origin == Origin::Hub && r.authorization)
    );
    assert!(
        records.iter().any(|r| r.path.contains("cursor=")),
        "tree pages followed"
    );
    server.shutdown().await;
}

const SCRIPT_0X: &str = r#"
import json, os
from huggingface_hub import hf_hub_download, snapshot_download
from huggingface_hub.utils import (
    EntryNotFoundError, GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError,
)
MAIN = "1111111111111111111111111111111111111111"
out = {}
snapshot = snapshot_download("org/model")
out["snapshot"] = sorted(os.path.relpath(os.path.join(d, f), snapshot) for d, _, fs in os.walk(snapshot) for f in fs)
out["snapshot_dir"] = snapshot
out["pr"] = open(hf_hub_download("org/model", "config.json", revision="refs/pr/1"), "rb").read().decode()
out["tag"] = open(hf_hub_download("org/model", "README.md", revision="v1.0"), "rb").read().decode()
out["commit"] = open(hf_hub_download("org/model", "config.json", revision=MAIN), "rb").read().decode()
out["space"] = open(hf_hub_download("org/space", "app.py", repo_type="space"), "rb").read().decode()
out["dataset"] = hf_hub_download("org/data", "data/big.parquet", repo_type="dataset")
def error(call):
    try:
        call()
        return "no error"
    except Exception as e:
        kinds = [
            k.__name__ for k in (GatedRepoError, EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError)
            if isinstance(e, k)
        ]
        return kinds[0] if kinds else type(e).__name__ + ": " + str(e)
out["missing_file"] = error(lambda: hf_hub_download("org/model", "missing.bin"))
out["missing_repo"] = error(lambda: hf_hub_download("org/nothing", "config.json"))
out["missing_revision"] = error(lambda: hf_hub_download("org/model", "config.json", revision="nope"))
out["gated_without_token"] = error(lambda: hf_hub_download("org/gated", "config.json", token=False))
out["gated_with_token"] = open(hf_hub_download("org/gated", "config.json"), "rb").read().decode()
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huggingface_hub_0x_downloads_from_the_server() {
    let oracle = tokio::task::spawn_blocking(|| Oracle::get(HF_HUB_0X))
        .await
        .expect("oracle");
    let cache = cache();
    let server = Server::builder(cache.path())
        .with_token(TOKEN)
        .with_gated(Repo::model("org/gated").expect("id"))
        .start()
        .await
        .expect("start");
    let hf_home = tempfile::tempdir().expect("temp dir");
    let endpoint = server.endpoint();
    let home = hf_home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(&oracle, &endpoint, &home, SCRIPT_0X))
        .await
        .expect("oracle run");
    let text = |key: &str| out[key].as_str().unwrap_or_default().to_owned();
    assert_eq!(out["snapshot"].as_array().map(Vec::len), Some(6), "{out}");
    assert_eq!(text("pr"), String::from_utf8_lossy(CONFIG_PR1));
    assert_eq!(text("tag"), "# model\n");
    assert_eq!(text("commit"), String::from_utf8_lossy(CONFIG));
    assert_eq!(text("space"), "print('hi')\n");
    assert!(fs::read(text("dataset")).expect("parquet") == weights(70_000)[1000..]);
    let snapshot = Path::new(out["snapshot_dir"].as_str().expect("dir"));
    assert!(fs::read(snapshot.join("model.safetensors")).expect("weights") == weights(300_000));
    assert_eq!(text("missing_file"), "EntryNotFoundError");
    assert_eq!(text("missing_repo"), "RepositoryNotFoundError");
    assert_eq!(text("missing_revision"), "RevisionNotFoundError");
    assert_eq!(text("gated_without_token"), "GatedRepoError");
    assert_eq!(text("gated_with_token"), String::from_utf8_lossy(CONFIG));
    let compared = assert_client_cache_matches(&hf_home.path().join("hub"), cache.path());
    assert_eq!(compared, 6 + 1 + 1 + 1 + 1);
    let records = server.request_log().records();
    assert!(records.iter().any(|r| r.origin == Origin::Cdn));
    assert!(
        records
            .iter()
            .filter(|r| r.origin == Origin::Cdn)
            .all(|r| !r.authorization)
    );
    server.shutdown().await;
}

/// A cache serving `org/big`, whose `big.bin` is a 25 MB LFS file; returns it with the file's bytes.
fn big_file_cache() -> (tempfile::TempDir, Vec<u8>) {
    let cache = cache();
    let big = weights(25_000_000);
    hfhub_tests::tree::Tree::at(cache.path())
        .with("big", big.as_slice())
        .write(&format!(
            "models--org--big/refs/main = {MAIN}\n\
             models--org--big/snapshots/{MAIN}/big.bin => lfs $big"
        ));
    (cache, big)
}

/// 0.25 keeps `blobs/<etag>.incomplete` when a download breaks and resumes it with `Range` on the
/// next call; the client buffers 10 MiB chunks, so a drop after 22 MB resumes at 20 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huggingface_hub_0x_resumes_after_a_dropped_connection() {
    let oracle = tokio::task::spawn_blocking(|| Oracle::get(HF_HUB_0X))
        .await
        .expect("oracle");
    let (cache, big) = big_file_cache();
    let server = Server::builder(cache.path())
        .with_fault(
            Fault::new(FaultKind::DropAfter(22_500_000))
                .on(Origin::Cdn)
                .first(1),
        )
        .start()
        .await
        .expect("start");
    let hf_home = tempfile::tempdir().expect("temp dir");
    let endpoint = server.endpoint();
    let home = hf_home.path().to_path_buf();
    let script = r#"
import json
from huggingface_hub import hf_hub_download
try:
    hf_hub_download("org/big", "big.bin")
    first = "no error"
except Exception as e:
    first = type(e).__name__
print(json.dumps({"first": first, "second": hf_hub_download("org/big", "big.bin")}))
"#;
    let out = tokio::task::spawn_blocking(move || run(&oracle, &endpoint, &home, script))
        .await
        .expect("oracle run");
    assert_ne!(out["first"], "no error", "{out}");
    let second = out["second"].as_str().expect("path");
    assert!(fs::read(second).expect("big file") == big);
    let cdn: Vec<_> = server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn)
        .map(|r| (r.status, r.range, r.bytes_sent))
        .collect();
    assert_eq!(
        cdn,
        [
            (200, None, 22_500_000),
            (
                206,
                Some("bytes=20971520-".to_owned()),
                25_000_000 - 20_971_520
            ),
        ]
    );
    assert_client_cache_matches(&hf_home.path().join("hub"), cache.path());
    server.shutdown().await;
}

/// 2.x retries a `429` on the CDN after `Retry-After`, and resumes a broken body within the same
/// call from the last whole 10 MiB chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huggingface_hub_2x_retries_and_resumes() {
    let oracle = tokio::task::spawn_blocking(|| Oracle::get(HF_HUB_2X))
        .await
        .expect("oracle");
    let (cache, big) = big_file_cache();
    let server = Server::builder(cache.path())
        .with_fault(Fault::status(429, Some(0)).on(Origin::Cdn).first(1))
        .with_fault(
            Fault::new(FaultKind::DropAfter(22_500_000))
                .on(Origin::Cdn)
                .nth(2),
        )
        .start()
        .await
        .expect("start");
    let hf_home = tempfile::tempdir().expect("temp dir");
    let endpoint = server.endpoint();
    let home = hf_home.path().to_path_buf();
    let script = r#"
import json
from huggingface_hub import hf_hub_download
print(json.dumps({"path": hf_hub_download("org/big", "big.bin")}))
"#;
    let out = tokio::task::spawn_blocking(move || run(&oracle, &endpoint, &home, script))
        .await
        .expect("oracle run");
    assert!(fs::read(out["path"].as_str().expect("path")).expect("big file") == big);
    let cdn: Vec<_> = server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn)
        .map(|r| (r.status, r.range, r.bytes_sent))
        .collect();
    assert_eq!(
        cdn,
        [
            (429, None, r#"{"error":"injected fault"}"#.len() as u64),
            (200, None, 22_500_000),
            (
                206,
                Some("bytes=20971520-".to_owned()),
                25_000_000 - 20_971_520
            ),
        ]
    );
    assert_client_cache_matches(&hf_home.path().join("hub"), cache.path());
    server.shutdown().await;
}
