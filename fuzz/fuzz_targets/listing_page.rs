//! cargo-fuzz target `listing_page`: feeds arbitrary bytes to `hfhub_fuzz::listing_page` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::listing_page(data));
