//! cargo-fuzz target `pattern`: feeds arbitrary bytes to `hfhub_fuzz::pattern` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::pattern(data));
