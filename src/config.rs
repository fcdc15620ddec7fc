//! Store configuration, given as JSON to `ss_store_open`.

use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::retention::WhenFull;
use crate::session_type::SessionType;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// Default largest session a store accepts, in bytes (32 MiB): large enough for long transcripts, small
/// enough that a runaway caller is told so instead of exhausting memory. The config key
/// "max_session_bytes" changes it.
pub const DEFAULT_MAX_SESSION_BYTES: usize = 33554432;

/// The hard upper bound of `max_session_bytes`: a larger setting is lowered to it, as sqlite does with
/// its limits. Records address their JSON with 32-bit offsets; the 1 MiB margin covers what the store
/// adds to a session (its type and timestamps).
pub const MAX_SESSION_BYTES_LIMIT: usize = u32::MAX as usize - (1 << 20);

/// Default interval of the "interval" sync policy, in milliseconds (Redis's `appendfsync everysec`).
pub const DEFAULT_SYNC_INTERVAL_MS: u64 = 1000;

/// Default compaction trigger: a snapshot is written when the journal holds this many times the live
/// sessions' bytes (Redis's `auto-aof-rewrite-percentage 100` is 2).
pub const DEFAULT_COMPACT_FACTOR: u64 = 2;

/// Default journal size below which no compaction happens, whatever the factor (Redis's
/// `auto-aof-rewrite-min-size` is 64 MiB): small stores do not rewrite themselves over and over.
pub const DEFAULT_COMPACT_MIN_BYTES: u64 = 67108864;

/// Default budget of the change feed, in bytes of the changes it keeps (sessions' JSON, removed ids):
/// 16 MiB holds the last 16,000 upserts of 1 KiB sessions. The config key "feed_bytes" changes it; 0
/// keeps none.
pub const DEFAULT_FEED_BYTES: usize = 16777216;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    #[serde(deserialize_with = "mode")]
    pub mode: SessionType,
    pub max_session_bytes: usize,
    #[serde(deserialize_with = "non_finite")]
    pub non_finite_numbers: NonFinite,
    /// The directory of a durable store; `None` keeps the store in memory only.
    #[serde(deserialize_with = "path")]
    pub path: Option<PathBuf>,
    #[serde(deserialize_with = "sync")]
    pub sync: Sync,
    pub sync_interval_ms: u64,
    pub compact_factor: u64,
    pub compact_min_bytes: u64,
    /// How many bytes of changes the change feed keeps.
    pub feed_bytes: usize,
    /// Bounds (see `crate::retention`); 0 is none.
    pub idle_expiry_s: u64,
    pub max_age_s: u64,
    pub refresh_on_read: bool,
    pub max_sessions: usize,
    pub max_bytes: usize,
    pub user_max_sessions: usize,
    pub user_max_bytes: usize,
    #[serde(deserialize_with = "when_full")]
    pub when_full: WhenFull,
}

/// When a durable store forces its journal to stable storage (config key "sync").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sync {
    /// "always": before every mutation returns; concurrent writers share one fsync.
    #[default]
    Always,
    /// "interval": every `sync_interval_ms`, from a background thread.
    Interval,
    /// "os": never by the store (but on close); the kernel writes back when it chooses.
    Os,
}

impl Sync {
    pub const NAMES: [(&'static str, Sync); 3] =
        [("always", Sync::Always), ("interval", Sync::Interval), ("os", Sync::Os)];

    pub fn name(self) -> &'static str {
        Sync::NAMES.iter().find(|(_, s)| *s == self).map_or("always", |(n, _)| n)
    }
}

/// What the store does with `NaN`, `Infinity` and `-Infinity`, which are not JSON but which Python's
/// `json.dumps` writes by default (Agno's float metrics carry them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NonFinite {
    /// Refuse the input (INVALID_JSON), as a JSON parser must.
    #[default]
    Reject,
    /// Store each as `null`, wherever it stands outside a string.
    Null,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: SessionType::Agent,
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            non_finite_numbers: NonFinite::Reject,
            path: None,
            sync: Sync::Always,
            sync_interval_ms: DEFAULT_SYNC_INTERVAL_MS,
            compact_factor: DEFAULT_COMPACT_FACTOR,
            compact_min_bytes: DEFAULT_COMPACT_MIN_BYTES,
            feed_bytes: DEFAULT_FEED_BYTES,
            idle_expiry_s: 0,
            max_age_s: 0,
            refresh_on_read: false,
            max_sessions: 0,
            max_bytes: 0,
            user_max_sessions: 0,
            user_max_bytes: 0,
            when_full: WhenFull::Evict,
        }
    }
}

impl Config {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let text = json::checked_text(bytes)?;
        let config: Config = json::from_object(text, "config", ErrorKind::InvalidArgument)?;
        if config.max_session_bytes == 0 {
            return Err(Error::invalid_argument("config: max_session_bytes must be at least 1"));
        }
        if config.sync_interval_ms == 0 {
            return Err(Error::invalid_argument("config: sync_interval_ms must be at least 1"));
        }
        if config.compact_factor == 0 {
            return Err(Error::invalid_argument("config: compact_factor must be at least 1"));
        }
        if config.refresh_on_read && config.idle_expiry_s == 0 {
            return Err(Error::invalid_argument(
                "config: refresh_on_read needs idle_expiry_s (reads refresh the idle time)",
            ));
        }
        Ok(config)
    }

    pub fn sync_interval(&self) -> Duration {
        Duration::from_millis(self.sync_interval_ms)
    }
}

fn path<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<PathBuf>, D::Error> {
    let Some(json::Str(path)) = Option::<json::Str>::deserialize(deserializer)? else { return Ok(None) };
    if path.is_empty() {
        return Err(serde::de::Error::custom("path must not be empty"));
    }
    if path.contains('\0') {
        return Err(serde::de::Error::custom("path must not contain U+0000"));
    }
    Ok(Some(PathBuf::from(path.into_owned())))
}

fn sync<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Sync, D::Error> {
    let json::Str(name) = json::Str::deserialize(deserializer)?;
    Sync::NAMES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| {
        serde::de::Error::custom(format_args!(
            "unknown sync {}: expected \"always\", \"interval\" or \"os\"",
            crate::error::quote(&name)
        ))
    })
}

fn when_full<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<WhenFull, D::Error> {
    let json::Str(name) = json::Str::deserialize(deserializer)?;
    WhenFull::NAMES.iter().find(|(n, _)| *n == name).map(|(_, w)| *w).ok_or_else(|| {
        serde::de::Error::custom(format_args!(
            "unknown when_full {}: expected \"evict\" or \"refuse\"",
            crate::error::quote(&name)
        ))
    })
}

fn non_finite<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<NonFinite, D::Error> {
    let json::Str(name) = json::Str::deserialize(deserializer)?;
    match name.as_ref() {
        "reject" => Ok(NonFinite::Reject),
        "null" => Ok(NonFinite::Null),
        other => Err(serde::de::Error::custom(format_args!(
            "unknown non_finite_numbers {}: expected \"reject\" or \"null\"",
            crate::error::quote(other)
        ))),
    }
}

fn mode<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<SessionType, D::Error> {
    let json::Str(name) = json::Str::deserialize(deserializer)?;
    SessionType::parse(&name).map_err(|e| serde::de::Error::custom(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_defaults() {
        assert_eq!(Config::parse(b"{}").unwrap(), Config::default());
    }

    #[test]
    fn fields_are_read() {
        let c = Config::parse(br#"{"mode":"workflow_v2","max_session_bytes":100}"#).unwrap();
        assert_eq!(c, Config { mode: SessionType::WorkflowV2, max_session_bytes: 100, ..Config::default() });
    }

    #[test]
    fn durability_keys_are_read() {
        let c = Config::parse(br#"{"path":"/tmp/x","sync":"interval","sync_interval_ms":50,"compact_factor":3,"compact_min_bytes":0}"#)
            .unwrap();
        assert_eq!(c.path.as_deref(), Some(std::path::Path::new("/tmp/x")));
        assert_eq!(
            (c.sync, c.sync_interval_ms, c.compact_factor, c.compact_min_bytes),
            (Sync::Interval, 50, 3, 0)
        );
        for (name, sync) in Sync::NAMES {
            assert_eq!(Config::parse(format!(r#"{{"sync":"{name}"}}"#).as_bytes()).unwrap().sync, sync);
            assert_eq!(sync.name(), name);
        }
    }

    #[test]
    fn bad_configs_are_rejected_with_the_right_kind() {
        for (bad, kind) in [
            (&br#"{"mode":"robot"}"#[..], ErrorKind::InvalidArgument),
            (br#"{"mod":"agent"}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":0}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":-1}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":"big"}"#, ErrorKind::InvalidArgument),
            (br#"{"path":""}"#, ErrorKind::InvalidArgument),
            (br#"{"path":7}"#, ErrorKind::InvalidArgument),
            (br#"{"path":"a\u0000b"}"#, ErrorKind::InvalidArgument),
            (br#"{"sync":"sometimes"}"#, ErrorKind::InvalidArgument),
            (br#"{"sync_interval_ms":0}"#, ErrorKind::InvalidArgument),
            (br#"{"compact_factor":0}"#, ErrorKind::InvalidArgument),
            (br#"{"compact_min_bytes":-5}"#, ErrorKind::InvalidArgument),
            (br#"{"feed_bytes":-1}"#, ErrorKind::InvalidArgument),
            (br#"{"feed_bytes":"big"}"#, ErrorKind::InvalidArgument),
            (br#"[]"#, ErrorKind::InvalidArgument),
            (br#"{"mode":"agent""#, ErrorKind::InvalidJson),
            (b"\xff", ErrorKind::InvalidJson),
        ] {
            assert_eq!(Config::parse(bad).unwrap_err().kind, kind, "{}", String::from_utf8_lossy(bad));
        }
    }
}
