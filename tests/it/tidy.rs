//! The layering rule of STYLE.md section 1, checked on `cargo metadata` so it cannot rot, and the
//! house rules read from the source (module headers, no printing in libraries, one environment table,
//! no module circles), and the downstream crate's lock kept in step with the workspace versions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Our crates from bottom to top; a crate may depend only on crates at a lower rank.
const LAYERS: &[(&str, u32)] = &[
    ("hub-cache", 0),
    ("hub-http", 1),
    ("hub-sync", 2),
    // A mirror (`hfhub serve --upstream`) fills its cache through hub-sync.
    ("hub-server", 3),
    ("hub-cli", 4),
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

/// A crate's module files by module path (`""` for the crate root, `cache::verify` for
/// `src/cache/verify.rs` or `src/cache/verify/mod.rs`).
fn module_files(src: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let mut modules = BTreeMap::new();
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.expect("walk src");
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).expect("below src");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let last = parts.pop().expect("a file name");
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") || !parts.is_empty() && stem != "mod" {
            parts.push(stem.to_owned());
        }
        if path.starts_with(src.join("bin")) {
            continue;
        }
        modules.insert(parts.join("::"), path.to_path_buf());
    }
    modules
}

/// The module paths a file names through `crate::` and `super::` paths, including the items of
/// `use crate::{a, b::c}` groups.
fn referenced_paths(text: &str, own: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|seg| {
                seg.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|seg| !seg.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for (_, line) in code_lines(text) {
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent_of(own))] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let mut heads = Vec::new();
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or_default();
                    heads.extend(inner.split(',').map(|item| ident(item.trim())));
                } else {
                    heads.push(ident(rest));
                }
                for head in heads {
                    let mut path = base.clone();
                    path.extend(head);
                    out.push(path);
                }
            }
        }
    }
    out
}

fn parent_of(module: &str) -> Vec<String> {
    let mut parts: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    parts.pop();
    parts
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let mut report = Vec::new();
    for krate in ["hub-cache", "hub-http", "hub-sync", "hub-server", "hub-cli"] {
        let src = root().join("crates").join(krate).join("src");
        let modules = module_files(&src);
        // `pub use module::{Name, ...}` in the crate root: `crate::Name` means that module.
        let root_text = std::fs::read_to_string(&modules[""]).expect("read crate root");
        let mut reexports = BTreeMap::new();
        for (_, line) in code_lines(&root_text) {
            if let Some(rest) = line.strip_prefix("pub use ") {
                let module = rest.split("::").next().unwrap_or_default().to_owned();
                for name in rest.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    reexports.insert(name.to_owned(), module.clone());
                }
            }
        }
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, path) in &modules {
            let text = std::fs::read_to_string(path).expect("read module");
            for reference in referenced_paths(&text, module) {
                // The longest prefix of the path that names a module file.
                let mut target = String::new();
                for len in (1..=reference.len()).rev() {
                    let candidate = reference[..len].join("::");
                    if modules.contains_key(&candidate) {
                        target = candidate;
                        break;
                    }
                }
                if target.is_empty()
                    && let Some(first) = reference.first()
                    && let Some(via) = reexports.get(first)
                {
                    target = via.clone();
                }
                let ancestor = target.is_empty()
                    || module == &target
                    || module.starts_with(&format!("{target}::"));
                if !ancestor && modules.contains_key(&target) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        // Any cycle in the graph: depth-first search with an explicit path.
        let mut circles = BTreeSet::new();
        for start in modules.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in edges.get(&node).into_iter().flatten() {
                    if next == start {
                        let mut circle = path.clone();
                        let min = circle.iter().min().expect("non-empty").clone();
                        let at = circle.iter().position(|m| *m == min).expect("present");
                        circle.rotate_left(at);
                        circles.insert(circle.join(" -> "));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
        report.extend(circles.into_iter().map(|c| format!("{krate}: {c}")));
    }
    assert!(
        report.is_empty(),
        "module circles (move the shared piece into a module both use):\n{}",
        report.join("\n")
    );
}

/// `(name, version)` of every path package `tests/downstream/Cargo.lock` locks (no `source` line),
/// the downstream crate itself left out.
fn downstream_locked_path_packages() -> Vec<(String, String)> {
    let lock = root().join("tests/downstream/Cargo.lock");
    let text = std::fs::read_to_string(&lock).expect("tests/downstream/Cargo.lock is committed");
    text.split("[[package]]")
        .skip(1)
        .filter_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|line| {
                    let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                    Some(value.trim().trim_matches('"').to_owned())
                })
            };
            let name = field("name")?;
            let version = field("version")?;
            let from_a_path = field("source").is_none();
            (from_a_path && name != "hfhub-downstream").then_some((name, version))
        })
        .collect()
}

/// The downstream crate builds with `--locked`: a version bump of a workspace crate without a lock
/// update would fail there, late and with cargo's words; this says which crate and how to fix it.
#[test]
fn the_downstream_lock_matches_the_workspace_versions() {
    let meta = metadata();
    let workspace: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["source"].is_null())
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["version"].as_str().expect("version"),
            )
        })
        .collect();
    let locked = downstream_locked_path_packages();
    for crate_name in ["hub-cache", "hub-http", "hub-sync"] {
        assert!(
            locked.iter().any(|(name, _)| name == crate_name),
            "tests/downstream/Cargo.lock does not lock {crate_name}: {locked:?}"
        );
    }
    let stale: Vec<String> = locked
        .iter()
        .filter_map(|(name, version)| match workspace.get(name.as_str()) {
            Some(current) if current == version => None,
            Some(current) => Some(format!("{name} {version} (the workspace has {current})")),
            None => Some(format!("{name} {version} (not a workspace crate)")),
        })
        .collect();
    assert!(
        stale.is_empty(),
        "tests/downstream/Cargo.lock is stale: it locks {}; regenerate it with \
         `cargo update --offline --manifest-path tests/downstream/Cargo.toml {}` and commit it",
        stale.join(", "),
        locked
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    // A new dependency of a path crate also needs the lock updated (the downstream test builds
    // with `--locked`): resolving it as it is must not want to change it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let resolved = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .arg("--manifest-path")
        .arg(root.join("downstream/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        resolved.status.success(),
        "tests/downstream/Cargo.lock does not resolve as it is (a path crate gained a \
         dependency?); update it with `cargo metadata --offline --manifest-path \
         tests/downstream/Cargo.toml` and commit it:\n{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
}
