//! The fixture caches are deterministic, honest (blobs named by the hash of their content) and read
//! by Python `huggingface_hub` 2.x exactly as intended: healthy ones scan cleanly, each corrupt one
//! gives exactly its warning, and offline downloads find unicode, nested and PR-ref files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use hfhub_tests::fixtures::{self, BIG_MIXED, Fixture, FixtureRepo};
use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use serde_json::Value;

fn generate() -> (tempfile::TempDir, Vec<Fixture>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let all = fixtures::generate_all(dir.path()).expect("fixtures are generated");
    (dir, all)
}

/// Everything that can differ between two trees: per entry its kind, times, mode and then its
/// bytes or link target. Times are read before any content, since reading may move atime; the
/// atime of a directory is left out, since listing it (as this walk does) moves it.
fn describe(root: &Path) -> Vec<String> {
    let entries: Vec<walkdir::DirEntry> = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("walk the fixture");
    let mut lines: Vec<String> = entries
        .iter()
        .map(|entry| {
            let meta = entry.path().symlink_metadata().expect("stat");
            let relative = entry
                .path()
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            if meta.file_type().is_symlink() {
                format!("{relative} symlink")
            } else if meta.is_dir() {
                format!(
                    "{relative}/ mode={:o} mtime={}",
                    meta.permissions().mode(),
                    meta.mtime()
                )
            } else {
                format!(
                    "{relative} mode={:o} mtime={} atime={}",
                    meta.permissions().mode(),
                    meta.mtime(),
                    meta.atime()
                )
            }
        })
        .collect();
    for entry in &entries {
        let relative = entry
            .path()
            .strip_prefix(root)
            .expect("below root")
            .display()
            .to_string();
        let kind = entry.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(entry.path()).expect("readlink");
            lines.push(format!("{relative} -> {}", target.display()));
        } else if kind.is_file() {
            let bytes = fs::read(entry.path()).expect("read");
            lines.push(format!(
                "{relative} = {}",
                hfhub_tests::hash::sha256(&bytes)
            ));
        }
    }
    lines
}

/// Reports the first differing entry rather than two whole trees.
fn assert_same(left: &[String], right: &[String], name: &str) {
    for (a, b) in left.iter().zip(right) {
        assert_eq!(a, b, "fixture {name} differs between runs");
    }
    assert_eq!(
        left.len(),
        right.len(),
        "fixture {name} has a different number of entries"
    );
}

#[test]
fn generating_twice_gives_byte_identical_trees() {
    let (first_dir, first) = generate();
    let (second_dir, second) = generate();
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.name, b.name);
        let left = describe(&a.cache_dir);
        let right = describe(&b.cache_dir);
        assert!(left.len() > 3, "fixture {} is not empty of entries", a.name);
        assert_same(&left, &right, &a.name);
    }
    // Regenerating in place (over an existing tree) gives the same bytes again.
    let again = fixtures::generate(first_dir.path(), BIG_MIXED).expect("regenerate");
    let fresh_dir = tempfile::tempdir().expect("temporary directory");
    let fresh = fixtures::generate(fresh_dir.path(), BIG_MIXED).expect("generate");
    assert_same(
        &describe(&again.cache_dir),
        &describe(&fresh.cache_dir),
        BIG_MIXED,
    );
    drop(second_dir);
}

#[test]
fn fixture_names_are_unique_and_each_corrupt_fixture_says_how() {
    let (_dir, all) = generate();
    let names: BTreeSet<&str> = all.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), all.len());
    assert_eq!(names, fixtures::names().into_iter().collect());
    for fixture in &all {
        assert_eq!(
            fixture.corrupt,
            fixture.corruption.is_some(),
            "{}",
            fixture.name
        );
        assert!(fixture.cache_dir.is_dir(), "{}", fixture.name);
    }
    assert_eq!(all.iter().filter(|f| f.corrupt).count(), 8);
}

/// Blob names are recomputed by Python's hashlib (git blob sha1, or sha256 for 64-hex names), every
/// pointer is the relative link upstream writes, and the trees/ listings are byte for byte what
/// `_tree_cache.write_tree_cache` writes for the same entries.
#[test]
fn blobs_are_named_by_their_content_hash_and_pointers_and_trees_match_upstream() {
    let (dir, all) = generate();
    let script = r#"
import hashlib, json, os, sys, tempfile
from huggingface_hub import _tree_cache
root = sys.argv[1]
out = {"blobs": {}, "trees": {}}
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    if os.path.basename(dirpath) == "blobs":
        for name in sorted(filenames):
            if name.endswith(".incomplete"):
                continue
            data = open(os.path.join(dirpath, name), "rb").read()
            if len(name) == 64:
                digest = hashlib.sha256(data).hexdigest()
            else:
                digest = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            out["blobs"][os.path.join(dirpath, name)] = digest
    if os.path.basename(dirpath) == "trees":
        repo = os.path.dirname(dirpath)
        for name in sorted(filenames):
            commit = name[: -len(".json")]
            entries = _tree_cache.read_tree_cache(repo, commit)
            with tempfile.TemporaryDirectory() as tmp:
                _tree_cache.write_tree_cache(tmp, commit, entries)
                rewritten = open(os.path.join(tmp, "trees", name), "rb").read()
            ours = open(os.path.join(dirpath, name), "rb").read()
            out["trees"][os.path.join(dirpath, name)] = [rewritten == ours, len(entries)]
print(json.dumps(out))
"#;
    let oracle = Oracle::get(HF_HUB_2X);
    let output: Value =
        serde_json::from_str(&oracle.eval(script, &[&dir.path().to_string_lossy()]))
            .expect("oracle prints JSON");

    let blobs = output["blobs"].as_object().expect("blobs");
    assert!(blobs.len() > 30, "only {} blobs found", blobs.len());
    for (path, digest) in blobs {
        let name = Path::new(path).file_name().expect("name").to_string_lossy();
        assert_eq!(
            name.as_ref(),
            digest.as_str().expect("hex"),
            "blob `{path}` is not named by its hash"
        );
    }
    let trees = output["trees"].as_object().expect("trees");
    let expected_trees: usize = all
        .iter()
        .flat_map(|f| &f.repos)
        .map(|r| r.trees.len())
        .sum();
    assert_eq!(trees.len(), expected_trees);
    assert!(expected_trees >= 3);
    for (path, result) in trees {
        assert_eq!(
            result[0],
            Value::Bool(true),
            "`{path}` differs from upstream's rewrite"
        );
        assert!(
            result[1].as_u64().expect("count") > 0,
            "`{path}` read as empty"
        );
    }

    // Pointers: `../` once per folder of the repo path plus twice, then blobs/<etag>.
    for fixture in &all {
        for repo in &fixture.repos {
            for revision in &repo.revisions {
                for file in &revision.files {
                    let link = repo
                        .path
                        .join("snapshots")
                        .join(&revision.commit)
                        .join(&file.path);
                    let target = fs::read_link(&link).expect("pointer is a symlink");
                    let depth = file.path.split('/').count() + 1;
                    let expected = format!("{}blobs/{}", "../".repeat(depth), file.etag);
                    assert_eq!(target, PathBuf::from(expected), "{}", link.display());
                    assert_eq!(fs::read(&link).expect("pointer resolves"), file.content);
                }
            }
            for (name, commit) in &repo.refs {
                let content = fs::read(repo.path.join("refs").join(name)).expect("ref");
                assert_eq!(
                    content,
                    commit.as_bytes(),
                    "ref {name} has no trailing newline"
                );
            }
        }
    }
}

const SCAN: &str = r#"
import json, sys
from huggingface_hub import scan_cache_dir
result = []
for cache_dir in sys.argv[1:]:
    info = scan_cache_dir(cache_dir)
    repos = []
    for repo in info.repos:
        revisions = []
        for rev in repo.revisions:
            revisions.append({
                "commit": rev.commit_hash,
                "refs": sorted(rev.refs),
                "files": sorted(f.file_path.relative_to(rev.snapshot_path).as_posix() for f in rev.files),
                "size": rev.size_on_disk,
                "last_modified": rev.last_modified,
            })
        repos.append({
            "type": repo.repo_type,
            "id": repo.repo_id,
            "nb_files": repo.nb_files,
            "size": repo.size_on_disk,
            "revisions": sorted(revisions, key=lambda r: r["commit"]),
        })
    result.append({
        "cache_dir": str(info.cache_dir),
        "repos": sorted(repos, key=lambda r: (r["type"], r["id"])),
        "warnings": [str(w) for w in info.warnings],
        "incomplete": sorted(str(f.file_path) for f in info.incomplete_files),
    })
print(json.dumps(result))
"#;

fn python_scan(all: &[Fixture]) -> Vec<Value> {
    let oracle = Oracle::get(HF_HUB_2X);
    let args: Vec<String> = all
        .iter()
        .map(|f| f.cache_dir.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output: Value =
        serde_json::from_str(&oracle.eval(SCAN, &args)).expect("oracle prints JSON");
    output.as_array().expect("one result per fixture").clone()
}

/// What the fixture says a scan must find, in the shape of the Python script's output.
fn expected_repos(repos: &[FixtureRepo]) -> Value {
    let mut rendered: Vec<Value> = repos
        .iter()
        .map(|repo| {
            let blobs = repo.referenced_blobs();
            let mut revisions: Vec<Value> = repo
                .revisions
                .iter()
                .map(|rev| {
                    let mut files: Vec<&str> = rev.files.iter().map(|f| f.path.as_str()).collect();
                    files.sort();
                    let distinct: BTreeMap<&str, u64> = rev
                        .files
                        .iter()
                        .map(|f| (f.etag.as_str(), f.size()))
                        .collect();
                    serde_json::json!({
                        "commit": rev.commit,
                        "refs": rev.refs,
                        "files": files,
                        "size": distinct.values().sum::<u64>(),
                    })
                })
                .collect();
            revisions.sort_by(|a, b| a["commit"].as_str().cmp(&b["commit"].as_str()));
            serde_json::json!({
                "type": repo.repo_type.as_str(),
                "id": repo.repo_id,
                "nb_files": blobs.len(),
                "size": blobs.values().sum::<u64>(),
                "revisions": revisions,
            })
        })
        .collect();
    rendered.sort_by_key(|r| (r["type"].to_string(), r["id"].to_string()));
    Value::Array(rendered)
}

/// The scan output without the fields the fixture does not predict.
fn without_times(mut repos: Value) -> Value {
    for repo in repos.as_array_mut().expect("repos") {
        for rev in repo["revisions"].as_array_mut().expect("revisions") {
            rev.as_object_mut()
                .expect("revision")
                .remove("last_modified");
        }
    }
    repos
}

#[test]
fn python_scan_finds_exactly_the_repos_of_each_healthy_fixture() {
    let (_dir, all) = generate();
    let healthy: Vec<Fixture> = all.into_iter().filter(|f| !f.corrupt).collect();
    assert!(healthy.len() >= 3);
    let scans = python_scan(&healthy);
    for (fixture, scan) in healthy.iter().zip(&scans) {
        assert_eq!(
            scan["warnings"],
            serde_json::json!([]),
            "fixture {}",
            fixture.name
        );
        assert_eq!(
            without_times(scan["repos"].clone()),
            expected_repos(&fixture.repos),
            "fixture {}",
            fixture.name
        );
        let python_dir = PathBuf::from(scan["cache_dir"].as_str().expect("cache_dir"));
        let incomplete: Vec<String> = fixture
            .incomplete_files
            .iter()
            .map(|p| {
                python_dir
                    .join(p.strip_prefix(&fixture.cache_dir).expect("inside"))
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            scan["incomplete"],
            serde_json::json!(incomplete),
            "fixture {}",
            fixture.name
        );
    }

    let big = healthy
        .iter()
        .position(|f| f.name == BIG_MIXED)
        .expect("big-mixed");
    let repos = scans[big]["repos"].as_array().expect("repos");
    let types: BTreeSet<&str> = repos
        .iter()
        .map(|r| r["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, BTreeSet::from(["dataset", "model", "space"]));
    assert!(
        repos
            .iter()
            .any(|r| r["id"].as_str().is_some_and(|id| !id.contains('/')))
    );
    assert!(
        repos
            .iter()
            .any(|r| r["id"].as_str().is_some_and(|id| id.contains('/')))
    );
    let revisions: Vec<&Value> = repos
        .iter()
        .flat_map(|r| r["revisions"].as_array().expect("revs"))
        .collect();
    assert!(
        revisions
            .iter()
            .any(|r| r["refs"] == serde_json::json!(["refs/pr/1"])),
        "a PR ref"
    );
    assert!(
        revisions.iter().any(|r| r["refs"] == serde_json::json!([])),
        "a detached revision"
    );
    assert!(
        revisions
            .iter()
            .any(|r| r["files"] == serde_json::json!([])),
        "an empty snapshot"
    );
    // Fixed times: the newest blob of the big fixture is in 2024, not today.
    let newest = revisions
        .iter()
        .map(|r| r["last_modified"].as_f64().expect("time"))
        .fold(0.0, f64::max);
    assert!(
        newest >= fixtures::EPOCH_SECONDS as f64 && newest < 1_735_689_600.0,
        "{newest}"
    );
}

#[test]
fn python_scan_reports_exactly_one_expected_warning_per_corrupt_fixture() {
    let (_dir, all) = generate();
    let corrupt: Vec<Fixture> = all.into_iter().filter(|f| f.corrupt).collect();
    let scans = python_scan(&corrupt);
    let mut kinds = BTreeSet::new();
    for (fixture, scan) in corrupt.iter().zip(&scans) {
        let corruption = fixture
            .corruption
            .as_ref()
            .expect("corrupt fixture says how");
        kinds.insert(format!("{:?}", corruption.kind));
        let python_dir = PathBuf::from(scan["cache_dir"].as_str().expect("cache_dir"));
        assert_eq!(
            scan["warnings"],
            serde_json::json!([corruption.message_2x(&python_dir)]),
            "fixture {}",
            fixture.name
        );
        // The healthy neighbour is still reported.
        assert_eq!(
            without_times(scan["repos"].clone()),
            expected_repos(&fixture.repos),
            "fixture {}",
            fixture.name
        );
    }
    assert_eq!(kinds.len(), 8, "one fixture per case of spec 7.2");
}

#[test]
fn python_offline_download_finds_unicode_nested_and_pr_ref_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let big = fixtures::generate(dir.path(), BIG_MIXED).expect("big-mixed");
    let repo = |id: &str| {
        big.repos
            .iter()
            .find(|r| r.repo_id == id)
            .expect("repo exists")
    };
    let content = |id: &str, revision: &str, path: &str| -> Vec<u8> {
        let repo = repo(id);
        let commit = repo
            .refs
            .get(revision)
            .cloned()
            .unwrap_or_else(|| revision.to_owned());
        let rev = repo.revision(&commit).expect("revision exists");
        rev.files
            .iter()
            .find(|f| f.path == path)
            .expect("file exists")
            .content
            .clone()
    };
    let detached = repo("gpt2")
        .revisions
        .iter()
        .find(|r| r.refs.is_empty())
        .expect("gpt2 has a detached revision")
        .commit
        .clone();
    // (repo type, repo id, revision, path)
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "model",
            "acme-org/tiny-bert",
            "main".into(),
            "données/résumé.txt",
        ),
        (
            "model",
            "acme-org/tiny-bert",
            "dev".into(),
            "données/résumé.txt",
        ),
        (
            "model",
            "acme-org/tiny-bert",
            "main".into(),
            "日本語/ファイル.bin",
        ),
        (
            "model",
            "acme-org/tiny-bert",
            "dev".into(),
            "nested/a/b/c/deep.txt",
        ),
        (
            "model",
            "gpt2",
            "refs/pr/1".into(),
            "generation_config.json",
        ),
        ("model", "gpt2", "refs/pr/1".into(), "config.json"),
        ("model", "gpt2", "v1.0".into(), "model.safetensors"),
        ("model", "gpt2", detached.clone(), "model.safetensors"),
        ("model", "gpt2", "main".into(), "onnx/decoder_model.onnx"),
        (
            "dataset",
            "wikitext",
            "refs/convert/parquet".into(),
            "default/test/0000.parquet",
        ),
        ("space", "acme-org/demo-space", "main".into(), "app.py"),
    ];
    let script = r#"
import hashlib, json, sys
from huggingface_hub import hf_hub_download, try_to_load_from_cache, snapshot_download
from huggingface_hub.file_download import _CACHED_NO_EXIST
cache_dir = sys.argv[1]
out = []
for spec in sys.argv[2:]:
    repo_type, repo_id, revision, filename = spec.split("\t")
    path = hf_hub_download(repo_id, filename, revision=revision, repo_type=repo_type,
                           cache_dir=cache_dir, local_files_only=True)
    out.append(hashlib.sha256(open(path, "rb").read()).hexdigest())
no_exist = try_to_load_from_cache("gpt2", "added_tokens.json", cache_dir=cache_dir) is _CACHED_NO_EXIST
missing = try_to_load_from_cache("gpt2", "nope.json", cache_dir=cache_dir)
complete = snapshot_download("acme-org/tiny-bert", cache_dir=cache_dir, local_files_only=True)
try:
    snapshot_download("gpt2", cache_dir=cache_dir, local_files_only=True)
    incomplete = "returned"
except Exception as e:
    incomplete = type(e).__name__
print(json.dumps({"files": out, "no_exist": no_exist, "missing": missing,
                  "complete": complete.rsplit("/", 1)[-1], "incomplete": incomplete}))
"#;
    let mut args = vec![big.cache_dir.to_string_lossy().into_owned()];
    args.extend(
        cases
            .iter()
            .map(|(t, id, rev, path)| format!("{t}\t{id}\t{rev}\t{path}")),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let oracle = Oracle::get(HF_HUB_2X);
    let output: Value =
        serde_json::from_str(&oracle.eval(script, &args)).expect("oracle prints JSON");

    let found = output["files"].as_array().expect("files");
    assert_eq!(found.len(), cases.len());
    for ((_, id, revision, path), digest) in cases.iter().zip(found) {
        let expected = hfhub_tests::hash::sha256(&content(id, revision, path));
        assert_eq!(
            digest.as_str(),
            Some(expected.as_str()),
            "{id}@{revision}:{path}"
        );
    }
    assert_eq!(
        output["no_exist"],
        Value::Bool(true),
        ".no_exist marker is honoured"
    );
    assert_eq!(output["missing"], Value::Null);
    assert_eq!(
        output["complete"].as_str(),
        Some(repo("acme-org/tiny-bert").refs["main"].as_str())
    );
    // gpt2 main's tree lists flax_model.msgpack, which was never downloaded.
    assert_eq!(
        output["incomplete"].as_str(),
        Some("IncompleteSnapshotError")
    );
}

/// huggingface_hub 0.2x reads the legacy fixture like 2.x does, and (skipping only `.locks`) warns
/// about the `CACHEDIR.TAG` a 2.x cache holds (spec 7.1).
#[test]
fn python_0x_scan_reads_the_legacy_fixture_and_trips_on_cachedir_tag() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let legacy = fixtures::generate(dir.path(), fixtures::LEGACY_0X).expect("legacy");
    let big = fixtures::generate(dir.path(), BIG_MIXED).expect("big-mixed");
    let script = r#"
import json, sys
from pathlib import Path
from huggingface_hub import scan_cache_dir
result = []
for cache_dir in sys.argv[1:]:
    info = scan_cache_dir(cache_dir)
    repos = []
    for repo in info.repos:
        revisions = []
        for rev in repo.revisions:
            revisions.append({
                "commit": rev.commit_hash,
                "refs": sorted(rev.refs),
                "files": sorted(f.file_path.relative_to(rev.snapshot_path).as_posix() for f in rev.files),
                "size": rev.size_on_disk,
            })
        repos.append({
            "type": repo.repo_type,
            "id": repo.repo_id,
            "nb_files": repo.nb_files,
            "size": repo.size_on_disk,
            "revisions": sorted(revisions, key=lambda r: r["commit"]),
        })
    result.append({
        "cache_dir": str(Path(cache_dir).resolve()),
        "repos": sorted(repos, key=lambda r: (r["type"], r["id"])),
        "warnings": [str(w) for w in info.warnings],
    })
print(json.dumps(result))
"#;
    let oracle = Oracle::get(hfhub_tests::oracle::HF_HUB_0X);
    let args = [
        legacy.cache_dir.to_string_lossy(),
        big.cache_dir.to_string_lossy(),
    ];
    let output: Value = serde_json::from_str(&oracle.eval(script, &[&args[0], &args[1]]))
        .expect("oracle prints JSON");
    assert_eq!(output[0]["warnings"], serde_json::json!([]));
    assert_eq!(output[0]["repos"], expected_repos(&legacy.repos));
    let big_dir = PathBuf::from(output[1]["cache_dir"].as_str().expect("cache_dir"));
    assert_eq!(
        output[1]["warnings"],
        serde_json::json!([format!(
            "Repo path is not a directory: {}",
            big_dir.join("CACHEDIR.TAG").display()
        )])
    );
    assert_eq!(output[1]["repos"], expected_repos(&big.repos));
}
