//! Operations.

use super::super::ffi::Kind;
use super::docs::{Batch, Doc, IdsDoc, ImportDoc};
use super::MODES;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Via {
    Rust,
    Ffi,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub mode: usize,
    pub max: Option<usize>,
    /// Modes of the handles shared from the first one before the operations start.
    pub shares: Vec<usize>,
    /// The change feed's budget, when not the default.
    pub feed: Option<usize>,
    /// The store's bounds (a bounded store runs on a clock the test drives).
    pub bounds: Option<Bounds>,
}

/// A store's bounds, as its config gives them (see the header's ss_store_open()).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bounds {
    pub idle: Option<i64>,
    pub age: Option<i64>,
    pub refresh: bool,
    pub max_sessions: Option<usize>,
    pub max_bytes: Option<usize>,
    pub user_sessions: Option<usize>,
    pub user_bytes: Option<usize>,
    pub refuse: bool,
}

impl Bounds {
    pub fn expires(&self) -> bool {
        self.idle.is_some() || self.age.is_some()
    }

    /// Whether the store keeps its recency list.
    pub fn ordered(&self) -> bool {
        self.idle.is_some() || self.max_sessions.is_some() || self.max_bytes.is_some()
    }

    /// Whether writes may have to make room.
    pub fn bounded(&self) -> bool {
        self.max_sessions.is_some()
            || self.max_bytes.is_some()
            || self.user_sessions.is_some()
            || self.user_bytes.is_some()
    }

    /// The config keys, each with a leading comma.
    fn keys(&self) -> String {
        let mut keys = String::new();
        let mut key = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                keys.push_str(&format!(",\"{name}\":{v}"));
            }
        };
        key("idle_expiry_s", self.idle.map(|n| n.to_string()));
        key("max_age_s", self.age.map(|n| n.to_string()));
        key("refresh_on_read", self.refresh.then(|| "true".into()));
        key("max_sessions", self.max_sessions.map(|n| n.to_string()));
        key("max_bytes", self.max_bytes.map(|n| n.to_string()));
        key("user_max_sessions", self.user_sessions.map(|n| n.to_string()));
        key("user_max_bytes", self.user_bytes.map(|n| n.to_string()));
        key("when_full", self.refuse.then(|| "\"refuse\"".into()));
        keys
    }
}

impl Setup {
    pub fn config(&self) -> Vec<u8> {
        let mut feed = self.feed.map_or(String::new(), |bytes| format!(",\"feed_bytes\":{bytes}"));
        if let Some(bounds) = &self.bounds {
            feed.push_str(&bounds.keys());
        }
        match self.max {
            Some(max) => format!("{{\"mode\":\"{}\",\"max_session_bytes\":{max}{feed}}}", MODES[self.mode]),
            None => format!(" {{ \"mode\" : \"{}\" {feed}}} ", MODES[self.mode]),
        }
        .into_bytes()
    }

    pub fn feed_bytes(&self) -> usize {
        self.feed.unwrap_or(sessionstore::DEFAULT_FEED_BYTES)
    }

    pub fn max_bytes(&self) -> usize {
        self.max.unwrap_or(sessionstore::DEFAULT_MAX_SESSION_BYTES)
    }
}

/// The version a conditional write expects, chosen against the model when the operation runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// The session's current version (0 when there is none).
    Current,
    /// Another one: one below the current, or 1 when there is none.
    Stale,
    Zero,
    Number(u64),
}

/// The runs of an append, as sent, and what the header says of them.
#[derive(Clone, Debug, PartialEq)]
pub struct RunsDoc {
    pub text: String,
    /// The text between the array's brackets (from the first run to the last), or the failure.
    pub inner: Result<String, Kind>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    UpsertIf {
        h: usize,
        via: Via,
        doc: Doc,
        expect: Expect,
    },
    RenameIf {
        h: usize,
        via: Via,
        id: String,
        name: String,
        user: Option<String>,
        expect: Expect,
    },
    DeleteIf {
        h: usize,
        via: Via,
        id: String,
        user: Option<String>,
        expect: Expect,
    },
    Append {
        h: usize,
        via: Via,
        id: String,
        user: Option<String>,
        runs: RunsDoc,
    },
    /// The changes after the latest minus `back` (a number above the latest when `back` is negative).
    Changes {
        h: usize,
        via: Via,
        back: i64,
        limit: usize,
        ids_only: bool,
    },
    ExportSeq {
        h: usize,
        via: Via,
    },
    Upsert {
        h: usize,
        via: Via,
        doc: Doc,
        pad: bool,
    },
    UpsertMany {
        h: usize,
        via: Via,
        batch: Batch,
    },
    Read {
        h: usize,
        via: Via,
        id: String,
        user: Option<String>,
    },
    Ids {
        h: usize,
        via: Via,
        user: Option<String>,
        entity: Option<String>,
    },
    All {
        h: usize,
        via: Via,
        user: Option<String>,
        entity: Option<String>,
    },
    Recent {
        h: usize,
        via: Via,
        user: Option<String>,
        entity: Option<String>,
        limit: i64,
    },
    Query {
        h: usize,
        via: Via,
        query: Option<Doc>,
    },
    Rename {
        h: usize,
        via: Via,
        id: String,
        name: String,
        user: Option<String>,
    },
    Delete {
        h: usize,
        via: Via,
        id: String,
        user: Option<String>,
    },
    DeleteMany {
        h: usize,
        via: Via,
        ids: IdsDoc,
        user: Option<String>,
    },
    Drop {
        h: usize,
        via: Via,
    },
    Stats {
        h: usize,
        via: Via,
    },
    Export {
        h: usize,
        via: Via,
    },
    Import {
        h: usize,
        via: Via,
        data: ImportDoc,
    },
    Reimport {
        h: usize,
        via: Via,
    },
    Share {
        h: usize,
        mode: Option<usize>,
    },
    Close {
        h: usize,
    },
    /// The store's clock moves on (a bounded store's).
    Advance {
        secs: i64,
    },
    /// The store frees what has expired (Store::reclaim, which its expiry thread calls).
    Reclaim,
}
