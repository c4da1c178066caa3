//! Downloads from hub-server serving the BIG_MIXED fixture: the cache we build equals the served one for
//! what we fetched, each blob is fetched once, a snapshot sends no HEAD, the token never reaches the CDN.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use hfhub_tests::fixtures::{self, BIG_MIXED, Fixture, FixtureRepo};
use hub_cache::{Cache, Repo, RepoId};
use hub_http::{Client, Endpoint, Token};
use hub_server::{Origin, RequestRecord, RunningServer, Server};
use hub_sync::{Downloader, FileRequest, SnapshotRequest};

pub const TOKEN: &str = "hf_sync_test_token";

pub struct Served {
    pub _tmp: tempfile::TempDir,
    pub fixture: Fixture,
    pub server: RunningServer,
}

/// BIG_MIXED generated in a temp dir and served on 127.0.0.1.
pub async fn serve() -> Served {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(tmp.path(), BIG_MIXED).expect("fixture");
    let server = Server::builder(&fixture.cache_dir)
        .with_token(TOKEN)
        .start()
        .await
        .expect("server");
    Served {
        _tmp: tmp,
        fixture,
        server,
    }
}

pub fn client(server: &RunningServer) -> Client {
    Client::builder()
        .with_endpoint(Endpoint::new(server.endpoint()))
        .with_token(Token::new(TOKEN))
        .build()
        .expect("client")
}

pub fn repo_of(fixture_repo: &FixtureRepo) -> Repo {
    Repo::new(
        fixture_repo.repo_type,
        RepoId::new(fixture_repo.repo_id.clone()).expect("fixture ids are valid"),
    )
}

/// Revisions worth downloading: every ref of a revision that has at least one cached file.
pub fn refs_with_files(repo: &FixtureRepo) -> Vec<(String, String)> {
    repo.revisions
        .iter()
        .filter(|r| !r.files.is_empty())
        .flat_map(|r| r.refs.iter().map(|name| (name.clone(), r.commit.clone())))
        .collect()
}

/// File content requests (resolve GETs answered 200 and CDN GETs).
fn content_gets(records: &[RequestRecord]) -> Vec<&RequestRecord> {
    records
        .iter()
        .filter(|r| {
            r.method == "GET"
                && (r.origin == Origin::Cdn || r.path.contains("/resolve/"))
                && (200..300).contains(&r.status)
        })
        .collect()
}

/// Checks that `ours` holds, for each file of `commit`, the same pointer target, blob bytes and refs as
/// the served cache.
fn assert_same_as_served(served: &Path, ours: &Path, fixture_repo: &FixtureRepo, commit: &str) {
    let folder = fixture_repo.folder_name();
    let revision = fixture_repo
        .revisions
        .iter()
        .find(|r| r.commit == commit)
        .expect("revision");
    for file in &revision.files {
        let rel = Path::new(&folder)
            .join("snapshots")
            .join(commit)
            .join(&file.path);
        let theirs = fs::read_link(served.join(&rel)).expect("served pointer");
        let mine = fs::read_link(ours.join(&rel))
            .unwrap_or_else(|e| panic!("our pointer {}: {e}", rel.display()));
        assert_eq!(mine, theirs, "{}", rel.display());
        let blob = ours.join(&folder).join("blobs").join(&file.etag);
        assert_eq!(
            fs::read(&blob).expect("our blob"),
            file.content,
            "{}",
            blob.display()
        );
    }
}

#[tokio::test]
async fn snapshots_of_every_repo_and_ref_equal_the_served_cache() {
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours = tmp.path().join("hub");
    let downloader = Downloader::new(client(&served.server), Cache::new(&ours));
    let mut blobs = BTreeSet::new();
    for fixture_repo in &served.fixture.repos {
        let repo = repo_of(fixture_repo);
        for (name, commit) in refs_with_files(fixture_repo) {
            let path = downloader
                .snapshot(&SnapshotRequest::new(repo.clone()).with_revision(&name))
                .await
                .unwrap_or_else(|e| panic!("{repo}@{name}: {e:?}"));
            assert_eq!(
                path,
                ours.join(fixture_repo.folder_name())
                    .join("snapshots")
                    .join(&commit)
            );
            assert_same_as_served(&served.fixture.cache_dir, &ours, fixture_repo, &commit);
            let ref_path = ours
                .join(fixture_repo.folder_name())
                .join("refs")
                .join(&name);
            assert_eq!(fs::read_to_string(ref_path).expect("ref"), commit);
            let revision = fixture_repo
                .revisions
                .iter()
                .find(|r| r.commit == commit)
                .expect("revision");
            for file in &revision.files {
                blobs.insert((fixture_repo.folder_name(), file.etag.clone()));
            }
        }
    }
    let records = served.server.request_log().records();
    assert!(
        records.iter().all(|r| r.method != "HEAD"),
        "a snapshot sends no HEAD"
    );
    assert_eq!(
        content_gets(&records).len(),
        blobs.len(),
        "each blob fetched once"
    );
    for record in &records {
        assert_eq!(
            record.authorization,
            record.origin == Origin::Hub,
            "token only to the Hub: {record:?}"
        );
    }

    // A second run fetches no content; by commit it sends nothing at all.
    served.server.request_log().clear();
    for fixture_repo in &served.fixture.repos {
        for (name, commit) in refs_with_files(fixture_repo) {
            for revision in [name, commit] {
                downloader
                    .snapshot(&SnapshotRequest::new(repo_of(fixture_repo)).with_revision(&revision))
                    .await
                    .expect("second run");
            }
        }
    }
    let records = served.server.request_log().records();
    assert!(content_gets(&records).is_empty(), "{records:?}");
    assert!(
        records.iter().all(|r| r.path.contains("/revision/")),
        "only repo-info calls for branch names: {records:?}"
    );
    served.server.shutdown().await;
}

#[tokio::test]
async fn single_files_by_branch_tag_pr_and_commit_equal_the_served_cache() {
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours = tmp.path().join("hub");
    let downloader = Downloader::new(client(&served.server), Cache::new(&ours));
    let gpt2 = served.fixture.repo("gpt2").expect("gpt2");
    let repo = repo_of(gpt2);
    for (name, commit) in refs_with_files(gpt2) {
        let revision = gpt2
            .revisions
            .iter()
            .find(|r| r.commit == commit)
            .expect("rev");
        for file in &revision.files {
            for asked in [name.as_str(), commit.as_str()] {
                let path = downloader
                    .download_file(&FileRequest::new(repo.clone(), &file.path).with_revision(asked))
                    .await
                    .unwrap_or_else(|e| panic!("{}@{asked}: {e:?}", file.path));
                assert_eq!(fs::read(&path).expect("read"), file.content);
            }
        }
        assert_same_as_served(&served.fixture.cache_dir, &ours, gpt2, &commit);
        assert_eq!(
            fs::read_to_string(ours.join(gpt2.folder_name()).join("refs").join(&name))
                .expect("ref"),
            commit
        );
    }
    // A missing file: error naming it, `.no_exist` written.
    let error = downloader
        .download_file(&FileRequest::new(repo.clone(), "nothing/here.bin"))
        .await
        .expect_err("missing");
    assert!(
        matches!(error, hub_sync::Error::EntryNotFound { .. }),
        "{error:?}"
    );
    let main = &gpt2.refs["main"];
    assert!(
        ours.join(gpt2.folder_name())
            .join(".no_exist")
            .join(main)
            .join("nothing/here.bin")
            .is_file()
    );
    served.server.shutdown().await;
}

#[tokio::test]
async fn a_dropped_download_resumes_on_the_next_run_without_refetching_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(tmp.path(), BIG_MIXED).expect("fixture");
    let server = Server::builder(&fixture.cache_dir)
        .with_fault(
            hub_server::fault::Fault::new(hub_server::fault::FaultKind::DropAfter(300_000))
                .on(Origin::Cdn)
                .first(1),
        )
        .start()
        .await
        .expect("server");
    let no_retry = Client::builder()
        .with_endpoint(Endpoint::new(server.endpoint()))
        .with_retry(hub_http::RetryPolicy::none())
        .build()
        .expect("client");
    let cache = tmp.path().join("ours");
    let downloader = Downloader::new(no_retry, Cache::new(&cache));
    let repo = Repo::new(
        hub_cache::RepoType::Dataset,
        RepoId::new("wikitext").expect("id"),
    );
    let file = "wikitext-2-raw-v1/train-00000-of-00001.parquet";
    let error = downloader
        .download_file(&FileRequest::new(repo.clone(), file))
        .await
        .expect_err("the connection drops");
    assert!(
        matches!(error, hub_sync::Error::Download { .. }),
        "{error:?}"
    );
    let blobs = cache.join("datasets--wikitext/blobs");
    let partial: Vec<_> = fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(partial.len(), 1);
    assert!(partial[0].to_string_lossy().ends_with(".incomplete"));
    let done = fs::metadata(&partial[0]).expect("partial").len();
    assert!(done > 0, "bytes were written before the drop");

    server.request_log().clear();
    let path = downloader
        .download_file(&FileRequest::new(repo, file))
        .await
        .expect("resumed");
    let wikitext = fixture.repo("wikitext").expect("wikitext");
    let expected = wikitext
        .revisions
        .iter()
        .flat_map(|r| &r.files)
        .find(|f| f.path == file)
        .expect("file");
    assert_eq!(fs::read(path).expect("read"), expected.content);
    let resumed =
        hfhub_tests::served::assert_resumed_at(&server.request_log(), done, expected.size());
    assert_eq!(resumed.bytes_sent, expected.size() - done);
    server.shutdown().await;
}

/// A cache holding one model with an empty file and a small one, written with hub-cache.
fn empty_file_cache(root: &Path) -> (Repo, String) {
    use hub_cache::hash::{HashKind, hash_bytes};
    use hub_cache::{BlobOrigin, CommitHash, WriteOptions};
    let repo = Repo::model("org/empty").expect("id");
    let commit = "c".repeat(40);
    let writer = Cache::new(root).writer(&repo, WriteOptions::default());
    let commit_hash = CommitHash::new(&commit).expect("40 hex");
    writer.write_ref("main", &commit_hash).expect("ref");
    for (path, content) in [("empty.txt", &b""[..]), ("sub/one.txt", &b"1\n"[..])] {
        let etag = hash_bytes(HashKind::GitSha1, content);
        let blob = writer.create_incomplete_blob(&etag).expect("blob");
        fs::write(&blob.path, content).expect("write");
        writer.publish_blob(&blob.path, &etag).expect("publish");
        writer
            .link_pointer(&commit_hash, path, &etag, BlobOrigin::Downloaded)
            .expect("link");
    }
    (repo, commit)
}

#[tokio::test]
async fn empty_files_download_in_snapshots_and_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (repo, commit) = empty_file_cache(&tmp.path().join("served"));
    let server = Server::builder(tmp.path().join("served"))
        .start()
        .await
        .expect("server");
    let client = Client::builder()
        .with_endpoint(Endpoint::new(server.endpoint()))
        .build()
        .expect("client");
    let downloader = Downloader::new(client, Cache::new(tmp.path().join("ours")));
    let file = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        downloader.download_file(&FileRequest::new(repo.clone(), "empty.txt")),
    )
    .await
    .expect("no hang")
    .expect("download");
    assert_eq!(fs::read(file).expect("read"), b"");
    let snapshot = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        downloader.snapshot(&SnapshotRequest::new(repo).with_revision(&commit)),
    )
    .await
    .expect("no hang")
    .expect("snapshot");
    assert_eq!(
        fs::read(snapshot.join("sub/one.txt")).expect("read"),
        b"1\n"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn large_files_arrive_intact_over_parallel_ranges() {
    let served = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let client = Client::builder()
        .with_endpoint(Endpoint::new(served.server.endpoint()))
        .with_parallel(hub_http::ParallelOptions {
            threshold: 100_000,
            chunk_size: 128 * 1024,
            connections: 4,
            solo_speed: u64::MAX,
        })
        .build()
        .expect("client");
    let downloader = Downloader::new(client, Cache::new(tmp.path()));
    let wikitext = served.fixture.repo("wikitext").expect("wikitext");
    let path = downloader
        .snapshot(&SnapshotRequest::new(repo_of(wikitext)))
        .await
        .expect("snapshot");
    let main = wikitext
        .revisions
        .iter()
        .find(|r| r.refs.contains(&"main".to_owned()))
        .expect("main");
    hfhub_tests::tree::assert_holds(
        &path,
        main.files
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_slice())),
    );
    let ranged = served
        .server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn && r.range.is_some())
        .count();
    assert!(ranged > 4, "several ranged requests: {ranged}");
    served.server.shutdown().await;
}

/// A snapshot into a `local_dir` lists each download folder once for all its files (a listing per
/// file made a flat folder quadratic) and still resumes every file's partial download: three LFS
/// files, two in one folder, each with half its bytes in a planted
/// `<b64>.<etag>.<8hex>.incomplete`, are each asked from that byte, once.
#[tokio::test]
async fn a_local_dir_snapshot_resumes_every_partial_download_of_its_folders() {
    use hfhub_tests::synthetic::{seeded_bytes, write_model};
    use hub_cache::RepoPath;
    use hub_cache::local_dir::LocalDir;
    let tmp = tempfile::tempdir().expect("tempdir");
    let names = ["sub/a.bin", "sub/b.bin", "c.bin"];
    let files: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(seed, name)| {
            (
                (*name).to_owned(),
                seeded_bytes(seed as u64 + 40, 96 * 1024),
                true,
            )
        })
        .collect();
    let served = write_model(
        &tmp.path().join("served"),
        "acme/parts",
        "p-1",
        "main",
        &files,
    )
    .expect("served repo");
    let local = tmp.path().join("local");
    fs::create_dir_all(&local).expect("local");
    let folder = LocalDir::open(&local).expect("local dir");
    for file in &served.files {
        let path = RepoPath::parse(&file.path).expect("path");
        let download = folder.download_dir(&path, true).expect("download folder");
        let partial = format!(
            "{}0badf00d.incomplete",
            folder.incomplete_prefix(&path, &file.etag)
        );
        fs::write(
            download.join(partial),
            &file.content[..file.content.len() / 2],
        )
        .expect("plant a partial download");
    }
    let server = Server::builder(tmp.path().join("served"))
        .start()
        .await
        .expect("server");
    let downloader = Downloader::new(client(&server), Cache::new(tmp.path().join("hub")));
    let request = SnapshotRequest::new(Repo::model("acme/parts").expect("id"))
        .with_local_dir(Some(local.clone()));
    downloader.snapshot(&request).await.expect("snapshot");
    let mut ranges: Vec<(String, Option<String>)> =
        hfhub_tests::served::cdn_records(&server.request_log())
            .into_iter()
            .map(|record| (record.path.clone(), record.range.clone()))
            .collect();
    ranges.sort();
    let half = 48 * 1024;
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    for (_, range) in &ranges {
        assert_eq!(
            range.as_deref(),
            Some(format!("bytes={half}-{}", 96 * 1024 - 1).as_str())
        );
    }
    for file in &served.files {
        assert_eq!(
            fs::read(local.join(&file.path)).expect("file"),
            file.content,
            "{}",
            file.path
        );
    }
    server.shutdown().await;
}
