//! Fuzz harnesses: each takes arbitrary bytes and drives one parser of hfhub; a panic (or a broken
//! invariant, asserted here) is a finding. Used by the cargo-fuzz targets in `fuzz_targets/` and, for
//! a short bounded run in CI, by `tests/it/reliability/fuzz.rs` (which includes this file).

use std::fs;
use std::path::Path;

/// Splits `data` at 0xFF bytes into at most `n` lossy UTF-8 fields.
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == 0xFF)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// Metadata headers (`X-Repo-Commit`, `X-Linked-Etag`, `ETag`, `X-Linked-Size`, `Content-Length`,
/// `Location`) of a resolve answer.
pub fn headers(data: &[u8]) {
    let f = fields(data, 7);
    let present = |i: usize| (!f[i].is_empty()).then_some(f[i].as_str());
    let metadata = hub_http::metadata::MetadataHeaders {
        repo_commit: present(0),
        linked_etag: present(1),
        etag: present(2),
        linked_size: present(3),
        content_length: present(4),
        location: present(5),
    };
    let redirect = f[6].len() % 2 == 1;
    if let Ok(resolved) = metadata.resolve("http://127.0.0.1/x", redirect) {
        let source = metadata.linked_etag.or(metadata.etag).unwrap_or_default();
        assert!(source.contains(resolved.etag.as_str()));
        if redirect && metadata.linked_size.is_none() {
            assert_eq!(resolved.size, None);
        }
    }
}

/// ETag parsing (the workspace's one rule): the result is a part of the input, without
/// surrounding quotes.
pub fn etag(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(etag) = hub_cache::Etag::from_header(&text) {
        let normalised = etag.as_str();
        assert!(text.contains(normalised));
        assert!(!normalised.starts_with('"') && !normalised.ends_with('"'));
    }
}

/// A ref file, a local_dir `.metadata` file and a `trees/<commit>.json` listing with arbitrary content.
pub fn ref_and_metadata_files(data: &[u8]) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = hub_cache::Cache::new(tmp.path());
    let repo = hub_cache::Repo::model("org/name").expect("a valid repo id");
    let dir = cache.repo(&repo);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let _ = fs::create_dir_all(dir.refs_dir());
    let _ = fs::create_dir_all(dir.snapshot_dir(commit));
    let _ = fs::write(dir.ref_path("main"), data);
    let _ = cache.commit_for_revision(&repo, "main");
    let _ = cache.try_to_load_from_cache(&repo, "config.json", Some("main"));
    let _ = cache.cached_file(&repo, Some("main"), "config.json");
    let _ = fs::create_dir_all(dir.trees_dir());
    let _ = fs::write(hub_cache::tree::path(dir.path(), commit), data);
    let _ = hub_cache::tree::read(dir.path(), commit);
    let local = tmp.path().join("local");
    let paths = hub_sync::local_dir::LocalPaths::new(&local, "file.txt");
    if let Some(parent) = paths.metadata.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let _ = fs::write(local.join("file.txt"), b"x");
    let _ = fs::write(&paths.metadata, data);
    let _ = hub_cache::local_dir::Metadata::parse(&String::from_utf8_lossy(data));
    if let (Ok(local), Ok(file)) = (
        hub_cache::local_dir::LocalDir::open(&local),
        hub_cache::RepoPath::parse("file.txt"),
    ) {
        let _ = local.read_metadata(&file);
    }
}

/// A file path from a listing or a command line through the one path rule: an accepted path is
/// kept as given, stays inside its folder, and names no `.git` folder and no hfhub bookkeeping.
pub fn repo_path(data: &[u8]) {
    repo_path_rule(&String::from_utf8_lossy(data));
}

/// A listing page as a hostile server may send it, through the edge every listed entry crosses: the
/// JSON into `TreeEntry`, then the path rule and the ETag rule.
pub fn listing_page(data: &[u8]) {
    let Ok(entries) = serde_json::from_slice::<Vec<hub_http::TreeEntry>>(data) else {
        return;
    };
    for entry in entries {
        repo_path_rule(&entry.path);
        if let Ok(etag) = hub_cache::Etag::parse(entry.etag()) {
            let name = etag.as_str();
            assert!(!name.is_empty() && name != "." && name != "..");
            assert!(!name.contains(['/', '\\']) && !name.chars().any(char::is_control));
        }
    }
}

fn repo_path_rule(path: &str) {
    let Ok(parsed) = hub_cache::RepoPath::parse(path) else {
        return;
    };
    assert_eq!(parsed.as_str(), path);
    assert!(!path.starts_with('/') && !path.contains('\0'));
    // `..` is refused between `/` and `\` alike (upstream's rule); on Unix only `/` separates
    // folders, so `.git` is checked per `/` component (`a\.git` is one file name there).
    assert!(
        path.split(['/', '\\']).all(|component| component != ".."),
        "{path:?}"
    );
    for component in path.split('/') {
        assert!(!component.is_empty(), "{path:?}");
        assert!(!component.eq_ignore_ascii_case(".git"), "{path:?}");
    }
    let lower = path.to_ascii_lowercase();
    assert!(lower != ".cache/huggingface" && !lower.starts_with(".cache/huggingface/"));
}

/// Pattern compilation and matching (Python fnmatch rules), and a filter of several patterns.
pub fn pattern(data: &[u8]) {
    let f = fields(data, 3);
    let pattern = hub_sync::pattern::Pattern::new(&f[0]);
    let _ = pattern.matches(&f[1]);
    // A pattern without special characters matches itself.
    if !f[0].contains(['*', '?', '[', '\\']) {
        assert!(pattern.matches(&f[0]));
    }
    let allow = vec![f[0].clone(), f[2].clone()];
    let filter = hub_sync::pattern::Filter::new(Some(&allow), Some(&allow[1..]));
    let _ = filter.matches(&f[1]);
}

/// Builds a small tree from the bytes (folders, files, symlinks, with names a cache uses, and hostile
/// ones) and scans it in both flavours.
pub fn scan_tree(data: &[u8]) {
    const NAMES: &[&str] = &[
        "models--org--name",
        "datasets--d",
        "spaces--s--t",
        "models--x",
        "blobs",
        "snapshots",
        "refs",
        "main",
        "0123456789abcdef0123456789abcdef01234567",
        "e5a4c1f3b2d7e8f90a1b2c3d4e5f6a7b8c9d0e1f",
        "..",
        ".locks",
        "CACHEDIR.TAG",
        "file.txt",
        "a.incomplete",
        "pr",
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("hub");
    let _ = fs::create_dir_all(&root);
    let mut chunks = data.chunks(4);
    for chunk in chunks.by_ref().take(64) {
        let [op, a, b, c] = match *chunk {
            [op, a, b, c] => [op, a, b, c],
            _ => break,
        };
        let name = |x: u8| NAMES[x as usize % NAMES.len()];
        let mut path = root.to_path_buf();
        for part in [name(a), name(b)]
            .into_iter()
            .take(1 + (op as usize >> 4) % 2)
        {
            if part != ".." {
                path.push(part);
            }
        }
        make(&path, op % 4, name(c), c);
    }
    for flavour in [hub_cache::Flavour::V2x, hub_cache::Flavour::V0x] {
        let options = hub_cache::scan::Options::new().with_flavour(flavour);
        let _ = hub_cache::scan::scan_with(&root, &options);
    }
}

fn make(path: &Path, kind: u8, target: &str, byte: u8) {
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let _ = match kind {
        0 => fs::create_dir_all(path),
        1 => fs::write(path, vec![byte; byte as usize % 7]),
        2 => std::os::unix::fs::symlink(format!("../../blobs/{target}"), path),
        _ => std::os::unix::fs::symlink(target, path),
    };
}
