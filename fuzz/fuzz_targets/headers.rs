#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hfhub_fuzz::headers(data));
