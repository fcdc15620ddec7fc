//! sessionstore: a fast, thread-safe session store for AI-agent frameworks: in memory, durable on disk,
//! or shared by many processes on a Redis server.
//!
//! The engine (everything but [`ffi`]) is safe Rust and knows nothing of C. [`ffi`] exposes it through
//! `extern "C"` functions that pass JSON; `include/sessionstore.h` is generated from it by cbindgen.
#![forbid(unsafe_op_in_unsafe_fn)]

mod change;
mod clock;
mod config;
mod durable;
mod error;
mod feed;
pub mod ffi;
mod incremental_table;
mod intake;
mod json;
mod local;
mod lock;
mod names;
mod order;
mod parallel;
mod persistence;
mod query;
mod reading;
mod reclaimer;
mod record;
mod redis_store;
mod render;
mod retention;
mod session;
mod session_type;
mod store;
mod tables;
mod versions;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Backend, Config, Sync, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_COMPACT_FACTOR, DEFAULT_COMPACT_MIN_BYTES,
    DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FEED_BYTES, DEFAULT_MAX_SESSION_BYTES, DEFAULT_NAMESPACE,
    DEFAULT_SYNC_INTERVAL_MS, MAX_NAMESPACE_BYTES, MAX_SESSION_BYTES_LIMIT,
};
pub use error::{Error, ErrorKind, Result, MAX_MESSAGE_BYTES};
pub use json::MAX_DEPTH;
pub use persistence::{DurabilityStats, FaultPlan};
pub use query::{Query, SortBy, SortOrder};
pub use retention::WhenFull;
pub use session_type::SessionType;
pub use store::{now, BoundsStats, FeedStats, Hooks, Stats, Store, MAX_CHANGES};
pub use tables::Filter;
