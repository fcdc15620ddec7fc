//! A handle on a session store: every operation of the data model, thread-safe and atomic, whichever
//! backend holds the data.
//!
//! This is the seam between the operations and where the data lives: a store in this process
//! ([`Local`]: in memory, or durable in a directory) or on a Redis server ([`RedisStore`]), chosen by
//! the config's `backend`. Both check input through [`crate::intake`], so they refuse the same inputs
//! the same way, and both give the same results, statuses and JSON: the differential tests hold them
//! to it.

use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Config};
use crate::error::Result;
use crate::local::Local;
use crate::persistence::{DurabilityStats, FaultPlan};
use crate::query::Query;
use crate::redis_store::RedisStore;
use crate::render;
use crate::retention::Limits;
use crate::session_type::SessionType;
use crate::tables::Filter;
use std::sync::Arc;

/// The most changes one ss_changes() call returns, whatever its limit: they are gathered in one
/// atomic step (under a local store's read lock, in one Redis script), so this bounds how long one
/// call can hold writers back.
pub const MAX_CHANGES: usize = 10000;

/// One handle. Cloning is [`Store::share`] with the same mode; the data lives until the last handle
/// goes (a Redis store's data lives on the server).
#[derive(Clone)]
pub struct Store {
    place: Place,
}

#[derive(Clone)]
/// Where the data of a store lives.
enum Place {
    Local(Local),
    Redis(RedisStore),
}

/// Runs `$call` on whichever backend `$store` uses.
macro_rules! on_backend {
    ($store:expr, $b:ident => $call:expr) => {
        match &$store.place {
            Place::Local($b) => $call,
            Place::Redis($b) => $call,
        }
    };
}
/// Counts returned by [`Store::stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub mode: SessionType,
    pub by_type: [usize; 4],
    pub bytes: usize,
    pub feed: FeedStats,
    pub bounds: BoundsStats,
    /// A durable store's journal, snapshot and recovery; `None` in memory.
    pub durability: Option<DurabilityStats>,
}

/// The bounds in [`Stats`]: what the store holds against each, and what they removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundsStats {
    pub limits: Limits,
    /// Sessions and bytes held, expired ones not yet reclaimed included.
    pub sessions: usize,
    pub bytes: usize,
    /// Sessions reclaimed after they expired, and evicted to keep a bound, since the store was
    /// opened.
    pub expired: u64,
    pub evicted: u64,
}

/// The change feed in [`Stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStats {
    /// The store's identity: change numbers are this store's.
    pub store: String,
    /// The number of the last change.
    pub latest: u64,
    /// The number of the oldest change kept (one above `latest` when none is).
    pub oldest: u64,
    pub kept: usize,
    pub bytes: usize,
    pub budget: usize,
}

impl Stats {
    pub fn sessions(&self) -> usize {
        self.by_type.iter().sum()
    }

    pub fn to_json(&self) -> String {
        render::stats(self)
    }
}

/// Unix seconds now, by the system's clock (a store's own may be another: see [`Hooks`]).
pub fn now() -> i64 {
    SystemClock.now()
}

/// What tests change in how a store works.
#[doc(hidden)]
#[derive(Default)]
pub struct Hooks {
    /// Faults injected into a durable store's file I/O.
    pub faults: Option<Arc<FaultPlan>>,
    /// The store's clock, instead of the system's.
    pub clock: Option<Arc<dyn Clock>>,
    /// No expiry thread: expired sessions are reclaimed only by [`Store::reclaim`] (and writes).
    pub no_reclaimer: bool,
}

impl Store {
    /// Opens a store: in memory; durable in a directory when the config has a `path`; on a Redis
    /// server when its `backend` is "redis".
    pub fn open(config: Config) -> Result<Store> {
        Store::open_with(config, Hooks::default())
    }

    /// [`Store::open`], with faults injected into a durable store's file I/O: for tests.
    #[doc(hidden)]
    pub fn open_with_faults(config: Config, faults: Option<Arc<FaultPlan>>) -> Result<Store> {
        Store::open_with(config, Hooks { faults, ..Hooks::default() })
    }

    /// [`Store::open`], changed for a test by `hooks`.
    #[doc(hidden)]
    pub fn open_with(config: Config, hooks: Hooks) -> Result<Store> {
        let place = match config.backend {
            Backend::Local => Place::Local(Local::open_with(config, hooks)?),
            Backend::Redis => Place::Redis(RedisStore::open(&config, hooks)?),
        };
        Ok(Store { place })
    }

    /// Opens a store from a JSON config; `None` means the defaults.
    pub fn open_json(config: Option<&[u8]>) -> Result<Store> {
        Store::open(config.map(Config::parse).transpose()?.unwrap_or_default())
    }

    /// Forces a durable store's journal to stable storage now, whatever its sync policy; a no-op in
    /// memory and on Redis (whose durability is the server's). A failure poisons a durable store (see
    /// [`crate::ErrorKind::Poisoned`]).
    pub fn sync(&self) -> Result<()> {
        match &self.place {
            Place::Local(local) => local.sync(),
            Place::Redis(_) => Ok(()),
        }
    }

    /// Writes a durable store's snapshot now, on the calling thread, and restarts its journal; a no-op
    /// otherwise. Reads and writes go on meanwhile. (The store also does this by itself when the
    /// journal outgrows the live data by the config's `compact_factor`.)
    pub fn compact(&self) -> Result<()> {
        match &self.place {
            Place::Local(local) => local.compact(),
            Place::Redis(_) => Ok(()),
        }
    }

    /// Another handle on the same data, with `mode` or, when `None`, this handle's mode.
    pub fn share(&self, mode: Option<SessionType>) -> Store {
        let place = match &self.place {
            Place::Local(local) => Place::Local(local.share(mode)),
            Place::Redis(redis) => Place::Redis(redis.share(mode)),
        };
        Store { place }
    }

    pub fn mode(&self) -> SessionType {
        on_backend!(self, b => b.mode())
    }

    pub fn max_session_bytes(&self) -> usize {
        on_backend!(self, b => b.max_session_bytes())
    }

    /// Stores one session and hands its stored JSON to `output` (exactly what was stored, even if
    /// another thread updates the session right after).
    pub fn upsert_with<R>(&self, json: &[u8], output: impl FnOnce(&str) -> R) -> Result<R> {
        self.upsert_if_with(json, None, output)
    }

    /// [`Store::upsert_with`], when `expected` is `None` or the stored session's version (0: there is
    /// no such session); otherwise it fails with [`crate::ErrorKind::VersionMismatch`] and changes
    /// nothing.
    pub fn upsert_if_with<R>(
        &self,
        json: &[u8],
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        on_backend!(self, b => b.upsert_if_with(json, expected, output))
    }

    /// Frees the sessions that have expired, which every call has treated as gone from the moment
    /// they expired; returns how many. They go in batches, each atomic and each a change of the feed
    /// ("expire"). A store expires sessions by itself; a caller may do it to have the memory back at
    /// once.
    pub fn reclaim(&self) -> Result<usize> {
        on_backend!(self, b => b.reclaim())
    }

    pub fn upsert_if(&self, json: &[u8], expected: Option<u64>) -> Result<String> {
        self.upsert_if_with(json, expected, str::to_owned)
    }

    pub fn upsert(&self, json: &[u8]) -> Result<String> {
        self.upsert_with(json, str::to_owned)
    }

    /// Stores every session of a JSON array, or none of them; returns the stored sessions as an array.
    pub fn upsert_many(&self, json: &[u8]) -> Result<String> {
        on_backend!(self, b => b.upsert_many(json))
    }

    /// Hands the session's JSON to `output` when it exists, has this handle's type and, when `user_id`
    /// is given (and not empty), belongs to that user.
    pub fn read_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        on_backend!(self, b => b.read_with(session_id, user_id, output))
    }

    pub fn read(&self, session_id: &str, user_id: Option<&str>) -> Result<String> {
        self.read_with(session_id, user_id, str::to_owned)
    }

    /// Ids of this handle's sessions matching `filter`, as a JSON array in first-insertion order.
    pub fn get_all_session_ids(&self, filter: Filter) -> Result<String> {
        match &self.place {
            Place::Local(local) => Ok(local.get_all_session_ids(filter)),
            Place::Redis(redis) => redis.get_all_session_ids(filter),
        }
    }

    /// This handle's sessions matching `filter`, as a JSON array in first-insertion order.
    pub fn get_all_sessions(&self, filter: Filter) -> Result<String> {
        match &self.place {
            Place::Local(local) => Ok(local.get_all_sessions(filter)),
            Place::Redis(redis) => redis.get_all_sessions(filter),
        }
    }

    /// Newest first by `created_at`, ties going to the most recently inserted; `limit < 0` means all.
    pub fn get_recent_sessions(&self, filter: Filter, limit: i64) -> Result<String> {
        match &self.place {
            Place::Local(local) => Ok(local.get_recent_sessions(filter, limit)),
            Place::Redis(redis) => redis.get_recent_sessions(filter, limit),
        }
    }

    /// Runs an Agno 2-style query (see [`Query`]); returns `{"sessions":[...],"total":N}`.
    pub fn query(&self, query: &Query) -> Result<String> {
        match &self.place {
            Place::Local(local) => Ok(local.query(query)),
            Place::Redis(redis) => redis.query(query),
        }
    }

    pub fn query_json(&self, query: Option<&[u8]>) -> Result<String> {
        let query = query.map(Query::parse).transpose()?.unwrap_or_default();
        self.query(&query)
    }

    /// Sets `session_data.session_name`, touches `updated_at` and hands the stored JSON to `output`.
    pub fn rename_session_with<R>(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        self.rename_session_if_with(session_id, name, user_id, None, output)
    }

    /// [`Store::rename_session_with`], when `expected` is `None` or the session's version (0 is the
    /// version of a session that does not exist: the rename then fails with `NotFound`); otherwise it
    /// fails with [`crate::ErrorKind::VersionMismatch`].
    pub fn rename_session_if_with<R>(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        on_backend!(self, b => b.rename_session_if_with(session_id, name, user_id, expected, output))
    }

    pub fn rename_session(&self, session_id: &str, name: &str, user_id: Option<&str>) -> Result<String> {
        self.rename_session_with(session_id, name, user_id, str::to_owned)
    }

    /// Removes the session if it has this handle's type and, when `user_id` is given (and not empty),
    /// belongs to that user; returns how many were removed (0 or 1).
    pub fn delete_session(&self, session_id: &str, user_id: Option<&str>) -> Result<usize> {
        self.delete_session_if(session_id, user_id, None)
    }

    /// [`Store::delete_session`], when `expected` is `None` or the session's version (0: the session
    /// must not exist, and nothing is removed); otherwise it fails with
    /// [`crate::ErrorKind::VersionMismatch`].
    pub fn delete_session_if(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
    ) -> Result<usize> {
        on_backend!(self, b => b.delete_session_if(session_id, user_id, expected))
    }

    /// Removes the sessions named by a JSON array of ids, as [`Store::delete_session`] would each;
    /// returns how many were removed.
    pub fn delete_sessions(&self, ids_json: &[u8], user_id: Option<&str>) -> Result<usize> {
        on_backend!(self, b => b.delete_sessions(ids_json, user_id))
    }

    /// Removes every session of this handle's type; returns how many were removed.
    pub fn drop_sessions(&self) -> Result<usize> {
        on_backend!(self, b => b.drop_sessions())
    }

    /// Appends `runs` (a JSON array of one or more runs) to the session's transcript (`runs` of a
    /// workflow_v2 session, `memory.runs` of the others, created when missing or null), touches
    /// `updated_at` and hands the stored JSON to `output`. Concurrent appends to one session all land,
    /// in some order.
    pub fn append_runs_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        runs_json: &[u8],
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        on_backend!(self, b => b.append_runs_with(session_id, user_id, runs_json, output))
    }

    pub fn append_runs(&self, session_id: &str, user_id: Option<&str>, runs_json: &[u8]) -> Result<String> {
        self.append_runs_with(session_id, user_id, runs_json, str::to_owned)
    }

    /// The changes after change number `after`, at most `limit` (at most [`MAX_CHANGES`]), as
    /// `{"changes":[...],"next":N,"latest":L}`: see the header's ss_changes(). With `ids_only`, stored
    /// sessions are given by id, type and version, without their JSON.
    pub fn changes(&self, after: u64, limit: usize, ids_only: bool) -> Result<String> {
        on_backend!(self, b => b.changes(after, limit, ids_only))
    }

    /// [`Store::changes`] with its options as JSON (`{"ids_only": true}`); `None` means none.
    pub fn changes_json(&self, after: u64, limit: usize, options: Option<&[u8]>) -> Result<String> {
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Options {
            ids_only: bool,
        }
        let options: Options = match options {
            Some(bytes) => crate::json::from_object(
                crate::json::checked_text(bytes)?,
                "options",
                crate::ErrorKind::InvalidArgument,
            )?,
            None => Options::default(),
        };
        self.changes(after, limit, options.ids_only)
    }

    pub fn stats(&self) -> Result<Stats> {
        match &self.place {
            Place::Local(local) => Ok(local.stats()),
            Place::Redis(redis) => redis.stats(),
        }
    }

    /// Every session of every type as `{session_id: session, ...}`, the shape of Agno's `storage_dict`.
    pub fn export(&self) -> Result<String> {
        Ok(self.export_with_seq()?.0)
    }

    /// [`Store::export`], and the number of the last change it holds: a mirror that loads the export
    /// then follows the feed after that number misses no change and sees none twice.
    pub fn export_with_seq(&self) -> Result<(String, u64)> {
        match &self.place {
            Place::Local(local) => Ok(local.export_with_seq()),
            Place::Redis(redis) => redis.export_with_seq(),
        }
    }

    /// Merges an export into the store, all or nothing. Timestamps are kept as given (missing ones are
    /// filled like an upsert's); records without `session_type` take this handle's mode.
    pub fn import(&self, json: &[u8]) -> Result<usize> {
        on_backend!(self, b => b.import(json))
    }

    /// Checks the internal indexes against the sessions they index; for tests and stress runs.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        on_backend!(self, b => b.check_invariants())
    }
}
