//! `cargo xtask` as a user runs it: the help lists every task, usage errors exit 2, and the
//! fixture and demo tasks write where they are told.

use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn help_lists_every_task() {
    for args in [&["help"][..], &[][..]] {
        let output = xtask(args);
        assert!(output.status.success());
        let text = stdout(&output);
        let listed: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("  "))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        assert_eq!(
            listed,
            ["bench", "demo", "test", "test-fixtures", "fuzz", "help"],
            "{text}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["no-such-task"][..],
        &["test-fixtures", "--out"],
        &["demo", "--bogus"],
        &["bench", "--bogus"],
    ] {
        let output = xtask(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cargo xtask help"), "{stderr}");
    }
}

#[test]
fn test_fixtures_prints_each_fixture_and_regenerates_in_place() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("fixtures");
    let out_arg = out.to_str().expect("UTF-8 temp path");
    for _ in 0..2 {
        let output = xtask(&["test-fixtures", "--out", out_arg]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = stdout(&output);
        let printed: Vec<&str> = text.lines().filter_map(|l| l.split('\t').next()).collect();
        let expected: Vec<String> = hfhub_tests::fixtures::names()
            .iter()
            .map(|name| out.join(name).display().to_string())
            .collect();
        assert_eq!(printed, expected);
        for path in &printed {
            assert!(Path::new(path).is_dir(), "{path}");
        }
    }
    // A directory holding anything else is never wiped.
    std::fs::write(out.join("precious.txt"), "keep me").expect("write");
    let output = xtask(&["test-fixtures", "--out", out_arg]);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.join("precious.txt").exists());
}

#[test]
fn demo_serves_the_big_fixture_downloads_it_and_scans_the_result() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let reference = hfhub_tests::fixtures::generate(dir.path(), hfhub_tests::fixtures::BIG_MIXED)
        .expect("reference fixture");
    let work = dir.path().join("demo");
    let output = xtask(&["demo", "--out", work.to_str().expect("UTF-8 temp path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    let downloads: usize = reference.repos.iter().map(|r| r.refs.len()).sum::<usize>() + 1;
    let summary = format!("{downloads} downloads, every file checked against the served bytes");
    assert!(text.contains(&summary), "`{summary}` not in:\n{text}");
    assert!(
        text.contains("serving ") && text.contains(" at http://127.0.0.1:"),
        "{text}"
    );
    // The scan of the new cache lists every repo that was downloaded.
    let hub = work.join("hub");
    for repo in &reference.repos {
        let folder = hub.join(repo.folder_name());
        assert!(folder.is_dir(), "{} was not downloaded", folder.display());
        assert!(
            text.contains(&format!("{} ", repo.repo_id))
                && text.contains(&folder.display().to_string()),
            "{} not in the scan:\n{text}",
            repo.repo_id
        );
    }
    assert!(
        text.contains(&format!("Scanned {} repo(s)", reference.repos.len())),
        "{text}"
    );
    // Both reports under a heading, and no warning anywhere (cargo's build, the server's log, the
    // scans: hfhub's own CACHEDIR.TAG is no corrupted repo).
    for heading in ["(`hfhub scan-cache`", "(`hfhub cache ls`"] {
        assert!(text.contains(heading), "`{heading}` not in:\n{text}");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (name, stream) in [("stdout", text.as_str()), ("stderr", &*stderr)] {
        let lower = stream.to_lowercase();
        assert!(
            !lower.contains("warning") && !lower.contains("warn "),
            "a warning on {name}:\n{stream}"
        );
    }
}
