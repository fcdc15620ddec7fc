//! ss_query on arbitrary bytes against a preloaded store (first byte: mode; NULL query when bit 3 is set and nothing follows).
//! Body: tests/common/bodies.rs (`query`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::query(data));
