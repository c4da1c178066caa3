//! `hfhub delete-cache` driven through a pseudo-terminal (a small Python `pty` driver run by the
//! oracle's interpreter), compared with `huggingface-cli delete-cache` of huggingface_hub 0.25.2.

use std::path::{Path, PathBuf};

use hfhub_tests::oracle::{HF_HUB_0X, Oracle};
use serde_json::{Value, json};

use super::support::{hfhub, output, stderr, tree};

const DRIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/cache_commands/pty_driver.py"
);
const HFHUB: &str = env!("CARGO_BIN_EXE_hfhub");

/// What the driver saw.
struct Session {
    output: String,
    code: i64,
    captures: Vec<String>,
}

/// Runs `argv` in a `cols`×`rows` pseudo-terminal through the scripted `steps`.
fn drive(oracle: &Oracle, argv: &[&str], cols: u16, rows: u16, steps: Value) -> Session {
    let spec =
        json!({ "argv": argv, "cols": cols, "rows": rows, "steps": steps, "unset": ["NO_COLOR"] });
    let result = output(oracle.command().arg(DRIVER).arg(spec.to_string()));
    assert!(
        result.status.success(),
        "driver failed: {}",
        stderr(&result)
    );
    let report: Value = serde_json::from_slice(&result.stdout).expect("driver prints JSON");
    let session = Session {
        output: report["output"].as_str().unwrap_or_default().to_owned(),
        code: report["code"].as_i64().unwrap_or(-1),
        captures: report["captures"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    assert!(
        report["error"].is_null(),
        "{}: {}\n--- output ---\n{}",
        argv.join(" "),
        report["error"],
        session.output
    );
    session
}

fn big_mixed(root: &Path, name: &str) -> PathBuf {
    let parent = root.join(name);
    hfhub_tests::fixtures::generate(&parent, hfhub_tests::fixtures::BIG_MIXED)
        .expect("fixture")
        .cache_dir
}

/// Every `snapshots/<hash>` of a cache.
fn snapshots(cache: &Path) -> Vec<String> {
    tree(cache)
        .into_iter()
        .filter_map(|line| {
            let (_, rest) = line.split_once("/snapshots/")?;
            let hash = rest.strip_suffix('/')?;
            (!hash.contains('/')).then(|| hash.to_owned())
        })
        .collect()
}

fn full_hash(cache: &Path, prefix: &str) -> String {
    let matches: Vec<String> = snapshots(cache)
        .into_iter()
        .filter(|hash| hash.starts_with(prefix))
        .collect();
    assert_eq!(matches.len(), 1, "one snapshot starts with {prefix}");
    matches[0].clone()
}

/// The review file with its repo blocks (and the revision lines inside each) sorted: upstream orders
/// repos and revisions that tie on their timestamps by frozenset iteration order.
fn normalise_review(content: &str) -> (String, Vec<Vec<String>>) {
    let (head, blocks) = content
        .split_once("# REVISIONS\n# ------------")
        .expect("a REVISIONS section");
    let mut blocks: Vec<Vec<String>> = blocks
        .split("\n\n")
        .map(|block| {
            let mut lines: Vec<String> = block
                .trim_start_matches('\n')
                .lines()
                .map(str::to_owned)
                .collect();
            lines[1..].sort();
            lines
        })
        .collect();
    blocks.sort();
    (head.to_owned(), blocks)
}

/// The transcript with the review file's path blanked out.
fn normalise_transcript(text: &str) -> String {
    text.replace("\r\n", "\n")
        .lines()
        .map(|line| match line.find("File to edit: ") {
            Some(at) => format!("{}File to edit: <file>", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn disable_tui_review_file_and_dialogue_match_huggingface_cli() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let ours = big_mixed(root.path(), "ours");
    let theirs = big_mixed(root.path(), "theirs");
    let all = snapshots(&ours);
    let mut gpt2: Vec<String> = std::fs::read_dir(ours.join("models--gpt2/snapshots"))
        .expect("gpt2 snapshots")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    gpt2.sort();
    let picked = [gpt2[0].clone(), all[0].clone()];
    let cli = oracle.bin_dir().join("huggingface-cli");
    let mut sessions = Vec::new();
    for (program, dir, copy) in [
        (HFHUB, &ours, root.path().join("ours.txt")),
        (
            cli.to_str().expect("utf-8 path"),
            &theirs,
            root.path().join("theirs.txt"),
        ),
    ] {
        let steps = json!([
            {"expect": "File to edit: (?:\u{1b}\\[1m)?(\\S+?\\.txt)"},
            {"copy": copy.to_str().expect("utf-8 path")},
            {"expect": "0 revisions selected counting for 0\\.0\\. Continue \\? \\(y/N\\) "},
            {"uncomment": [picked[0], picked[1]]},
            {"send": "n\r"},
            {"expect": "2 revisions selected counting for \\S+ Continue \\? \\(y/N\\) "},
            {"send": "maybe\r"},
            {"expect": "Invalid input\\. Must be one of"},
            {"send": "y\r"},
            {"expect": "Confirm deletion \\? \\(Y/n\\) "},
            {"send": "\r"},
            {"expect": "Done\\. Deleted 0 repo\\(s\\) and 2 revision\\(s\\)"}
        ]);
        let argv = [
            program,
            "delete-cache",
            "--disable-tui",
            "--dir",
            dir.to_str().expect("utf-8"),
        ];
        let session = drive(&oracle, &argv, 120, 40, steps);
        assert_eq!(session.code, 0, "{}", session.output);
        assert!(
            !Path::new(&session.captures[0]).exists(),
            "the review file is removed"
        );
        sessions.push((
            session,
            std::fs::read_to_string(&copy).expect("copied review file"),
        ));
    }
    let (ours_session, ours_file) = &sessions[0];
    let (theirs_session, theirs_file) = &sessions[1];
    assert_eq!(
        normalise_transcript(&ours_session.output),
        normalise_transcript(&theirs_session.output)
    );
    assert_eq!(normalise_review(ours_file), normalise_review(theirs_file));
    assert!(
        !ours_file.ends_with('\n'),
        "no trailing newline, as upstream"
    );
    assert!(ours_file.contains("#    ") && ours_file.contains("# CANCEL_DELETION"));
    assert_eq!(tree(&ours), tree(&theirs), "same deletions");
    let left = snapshots(&ours);
    assert_eq!(left.len(), all.len() - 2);
    assert!(picked.iter().all(|hash| !left.contains(hash)));
}

#[test]
fn tui_selects_two_revisions_shows_the_freed_size_and_deletes_exactly_those() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let ours = big_mixed(root.path(), "ours");
    let reference = big_mixed(root.path(), "reference");
    let before = snapshots(&ours);
    let steps = json!([
        {"expect": "Press <space> to select, <enter> to validate"},
        {"send": "\u{1b}[B"},
        {"send": " "},
        {"expect": "1 revisions selected counting for "},
        {"expect": "❯ ◉ ([0-9a-f]{8}):"},
        {"send": "\u{1b}[B"},
        {"send": "\u{1b}[B"},
        {"send": "\u{1b}[A"},
        {"send": "\u{1b}[B"},
        {"send": " "},
        {"expect": "2 revisions selected counting for ([0-9]+\\.[0-9][KMGTPEZY]?)\\."},
        {"expect": "❯ ◉ ([0-9a-f]{8}):"},
        {"send": "\r"},
        {"expect": "2 revision\\(s\\) selected\\."},
        {"expect": "Confirm deletion \\? \\(Y/n\\)"},
        {"send": "y"},
        {"expect": "Done\\. Deleted 0 repo\\(s\\) and 2 revision\\(s\\) for a total of ([^ ]+)\\."}
    ]);
    let argv = [
        HFHUB,
        "delete-cache",
        "--dir",
        ours.to_str().expect("utf-8"),
    ];
    let session = drive(&oracle, &argv, 100, 30, steps);
    assert_eq!(session.code, 0, "{}", session.output);
    let [first, size, second, done] = &session.captures[..] else {
        panic!("captures: {:?}", session.captures);
    };
    assert_ne!(first, second);
    let hashes = [full_hash(&reference, first), full_hash(&reference, second)];
    // The size in the header is what huggingface_hub 0.25 expects to free; deleting the same
    // revisions with it leaves the same tree.
    let expected = oracle.eval(
        "import sys\nfrom huggingface_hub import scan_cache_dir\n\
         s = scan_cache_dir(sys.argv[1]).delete_revisions(sys.argv[2], sys.argv[3])\n\
         print(s.expected_freed_size_str)\ns.execute()",
        &[reference.to_str().expect("utf-8"), &hashes[0], &hashes[1]],
    );
    assert_eq!(size, expected.trim());
    assert_eq!(done, expected.trim());
    assert_eq!(tree(&ours), tree(&reference));
    let after = snapshots(&ours);
    assert_eq!(after.len(), before.len() - 2);
    assert!(hashes.iter().all(|hash| !after.contains(hash)));
}

#[test]
fn tui_cancel_item_ctrl_c_and_declining_change_nothing() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let cache = big_mixed(root.path(), "cache");
    let before = tree(&cache);
    let dir = cache.to_str().expect("utf-8");
    let argv = [HFHUB, "delete-cache", "--dir", dir];
    let scripts = [
        // The first item cancels everything, even with revisions checked.
        json!([
            {"expect": "None of the following \\(if selected, nothing will be deleted\\)\\."},
            {"send": "\u{1b}[B"},
            {"send": " "},
            {"expect": "1 revisions selected counting for"},
            {"send": "\u{1b}[A"},
            {"send": " "},
            {"expect": "Nothing will be deleted\\."},
            {"send": "\r"},
            {"expect": "2 revision\\(s\\) selected\\."},
            {"expect": "Deletion is cancelled\\. Do nothing\\."}
        ]),
        json!([
            {"expect": "Press <space> to select"},
            {"send": "\u{1b}[B"},
            {"send": " "},
            {"expect": "1 revisions selected counting for"},
            {"send": "\u{3}"},
            {"expect": "Deletion is cancelled\\. Do nothing\\."}
        ]),
        json!([
            {"expect": "Press <space> to select"},
            {"send": "\u{1b}[B"},
            {"send": " "},
            {"expect": "1 revisions selected counting for"},
            {"send": "\r"},
            {"expect": "Confirm deletion \\? \\(Y/n\\)"},
            {"send": "n"},
            {"expect": "Deletion is cancelled\\. Do nothing\\."}
        ]),
    ];
    for steps in scripts {
        let session = drive(&oracle, &argv, 100, 30, steps);
        assert_eq!(session.code, 0, "{}", session.output);
        assert_eq!(tree(&cache), before, "nothing deleted:\n{}", session.output);
    }
}

#[test]
fn tui_refuses_a_small_terminal_or_no_terminal_with_a_pointer_to_alternatives() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let cache = big_mixed(root.path(), "cache");
    let before = tree(&cache);
    let dir = cache.to_str().expect("utf-8");
    let session = drive(
        &oracle,
        &[HFHUB, "delete-cache", "--dir", dir],
        30,
        5,
        json!([{"expect": "too small"}]),
    );
    assert_eq!(session.code, 2);
    assert!(session.output.contains("--disable-tui") && session.output.contains("cache rm"));
    let result = output(hfhub(&oracle).args(["delete-cache", "--dir", dir]));
    assert_eq!(result.status.code(), Some(2));
    let message = stderr(&result);
    assert!(
        message.contains("--disable-tui") && message.contains("cache rm"),
        "{message}"
    );
    assert_eq!(tree(&cache), before);
}

#[test]
fn tui_scrolls_to_the_last_revision_in_a_short_terminal() {
    let oracle = Oracle::get(HF_HUB_0X);
    let root = tempfile::tempdir().expect("temp dir");
    let cache = big_mixed(root.path(), "cache");
    let before = tree(&cache);
    let count = snapshots(&cache).len();
    let dir = cache.to_str().expect("utf-8");
    // Past the end: the cursor stops on the last revision (no wrap-around) and stays visible.
    let mut steps = vec![json!({"expect": "Press <space> to select"})];
    steps.extend((0..count + 3).map(|_| json!({"send": "\u{1b}[B"})));
    steps.push(json!({"send": " "}));
    steps.push(json!({"expect": "1 revisions selected counting for"}));
    steps.push(json!({"expect": "❯ ◉ ([0-9a-f]{8}):"}));
    steps.push(json!({"send": "\u{3}"}));
    steps.push(json!({"expect": "Deletion is cancelled\\. Do nothing\\."}));
    let session = drive(
        &oracle,
        &[
            HFHUB,
            "delete-cache",
            "--dir",
            dir,
            "--sort",
            "alphabetical",
        ],
        80,
        10,
        Value::Array(steps),
    );
    assert_eq!(session.code, 0, "{}", session.output);
    // Alphabetical order puts the spaces last; their last revision is the one checked.
    let space = cache.join("spaces--hello-world/snapshots");
    let last: Vec<String> = std::fs::read_dir(space)
        .expect("space snapshots")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(last.len(), 1);
    assert!(
        last[0].starts_with(&session.captures[0]),
        "{:?}",
        session.captures
    );
    assert_eq!(tree(&cache), before);
}
