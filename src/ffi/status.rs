//! The status every fallible C function returns. Numbers are stable: new statuses may be added, and a
//! retired number is never reused.

use crate::error::ErrorKind;
use std::ffi::c_char;

/// The result of a call. `SS_STATUS_OK` is 0; every other value is a failure, described in the message
/// written to the call's `out_error`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum ss_status {
    /// Success.
    Ok = 0,
    /// No such session for this handle: absent, stored with another type, or owned by another user.
    NotFound = 1,
    /// A missing or malformed argument: a required pointer is NULL, a mode, config key or query key is
    /// unknown, a value is out of range, or an id is not UTF-8.
    InvalidArgument = 2,
    /// The input is not acceptable JSON: a syntax error, invalid UTF-8, nesting deeper than 256 levels,
    /// or duplicate keys in an object the store reads (a session's top level or its session_data, a
    /// query, a config, an import). Opaque values are kept byte for byte, duplicates and all.
    InvalidJson = 3,
    /// Well-formed JSON that breaks the session schema (e.g. a missing `session_id`, a `user_id` that is
    /// not a string, a `session_type` other than the handle's mode).
    InvalidSession = 4,
    /// The session id is already stored with another session type; nothing was changed.
    Conflict = 5,
    /// A session is larger than the store's `max_session_bytes`.
    TooLarge = 6,
    /// A bug in the library was caught at the boundary (a Rust panic); the store is still usable.
    Internal = 7,
}

impl From<ErrorKind> for ss_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NotFound => ss_status::NotFound,
            ErrorKind::InvalidArgument => ss_status::InvalidArgument,
            ErrorKind::InvalidJson => ss_status::InvalidJson,
            ErrorKind::InvalidSession => ss_status::InvalidSession,
            ErrorKind::Conflict => ss_status::Conflict,
            ErrorKind::TooLarge => ss_status::TooLarge,
        }
    }
}

/// Static, NUL-terminated English text for a status, e.g. "not found". The argument is a plain integer
/// so that any value, including one from a newer library, is safe to pass: unknown values give
/// "unknown status". The returned pointer is never NULL and must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn ss_status_str(status: u32) -> *const c_char {
    let text: &'static str = match status {
        0 => "ok\0",
        1 => "not found\0",
        2 => "invalid argument\0",
        3 => "invalid JSON\0",
        4 => "invalid session\0",
        5 => "conflict\0",
        6 => "too large\0",
        7 => "internal error\0",
        _ => "unknown status\0",
    };
    text.as_ptr().cast()
}
