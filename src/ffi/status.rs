//! The status every fallible C function returns. Numbers are stable: new statuses may be added, and a
//! retired number is never reused.

use crate::error::ErrorKind;
use std::ffi::{c_char, CStr};

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
    /// The session belongs to another user: its stored "user_id" is set and differs from the one given,
    /// so the write is refused and nothing is changed.
    PermissionDenied = 8,
    /// A durable store's disk I/O failed (a full disk, a failed write or fsync). A mutation that fails
    /// with it was not applied, except when its fsync failed: then the store is poisoned (see
    /// SS_STATUS_POISONED) and the change is in memory but may not be on disk.
    Io = 9,
    /// The directory of a durable store is in use by another open store, in this process or another.
    /// Share a handle with ss_store_share() instead of opening the directory twice.
    Locked = 10,
    /// A durable store's files are damaged (anything but a torn last append, which is cut off) or are
    /// not a store's files; the message names the file and the byte offset. Nothing was loaded.
    Corrupt = 11,
    /// An earlier fsync of this durable store failed, so the kernel may have dropped data it had
    /// acknowledged: the store refuses every further write, while reads go on. Reopen the store to
    /// reload what is really on disk.
    Poisoned = 12,
    /// A conditional write (ss_upsert_if(), ss_rename_session_if(), ss_delete_session_if()) expected
    /// another version of the session than the one stored (0 standing for "no such session"): another
    /// writer came first. Nothing was changed; read the session again and retry.
    VersionMismatch = 13,
    /// ss_changes() was asked for the changes after a number the feed no longer holds (it keeps the
    /// latest changes up to the store's "feed_bytes"), or after a number this store never reached (a
    /// number from before an in-memory store was recreated). The reader must start again from
    /// ss_export_with_seq(), then follow the feed from the number it returns.
    FeedTruncated = 14,
    /// A write would take the store past a bound of its config ("max_sessions", "max_bytes") or a
    /// user past a quota ("user_max_sessions", "user_max_bytes"), and the store was opened with
    /// "when_full": "refuse", or the write alone exceeds the bound. Nothing was changed; the message
    /// names the bound.
    Full = 15,
    /// A Redis store's server cannot be used: it is unreachable, did not answer within
    /// "command_timeout_ms", is loading or restarting, is out of memory (maxmemory) or is a read-only
    /// replica. Nothing was changed, unless the message says the reply was lost (a timeout or a dropped
    /// connection after the command was sent): then the change may have been applied, and a
    /// conditional write (ss_upsert_if()) is the way to retry safely. The store reconnects by itself
    /// on a later call once the server is back.
    Unavailable = 16,
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
            ErrorKind::PermissionDenied => ss_status::PermissionDenied,
            ErrorKind::Io => ss_status::Io,
            ErrorKind::Locked => ss_status::Locked,
            ErrorKind::Corrupt => ss_status::Corrupt,
            ErrorKind::Poisoned => ss_status::Poisoned,
            ErrorKind::VersionMismatch => ss_status::VersionMismatch,
            ErrorKind::FeedTruncated => ss_status::FeedTruncated,
            ErrorKind::Full => ss_status::Full,
            ErrorKind::Unavailable => ss_status::Unavailable,
        }
    }
}

/// Every status, in number order: what ss_status_str() (and through it the bindings' tables) go by.
/// A new status goes at the end of the enum and of this list.
const ALL: [ss_status; 17] = [
    ss_status::Ok,
    ss_status::NotFound,
    ss_status::InvalidArgument,
    ss_status::InvalidJson,
    ss_status::InvalidSession,
    ss_status::Conflict,
    ss_status::TooLarge,
    ss_status::Internal,
    ss_status::PermissionDenied,
    ss_status::Io,
    ss_status::Locked,
    ss_status::Corrupt,
    ss_status::Poisoned,
    ss_status::VersionMismatch,
    ss_status::FeedTruncated,
    ss_status::Full,
    ss_status::Unavailable,
];

impl ss_status {
    fn text(self) -> &'static CStr {
        match self {
            ss_status::Ok => c"ok",
            ss_status::NotFound => c"not found",
            ss_status::InvalidArgument => c"invalid argument",
            ss_status::InvalidJson => c"invalid JSON",
            ss_status::InvalidSession => c"invalid session",
            ss_status::Conflict => c"conflict",
            ss_status::TooLarge => c"too large",
            ss_status::Internal => c"internal error",
            ss_status::PermissionDenied => c"permission denied",
            ss_status::Io => c"I/O error",
            ss_status::Locked => c"locked",
            ss_status::Corrupt => c"corrupt",
            ss_status::Poisoned => c"poisoned",
            ss_status::VersionMismatch => c"version mismatch",
            ss_status::FeedTruncated => c"feed truncated",
            ss_status::Full => c"full",
            ss_status::Unavailable => c"unavailable",
        }
    }
}

/// Not a status this library returns: the one every binding (C++, Go, Node) reports for a call on a
/// handle it has already closed. C cannot detect that case (see ss_store_close()); the bindings can,
/// and they share this number so that a status means the same in every language. ss_status_str()
/// gives "closed" for it.
pub const SS_BINDING_STATUS_CLOSED: u32 = 0x10000;

/// Static, NUL-terminated English text for a status, e.g. "not found". The argument is a plain integer
/// so that any value, including one from a newer library, is safe to pass: unknown values give
/// "unknown status", and SS_BINDING_STATUS_CLOSED gives "closed". The returned pointer is never NULL
/// and must not be freed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ss_status_str(status: u32) -> *const c_char {
    let text = match ALL.into_iter().find(|s| *s as u32 == status) {
        Some(known) => known.text(),
        None if status == SS_BINDING_STATUS_CLOSED => c"closed",
        None => c"unknown status",
    };
    text.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_listed_in_number_order_with_its_text() {
        for (i, status) in ALL.into_iter().enumerate() {
            assert_eq!(status as usize, i);
            // SAFETY: ss_status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(ss_status_str(i as u32)) };
            assert_eq!(text, status.text());
        }
        let kinds = [
            ErrorKind::NotFound,
            ErrorKind::InvalidArgument,
            ErrorKind::InvalidJson,
            ErrorKind::InvalidSession,
            ErrorKind::Conflict,
            ErrorKind::TooLarge,
            ErrorKind::PermissionDenied,
            ErrorKind::Io,
            ErrorKind::Locked,
            ErrorKind::Corrupt,
            ErrorKind::Poisoned,
            ErrorKind::VersionMismatch,
            ErrorKind::FeedTruncated,
            ErrorKind::Full,
            ErrorKind::Unavailable,
        ];
        assert!(kinds.into_iter().all(|k| ALL.contains(&ss_status::from(k))));
        assert!(SS_BINDING_STATUS_CLOSED as usize >= ALL.len());
    }
}
