//! cargo-fuzz target `repo_path`: feeds arbitrary bytes to `hfhub_fuzz::repo_path` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::repo_path(data));
