//! ss_import on arbitrary bytes (first byte: mode, size, preload) plus an export/import round trip on success.
//! Body: tests/common/bodies.rs (`import`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::import(data));
