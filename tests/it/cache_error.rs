//! `hub_cache::Error` as a downstream caller meets it: one function that looks files up, scans,
//! verifies, deletes, locks and writes with `?` into `hub_cache::Error`, then each failure class
//! asked through the error's query methods (not by matching the inner types).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hub_cache::local_dir::LocalDir;
use hub_cache::{Cache, CachedFile, FileLock, Repo, RepoPath, WriteOptions};

use crate::lookup::{commit, put_file};

/// What a caller learnt about a repository, each step through `?` into `hub_cache::Error`.
#[derive(Debug)]
struct Seen {
    config: PathBuf,
    opened_len: u64,
    snapshot: PathBuf,
    commit: Option<String>,
    maybe: CachedFile,
    repos_scanned: usize,
    blobs_to_verify: usize,
    assets: PathBuf,
    freed: usize,
}

/// A cache with `org/model` at `main` (= commit 1) holding `config.json` and `weights/a.bin`.
fn filled_cache(root: &Path) -> Cache {
    let cache = Cache::new(root);
    let repo = Repo::model("org/model").expect("valid id");
    let writer = cache.writer(&repo, WriteOptions::default());
    put_file(&writer, &commit(1), "config.json", b"{}");
    put_file(&writer, &commit(1), "weights/a.bin", b"weights");
    writer.write_ref("main", &commit(1)).expect("write ref");
    cache
}

/// Everything a caller does with the cache, with `?` only.
fn use_the_cache(cache: &Cache, assets_root: &Path) -> Result<Seen, hub_cache::Error> {
    let model = cache.model("org/model");
    let config = model.get("config.json")?;
    let opened_len = model
        .open("weights/a.bin")?
        .metadata()
        .map_or(0, |m| m.len());
    let snapshot = model.snapshot()?.path;
    let commit = model.commit()?;
    let maybe = model.try_get("missing.txt")?;
    let _lock = FileLock::new(cache.root().join(".locks/caller.lock")).acquire()?;
    let report = hub_cache::scan(cache.root())?;
    let plan = hub_cache::verify::plan(cache.root(), &[model.repo()?.clone()])?;
    let assets = hub_cache::cached_assets_path(assets_root, "my-library", None, None)?;
    let etag = hub_cache::Etag::parse(&crate::lookup::etag_of(b"{}"))?;
    let freed = report
        .delete_revisions(&[commit.clone().unwrap_or_default()])
        .execute()?
        .deleted
        .len();
    assert_eq!(etag.as_str().len(), 40);
    Ok(Seen {
        config,
        opened_len,
        snapshot,
        commit,
        maybe,
        repos_scanned: report.repos.len(),
        blobs_to_verify: plan.blobs.len(),
        assets,
        freed,
    })
}

#[test]
fn every_step_of_a_caller_goes_through_one_error_type() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = filled_cache(&tmp.path().join("hub"));
    let seen = use_the_cache(&cache, &tmp.path().join("assets")).expect("all steps succeed");
    assert!(seen.config.ends_with("config.json"), "{seen:?}");
    assert!(seen.config.starts_with(cache.root()), "{seen:?}");
    assert_eq!(seen.opened_len, b"weights".len() as u64);
    assert!(seen.snapshot.ends_with(commit(1).as_str()), "{seen:?}");
    assert_eq!(seen.commit.as_deref(), Some(commit(1).as_str()));
    assert_eq!(seen.maybe, CachedFile::Unknown);
    assert_eq!(seen.repos_scanned, 1);
    assert_eq!(seen.blobs_to_verify, 2);
    assert!(
        seen.assets.ends_with("my-library/default/default"),
        "{seen:?}"
    );
    assert!(seen.freed > 0, "{seen:?}");
    assert!(!cache.root().join("models--org--model").exists());
}

#[test]
fn a_file_or_snapshot_not_cached_names_repo_revision_and_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = filled_cache(tmp.path());

    let error = cache
        .model("org/model")
        .revision("v2")
        .get("config.json")
        .expect_err("no ref v2");
    assert!(error.is_not_cached() && error.is_not_found(), "{error}");
    assert_eq!(error.repo().map(|r| r.id.as_str()), Some("org/model"));
    assert_eq!(error.revision(), Some("v2"));
    assert_eq!(error.filename(), Some("config.json"));
    let message = error.to_string();
    assert!(
        message.contains("config.json") && message.contains("v2") && message.contains("org/model"),
        "{message}"
    );

    let error = cache
        .dataset("org/model")
        .snapshot()
        .expect_err("no dataset");
    assert!(error.is_not_cached(), "{error}");
    assert_eq!(error.filename(), None);

    let error = cache
        .model("org/model")
        .open("absent.bin")
        .expect_err("not cached");
    assert!(error.is_not_cached(), "{error}");
    assert_eq!(error.filename(), Some("absent.bin"));
    assert!(!error.is_invalid_input() && !error.is_timeout() && !error.is_refused_link());
}

#[test]
fn refused_arguments_are_invalid_input_before_any_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = filled_cache(tmp.path());

    let error = cache.model("a/b/c").get("config.json").expect_err("bad id");
    assert!(error.is_invalid_input() && !error.is_not_found(), "{error}");

    let error = cache
        .model("org/model")
        .get("../escape")
        .expect_err("bad name");
    assert!(error.is_invalid_input(), "{error}");
    assert_eq!(error.filename(), Some("../escape"));

    let repo = Repo::model("org/model").expect("valid id");
    let error: hub_cache::Error = cache
        .writer(&repo, WriteOptions::default())
        .write_ref("../main", &commit(2))
        .expect_err("a revision that leaves refs/")
        .into();
    assert!(error.is_invalid_input(), "{error}");
    assert_eq!(error.revision(), Some("../main"));

    let error: hub_cache::Error = hub_cache::cached_assets_path(tmp.path(), "..", None, None)
        .expect_err("`..`")
        .into();
    assert!(error.is_invalid_input(), "{error}");

    let error: hub_cache::Error = "bucket/x/y"
        .parse::<hub_cache::RepoType>()
        .expect_err("no such type")
        .into();
    assert!(error.is_invalid_input(), "{error}");
}

#[test]
fn missing_cache_locks_and_planted_links_are_told_apart() {
    let tmp = tempfile::tempdir().expect("tempdir");

    let missing = tmp.path().join("no-cache-here");
    let error: hub_cache::Error = hub_cache::scan(&missing).expect_err("no cache").into();
    assert!(error.is_not_found() && !error.is_not_cached(), "{error}");
    assert!(error.path().is_some_and(|p| p.ends_with("no-cache-here")));

    let error: hub_cache::Error = hub_cache::verify::plan(&missing, &[])
        .expect_err("no cache")
        .into();
    assert!(error.is_not_found(), "{error}");
    assert!(error.io_error().is_some(), "{error}");

    let lock_path = tmp.path().join("held.lock");
    let _held = FileLock::new(&lock_path).acquire().expect("first lock");
    let error: hub_cache::Error = FileLock::new(&lock_path)
        .with_timeout(Duration::from_millis(100))
        .acquire()
        .expect_err("held elsewhere")
        .into();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.path(), Some(lock_path.as_path()));

    let local = tmp.path().join("local");
    std::fs::create_dir_all(local.join(".cache")).expect("mkdir");
    std::os::unix::fs::symlink(tmp.path(), local.join(".cache/huggingface")).expect("plant a link");
    let filename = RepoPath::parse("config.json").expect("valid path");
    let error: hub_cache::Error = LocalDir::open(&local)
        .and_then(|dir| dir.download_dir(&filename, true))
        .expect_err("a planted link")
        .into();
    assert!(error.is_refused_link(), "{error}");
    assert!(
        error
            .path()
            .is_some_and(|p| p.ends_with(".cache/huggingface")),
        "{error}"
    );
}

/// Every operation's I/O failure answers `is_permission_denied` and names its path. (The tests run
/// as root here, which no permission stops, so the OS error is made rather than provoked.)
#[test]
fn an_os_refusal_from_any_operation_is_permission_denied_and_names_its_path() {
    use hub_cache::assets::AssetsError;
    use hub_cache::delete::{DeleteError, PathKind};
    use hub_cache::fs::{DirError, ReadError};
    use hub_cache::local_dir::LocalDirError;
    use hub_cache::lock::LockError;
    use hub_cache::lookup::{LookupError, OfflineError};
    use hub_cache::scan::ScanError;
    use hub_cache::tree::WriteTreeError;
    use hub_cache::verify::VerifyError;
    use hub_cache::write::WriteError;
    use std::io::{Error as IoError, ErrorKind};

    let path = PathBuf::from("/cache/models--org--model/refs/main");
    let denied = || IoError::from(ErrorKind::PermissionDenied);
    let p = || path.clone();
    let errors: Vec<hub_cache::Error> = vec![
        LookupError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        OfflineError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        ReadError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        DirError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        WriteError::Io {
            action: "write",
            path: p(),
            source: denied(),
        }
        .into(),
        LockError::Io {
            action: "open",
            path: p(),
            source: denied(),
        }
        .into(),
        AssetsError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        VerifyError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        LocalDirError::Io {
            action: "create",
            path: p(),
            source: denied(),
        }
        .into(),
        LocalDirError::Unsafe(DirError::Io {
            path: p(),
            source: denied(),
        })
        .into(),
        DeleteError {
            kind: PathKind::Ref,
            path: p(),
            source: denied(),
        }
        .into(),
        ScanError::Io {
            path: p(),
            source: denied(),
        }
        .into(),
        WriteTreeError {
            path: p(),
            source: denied(),
        }
        .into(),
    ];
    for error in &errors {
        assert!(error.is_permission_denied(), "{error:?}");
        assert!(
            !error.is_not_found() && !error.is_invalid_input(),
            "{error:?}"
        );
        assert_eq!(error.path(), Some(path.as_path()), "{error:?}");
        assert!(error.to_string().contains("refs/main"), "{error}");
    }
    let missing: hub_cache::Error = ScanError::Io {
        path: p(),
        source: IoError::from(ErrorKind::NotFound),
    }
    .into();
    assert!(missing.is_not_found() && !missing.is_permission_denied());
}
