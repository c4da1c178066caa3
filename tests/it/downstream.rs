//! Issue 15: a crate outside the workspace (`tests/downstream/`, path dependencies only) downloads a
//! file, a snapshot with patterns and a dataset file, and looks a file up offline, each in one
//! expression, with the async and the blocking API, against `hub-server` on 127.0.0.1; and the
//! environment variables a user already sets change what that one-line call does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use hfhub_tests::fixtures::{Fixture, FixtureFile, generate};
use hfhub_tests::oracle::{target_dir, workspace_root};
use hub_cache::{Repo, RepoType};
use hub_server::Server;

/// Builds the downstream program once per test process; returns its binary.
fn downstream_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = target_dir().join("downstream");
        let manifest = workspace_root().join("tests/downstream/Cargo.toml");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--locked", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {} failed", manifest.display());
        target.join("debug/hfhub-downstream")
    })
}

/// The downstream program with a clean environment: no HF_* variable but `vars`, `HF_HOME` in `home`.
fn run(home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(downstream_binary());
    for var in hub_cache::env::ALL {
        command.env_remove(var.name);
    }
    command.env("HF_HOME", home).env_remove("RUST_LOG");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
        .args(args)
        .output()
        .expect("the downstream program runs")
}

/// The printed path, after checking the exit status.
fn path_of(output: &Output) -> PathBuf {
    assert!(
        output.status.success(),
        "the downstream program failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim_end())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The files of a repo's `main` revision in the fixture.
fn main_files<'a>(fixture: &'a Fixture, repo_id: &str) -> &'a [FixtureFile] {
    let repo = fixture.repo(repo_id).expect("fixture repo");
    let commit = &repo.refs["main"];
    &repo
        .revisions
        .iter()
        .find(|r| &r.commit == commit)
        .expect("main revision")
        .files
}

fn file<'a>(files: &'a [FixtureFile], path: &str) -> &'a FixtureFile {
    files.iter().find(|f| f.path == path).expect("fixture file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_crate_downloads_and_looks_up_in_one_expression_with_both_apis() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = generate(&tmp.path().join("served"), "big-mixed").expect("fixture");
    let server = Server::builder(&fixture.cache_dir)
        .start()
        .await
        .expect("server");
    let endpoint = server.endpoint();
    let model = main_files(&fixture, "acme-org/tiny-bert").to_vec();
    let readme = file(&model, "config.json").clone();
    let dataset_file = file(main_files(&fixture, "acme-org/reviews"), "data/train.csv").clone();
    let home = tmp.path().join("home");

    tokio::task::spawn_blocking(move || {
        for (mode, repo, arg, want) in [
            ("file", "acme-org/tiny-bert", "config.json", &readme),
            (
                "blocking-file",
                "acme-org/tiny-bert",
                "config.json",
                &readme,
            ),
            (
                "dataset-file",
                "acme-org/reviews",
                "data/train.csv",
                &dataset_file,
            ),
            (
                "blocking-dataset-file",
                "acme-org/reviews",
                "data/train.csv",
                &dataset_file,
            ),
            (
                "blocking-in-runtime",
                "acme-org/tiny-bert",
                "config.json",
                &readme,
            ),
        ] {
            let cache = tmp.path().join(format!("cache-{mode}"));
            let vars = [
                ("HF_ENDPOINT", endpoint.as_str()),
                ("HF_HUB_CACHE", cache.to_str().expect("utf-8")),
            ];
            let path = path_of(&run(&home, &vars, &[mode, repo, arg]));
            assert!(path.starts_with(&cache), "{mode}: {}", path.display());
            assert_eq!(std::fs::read(&path).expect("read"), want.content, "{mode}");
            if repo == "acme-org/tiny-bert" {
                // Offline lookup with hub-cache alone finds what the download stored, and nothing else.
                assert_eq!(path_of(&run(&home, &vars, &["cached", repo, arg])), path);
                let missing = run(&home, &vars, &["cached", repo, "no-such-file.txt"]);
                assert_eq!(String::from_utf8_lossy(&missing.stdout).trim(), "none");
            }
        }
        for mode in ["snapshot", "blocking-snapshot"] {
            let cache = tmp.path().join(format!("cache-{mode}"));
            let vars = [
                ("HF_ENDPOINT", endpoint.as_str()),
                ("HF_HUB_CACHE", cache.to_str().expect("utf-8")),
            ];
            let folder = path_of(&run(&home, &vars, &[mode, "acme-org/tiny-bert", "*.json"]));
            let got: Vec<String> = walkdir::WalkDir::new(&folder)
                .into_iter()
                .flatten()
                .filter(|e| !e.file_type().is_dir())
                .map(|e| {
                    let relative = e.path().strip_prefix(&folder).expect("below");
                    relative.to_string_lossy().into_owned()
                })
                .collect();
            let want: Vec<String> = model
                .iter()
                .filter(|f| f.path.ends_with(".json"))
                .map(|f| f.path.clone())
                .collect();
            assert!(!want.is_empty());
            assert_eq!(got, want, "{mode}: only the files the pattern selects");
            for name in &want {
                assert_eq!(
                    std::fs::read(folder.join(name)).expect("read"),
                    file(&model, name).content
                );
            }
        }
    })
    .await
    .expect("the checks ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_changes_what_the_one_line_call_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = generate(&tmp.path().join("served"), "big-mixed").expect("fixture");
    let gated = Repo::new(
        RepoType::Model,
        hub_cache::RepoId::new("acme-org/tiny-bert").expect("id"),
    );
    let server = Server::builder(&fixture.cache_dir)
        .with_token("hf_downstream_secret")
        .with_gated(gated)
        .start()
        .await
        .expect("server");
    let endpoint = server.endpoint();
    // A loopback port with nothing listening: any request there fails at once.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let readme = file(main_files(&fixture, "acme-org/tiny-bert"), "config.json")
        .content
        .clone();
    let home = tmp.path().join("home");
    let args = ["blocking-file", "acme-org/tiny-bert", "config.json"];

    tokio::task::spawn_blocking(move || {
        let cache = tmp.path().join("cache");
        let cache_str = cache.to_str().expect("utf-8").to_owned();
        let with = |extra: &[(&str, &str)]| {
            let mut vars = vec![("HF_HUB_CACHE", cache_str.as_str())];
            vars.extend_from_slice(extra);
            run(&home, &vars, &args)
        };

        // HF_TOKEN: the gated repo needs it.
        let refused = with(&[("HF_ENDPOINT", &endpoint)]);
        assert!(!refused.status.success(), "gated without a token");
        assert!(
            !cache
                .join("models--acme-org--tiny-bert/snapshots")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        );
        // HF_HUB_OFFLINE: with nothing cached, offline fails without a request.
        let offline_empty = with(&[("HF_ENDPOINT", &endpoint), ("HF_HUB_OFFLINE", "1")]);
        assert!(!offline_empty.status.success());
        assert!(
            stderr(&offline_empty).contains("offline"),
            "{}",
            stderr(&offline_empty)
        );
        // HF_ENDPOINT: nothing listens there.
        let dead_endpoint = with(&[("HF_ENDPOINT", &dead), ("HF_TOKEN", "hf_downstream_secret")]);
        assert!(!dead_endpoint.status.success());
        // With the token and the live endpoint, the file arrives, under HF_HUB_CACHE, as a symlink.
        let path = path_of(&with(&[
            ("HF_ENDPOINT", &endpoint),
            ("HF_TOKEN", "hf_downstream_secret"),
        ]));
        assert!(path.starts_with(&cache), "{}", path.display());
        assert_eq!(std::fs::read(&path).expect("read"), readme);
        assert!(
            path.symlink_metadata()
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        // HF_HUB_OFFLINE with the file cached: answered from the cache, the endpoint unused.
        let offline = path_of(&with(&[("HF_ENDPOINT", &dead), ("HF_HUB_OFFLINE", "1")]));
        assert_eq!(offline, path);
        // HF_HUB_DISABLE_SYMLINKS: another cache gets a plain file.
        let plain_cache = tmp.path().join("plain");
        let plain = path_of(&run(
            &home,
            &[
                ("HF_HUB_CACHE", plain_cache.to_str().expect("utf-8")),
                ("HF_ENDPOINT", &endpoint),
                ("HF_TOKEN", "hf_downstream_secret"),
                ("HF_HUB_DISABLE_SYMLINKS", "1"),
            ],
            &args,
        ));
        assert!(plain.starts_with(&plain_cache));
        let kind = plain.symlink_metadata().expect("stat").file_type();
        assert!(kind.is_file() && !kind.is_symlink());
        assert_eq!(std::fs::read(&plain).expect("read"), readme);
    })
    .await
    .expect("the checks ran");
}
