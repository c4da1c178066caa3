//! cargo-fuzz target `scan_tree`: feeds arbitrary bytes to `hfhub_fuzz::scan_tree` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::scan_tree(data));
