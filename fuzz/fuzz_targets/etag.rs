//! cargo-fuzz target `etag`: feeds arbitrary bytes to `hfhub_fuzz::etag` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::etag(data));
