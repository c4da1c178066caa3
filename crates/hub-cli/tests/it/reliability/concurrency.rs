//! Concurrency: 8 `hfhub` processes and 2 Python `huggingface_hub` 2.4.0 processes download the same
//! snapshot into one cache at once; two revisions sharing blobs are downloaded at once.

use std::collections::BTreeMap;

use hfhub_tests::fixtures::{self, BIG_MIXED};
use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_server::{Origin, RequestRecord, Server};

use super::*;

/// `(commit, file)` of `/gpt2/resolve/<commit>/<file>`.
fn resolved_at(path: &str) -> Option<(&str, &str)> {
    path.split_once("/resolve/")?.1.split_once('/')
}

/// Content GETs per full path.
fn content_gets_by_path(records: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        if r.method == "GET"
            && (r.origin == Origin::Cdn || r.path.contains("/resolve/"))
            && (200..300).contains(&r.status)
        {
            *counts.entry(r.path.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Content GETs (a resolve answered 2xx, or a CDN GET) per path.
fn content_gets(records: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        if r.method == "GET"
            && (r.origin == Origin::Cdn || r.path.contains("/resolve/"))
            && (200..300).contains(&r.status)
        {
            // The same file at a branch name and at its commit is the same blob: key on the file.
            let key = match r.origin {
                Origin::Cdn => r.path.clone(),
                Origin::Hub => resolved_file(&r.path).unwrap_or(&r.path).to_owned(),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// `config.json` of `/gpt2/resolve/<revision>/config.json` (still percent-encoded).
fn resolved_file(path: &str) -> Option<&str> {
    let after = path.split_once("/resolve/")?.1;
    Some(
        after
            .split_once('/')?
            .1
            .split('?')
            .next()
            .unwrap_or_default(),
    )
}

#[test]
fn eight_hfhub_and_two_python_processes_fill_one_cache_fetching_each_blob_once() {
    let oracle = Oracle::get(HF_HUB_2X);
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
    let server = Server::builder(&fixture.cache_dir)
        .start_blocking()
        .expect("server");
    let rounds = if heavy() { 5 } else { 1 };
    for round in 0..rounds {
        server.request_log().clear();
        let cache = tmp.path().join(format!("hub-{round}"));
        let mut children: Vec<(String, std::process::Child)> = (0..8)
            .map(|i| {
                let child = hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
                    .args(["download", "gpt2", "--quiet"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn hfhub");
                (format!("hfhub {i}"), child)
            })
            .collect();
        for i in 0..2 {
            let child = oracle
                .command()
                .env("HF_HUB_OFFLINE", "0")
                .env("HF_ENDPOINT", server.endpoint())
                .env("HF_HUB_CACHE", &cache)
                .env("HF_HUB_DISABLE_XET", "1")
                .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                .arg("-c")
                .arg("from huggingface_hub import snapshot_download\nprint(snapshot_download('gpt2'))")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn python");
            children.push((format!("python {i}"), child));
        }
        let mut paths = Vec::new();
        for (name, child) in children {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "{name}: {}", stderr(&output));
            paths.push(stdout(&output).trim_end().to_owned());
        }
        paths.dedup();
        assert_eq!(
            paths.len(),
            1,
            "every process printed the same snapshot: {paths:?}"
        );
        let gets = content_gets(&server.request_log().records());
        assert!(!gets.is_empty());
        let twice: Vec<_> = gets.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "fetched more than once: {twice:?}");
        assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
        verify_blobs(&cache);
        let warnings = oracle.eval(
            "import sys\nfrom huggingface_hub import scan_cache_dir\nr = scan_cache_dir(sys.argv[1])\nprint(len(r.warnings), len(r.repos))",
            &[cache.to_str().expect("utf-8")],
        );
        assert_eq!(warnings.trim(), "0 1");
        eprintln!(
            "concurrency: round {round}: 10 processes, {} blobs each fetched once",
            gets.len()
        );
    }
}

#[test]
fn two_revisions_sharing_blobs_at_once_fetch_each_blob_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
    let gpt2 = fixture.repo("gpt2").expect("gpt2");
    let (main, v1) = (&gpt2.refs["main"], &gpt2.refs["v1.0"]);
    let files_of = |commit: &str| -> BTreeMap<String, String> {
        gpt2.revision(commit)
            .expect("revision")
            .files
            .iter()
            .map(|f| (f.etag.clone(), f.path.clone()))
            .collect()
    };
    let shared = files_of(main)
        .keys()
        .filter(|etag| files_of(v1).contains_key(*etag))
        .count();
    assert!(shared > 0, "the fixture's main and v1.0 share blobs");
    let server = Server::builder(&fixture.cache_dir)
        .start_blocking()
        .expect("server");
    let rounds = if heavy() { 10 } else { 3 };
    for round in 0..rounds {
        server.request_log().clear();
        let cache = tmp.path().join(format!("hub-{round}"));
        let children: Vec<_> = ["main", "v1.0", "main", "v1.0"]
            .iter()
            .map(|revision| {
                hfhub(&tmp.path().join("home"), &cache, &server.endpoint())
                    .args(["download", "gpt2", "--quiet", "--revision", revision])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "{}", stderr(&output));
        }
        let mut blobs_fetched: BTreeMap<String, usize> = BTreeMap::new();
        let records = server.request_log().records();
        for (path, n) in content_gets_by_path(&records) {
            // Key by blob: the CDN path names it; a resolve path names a file at a commit.
            let etag = resolved_at(&path)
                .and_then(|(commit, file)| {
                    gpt2.revision(commit)?
                        .files
                        .iter()
                        .find(|f| f.path == file)
                        .map(|f| f.etag.clone())
                })
                .unwrap_or(path);
            *blobs_fetched.entry(etag).or_insert(0) += n;
        }
        let twice: Vec<_> = blobs_fetched.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "round {round}: fetched more than once: {twice:?}"
        );
        assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
        verify_blobs(&cache);
    }
    eprintln!("concurrency: {rounds} rounds of main and v1.0 at once, {shared} shared blobs");
}
