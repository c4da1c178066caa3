//! `try_to_load_from_cache` and the offline resolution of one file / one snapshot, compared with
//! huggingface_hub 2.4 on a cache built by our write API.

use std::fs;
use std::io::Write;
use std::path::Path;

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_cache::lookup::OfflineError;
use hub_cache::tree::{self, Entry, Listing};
use hub_cache::{
    BlobOrigin, Cache, CachedFile, CommitHash, Repo, RepoId, RepoType, RepoWriter, Symlinks,
    WriteOptions,
};

/// A made-up but valid etag for some content (40 hex digits).
pub(crate) fn etag_of(content: &[u8]) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for &b in content {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("{:08x}{hash:032x}", content.len())
}

/// Downloads `content` as `path` at `commit` the way the downloader will: a unique temporary blob,
/// published, then linked (or linked from the existing blob).
pub(crate) fn put_file(
    writer: &RepoWriter,
    commit: &CommitHash,
    path: &str,
    content: &[u8],
) -> String {
    let etag = etag_of(content);
    let origin = if writer.dir().blob_path(&etag).exists() {
        BlobOrigin::Existing
    } else {
        let mut blob = writer
            .create_incomplete_blob(&etag)
            .expect("create temporary blob");
        blob.file.write_all(content).expect("write temporary blob");
        drop(blob.file);
        writer
            .publish_blob(&blob.path, &etag)
            .expect("publish blob");
        BlobOrigin::Downloaded
    };
    writer
        .link_pointer(commit, path, &etag, origin)
        .expect("link pointer");
    etag
}

pub(crate) fn commit(n: u8) -> CommitHash {
    CommitHash::new(&format!("{n:x}").repeat(40)).expect("a valid commit")
}

fn repo(repo_type: RepoType, id: &str) -> Repo {
    Repo::new(repo_type, RepoId::new(id).expect("valid repo id"))
}

struct Fixture {
    _tmp: tempfile::TempDir,
    cache: Cache,
}

/// The cache every query of this file runs against.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let cache = Cache::new(tmp.path().join("hub"));
    fs::create_dir_all(cache.root()).expect("create cache root");
    cache.ensure_cachedir_tag().expect("write CACHEDIR.TAG");
    let options = WriteOptions::default().with_symlinks(Symlinks::Supported);

    let alpha = cache.writer(&repo(RepoType::Model, "org/alpha"), options);
    let (c1, c2, c3, c4) = (commit(1), commit(2), commit(3), commit(4));
    alpha
        .write_ref("main", &c1)
        .expect("building the fixture cache");
    alpha
        .write_ref("v1.0", &c2)
        .expect("building the fixture cache");
    alpha
        .write_ref("refs/pr/1", &c3)
        .expect("building the fixture cache");
    alpha
        .write_ref("1111111", &c1)
        .expect("building the fixture cache");
    alpha
        .write_ref(&c1.as_str().to_uppercase(), &c1)
        .expect("building the fixture cache");
    // A ref written by someone else with a trailing newline: upstream reads it raw, so it never matches.
    fs::write(alpha.dir().ref_path("newline"), format!("{c1}\n"))
        .expect("building the fixture cache");
    put_file(&alpha, &c1, "README.md", b"# alpha\n");
    put_file(&alpha, &c1, "config.json", b"{\"a\": 1}");
    put_file(&alpha, &c1, "sub/dir/file.txt", b"nested");
    put_file(
        &alpha,
        &c1,
        "dossier/\u{e9}t\u{e9} \u{1f600}.txt",
        b"unicode",
    );
    put_file(&alpha, &c2, "README.md", b"# alpha v1\n");
    put_file(&alpha, &c2, "config.json", b"{\"a\": 1}");
    put_file(&alpha, &c3, "model.bin", b"weights");
    put_file(&alpha, &c4, "detached.txt", b"detached");
    alpha
        .mark_no_exist(&c1, "missing.txt")
        .expect("building the fixture cache");
    alpha
        .mark_no_exist(&c1, "sub/nope.txt")
        .expect("building the fixture cache");
    alpha
        .mark_no_exist(&c4, "gone.txt")
        .expect("building the fixture cache");

    // Listings: complete for c1, one uncached file for c2, none for c3.
    let listing = |files: &[&str]| Listing {
        files: files
            .iter()
            .map(|p| {
                let entry = Entry {
                    size: 1,
                    blob_id: "0".repeat(40),
                    lfs_sha256: None,
                    lfs_size: None,
                    xet_hash: None,
                };
                ((*p).to_owned(), entry)
            })
            .collect(),
    };
    let c1_files = [
        "README.md",
        "config.json",
        "sub/dir/file.txt",
        "dossier/\u{e9}t\u{e9} \u{1f600}.txt",
    ];
    tree::write(alpha.dir().path(), c1.as_str(), &listing(&c1_files))
        .expect("building the fixture cache");
    let c2_files = [
        "README.md",
        "config.json",
        "weights.safetensors",
        "extra/a.txt",
        "extra/b.txt",
        "extra/c.txt",
    ];
    tree::write(alpha.dir().path(), c2.as_str(), &listing(&c2_files))
        .expect("building the fixture cache");

    let data = cache.writer(&repo(RepoType::Dataset, "org/data"), options);
    data.write_ref("main", &commit(5))
        .expect("building the fixture cache");
    put_file(&data, &commit(5), "data/train.csv", b"a,b\n1,2\n");
    let space = cache.writer(&repo(RepoType::Space, "org/app"), options);
    space
        .write_ref("main", &commit(6))
        .expect("building the fixture cache");
    put_file(&space, &commit(6), "app.py", b"print()\n");
    let kernel = cache.writer(&repo(RepoType::Kernel, "org/kern"), options);
    kernel
        .write_ref("main", &commit(7))
        .expect("building the fixture cache");
    put_file(&kernel, &commit(7), "build.toml", b"[k]\n");
    let gpt2 = cache.writer(&repo(RepoType::Model, "gpt2"), options);
    gpt2.write_ref("main", &commit(8))
        .expect("building the fixture cache");
    put_file(&gpt2, &commit(8), "config.json", b"{}");
    Fixture { _tmp: tmp, cache }
}

/// (repo type, repo id, filename, revision)
type Query = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

fn queries() -> Vec<Query> {
    let c1: &'static str = Box::leak(commit(1).as_str().to_owned().into_boxed_str());
    let c1_upper: &'static str = Box::leak(c1.to_uppercase().into_boxed_str());
    let c2: &'static str = Box::leak(commit(2).as_str().to_owned().into_boxed_str());
    let c3: &'static str = Box::leak(commit(3).as_str().to_owned().into_boxed_str());
    let c4: &'static str = Box::leak(commit(4).as_str().to_owned().into_boxed_str());
    vec![
        ("model", "org/alpha", "README.md", None),
        ("model", "org/alpha", "README.md", Some("main")),
        ("model", "org/alpha", "config.json", Some("main")),
        ("model", "org/alpha", "README.md", Some("v1.0")),
        ("model", "org/alpha", "model.bin", Some("refs/pr/1")),
        ("model", "org/alpha", "README.md", Some("refs/pr/1")),
        ("model", "org/alpha", "README.md", Some(c1)),
        ("model", "org/alpha", "README.md", Some(c2)),
        ("model", "org/alpha", "model.bin", Some(c3)),
        ("model", "org/alpha", "README.md", Some("1111111")),
        ("model", "org/alpha", "README.md", Some("2222222")),
        ("model", "org/alpha", "README.md", Some(c1_upper)),
        ("model", "org/alpha", "README.md", Some("newline")),
        ("model", "org/alpha", "missing.txt", None),
        ("model", "org/alpha", "missing.txt", Some(c1)),
        ("model", "org/alpha", "missing.txt", Some("v1.0")),
        ("model", "org/alpha", "sub/nope.txt", Some("main")),
        ("model", "org/alpha", "gone.txt", Some(c4)),
        ("model", "org/alpha", "detached.txt", Some(c4)),
        ("model", "org/alpha", "detached.txt", Some("main")),
        ("model", "org/alpha", "sub/dir/file.txt", None),
        ("model", "org/alpha", "sub/dir", None),
        ("model", "org/alpha", "sub/dir/", None),
        ("model", "org/alpha", "sub//dir/file.txt", None),
        ("model", "org/alpha", "./README.md", None),
        ("model", "org/alpha", "", None),
        (
            "model",
            "org/alpha",
            "dossier/\u{e9}t\u{e9} \u{1f600}.txt",
            None,
        ),
        ("model", "org/alpha", "not-there.txt", None),
        ("model", "org/alpha", "README.md", Some("no-such-branch")),
        ("model", "org/alpha", "README.md", Some("f")),
        ("model", "org/missing", "README.md", None),
        ("model", "gpt2", "config.json", None),
        ("dataset", "org/data", "data/train.csv", None),
        ("dataset", "org/alpha", "README.md", None),
        ("model", "org/data", "data/train.csv", None),
        ("space", "org/app", "app.py", Some("main")),
        ("space", "org/app", "app.py", Some(c1)),
        ("kernel", "org/kern", "build.toml", None),
        // Upstream refuses these names (ValueError); we return an error.
        ("model", "org/alpha", "../README.md", None),
        ("model", "org/alpha", "sub/../../x", None),
        ("model", "org/alpha", "/etc/passwd", None),
        ("model", "org/alpha", "C:x", None),
        ("model", "org/alpha", "sub/D:x", None),
        ("model", "org/alpha", "a\\..\\b", None),
        ("model", "org/alpha", "\\\\host\\share\\f", None),
        ("model", "org/alpha", "sub/\\x", None),
        ("model", "org/alpha", "1:x", None),
        // Upstream refuses the repo id (HFValidationError); so do we.
        ("model", "bad--id", "README.md", None),
    ]
}

fn queries_json(queries: &[Query]) -> String {
    let list: Vec<serde_json::Value> = queries
        .iter()
        .map(|(t, id, f, rev)| serde_json::json!({"repo_type": t, "repo_id": id, "filename": f, "revision": rev}))
        .collect();
    serde_json::to_string(&list).expect("serializing queries")
}

fn parse_repo(repo_type: &str, id: &str) -> Option<Repo> {
    Some(Repo::new(repo_type.parse().ok()?, RepoId::new(id).ok()?))
}

fn ours_try_to_load(cache: &Cache, (repo_type, id, filename, revision): &Query) -> String {
    let Some(repo) = parse_repo(repo_type, id) else {
        return "error".to_owned();
    };
    match cache.try_to_load_from_cache(&repo, filename, *revision) {
        Ok(CachedFile::Found(path)) => format!("path:{}", path.display()),
        Ok(CachedFile::CachedNoExist) => "no_exist".to_owned(),
        Ok(CachedFile::Unknown) => "none".to_owned(),
        Err(_) => "error".to_owned(),
    }
}

const PY_TRY_TO_LOAD: &str = r#"
import json, sys
from huggingface_hub import try_to_load_from_cache, _CACHED_NO_EXIST
out = []
for q in json.loads(sys.argv[2]):
    try:
        r = try_to_load_from_cache(q["repo_id"], q["filename"], cache_dir=sys.argv[1], revision=q["revision"], repo_type=q["repo_type"])
        out.append("no_exist" if r is _CACHED_NO_EXIST else "none" if r is None else "path:" + r)
    except Exception as e:
        out.append("error")
print(json.dumps(out))
"#;

#[test]
fn try_to_load_from_cache_agrees_with_python() {
    let fixture = fixture();
    let queries = queries();
    assert!(queries.len() >= 30);
    let oracle = Oracle::get(HF_HUB_2X);
    let root = fixture.cache.root().to_str().unwrap();
    let theirs: Vec<String> =
        serde_json::from_str(&oracle.eval(PY_TRY_TO_LOAD, &[root, &queries_json(&queries)]))
            .unwrap();
    let ours: Vec<String> = queries
        .iter()
        .map(|q| ours_try_to_load(&fixture.cache, q))
        .collect();
    let mut kinds = std::collections::BTreeSet::new();
    for ((query, ours), theirs) in queries.iter().zip(&ours).zip(&theirs) {
        assert_eq!(ours, theirs, "query {query:?}");
        kinds.insert(ours.split(':').next().unwrap().to_owned());
    }
    // The fixture exercises every outcome.
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

const PY_OFFLINE: &str = r#"
import json, sys
from huggingface_hub import hf_hub_download, snapshot_download
out = []
for q in json.loads(sys.argv[2]):
    try:
        if q["kind"] == "file":
            r = hf_hub_download(q["repo_id"], q["filename"], cache_dir=sys.argv[1], revision=q["revision"], repo_type=q["repo_type"], local_files_only=True)
        else:
            r = snapshot_download(q["repo_id"], cache_dir=sys.argv[1], revision=q["revision"], repo_type=q["repo_type"], allow_patterns=q["allow"], local_files_only=True)
        out.append("path:" + r)
    except Exception as e:
        out.append("error:" + type(e).__name__ + ":" + str(e).split(" Outgoing traffic")[0].split(" The Hub could")[0])
print(json.dumps(out))
"#;

fn ours_offline(cache: &Cache, query: &serde_json::Value) -> String {
    let s = |k: &str| query[k].as_str();
    let repo = parse_repo(
        s("repo_type").expect("well-formed query"),
        s("repo_id").expect("well-formed query"),
    )
    .expect("well-formed query");
    let result = if s("kind") == Some("file") {
        cache.cached_file(
            &repo,
            s("revision"),
            s("filename").expect("well-formed query"),
        )
    } else {
        let allow: Option<Vec<String>> = query["allow"].as_array().map(|a| {
            a.iter()
                .map(|v| v.as_str().expect("well-formed query").to_owned())
                .collect()
        });
        // Patterns here are plain names or `*.ext`; the real filter lives in hub-sync.
        let wanted = |path: &str| {
            allow.as_ref().is_none_or(|allow| {
                allow.iter().any(|p| match p.strip_prefix('*') {
                    Some(suffix) => path.ends_with(suffix),
                    None => path == p,
                })
            })
        };
        cache
            .cached_snapshot(&repo, s("revision"), wanted)
            .map(|snapshot| snapshot.path)
    };
    match result {
        Ok(path) => format!("path:{}", path.display()),
        Err(OfflineError::IncompleteSnapshot(incomplete)) => {
            // Upstream's message starts with a capital letter and ends with the reason; compare the rest.
            let message = incomplete.to_string();
            format!("error:IncompleteSnapshotError:T{}.", &message[1..])
        }
        Err(e) if e.is_not_cached() => "error:LocalEntryNotFoundError".to_owned(),
        Err(e) => format!("error:ValueError ({e})"),
    }
}

#[test]
fn offline_resolution_agrees_with_python() {
    let fixture = fixture();
    let c1 = commit(1).to_string();
    let c3 = commit(3).to_string();
    let file = |t: &str, id: &str, f: &str, rev: Option<&str>| serde_json::json!({"kind": "file", "repo_type": t, "repo_id": id, "filename": f, "revision": rev, "allow": null});
    let snapshot = |t: &str, id: &str, rev: Option<&str>, allow: Option<Vec<&str>>| serde_json::json!({"kind": "snapshot", "repo_type": t, "repo_id": id, "filename": null, "revision": rev, "allow": allow});
    let queries = vec![
        file("model", "org/alpha", "README.md", None),
        file("model", "org/alpha", "sub/dir/file.txt", Some("main")),
        file("model", "org/alpha", "README.md", Some("v1.0")),
        file("model", "org/alpha", "model.bin", Some("refs/pr/1")),
        file("model", "org/alpha", "model.bin", Some(&c3)),
        file("model", "org/alpha", "README.md", Some("1111111")),
        file("model", "org/alpha", "README.md", Some("newline")),
        file("model", "org/alpha", "missing.txt", None),
        file("model", "org/alpha", "README.md", Some("nope")),
        file("model", "org/missing", "README.md", None),
        file("dataset", "org/data", "data/train.csv", None),
        file("model", "org/alpha", "../x", None),
        snapshot("model", "org/alpha", None, None),
        snapshot("model", "org/alpha", Some(&c1), Some(vec!["*.md"])),
        snapshot("model", "org/alpha", Some("v1.0"), None),
        snapshot(
            "model",
            "org/alpha",
            Some("v1.0"),
            Some(vec!["*.md", "*.json"]),
        ),
        snapshot(
            "model",
            "org/alpha",
            Some("v1.0"),
            Some(vec!["*.safetensors"]),
        ),
        snapshot("model", "org/alpha", Some("refs/pr/1"), None),
        snapshot("model", "org/alpha", Some("nope"), None),
        snapshot("space", "org/app", None, None),
        snapshot("model", "org/missing", None, None),
    ];
    let oracle = Oracle::get(HF_HUB_2X);
    let root = fixture.cache.root().to_str().unwrap();
    let input = serde_json::to_string(&queries).unwrap();
    let theirs: Vec<String> =
        serde_json::from_str(&oracle.eval(PY_OFFLINE, &[root, &input])).unwrap();
    for (query, theirs) in queries.iter().zip(&theirs) {
        let ours = ours_offline(&fixture.cache, query);
        if theirs.starts_with("error:LocalEntryNotFoundError") {
            assert_eq!(
                ours, "error:LocalEntryNotFoundError",
                "{query}: python said {theirs}"
            );
        } else if theirs.starts_with("error:ValueError") {
            assert!(
                ours.starts_with("error:ValueError"),
                "{query}: {ours} vs {theirs}"
            );
        } else {
            assert_eq!(&ours, theirs, "{query}");
        }
    }
    // Paths come from the resolved cache root, as upstream's.
    let resolved = fs::canonicalize(fixture.cache.root()).unwrap();
    assert!(theirs[0].starts_with(&format!("path:{}", resolved.display())));
    assert!(Path::new(&theirs[0][5..]).is_file());
}
