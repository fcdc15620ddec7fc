//! sessionstore: a fast, thread-safe, in-memory session store for AI-agent frameworks.
//!
//! The engine (everything but [`ffi`]) is safe Rust and knows nothing of C. [`ffi`] exposes it through
//! `extern "C"` functions that pass JSON; `include/sessionstore.h` is generated from it by cbindgen.
#![forbid(unsafe_op_in_unsafe_fn)]

mod change;
mod config;
mod durable;
mod error;
pub mod ffi;
mod json;
mod persistence;
mod query;
mod render;
mod session;
mod session_type;
mod store;
mod tables;

pub use config::{Config, DEFAULT_MAX_SESSION_BYTES, MAX_SESSION_BYTES_LIMIT};
pub use error::{Error, ErrorKind, Result, MAX_MESSAGE_BYTES};
pub use json::MAX_DEPTH;
pub use query::{Query, SortBy, SortOrder};
pub use session_type::SessionType;
pub use store::{now, Stats, Store};
pub use tables::Filter;
