//! `hub_cache::scan` reports what `huggingface_hub.scan_cache_dir` reports, field for field, on caches
//! built here with std::fs (healthy ones and one per corruption case), for 2.x and the 0.2x flavour.

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_cache::format::{Flavour, python_timestamp};
use hub_cache::layout::pointer_target;
use hub_cache::scan::{Options, Report, scan_with};
use serde_json::{Value, json};

/// A cache under construction in a temporary directory. Every blob gets its own access and
/// modification times with nanosecond parts, so timestamp mix-ups show.
pub(crate) struct CacheBuilder {
    _temp: tempfile::TempDir,
    root: PathBuf,
    clock: u64,
}

/// A 40-hex name derived from a seed (commit hashes, git blob ids).
pub(crate) fn hex40(seed: u32) -> String {
    format!("{seed:08x}").repeat(5)
}

/// A 64-hex name derived from a seed (LFS sha256 ids).
pub(crate) fn hex64(seed: u32) -> String {
    format!("{seed:08x}").repeat(8)
}

impl CacheBuilder {
    pub(crate) fn new() -> CacheBuilder {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path().join("hub");
        fs::create_dir(&root).expect("create cache root");
        CacheBuilder {
            _temp: temp,
            root,
            clock: 0,
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn next_times(&mut self) -> FileTimes {
        self.clock += 1;
        let base = 1_600_000_000 + self.clock * 86_413;
        let modified =
            UNIX_EPOCH + Duration::new(base, (self.clock as u32 * 7_919_113) % 1_000_000_000);
        let accessed = modified + Duration::new(3_600 * self.clock, 123_456_789);
        FileTimes::new()
            .set_modified(modified)
            .set_accessed(accessed)
    }

    /// Gives a file or directory (followed if a symlink) fresh distinct times.
    pub(crate) fn touch(&mut self, relative: &str) -> &mut Self {
        let times = self.next_times();
        File::open(self.path(relative))
            .and_then(|file| file.set_times(times))
            .expect("set times");
        self
    }

    /// Writes a file (parents created) with fresh times.
    pub(crate) fn file(&mut self, relative: &str, content: &[u8]) -> &mut Self {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("create parents");
        fs::write(&path, content).expect("write file");
        self.touch(relative)
    }

    pub(crate) fn dir(&mut self, relative: &str) -> &mut Self {
        fs::create_dir_all(self.path(relative)).expect("create dir");
        self
    }

    /// A symlink at `relative` with the given target, verbatim.
    pub(crate) fn link(&mut self, relative: &str, target: &str) -> &mut Self {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("create parents");
        symlink(target, path).expect("symlink");
        self
    }

    /// `<folder>/blobs/<etag>` with `size` bytes.
    pub(crate) fn blob(&mut self, folder: &str, etag: &str, size: usize) -> &mut Self {
        let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        self.file(&format!("{folder}/blobs/{etag}"), &content)
    }

    /// `<folder>/snapshots/<commit>/<file>` pointing to `../../blobs/<etag>` (one `../` per folder).
    pub(crate) fn pointer(
        &mut self,
        folder: &str,
        commit: &str,
        file: &str,
        etag: &str,
    ) -> &mut Self {
        self.link(
            &format!("{folder}/snapshots/{commit}/{file}"),
            &pointer_target(file, etag),
        )
    }

    /// `<folder>/refs/<name>` holding `content` (no trailing newline, as upstream writes it).
    pub(crate) fn reference(&mut self, folder: &str, name: &str, content: &str) -> &mut Self {
        self.file(&format!("{folder}/refs/{name}"), content.as_bytes())
    }
}

/// The healthy cache every oracle comparison starts from; see the comments for what each part covers.
pub(crate) fn build_healthy(cache: &mut CacheBuilder) {
    let (a, b, c) = (hex40(0xa1), hex40(0xb2), hex40(0xc3));
    let alpha = "models--org--alpha";
    // Blobs shared between revisions, a nested file, a 64-hex etag, an unreferenced blob and an
    // interrupted download (neither counted in the repo size).
    cache
        .blob(alpha, &hex40(1), 665)
        .blob(alpha, &hex40(2), 1200)
        .blob(alpha, &hex64(3), 4096)
        .blob(alpha, &hex40(4), 77)
        .blob(alpha, &hex40(5), 999)
        .file(
            &format!("{alpha}/blobs/{}.0a1b2c3d.incomplete", hex64(6)),
            b"part",
        )
        .pointer(alpha, &a, "config.json", &hex40(1))
        .pointer(alpha, &a, "sub/dir/model.bin", &hex64(3))
        .pointer(alpha, &b, "config.json", &hex40(1))
        .pointer(alpha, &b, "README.md", &hex40(2))
        .pointer(alpha, &c, "README.md", &hex40(2))
        .pointer(alpha, &c, "extra.txt", &hex40(4))
        .reference(alpha, "main", &a)
        .reference(alpha, "refs/pr/1", &b)
        .reference(alpha, "v1.0", &a);
    // No org, a single revision.
    let gpt2 = "models--gpt2";
    cache
        .blob(gpt2, &hex40(10), 893_800)
        .pointer(gpt2, &hex40(0xd4), "model.safetensors", &hex40(10))
        .reference(gpt2, "main", &hex40(0xd4));
    // Datasets with and without org; one has a file stored in the snapshot itself (no symlink), a
    // symlink to a directory (skipped) and OS helper files (ignored by 2.x, `.DS_Store` also by 0.2x).
    let data = "datasets--org--data";
    let e = hex40(0xe5);
    cache
        .blob(data, &hex40(20), 12_345)
        .pointer(data, &e, "train/part-0.parquet", &hex40(20))
        .pointer(data, &hex40(0xe6), "train/part-0.parquet", &hex40(20))
        .file(&format!("{data}/snapshots/{e}/copied.bin"), &[7; 3_000])
        .link(&format!("{data}/snapshots/{e}/train-alias"), "train")
        .file(&format!("{data}/snapshots/.DS_Store"), b"mac")
        .reference(data, "main", &e);
    let squad = "datasets--squad";
    cache
        .blob(squad, &hex40(30), 30)
        .pointer(squad, &hex40(0xf6), "data.json", &hex40(30))
        .reference(squad, "main", &hex40(0xf6));
    // A space whose only revision is an empty snapshot dir (times from the dirs), and a kernel.
    let space = "spaces--org--app";
    let empty = hex40(0x17);
    cache
        .dir(&format!("{space}/snapshots/{empty}"))
        .touch(&format!("{space}/snapshots/{empty}"))
        .reference(space, "main", &empty)
        .touch(space);
    let kernel = "kernels--org--kern";
    cache
        .blob(kernel, &hex40(40), 40)
        .pointer(kernel, &hex40(0x28), "build.py", &hex40(40))
        .reference(kernel, "main", &hex40(0x28));
    // Detached only, no refs folder at all.
    let detached = "models--org--detached";
    cache
        .blob(detached, &hex40(50), 5)
        .pointer(detached, &hex40(0x39), "a.txt", &hex40(50));
    // Top-level entries 2.x skips (0.2x reports all but `.locks` as corrupted repos).
    cache
        .file(".locks/models--org--alpha/x.lock", b"")
        .file("CACHEDIR.TAG", hub_cache::layout::CACHEDIR_TAG.as_bytes())
        .file("Thumbs.db", b"win");
}

/// A marked shared store (2.x): a repo blob links into it, a second payload is referenced by no repo,
/// and a helper file sits in refs (2.x ignores it; 0.2x reads it as a ref to a missing commit).
pub(crate) fn build_shared_store(cache: &mut CacheBuilder) {
    let payload = hex64(0xabcd_0001);
    let orphan = hex64(0xabcd_0002);
    let prefix = &payload[..2];
    let xet = "models--org--xet";
    let etag = hex64(0x77);
    cache
        .file("blobs/.huggingface-shared-blobs", b"1\n")
        .file(&format!("blobs/{prefix}/{payload}"), &[1; 2_500])
        .file(
            &format!("blobs/{prefix}/{payload}.refs"),
            format!("{xet}/blobs/{etag}\n").as_bytes(),
        )
        .file(&format!("blobs/{prefix}/{orphan}"), &[2; 700])
        .file(&format!("blobs/{prefix}/{orphan}.refs"), b"")
        .link(
            &format!("{xet}/blobs/{etag}"),
            &format!("../../blobs/{prefix}/{payload}"),
        )
        .pointer(xet, &hex40(0x61), "weights.bin", &etag)
        .blob(xet, &hex40(62), 62)
        .pointer(xet, &hex40(0x61), "config.json", &hex40(62))
        .pointer(xet, &hex40(0x62), "config.json", &hex40(62))
        .reference(xet, "main", &hex40(0x61))
        .file(&format!("{xet}/refs/Thumbs.db"), b"helper");
}

/// One cache per corruption case of spec 7.2, each next to a healthy repo.
pub(crate) fn build_corrupt_caches() -> Vec<(&'static str, CacheBuilder)> {
    let mut caches = Vec::new();
    let mut case = |name: &'static str, build: &dyn Fn(&mut CacheBuilder)| {
        let mut cache = CacheBuilder::new();
        cache
            .blob("models--ok", &hex40(1), 10)
            .pointer("models--ok", &hex40(2), "f", &hex40(1))
            .reference("models--ok", "main", &hex40(2));
        build(&mut cache);
        caches.push((name, cache));
    };
    case("not a directory", &|c| {
        c.file("stray-file", b"x");
    });
    case("no -- in name", &|c| {
        c.dir("not-a-repo/snapshots");
    });
    case("unknown type prefix", &|c| {
        c.dir("foos--bar/snapshots");
    });
    case("no snapshots", &|c| {
        c.reference("models--nosnap", "main", &hex40(3));
    });
    case("refs is a file", &|c| {
        c.dir("models--refsfile/snapshots")
            .file("models--refsfile/refs", b"x");
    });
    case("file in snapshots", &|c| {
        c.file("models--snapfile/snapshots/README", b"x");
    });
    case("broken pointer", &|c| {
        c.pointer("models--broken", &hex40(4), "gone.bin", &hex40(5));
    });
    case("refs to missing commits", &|c| {
        // A newline the writer should not have added (read through universal newlines), a quote
        // (repr switches to double quotes), a nested ref; one name per hash keeps the set repr
        // deterministic.
        c.blob("models--missing", &hex40(6), 6)
            .pointer("models--missing", &hex40(7), "a", &hex40(6))
            .reference("models--missing", "main", &format!("{}\r\n", hex40(7)))
            .reference("models--missing", "refs/pr/1", "it's gone");
    });
    caches
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

fn all_caches() -> Vec<(&'static str, CacheBuilder)> {
    let mut healthy = CacheBuilder::new();
    build_healthy(&mut healthy);
    let mut shared = CacheBuilder::new();
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
    let mut cache = CacheBuilder::new();
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
        let mut cache = CacheBuilder::new();
        let outside = cache.root().with_file_name("outside");
        fs::create_dir_all(outside.join("models--org--moved/snapshots")).expect("mkdir");
        fs::write(outside.join("payload.bin"), [9; 321]).expect("write");
        let odd = "models--org--odd";
        cache
            .blob(odd, &hex40(1), 11)
            .link(&format!("{odd}/blobs/{}", hex40(2)), &hex40(1))
            .pointer(odd, &hex40(3), "chained.txt", &hex40(2))
            .link(
                &format!("{odd}/snapshots/{}/outside.bin", hex40(3)),
                outside.join("payload.bin").to_str().expect("UTF-8"),
            )
            .reference(odd, "main", &hex40(3));
        cache.link(
            "models--org--moved",
            outside.join("models--org--moved").to_str().expect("UTF-8"),
        );
        if with_loop {
            let looped = format!("models--org--loop/snapshots/{}/self", hex40(4));
            cache.link(&looped, "self");
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
