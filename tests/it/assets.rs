//! `cached_assets_path` compared with huggingface_hub 2.4 on the same inputs.

use std::fs;

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_cache::assets::{AssetsError, cached_assets_path};

const PY: &str = r#"
import json, sys
from huggingface_hub import cached_assets_path
out = []
for library, namespace, subfolder in json.loads(sys.argv[2]):
    kwargs = {}
    if namespace is not None:
        kwargs["namespace"] = namespace
    if subfolder is not None:
        kwargs["subfolder"] = subfolder
    try:
        out.append("path:" + str(cached_assets_path(library_name=library, assets_dir=sys.argv[1], **kwargs)))
    except ValueError as e:
        out.append("error:" + str(e))
print(json.dumps(out))
"#;

type Input = (&'static str, Option<&'static str>, Option<&'static str>);

fn run_ours(root: &std::path::Path, inputs: &[Input]) -> Vec<String> {
    inputs
        .iter()
        .map(|(library, namespace, subfolder)| {
            match cached_assets_path(root, library, *namespace, *subfolder) {
                Ok(path) => {
                    assert!(path.is_dir(), "{path:?} was not created");
                    format!("path:{}", path.display())
                }
                Err(AssetsError::Corrupted(path)) => format!(
                    "error:Corrupted assets folder: cannot create directory because of an existing file ({}).",
                    path.display()
                ),
                Err(e) => format!("error:{e}"),
            }
        })
        .collect()
}

#[test]
fn cached_assets_path_agrees_with_python() {
    let inputs: Vec<Input> = vec![
        ("datasets", None, None),
        ("datasets", Some("SQuAD"), Some("download")),
        ("datasets", Some("SQuAD"), Some("extracted")),
        ("datasets", Some("Helsinki-NLP/tatoeba_mt"), None),
        ("my lib", Some("a b c"), Some("d\\e/f")),
        ("sub/lib", None, Some("x y")),
        ("\u{e9}t\u{e9}", Some("\u{1f600}"), Some("ns")),
        ("lib", Some(""), Some("sub")),
        ("lib", Some("."), None),
        ("back\\slash", Some("//"), Some("  ")),
        ("datasets", Some("SQuAD"), Some("download")),
        ("blocked", None, None),
        ("blocked2", Some("ns"), None),
    ];
    let oracle = Oracle::get(HF_HUB_2X);
    let input = serde_json::to_string(&inputs).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for side in ["python", "rust"] {
        // Each side gets its own root holding the same files in the way; the root is given through a
        // symlink and a `..` so that resolution is exercised.
        let real = tmp.path().join(side).join("real");
        fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join(side).join("link")).unwrap();
        fs::write(real.join("blocked"), "file").unwrap();
        fs::create_dir_all(real.join("blocked2")).unwrap();
        fs::write(real.join("blocked2/ns"), "file").unwrap();
        let root = tmp.path().join(side).join("link/../link/assets/..");
        let out = if side == "python" {
            serde_json::from_str::<Vec<String>>(&oracle.eval(PY, &[root.to_str().unwrap(), &input]))
                .unwrap()
        } else {
            run_ours(&root, &inputs)
        };
        let real = fs::canonicalize(&real).unwrap();
        results.push(
            out.into_iter()
                .map(|s| s.replace(real.to_str().unwrap(), "<root>"))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(results[0].len(), inputs.len());
    for ((input, theirs), ours) in inputs.iter().zip(&results[0]).zip(&results[1]) {
        assert_eq!(ours, theirs, "{input:?}");
    }
    assert!(
        results[0]
            .iter()
            .filter(|r| r.starts_with("error:"))
            .count()
            == 2
    );
}
