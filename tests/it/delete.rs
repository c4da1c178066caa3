//! Delete plans match upstream's `delete_revisions`, executing them leaves a cache upstream scans
//! cleanly (and the same tree upstream's `execute()` leaves), a plan never deletes a blob a kept revision
//! needs, and execution never leaves the cache root.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_cache::delete::{DeleteWarning, Plan, Refusal};
use hub_cache::format::Flavour;
use hub_cache::scan::{Options, scan_with};
use proptest::prelude::*;
use serde_json::{Value, json};

use hfhub_tests::tree::{self, Kind, Tree};

use crate::scan::{build_healthy, build_shared_store, hex40, hex64, our_scan, python_scans};

/// For each `(cache_dir, hashes or files, execute)`: upstream's plan as JSON (from `delete_revisions`,
/// or from `delete_files` when `files` lists snapshot paths); executed when asked.
const PLAN_PY: &str = r#"
import json, sys
from huggingface_hub import scan_cache_dir
out = []
for job in json.loads(sys.argv[1]):
    info = scan_cache_dir(job["cache_dir"])
    if "files" in job:
        wanted = set(job["files"])
        plan = info.delete_files(*[f for repo in info.repos for rev in repo.revisions for f in rev.files
                                   if str(f.file_path) in wanted])
    else:
        plan = info.delete_revisions(*job["hashes"])
    out.append(dict(expected_freed_size=plan.expected_freed_size,
                    repos=sorted(map(str, plan.repos)), snapshots=sorted(map(str, plan.snapshots)),
                    refs=sorted(map(str, plan.refs)), blobs=sorted(map(str, plan.blobs)),
                    files=sorted(map(str, getattr(plan, "files", ())))))
    if job["execute"]:
        plan.execute()
print(json.dumps(out))
"#;

fn render_plan(plan: &Plan) -> Value {
    let strings = |set: &BTreeSet<PathBuf>| -> Vec<String> {
        set.iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    json!({
        "expected_freed_size": plan.expected_freed_size,
        "repos": strings(&plan.repos), "snapshots": strings(&plan.snapshots),
        "refs": strings(&plan.refs), "blobs": strings(&plan.blobs), "files": strings(&plan.files),
    })
}

fn build(shared: bool) -> Tree<'static> {
    let mut cache = Tree::temp();
    build_healthy(&mut cache);
    if shared {
        build_shared_store(&mut cache);
    }
    cache
}

/// Selections covering: a partial delete with blobs shared with kept revisions, a whole repo, an
/// unknown hash, a snapshot holding a regular file, an empty snapshot, shared-store blobs (all or part
/// of their references), and everything at once.
fn selections() -> Vec<(bool, Vec<String>)> {
    let all_2x = vec![
        hex40(0xa1),
        hex40(0xb2),
        hex40(0xc3),
        hex40(0xd4),
        hex40(0xe5),
        hex40(0xe6),
        hex40(0xf6),
        hex40(0x17),
        hex40(0x28),
        hex40(0x39),
    ];
    let mut everything = all_2x.clone();
    everything.extend([hex40(0x61), hex40(0x62)]);
    vec![
        (false, vec![hex40(0xa1)]),
        (false, vec![hex40(0xb2), hex40(0xc3)]),
        (false, vec![hex40(0xa1), hex40(0xb2), hex40(0xc3)]),
        (false, vec![hex40(0xd4), "0".repeat(40), hex40(0xd4)]),
        (false, vec![hex40(0xe5), hex40(0x17)]),
        (false, vec![hex40(0xe6)]),
        (false, all_2x),
        (true, vec![hex40(0x61)]),
        (true, vec![hex40(0x62)]),
        (true, vec![hex40(0x61), hex40(0x62), hex40(0xa1)]),
        (true, everything),
    ]
}

fn check_plans(version: &str, flavour: Flavour) {
    let selections = selections();
    // Three identical caches per selection: one for the plans, one upstream executes, one we execute.
    let caches: Vec<[Tree; 3]> = selections
        .iter()
        .map(|(shared, _)| [build(*shared), build(*shared), build(*shared)])
        .collect();
    let mut jobs = Vec::new();
    for ((_, hashes), [plan_cache, python_cache, _]) in selections.iter().zip(&caches) {
        for (cache, execute) in [(plan_cache, false), (python_cache, true)] {
            jobs.push(json!({"cache_dir": cache.root(), "hashes": hashes, "execute": execute}));
        }
    }
    let args = serde_json::to_string(&jobs).expect("json");
    let output = Oracle::get(version).eval(PLAN_PY, &[&args]);
    let expected: Vec<Value> = serde_json::from_str(&output).expect("oracle prints JSON");

    let mut executed = Vec::new();
    for (index, ((_, hashes), [plan_cache, python_cache, our_cache])) in
        selections.iter().zip(&caches).enumerate()
    {
        let options = Options::new().with_flavour(flavour);
        let report = scan_with(plan_cache.root(), &options).expect("scan");
        let plan = report.delete_revisions(hashes);
        assert_eq!(
            render_plan(&plan),
            expected[2 * index],
            "plan for {hashes:?}"
        );
        if flavour == Flavour::V2x {
            let unknown: Vec<&String> = hashes.iter().filter(|h| **h == "0".repeat(40)).collect();
            assert_eq!(plan.not_found.iter().collect::<Vec<_>>(), unknown);
        }

        let plan = scan_with(our_cache.root(), &options)
            .expect("scan")
            .delete_revisions(hashes);
        let outcome = plan.execute().expect("execute");
        // 0.2x lists a file stored in a snapshot as a blob too, and finds it gone with its snapshot.
        let tolerated = |w: &DeleteWarning| {
            flavour == Flavour::V0x && matches!(w, DeleteWarning::NotFound { .. })
        };
        assert!(
            outcome.warnings.iter().all(tolerated),
            "{:?}",
            outcome.warnings
        );
        assert_eq!(
            tree::listing(our_cache.root(), |_| true),
            tree::listing(python_cache.root(), |_| true),
            "trees after executing {hashes:?}"
        );
        executed.push(our_cache.root());
    }
    // Upstream scans what we left without a warning, and agrees with our scan of it.
    let scans = python_scans(version, &executed);
    for (dir, expected) in executed.iter().zip(scans) {
        if flavour == Flavour::V2x {
            assert_eq!(expected["warnings"], json!([]), "{}", dir.display());
        }
        assert_eq!(our_scan(dir, flavour), expected, "{}", dir.display());
    }
}

#[test]
fn plans_match_python_2x() {
    check_plans(HF_HUB_2X, Flavour::V2x);
}

#[test]
fn plans_match_python_0x() {
    check_plans(HF_HUB_0X, Flavour::V0x);
}

#[test]
fn execute_tolerates_missing_paths_and_stays_inside_the_cache() {
    let mut cache = Tree::temp();
    build_healthy(&mut cache);
    let report = hub_cache::scan(cache.root()).expect("scan");
    let mut plan = report.delete_revisions(&[hex40(0xa1)]);
    // Already gone: a warning with upstream's text, nothing else happens.
    let gone = plan.blobs.iter().next().expect("a blob").clone();
    fs::remove_file(&gone).expect("remove");
    // Outside the root, lexically escaping it, and below a symlinked folder: refused.
    let outside = tempfile::tempdir().expect("temp");
    let victim = outside.path().join("victim");
    fs::write(&victim, b"keep me").expect("write");
    plan.blobs.insert(victim.clone());
    plan.blobs.insert(
        cache
            .root()
            .join("models--gpt2")
            .join("..")
            .join("..")
            .join("x"),
    );
    symlink(outside.path(), cache.root().join("models--evil")).expect("symlink");
    plan.blobs
        .insert(cache.root().join("models--evil").join("victim"));

    let outcome = plan.execute().expect("execute");
    assert!(victim.exists(), "nothing outside the cache is deleted");
    let messages: Vec<String> = outcome.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages.contains(&format!(
            "Couldn't delete blob: file not found ({})",
            gone.display()
        )),
        "{messages:?}"
    );
    let mut refusals: Vec<&Refusal> = outcome
        .warnings
        .iter()
        .filter_map(|w| match w {
            DeleteWarning::Refused { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    refusals.sort_by_key(|r| matches!(r, Refusal::OutsideCache));
    assert_eq!(
        refusals,
        [
            &Refusal::SymlinkAncestor(cache.root().join("models--evil")),
            &Refusal::OutsideCache,
            &Refusal::OutsideCache,
        ]
    );
    // The symlinked folder itself, as a repo, is removed as a link: its target survives.
    let mut plan = hub_cache::scan(cache.root())
        .expect("scan")
        .delete_revisions(&[""; 0]);
    plan.repos.insert(cache.root().join("models--evil"));
    let outcome = plan.execute().expect("execute");
    assert_eq!(outcome.deleted.len(), 1);
    assert!(victim.exists() && !cache.root().join("models--evil").exists());
}

/// Sum of sizes of the regular files under `*/blobs/` and `*/snapshots/` (what plans count).
fn counted_bytes(root: &Path) -> u64 {
    tree::entries(root, |_| true)
        .iter()
        .filter(|e| e.relative.contains("/blobs/") || e.relative.contains("/snapshots/"))
        .map(|e| match e.kind {
            Kind::File { size } => size,
            _ => 0,
        })
        .sum()
}

/// A generated repo: `revisions[r]` lists (file index, blob index) pairs; blob `b` has `sizes[b]` bytes;
/// `copied` files are stored in the snapshot itself.
#[derive(Debug, Clone)]
struct Generated {
    sizes: Vec<usize>,
    revisions: Vec<Vec<(usize, usize, bool)>>,
    selected: Vec<bool>,
    refs: Vec<Option<usize>>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (1_usize..6, 1_usize..5).prop_flat_map(|(blobs, revisions)| {
        (
            proptest::collection::vec(1_usize..300, blobs),
            proptest::collection::vec(
                proptest::collection::vec(
                    (0_usize..4, 0..blobs, proptest::bool::weighted(0.1)),
                    0..4,
                ),
                revisions,
            ),
            proptest::collection::vec(any::<bool>(), revisions),
            proptest::collection::vec(proptest::option::of(0..revisions), 0..3),
        )
            .prop_map(|(sizes, revisions, selected, refs)| Generated {
                sizes,
                revisions,
                selected,
                refs,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_needed_blobs_and_free_what_they_announce(generated in generated()) {
        let mut cache = Tree::temp();
        let folder = "models--org--prop";
        let mut description = String::new();
        let mut used = BTreeSet::new();
        for (r, files) in generated.revisions.iter().enumerate() {
            let commit = hex40(0x100 + r as u32);
            let snapshot = format!("{folder}/snapshots/{commit}");
            description.push_str(&format!("{snapshot}/\n"));
            let mut names = BTreeSet::new();
            for &(file, blob, copied) in files {
                let name = format!("f{file}.bin");
                if !names.insert(name.clone()) {
                    continue;
                }
                let (size, etag) = (generated.sizes[blob], hex64(blob as u32));
                if copied {
                    description.push_str(&format!("{snapshot}/{name} ({size} bytes)\n"));
                } else {
                    if used.insert(blob) {
                        description.push_str(&format!("{folder}/blobs/{etag} ({size} bytes)\n"));
                    }
                    description.push_str(&format!("{snapshot}/{name} => {etag}\n"));
                }
            }
        }
        for (i, target) in generated.refs.iter().enumerate() {
            if let Some(r) = target {
                description.push_str(&format!("{folder}/refs/ref{i} = {}\n", hex40(0x100 + *r as u32)));
            }
        }
        cache.write(&description);
        let hashes: Vec<String> = generated.selected.iter().enumerate()
            .filter(|(_, s)| **s).map(|(r, _)| hex40(0x100 + r as u32)).collect();

        for flavour in [Flavour::V2x, Flavour::V0x] {
            let report = scan_with(cache.root(), &Options::new().with_flavour(flavour)).expect("scan");
            prop_assert!(report.warnings.is_empty(), "{:?}", report.warnings);
            let plan = report.delete_revisions(&hashes);
            let repo = &report.repos[0];
            let kept: BTreeSet<&PathBuf> = repo.revisions.iter()
                .filter(|rev| !hashes.contains(&rev.commit_hash))
                .flat_map(|rev| rev.files.iter().map(|f| &f.blob_path)).collect();
            for blob in &plan.blobs {
                prop_assert!(!kept.contains(blob), "{} is needed by a kept revision", blob.display());
            }
            if !kept.is_empty() {
                prop_assert!(plan.repos.is_empty());
            }
        }

        let plan = hub_cache::scan(cache.root()).expect("scan").delete_revisions(&hashes);
        let before = counted_bytes(cache.root());
        let outcome = plan.execute().expect("execute");
        prop_assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
        let after = if cache.root().join(folder).exists() { counted_bytes(cache.root()) } else { 0 };
        prop_assert_eq!(before - after, plan.expected_freed_size);
        let rescan = hub_cache::scan(cache.root()).expect("scan");
        prop_assert!(rescan.warnings.is_empty(), "{:?}", rescan.warnings);
        let remaining: usize = rescan.repos.iter().map(|r| r.revisions.len()).sum();
        prop_assert_eq!(remaining, generated.selected.len() - hashes.len());
    }
}

/// On every generated fixture: plans for each revision alone, every other revision, and all of them
/// match upstream's; executing "every other revision" leaves the tree upstream's `execute()` leaves, and
/// upstream scans it as we do.
fn check_fixture_plans(version: &str, flavour: Flavour) {
    let generate = || {
        let root = tempfile::tempdir().expect("temp dir");
        let fixtures = hfhub_tests::fixtures::generate_all(root.path()).expect("fixtures");
        (root, fixtures)
    };
    let (plan_root, plan_fixtures) = generate();
    let (python_root, python_fixtures) = generate();
    let (our_root, our_fixtures) = generate();
    let options = Options::new().with_flavour(flavour);

    let mut jobs = Vec::new();
    let mut ours = Vec::new();
    for (index, fixture) in plan_fixtures.iter().enumerate() {
        let report = scan_with(&fixture.cache_dir, &options).expect("scan");
        let hashes: Vec<String> = report
            .repos
            .iter()
            .flat_map(|repo| &repo.revisions)
            .map(|revision| revision.commit_hash.clone())
            .collect();
        let mut selections: Vec<Vec<String>> = hashes.iter().map(|h| vec![h.clone()]).collect();
        let every_other: Vec<String> = hashes.iter().step_by(2).cloned().collect();
        selections.push(every_other.clone());
        selections.push(hashes.clone());
        for hashes in selections {
            let plan = report.delete_revisions(&hashes);
            jobs.push(json!({"cache_dir": fixture.cache_dir, "hashes": hashes, "execute": false}));
            ours.push((fixture.name.clone(), hashes, render_plan(&plan)));
        }
        let python_dir = &python_fixtures[index].cache_dir;
        jobs.push(json!({"cache_dir": python_dir, "hashes": every_other, "execute": true}));
        let plan = scan_with(&our_fixtures[index].cache_dir, &options)
            .expect("scan")
            .delete_revisions(&every_other);
        ours.push((fixture.name.clone(), every_other, render_plan(&plan)));
        let outcome = plan.execute().expect("execute");
        let tolerated = |w: &DeleteWarning| {
            flavour == Flavour::V0x && matches!(w, DeleteWarning::NotFound { .. })
        };
        assert!(
            outcome.warnings.iter().all(tolerated),
            "{:?}",
            outcome.warnings
        );
    }
    let args = serde_json::to_string(&jobs).expect("json");
    let output = Oracle::get(version).eval(PLAN_PY, &[&args]);
    let expected: Vec<Value> = serde_json::from_str(&output).expect("oracle prints JSON");
    assert_eq!(expected.len(), ours.len());
    for ((name, hashes, ours), expected) in ours.iter().zip(&expected) {
        // Paths differ between the three copies only by their root; compare relative to it.
        let relative = |value: &Value, root: &Path| -> Value {
            let text = value
                .to_string()
                .replace(root.to_str().expect("UTF-8"), "<root>");
            serde_json::from_str(&text).expect("json")
        };
        let roots = [plan_root.path(), python_root.path(), our_root.path()];
        let strip = |v: &Value| roots.iter().fold(v.clone(), |v, r| relative(&v, r));
        assert_eq!(
            strip(ours),
            strip(expected),
            "plan for {hashes:?} in fixture {name}"
        );
    }

    for (python, ours) in python_fixtures.iter().zip(&our_fixtures) {
        assert_eq!(
            tree::listing(&ours.cache_dir, |_| true),
            tree::listing(&python.cache_dir, |_| true),
            "trees after executing in fixture {}",
            ours.name
        );
    }
    let executed: Vec<&Path> = our_fixtures.iter().map(|f| f.cache_dir.as_path()).collect();
    let scans = python_scans(version, &executed);
    for (fixture, expected) in our_fixtures.iter().zip(scans) {
        if flavour == Flavour::V2x && !fixture.corrupt {
            assert_eq!(expected["warnings"], json!([]), "{}", fixture.name);
        }
        assert_eq!(
            our_scan(&fixture.cache_dir, flavour),
            expected,
            "{}",
            fixture.name
        );
    }
}

#[test]
fn plans_match_python_on_every_fixture_2x() {
    check_fixture_plans(HF_HUB_2X, Flavour::V2x);
}

#[test]
fn plans_match_python_on_every_fixture_0x() {
    check_fixture_plans(HF_HUB_0X, Flavour::V0x);
}

/// 2.x `delete_files`: on the hand-built caches and every fixture, plans for every other file, every
/// third file and all files match upstream's; executing "every other file" leaves upstream's tree.
#[test]
fn file_plans_match_python_2x() {
    let generate = || {
        let root = tempfile::tempdir().expect("temp dir");
        let mut dirs: Vec<PathBuf> = hfhub_tests::fixtures::generate_all(root.path())
            .expect("fixtures")
            .into_iter()
            .map(|f| f.cache_dir)
            .collect();
        let (plain, shared) = (build(false), build(true));
        dirs.extend([plain.root().to_path_buf(), shared.root().to_path_buf()]);
        (root, plain, shared, dirs)
    };
    let (plan_root, plain_a, shared_a, plan_dirs) = generate();
    let (python_root, plain_b, shared_b, python_dirs) = generate();
    let (our_root, plain_c, shared_c, our_dirs) = generate();
    let roots: Vec<PathBuf> = [
        plan_root.path(),
        plain_a.root(),
        shared_a.root(),
        python_root.path(),
        plain_b.root(),
        shared_b.root(),
        our_root.path(),
        plain_c.root(),
        shared_c.root(),
    ]
    .iter()
    .map(|p| p.to_path_buf())
    .collect();
    let strip = |value: &Value| -> Value {
        let mut text = value.to_string();
        // Longest roots first, so a cache root inside a fixture root is replaced whole.
        let mut sorted = roots.clone();
        sorted.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
        for root in sorted {
            text = text.replace(root.to_str().expect("UTF-8"), "<root>");
        }
        serde_json::from_str(&text).expect("json")
    };
    let files_of = |dir: &Path| -> Vec<String> {
        let report = hub_cache::scan(dir).expect("scan");
        report
            .repos
            .iter()
            .flat_map(|r| &r.revisions)
            .flat_map(|r| &r.files)
            .map(|f| f.file_path.to_string_lossy().into_owned())
            .collect()
    };

    let mut jobs = Vec::new();
    let mut ours = Vec::new();
    for ((plan_dir, python_dir), our_dir) in plan_dirs.iter().zip(&python_dirs).zip(&our_dirs) {
        let report = hub_cache::scan(plan_dir).expect("scan");
        let files = files_of(plan_dir);
        let every_other: Vec<String> = files.iter().step_by(2).cloned().collect();
        let every_third: Vec<String> = files.iter().skip(1).step_by(3).cloned().collect();
        for selection in [every_other, every_third, files.clone()] {
            jobs.push(json!({"cache_dir": plan_dir, "files": selection, "execute": false}));
            ours.push((
                plan_dir.clone(),
                render_plan(&report.delete_files(&selection)),
            ));
        }
        let selection: Vec<String> = files_of(python_dir).into_iter().step_by(2).collect();
        jobs.push(json!({"cache_dir": python_dir, "files": selection, "execute": true}));
        let selection: Vec<String> = files_of(our_dir).into_iter().step_by(2).collect();
        let plan = hub_cache::scan(our_dir)
            .expect("scan")
            .delete_files(&selection);
        ours.push((our_dir.clone(), render_plan(&plan)));
        let outcome = plan.execute().expect("execute");
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    }
    let args = serde_json::to_string(&jobs).expect("json");
    let output = Oracle::get(HF_HUB_2X).eval(PLAN_PY, &[&args]);
    let expected: Vec<Value> = serde_json::from_str(&output).expect("oracle prints JSON");
    assert_eq!(expected.len(), ours.len());
    for ((dir, ours), expected) in ours.iter().zip(&expected) {
        assert_eq!(
            strip(ours),
            strip(expected),
            "file plan in {}",
            dir.display()
        );
    }
    for (python, ours) in python_dirs.iter().zip(&our_dirs) {
        assert_eq!(
            tree::listing(ours, |_| true),
            tree::listing(python, |_| true),
            "trees after deleting files in {}",
            ours.display()
        );
    }
}

/// The shared-store sweep follows the same rule as every deletion: a payload reached through a
/// symlinked prefix folder is left alone, while a regular payload is swept with its manifest.
#[test]
fn shared_store_sweep_never_follows_a_symlinked_prefix() {
    let mut cache = Tree::temp();
    build_shared_store(&mut cache);
    let payload = hex64(0xabcd_0001);
    let prefix_dir = cache.root().join("blobs").join(&payload[..2]);
    let outside = cache.root().with_file_name("elsewhere");
    fs::rename(&prefix_dir, &outside).expect("move the prefix folder out");
    symlink(&outside, &prefix_dir).expect("symlink it back");

    let report = hub_cache::scan(cache.root()).expect("scan");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let outcome = report
        .delete_revisions(&[hex40(0x61), hex40(0x62)])
        .execute()
        .expect("execute");
    assert!(outcome.swept.is_empty(), "{:?}", outcome.swept);
    assert!(
        outside.join(&payload).exists(),
        "payload behind the symlink survives"
    );

    // Control: the same deletion on a regular store sweeps the payload and its manifest.
    let mut cache = Tree::temp();
    build_shared_store(&mut cache);
    let outcome = hub_cache::scan(cache.root())
        .expect("scan")
        .delete_revisions(&[hex40(0x61), hex40(0x62)])
        .execute()
        .expect("execute");
    let payload_path = cache
        .root()
        .join("blobs")
        .join(&payload[..2])
        .join(&payload);
    assert_eq!(outcome.swept, [(payload_path.clone(), 2_500)]);
    assert!(!payload_path.exists());
}

/// What 2.x `hf cache prune` computes, rendered like our [`hub_cache::delete::Prune`].
const PRUNE_PY: &str = r#"
import json, sys
from huggingface_hub import scan_cache_dir
from huggingface_hub.utils import _shared_blobs
out = []
for d in sys.argv[1:]:
    info = scan_cache_dir(d)
    detached = sorted({rev.commit_hash for repo in info.repos for rev in repo.revisions if not rev.refs})
    unreferenced = _shared_blobs.unreferenced_shared_blobs(info.cache_dir)
    plan = info.delete_revisions(*detached)
    total = plan.expected_freed_size + info.incomplete_size_on_disk + sum(unreferenced.values())
    out.append(dict(detached=detached, total=total,
                    incomplete=sorted(str(f.file_path) for f in info.incomplete_files),
                    unreferenced=sorted([str(p), s] for p, s in unreferenced.items()),
                    plan=dict(expected_freed_size=plan.expected_freed_size,
                              repos=sorted(map(str, plan.repos)), snapshots=sorted(map(str, plan.snapshots)),
                              refs=sorted(map(str, plan.refs)), blobs=sorted(map(str, plan.blobs)), files=[])))
print(json.dumps(out))
"#;

/// `Report::prune` plans what `hf cache prune` plans, and executing it leaves the tree
/// `hf cache prune -y` leaves, on the hand-built caches and every fixture.
#[test]
fn prune_matches_hf_cache_prune() {
    let generate = || {
        let root = tempfile::tempdir().expect("temp dir");
        let mut dirs: Vec<PathBuf> = hfhub_tests::fixtures::generate_all(root.path())
            .expect("fixtures")
            .into_iter()
            .map(|f| f.cache_dir)
            .collect();
        let (plain, shared) = (build(false), build(true));
        dirs.extend([plain.root().to_path_buf(), shared.root().to_path_buf()]);
        (root, plain, shared, dirs)
    };
    let (_root_a, _plain_a, _shared_a, ours_dirs) = generate();
    let (_root_b, _plain_b, _shared_b, python_dirs) = generate();
    let oracle = Oracle::get(HF_HUB_2X);

    let args: Vec<&str> = ours_dirs
        .iter()
        .map(|d| d.to_str().expect("UTF-8"))
        .collect();
    let expected: Vec<Value> =
        serde_json::from_str(&oracle.eval(PRUNE_PY, &args)).expect("oracle prints JSON");
    let mut pruned_something = false;
    for (dir, expected) in ours_dirs.iter().zip(&expected) {
        let prune = hub_cache::scan(dir).expect("scan").prune();
        let strings = |paths: Vec<&PathBuf>| -> Vec<String> {
            paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        };
        let ours = json!({
            "detached": prune.detached, "total": prune.expected_freed_size(),
            "incomplete": strings(prune.incomplete_files.iter().map(|f| &f.file_path).collect()),
            "unreferenced": prune.unreferenced_shared_blobs.iter()
                .map(|(p, s)| json!([p.to_string_lossy(), s])).collect::<Vec<_>>(),
            "plan": render_plan(&prune.revisions),
        });
        assert_eq!(&ours, expected, "prune of {}", dir.display());
        pruned_something |= !prune.is_empty();
        let outcome = prune.execute().expect("execute");
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    }
    assert!(pruned_something);
    for dir in &python_dirs {
        let output = oracle
            .command()
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .arg("-m")
            .arg("huggingface_hub.cli.hf")
            .args(["cache", "prune", "-y", "--cache-dir"])
            .arg(dir)
            .output()
            .expect("run hf cache prune");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (ours, python) in ours_dirs.iter().zip(&python_dirs) {
        assert_eq!(
            tree::listing(ours, |_| true),
            tree::listing(python, |_| true),
            "trees after pruning {}",
            ours.display()
        );
    }
    let scans = python_scans(
        HF_HUB_2X,
        &ours_dirs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    for (dir, expected) in ours_dirs.iter().zip(scans) {
        assert_eq!(our_scan(dir, Flavour::V2x), expected, "{}", dir.display());
    }
}
