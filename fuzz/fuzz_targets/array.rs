//! ss_upsert_many (first byte even) or ss_delete_sessions (odd) on arbitrary bytes.
//! Body: tests/common/bodies.rs (`array`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::array(data));
