//! cargo-fuzz target `ref_and_metadata_files`: feeds arbitrary bytes to `hfhub_fuzz::ref_and_metadata_files` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::ref_and_metadata_files(data));
