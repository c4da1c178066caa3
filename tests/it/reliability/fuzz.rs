//! A short bounded run of the fuzz harnesses (`fuzz/src/lib.rs`, shared with the cargo-fuzz targets)
//! on seeded random inputs: header parsing, ETag normalisation, ref / metadata / listing files,
//! pattern compilation and the scan of arbitrary trees must never panic.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner};

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

/// Runs `harness` on `cases` seeded inputs of up to `max_len` bytes (biased towards the bytes the
/// harnesses split on and interpret).
fn run(name: &str, cases: u32, max_len: usize, harness: fn(&[u8])) {
    let cases = if super::heavy() { cases * 20 } else { cases };
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let seed = [7u8; 32];
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let byte = prop_oneof![
        any::<u8>(),
        Just(0xFF),
        Just(b'"'),
        Just(b'W'),
        Just(b'/'),
        Just(b'*'),
        Just(b'['),
        Just(b'\\'),
        Just(b'.'),
    ];
    runner
        .run(&vec(byte, 0..max_len), |data| {
            harness(&data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("fuzz harness `{name}` failed: {e}"));
    eprintln!("fuzz {name}: {cases} inputs, 0 failures");
}

#[test]
fn headers_never_panic() {
    run("headers", 2000, 256, harness::headers);
}

#[test]
fn etag_normalisation_keeps_a_part_of_the_input() {
    run("etag", 2000, 64, harness::etag);
}

#[test]
fn ref_metadata_and_listing_files_never_panic() {
    run(
        "ref_and_metadata_files",
        200,
        256,
        harness::ref_and_metadata_files,
    );
}

#[test]
fn patterns_compile_and_match_without_panicking() {
    run("pattern", 2000, 96, harness::pattern);
}

#[test]
fn scanning_arbitrary_trees_never_panics() {
    run("scan_tree", 200, 256, harness::scan_tree);
}

#[test]
fn accepted_repo_paths_stay_inside_and_name_no_git_folder() {
    run("repo_path", 4000, 64, harness::repo_path);
}

#[test]
fn listing_pages_cross_the_path_and_etag_rules() {
    run("listing_page", 1000, 256, harness::listing_page);
}
