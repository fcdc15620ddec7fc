//! Store configuration, given as JSON to `ss_store_open`.

use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::session_type::SessionType;
use serde::{Deserialize, Deserializer};

/// Default largest session a store accepts, in bytes (32 MiB): large enough for long transcripts, small
/// enough that a runaway caller is told so instead of exhausting memory. The config key
/// "max_session_bytes" changes it.
pub const DEFAULT_MAX_SESSION_BYTES: usize = 33554432;

/// The hard upper bound of `max_session_bytes`: a larger setting is lowered to it, as sqlite does with
/// its limits. Records address their JSON with 32-bit offsets; the 1 MiB margin covers what the store
/// adds to a session (its type and timestamps).
pub const MAX_SESSION_BYTES_LIMIT: usize = u32::MAX as usize - (1 << 20);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    #[serde(deserialize_with = "mode")]
    pub mode: SessionType,
    pub max_session_bytes: usize,
    #[serde(deserialize_with = "non_finite")]
    pub non_finite_numbers: NonFinite,
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
        Ok(config)
    }
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
    fn bad_configs_are_rejected_with_the_right_kind() {
        for (bad, kind) in [
            (&br#"{"mode":"robot"}"#[..], ErrorKind::InvalidArgument),
            (br#"{"mod":"agent"}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":0}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":-1}"#, ErrorKind::InvalidArgument),
            (br#"{"max_session_bytes":"big"}"#, ErrorKind::InvalidArgument),
            (br#"[]"#, ErrorKind::InvalidArgument),
            (br#"{"mode":"agent""#, ErrorKind::InvalidJson),
            (b"\xff", ErrorKind::InvalidJson),
        ] {
            assert_eq!(Config::parse(bad).unwrap_err().kind, kind, "{}", String::from_utf8_lossy(bad));
        }
    }
}
