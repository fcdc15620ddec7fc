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

/// Default time a Redis store waits to connect to its server, in milliseconds; the config key
/// "connect_timeout_ms" changes it.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2000;

/// Default time a Redis store waits for one reply of its server, in milliseconds; the config key
/// "command_timeout_ms" changes it. A listing of a whole large store is one reply.
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 10000;

/// The namespace of a Redis store whose config names none.
pub const DEFAULT_NAMESPACE: &str = "sessionstore";

/// The longest namespace a Redis store accepts, in bytes: it is part of every key.
pub const MAX_NAMESPACE_BYTES: usize = 128;

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
    /// Where the data lives: "local" (this process; durable with a `path`) or "redis".
    #[serde(deserialize_with = "backend")]
    pub backend: Backend,
    /// A Redis store's server, as `redis://[user:password@]host:port/db` (`rediss://` for TLS).
    pub url: Option<String>,
    /// The prefix of a Redis store's keys, so that several stores share one server.
    pub namespace: Option<String>,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
}

/// Where a store's data lives (config key "backend").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// In this process: in memory, or durable in the config's `path`.
    #[default]
    Local,
    /// On a Redis 7+ (or Valkey) server, shared by every process that opens the same namespace there.
    Redis,
}

/// The keys only a local store reads: a Redis store refuses them rather than ignore them.
const LOCAL_ONLY: [&str; 9] = [
    "path",
    "sync",
    "sync_interval_ms",
    "compact_factor",
    "compact_min_bytes",
    "max_sessions",
    "max_bytes",
    "user_max_sessions",
    "user_max_bytes",
];

/// The keys only a Redis store reads: a local store refuses them rather than ignore them.
const REDIS_ONLY: [&str; 4] = ["url", "namespace", "connect_timeout_ms", "command_timeout_ms"];

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
            backend: Backend::Local,
            url: None,
            namespace: None,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            command_timeout_ms: DEFAULT_COMMAND_TIMEOUT_MS,
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
        // The keys given, even with their default values: a key of another backend is refused.
        let given = json::RawObject::parse(text, ErrorKind::InvalidArgument)?;
        config.check_backend(|key| given.fields.iter().any(|(k, _)| k == key))?;
        Ok(config)
    }

    /// Refuses keys that mean nothing to the config's backend (`given` says whether the config has
    /// one), and a Redis store without a server.
    fn check_backend(&self, given: impl Fn(&str) -> bool) -> Result<()> {
        match self.backend {
            Backend::Local => {
                if let Some(key) = REDIS_ONLY.iter().find(|key| given(key)) {
                    return Err(Error::invalid_argument(format!(
                        "config: {key} is a key of the redis backend; add \"backend\": \"redis\""
                    )));
                }
            }
            Backend::Redis => {
                if let Some(key) = LOCAL_ONLY.iter().find(|key| given(key)) {
                    let why = if key.starts_with("max") || key.starts_with("user") {
                        "capacity bounds and quotas cannot be kept exactly by a store many processes share"
                    } else {
                        "a Redis store's durability is the server's own (appendonly, save)"
                    };
                    return Err(Error::invalid_argument(format!(
                        "config: {key} is not available with the redis backend: {why}"
                    )));
                }
                if given("when_full") {
                    return Err(Error::invalid_argument(
                        "config: when_full is not available with the redis backend, which has no capacity bounds",
                    ));
                }
                if self.url.is_none() {
                    return Err(Error::invalid_argument(
                        "config: the redis backend needs a url (\"redis://host:port/db\")",
                    ));
                }
                if let Some(namespace) = &self.namespace {
                    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_BYTES {
                        return Err(Error::invalid_argument(format!(
                            "config: namespace must be 1 to {MAX_NAMESPACE_BYTES} bytes"
                        )));
                    }
                }
                if self.connect_timeout_ms == 0 || self.command_timeout_ms == 0 {
                    return Err(Error::invalid_argument(
                        "config: connect_timeout_ms and command_timeout_ms must be at least 1",
                    ));
                }
            }
        }
        Ok(())
    }

    /// A Redis store's namespace: the config's, or [`DEFAULT_NAMESPACE`].
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
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

fn backend<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Backend, D::Error> {
    let json::Str(name) = json::Str::deserialize(deserializer)?;
    match name.as_ref() {
        "local" => Ok(Backend::Local),
        "redis" => Ok(Backend::Redis),
        other => Err(serde::de::Error::custom(format_args!(
            "unknown backend {}: expected \"local\" or \"redis\"",
            crate::error::quote(other)
        ))),
    }
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
