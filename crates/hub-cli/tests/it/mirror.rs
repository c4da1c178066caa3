//! `hfhub serve --upstream`, the pull-through mirror (issue 18), as a chain: an origin hub-server
//! over fixtures, a mirror process with an empty cache pointed at it, and ordinary clients (Python
//! 2.4 and 0.25 and `hfhub download`) pointed at the mirror. Every server listens on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hfhub_tests::fixtures::{self, BIG_MIXED, Fixture, FixtureRepo};
use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hfhub_tests::tree::listing;
use hub_server::fault::{Fault, FaultKind};
use hub_server::{BlockingServer, Origin, Server};

use crate::serve::{Http, Served};

/// The origin: a hub-server over the `big-mixed` fixture, with its request log.
fn origin(root: &Path) -> (Fixture, BlockingServer) {
    let fixture = fixtures::generate(&root.join("origin"), BIG_MIXED).expect("fixture");
    let server = Server::builder(&fixture.cache_dir)
        .start_blocking()
        .expect("start the origin");
    (fixture, server)
}

/// A mirror process of `origin` over `cache`, with `args`.
fn mirror(cache: &Path, origin: &BlockingServer, args: &[&str]) -> Served {
    let endpoint = origin.endpoint();
    let mut all = vec!["--upstream", endpoint.as_str()];
    all.extend_from_slice(args);
    Served::start(cache, &all, None)
}

fn python_command(version: &str, endpoint: &str, home: &Path, code: &str) -> Command {
    let mut command = Oracle::get(version).command();
    command
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HOME", home)
        .env_remove("HF_TOKEN")
        .args(["-c", code]);
    command
}

fn python(version: &str, endpoint: &str, home: &Path, code: &str) -> Output {
    python_command(version, endpoint, home, code)
        .output()
        .expect("run python")
}

const SNAPSHOT: &str =
    "from huggingface_hub import snapshot_download; print(snapshot_download('gpt2'))";

fn hfhub_download(endpoint: &str, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
    command
        .arg("download")
        .args(args)
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HOME", home)
        .env_remove("HF_TOKEN");
    command
}

fn succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What a cache holds of `repo` at `commit`: the snapshot's entries (links and their targets),
/// and the bytes of every blob they point to.
fn fetched(
    cache: &Path,
    repo: &FixtureRepo,
    commit: &str,
) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let folder = cache.join(repo.path.file_name().expect("repo folder"));
    let snapshot = listing(&folder.join("snapshots").join(commit), |_| true);
    let blobs = std::fs::read_dir(folder.join("blobs"))
        .expect("blobs folder")
        .map(|entry| {
            let entry = entry.expect("blob entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).expect("blob"))
        })
        .collect();
    (snapshot, blobs)
}

/// The origin's copy of what a client fetched: the same snapshot entries, blob for blob.
fn assert_same_as_origin(client: &Path, fixture: &Fixture, repo: &FixtureRepo, commit: &str) {
    let (entries, blobs) = fetched(client, repo, commit);
    let (origin_entries, origin_blobs) = fetched(&fixture.cache_dir, repo, commit);
    assert!(
        !entries.is_empty(),
        "nothing fetched into {}",
        client.display()
    );
    for entry in &entries {
        assert!(
            origin_entries.contains(entry),
            "{}: `{entry}` is not in the origin's snapshot",
            client.display()
        );
    }
    for (name, bytes) in &blobs {
        assert!(!name.ends_with(".incomplete"), "left a partial blob {name}");
        assert_eq!(
            Some(bytes),
            origin_blobs.get(name),
            "{}: blob {name} differs from the origin's",
            client.display()
        );
    }
}

#[test]
fn a_chain_of_origin_mirror_and_clients_leaves_each_client_the_origins_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let mirror_cache = tmp.path().join("mirror");
    let served = mirror(&mirror_cache, &origin, &[]);
    assert!(
        served
            .banner
            .iter()
            .any(|line| line.starts_with("Mirroring http://127.0.0.1:")),
        "{:?}",
        served.banner
    );
    let endpoint = served.endpoint();
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();

    // Python 2.4: a whole snapshot; Python 0.25: one file; hfhub: a whole snapshot.
    let home_2x = tmp.path().join("home-2x");
    let output = python(HF_HUB_2X, &endpoint, &home_2x, SNAPSHOT);
    succeeded("python 2.4 snapshot_download", &output);
    assert_same_as_origin(&home_2x.join("hub"), &fixture, repo, &commit);
    let home_0x = tmp.path().join("home-0x");
    let output = python(
        HF_HUB_0X,
        &endpoint,
        &home_0x,
        "from huggingface_hub import hf_hub_download; print(hf_hub_download('gpt2', 'model.safetensors'))",
    );
    succeeded("python 0.25 hf_hub_download", &output);
    assert_same_as_origin(&home_0x.join("hub"), &fixture, repo, &commit);
    let home_hfhub = tmp.path().join("home-hfhub");
    let output = hfhub_download(&endpoint, &home_hfhub, &["gpt2"])
        .output()
        .expect("hfhub download");
    succeeded("hfhub download", &output);
    let client_cache = home_hfhub.join("hub");
    assert_same_as_origin(&client_cache, &fixture, repo, &commit);

    // Every file of the snapshot reached each snapshot client.
    let (origin_entries, _) = fetched(&fixture.cache_dir, repo, &commit);
    assert_eq!(fetched(&client_cache, repo, &commit).0, origin_entries);
    assert_eq!(
        fetched(&home_2x.join("hub"), repo, &commit).0,
        origin_entries
    );

    // The mirror stored what `hfhub download` stores: the same snapshot, blobs and ref.
    assert_same_as_origin(&mirror_cache, &fixture, repo, &commit);
    assert_eq!(
        fetched(&mirror_cache, repo, &commit),
        fetched(&client_cache, repo, &commit)
    );
    let folder = "models--gpt2";
    assert_eq!(
        std::fs::read_to_string(mirror_cache.join(folder).join("refs/main")).expect("mirror ref"),
        commit
    );
    let no_partial = |root: &Path| {
        listing(root, |_| true)
            .iter()
            .all(|line| !line.contains(".incomplete"))
    };
    assert!(
        no_partial(&mirror_cache),
        "the mirror left a partial download"
    );

    // Cache headers: a commit-pinned answer is immutable, a branch answer is fresh for the window.
    let mut http = Http::connect(&served.endpoint()["http://".len()..]);
    let pinned = http.send("HEAD", &format!("/gpt2/resolve/{commit}/config.json"), &[]);
    assert_eq!(pinned.status, 200, "{pinned:?}");
    assert_eq!(
        pinned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(pinned.header("etag").is_some());
    let branch = http.send("HEAD", "/gpt2/resolve/main/config.json", &[]);
    assert_eq!(branch.header("cache-control"), Some("public, max-age=60"));
    let ranged = http.send(
        "GET",
        &format!("/gpt2/resolve/{commit}/config.json"),
        &[("Range", "bytes=1-3")],
    );
    assert_eq!(ranged.status, 206, "{ranged:?}");
    let config = std::fs::read(
        mirror_cache
            .join(folder)
            .join("snapshots")
            .join(&commit)
            .join("config.json"),
    )
    .expect("mirrored config");
    assert_eq!(ranged.body, config[1..4]);
    let missing = http.send("GET", "/gpt2/resolve/main/no-such-file", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-error-code"), Some("EntryNotFound"));
    assert_eq!(missing.header("cache-control"), Some("no-store"));
    drop(origin);
}

/// GETs that returned content, by listener and path (without the signed query).
fn content_gets(origin: &BlockingServer) -> BTreeMap<(bool, String), usize> {
    let mut counts = BTreeMap::new();
    // Keyed by (answered by the CDN, path): `Origin` is not ordered.
    for record in origin.request_log().records() {
        if record.method == "GET"
            && matches!(record.status, 200 | 206)
            && !record.path.starts_with("/api/")
        {
            let path = record.path.split('?').next().unwrap_or_default().to_owned();
            *counts
                .entry((record.origin == Origin::Cdn, path))
                .or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn eight_clients_pulling_one_snapshot_at_once_cause_one_upstream_get_per_blob() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let served = mirror(&tmp.path().join("mirror"), &origin, &[]);
    let endpoint = served.endpoint();
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();
    let homes: Vec<PathBuf> = (0..8)
        .map(|i| tmp.path().join(format!("client-{i}")))
        .collect();
    // Two of each Python and four hfhub, started together.
    let children: Vec<_> = homes
        .iter()
        .enumerate()
        .map(|(i, home)| {
            let (name, mut command) = match i % 4 {
                0 => (
                    "python 2.4",
                    python_command(HF_HUB_2X, &endpoint, home, SNAPSHOT),
                ),
                1 => (
                    "python 0.25",
                    python_command(HF_HUB_0X, &endpoint, home, SNAPSHOT),
                ),
                _ => ("hfhub", hfhub_download(&endpoint, home, &["gpt2", "-q"])),
            };
            let child = command
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a client");
            (name, child)
        })
        .collect();
    for (name, child) in children {
        let output = child.wait_with_output().expect("wait for a client");
        succeeded(name, &output);
    }
    for home in &homes {
        assert_same_as_origin(&home.join("hub"), &fixture, repo, &commit);
    }
    let files = repo
        .revisions
        .iter()
        .find(|revision| revision.commit == commit)
        .expect("main revision")
        .files
        .len();
    let gets = content_gets(&origin);
    assert_eq!(gets.len(), files, "one content GET per file: {gets:?}");
    assert!(gets.values().all(|&count| count == 1), "{gets:?}");
    // And one resolution of `main` and one listing of its commit for the eight of them.
    let api: Vec<String> = origin
        .request_log()
        .records()
        .into_iter()
        .filter(|record| record.path.starts_with("/api/"))
        .map(|record| format!("{} {}", record.method, record.path))
        .collect();
    assert_eq!(api.len(), 2, "{api:?}");
}

#[test]
fn upstream_faults_never_reach_a_client_and_a_stopped_origin_leaves_the_cache_serving() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("origin"), BIG_MIXED).expect("fixture");
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();
    let files = &repo
        .revisions
        .iter()
        .find(|revision| revision.commit == commit)
        .expect("main revision")
        .files;
    let mut lfs = files
        .iter()
        .filter(|file| file.lfs && file.content.len() > 4096);
    let (dropped, corrupted) = (
        lfs.next().expect("an LFS file"),
        lfs.next().expect("another"),
    );
    let uncached = files.iter().find(|file| !file.lfs).expect("a regular file");
    // The origin breaks the first transfer of one blob mid-body and flips a byte of another's.
    let origin = Server::builder(&fixture.cache_dir)
        .with_fault(
            Fault::new(FaultKind::DropAfter(2048))
                .on(Origin::Cdn)
                .method("GET")
                .path_contains(&dropped.etag)
                .first(1),
        )
        .with_fault(
            Fault::new(FaultKind::Corrupt { offset: 1000 })
                .on(Origin::Cdn)
                .method("GET")
                .path_contains(&corrupted.etag)
                .first(1),
        )
        .start_blocking()
        .expect("start the origin");
    let mirror_cache = tmp.path().join("mirror");
    let served = mirror(&mirror_cache, &origin, &[]);
    let endpoint = served.endpoint();
    let download = |home: &str, path: &str| {
        hfhub_download(&endpoint, &tmp.path().join(home), &["gpt2", path])
            .output()
            .expect("hfhub download")
    };

    // The dropped transfer is resumed with a range: the client gets the whole file.
    let output = download("client-dropped", &dropped.path);
    succeeded("hfhub download of the dropped file", &output);
    let path = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(std::fs::read(path.trim()).expect("file"), dropped.content);
    let resumed = origin.request_log().records().into_iter().any(|record| {
        record.path.contains(&dropped.etag) && record.range.is_some() && record.status == 206
    });
    assert!(resumed, "the mirror did not resume the dropped transfer");

    // The corrupted body is rejected: whatever the first client got, it is not wrong bytes, and
    // the next one gets the file.
    let first = download("client-corrupted-1", &corrupted.path);
    if first.status.success() {
        let path = String::from_utf8(first.stdout).expect("utf-8");
        assert_eq!(std::fs::read(path.trim()).expect("file"), corrupted.content);
    }
    let output = download("client-corrupted-2", &corrupted.path);
    succeeded("hfhub download after the corrupted body", &output);
    let path = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(std::fs::read(path.trim()).expect("file"), corrupted.content);
    for cache in [
        mirror_cache.clone(),
        tmp.path().join("client-dropped/hub"),
        tmp.path().join("client-corrupted-1/hub"),
        tmp.path().join("client-corrupted-2/hub"),
    ] {
        hfhub_tests::hostile::verify_blobs(&cache);
    }
    let injected = origin
        .request_log()
        .records()
        .into_iter()
        .filter(|record| record.fault.is_some())
        .count();
    assert_eq!(injected, 2, "both faults were injected");

    // The origin stops: cached commits keep being served, the rest answers 504 at once.
    origin.shutdown();
    let mut http = Http::connect(&endpoint["http://".len()..]);
    let cached = http.send(
        "GET",
        &format!("/gpt2/resolve/{commit}/{}", dropped.path),
        &[],
    );
    assert_eq!(cached.status, 302, "{cached:?}");
    let (cdn, target) = cached
        .header("location")
        .and_then(|l| l.strip_prefix("http://"))
        .and_then(|l| l.split_once('/'))
        .map(|(authority, rest)| (authority.to_owned(), format!("/{rest}")))
        .expect("a CDN location");
    let blob = Http::connect(&cdn).send("GET", &target, &[]);
    assert_eq!(blob.status, 200);
    assert_eq!(blob.body, dropped.content);
    let info = http.send("GET", &format!("/api/models/gpt2/revision/{commit}"), &[]);
    assert_eq!(info.status, 200, "{info:?}");
    let started = std::time::Instant::now();
    let missing = http.send(
        "GET",
        &format!("/gpt2/resolve/{commit}/{}", uncached.path),
        &[],
    );
    let waited = started.elapsed();
    assert_eq!(missing.status, 504, "{missing:?} after {waited:?}");
    assert!(missing.header("x-error-message").is_some(), "{missing:?}");
    let body: serde_json::Value = serde_json::from_slice(&missing.body).expect("a JSON error");
    assert!(body["error"].is_string(), "{body}");
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let missing = http.send(
        "GET",
        &format!("/gpt2/resolve/{unknown}/{}", uncached.path),
        &[],
    );
    assert_eq!(missing.status, 504, "{missing:?}");
}

#[test]
fn a_gated_upstream_repository_is_served_to_accepted_tokens_only_and_the_upstream_token_stays_inside()
 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("origin"), BIG_MIXED).expect("fixture");
    let gated: hub_cache::Repo = "gpt2".parse().expect("repo");
    let origin = Server::builder(&fixture.cache_dir)
        .with_token("upstream-secret")
        .with_gated(gated)
        .start_blocking()
        .expect("start the origin");
    // `--private` of an unrelated repository: the mirror's tokens do not make everything private.
    let served = mirror(
        &tmp.path().join("mirror"),
        &origin,
        &[
            "--upstream-token",
            "upstream-secret",
            "--token",
            "cluster-secret",
            "--private",
            "nobody/nothing",
        ],
    );
    let mut http = Http::connect(&served.endpoint()["http://".len()..]);
    let anonymous = http.send("GET", "/api/models/gpt2", &[]);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.header("x-error-code"), Some("GatedRepo"));
    let wrong = http.send(
        "GET",
        "/api/models/gpt2",
        &[("Authorization", "Bearer upstream-secret")],
    );
    assert_eq!(
        wrong.status, 403,
        "the upstream token is not a mirror token: {wrong:?}"
    );
    let accepted = http.send(
        "GET",
        "/api/models/gpt2",
        &[("Authorization", "Bearer cluster-secret")],
    );
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(
        accepted.header("cache-control"),
        Some("private, max-age=60")
    );
    let public = fixture
        .repos
        .iter()
        .find(|repo| repo.repo_type == hub_cache::RepoType::Model && repo.repo_id != "gpt2")
        .expect("another model");
    let open = http.send("GET", &format!("/api/models/{}", public.repo_id), &[]);
    assert_eq!(open.status, 200, "{open:?}");

    let home = tmp.path().join("client");
    let output = hfhub_download(
        &served.endpoint(),
        &home,
        &["gpt2", "--token", "cluster-secret"],
    )
    .output()
    .expect("hfhub download");
    succeeded("hfhub download with the mirror's token", &output);
    let commit = fixture.repo("gpt2").expect("gpt2").refs["main"].clone();
    assert_same_as_origin(
        &home.join("hub"),
        &fixture,
        fixture.repo("gpt2").expect("gpt2"),
        &commit,
    );
    let output = hfhub_download(&served.endpoint(), &tmp.path().join("anonymous"), &["gpt2"])
        .output()
        .expect("hfhub download");
    assert!(
        !output.status.success(),
        "downloaded a gated repository without a token"
    );
    // Every upstream request carried the upstream token; no answer to a client ever did.
    let records = origin.request_log().records();
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|record| record.authorization || record.origin == Origin::Cdn)
    );
    for answer in [&anonymous, &wrong, &accepted, &open] {
        let text = format!("{answer:?}");
        assert!(!text.contains("upstream-secret"), "{text}");
    }
}

/// The value of an unlabelled counter of a `/metrics` page.
fn counter(page: &str, name: &str) -> u64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {page}"))
}

#[test]
fn max_cache_size_evicts_least_recently_used_revisions_and_python_scans_the_cache_clean() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let repo = fixture.repo("gpt2").expect("gpt2");
    // Three revisions pulled in turn: initial (0.5 MiB), v1.0 (1 MiB, shares config.json with
    // initial), main (1.3 MiB, shares README, weights and tokenizer with v1.0); 1200 KiB holds one.
    let initial = repo.revisions[0].commit.clone();
    let (v1, main) = (repo.refs["v1.0"].clone(), repo.refs["main"].clone());
    let mirror_cache = tmp.path().join("mirror");
    let served = mirror(&mirror_cache, &origin, &["--max-cache-size", "1200K"]);
    let endpoint = served.endpoint();
    for (home, revision, commit) in [
        ("client-initial", initial.as_str(), &initial),
        ("client-v1", "v1.0", &v1),
        ("client-main", "main", &main),
    ] {
        let home = tmp.path().join(home);
        let output = hfhub_download(&endpoint, &home, &["gpt2", "--revision", revision])
            .output()
            .expect("hfhub download");
        succeeded(revision, &output);
        assert_same_as_origin(&home.join("hub"), &fixture, repo, commit);
        let (entries, _) = fetched(&home.join("hub"), repo, commit);
        assert_eq!(
            entries,
            fetched(&fixture.cache_dir, repo, commit).0,
            "{revision}"
        );
    }
    // Only main is left, whole: the blobs it shares with the evicted revisions stayed.
    let folder = mirror_cache.join("models--gpt2");
    let snapshots: Vec<String> = std::fs::read_dir(folder.join("snapshots"))
        .expect("snapshots")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(snapshots, std::slice::from_ref(&main));
    assert_eq!(
        fetched(&mirror_cache, repo, &main),
        fetched(&tmp.path().join("client-main/hub"), repo, &main)
    );
    let main_blobs: Vec<String> = fetched(&mirror_cache, repo, &main).1.into_keys().collect();
    let main_files = &repo
        .revisions
        .iter()
        .find(|revision| revision.commit == main)
        .expect("main")
        .files;
    assert_eq!(main_blobs.len(), main_files.len(), "{main_blobs:?}");
    assert_eq!(
        hfhub_tests::hostile::verify_blobs(&mirror_cache),
        main_files.len()
    );

    // Python 2.4 scans it without a warning, and sees main alone.
    let scan = Oracle::get(HF_HUB_2X)
        .command()
        .args([
            "-c",
            "import sys; from huggingface_hub import scan_cache_dir; r = scan_cache_dir(sys.argv[1]); \
             print(len(r.warnings)); [print(rev.commit_hash) for repo in r.repos for rev in repo.revisions]",
        ])
        .arg(&mirror_cache)
        .output()
        .expect("python scan");
    succeeded("scan_cache_dir", &scan);
    let stdout = String::from_utf8(scan.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["0", main.as_str()],
        "{stdout}"
    );

    // `/metrics` counts it.
    let mut http = Http::connect(&endpoint["http://".len()..]);
    let page = http.send("GET", "/metrics", &[]);
    assert_eq!(page.status, 200);
    let page = String::from_utf8(page.body).expect("utf-8");
    assert_eq!(
        counter(&page, "hfhub_mirror_evicted_revisions_total"),
        2,
        "{page}"
    );
    let files: Vec<_> = [&initial, &v1, &main]
        .iter()
        .flat_map(|commit| {
            repo.revisions
                .iter()
                .find(|revision| &&revision.commit == commit)
                .expect("revision")
                .files
                .iter()
        })
        .collect();
    let blobs: BTreeMap<&str, u64> = files
        .iter()
        .map(|file| (file.etag.as_str(), file.size()))
        .collect();
    // Each file was asked for once; a blob an earlier revision brought is a hit, the others misses.
    let (hits, misses) = (
        counter(&page, "hfhub_mirror_hits_total"),
        counter(&page, "hfhub_mirror_misses_total"),
    );
    assert_eq!(hits + misses, files.len() as u64, "{page}");
    assert_eq!(misses, blobs.len() as u64, "{page}");
    assert_eq!(
        counter(&page, "hfhub_mirror_upstream_bytes_total"),
        blobs.values().sum::<u64>(),
        "{page}"
    );
    assert!(
        page.contains("hfhub_requests_total{listener=\"hub\"}"),
        "{page}"
    );
}

/// nginx run unprivileged in the foreground on the `http { }` block of docs/mirror.md; killed when
/// dropped.
struct Nginx {
    child: std::process::Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(dir: &Path, substitutions: &[(&str, String)], ports: [u16; 2]) -> Nginx {
        let binary = hfhub_tests::nginx::ensure_installed().expect("nginx");
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mirror.md"),
        )
        .expect("docs/mirror.md");
        let block = doc
            .split("```nginx\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("an nginx block in docs/mirror.md");
        let mut http = block.to_owned();
        for (name, value) in substitutions {
            http = http.replace(name, value);
        }
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx folder");
        let path = |name: &str| format!("\"{}\"", dir.join(name).display());
        let temps: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|temp| format!("{temp}_temp_path {};\n", path(&format!("tmp/{temp}"))))
            .collect();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {};\nerror_log {} warn;\n\
             events {{ worker_connections 256; }}\nhttp {{\naccess_log {};\n{temps}{http}}}\n",
            path("nginx.pid"),
            path("error.log"),
            path("access.log"),
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let mut child = hfhub_tests::nginx::command(&binary, dir, &config_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nginx");
        for _ in 0..500 {
            if let Some(status) = child.try_wait().expect("nginx status") {
                panic!(
                    "nginx exited ({status}): {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            if ports
                .iter()
                .all(|port| std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                return Nginx { child };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("nginx does not listen on {ports:?}");
    }
}

#[test]
fn nginx_in_front_answers_a_second_client_without_the_mirror() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();
    let port = || hfhub_tests::nginx::free_port().expect("a free port");
    let (nginx_hub, nginx_cdn) = (port(), port());
    let served = mirror(
        &tmp.path().join("mirror"),
        &origin,
        &[
            "--public-url",
            &format!("http://127.0.0.1:{nginx_hub}"),
            "--cdn-url",
            &format!("http://127.0.0.1:{nginx_cdn}"),
        ],
    );
    let mirror_hub = served.endpoint()["http://".len()..].to_owned();
    // "LFS downloads are redirected to <listener> as <public URL> ...": the listener comes first.
    let cdn_listener = served.banner[1]
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .expect("the CDN address")
        .to_owned();
    assert!(
        served.banner[1].contains(&format!("as http://127.0.0.1:{nginx_cdn}")),
        "{:?}",
        served.banner
    );
    let _nginx = Nginx::start(
        &tmp.path().join("nginx"),
        &[
            (
                "CACHE_DIR",
                tmp.path().join("nginx/cache").display().to_string(),
            ),
            ("MIRROR_HUB", mirror_hub.clone()),
            ("MIRROR_CDN", cdn_listener),
            ("LISTEN_HUB", format!("127.0.0.1:{nginx_hub}")),
            ("LISTEN_CDN", format!("127.0.0.1:{nginx_cdn}")),
        ],
        [nginx_hub, nginx_cdn],
    );
    let endpoint = format!("http://127.0.0.1:{nginx_hub}");
    let cdn_requests = || {
        let page = Http::connect(&mirror_hub).send("GET", "/metrics", &[]);
        let page = String::from_utf8(page.body).expect("utf-8");
        counter(&page, "hfhub_requests_total{listener=\"cdn\"}")
    };

    let first = tmp.path().join("first");
    let output = hfhub_download(&endpoint, &first, &["gpt2"])
        .output()
        .expect("hfhub download");
    succeeded("hfhub download through nginx", &output);
    assert_same_as_origin(&first.join("hub"), &fixture, repo, &commit);
    let before = cdn_requests();
    assert!(before > 0, "the first client's blobs came from the mirror");

    let second = tmp.path().join("second");
    let output = python(HF_HUB_2X, &endpoint, &second, SNAPSHOT);
    succeeded("python snapshot_download through nginx", &output);
    assert_same_as_origin(&second.join("hub"), &fixture, repo, &commit);
    assert_eq!(
        fetched(&second.join("hub"), repo, &commit).0,
        fetched(&fixture.cache_dir, repo, &commit).0
    );
    assert_eq!(
        cdn_requests(),
        before,
        "a blob request of the second client reached the mirror"
    );
}

#[test]
fn a_client_cannot_steer_the_mirror_upstream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();
    let served = mirror(&tmp.path().join("mirror"), &origin, &[]);
    let mut http = Http::connect(&served.endpoint()["http://".len()..]);
    let upstream = || origin.request_log().records();

    // Paths, revisions and methods the mirror refuses cost no upstream request.
    for (method, target) in [
        ("GET", "/gpt2/resolve/main/..%2F..%2Fetc%2Fpasswd"),
        ("GET", "/gpt2/resolve/main/a/../../b"),
        ("GET", "/gpt2/resolve/..%2F..%2Frefs/config.json"),
        ("GET", "/gpt2/resolve/main%5Cx/config.json"),
        ("GET", "/api/models/..%2Fgpt2"),
        ("GET", "/http%3A%2F%2Fevil.example/resolve/main/x"),
        ("POST", "/gpt2/resolve/main/config.json"),
        ("DELETE", "/api/models/gpt2"),
    ] {
        let answer = http.send(method, target, &[]);
        assert!(
            (400..500).contains(&answer.status),
            "{method} {target}: {answer:?}"
        );
    }
    assert!(upstream().is_empty(), "{:?}", upstream());

    // A file the upstream's listing does not name is never asked for upstream.
    let missing = http.send(
        "GET",
        &format!("/gpt2/resolve/{commit}/not-listed.bin"),
        &[],
    );
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.header("x-error-code"), Some("EntryNotFound"));
    let asked: Vec<String> = upstream().into_iter().map(|r| r.path).collect();
    assert!(
        asked.iter().all(|path| path.starts_with("/api/")),
        "only the revision and the listing were asked: {asked:?}"
    );
    // An unknown repository is one upstream question, answered as the Hub answers it.
    let before = upstream().len();
    let unknown = http.send("GET", "/api/models/nobody/nothing", &[]);
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.header("x-error-code"), Some("RepoNotFound"));
    assert_eq!(upstream().len(), before + 1);
    // Every upstream request went to the origin's own routes (the mirror builds its URLs itself).
    for record in upstream() {
        assert!(
            record.path.starts_with("/api/models/") || record.path.starts_with("/gpt2/"),
            "{record:?}"
        );
    }
}

#[test]
fn branch_names_outlive_their_window_with_an_unreachable_upstream_only_with_serve_stale() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, origin) = origin(tmp.path());
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = repo.refs["main"].clone();
    let windowed = mirror(&tmp.path().join("windowed"), &origin, &[]);
    let stale = mirror(
        &tmp.path().join("stale"),
        &origin,
        &["--upstream-ttl", "0", "--serve-stale"],
    );
    let strict = mirror(
        &tmp.path().join("strict"),
        &origin,
        &["--upstream-ttl", "0"],
    );
    let config = "/gpt2/resolve/main/config.json";
    let connect = |served: &Served| Http::connect(&served.endpoint()["http://".len()..]);
    let (mut windowed, mut stale, mut strict) =
        (connect(&windowed), connect(&stale), connect(&strict));
    for http in [&mut windowed, &mut stale, &mut strict] {
        assert_eq!(http.send("GET", config, &[]).status, 200);
    }
    origin.shutdown();
    // Within its window (60 s), and with --serve-stale past it, `main` answers from the cache.
    for (name, http) in [("windowed", &mut windowed), ("stale", &mut stale)] {
        let answer = http.send("GET", config, &[]);
        assert_eq!(answer.status, 200, "{name}: {answer:?}");
        assert_eq!(
            answer.header("x-repo-commit"),
            Some(commit.as_str()),
            "{name}"
        );
    }
    // Past its window without the flag, the branch cannot be resolved: 504, a commit still works.
    let answer = strict.send("GET", config, &[]);
    assert_eq!(answer.status, 504, "{answer:?}");
    let pinned = strict.send("GET", &format!("/gpt2/resolve/{commit}/config.json"), &[]);
    assert_eq!(pinned.status, 200, "{pinned:?}");
}
