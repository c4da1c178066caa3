//! `hfhub download` as a user runs it, against hub-server serving BIG_MIXED on 127.0.0.1.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hfhub_tests::fixtures::{self, BIG_MIXED, Fixture};
use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_server::fault::{Fault, FaultKind};
use hub_server::{BlockingServer, Origin, Server};

const TOKEN: &str = "hf_cli_test_token";

struct Setup {
    tmp: tempfile::TempDir,
    fixture: Fixture,
    server: BlockingServer,
}

fn setup(faults: Vec<Fault>) -> Setup {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
    let mut builder = Server::builder(&fixture.cache_dir).with_token(TOKEN);
    for fault in faults {
        builder = builder.with_fault(fault);
    }
    let server = builder.start_blocking().expect("server");
    Setup {
        tmp,
        fixture,
        server,
    }
}

impl Setup {
    fn cache(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    /// `hfhub download ARGS` with a clean environment pointing at the server.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
        for var in hub_cache::env::ALL {
            command.env_remove(var.name);
        }
        command
            .env("HF_HOME", self.tmp.path().join("home"))
            .env("HF_HUB_CACHE", self.cache())
            .env("HF_ENDPOINT", self.server.endpoint())
            .env("HF_TOKEN", TOKEN)
            .env_remove("RUST_LOG")
            .arg("download")
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run hfhub")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The single line on stdout, as a path.
fn printed_path(output: &Output) -> PathBuf {
    assert!(output.status.success(), "stderr: {}", stderr(output));
    let out = stdout(output);
    assert_eq!(out.matches('\n').count(), 1, "exactly one line: {out:?}");
    PathBuf::from(out.trim_end_matches('\n'))
}

#[test]
fn one_file_prints_exactly_its_path() {
    let s = setup(vec![]);
    let output = s.run(&["gpt2", "config.json"]);
    let path = printed_path(&output);
    let main = &s.fixture.repo("gpt2").expect("gpt2").refs["main"];
    assert_eq!(
        path,
        s.cache()
            .canonicalize()
            .expect("cache")
            .join("models--gpt2/snapshots")
            .join(main)
            .join("config.json")
    );
    let served = s
        .fixture
        .cache_dir
        .join("models--gpt2/snapshots")
        .join(main)
        .join("config.json");
    assert_eq!(
        fs::read(&path).expect("read"),
        fs::read(served).expect("served")
    );
}

#[test]
fn quiet_prints_nothing_on_stderr_and_the_env_var_turns_bars_off() {
    let s = setup(vec![]);
    let output = s.run(&["--quiet", "acme-org/tiny-bert", "--revision", "dev"]);
    printed_path(&output);
    assert_eq!(stderr(&output), "");
    let output = s
        .command(&["gpt2", "--include", "*.json"])
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .output()
        .expect("run");
    printed_path(&output);
    assert_eq!(stderr(&output), "");
}

#[test]
fn snapshots_take_filenames_as_allow_patterns_or_include_exclude() {
    let s = setup(vec![]);
    let path = printed_path(&s.run(&[
        "--repo-type",
        "dataset",
        "wikitext",
        "README.md",
        "wikitext-2-raw-v1/",
    ]));
    let wikitext = s
        .fixture
        .repos
        .iter()
        .find(|r| r.repo_id == "wikitext")
        .expect("wikitext");
    assert_eq!(
        path,
        s.cache()
            .canonicalize()
            .expect("cache")
            .join("datasets--wikitext/snapshots")
            .join(&wikitext.refs["main"])
    );
    assert!(path.join("README.md").is_file());
    assert!(
        path.join("wikitext-2-raw-v1/test-00000-of-00001.parquet")
            .is_file()
    );

    // A single folder is a pattern, not a file name.
    let path = printed_path(&s.run(&["acme-org/tiny-bert", "données/", "--revision", "dev"]));
    assert_eq!(walk(&path), ["données/résumé.txt"]);

    let path = printed_path(&s.run(&[
        "acme-org/tiny-bert",
        "--revision",
        "dev",
        "--include",
        "*.txt",
        "*.json",
        "--exclude",
        "nested/*",
    ]));
    let mut files: Vec<String> = walk(&path);
    files.sort();
    assert_eq!(files, ["config.json", "données/résumé.txt", "vocab.txt"]);
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if fs::metadata(&path).expect("meta").is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}

#[test]
fn a_missing_file_exits_non_zero_naming_repo_revision_and_file() {
    let s = setup(vec![]);
    let output = s.run(&["gpt2", "nope/missing.bin", "--revision", "v1.0"]);
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    for part in ["gpt2", "v1.0", "nope/missing.bin"] {
        assert!(message.contains(part), "{message}");
    }
    let output = s.run(&["acme-org/nothing", "config.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("acme-org/nothing"),
        "{}",
        stderr(&output)
    );
    let output = s.run(&["gpt2", "config.json", "--revision", "no-such-branch"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no-such-branch"),
        "{}",
        stderr(&output)
    );
    // No blob was left behind.
    let blobs = s.cache().join("models--gpt2/blobs");
    assert!(!blobs.exists() || fs::read_dir(&blobs).expect("blobs").count() == 0);
    // Usage errors exit 2.
    assert_eq!(
        s.run(&["--repo-type", "bogus", "gpt2"]).status.code(),
        Some(2)
    );
}

#[test]
fn offline_mode_answers_from_the_cache_without_a_request() {
    let s = setup(vec![]);
    let online = printed_path(&s.run(&["gpt2", "--revision", "v1.0"]));
    s.server.request_log().clear();
    let offline = s
        .command(&["gpt2", "--revision", "v1.0"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run");
    assert_eq!(printed_path(&offline), online);
    let file = s
        .command(&["gpt2", "README.md", "--revision", "v1.0"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run");
    assert_eq!(printed_path(&file), online.join("README.md"));
    let missing = s
        .command(&["gpt2", "--revision", "refs/pr/1"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("refs/pr/1"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(s.server.request_log().records(), Vec::new());
}

#[test]
fn local_dir_prints_the_folder_and_a_second_run_fetches_nothing() {
    let s = setup(vec![]);
    let local = s.tmp.path().join("local");
    let local_arg = local.to_string_lossy().into_owned();
    let path = printed_path(&s.run(&["gpt2", "--local-dir", &local_arg]));
    assert_eq!(path, local.canonicalize().expect("local"));
    assert!(
        local
            .join(".cache/huggingface/download/config.json.metadata")
            .is_file()
    );
    s.server.request_log().clear();
    printed_path(&s.run(&["gpt2", "--local-dir", &local_arg]));
    let records = s.server.request_log().records();
    assert!(
        records
            .iter()
            .all(|r| r.method != "GET" || r.path.starts_with("/api/")),
        "{records:?}"
    );
}

#[test]
fn the_printed_path_is_the_one_python_returns() {
    let oracle = Oracle::get(HF_HUB_2X);
    let s = setup(vec![]);
    let python_cache = s.tmp.path().join("python-hub");
    let gpt2_main = s.fixture.repo("gpt2").expect("gpt2").refs["main"].clone();
    // (Python call with `{local}` for a local folder, the same download with hfhub, local_dir mode?)
    let cases: Vec<(String, Vec<String>, bool)> = vec![
        (
            r#"hf_hub_download("gpt2", "config.json", revision="refs/pr/1")"#.into(),
            strings(&["gpt2", "config.json", "--revision", "refs/pr/1"]),
            false,
        ),
        (
            r#"hf_hub_download("gpt2", "README.md", revision="v1.0")"#.into(),
            strings(&["gpt2", "README.md", "--revision", "v1.0"]),
            false,
        ),
        (
            format!(r#"hf_hub_download("gpt2", "tokenizer.json", revision="{gpt2_main}")"#),
            strings(&["gpt2", "tokenizer.json", "--revision", &gpt2_main]),
            false,
        ),
        (
            r#"snapshot_download("acme-org/demo-space", repo_type="space")"#.into(),
            strings(&["acme-org/demo-space", "--repo-type", "space"]),
            false,
        ),
        (
            r#"snapshot_download("acme-org/reviews", repo_type="dataset", allow_patterns=["*.csv"])"#
                .into(),
            strings(&["acme-org/reviews", "--repo-type", "dataset", "--include", "*.csv"]),
            false,
        ),
        (
            r#"hf_hub_download("acme-org/tiny-bert", "données/résumé.txt", local_dir="{local}")"#
                .into(),
            strings(&["acme-org/tiny-bert", "données/résumé.txt", "--local-dir", "{local}"]),
            true,
        ),
        (
            r#"snapshot_download("gpt2", revision="v1.0", local_dir="{local}")"#.into(),
            strings(&["gpt2", "--revision", "v1.0", "--local-dir", "{local}"]),
            true,
        ),
    ];
    let (python_local, our_local) = (
        s.tmp.path().join("python-local"),
        s.tmp.path().join("our-local"),
    );
    let script = std::iter::once(
        "from huggingface_hub import hf_hub_download, snapshot_download".to_owned(),
    )
    .chain(cases.iter().map(|(call, _, _)| {
        format!(
            "print({})",
            call.replace("{local}", &python_local.to_string_lossy())
        )
    }))
    .collect::<Vec<_>>()
    .join("\n");
    let output = oracle
        .command()
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_ENDPOINT", s.server.endpoint())
        .env("HF_HUB_CACHE", &python_cache)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_TOKEN", TOKEN)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python");
    assert!(output.status.success(), "{}", stderr(&output));
    let python_paths: Vec<PathBuf> = stdout(&output).lines().map(PathBuf::from).collect();
    assert_eq!(python_paths.len(), cases.len());
    for ((_, args, local), python_path) in cases.iter().zip(&python_paths) {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{local}", &our_local.to_string_lossy()))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = printed_path(&s.run(&args));
        let (python_root, our_root) = if *local {
            (python_local.clone(), our_local.clone())
        } else {
            (python_cache.clone(), s.cache())
        };
        let python_root = python_root.canonicalize().expect("python root");
        let our_root = our_root.canonicalize().expect("our root");
        assert_eq!(
            ours.strip_prefix(&our_root).expect("ours under its root"),
            python_path
                .strip_prefix(&python_root)
                .expect("python's under its root"),
            "{args:?}"
        );
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn ctrl_c_leaves_a_partial_file_that_the_next_run_resumes() {
    // The CDN stalls the first LFS download after 1.2 MB (hub-http writes 1 MiB at a time): time to
    // interrupt it with the first MiB on disk.
    let stall = Fault::new(FaultKind::Stall {
        after: 1_200_000,
        duration: Duration::from_secs(20),
    })
    .on(Origin::Cdn)
    .first(1);
    let s = setup(vec![stall]);
    let file = "wikitext-2-raw-v1/train-00000-of-00001.parquet";
    let args = ["--repo-type", "dataset", "wikitext", file, "--quiet"];
    let child = s
        .command(&args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let blobs = s.cache().join("datasets--wikitext/blobs");
    let start = Instant::now();
    let partial = loop {
        let found = fs::read_dir(&blobs).ok().and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                p.to_string_lossy().ends_with(".incomplete")
                    && fs::metadata(p).is_ok_and(|m| m.len() >= 1 << 20)
            })
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(stdout(&output), "");
    assert!(partial.is_file(), "the partial file stays");
    let published: Vec<_> = fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".incomplete"))
        .collect();
    assert!(
        published.is_empty(),
        "nothing half-published: {published:?}"
    );
    let done = fs::metadata(&partial).expect("partial").len();

    s.server.request_log().clear();
    let path = printed_path(&s.run(&args));
    let wikitext = s
        .fixture
        .repos
        .iter()
        .find(|r| r.repo_id == "wikitext")
        .expect("wikitext");
    let expected = &wikitext.revisions[0]
        .files
        .iter()
        .find(|f| f.path == file)
        .expect("file")
        .content;
    assert_eq!(&fs::read(path).expect("read"), expected);
    hfhub_tests::served::assert_resumed_at(&s.server.request_log(), done, expected.len() as u64);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let s = setup(vec![]);
    let mut child = s
        .command(&["gpt2", "config.json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
