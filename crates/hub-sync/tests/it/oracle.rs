//! Interop with Python `huggingface_hub` 2.4 (the oracle), both downloading from hub-server serving
//! BIG_MIXED: the same cases into two caches give identical trees; Python offline finds everything we
//! wrote (and `scan_cache_dir` has no warning); we find everything Python wrote without a request; Python
//! trusts our `local_dir` metadata.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_cache::Cache;
use hub_cache::write::{Symlinks, WriteOptions};
use hub_server::RunningServer;
use hub_sync::{Downloader, FileRequest, SnapshotRequest};
use serde_json::{Value, json};

use crate::server::{TOKEN, client, refs_with_files, serve};
use crate::support::tree;

const SCRIPT: &str = r#"
import json, sys
from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir
cases = json.loads(sys.argv[1])
out = {"paths": []}
for c in cases:
    kw = dict(repo_type=c["repo_type"], revision=c["revision"], local_files_only=c.get("offline", False))
    if c.get("local_dir"):
        kw["local_dir"] = c["local_dir"]
    if c["kind"] == "file":
        out["paths"].append(hf_hub_download(c["repo_id"], c["filename"], **kw))
    else:
        out["paths"].append(snapshot_download(
            c["repo_id"], allow_patterns=c.get("allow"), ignore_patterns=c.get("ignore"), **kw))
if len(sys.argv) > 2:
    info = scan_cache_dir(sys.argv[2])
    out["warnings"] = [str(w) for w in info.warnings]
    out["repos"] = sorted(r.repo_id for r in info.repos)
print(json.dumps(out))
"#;

/// Runs the cases in Python against `server` (or offline when `server` is `None`) with `cache` as
/// `HF_HUB_CACHE`; returns the paths Python returned (and scan warnings when `scan`).
fn python(
    oracle: &Oracle,
    server: Option<&RunningServer>,
    cache: &Path,
    cases: &[Value],
    scan: bool,
) -> Value {
    let endpoint = server.map(RunningServer::endpoint);
    python_with(oracle, endpoint.as_deref(), cache, cases, scan, &[])
}

fn python_with(
    oracle: &Oracle,
    endpoint: Option<&str>,
    cache: &Path,
    cases: &[Value],
    scan: bool,
    env: &[(&str, &str)],
) -> Value {
    let home = cache.with_extension("home");
    let mut command = oracle.command();
    command.envs(env.iter().copied());
    command
        .env("HF_HOME", &home)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_TOKEN", TOKEN);
    if let Some(endpoint) = endpoint {
        command
            .env("HF_HUB_OFFLINE", "0")
            .env("HF_ENDPOINT", endpoint);
    }
    command
        .arg("-c")
        .arg(SCRIPT)
        .arg(Value::Array(cases.to_vec()).to_string());
    if scan {
        command.arg(cache);
    }
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the oracle");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "huggingface_hub {} failed\nstdout:\n{stdout}\nstderr:\n{}",
        oracle.version(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Runs the same cases with hub-sync; returns the paths.
async fn ours(downloader: &Downloader<impl hub_sync::Remote>, cases: &[Value]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for case in cases {
        let repo_type = case["repo_type"]
            .as_str()
            .expect("type")
            .parse()
            .expect("repo type");
        let repo = hub_cache::Repo::new(
            repo_type,
            hub_cache::RepoId::new(case["repo_id"].as_str().expect("id")).expect("valid id"),
        );
        let revision = case["revision"].as_str().expect("revision");
        let local_dir = case["local_dir"].as_str().map(PathBuf::from);
        let strings = |key: &str| {
            case[key].as_array().map(|a| {
                a.iter()
                    .map(|v| v.as_str().expect("pattern").to_owned())
                    .collect::<Vec<_>>()
            })
        };
        let path = if case["kind"] == "file" {
            downloader
                .download_file(
                    &FileRequest::new(repo, case["filename"].as_str().expect("filename"))
                        .with_revision(revision)
                        .with_local_dir(local_dir),
                )
                .await
        } else {
            downloader
                .snapshot(
                    &SnapshotRequest::new(repo)
                        .with_revision(revision)
                        .with_allow(strings("allow"))
                        .with_ignore(strings("ignore"))
                        .with_local_dir(local_dir),
                )
                .await
        };
        paths.push(path.unwrap_or_else(|e| panic!("{case}: {e:?}")));
    }
    paths
}

/// Every snapshot of every repo and ref, single files by branch, tag, PR ref and commit, patterns.
fn cases(fixture: &hfhub_tests::fixtures::Fixture) -> Vec<Value> {
    let mut cases = Vec::new();
    let gpt2 = fixture.repo("gpt2").expect("gpt2");
    for (name, commit) in refs_with_files(gpt2) {
        let revision = gpt2
            .revisions
            .iter()
            .find(|r| r.commit == commit)
            .expect("rev");
        let file = &revision.files[0].path;
        for asked in [&name, &commit] {
            cases.push(
                json!({"kind": "file", "repo_type": "model", "repo_id": "gpt2",
                "revision": asked, "filename": file}),
            );
        }
    }
    // Several files: their names as allow patterns (what `download REPO F1 F2` does).
    cases.push(
        json!({"kind": "snapshot", "repo_type": "model", "repo_id": "gpt2",
        "revision": "v1.0", "allow": ["config.json", "README.md"]}),
    );
    cases.push(
        json!({"kind": "snapshot", "repo_type": "model", "repo_id": "acme-org/tiny-bert",
        "revision": "dev", "allow": ["*.txt", "nested/"], "ignore": ["vocab*"]}),
    );
    for repo in &fixture.repos {
        for (name, _) in refs_with_files(repo) {
            cases.push(
                json!({"kind": "snapshot", "repo_type": repo.repo_type.as_str(),
                "repo_id": repo.repo_id, "revision": name}),
            );
        }
    }
    cases
}

/// [`tree`] with `.metadata` files reduced to their commit and etag lines (the timestamp differs).
fn normalized_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = tree(root, |_| false);
    for (path, description) in out.iter_mut() {
        if path.ends_with(".metadata") {
            let text = fs::read_to_string(root.join(path)).expect("metadata");
            let lines: Vec<&str> = text.split('\n').collect();
            assert_eq!(lines.len(), 4, "{path}: {text:?}");
            assert!(lines[2].parse::<f64>().is_ok(), "{path}: {text:?}");
            *description = format!("metadata {} {}", lines[0], lines[1]);
        }
    }
    out
}

fn relative(path: &Path, root: &Path) -> String {
    let root = root.canonicalize().expect("root");
    path.strip_prefix(&root)
        .unwrap_or_else(|_| panic!("{} not under {}", path.display(), root.display()))
        .to_string_lossy()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_hfhub_build_identical_caches_from_the_same_server() {
    identical_caches(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_symlinks_python_and_hfhub_build_identical_caches() {
    identical_caches(false).await;
}

async fn identical_caches(symlinks: bool) {
    let oracle = Oracle::get(HF_HUB_2X);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (theirs, mine) = (tmp.path().join("python"), tmp.path().join("hfhub"));
    let cases = cases(&served.fixture);
    let with_local = |cases: &[Value], root: &Path| -> Vec<Value> {
        let mut cases = cases.to_vec();
        for (n, (repo_id, filename)) in
            [("gpt2", Some("config.json")), ("acme-org/tiny-bert", None)]
                .into_iter()
                .enumerate()
        {
            let dir = root.join(format!("local{n}"));
            cases.push(match filename {
                Some(filename) => json!({"kind": "file", "repo_type": "model", "repo_id": repo_id,
                    "revision": "main", "filename": filename, "local_dir": dir}),
                None => json!({"kind": "snapshot", "repo_type": "model", "repo_id": repo_id,
                    "revision": "main", "local_dir": dir}),
            });
        }
        cases
    };
    let python_cases = with_local(&cases, &tmp.path().join("python-local"));
    let our_cases = with_local(&cases, &tmp.path().join("hfhub-local"));

    let env: &[(&str, &str)] = if symlinks {
        &[]
    } else {
        &[("HF_HUB_DISABLE_SYMLINKS", "1")]
    };
    let python_out = python_with(
        &oracle,
        Some(&served.server.endpoint()),
        &theirs,
        &python_cases,
        false,
        env,
    );
    let write = if symlinks {
        WriteOptions::default()
    } else {
        WriteOptions::default().with_symlinks(Symlinks::Disabled)
    };
    let downloader =
        Downloader::new(client(&served.server), Cache::new(&mine)).with_write_options(write);
    let our_paths = ours(&downloader, &our_cases).await;

    let python_paths: Vec<&str> = python_out["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| p.as_str().expect("path"))
        .collect();
    assert_eq!(python_paths.len(), our_paths.len());
    for ((case, theirs_path), our_path) in python_cases.iter().zip(&python_paths).zip(&our_paths) {
        let (their_root, our_root) = if case["local_dir"].is_string() {
            (
                tmp.path().join("python-local"),
                tmp.path().join("hfhub-local"),
            )
        } else {
            (theirs.clone(), mine.clone())
        };
        assert_eq!(
            relative(our_path, &our_root),
            relative(Path::new(theirs_path), &their_root),
            "{case}"
        );
    }
    let (cache_tree, local_tree) = (
        normalized_tree(&mine),
        normalized_tree(&tmp.path().join("hfhub-local")),
    );
    assert_eq!(cache_tree, normalized_tree(&theirs));
    assert_eq!(
        local_tree,
        normalized_tree(&tmp.path().join("python-local"))
    );
    // The comparison covers what matters: links, blobs, refs, listings, metadata.
    let has = |tree: &BTreeMap<String, String>, what: &dyn Fn(&String, &String) -> bool| {
        tree.iter().any(|(k, v)| what(k, v))
    };
    let pointer = if symlinks { "-> " } else { "file " };
    assert!(has(&cache_tree, &|k, v| k.contains("/snapshots/")
        && v.starts_with(pointer)));
    assert!(has(&cache_tree, &|k, _| k.contains("/refs/refs/pr/1")));
    assert!(has(&cache_tree, &|k, _| k.contains("/trees/")
        && k.ends_with(".json")));
    assert!(has(&cache_tree, &|k, _| k.starts_with("datasets--")));
    assert!(has(&cache_tree, &|k, _| k.starts_with("spaces--")));
    assert!(has(&local_tree, &|k, v| k.ends_with(".metadata")
        && v.starts_with("metadata ")));
    assert!(has(&local_tree, &|k, _| k.contains(".cache/huggingface/trees/")));
    served.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_offline_finds_everything_hfhub_downloaded() {
    python_offline_finds_everything(HF_HUB_2X).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_0x_offline_finds_everything_hfhub_downloaded() {
    python_offline_finds_everything(HF_HUB_0X).await;
}

async fn python_offline_finds_everything(version: &str) {
    let oracle = Oracle::get(version);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mine = tmp.path().join("hfhub");
    let cases = cases(&served.fixture);
    let downloader = Downloader::new(client(&served.server), Cache::new(&mine));
    let our_paths = ours(&downloader, &cases).await;
    served.server.shutdown().await;

    let offline: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["offline"] = json!(true);
            c
        })
        .collect();
    let out = python(&oracle, None, &mine, &offline, true);
    let python_paths: Vec<PathBuf> = out["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| PathBuf::from(p.as_str().expect("path")))
        .collect();
    assert_eq!(python_paths, our_paths);
    // 0.2x's scan skips only `.locks`, so the `CACHEDIR.TAG` every 2.x download writes is reported
    // (spec 7.1); nothing else may be.
    let expected = if version == HF_HUB_0X {
        json!([format!(
            "Repo path is not a directory: {}",
            mine.join("CACHEDIR.TAG").display()
        )])
    } else {
        json!([])
    };
    assert_eq!(out["warnings"], expected, "scan_cache_dir warnings");
    assert_eq!(
        out["repos"].as_array().expect("repos").len(),
        served.fixture.repos.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hfhub_offline_finds_everything_python_downloaded_without_a_request() {
    hfhub_offline_finds_everything(HF_HUB_2X).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hfhub_offline_finds_everything_python_0x_downloaded_without_a_request() {
    hfhub_offline_finds_everything(HF_HUB_0X).await;
}

async fn hfhub_offline_finds_everything(version: &str) {
    let oracle = Oracle::get(version);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let theirs = tmp.path().join("python");
    let cases = cases(&served.fixture);
    let out = python(&oracle, Some(&served.server), &theirs, &cases, false);
    served.server.request_log().clear();

    // Offline mode: answered from Python's cache (snapshots checked against Python's trees/*.json).
    let downloader =
        Downloader::new(client(&served.server), Cache::new(&theirs)).with_offline(true);
    let our_paths = ours(&downloader, &cases).await;
    let python_paths: Vec<PathBuf> = out["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| PathBuf::from(p.as_str().expect("path")))
        .collect();
    assert_eq!(our_paths, python_paths);
    // Online, commit revisions are answered from the cache too: still no request.
    let online = Downloader::new(client(&served.server), Cache::new(&theirs));
    let by_commit: Vec<Value> = cases
        .iter()
        .filter(|c| hub_cache::repo::is_commit_hash(c["revision"].as_str().expect("rev")))
        .cloned()
        .collect();
    assert!(!by_commit.is_empty());
    ours(&online, &by_commit).await;
    assert_eq!(served.server.request_log().records(), Vec::new());
    served.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_trusts_the_local_dir_metadata_hfhub_wrote() {
    let oracle = Oracle::get(HF_HUB_2X);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join("local");
    let case = json!({"kind": "snapshot", "repo_type": "model", "repo_id": "gpt2",
        "revision": "main", "local_dir": local});
    let downloader = Downloader::new(client(&served.server), Cache::new(tmp.path().join("hub")));
    ours(&downloader, std::slice::from_ref(&case)).await;
    served.server.request_log().clear();

    // Python re-runs the snapshot into our folder: it checks (HEAD) but fetches nothing.
    python(
        &oracle,
        Some(&served.server),
        &tmp.path().join("python-cache"),
        std::slice::from_ref(&case),
        false,
    );
    let records = served.server.request_log().records();
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| r.method == "HEAD" || r.path.starts_with("/api/")),
        "{records:?}"
    );

    // A file changed after the metadata was written is fetched again by Python too.
    let config = local.join("config.json");
    fs::write(&config, b"changed").expect("edit");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&config)
        .expect("open")
        .set_modified(later)
        .expect("mtime");
    served.server.request_log().clear();
    python(
        &oracle,
        Some(&served.server),
        &tmp.path().join("python-cache"),
        std::slice::from_ref(&case),
        false,
    );
    let gets: Vec<_> = served
        .server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/resolve/"))
        .collect();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert!(gets[0].path.ends_with("/config.json"));
    served.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_hfhub_downloading_into_one_cache_at_once_leave_a_valid_cache() {
    let oracle = Oracle::get(HF_HUB_2X);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let shared = tmp.path().join("shared");
    let alone = tmp.path().join("alone");
    let cases = cases(&served.fixture);
    let downloader = Downloader::new(client(&served.server), Cache::new(&shared));
    let python_thread = {
        let (oracle, cases, shared) = (oracle.clone(), cases.clone(), shared.clone());
        let endpoint = served.server.endpoint();
        std::thread::spawn(move || {
            python_with(&oracle, Some(&endpoint), &shared, &cases, false, &[])
        })
    };
    ours(&downloader, &cases).await;
    let python_out = python_thread.join().expect("python thread");
    assert_eq!(
        python_out["paths"].as_array().expect("paths").len(),
        cases.len()
    );
    // The same downloads by Python alone: the shared cache must look exactly like it.
    python(&oracle, Some(&served.server), &alone, &cases, false);
    assert_eq!(normalized_tree(&shared), normalized_tree(&alone));
    served.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hfhub_trusts_the_local_dir_metadata_python_wrote() {
    let oracle = Oracle::get(HF_HUB_2X);
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join("local");
    let case = json!({"kind": "snapshot", "repo_type": "model", "repo_id": "gpt2",
        "revision": "main", "local_dir": local});
    python(
        &oracle,
        Some(&served.server),
        &tmp.path().join("python-cache"),
        std::slice::from_ref(&case),
        false,
    );
    served.server.request_log().clear();
    let downloader = Downloader::new(client(&served.server), Cache::new(tmp.path().join("hub")));
    let paths = ours(&downloader, std::slice::from_ref(&case)).await;
    assert_eq!(paths, [local.canonicalize().expect("local")]);
    let records = served.server.request_log().records();
    // Python cached the listing in the folder: only the repo-info call remains.
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].path.contains("/revision/"), "{records:?}");
    served.server.shutdown().await;
}
