//! Bytes decoded into a sequence of operations on shared handles, run against the engine and the reference model.
//! Body: tests/common/bodies.rs (`ops`), shared with the stable proptest fallback in tests/hostile.rs.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::bodies::ops(data));
