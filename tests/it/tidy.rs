//! The layering rule of STYLE.md section 1, checked on `cargo metadata` so it cannot rot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Our crates from bottom to top; a crate may depend only on crates at a lower rank.
const LAYERS: &[(&str, u32)] = &[
    ("hub-cache", 0),
    ("hub-http", 1),
    ("hub-sync", 2),
    ("hub-server", 2),
    ("hub-cli", 3),
];

/// Dependencies `hub-cache` must never take, directly or through another crate: network and async.
const FORBIDDEN_IN_CACHE: &[&str] = &[
    "tokio",
    "hyper",
    "hyper-util",
    "hyper-rustls",
    "rustls",
    "reqwest",
    "async-std",
    "futures",
    "futures-util",
    "mio",
    "h2",
    "http",
    "smol",
    "ureq",
    "curl",
    "socket2",
];

fn metadata() -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Normal (non-dev) dependency names of every workspace package, from the resolved graph.
fn graph(meta: &serde_json::Value) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let id = node["id"].as_str().expect("id");
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .expect("dep_kinds")
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| names[d["pkg"].as_str().expect("pkg")].to_owned())
                .collect();
            (names[id].to_owned(), (id.to_owned(), deps))
        })
        .collect()
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let graph = graph(&metadata());
    let rank: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    for (name, own_rank) in LAYERS {
        let (_, deps) = &graph[*name];
        for dep in deps {
            if let Some(dep_rank) = rank.get(dep.as_str()) {
                assert!(
                    dep_rank < own_rank,
                    "`{name}` depends on `{dep}`, which is not below it (STYLE.md section 1)"
                );
            }
        }
    }
    for (name, (_, deps)) in &graph {
        assert!(!deps.contains("xtask"), "`{name}` depends on xtask");
        // xtask is the one consumer of the test support crate (fixtures, oracle).
        assert!(
            name == "xtask" || !deps.contains("hfhub-tests"),
            "`{name}` depends on the test crate"
        );
    }
}

#[test]
fn hub_cache_has_no_network_or_async_dependency() {
    let graph = graph(&metadata());
    let mut seen = BTreeSet::new();
    let mut stack = vec!["hub-cache".to_owned()];
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some((_, deps)) = graph.get(&name) {
            stack.extend(deps.iter().cloned());
        }
    }
    let bad: Vec<_> = seen
        .iter()
        .filter(|n| FORBIDDEN_IN_CACHE.contains(&n.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "hub-cache pulls network or async crates: {bad:?}"
    );
}

/// The workspace root (the parent of `tests/`).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// Every `.rs` file git tracks, relative to the root.
fn tracked_rust_files() -> Vec<std::path::PathBuf> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.rs",
        ])
        .current_dir(root())
        .output()
        .expect("git ls-files runs");
    assert!(output.status.success(), "git ls-files failed");
    output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| std::path::PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .filter(|path| root().join(path).is_file())
        .collect()
}

/// Lines of a source file that are code, not comments (doc examples may print; code may not).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_start()))
        .filter(|(_, line)| !line.starts_with("//"))
}

#[test]
fn every_source_file_starts_with_a_module_header() {
    let missing: Vec<_> = tracked_rust_files()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(root().join(path)).unwrap_or_default();
            !text.starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` header saying what they are for: {missing:?}"
    );
}

#[test]
fn library_crates_never_print() {
    let mut found = Vec::new();
    for path in tracked_rust_files() {
        let library = ["hub-cache", "hub-http", "hub-sync", "hub-server"]
            .iter()
            .any(|name| path.starts_with(Path::new("crates").join(name).join("src")));
        if !library {
            continue;
        }
        let text = std::fs::read_to_string(root().join(&path)).expect("read source");
        for (number, line) in code_lines(&text) {
            if ["print!(", "println!(", "eprint!(", "eprintln!(", "dbg!("]
                .iter()
                .any(|mac| line.contains(mac))
            {
                found.push(format!("{}:{number}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library crates report through return values, events and `tracing`; only hub-cli prints:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_environment_is_read_only_in_the_env_table() {
    let table = Path::new("crates/hub-cache/src/env.rs");
    let mut found = Vec::new();
    for path in tracked_rust_files() {
        if !path.starts_with("crates") || !path.iter().any(|part| part == "src") || path == table {
            continue;
        }
        let text = std::fs::read_to_string(root().join(&path)).expect("read source");
        for (number, line) in code_lines(&text) {
            if [
                "env::var(",
                "env::var_os(",
                "env::vars(",
                "env::vars_os(",
                "env!(\"HF",
            ]
            .iter()
            .any(|read| line.contains(read))
            {
                found.push(format!("{}:{number}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "environment variables are read only in `hub_cache::env` (STYLE.md section 2):\n{}",
        found.join("\n")
    );
}
