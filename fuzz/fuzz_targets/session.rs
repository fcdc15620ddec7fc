//! ss_upsert on arbitrary bytes (first byte: the store's mode, size and preload).
//! Body: tests/common/bodies.rs (`session`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::session(data));
