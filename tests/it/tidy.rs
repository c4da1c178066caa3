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
