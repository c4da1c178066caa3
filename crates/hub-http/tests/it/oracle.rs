//! Resolve agrees with Python's `get_hf_file_metadata` (2.4.0) on the same server: commit, etag,
//! size, and the error kind of each failure.

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_cache::{Repo, RepoId, RepoType};
use hub_http::Error;

use crate::support::{self, Setup, serve};

const SCRIPT: &str = r#"
import sys
from huggingface_hub import get_hf_file_metadata, hf_hub_url
a = sys.argv[1:]
for i in range(0, len(a), 4):
    t, rid, rev, fn = a[i:i+4]
    try:
        m = get_hf_file_metadata(hf_hub_url(rid, fn, repo_type=t, revision=rev), token=False)
        print(f"ok {m.commit_hash} {m.etag} {m.size}")
    except Exception as e:
        print(f"error {type(e).__name__}")
"#;

fn kind(error: &Error) -> &'static str {
    match error {
        Error::RepoNotFound { .. } => "RepositoryNotFoundError",
        Error::RevisionNotFound { .. } => "RevisionNotFoundError",
        Error::EntryNotFound { .. } => "RemoteEntryNotFoundError",
        Error::Gated { .. } => "GatedRepoError",
        _ => "other",
    }
}

#[tokio::test]
async fn resolve_matches_python_get_hf_file_metadata() {
    let gated = Repo::new(RepoType::Space, RepoId::new("hello-world").unwrap());
    let env = serve(Setup {
        gated: Some(gated.clone()),
        ..Setup::default()
    })
    .await;
    let client = support::client(&env).with_token(None).build().unwrap();
    let mut cases: Vec<(String, String, String, String)> = Vec::new();
    for repo in &env.fixture.repos {
        for (revision, commit) in &repo.refs {
            let Some(snapshot) = repo.revision(commit) else {
                continue;
            };
            for file in snapshot.files.iter().take(3) {
                for rev in [revision.as_str(), commit.as_str()] {
                    cases.push((
                        repo.repo_type.to_string(),
                        repo.repo_id.clone(),
                        rev.to_owned(),
                        file.path.clone(),
                    ));
                }
            }
        }
    }
    let base = ("model".to_owned(), "gpt2".to_owned(), "main".to_owned());
    for (t, id, rev, file) in [
        ("model", "nobody/nothing", "main", "x.txt"),
        ("model", "gpt2", "no-such-branch", "config.json"),
        ("model", "gpt2", "main", "missing/file.txt"),
        (
            "model",
            "gpt2",
            "0000000000000000000000000000000000000000",
            "config.json",
        ),
        ("dataset", "gpt2", "main", "config.json"),
    ] {
        cases.push((t.to_owned(), id.to_owned(), rev.to_owned(), file.to_owned()));
    }
    cases.push((base.0, base.1, base.2, "onnx/decoder_model.onnx".to_owned()));
    assert!(cases.len() >= 30, "{}", cases.len());

    let args: Vec<&str> = cases
        .iter()
        .flat_map(|(a, b, c, d)| [a.as_str(), b.as_str(), c.as_str(), d.as_str()])
        .collect();
    let oracle = Oracle::get(HF_HUB_2X);
    let home = tempfile::tempdir().unwrap();
    let mut python = oracle.command();
    python
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_ENDPOINT", env.server.endpoint())
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HOME", home.path())
        .arg("-c")
        .arg(SCRIPT)
        .args(&args);
    // The server runs on this test's runtime: wait for Python off the runtime thread.
    let output = tokio::task::spawn_blocking(move || python.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python = String::from_utf8(output.stdout).unwrap();
    let mut lines = python.lines();
    let mut errors_seen = std::collections::BTreeSet::new();
    for (t, id, rev, file) in &cases {
        let repo = Repo::new(t.parse().unwrap(), RepoId::new(id.as_str()).unwrap());
        let ours = match client.resolve(&repo, rev, file).await {
            Ok(m) => format!(
                "ok {} {} {}",
                m.commit,
                m.etag,
                m.size.map_or("None".to_owned(), |s| s.to_string())
            ),
            Err(e) => {
                errors_seen.insert(kind(&e));
                format!("error {}", kind(&e))
            }
        };
        assert_eq!(Some(ours.as_str()), lines.next(), "{t} {id}@{rev} {file}");
    }
    for expected in [
        "RepositoryNotFoundError",
        "RevisionNotFoundError",
        "RemoteEntryNotFoundError",
        "GatedRepoError",
    ] {
        assert!(
            errors_seen.contains(expected),
            "no case produced {expected}: {errors_seen:?}"
        );
    }
}
