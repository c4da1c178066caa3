//! `hfhub cache ls|rm|prune` against `hf cache ls|rm|prune` of huggingface_hub 2.4.0.

use std::path::Path;

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};

use super::support::{copy_tree, fixtures, hfhub, oracle_cli, output, stderr, stdout, tree};

/// Runs `<cli> cache <args> --cache-dir <dir>`; returns (exit code, stdout, stderr), `hf`'s worded
/// as hfhub words it ([`as_hfhub`]).
fn run(
    mut command: std::process::Command,
    dir: &Path,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let is_hfhub = Path::new(command.get_program()).ends_with("hfhub");
    command.arg("cache").args(args).arg("--cache-dir").arg(dir);
    let result = output(&mut command);
    let (out, err) = (stdout(&result), stderr(&result));
    if is_hfhub {
        (result.status.code(), out, err)
    } else {
        (result.status.code(), as_hfhub(&out), as_hfhub(&err))
    }
}

fn both(oracle: &Oracle, dir: &Path, args: &[&str]) -> [(Option<i32>, String, String); 2] {
    [
        run(hfhub(oracle), dir, args),
        run(oracle_cli(oracle, "hf"), dir, args),
    ]
}

/// `hf`'s text as hfhub words it: hints name `hfhub` commands, and there is no hint about a Python
/// traceback (`HF_DEBUG`) under an error.
fn as_hfhub(text: &str) -> String {
    let text = text
        .replace("'hf cache ", "'hfhub cache ")
        .replace("`hf cache ", "`hfhub cache ");
    text.split_inclusive('\n')
        .filter(|line| !line.contains("set HF_DEBUG=1 as environment variable for full traceback."))
        .collect()
}

#[test]
fn ls_json_matches_hf_cache_ls_on_every_fixture() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    let mut non_empty = 0;
    for (name, dir) in fixtures(root.path()) {
        for args in [
            &["ls", "--format", "json"][..],
            &["ls", "--format", "json", "--revisions"][..],
        ] {
            let [ours, theirs] = both(&oracle, &dir, args);
            assert_eq!(ours.0, theirs.0, "{name} {args:?}: exit code");
            assert_eq!(ours.1, theirs.1, "{name} {args:?}: stdout");
            assert_eq!(ours.2, theirs.2, "{name} {args:?}: stderr");
            let parsed: serde_json::Value =
                serde_json::from_str(&ours.1).expect("ls --format json prints JSON");
            if parsed.as_array().is_some_and(|a| !a.is_empty()) {
                non_empty += 1;
            }
        }
    }
    assert!(non_empty >= 6, "most fixtures list something");
}

#[test]
fn ls_human_quiet_filters_sort_limit_match_hf() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    let dir = hfhub_tests::fixtures::generate(root.path(), hfhub_tests::fixtures::BIG_MIXED)
        .expect("fixture")
        .cache_dir;
    let cases: &[&[&str]] = &[
        &["ls", "--format", "human"],
        &["ls", "--format", "human", "--no-truncate", "--revisions"],
        &["ls", "-q"],
        &["ls", "-q", "--revisions"],
        &["ls", "--format", "agent"],
        &["ls", "--format", "human", "--sort", "size"],
        &[
            "ls",
            "--format",
            "json",
            "--sort",
            "name:desc",
            "--limit",
            "3",
        ],
        &[
            "ls",
            "--format",
            "json",
            "--revisions",
            "--sort",
            "size:asc",
        ],
        &[
            "ls",
            "--format",
            "human",
            "-f",
            "size>10k",
            "-f",
            "type=model",
        ],
        &["ls", "--format", "json", "--revisions", "-f", "refs=main"],
        &["ls", "--format", "json", "-f", "modified>7d"],
        &["ls", "--format", "human", "--show-warnings"],
    ];
    for args in cases {
        let [ours, theirs] = both(&oracle, &dir, args);
        assert_eq!(ours, theirs, "{args:?}");
    }
    // A narrow terminal truncates cells and hints at --no-truncate.
    let narrow = |mut command: std::process::Command| {
        command.env("COLUMNS", "50");
        run(command, &dir, &["ls", "--format", "human"])
    };
    let ours = narrow(hfhub(&oracle));
    assert_eq!(ours, narrow(oracle_cli(&oracle, "hf")));
    assert!(ours.2.contains("--no-truncate"));
}

/// Targets for `rm`: a whole repo, one revision of another repo, and a target that is not cached.
fn rm_targets(oracle: &Oracle, dir: &Path) -> Vec<String> {
    let (_, listing, _) = run(
        oracle_cli(oracle, "hf"),
        dir,
        &["ls", "--format", "json", "--revisions"],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listing).expect("json");
    let mut targets = Vec::new();
    if let Some(first) = rows.first() {
        targets.push(first["id"].as_str().expect("id").to_owned());
        if let Some(other) = rows.iter().rev().find(|row| row["id"] != first["id"]) {
            targets.push(other["revision"].as_str().expect("revision").to_uppercase());
        }
    }
    targets.push("model/not-cached".to_owned());
    targets
}

#[test]
fn rm_and_prune_dry_run_print_the_plan_hf_prints() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    for (name, dir) in fixtures(root.path()) {
        let targets = rm_targets(&oracle, &dir);
        let mut args = vec!["rm", "--dry-run", "--format", "human"];
        args.extend(targets.iter().map(String::as_str));
        let [ours, theirs] = both(&oracle, &dir, &args);
        assert_eq!(ours, theirs, "{name}: {args:?}");
        let [ours, theirs] = both(&oracle, &dir, &["prune", "--dry-run", "--format", "human"]);
        assert_eq!(ours, theirs, "{name}: prune --dry-run");
        let [ours, theirs] = both(&oracle, &dir, &["prune", "--dry-run", "--format", "json"]);
        assert_eq!(ours, theirs, "{name}: prune --dry-run --format json");
    }
}

#[test]
fn rm_and_prune_with_yes_leave_the_tree_hf_leaves() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    let copies = tempfile::tempdir().expect("temp dir");
    let mut changed = 0;
    for (name, dir) in fixtures(root.path()) {
        let targets = rm_targets(&oracle, &dir);
        for (label, args) in [
            ("rm", {
                let mut args = vec![
                    "rm".to_owned(),
                    "-y".to_owned(),
                    "--format=human".to_owned(),
                ];
                args.extend(targets.iter().cloned());
                args
            }),
            (
                "prune",
                vec![
                    "prune".to_owned(),
                    "-y".to_owned(),
                    "--format=human".to_owned(),
                ],
            ),
        ] {
            let ours_dir = copies.path().join(format!("{name}-{label}-ours"));
            let theirs_dir = copies.path().join(format!("{name}-{label}-theirs"));
            copy_tree(&dir, &ours_dir);
            copy_tree(&dir, &theirs_dir);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let ours = run(hfhub(&oracle), &ours_dir, &args);
            let theirs = run(oracle_cli(&oracle, "hf"), &theirs_dir, &args);
            assert_eq!(ours, theirs, "{name}: {args:?}");
            assert_eq!(tree(&ours_dir), tree(&theirs_dir), "{name}: {args:?} tree");
            if tree(&ours_dir) != tree(&dir) {
                changed += 1;
            }
        }
    }
    assert!(changed >= 4, "deletions happened on several fixtures");
}

#[test]
fn rm_nothing_and_prompt_declined_match_hf() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    let dir = hfhub_tests::fixtures::generate(root.path(), "minimal")
        .expect("fixture")
        .cache_dir;
    let before = tree(&dir);
    for args in [
        &["rm", "--format", "human", "model/absent"][..],
        &["rm", "--format", "json", "model/absent"][..],
    ] {
        let [ours, theirs] = both(&oracle, &dir, args);
        assert_eq!(ours, theirs, "{args:?}");
    }
    // No --yes outside human mode is an error; stdin at EOF declines in human mode.
    let (_, listing, _) = run(hfhub(&oracle), &dir, &["ls", "-q"]);
    let first = listing.lines().next().expect("a repo").to_owned();
    for args in [
        vec!["rm", "--format", "json", first.as_str()],
        vec!["rm", "--format", "human", first.as_str()],
        vec!["prune", "--format", "agent"],
    ] {
        let [ours, theirs] = both(&oracle, &dir, &args);
        assert_eq!(ours.0, theirs.0, "{args:?} exit");
        assert_eq!(ours.1, theirs.1, "{args:?} stdout");
        assert_eq!(ours.2, theirs.2, "{args:?} stderr");
    }
    assert_eq!(tree(&dir), before, "nothing deleted");
    let [ours, theirs] = both(
        &oracle,
        &root.path().join("absent"),
        &["ls", "--format", "human"],
    );
    assert_eq!(ours.0, theirs.0);
    assert_eq!(ours.0, Some(1));
}

#[test]
fn rm_uri_targets_match_hf() {
    let oracle = Oracle::get(HF_HUB_2X);
    let root = tempfile::tempdir().expect("temp dir");
    let dir = hfhub_tests::fixtures::generate(root.path(), hfhub_tests::fixtures::BIG_MIXED)
        .expect("fixture")
        .cache_dir;
    let cases: &[&[&str]] = &[
        &["rm", "--dry-run", "hf://acme-org/tiny-bert/config.json"],
        &[
            "rm",
            "--dry-run",
            "hf://models/acme-org/tiny-bert/config.json",
            "hf://datasets/wikitext/x",
        ],
        &["rm", "--dry-run", "hf://models/acme-org/tiny-bert"],
        &[
            "rm",
            "--dry-run",
            "hf://datasets/acme-org/reviews",
            "model/gpt2",
        ],
        &["rm", "--dry-run", "hf://acme-org/tiny-bert@main"],
        &[
            "rm",
            "--dry-run",
            "hf://acme-org/tiny-bert/config.json",
            "model/gpt2",
        ],
        &["rm", "--dry-run", "hf://acme-org/tiny-bert/nope.json"],
        &[
            "rm",
            "--dry-run",
            "--format",
            "json",
            "hf://acme-org/tiny-bert/vocab.txt",
        ],
    ];
    for args in cases {
        // Human mode is explicit: `hf` picks agent mode when it detects an AI agent's environment.
        let mut args = args.to_vec();
        if !args.contains(&"--format") {
            args.extend(["--format", "human"]);
        }
        let [ours, theirs] = both(&oracle, &dir, &args);
        assert_eq!(ours, theirs, "{args:?}");
    }
    let copies = tempfile::tempdir().expect("temp dir");
    let args = [
        "rm",
        "-y",
        "--format",
        "human",
        "hf://acme-org/tiny-bert/config.json",
    ];
    let ours_dir = copies.path().join("ours");
    let theirs_dir = copies.path().join("theirs");
    copy_tree(&dir, &ours_dir);
    copy_tree(&dir, &theirs_dir);
    let ours = run(hfhub(&oracle), &ours_dir, &args);
    let theirs = run(oracle_cli(&oracle, "hf"), &theirs_dir, &args);
    assert_eq!(ours, theirs);
    assert_eq!(tree(&ours_dir), tree(&theirs_dir));
    assert_ne!(tree(&ours_dir), tree(&dir), "files were deleted");
}
