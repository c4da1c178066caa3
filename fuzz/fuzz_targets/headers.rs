//! cargo-fuzz target `headers`: feeds arbitrary bytes to `hfhub_fuzz::headers` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::headers(data));
