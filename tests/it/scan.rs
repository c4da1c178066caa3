//! `hub_cache::scan` reports what `huggingface_hub.scan_cache_dir` reports, field for field, on caches
//! built here with std::fs (healthy ones and one per corruption case), for 2.x and the 0.2x flavour.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::SystemTime;

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hfhub_tests::tree::Tree;
use hub_cache::format::{Flavour, python_timestamp};
use hub_cache::scan::{Options, Report, scan_with};
use serde_json::{Value, json};

/// A 40-hex name derived from a seed (commit hashes, git blob ids).
pub(crate) fn hex40(seed: u32) -> String {
    format!("{seed:08x}").repeat(5)
}

/// A 64-hex name derived from a seed (LFS sha256 ids).
pub(crate) fn hex64(seed: u32) -> String {
    format!("{seed:08x}").repeat(8)
}

/// The healthy cache every oracle comparison starts from; see the comments for what each part covers.
/// Every file gets its own access and modification times with nanosecond parts (see
/// [`Tree`]), so timestamp mix-ups show.
pub(crate) fn build_healthy(cache: &mut Tree) {
    let (a, b, c) = (hex40(0xa1), hex40(0xb2), hex40(0xc3));
    let (gpt2, data_main, data_other, squad) = (hex40(0xd4), hex40(0xe5), hex40(0xe6), hex40(0xf6));
    let (empty, kernel, detached) = (hex40(0x17), hex40(0x28), hex40(0x39));
    let blob = |seed| hex40(seed);
    let (b1, b2, b3, b4, b5, b6) = (blob(1), blob(2), hex64(3), blob(4), blob(5), hex64(6));
    let (b10, b20, b30, b40, b50) = (blob(10), blob(20), blob(30), blob(40), blob(50));
    cache
        .with("tag", hub_cache::layout::CACHEDIR_TAG.as_bytes())
        .write(&format!(
            r"
            # Blobs shared between revisions, a nested file, a 64-hex etag, an unreferenced blob and an
            # interrupted download (neither counted in the repo size).
            models--org--alpha/blobs/{b1} (665 bytes)
            models--org--alpha/blobs/{b2} (1200 bytes)
            models--org--alpha/blobs/{b3} (4096 bytes)
            models--org--alpha/blobs/{b4} (77 bytes)
            models--org--alpha/blobs/{b5} (999 bytes)
            models--org--alpha/blobs/{b6}.0a1b2c3d.incomplete = part
            models--org--alpha/snapshots/{a}/config.json => {b1}
            models--org--alpha/snapshots/{a}/sub/dir/model.bin => {b3}
            models--org--alpha/snapshots/{b}/config.json => {b1}
            models--org--alpha/snapshots/{b}/README.md => {b2}
            models--org--alpha/snapshots/{c}/README.md => {b2}
            models--org--alpha/snapshots/{c}/extra.txt => {b4}
            models--org--alpha/refs/main = {a}
            models--org--alpha/refs/refs/pr/1 = {b}
            models--org--alpha/refs/v1.0 = {a}

            # No org, a single revision.
            models--gpt2/blobs/{b10} (893800 bytes)
            models--gpt2/snapshots/{gpt2}/model.safetensors => {b10}
            models--gpt2/refs/main = {gpt2}

            # Datasets with and without org; one has a file stored in the snapshot itself (no
            # symlink), a symlink to a directory (skipped) and OS helper files (ignored by 2.x,
            # `.DS_Store` also by 0.2x).
            datasets--org--data/blobs/{b20} (12345 bytes)
            datasets--org--data/snapshots/{data_main}/train/part-0.parquet => {b20}
            datasets--org--data/snapshots/{data_other}/train/part-0.parquet => {b20}
            datasets--org--data/snapshots/{data_main}/copied.bin (3000 bytes)
            datasets--org--data/snapshots/{data_main}/train-alias -> train
            datasets--org--data/snapshots/.DS_Store = mac
            datasets--org--data/refs/main = {data_main}
            datasets--squad/blobs/{b30} (30 bytes)
            datasets--squad/snapshots/{squad}/data.json => {b30}
            datasets--squad/refs/main = {squad}

            # A space whose only revision is an empty snapshot dir (times from the dirs), and a kernel.
            spaces--org--app/snapshots/{empty}/
            touch spaces--org--app/snapshots/{empty}
            spaces--org--app/refs/main = {empty}
            touch spaces--org--app
            kernels--org--kern/blobs/{b40} (40 bytes)
            kernels--org--kern/snapshots/{kernel}/build.py => {b40}
            kernels--org--kern/refs/main = {kernel}

            # Detached only, no refs folder at all.
            models--org--detached/blobs/{b50} (5 bytes)
            models--org--detached/snapshots/{detached}/a.txt => {b50}

            # Top-level entries 2.x skips (0.2x reports all but `.locks` as corrupted repos).
            .locks/models--org--alpha/x.lock (0 bytes)
            CACHEDIR.TAG = $tag
            Thumbs.db = win
            "
        ));
}

/// A marked shared store (2.x): a repo blob links into it, a second payload is referenced by no repo,
/// and a helper file sits in refs (2.x ignores it; 0.2x reads it as a ref to a missing commit).
pub(crate) fn build_shared_store(cache: &mut Tree) {
    let payload = hex64(0xabcd_0001);
    let orphan = hex64(0xabcd_0002);
    let prefix = &payload[..2];
    let etag = hex64(0x77);
    let (first, second, config) = (hex40(0x61), hex40(0x62), hex40(62));
    cache.write(&format!(
        r"
        blobs/.huggingface-shared-blobs = 1\n
        blobs/{prefix}/{payload} (2500 bytes)
        blobs/{prefix}/{payload}.refs = models--org--xet/blobs/{etag}\n
        blobs/{prefix}/{orphan} (700 bytes)
        blobs/{prefix}/{orphan}.refs (0 bytes)
        models--org--xet/blobs/{etag} -> ../../blobs/{prefix}/{payload}
        models--org--xet/snapshots/{first}/weights.bin => {etag}
        models--org--xet/blobs/{config} (62 bytes)
        models--org--xet/snapshots/{first}/config.json => {config}
        models--org--xet/snapshots/{second}/config.json => {config}
        models--org--xet/refs/main = {first}
        models--org--xet/refs/Thumbs.db = helper
        "
    ));
}

/// One cache per corruption case of spec 7.2, each next to a healthy repo.
pub(crate) fn build_corrupt_caches() -> Vec<(&'static str, Tree<'static>)> {
    let healthy = format!(
        "models--ok/blobs/{blob} (10 bytes)\n\
         models--ok/snapshots/{commit}/f => {blob}\n\
         models--ok/refs/main = {commit}",
        blob = hex40(1),
        commit = hex40(2)
    );
    let cases = [
        ("not a directory", "stray-file = x".to_owned()),
        ("no -- in name", "not-a-repo/snapshots/".to_owned()),
        ("unknown type prefix", "foos--bar/snapshots/".to_owned()),
        (
            "no snapshots",
            format!("models--nosnap/refs/main = {}", hex40(3)),
        ),
        (
            "refs is a file",
            "models--refsfile/snapshots/\nmodels--refsfile/refs = x".to_owned(),
        ),
        (
            "file in snapshots",
            "models--snapfile/snapshots/README = x".to_owned(),
        ),
        (
            "broken pointer",
            format!(
                "models--broken/snapshots/{}/gone.bin => {}",
                hex40(4),
                hex40(5)
            ),
        ),
        // A newline the writer should not have added (read through universal newlines), a quote
        // (repr switches to double quotes), a nested ref; one name per hash keeps the set repr
        // deterministic.
        (
            "refs to missing commits",
            format!(
                "models--missing/blobs/{blob} (6 bytes)\n\
                 models--missing/snapshots/{commit}/a => {blob}\n\
                 models--missing/refs/main = {commit}\\r\\n\n\
                 models--missing/refs/refs/pr/1 = it's gone",
                blob = hex40(6),
                commit = hex40(7)
            ),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, case)| {
            let mut cache = Tree::temp();
            cache.write(&healthy).write(&case);
            (name, cache)
        })
        .collect()
}

/// The JSON shape both sides render: sorted repos/revisions/files, timestamps as the bits of
/// Python's float, warnings as strings in scan order.
const RENDER_PY: &str = r#"
import json, struct, sys
from huggingface_hub import scan_cache_dir

def bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]

def render(info):
    repos = []
    for repo in sorted(info.repos, key=lambda r: str(r.repo_path)):
        revisions = []
        for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
            files = [dict(file_name=f.file_name, file_path=str(f.file_path), blob_path=str(f.blob_path),
                          size_on_disk=f.size_on_disk, blob_last_accessed=bits(f.blob_last_accessed),
                          blob_last_modified=bits(f.blob_last_modified))
                     for f in sorted(rev.files, key=lambda f: str(f.file_path))]
            revisions.append(dict(commit_hash=rev.commit_hash, snapshot_path=str(rev.snapshot_path),
                                  size_on_disk=rev.size_on_disk, nb_files=rev.nb_files,
                                  last_modified=bits(rev.last_modified), refs=sorted(rev.refs), files=files))
        repos.append(dict(repo_id=repo.repo_id, repo_type=repo.repo_type, repo_path=str(repo.repo_path),
                          size_on_disk=repo.size_on_disk, nb_files=repo.nb_files,
                          last_accessed=bits(repo.last_accessed), last_modified=bits(repo.last_modified),
                          refs={k: v.commit_hash for k, v in sorted(repo.refs.items())}, revisions=revisions))
    cache_dir = getattr(info, "cache_dir", None)
    return dict(cache_dir=None if cache_dir is None else str(cache_dir), size_on_disk=info.size_on_disk,
                repos=repos,
                incomplete_files=sorted([str(f.file_path), f.size_on_disk] for f in getattr(info, "incomplete_files", ())),
                warnings=[str(w) for w in info.warnings])

print(json.dumps([render(scan_cache_dir(d)) for d in sys.argv[1:]]))
"#;

fn bits(time: SystemTime) -> Value {
    json!(python_timestamp(time).to_bits())
}

fn path(p: &Path) -> Value {
    json!(p.to_str().expect("test paths are UTF-8"))
}

/// Our report in the shape of [`RENDER_PY`].
pub(crate) fn render(report: &Report) -> Value {
    let mut repos: Vec<_> = report.repos.iter().collect();
    repos.sort_by_key(|repo| repo.repo_path.to_string_lossy().into_owned());
    let repos: Vec<Value> = repos
        .iter()
        .map(|repo| {
            let revisions: Vec<Value> = repo
                .revisions
                .iter()
                .map(|rev| {
                    let mut files: Vec<_> = rev.files.iter().collect();
                    files.sort_by_key(|f| f.file_path.to_string_lossy().into_owned());
                    let files: Vec<Value> = files
                        .iter()
                        .map(|f| {
                            json!({
                                "file_name": f.file_name, "file_path": path(&f.file_path),
                                "blob_path": path(&f.blob_path), "size_on_disk": f.size_on_disk,
                                "blob_last_accessed": bits(f.blob_last_accessed),
                                "blob_last_modified": bits(f.blob_last_modified),
                            })
                        })
                        .collect();
                    json!({
                        "commit_hash": rev.commit_hash, "snapshot_path": path(&rev.snapshot_path),
                        "size_on_disk": rev.size_on_disk, "nb_files": rev.nb_files(),
                        "last_modified": bits(rev.last_modified), "refs": rev.refs, "files": files,
                    })
                })
                .collect();
            json!({
                "repo_id": repo.repo.id.as_str(), "repo_type": repo.repo.repo_type.as_str(),
                "repo_path": path(&repo.repo_path), "size_on_disk": repo.size_on_disk,
                "nb_files": repo.nb_files, "last_accessed": bits(repo.last_accessed),
                "last_modified": bits(repo.last_modified), "refs": repo.refs, "revisions": revisions,
            })
        })
        .collect();
    let incomplete: Vec<Value> = report
        .incomplete_files
        .iter()
        .map(|f| json!([path(&f.file_path), f.size_on_disk]))
        .collect();
    let cache_dir = match report.flavour {
        Flavour::V2x => path(&report.cache_dir),
        Flavour::V0x => Value::Null,
    };
    json!({
        "cache_dir": cache_dir, "size_on_disk": report.size_on_disk, "repos": repos,
        "incomplete_files": incomplete,
        "warnings": report.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Python's rendering of `scan_cache_dir(d)` for each directory, in one interpreter run.
pub(crate) fn python_scans(version: &str, dirs: &[&Path]) -> Vec<Value> {
    let args: Vec<&str> = dirs
        .iter()
        .map(|d| d.to_str().expect("test paths are UTF-8"))
        .collect();
    let output = Oracle::get(version).eval(RENDER_PY, &args);
    serde_json::from_str(&output).expect("oracle prints JSON")
}

pub(crate) fn our_scan(dir: &Path, flavour: Flavour) -> Value {
    render(&scan_with(dir, &Options::new().with_flavour(flavour)).expect("scan succeeds"))
}

fn compare_all(version: &str, flavour: Flavour, dirs: &[(&str, &Path)]) {
    let paths: Vec<&Path> = dirs.iter().map(|(_, p)| *p).collect();
    let expected = python_scans(version, &paths);
    for ((name, dir), expected) in dirs.iter().zip(expected) {
        let ours = our_scan(dir, flavour);
        assert_eq!(
            ours,
            expected,
            "scan of cache {name:?} differs from huggingface_hub {version}\nours:   {}\npython: {}",
            serde_json::to_string_pretty(&ours).expect("json"),
            serde_json::to_string_pretty(&expected).expect("json"),
        );
    }
}

fn all_caches() -> Vec<(&'static str, Tree<'static>)> {
    let mut healthy = Tree::temp();
    build_healthy(&mut healthy);
    let mut shared = Tree::temp();
    build_healthy(&mut shared);
    build_shared_store(&mut shared);
    let mut caches = vec![("healthy", healthy), ("shared store", shared)];
    caches.extend(build_corrupt_caches());
    caches
}

#[test]
fn scan_matches_python_2x() {
    let caches = all_caches();
    let dirs: Vec<(&str, &Path)> = caches.iter().map(|(n, c)| (*n, c.root())).collect();
    compare_all(HF_HUB_2X, Flavour::V2x, &dirs);
}

#[test]
fn scan_matches_python_0x() {
    let caches = all_caches();
    let dirs: Vec<(&str, &Path)> = caches.iter().map(|(n, c)| (*n, c.root())).collect();
    compare_all(HF_HUB_0X, Flavour::V0x, &dirs);
}

#[test]
fn every_corruption_case_is_one_warning() {
    for (name, cache) in build_corrupt_caches() {
        let report = hub_cache::scan(cache.root()).expect("scan succeeds");
        assert_eq!(report.warnings.len(), 1, "{name}: {:?}", report.warnings);
        assert_eq!(
            report.repos.len(),
            1,
            "{name}: the healthy repo is still reported"
        );
    }
}

#[test]
fn cache_dir_is_resolved_and_missing_dir_is_an_error() {
    let mut cache = Tree::temp();
    build_healthy(&mut cache);
    let alias = cache.root().with_file_name("alias");
    symlink(cache.root(), &alias).expect("symlink");
    let report = hub_cache::scan(alias.join("..").join("alias")).expect("scan succeeds");
    assert_eq!(
        report.cache_dir,
        cache.root().canonicalize().expect("canonical")
    );
    assert!(
        report
            .repos
            .iter()
            .all(|r| r.repo_path.starts_with(&report.cache_dir))
    );

    // Through the symlinked alias, so the reported path must be the resolved one.
    let missing = alias.join("missing");
    let file = alias.join("CACHEDIR.TAG");
    let script = "import sys\nfrom huggingface_hub import scan_cache_dir\nfor d in sys.argv[1:]:\n    \
                  try:\n        scan_cache_dir(d)\n    except Exception as e:\n        print(str(e))";
    let args = [
        missing.to_str().expect("UTF-8"),
        file.to_str().expect("UTF-8"),
    ];
    let python = Oracle::get(HF_HUB_2X).eval(script, &args);
    let expected: Vec<&str> = python.lines().collect();
    let error = hub_cache::scan(&missing).expect_err("missing dir");
    assert!(
        matches!(error, hub_cache::scan::ScanError::NotFound { .. }),
        "{error}"
    );
    assert_eq!(error.upstream_message().as_deref(), Some(expected[0]));
    let error = hub_cache::scan(&file).expect_err("a file");
    assert!(
        matches!(error, hub_cache::scan::ScanError::NotADirectory { .. }),
        "{error}"
    );
    assert_eq!(error.upstream_message().as_deref(), Some(expected[1]));
}

/// Every generated fixture (`hfhub_tests::fixtures`) scans as upstream scans it, in both flavours;
/// healthy ones without a warning, corrupt ones with exactly one.
#[test]
fn scan_matches_python_on_every_fixture() {
    let root = tempfile::tempdir().expect("temp dir");
    let fixtures = hfhub_tests::fixtures::generate_all(root.path()).expect("fixtures");
    assert!(!fixtures.is_empty());
    let dirs: Vec<(&str, &Path)> = fixtures
        .iter()
        .map(|f| (f.name.as_str(), f.cache_dir.as_path()))
        .collect();
    compare_all(HF_HUB_2X, Flavour::V2x, &dirs);
    compare_all(HF_HUB_0X, Flavour::V0x, &dirs);
    for fixture in &fixtures {
        let report = hub_cache::scan(&fixture.cache_dir).expect("scan succeeds");
        let expected_warnings = usize::from(fixture.corrupt);
        assert_eq!(report.warnings.len(), expected_warnings, "{}", fixture.name);
        assert_eq!(report.repos.len(), fixture.repos.len(), "{}", fixture.name);
    }
}

/// Symlink oddities: an absolute pointer to a file outside the cache, a blob that is itself a link to
/// another blob (2.x stops after one hop, 0.2x resolves fully), a repo folder that is a symlink to a
/// folder elsewhere, and (2.x only: 0.2x's `resolve()` raises on it) a pointer that links to itself.
#[test]
fn symlink_oddities_scan_as_upstream() {
    let build = |with_loop: bool| {
        let mut cache = Tree::temp();
        let outside = cache.root().with_file_name("outside");
        fs::create_dir_all(outside.join("models--org--moved/snapshots")).expect("mkdir");
        fs::write(outside.join("payload.bin"), [9; 321]).expect("write");
        let outside = outside.to_str().expect("UTF-8");
        let (blob, chained, commit) = (hex40(1), hex40(2), hex40(3));
        cache.write(&format!(
            "models--org--odd/blobs/{blob} (11 bytes)
             models--org--odd/blobs/{chained} -> {blob}
             models--org--odd/snapshots/{commit}/chained.txt => {chained}
             models--org--odd/snapshots/{commit}/outside.bin -> {outside}/payload.bin
             models--org--odd/refs/main = {commit}
             models--org--moved -> {outside}/models--org--moved"
        ));
        if with_loop {
            cache.write(&format!(
                "models--org--loop/snapshots/{}/self -> self",
                hex40(4)
            ));
        }
        cache
    };
    let with_loop = build(true);
    compare_all(HF_HUB_2X, Flavour::V2x, &[("oddities", with_loop.root())]);
    let report = hub_cache::scan(with_loop.root()).expect("scan");
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let without_loop = build(false);
    compare_all(
        HF_HUB_0X,
        Flavour::V0x,
        &[("oddities", without_loop.root())],
    );
}

/// The scan's fast path (entry types from directory listings, links read relative to their folder,
/// blobs stat'ed relative to theirs, folders below a real snapshot folder taken as real) holds only
/// where lexical resolution is exact. Each case here must fall back to the long way and still scan
/// as upstream does, in both flavours: a snapshot folder that is itself a link, a `snapshots` folder
/// that is a link to a folder at another depth (a pointer's `..` then goes up from the real folder,
/// where a blob of another size waits), a `blobs` folder that is a link (0.2x reports the resolved
/// path), a target with `..` after a name, an absolute target, a pointer to a folder, and more blob
/// folders than the scan keeps handles open on.
#[test]
fn fast_path_fallbacks_scan_as_upstream() {
    let mut cache = Tree::temp();
    let root = cache.root().to_str().expect("UTF-8").to_owned();
    let (b1, b2, b3, b4) = (hex40(1), hex40(2), hex40(3), hex40(4));
    let (c1, c2, c3, c4) = (hex40(11), hex40(12), hex40(13), hex40(14));
    cache.write(&format!(
        "
        # A snapshot folder that is a link to a sibling.
        models--org--linked-rev/blobs/{b1} (11 bytes)
        models--org--linked-rev/blobs/{b2} (22 bytes)
        models--org--linked-rev/snapshots/{c1}/a.txt => {b1}
        models--org--linked-rev/snapshots/{c1}/sub/b.txt => {b2}
        models--org--linked-rev/snapshots/{c2} -> {c1}
        models--org--linked-rev/refs/main = {c2}

        # `snapshots` is a link two levels down: `../../blobs` means another folder physically.
        models--org--linked-snaps/blobs/{b1} (13 bytes)
        models--org--linked-snaps/store/deeper/blobs/{b1} (17 bytes)
        models--org--linked-snaps/store/deeper/snaps/{c3}/x.bin -> ../../blobs/{b1}
        models--org--linked-snaps/snapshots -> store/deeper/snaps
        models--org--linked-snaps/refs/main = {c3}

        # `blobs` is a link; odd targets beside plain ones.
        models--org--linked-blobs/real-blobs/{b1} (31 bytes)
        models--org--linked-blobs/real-blobs/{b2} (32 bytes)
        models--org--linked-blobs/real-blobs/{b3} (33 bytes)
        models--org--linked-blobs/real-blobs/{b4}/
        models--org--linked-blobs/blobs -> real-blobs
        models--org--linked-blobs/snapshots/{c4}/plain.bin => {b1}
        models--org--linked-blobs/snapshots/{c4}/dir/dotdot.bin -> ../../../blobs/../blobs/{b2}
        models--org--linked-blobs/snapshots/{c4}/absolute.bin -> {root}/models--org--linked-blobs/blobs/{b3}
        models--org--linked-blobs/snapshots/{c4}/folder -> ../../blobs/{b4}
        models--org--linked-blobs/refs/main = {c4}
        "
    ));
    let many = hex40(15);
    for folder in 0..40 {
        cache.write(&format!(
            "models--org--many-folders/blobs/d{folder}/{b1} ({size} bytes)
             models--org--many-folders/snapshots/{many}/f{folder} -> ../../blobs/d{folder}/{b1}",
            size = folder + 1
        ));
    }
    compare_all(HF_HUB_2X, Flavour::V2x, &[("fallbacks", cache.root())]);
    compare_all(HF_HUB_0X, Flavour::V0x, &[("fallbacks", cache.root())]);
    let report = hub_cache::scan(cache.root()).expect("scan");
    assert_eq!(report.repos.len(), 4, "{:?}", report.warnings);
    let many = report
        .repos
        .iter()
        .find(|repo| repo.repo.id.as_str() == "org/many-folders")
        .expect("the repo");
    assert_eq!((many.nb_files, many.size_on_disk), (40, 820));
}

/// The missing-commit warning quotes ref contents with Python's `repr()`: checked on every code point
/// below U+3000 and a sample above, alone and mixed with both quote characters.
#[test]
fn str_repr_matches_python() {
    let mut samples: Vec<String> = (0_u32..0x3000)
        .chain((0x3000..0x11_0000).step_by(97))
        .filter_map(char::from_u32)
        .map(String::from)
        .collect();
    samples.extend(
        [
            "it's",
            "say \"hi\"",
            "both ' and \"",
            "",
            "tab\there",
            "back\\slash",
        ]
        .map(String::from),
    );
    // Arguments cannot hold NUL; pass code points as numbers instead.
    let encoded: Vec<String> = samples
        .iter()
        .map(|s| {
            s.chars()
                .map(|c| u32::from(c).to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    // Unassigned code points (category Cn, which depends on Python's Unicode version) are left out.
    let script = "import sys, json, unicodedata\nout = []\nfor a in sys.argv[1:]:\n    \
                  s = ''.join(chr(int(c)) for c in a.split(',') if c)\n    \
                  cn = any(unicodedata.category(c) == 'Cn' for c in s)\n    \
                  out.append(None if cn else repr(s))\nprint(json.dumps(out))";
    let args: Vec<&str> = encoded.iter().map(String::as_str).collect();
    let python = Oracle::get(HF_HUB_2X).eval(script, &args);
    let expected: Vec<Option<String>> = serde_json::from_str(&python).expect("json");
    assert!(expected.iter().flatten().count() > 10_000);
    let mismatches: Vec<String> = samples
        .iter()
        .zip(&expected)
        .filter_map(|(s, e)| Some((s, e.as_ref()?)))
        .filter(|(s, e)| hub_cache::scan::python_str_repr(s) != **e)
        .map(|(s, e)| {
            format!(
                "{s:?}: ours {} python {e}",
                hub_cache::scan::python_str_repr(s)
            )
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} mismatches: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(20)]
    );
}
