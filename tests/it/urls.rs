//! `hub_http::Endpoint` builds the URLs Python's `hf_hub_url` builds, checked against the oracle.

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_cache::{Repo, RepoId, RepoType};
use hub_http::Endpoint;

/// (repo type, repo id, revision, subfolder/filename): a `/` in the last field before `::` is a
/// subfolder passed separately to Python.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("model", "gpt2", "main", "config.json"),
    ("model", "org/m", "refs/pr/1", "dir/my file+name#1?.txt"),
    ("dataset", "org/d", "v1.0", "data/train.parquet"),
    ("space", "org/s", "main", "src/app.py"),
    ("kernel", "org/k", "main", "build/x.so"),
    ("model", "gpt2", "\u{e9}t\u{e9}", "\u{e9}~_.-x.json"),
    (
        "model",
        "a/b",
        "0123456789abcdef0123456789abcdef01234567",
        "\u{65e5}\u{672c}/\u{30d5}.bin",
    ),
    (
        "model",
        "a/b",
        "feature/x y",
        "a%2Fb/c&d=e;f,g:h@i!j*k'l(m)n$o",
    ),
    ("dataset", "x", "v2", "sp ace/tab\there"),
    ("model", "org/m", "refs/pr/12", "src::app.py"),
    ("space", "org/s", "main", "src/inner::app.py"),
    (
        "dataset",
        "org/d",
        "refs/convert/parquet",
        "default/train/0000.parquet",
    ),
    (
        "model",
        "Org-1/m_2.v3",
        "v1.0.0",
        "weights/model-00001-of-00002.safetensors",
    ),
    ("model", "x", "main", "100%/done.txt"),
    ("model", "x", "main", "q?a=1&b=2#frag"),
    ("model", "x", "main", "\u{1f600}/emoji \u{1f680}.bin"),
    ("model", "x", "tag with spaces", "plus+sign/=equals"),
    ("model", "x", "main", "~tilde/_under-score.dot"),
    ("dataset", "org/d", "main", "deep/a/b/c/d/e/f.json"),
    (
        "space",
        "s",
        "refs/pr/1",
        "\u{4e2d}\u{6587}/\u{6587}\u{4ef6}.py",
    ),
    ("kernel", "org/k", "v0.1", "build/torch27-cxx11-cu128/x.so"),
    ("model", "x", "main", "quote\"double'single`back.txt"),
    (
        "model",
        "x",
        "main",
        "semi;colon,comma[brackets]{braces}|pipe^caret",
    ),
];

#[test]
fn resolve_and_api_urls_match_python() {
    assert!(CASES.len() >= 20);
    let oracle = Oracle::get(HF_HUB_2X);
    let endpoint = Endpoint::new("http://127.0.0.1:1");
    let mut args = Vec::new();
    for (repo_type, id, revision, filename) in CASES {
        args.extend([*repo_type, *id, *revision, *filename]);
    }
    let script = r#"
import sys
from huggingface_hub import hf_hub_url
from urllib.parse import quote
a = sys.argv[1:]
for i in range(0, len(a), 4):
    t, rid, rev, fn = a[i:i+4]
    sub, _, fn = fn.rpartition("::")
    print(hf_hub_url(rid, fn, subfolder=sub or None, repo_type=t, revision=rev, endpoint="http://127.0.0.1:1"))
    print(f"http://127.0.0.1:1/api/{t}s/{rid}/revision/{quote(rev, safe='')}")
"#;
    let output = oracle.eval(script, &args);
    let mut expected = output.lines();
    for (repo_type, id, revision, filename) in CASES {
        let repo = Repo::new(
            repo_type.parse::<RepoType>().unwrap(),
            RepoId::new(*id).unwrap(),
        );
        let path = filename.replace("::", "/");
        assert_eq!(
            Some(endpoint.resolve_url(&repo, revision, &path).as_str()),
            expected.next(),
            "resolve url of {repo_type} {id} {revision} {filename}"
        );
        assert_eq!(
            Some(endpoint.repo_info_url(&repo, revision).as_str()),
            expected.next(),
            "repo info url of {repo_type} {id} {revision}"
        );
    }
}
