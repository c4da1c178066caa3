//! Downloads against the in-memory fake: request counts, cache contents, fallbacks, resume, local_dir.

use std::fs;
use std::sync::{Arc, Mutex};

use hfhub_tests::tree::pointer_target;
use hub_cache::Cache;
use hub_cache::RepoPath;
use hub_cache::local_dir::LocalDir;
use hub_sync::local_dir::LocalPaths;
use hub_sync::{Downloader, Error, Event, FileRequest, SnapshotRequest};

use crate::support::*;

/// Retries as upstream (five), without the waiting.
fn fast_retry() -> hub_http::RetryPolicy {
    hub_http::RetryPolicy {
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(2),
        ..hub_http::RetryPolicy::default()
    }
}

fn downloader(cache: &std::path::Path) -> Downloader<Fake> {
    Downloader::new(Fake::standard(), Cache::new(cache)).with_retry(fast_retry())
}

#[tokio::test]
async fn a_file_by_branch_is_linked_and_its_ref_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let path = d
        .download_file(&FileRequest::new(repo(), "sub/dir/notes.txt"))
        .await
        .expect("download");
    let root = tmp.path().canonicalize().expect("canonical");
    let dir = root.join("models--org--fake");
    assert_eq!(
        path,
        dir.join("snapshots").join(MAIN).join("sub/dir/notes.txt")
    );
    assert_eq!(fs::read(&path).expect("read"), b"deep\n");
    let etag = d.remote().file(MAIN, "sub/dir/notes.txt").etag();
    assert_eq!(
        fs::read_link(&path).expect("symlink").to_string_lossy(),
        pointer_target("sub/dir/notes.txt", &etag)
    );
    assert_eq!(
        fs::read_to_string(dir.join("refs/main")).expect("ref"),
        MAIN
    );
    assert!(root.join("CACHEDIR.TAG").is_file());
    assert!(
        root.join(".locks/models--org--fake")
            .join(format!("{etag}.lock"))
            .is_file()
    );
    assert_eq!(d.remote().count("HEAD"), 1);
    assert_eq!(d.remote().count("GET"), 1);
}

#[tokio::test]
async fn a_cached_commit_revision_makes_zero_requests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let request = FileRequest::new(repo(), "config.json").with_revision(MAIN);
    let first = d.download_file(&request).await.expect("download");
    d.remote().clear_log();
    let second = d.download_file(&request).await.expect("cached");
    assert_eq!(first, second);
    assert_eq!(d.remote().log(), Vec::<String>::new());
    // A branch still asks (HEAD) but does not GET again.
    d.download_file(&FileRequest::new(repo(), "config.json"))
        .await
        .expect("by branch");
    assert_eq!(d.remote().log(), ["HEAD main/config.json".to_owned()]);
}

#[tokio::test]
async fn two_revisions_share_one_blob_downloaded_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let a = d
        .download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect("main");
    let b = d
        .download_file(&FileRequest::new(repo(), "model.bin").with_revision("v1"))
        .await
        .expect("v1");
    assert_ne!(a, b);
    assert_eq!(
        fs::canonicalize(&a).expect("a"),
        fs::canonicalize(&b).expect("b")
    );
    assert_eq!(d.remote().count("GET"), 1);
    assert_eq!(d.remote().count("HEAD"), 2);
}

#[tokio::test]
async fn a_missing_file_writes_no_exist_and_the_ref_and_names_everything() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let error = d
        .download_file(&FileRequest::new(repo(), "nope.txt"))
        .await
        .expect_err("missing");
    assert!(matches!(error, Error::EntryNotFound { .. }), "{error:?}");
    let message = error.to_string();
    for part in ["nope.txt", "org/fake", "main"] {
        assert!(message.contains(part), "{message}");
    }
    let dir = tmp.path().join("models--org--fake");
    assert!(dir.join(".no_exist").join(MAIN).join("nope.txt").is_file());
    assert_eq!(
        fs::read_to_string(dir.join("refs/main")).expect("ref"),
        MAIN
    );
}

#[tokio::test]
async fn an_unreachable_hub_falls_back_to_the_cache_and_raises_otherwise() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let cached = d
        .download_file(&FileRequest::new(repo(), "config.json"))
        .await
        .expect("download");
    d.remote().set_unreachable(true);
    assert_eq!(
        d.download_file(&FileRequest::new(repo(), "config.json"))
            .await
            .expect("fallback"),
        cached
    );
    d.remote().clear_log();
    let error = d
        .download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect_err("not cached");
    assert!(error.is_not_cached(), "{error:?}");
    assert_eq!(
        d.remote().count("HEAD"),
        1 + 6,
        "one try, then one retried request (5 retries)"
    );
    d.remote().clear_log();
    let error = d
        .download_file(&FileRequest::new(repo(), "config.json").with_force_download(true))
        .await
        .expect_err("force");
    assert!(matches!(error, Error::ForceDownload { .. }), "{error:?}");
    assert_eq!(d.remote().count("HEAD"), 1, "no retry when forced");
}

#[tokio::test]
async fn a_transient_failure_with_nothing_cached_is_retried() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    d.remote().fail_next_resolves(3);
    let path = d
        .download_file(&FileRequest::new(repo(), "config.json"))
        .await
        .expect("retried");
    assert!(path.is_file());
    assert_eq!(d.remote().count("HEAD"), 4);
}

#[tokio::test]
async fn offline_mode_answers_from_the_cache_without_any_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let snapshot = d
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect("snapshot");
    d.remote().clear_log();
    let d = d.with_offline(true);
    assert_eq!(
        d.snapshot(&SnapshotRequest::new(repo()))
            .await
            .expect("offline"),
        snapshot
    );
    d.download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect("offline file");
    let error = d
        .snapshot(&SnapshotRequest::new(repo()).with_revision("v1"))
        .await
        .expect_err("v1 never cached");
    assert!(matches!(error, Error::Offline { .. }), "{error:?}");
    assert_eq!(d.remote().log(), Vec::<String>::new());
}

#[tokio::test]
async fn offline_snapshot_checks_completeness_against_the_cached_listing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    d.snapshot(&SnapshotRequest::new(repo()).with_allow(Some(vec!["*.json".into()])))
        .await
        .expect("partial snapshot");
    let d = d.with_offline(true);
    d.snapshot(&SnapshotRequest::new(repo()).with_allow(Some(vec!["*.json".into()])))
        .await
        .expect("the json files are complete");
    let error = d
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect_err("incomplete");
    assert!(
        error.to_string().contains("offline")
            && format!("{:?}", error).contains("IncompleteSnapshot"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_second_snapshot_run_makes_no_get_and_a_commit_run_no_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let path = d
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect("snapshot");
    assert_eq!(
        path,
        tmp.path()
            .canonicalize()
            .expect("c")
            .join("models--org--fake/snapshots")
            .join(MAIN)
    );
    assert_eq!(d.remote().count("HEAD"), 0, "no per-file HEAD");
    assert_eq!(d.remote().count("INFO"), 1);
    assert_eq!(d.remote().count("TREE"), 1);
    assert_eq!(d.remote().count("GET"), 3);
    assert!(
        tmp.path()
            .join("models--org--fake/trees")
            .join(format!("{MAIN}.json"))
            .is_file()
    );
    d.remote().clear_log();
    d.snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect("again");
    assert_eq!(d.remote().log(), ["INFO main".to_owned()]);
    d.remote().clear_log();
    d.snapshot(&SnapshotRequest::new(repo()).with_revision(MAIN))
        .await
        .expect("by commit");
    assert_eq!(d.remote().log(), Vec::<String>::new());
}

#[tokio::test]
async fn snapshot_patterns_select_files_and_events_report_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let d = downloader(tmp.path())
        .with_max_workers(2)
        .with_events(move |e: &Event| sink.lock().expect("events").push(e.clone()));
    let path = d
        .snapshot(
            &SnapshotRequest::new(repo())
                .with_allow(Some(vec!["sub/".into(), "*.bin".into()]))
                .with_ignore(Some(vec!["*.txt".into()])),
        )
        .await
        .expect("snapshot");
    assert!(path.join("model.bin").is_file());
    assert!(!path.join("sub/dir/notes.txt").exists());
    assert!(!path.join("config.json").exists());
    let events = events.lock().expect("events").clone();
    assert!(
        matches!(
            &events[0],
            Event::SnapshotStarted {
                files: 1,
                bytes: 50_000,
                ..
            }
        ),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, Event::FileFinished { filename, downloaded: true, .. } if filename == "model.bin")));
}

#[tokio::test]
async fn an_interrupted_download_resumes_from_its_partial_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    d.remote().cut_next_download_after(20_000);
    let error = d
        .download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect_err("cut");
    assert!(matches!(error, Error::Download { .. }), "{error:?}");
    let blobs = tmp.path().join("models--org--fake/blobs");
    let etag = d.remote().file(MAIN, "model.bin").etag();
    let partial: Vec<_> = fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .map(|e| e.file_name().into_string().expect("utf8"))
        .collect();
    assert_eq!(partial.len(), 1, "{partial:?}");
    assert!(partial[0].starts_with(&format!("{etag}.")) && partial[0].ends_with(".incomplete"));
    assert!(
        !tmp.path()
            .join("models--org--fake/snapshots")
            .join(MAIN)
            .join("model.bin")
            .exists()
    );

    let path = d
        .download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect("resumed");
    assert_eq!(
        fs::read(path).expect("read"),
        d.remote().file(MAIN, "model.bin").content
    );
    assert_eq!(d.remote().bytes_served(), 50_000, "no byte fetched twice");
    assert!(
        d.remote()
            .log()
            .last()
            .expect("get")
            .ends_with("from 20000")
    );
    let left: Vec<_> = fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from(&etag)]);
}

#[tokio::test]
async fn a_corrupt_partial_file_is_never_published() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let etag = d.remote().file(MAIN, "model.bin").etag();
    let blobs = tmp.path().join("models--org--fake/blobs");
    fs::create_dir_all(&blobs).expect("blobs");
    fs::write(
        blobs.join(format!("{etag}.0badf00d.incomplete")),
        vec![0xffu8; 1000],
    )
    .expect("partial");
    // The resumed file fails verification: it is discarded and the file downloaded again from 0.
    d.download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect("downloaded again from byte 0");
    let left: Vec<_> = fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from(&etag)],
        "the bad partial is gone"
    );
    assert_eq!(
        fs::read(blobs.join(&etag)).expect("blob"),
        d.remote().file(MAIN, "model.bin").content
    );
}

#[tokio::test]
async fn force_download_fetches_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let request = FileRequest::new(repo(), "config.json").with_revision(MAIN);
    d.download_file(&request).await.expect("first");
    d.download_file(&request.clone().with_force_download(true))
        .await
        .expect("forced");
    assert_eq!(d.remote().count("GET"), 2);
}

#[tokio::test]
async fn a_path_escaping_the_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    for bad in ["../x", "a/../../x", "/etc/passwd"] {
        let error = d
            .download_file(
                &FileRequest::new(repo(), bad).with_local_dir(Some(tmp.path().join("local"))),
            )
            .await
            .expect_err(bad);
        assert!(
            matches!(error, Error::InvalidFilename { .. }),
            "{bad}: {error:?}"
        );
        let error = d
            .download_file(&FileRequest::new(repo(), bad))
            .await
            .expect_err(bad);
        assert!(
            matches!(error, Error::InvalidFilename { .. }),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(d.remote().log(), Vec::<String>::new());
}

#[tokio::test]
async fn local_dir_writes_metadata_and_skips_unchanged_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join("local");
    let d = downloader(&tmp.path().join("cache"));
    let request = FileRequest::new(repo(), "sub/dir/notes.txt").with_local_dir(Some(local.clone()));
    let path = d.download_file(&request).await.expect("download");
    assert_eq!(
        path,
        local.canonicalize().expect("c").join("sub/dir/notes.txt")
    );
    assert_eq!(fs::read(&path).expect("read"), b"deep\n");
    let hf = local.join(".cache/huggingface");
    assert_eq!(
        fs::read_to_string(hf.join(".gitignore")).expect("gitignore"),
        "*"
    );
    assert!(hf.join("CACHEDIR.TAG").is_file());
    let paths = LocalPaths::new(&local, "sub/dir/notes.txt");
    assert_eq!(
        paths.metadata,
        hf.join("download/sub/dir/notes.txt.metadata")
    );
    let text = fs::read_to_string(&paths.metadata).expect("metadata");
    let lines: Vec<&str> = text.split('\n').collect();
    let etag = d.remote().file(MAIN, "sub/dir/notes.txt").etag();
    assert_eq!(lines[..2], [MAIN, etag.as_str()]);
    assert!(lines[2].parse::<f64>().is_ok() && lines[2].contains('.') && lines[3].is_empty());
    let notes = RepoPath::parse("sub/dir/notes.txt").expect("path");
    let local_dir = LocalDir::open(&local).expect("local dir");
    assert!(local_dir.read_metadata(&notes).is_some());
    assert!(
        !tmp.path().join("cache/models--org--fake/blobs").exists(),
        "local_dir mode does not fill the cache"
    );

    // Unchanged: HEAD only. By commit: nothing at all.
    d.remote().clear_log();
    d.download_file(&request).await.expect("again");
    assert_eq!(d.remote().log(), ["HEAD main/sub/dir/notes.txt".to_owned()]);
    d.remote().clear_log();
    d.download_file(&request.clone().with_revision(MAIN))
        .await
        .expect("by commit");
    assert_eq!(d.remote().log(), Vec::<String>::new());

    // Changed on disk after the metadata (mtime later): fetched again.
    fs::write(&path, b"edited\n").expect("edit");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_modified(later)
        .expect("mtime");
    d.remote().clear_log();
    d.download_file(&request).await.expect("refetch");
    assert_eq!(d.remote().count("GET"), 1);
    assert_eq!(fs::read(&path).expect("read"), b"deep\n");
}

#[tokio::test]
async fn local_dir_adopts_an_lfs_file_without_metadata_by_hashing_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join("local");
    let d = downloader(&tmp.path().join("cache"));
    fs::create_dir_all(&local).expect("local");
    fs::write(
        local.join("model.bin"),
        d.remote().file(MAIN, "model.bin").content,
    )
    .expect("write");
    fs::write(local.join("config.json"), b"{\"v\": 2}\n").expect("write");
    let snapshot = d
        .snapshot(&SnapshotRequest::new(repo()).with_local_dir(Some(local.clone())))
        .await
        .expect("snapshot");
    assert_eq!(snapshot, local.canonicalize().expect("c"));
    // The LFS file hashed equal (kept); the regular file is fetched again (never hashed, as upstream).
    let gets: Vec<String> = d
        .remote()
        .log()
        .into_iter()
        .filter(|l| l.starts_with("GET"))
        .collect();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets.iter().all(|g| !g.contains("model.bin")), "{gets:?}");
    assert!(
        local
            .join(".cache/huggingface/trees")
            .join(format!("{MAIN}.json"))
            .is_file()
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("cache/models--org--fake/refs/main")).expect("ref"),
        MAIN
    );
    assert!(LocalPaths::new(&local, "model.bin").metadata.is_file());
}

#[tokio::test]
async fn local_dir_copies_a_file_already_in_the_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(&tmp.path().join("cache"));
    d.download_file(&FileRequest::new(repo(), "model.bin"))
        .await
        .expect("cache");
    d.remote().clear_log();
    let local = tmp.path().join("local");
    let path = d
        .download_file(&FileRequest::new(repo(), "model.bin").with_local_dir(Some(local)))
        .await
        .expect("copy");
    assert!(
        !fs::symlink_metadata(&path)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(d.remote().count("GET"), 0);
}

#[test]
fn the_blocking_wrapper_downloads_without_a_runtime() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = hub_sync::blocking::Downloader::new(downloader(tmp.path())).expect("runtime");
    let path = d
        .download_file(&FileRequest::new(repo(), "config.json"))
        .expect("download");
    assert_eq!(fs::read(path).expect("read"), b"{\"v\": 2}\n");
    let snapshot = d.snapshot(&SnapshotRequest::new(repo())).expect("snapshot");
    assert!(snapshot.join("model.bin").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_downloads_of_one_blob_fetch_it_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let d = d.clone();
            let revision = if i % 2 == 0 { "main" } else { "v1" };
            tokio::spawn(async move {
                d.download_file(&FileRequest::new(repo(), "model.bin").with_revision(revision))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("download");
    }
    assert_eq!(d.remote().count("GET"), 1, "{:?}", d.remote().log());
}

#[tokio::test]
async fn snapshot_falls_back_to_the_cache_when_the_hub_is_unreachable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = downloader(tmp.path());
    let online = d
        .snapshot(&SnapshotRequest::new(repo()).with_revision("v1"))
        .await
        .expect("snapshot");
    d.remote().set_unreachable(true);
    assert_eq!(
        d.snapshot(&SnapshotRequest::new(repo()).with_revision("v1"))
            .await
            .expect("from the cache"),
        online
    );
    let error = d
        .snapshot(&SnapshotRequest::new(repo()))
        .await
        .expect_err("main never downloaded");
    assert!(matches!(error, Error::Remote { .. }), "{error:?}");
    assert!(error.to_string().contains("main"), "{error}");
    d.remote().set_unreachable(false);
    let error = d
        .snapshot(&SnapshotRequest::new(repo()).with_revision("nope"))
        .await
        .expect_err("no such revision");
    assert!(matches!(error, Error::RevisionNotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("`nope`"), "{error}");
}

#[tokio::test]
async fn local_dir_offline_returns_the_existing_file_or_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join("local");
    let d = downloader(&tmp.path().join("cache"));
    let request = FileRequest::new(repo(), "config.json").with_local_dir(Some(local.clone()));
    let path = d.download_file(&request).await.expect("download");
    let d = d.with_offline(true);
    d.remote().clear_log();
    assert_eq!(d.download_file(&request).await.expect("existing"), path);
    let error = d
        .download_file(&FileRequest::new(repo(), "model.bin").with_local_dir(Some(local)))
        .await
        .expect_err("not there");
    assert!(error.to_string().contains("model.bin"), "{error}");
    assert_eq!(d.remote().log(), Vec::<String>::new());
}
