//! Pattern filtering agrees with Python 2.4's `filter_repo_objects` (fnmatchcase), on a table of
//! patterns and on generated patterns and paths.

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hub_sync::pattern::Filter;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import json, sys
from huggingface_hub.utils import filter_repo_objects
cases = json.loads(sys.argv[1])
out = []
for paths, allow, ignore in cases:
    try:
        out.append(list(filter_repo_objects(paths, allow_patterns=allow, ignore_patterns=ignore)))
    except Exception as e:
        out.append("error: " + type(e).__name__)
print(json.dumps(out))
"#;

type Case = (Vec<String>, Option<Vec<String>>, Option<Vec<String>>);

/// Python's selection for each case (`Err` when Python raised, e.g. a bad regex range).
fn python(oracle: &Oracle, cases: &[Case]) -> Vec<Result<Vec<String>, String>> {
    let input = Value::Array(
        cases
            .iter()
            .map(|(p, a, i)| json!([p, a, i]))
            .collect::<Vec<_>>(),
    );
    let out: Vec<Value> = serde_json::from_str(
        oracle
            .eval(SCRIPT, &[&input.to_string()])
            .lines()
            .last()
            .unwrap_or_default(),
    )
    .expect("JSON");
    out.into_iter()
        .map(|v| match v {
            Value::String(s) => Err(s),
            v => Ok(serde_json::from_value(v).expect("list of paths")),
        })
        .collect()
}

fn ours(case: &Case) -> Vec<String> {
    let filter = Filter::new(case.1.as_deref(), case.2.as_deref());
    case.0
        .iter()
        .filter(|p| filter.matches(p))
        .cloned()
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_table_of_patterns_agrees_with_python() {
    let oracle = Oracle::get(HF_HUB_2X);
    let paths = strings(&[
        "a.json",
        "sub/b.json",
        "sub/dir/c.txt",
        "Sub/D.JSON",
        ".gitattributes",
        "model-00001-of-00002.safetensors",
        "onnx/decoder_model.onnx",
        "weird[1].txt",
        "x{a,b}.txt",
        "back\\slash.txt",
        "data/train-0.parquet",
        "r\u{e9}sum\u{e9}.txt",
        "-dash",
        "!bang",
        "]close",
    ]);
    let patterns = [
        "*.json",
        "sub/",
        "sub",
        "*/b.json",
        "[a-c].json",
        "SUB/*",
        "*",
        "**/*.txt",
        "?.json",
        "sub?b.json",
        "weird[1].txt",
        "weird[[]1].txt",
        "x{a,b}.txt",
        "back\\slash.txt",
        "back/slash.txt",
        "[!a]*",
        "[!]]*",
        "[]]close",
        "[-]dash",
        "[a-]*",
        "[z-a]*",
        "[!z-a]*",
        "[a-c-e]*",
        "*[0-9]*.parquet",
        "r?sum?.txt",
        "[",
        "[!",
        "*.{json,txt}",
        "model-*-of-*.safetensors",
        "onnx/*",
        ".*",
        "",
    ];
    let mut cases: Vec<Case> = patterns
        .iter()
        .map(|p| (paths.clone(), Some(vec![(*p).to_owned()]), None))
        .collect();
    cases.extend(
        patterns
            .iter()
            .map(|p| (paths.clone(), None, Some(vec![(*p).to_owned()]))),
    );
    cases.push((paths.clone(), Some(vec![]), None));
    cases.push((paths.clone(), None, None));
    cases.push((
        paths.clone(),
        Some(strings(&["*.json", "sub/"])),
        Some(strings(&["*.txt"])),
    ));
    let expected = python(&oracle, &cases);
    for (case, expected) in cases.iter().zip(expected) {
        let expected = expected.unwrap_or_else(|e| panic!("python raised {e} for {case:?}"));
        assert_eq!(ours(case), expected, "{case:?}");
    }
}

#[test]
fn generated_patterns_agree_with_python_fnmatch() {
    let oracle = Oracle::get(HF_HUB_2X);
    // Small alphabets so that matches are frequent and classes, ranges and separators interact.
    let path = "[ab/.\\-\\]!\\[]{0,6}";
    let pattern = "[ab/.*?!\\-\\]\\[]{0,7}";
    let case = (
        proptest::collection::vec(path, 1..12),
        proptest::option::of(proptest::collection::vec(pattern, 0..3)),
        proptest::option::of(proptest::collection::vec(pattern, 0..2)),
    );
    let batch = proptest::collection::vec(case, 200);
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&batch, |cases| {
            let expected = python(&oracle, &cases);
            let mut compared = 0;
            for (case, expected) in cases.iter().zip(expected) {
                // Patterns Python's `re` rejects raise there; they are not compared.
                if let Ok(expected) = expected {
                    prop_assert_eq!(ours(case), expected, "{:?}", case);
                    compared += 1;
                }
            }
            prop_assert!(
                compared > cases.len() / 2,
                "only {} cases compared",
                compared
            );
            Ok(())
        })
        .expect("our filter agrees with Python");
}
