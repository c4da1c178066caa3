//! Bad user input: invalid repo ids, revisions, file names, patterns and flags get one error line
//! naming the problem and exit code 2, never a panic or a backtrace, and never touch the network or
//! the cache.

use super::*;

/// `(arguments after "download", text the error line must contain)`.
fn cases() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        // Repository ids.
        (vec!["a/b/c", "config.json"], "a/b/c"),
        (vec!["-bad"], "'-b'"),
        (vec!["bad--name"], "bad--name"),
        (vec!["org/.."], "org/.."),
        (vec!["with space"], "with space"),
        (vec![""], "repository"),
        // Revisions.
        (vec!["gpt2", "--revision", ".."], ".."),
        (vec!["gpt2", "--revision", "main/../../x"], "main/../../x"),
        (vec!["gpt2", "--revision", "/abs"], "/abs"),
        (vec!["gpt2", "--revision", "a\\b"], "a\\b"),
        (vec!["gpt2", "--revision", ""], "revision"),
        // File names.
        (vec!["gpt2", "../secret"], "../secret"),
        (vec!["gpt2", "/etc/passwd"], "/etc/passwd"),
        (vec!["gpt2", "a/../../b"], "a/../../b"),
        (vec!["gpt2", ".git/config"], ".git/config"),
        (vec!["gpt2", "sub/.GIT/hooks/x"], "sub/.GIT/hooks/x"),
        (
            vec!["gpt2", ".cache/huggingface/download/x.metadata"],
            ".cache/huggingface",
        ),
        (vec!["gpt2", "C:\\x"], "C:\\x"),
        // Patterns.
        (vec!["gpt2", "--include", ""], "pattern"),
        (vec!["gpt2", "--exclude", ""], "pattern"),
        // Flags.
        (vec!["gpt2", "--repo-type", "bogus"], "bogus"),
        (vec!["gpt2", "--max-workers", "0"], "max-workers"),
        (vec!["gpt2", "--max-workers", "many"], "many"),
        // Numeric flags have ranges: found by clap before any request or write (issue 11).
        (
            vec!["gpt2", "--max-workers", "2305843009213693952"],
            "2305843009213693952",
        ),
        (vec!["gpt2", "--max-workers", "257"], "1..=256"),
        (vec!["gpt2", "--max-workers", "-1"], "'-1'"),
        // Repository spellings and flag combinations (issue 14).
        (vec!["hf://gpt2"], "hf://gpt2"),
        (vec!["hf://datasets"], "hf://datasets"),
        (vec!["hf://dataset/org/name"], "plural"),
        (vec!["hf://buckets/org/name"], "bucket"),
        (vec!["hf://org/name@../x"], "../x"),
        (
            vec!["hf://org/name", "--repo-type", "dataset"],
            "--repo-type",
        ),
        (vec!["hf://org/name@v1", "--revision", "v2"], "--revision"),
        (vec!["hf://org/name/a.txt", "b.txt"], "positional filenames"),
        (vec!["datasets/org/name", "--type", "model"], "ambiguous"),
        (vec!["datasets/org/bad--name"], "bad--name"),
        (vec!["gpt2", "--type", "bogus"], "bogus"),
        (vec!["gpt2", "--local-dir-use-symlinks", "yes"], "yes"),
        (vec!["gpt2", "--json", "-q"], "mutually exclusive"),
        (vec!["gpt2", "--format", "xml"], "xml"),
        (vec!["gpt2", "--no-such-flag"], "--no-such-flag"),
        (vec!["gpt2", "--revision"], "--revision"),
        (vec![], "REPO_ID"),
    ]
}

/// `(arguments after "cache" or another cache command, text the error must contain)`.
fn cache_cases() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        ("cache", vec!["verify", "a/b/c"], "a/b/c"),
        ("cache", vec!["verify", "dataset/bad--name"], "bad--name"),
        ("cache", vec!["verify", "hf://org/name@main"], "revision"),
        ("cache", vec!["verify", "hf://gpt2"], "hf://gpt2"),
        ("cache", vec!["ls", "--format", "bogus"], "bogus"),
        (
            "cache",
            vec!["ls", "--limit", "99999999999999999999"],
            "99999999999999999999",
        ),
        ("cache", vec!["bogus-subcommand"], "bogus-subcommand"),
        ("delete-cache", vec!["--sort", "bogus"], "bogus"),
        ("scan-cache", vec!["--no-such-flag"], "--no-such-flag"),
    ]
}

/// `(arguments after "serve", text the error must contain)`: refused before anything is served.
fn serve_cases() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        (vec!["--gated", "a/b/c"], "a/b/c"),
        (vec!["--private", "datasets/bad--name"], "bad--name"),
        (vec!["--gated", "hf://datasets/org/name@main"], "revision"),
        (vec!["--page-size", "0"], "page-size"),
        (vec!["--addr", "not-an-address"], "not-an-address"),
        (vec!["--cdn-addr", "127.0.0.1:99999"], "127.0.0.1:99999"),
    ]
}

#[test]
fn bad_input_is_one_error_line_and_exit_code_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("hub");
    let cases: Vec<_> = cases()
        .into_iter()
        .map(|(args, needle)| ("download", args, needle))
        .chain(
            serve_cases()
                .into_iter()
                .map(|(args, needle)| ("serve", args, needle)),
        )
        .chain(cache_cases())
        .collect();
    let mut failures = Vec::new();
    for (command, args, needle) in &cases {
        // An endpoint nobody listens on: a usage error must be found before any request.
        let output = hfhub(&tmp.path().join("home"), &cache, "http://127.0.0.1:9")
            .arg(command)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("run hfhub");
        let err = stderr(&output);
        let error_lines: Vec<&str> = err
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("error"))
            .collect();
        let ok = output.status.code() == Some(2)
            && error_lines.len() == 1
            && err.contains(needle)
            && !err.contains("panicked")
            && !err.contains("backtrace")
            && stdout(&output).is_empty();
        if !ok {
            failures.push(format!(
                "{command} {args:?}: exit {:?}, stderr {err:?}",
                output.status.code()
            ));
        }
    }
    assert!(!cache.exists(), "a usage error wrote to the cache");
    eprintln!(
        "bad input: {} cases, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
