//! What every backend checks of a caller's input before it touches any data: sizes, the session
//! schema against the handle's mode, conditional-write versions, ownership, appended runs. One place,
//! so that a store in this process and one on a Redis server refuse the same inputs with the same
//! statuses and messages.

use crate::config::{Config, NonFinite, MAX_SESSION_BYTES_LIMIT};
use crate::error::{quote, Error, ErrorKind, Result};
use crate::json;
use crate::session::{SessionInput, STAMP_ALLOWANCE};
use crate::session_type::SessionType;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The limits of the config that input is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Intake {
    pub max_session_bytes: usize,
    non_finite: NonFinite,
}

impl Intake {
    pub fn of(config: &Config) -> Intake {
        Intake {
            max_session_bytes: config.max_session_bytes.min(MAX_SESSION_BYTES_LIMIT),
            non_finite: config.non_finite_numbers,
        }
    }

    /// The input as the store reads it: with NaN, Infinity and -Infinity as null when the config says
    /// so (see [`NonFinite`]).
    pub fn readable<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.non_finite {
            NonFinite::Null => json::non_finite_to_null(text).map_or(Cow::Borrowed(text), Cow::Owned),
            NonFinite::Reject => Cow::Borrowed(text),
        }
    }

    /// Refuses, unread, an input too long to hold a session within the limit.
    pub fn check_len(&self, len: usize) -> Result<()> {
        let max = self.max_session_bytes;
        if len > max.saturating_add(STAMP_ALLOWANCE) {
            return Err(Error::too_large(format!(
                "session is {len} bytes; this store's max_session_bytes is {max}"
            )));
        }
        Ok(())
    }

    pub fn check_size(&self, input: &SessionInput) -> Result<()> {
        let (size, max) = (input.size(), self.max_session_bytes);
        if size > max {
            return Err(Error::too_large(format!(
                "session is {size} bytes without session_type and timestamps; this store's max_session_bytes is {max}"
            )));
        }
        Ok(())
    }

    /// One session for a handle of `mode`.
    pub fn parse_input<'a>(&self, text: &'a str, mode: SessionType) -> Result<SessionInput<'a>> {
        let input = SessionInput::parse(text)?;
        self.check_size(&input)?;
        match input.session_type {
            Some(ty) if ty != mode => Err(Error::invalid_session(format!(
                "session_type is {:?} but this store handle's mode is {:?}",
                ty.as_str(),
                mode.as_str()
            ))),
            _ => Ok(input),
        }
    }

    /// The sessions of an ss_upsert_many() batch, each checked; errors name the element.
    pub fn parse_batch<'a>(&self, text: &'a str, mode: SessionType) -> Result<Vec<SessionInput<'a>>> {
        depth_first(text, || {
            let elements: Vec<&RawValue> = serde_json::from_str(text)
                .map_err(|e| json::classify(e, text, ErrorKind::InvalidArgument).at("sessions"))?;
            elements
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    self.check_len(raw.get().len())
                        .and_then(|()| json::check_depth(raw.get(), json::MAX_DEPTH))
                        .and_then(|()| self.parse_input(raw.get(), mode))
                        .map_err(|e| e.at(format_args!("sessions[{i}]")))
                })
                .collect::<Result<Vec<_>>>()
        })
    }

    /// One record of an import, stored under `key`: a valid session whose id is its key, within the
    /// size limit. Returns it with the type it will be stored with (its own, or the handle's `mode`).
    pub fn import_record<'a>(
        &self,
        key: &str,
        raw: &'a RawValue,
        mode: SessionType,
    ) -> Result<(SessionInput<'a>, SessionType)> {
        let at = |e: Error| e.at(format_args!("import[{}]", quote(key)));
        self.check_len(raw.get().len()).map_err(at)?;
        json::check_depth(raw.get(), json::MAX_DEPTH).map_err(at)?;
        let input = SessionInput::parse(raw.get()).map_err(at)?;
        self.check_size(&input).map_err(at)?;
        if input.session_id != key {
            return Err(at(Error::invalid_session(format!(
                "the record's session_id {} differs from its key",
                quote(&input.session_id)
            ))));
        }
        let ty = input.session_type.unwrap_or(mode);
        Ok((input, ty))
    }
}

/// The error of a call that found no session for its handle.
pub(crate) fn not_found(mode: SessionType, session_id: &str) -> Error {
    Error::not_found(format!("no {mode} session {}", quote(session_id)))
}

/// The error of a write to an id stored with another type than the handle's.
pub(crate) fn type_conflict(session_id: &str, stored: SessionType, mode: SessionType) -> Error {
    Error::conflict(format!(
        "session {} already exists with session_type {:?}; this handle's mode is {:?}",
        quote(session_id),
        stored.as_str(),
        mode.as_str()
    ))
}

/// Refuses a write that would take a session from its owner: a stored `user_id` that is set and differs
/// from the input's (absent or null included). The message does not name the owner.
pub(crate) fn check_owner(owner: Option<&str>, input: &SessionInput) -> Result<()> {
    match owner {
        Some(owner) if input.user_id.as_deref() != Some(owner) => Err(owner_refused(&input.session_id)),
        _ => Ok(()),
    }
}

/// The error of a write refused by [`check_owner`].
pub(crate) fn owner_refused(session_id: &str) -> Error {
    Error::permission_denied(format!(
        "session {} belongs to another user: an upsert may not change its user_id",
        quote(session_id)
    ))
}

/// The runs of an append: the text between the brackets of `runs` (a JSON array of at least one run),
/// checked, and with room for the three levels of a session it is put in (the session, its `memory`,
/// its `runs`).
pub(crate) fn runs_text(runs: &str) -> Result<&str> {
    json::check_depth(runs, json::MAX_DEPTH - 3).map_err(|e| e.at("runs"))?;
    let elements: Vec<&RawValue> = serde_json::from_str(runs)
        .map_err(|e| json::classify(e, runs, ErrorKind::InvalidArgument).at("runs"))?;
    let (Some(first), Some(last)) = (elements.first(), elements.last()) else {
        return Err(Error::invalid_argument("runs: an empty array appends nothing"));
    };
    let start = first.get().as_ptr() as usize - runs.as_ptr() as usize;
    let end = last.get().as_ptr() as usize - runs.as_ptr() as usize + last.get().len();
    Ok(&runs[start..end])
}

/// Refuses a conditional write whose expected version is not the session's (`None`: no session).
pub(crate) fn check_version(session_id: &str, version: Option<u64>, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(expected) if expected != version.unwrap_or(0) => Err(Error::new(
            ErrorKind::VersionMismatch,
            match version {
                Some(version) => {
                    format!("session {} is at version {version}, not {expected}", quote(session_id))
                }
                None => format!(
                    "no session {} for this call (absent, or of another type or user), expected at version {expected}",
                    quote(session_id)
                ),
            },
        )),
        _ => Ok(()),
    }
}

/// Runs `validate` on a batch or an import, whose elements it checks for depth one by one; when it
/// fails, hostile depth anywhere in `text` is the error reported, as for single sessions. The batch
/// or import is one level around its sessions, which may each nest [`json::MAX_DEPTH`] levels: what
/// the store accepts, its export hands back in a form it accepts again.
pub(crate) fn depth_first<T>(text: &str, validate: impl FnOnce() -> Result<T>) -> Result<T> {
    validate().map_err(|e| json::check_depth(text, json::MAX_DEPTH + 1).err().unwrap_or(e))
}
