//! ss_store_open on arbitrary config bytes, and ss_store_share with the same bytes as a mode.
//! Body: tests/common/bodies.rs (`config`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::config(data));
