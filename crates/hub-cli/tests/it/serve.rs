//! `hfhub serve` as a user runs it: it prints the endpoint, Python downloads from it, Ctrl-C stops it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hfhub_tests::fixtures::{self, BIG_MIXED};
use hfhub_tests::oracle::{HF_HUB_2X, Oracle};

#[test]
fn serve_prints_its_endpoint_serves_python_and_stops_on_ctrl_c() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hfhub"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--cdn-addr",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(&fixture.cache_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hfhub serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("read the endpoint line");
    let expected_start = format!(
        "Serving {} at http://127.0.0.1:",
        fixture.cache_dir.display()
    );
    assert!(first.starts_with(&expected_start), "{first}");
    assert!(first.trim_end().ends_with("(HF_ENDPOINT)"), "{first}");
    let endpoint = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("endpoint")
        .to_owned();

    // An ordinary client pointed at it with HF_ENDPOINT gets the served bytes.
    let repo = fixture.repo("gpt2").expect("gpt2");
    let commit = &repo.refs["main"];
    let file = repo
        .revision(commit)
        .expect("main revision")
        .files
        .iter()
        .find(|f| f.lfs)
        .expect("an LFS file");
    let oracle = Oracle::get(HF_HUB_2X);
    let output = oracle
        .command()
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_ENDPOINT", &endpoint)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HOME", tmp.path().join("home"))
        .args(["-c", "import sys; from huggingface_hub import hf_hub_download; print(hf_hub_download('gpt2', sys.argv[1]))"])
        .arg(&file.path)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(
        std::fs::read(path.trim()).expect("downloaded file"),
        file.content
    );

    // Ctrl-C (SIGINT) stops it cleanly.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "hfhub serve did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let rest: Vec<String> = stdout.lines().map_while(Result::ok).collect();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("Stopped."),
        "{rest:?}"
    );
}
