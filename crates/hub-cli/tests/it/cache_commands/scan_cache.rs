//! `hfhub scan-cache` against `huggingface-cli scan-cache` of huggingface_hub 0.25.2.

use hfhub_tests::oracle::{HF_HUB_0X, Oracle};

use super::support::{check_all, fixtures, hfhub, oracle_cli, output, stdout};

/// `Done in 0.0s.` → `Done in <t>s.`: the only figure allowed to differ.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("Done in ") {
            Some(rest) => match rest.split_once("s. ") {
                Some((_, tail)) => format!("Done in <t>s. {tail}"),
                None => line.to_owned(),
            },
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level entries 0.25 never writes and 2.x's scan skips (hfhub writes `CACHEDIR.TAG`).
const WRITTEN_AFTER_0_25: [&str; 4] = ["CACHEDIR.TAG", ".DS_Store", "Thumbs.db", "desktop.ini"];

/// On every fixture: hfhub's report is the same with and without the entries 0.25 never writes,
/// and, without them (a cache as 0.25 leaves it), byte for byte 0.25's.
#[test]
fn scan_cache_matches_huggingface_cli_0_25_on_every_fixture() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let caches = fixtures(root.path());
    assert!(caches.len() >= 12, "all fixtures generated");
    let compared = std::sync::atomic::AtomicUsize::new(0);
    let stripped = std::sync::atomic::AtomicUsize::new(0);
    // Colours on for every verbosity; NO_COLOR with -vvv, which prints every coloured part.
    let variants = [
        (None, false),
        (Some("-v"), false),
        (Some("-vvv"), false),
        (Some("-vvv"), true),
    ];
    check_all(&caches, |(name, dir)| {
        let run = |mut command: std::process::Command, verbosity: Option<&str>, no_color: bool| {
            command.arg("scan-cache").arg("--dir").arg(dir);
            command.args(verbosity);
            if no_color {
                command.env("NO_COLOR", "1");
            }
            output(&mut command)
        };
        let with_tag: Vec<_> = variants
            .iter()
            .map(|(verbosity, no_color)| run(hfhub(&oracle), *verbosity, *no_color))
            .collect();
        for entry in WRITTEN_AFTER_0_25 {
            if std::fs::remove_file(dir.join(entry)).is_ok() {
                stripped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        for ((verbosity, no_color), ours_with_tag) in variants.iter().zip(&with_tag) {
            let ours = run(hfhub(&oracle), *verbosity, *no_color);
            let theirs = run(
                oracle_cli(&oracle, "huggingface-cli"),
                *verbosity,
                *no_color,
            );
            assert_eq!(
                ours.status.code(),
                theirs.status.code(),
                "{name} {verbosity:?}: exit codes"
            );
            assert_eq!(
                normalise(&stdout(&ours)),
                normalise(&stdout(&theirs)),
                "{name} {verbosity:?} NO_COLOR={no_color}"
            );
            assert_eq!(
                normalise(&stdout(ours_with_tag)),
                normalise(&stdout(&ours)),
                "{name} {verbosity:?}: hfhub skips {WRITTEN_AFTER_0_25:?}"
            );
            assert!(stdout(&ours).contains("Done in "), "{name}: summary line");
            compared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert_eq!(compared.into_inner(), caches.len() * 4);
    assert!(
        stripped.into_inner() >= caches.len() / 2,
        "most fixtures carry a CACHEDIR.TAG"
    );
}

#[test]
fn scan_cache_missing_directory_exits_zero_as_upstream() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let missing = root.path().join("nowhere");
    let run = |mut command: std::process::Command| {
        output(command.arg("scan-cache").arg("--dir").arg(&missing))
    };
    let ours = run(hfhub(&oracle));
    let theirs = run(oracle_cli(&oracle, "huggingface-cli"));
    assert_eq!(ours.status.code(), Some(0));
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(stdout(&ours), stdout(&theirs));
    assert!(stdout(&ours).starts_with("Cache directory not found: "));
}
