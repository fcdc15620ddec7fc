//! Helpers shared by the reliability tests (tests/model.rs, tests/stress.rs, tests/hostile.rs) and by the
//! cargo-fuzz targets under fuzz/, which include this directory with `#[path]`:
//!  - `ffi`: calling the C ABI from Rust and checking its conventions on every call;
//!  - `model`: a deliberately simple reference implementation of the documented semantics (a plain Vec,
//!    no indexes), the operations that drive it and the engine side by side, and a decoder that turns
//!    arbitrary bytes into operation sequences (used by proptest and by the fuzzer alike);
//!  - `bodies`: the bodies of the per-entry-point fuzz targets, also run on stable as proptests.
#![allow(dead_code)]

pub mod bodies;
pub mod ffi;
pub mod model;
pub mod redis;
