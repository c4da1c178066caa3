//! The write side: what our write API leaves on disk is what huggingface_hub 2.4 writes and reads.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hfhub_tests::tree::pointer_target;
use hub_cache::layout::CACHEDIR_TAG;
use hub_cache::lock::FileLock;
use hub_cache::tree::{self, Entry, Listing};
use hub_cache::write::PointerKind;
use hub_cache::{BlobOrigin, Cache, CommitHash, Repo, RepoWriter, Symlinks, WriteOptions};

use crate::lookup::{commit, etag_of, put_file};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a tracing subscriber on this thread and returns what it logged (`LEVEL message` lines).
pub(crate) fn capture_logs(f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buffer.0.lock().expect("log buffer").clone();
    String::from_utf8(bytes).expect("logs are UTF-8")
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("reading file mode")
        .permissions()
        .mode()
        & 0o7777
}

fn tree_entry(size: u64, lfs: Option<(&str, Option<u64>)>, xet: Option<&str>) -> Entry {
    Entry {
        size,
        blob_id: etag_of(&size.to_le_bytes()),
        lfs_sha256: lfs.map(|(sha, _)| sha.to_owned()),
        lfs_size: lfs.and_then(|(_, size)| size),
        xet_hash: xet.map(str::to_owned),
    }
}

const PY_TREE: &str = r#"
import json, os, sys
from huggingface_hub._tree_cache import TreeCacheEntry, write_tree_cache, read_tree_cache
listing = {path: TreeCacheEntry(**info) for path, info in json.loads(sys.argv[3]).items()}
write_tree_cache(sys.argv[1], sys.argv[4], listing)
read_back = read_tree_cache(sys.argv[2], sys.argv[4])
print(json.dumps(read_back == listing if read_back is not None else None))
"#;

fn listing_json(listing: &Listing) -> String {
    let map: serde_json::Map<String, serde_json::Value> = listing
        .files
        .iter()
        .map(|(path, e)| {
            let info = serde_json::json!({
                "size": e.size, "blob_id": e.blob_id, "lfs_sha256": e.lfs_sha256,
                "lfs_size": e.lfs_size, "xet_hash": e.xet_hash,
            });
            (path.clone(), info)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[test]
fn tree_listing_bytes_equal_pythons() {
    let sha = "ab".repeat(32);
    let xet_upper = "C0".repeat(32);
    let mut listing = Listing::default();
    for (path, entry) in [
        ("config.json", tree_entry(9, None, None)),
        (
            "model.bin",
            tree_entry(300_000, Some((&sha, Some(300_000))), Some(&"0f".repeat(32))),
        ),
        (
            "xet-upper.bin",
            tree_entry(1 << 40, Some((&sha, Some(1 << 40))), Some(&xet_upper)),
        ),
        (
            "lfs-without-size.bin",
            tree_entry(5, Some((&sha, None)), None),
        ),
        ("xet-only.bin", tree_entry(0, None, Some(&"12".repeat(32)))),
        (
            "dossier/\u{e9}t\u{e9} \u{1f600}.txt",
            tree_entry(7, None, None),
        ),
        (
            "odd \"quote\" back\\slash\ttab\u{7f}\u{1}.txt",
            tree_entry(1, None, None),
        ),
        ("Zebra/\u{4e2d}\u{6587}.md", tree_entry(2, None, None)),
        (".gitattributes", tree_entry(3, None, None)),
    ] {
        listing.files.insert(path.to_owned(), entry);
    }
    let oracle = Oracle::get(HF_HUB_2X);
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("full", listing.clone()),
        ("empty", Listing::default()),
        ("invalid", {
            let mut bad = listing.clone();
            bad.files
                .insert("bad.bin".into(), tree_entry(1, None, Some("not-hex")));
            bad
        }),
    ];
    for (name, listing) in cases {
        let ours = tmp.path().join(name).join("ours");
        let theirs = tmp.path().join(name).join("theirs");
        let commit = commit(9).to_string();
        let written = tree::write(&ours, &commit, &listing).unwrap();
        let read_back: serde_json::Value = serde_json::from_str(&oracle.eval(
            PY_TREE,
            &[
                theirs.to_str().unwrap(),
                ours.to_str().unwrap(),
                &listing_json(&listing),
                &commit,
            ],
        ))
        .unwrap();
        let our_file = tree::path(&ours, &commit);
        let their_file = tree::path(&theirs, &commit);
        assert_eq!(written, their_file.exists(), "{name}");
        if !written {
            assert!(!our_file.exists());
            assert_eq!(read_back, serde_json::Value::Null, "{name}");
            continue;
        }
        assert_eq!(
            fs::read_to_string(&our_file).unwrap(),
            fs::read_to_string(&their_file).unwrap(),
            "{name}"
        );
        assert_eq!(mode(&our_file), mode(&their_file), "{name}");
        assert_eq!(mode(&our_file), 0o600);
        assert_eq!(
            read_back,
            serde_json::Value::Bool(true),
            "python reads our {name} listing back"
        );
        assert_eq!(
            tree::read(&theirs, &commit),
            Some(listing.clone()),
            "we read python's {name} listing"
        );
        // Nothing but the listing is left in trees/.
        assert_eq!(fs::read_dir(our_file.parent().unwrap()).unwrap().count(), 1);
    }
}

/// Downloads like the future downloader: lock, unique temporary blob, publish, link.
fn download(
    cache: &Cache,
    writer: &RepoWriter,
    repo: &Repo,
    commit: &CommitHash,
    path: &str,
    content: &[u8],
) {
    let etag = etag_of(content);
    let _guard = FileLock::new(cache.blob_lock_path(repo, &etag))
        .acquire()
        .expect("locking the blob");
    put_file(writer, commit, path, content);
}

const PY_READ_CACHE: &str = r#"
import json, sys
from huggingface_hub import scan_cache_dir, hf_hub_download, try_to_load_from_cache, _CACHED_NO_EXIST
from huggingface_hub._local_folder import CACHEDIR_TAG_CONTENT
cache = sys.argv[1]
info = scan_cache_dir(cache)
repos = []
for repo in sorted(info.repos, key=lambda r: r.repo_id):
    revisions = []
    for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
        files = sorted([str(f.file_path.relative_to(rev.snapshot_path)), f.size_on_disk, f.blob_path.name] for f in rev.files)
        revisions.append({"commit": rev.commit_hash, "refs": sorted(rev.refs), "size": rev.size_on_disk, "files": files})
    repos.append({"id": repo.repo_id, "type": repo.repo_type, "size": repo.size_on_disk, "nb_files": repo.nb_files, "revisions": revisions})
found = []
for repo_id, filename, revision in json.loads(sys.argv[2]):
    found.append(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache, local_files_only=True))
    r = try_to_load_from_cache(repo_id, filename, cache_dir=cache, revision=revision)
    found.append(r if isinstance(r, str) else repr(r))
no_exist = try_to_load_from_cache(json.loads(sys.argv[2])[0][0], "missing.txt", cache_dir=cache) is _CACHED_NO_EXIST
print(json.dumps({"warnings": [str(w) for w in info.warnings], "incomplete": len(info.incomplete_files),
                  "repos": repos, "found": found, "no_exist": no_exist, "tag": CACHEDIR_TAG_CONTENT}))
"#;

#[test]
fn cache_written_by_us_is_read_by_python() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("hub"));
    fs::create_dir_all(cache.root()).unwrap();
    assert!(cache.ensure_cachedir_tag().unwrap());
    assert!(!cache.ensure_cachedir_tag().unwrap());
    assert_eq!(
        fs::read(cache.cachedir_tag_path()).unwrap(),
        CACHEDIR_TAG.as_bytes()
    );

    let repo = Repo::model("org/alpha").unwrap();
    let writer = cache.writer(
        &repo,
        WriteOptions::default().with_symlinks(Symlinks::Probe),
    );
    let (c1, c2) = (commit(1), commit(2));
    let files: Vec<(&CommitHash, &str, &[u8])> = vec![
        (&c1, "README.md", b"# alpha\n"),
        (&c1, "sub/dir/file.txt", b"nested content"),
        (&c1, "dossier/\u{e9}t\u{e9}.txt", b"unicode"),
        (&c2, "README.md", b"# alpha\n"),
        (&c2, "model.bin", &[0u8; 4096]),
    ];
    assert!(writer.write_ref("main", &c1).unwrap());
    assert!(writer.write_ref("v1", &c1).unwrap());
    assert!(writer.write_ref("refs/pr/1", &c2).unwrap());
    for (commit, path, content) in &files {
        download(&cache, &writer, &repo, commit, path, content);
    }
    writer.mark_no_exist(&c1, "missing.txt").unwrap();
    let data = Repo::new(hub_cache::RepoType::Dataset, "org/data".parse().unwrap());
    let data_writer = cache.writer(&data, WriteOptions::default());
    data_writer.write_ref("main", &commit(3)).unwrap();
    download(
        &cache,
        &data_writer,
        &data,
        &commit(3),
        "train.csv",
        b"a,b\n",
    );

    // Byte-level checks: link targets, ref contents, blob modes, nothing transient left.
    for (commit, path, content) in &files {
        let pointer = writer.dir().pointer_path(commit.as_str(), path);
        let target = fs::read_link(&pointer).unwrap();
        assert_eq!(
            target.as_os_str().as_encoded_bytes(),
            pointer_target(path, &etag_of(content)).as_bytes()
        );
        assert_eq!(fs::read(&pointer).unwrap(), *content);
    }
    assert_eq!(
        fs::read(writer.dir().ref_path("refs/pr/1")).unwrap(),
        c2.as_str().as_bytes()
    );
    let probe = writer.dir().blobs_dir().join("probe");
    fs::File::create(&probe).unwrap();
    let new_file_mode = mode(&probe);
    fs::remove_file(&probe).unwrap();
    for entry in fs::read_dir(writer.dir().blobs_dir()).unwrap() {
        let entry = entry.unwrap();
        assert_eq!(mode(&entry.path()), new_file_mode, "{:?}", entry.path());
        assert!(
            !entry.file_name().to_string_lossy().contains('.'),
            "{:?}",
            entry.path()
        );
    }
    let leftovers: Vec<PathBuf> = walk(cache.root())
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".tmp") || name.ends_with(".incomplete") || name.starts_with("tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let lookups = serde_json::json!([
        ["org/alpha", "README.md", "main"],
        ["org/alpha", "sub/dir/file.txt", null],
        ["org/alpha", "dossier/\u{e9}t\u{e9}.txt", "v1"],
        ["org/alpha", "model.bin", "refs/pr/1"],
        ["org/alpha", "README.md", c2.as_str()],
    ]);
    let oracle = Oracle::get(HF_HUB_2X);
    let out: serde_json::Value = serde_json::from_str(&oracle.eval(
        PY_READ_CACHE,
        &[cache.root().to_str().unwrap(), &lookups.to_string()],
    ))
    .unwrap();
    assert_eq!(out["warnings"], serde_json::json!([]), "{out}");
    assert_eq!(out["incomplete"], 0);
    assert_eq!(out["tag"].as_str().unwrap(), CACHEDIR_TAG);
    assert_eq!(out["no_exist"], true);

    let sizes = |list: &[(&CommitHash, &str, &[u8])]| -> serde_json::Value {
        let mut rows: Vec<(String, usize, String)> = list
            .iter()
            .map(|(_, path, content)| ((*path).to_owned(), content.len(), etag_of(content)))
            .collect();
        rows.sort();
        serde_json::json!(rows)
    };
    let c1_files: Vec<_> = files.iter().copied().filter(|f| f.0 == &c1).collect();
    let c2_files: Vec<_> = files.iter().copied().filter(|f| f.0 == &c2).collect();
    let total =
        |list: &[(&CommitHash, &str, &[u8])]| -> usize { list.iter().map(|f| f.2.len()).sum() };
    let expected = serde_json::json!([
        {
            "id": "org/alpha", "type": "model",
            "size": total(&files) - b"# alpha\n".len(), "nb_files": 4,
            "revisions": [
                {"commit": c1.as_str(), "refs": ["main", "v1"], "size": total(&c1_files), "files": sizes(&c1_files)},
                {"commit": c2.as_str(), "refs": ["refs/pr/1"], "size": total(&c2_files), "files": sizes(&c2_files)},
            ],
        },
        {
            "id": "org/data", "type": "dataset", "size": 4, "nb_files": 1,
            "revisions": [{"commit": commit(3).as_str(), "refs": ["main"], "size": 4,
                           "files": [["train.csv", 4, etag_of(b"a,b\n")]]}],
        },
    ]);
    assert_eq!(out["repos"], expected);

    // hf_hub_download(local_files_only=True) and try_to_load_from_cache find our files.
    let resolved = fs::canonicalize(cache.root()).unwrap();
    let found: Vec<&str> = out["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected_paths = [
        (&c1, "README.md"),
        (&c1, "sub/dir/file.txt"),
        (&c1, "dossier/\u{e9}t\u{e9}.txt"),
        (&c2, "model.bin"),
        (&c2, "README.md"),
    ];
    for (i, (commit, path)) in expected_paths.iter().enumerate() {
        let under_resolved = Cache::new(&resolved)
            .repo(&repo)
            .pointer_path(commit.as_str(), path);
        assert_eq!(found[2 * i], under_resolved.to_str().unwrap());
        assert_eq!(
            found[2 * i + 1],
            writer
                .dir()
                .pointer_path(commit.as_str(), path)
                .to_str()
                .unwrap()
        );
    }
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("walking the cache") {
            let path = entry.expect("walking the cache").path();
            if fs::symlink_metadata(&path)
                .expect("walking the cache")
                .is_dir()
            {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out
}

/// The kind of every entry under `snapshots/` and `blobs/`, relative to the repo folder, with contents.
fn describe(repo_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(repo_dir)
        .into_iter()
        .filter_map(|p| {
            let meta = fs::symlink_metadata(&p).expect("describing the repo folder");
            let rel = p
                .strip_prefix(repo_dir)
                .expect("describing the repo folder")
                .to_string_lossy()
                .into_owned();
            if meta.is_symlink() {
                Some(format!(
                    "{rel} -> {}",
                    fs::read_link(&p)
                        .expect("describing the repo folder")
                        .display()
                ))
            } else if meta.is_file() {
                Some(format!(
                    "{rel} = {}",
                    String::from_utf8_lossy(&fs::read(&p).expect("describing the repo folder"))
                ))
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out
}

const PY_FALLBACK: &str = r#"
import sys
from huggingface_hub.file_download import _create_symlink
for blob, pointer, new_blob in zip(sys.argv[1::3], sys.argv[2::3], sys.argv[3::3]):
    _create_symlink(blob, pointer, new_blob=new_blob == "new")
"#;

#[test]
fn without_symlinks_fresh_blobs_move_and_existing_blobs_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repo::model("org/alpha").unwrap();
    let (c1, c2) = (commit(1), commit(2));
    // Same starting point on both sides: blob A just downloaded, blob B already present.
    let setup = |name: &str, options: WriteOptions| {
        let cache = Cache::new(tmp.path().join(name));
        let writer = cache.writer(&repo, options);
        for content in [&b"fresh A"[..], b"existing B"] {
            let mut blob = writer.create_incomplete_blob(&etag_of(content)).unwrap();
            blob.file.write_all(content).unwrap();
            writer.publish_blob(&blob.path, &etag_of(content)).unwrap();
        }
        writer
    };
    let (a, b) = (etag_of(b"fresh A"), etag_of(b"existing B"));
    let steps: [(&CommitHash, &str, &str, BlobOrigin); 3] = [
        (&c1, "a.txt", &a, BlobOrigin::Downloaded),
        (&c1, "sub/b.txt", &b, BlobOrigin::Existing),
        (&c2, "b.txt", &b, BlobOrigin::Existing),
    ];

    // Upstream with HF_HUB_DISABLE_SYMLINKS=1 (no probe, no warning).
    let python = setup("python", WriteOptions::default());
    let mut args = Vec::new();
    for (commit, path, etag, origin) in &steps {
        let pointer = python.dir().pointer_path(commit.as_str(), path);
        fs::create_dir_all(pointer.parent().unwrap()).unwrap();
        args.push(python.dir().blob_path(etag).to_str().unwrap().to_owned());
        args.push(pointer.to_str().unwrap().to_owned());
        args.push(
            if *origin == BlobOrigin::Downloaded {
                "new"
            } else {
                "old"
            }
            .to_owned(),
        );
    }
    let oracle = Oracle::get(HF_HUB_2X);
    let output = oracle
        .command()
        .env("HF_HUB_DISABLE_SYMLINKS", "1")
        .arg("-W")
        .arg("error")
        .arg("-c")
        .arg(PY_FALLBACK)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let env = hub_cache::env::Env::from_pairs([("HF_HUB_DISABLE_SYMLINKS", "1")]);
    let disabled = setup("disabled", WriteOptions::from_env(&env));
    assert_eq!(disabled.options().symlinks, Symlinks::Disabled);
    let unsupported = setup(
        "unsupported",
        WriteOptions::default().with_symlinks(Symlinks::Unsupported),
    );
    let silenced = setup(
        "silenced",
        WriteOptions::from_env(&hub_cache::env::Env::from_pairs([(
            "HF_HUB_DISABLE_SYMLINKS_WARNING",
            "1",
        )]))
        .with_symlinks(Symlinks::Unsupported),
    );
    let probed = setup("probed", WriteOptions::default());

    let mut logs = Vec::new();
    for writer in [&disabled, &unsupported, &silenced, &probed] {
        logs.push(capture_logs(|| {
            for (commit, path, etag, origin) in &steps {
                let pointer = writer.link_pointer(commit, path, etag, *origin).unwrap();
                let expected = match (writer.options().symlinks, origin) {
                    (Symlinks::Probe, _) => PointerKind::Symlink,
                    (_, BlobOrigin::Downloaded) => PointerKind::Moved,
                    (_, BlobOrigin::Existing) => PointerKind::Copied,
                };
                assert_eq!(pointer.kind, expected, "{path}");
            }
        }));
    }
    let expected_tree = describe(python.dir().path());
    assert!(
        expected_tree
            .iter()
            .any(|l| l.starts_with("snapshots/") && l.ends_with("= fresh A"))
    );
    assert!(
        !expected_tree
            .iter()
            .any(|l| l.contains("fresh A") && l.starts_with("blobs/"))
    );
    for writer in [&disabled, &unsupported, &silenced] {
        assert_eq!(describe(writer.dir().path()), expected_tree);
    }
    // The probe found symlinks in the temp dir and left nothing behind.
    assert!(
        describe(probed.dir().path())
            .iter()
            .any(|l| l.contains(" -> ../../blobs/"))
    );
    assert!(
        !walk(probed.dir().path()).iter().any(|p| p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("tmp"))
    );

    assert_eq!(logs[0], "", "HF_HUB_DISABLE_SYMLINKS does not warn");
    let warnings: Vec<&str> = logs[1].lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "one warning per folder: {}", logs[1]);
    let folder = fs::canonicalize(unsupported.dir().path()).unwrap();
    let start = format!(
        "WARN `huggingface_hub` cache-system uses symlinks by default to efficiently store duplicated files but \
         your machine does not support them in {}.",
        folder.display()
    );
    assert!(warnings[0].contains(&start), "{}", warnings[0]);
    assert_eq!(logs[2], "", "HF_HUB_DISABLE_SYMLINKS_WARNING silences it");
    assert_eq!(logs[3], "");
}
