//! What hfhub says about itself and its errors: a real version, `hfhub env` as `hf env` reads
//! (never the token), hints that name hfhub commands, `HF_DEBUG` that shows more, and log lines
//! without colours when stderr is not a terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use hfhub_tests::fixtures::{self, BIG_MIXED};
use hub_server::Server;

const SECRET: &str = "hf_messages_secret_token";

/// `hfhub ARGS` with no `HF_*` variable but `HF_HOME`, stdout and stderr piped (not terminals).
fn hfhub(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
    for var in hub_cache::env::ALL {
        command.env_remove(var.name);
    }
    command
        .env_remove("RUST_LOG")
        .env("HF_HOME", home)
        .args(args)
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("run hfhub");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn version_and_env_report_and_the_token_is_never_shown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let version = env!("CARGO_PKG_VERSION");
    assert_ne!(version, "0.0.0");
    let (output, stdout, _) = run(&mut hfhub(&home, &["--version"]));
    assert!(output.status.success());
    assert_eq!(stdout, format!("hfhub {version}\n"));

    let (output, stdout, stderr) = run(hfhub(&home, &["env"])
        .env("HF_TOKEN", SECRET)
        .env("HF_ENDPOINT", "http://127.0.0.1:9/")
        .env("HF_HUB_OFFLINE", "1"));
    assert!(output.status.success(), "{stderr}");
    for line in [
        format!("- hfhub version: {version}"),
        "- Token found: True (from HF_TOKEN)".to_owned(),
        "- ENDPOINT: http://127.0.0.1:9".to_owned(),
        format!("- HF_HOME: {}", home.display()),
        format!("- HF_HUB_CACHE: {}", home.join("hub").display()),
        format!("- HF_TOKEN_PATH: {}", home.join("token").display()),
        "- HF_HUB_OFFLINE: True".to_owned(),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "`{line}` not in:\n{stdout}"
        );
    }
    assert!(stdout.lines().any(|l| l.starts_with("- Platform: ")));
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    // A token file counts too; its content is never shown either. No token at all: False.
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(home.join("token"), SECRET).expect("token file");
    let (_, stdout, _) = run(&mut hfhub(&home, &["env"]));
    assert!(
        stdout.contains("- Token found: True (from the token file)"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET));
    std::fs::remove_file(home.join("token")).expect("remove");
    let (_, stdout, _) = run(&mut hfhub(&home, &["env"]));
    assert!(stdout.contains("- Token found: False"), "{stdout}");
    assert!(stdout.contains("- Proxy: None\n"), "{stdout}");
    assert!(stdout.contains("- CA sources: None\n"), "{stdout}");

    // The proxy in effect with its credentials masked, and the CA sources (issue 13).
    let (output, stdout, stderr) = run(hfhub(&home, &["env"])
        .env("HTTPS_PROXY", "http://alice:pr0xy-pass@127.0.0.1:3128")
        .env("no_proxy", "localhost,10.0.0.0/8")
        .env("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem"));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains(
            "- Proxy: https=http://alice:***@127.0.0.1:3128/, no_proxy=localhost,10.0.0.0/8\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("- CA sources: REQUESTS_CA_BUNDLE=/etc/ssl/corp.pem\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("pr0xy-pass") && !stderr.contains("pr0xy-pass"));
}

#[test]
fn hints_name_hfhub_and_hf_debug_shows_the_chain_and_logs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
    // The fixture holds an incomplete download: `cache ls` hints at pruning it.
    let (_, stdout, stderr) = run(&mut hfhub(
        &home,
        &[
            "cache",
            "ls",
            "--cache-dir",
            &fixture.cache_dir.to_string_lossy(),
        ],
    ));
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("'hfhub cache prune'"), "{all}");
    assert!(!all.contains("'hf ") && !all.contains("`hf "), "{all}");
    // A failing cache command: one error line, no hint about a Python traceback.
    let (output, _, stderr) = run(&mut hfhub(
        &home,
        &[
            "cache",
            "ls",
            "--cache-dir",
            &tmp.path().join("absent").to_string_lossy(),
        ],
    ));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !stderr.contains("traceback") && !stderr.contains("HF_DEBUG"),
        "{stderr}"
    );

    let server = Server::builder(&fixture.cache_dir)
        .start_blocking()
        .expect("server");
    let cache = tmp.path().join("hub");
    let download = |debug: bool| {
        let mut command = hfhub(&home, &["download", "gpt2", "no-such-file.txt"]);
        command
            .env("HF_ENDPOINT", server.endpoint())
            .env("HF_HUB_CACHE", &cache);
        if debug {
            command.env("HF_DEBUG", "1");
        }
        run(&mut command)
    };
    let (output, _, plain) = download(false);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        plain.lines().filter(|l| l.starts_with("Error: ")).count(),
        1,
        "{plain}"
    );
    assert!(
        !plain.contains("DEBUG") && !plain.contains("Caused by:"),
        "{plain}"
    );
    let (output, _, debug) = download(true);
    assert_eq!(output.status.code(), Some(1));
    assert!(debug.contains("Caused by:"), "the whole chain: {debug}");
    assert!(
        debug.contains("DEBUG") && debug.contains("no-such-file.txt"),
        "{debug}"
    );

    // A WARN line on a stderr that is no terminal carries no colour.
    let (output, _, stderr) = run(
        hfhub(&home, &["download", "gpt2", "--include", "*.nothing"])
            .env("HF_ENDPOINT", server.endpoint())
            .env("HF_HUB_CACHE", &cache),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("no files matched"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no ANSI escape: {stderr:?}");
}
