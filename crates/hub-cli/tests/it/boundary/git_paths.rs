//! Class 6: paths no Hub ever lists. A listing with `.git/config` (a `core.fsmonitor` that would run
//! a command of the server's choosing on the next `git status`) into a `local_dir` that is a git
//! checkout, and names under `.cache/huggingface/` (hfhub's own records): the run is refused naming
//! the file, nothing is written under `.git`, and with `--exclude` of the bad names the rest of the
//! snapshot downloads. In cache mode the same names are refused too.

use std::collections::BTreeMap;
use std::fs;

use super::scripted::*;

const HOOK: &[u8] = b"[core]\n\tfsmonitor = touch /tmp/pwned-by-a-hostile-hub\n";

/// A Hub listing `bad` (served with [`HOOK`] as its bytes) next to an honest `README.md`.
fn hub(bad: &str) -> Hostile {
    let readme = Served::regular(b"# a model\n");
    let hook = Served::regular(HOOK);
    let listing = vec![
        entry(bad, &hook.etag, HOOK.len() as u64),
        entry("README.md", &readme.etag, readme.content.len() as u64),
    ];
    let files = BTreeMap::from([(bad.to_owned(), hook), ("README.md".to_owned(), readme)]);
    start(listing, files)
}

#[test]
fn a_listed_git_folder_is_refused_and_the_rest_downloads_when_excluded() {
    for (bad, reason, exclude) in [
        (".git/config", "`.git` component", ".git/*"),
        (
            ".cache/huggingface/download/README.md.metadata",
            "under `.cache/huggingface/`",
            ".cache/*",
        ),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let tmp = tmp.path().canonicalize().expect("root");
        let canary = Canary::plant(&tmp);
        let checkout = tmp.join("checkout");
        fs::create_dir_all(&checkout).expect("checkout");
        let init = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&checkout)
            .output()
            .expect("git init");
        assert!(init.status.success(), "{}", stderr(&init));
        let git_before = tree_state(&checkout.join(".git"));
        let server = hub(bad);
        let local = checkout.to_str().expect("utf-8 path");

        let refused = download(&tmp, &server, &["--local-dir", local])
            .output()
            .expect("run");
        let message = stderr(&refused);
        assert_eq!(refused.status.code(), Some(1), "{message}");
        assert!(
            message.contains(&format!("invalid filename `{bad}`")),
            "{message}"
        );
        assert!(message.contains(reason), "{message}");
        assert_eq!(tree_state(&checkout.join(".git")), git_before);
        assert!(
            !checkout.join(".cache").exists(),
            "nothing is written before the listing is accepted"
        );
        assert!(!checkout.join("README.md").exists(), "nothing is fetched");
        assert!(
            requests(&server, "GET", "/resolve/").is_empty(),
            "refused before any download"
        );

        let excluded = download(&tmp, &server, &["--local-dir", local, "--exclude", exclude])
            .output()
            .expect("run");
        assert_eq!(excluded.status.code(), Some(0), "{}", stderr(&excluded));
        assert_eq!(
            fs::read(checkout.join("README.md")).expect("readme"),
            b"# a model\n"
        );
        assert_eq!(tree_state(&checkout.join(".git")), git_before);
        let record = checkout.join(".cache/huggingface/download/README.md.metadata");
        let record = fs::read_to_string(&record).expect("our own metadata");
        assert!(record.starts_with(COMMIT), "{record}");
        let status = std::process::Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(&checkout)
            .output()
            .expect("git status");
        assert!(status.status.success(), "{}", stderr(&status));
        assert!(requests(&server, "GET", bad).is_empty());
        canary.assert_untouched();
    }
}

#[test]
fn listed_git_folders_and_look_alikes_are_refused_in_cache_mode() {
    for name in [".git/config", "sub/.GIT/hooks/pre-commit", "git~1/config"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let canary = Canary::plant(tmp.path());
        let readme = Served::regular(b"# a model\n");
        let bad = Served::regular(HOOK);
        let listing = vec![
            entry(name, &bad.etag, HOOK.len() as u64),
            entry("README.md", &readme.etag, readme.content.len() as u64),
        ];
        let files = BTreeMap::from([(name.to_owned(), bad), ("README.md".to_owned(), readme)]);
        let server = start(listing, files);
        let refused = download(tmp.path(), &server, &[]).output().expect("run");
        let message = stderr(&refused);
        assert_eq!(refused.status.code(), Some(1), "{name}: {message}");
        assert!(message.contains(&format!("`{name}`")), "{message}");
        assert!(message.contains("`.git` component"), "{message}");
        let snapshot = repo_dir(tmp.path()).join("snapshots").join(COMMIT);
        assert!(!snapshot.join(name).exists());
        assert!(!repo_dir(tmp.path()).join("blobs").exists());
        // Excluded by the user's pattern, the rest of the snapshot downloads.
        let pattern = format!("{}*", &name[..name.rfind('/').expect("a folder") + 1]);
        let excluded = download(tmp.path(), &server, &["--exclude", &pattern])
            .output()
            .expect("run");
        assert_eq!(excluded.status.code(), Some(0), "{}", stderr(&excluded));
        assert_eq!(
            stdout(&excluded).trim(),
            snapshot
                .canonicalize()
                .expect("snapshot")
                .display()
                .to_string()
        );
        assert!(snapshot.join("README.md").is_file());
        assert!(!snapshot.join(name).exists());
        canary.assert_untouched();
    }
}
