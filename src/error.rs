//! The engine's error type: a kind that maps one-to-one onto a C status, and a message for people.

use std::fmt;

/// What went wrong, in the terms a caller can act on. Each kind has a stable C status (see `ffi::status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No such session for this handle (absent, of another type, or of another user).
    NotFound,
    /// A missing or malformed argument: bad mode, unknown config or query key, non-UTF-8 id.
    InvalidArgument,
    /// Input that is not JSON: syntax, invalid UTF-8, excessive nesting, duplicate keys.
    InvalidJson,
    /// Well-formed JSON that breaks the session schema.
    InvalidSession,
    /// The id is already stored with another session type.
    Conflict,
    /// A session larger than the store's `max_session_bytes`.
    TooLarge,
    /// The session belongs to another user: an upsert may not take it over.
    PermissionDenied,
    /// A durable store's disk I/O failed (a full disk included); the mutation was not applied.
    Io,
    /// A durable store's directory is in use by another store (this process or another).
    Locked,
    /// A durable store's files are damaged (beyond a torn last append) or are not a store's.
    Corrupt,
    /// A durable store's fsync failed earlier: it refuses writes until it is reopened.
    Poisoned,
    /// A conditional write expected another version of the session; nothing was changed.
    VersionMismatch,
    /// The change feed no longer holds the changes after the one asked about: resynchronise from an
    /// export.
    FeedTruncated,
    /// A write would exceed a capacity bound or a user's quota of a store that refuses rather than
    /// evicts (or that cannot make room: the write alone exceeds the bound).
    Full,
    /// A Redis store's server cannot be used: unreachable, too slow, restarting, out of memory,
    /// read-only. The call may be retried; a store reconnects by itself.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

/// The longest message an error carries. Messages quote caller input through `quote`, which keeps
/// each quotation short; this bound also covers texts we do not write ourselves (serde's messages
/// name unknown fields and variants whole).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// How much of a caller's string a message quotes.
const QUOTED_CHARS: usize = 64;

/// `text` quoted for a message: whole when short, else its first characters and its length, so that
/// an error about a 200 MB argument is not itself 200 MB.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// Cuts `message` to [`MAX_MESSAGE_BYTES`] on a character boundary, saying so.
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let total = message.len();
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(&format!("... (message cut at {end} of {total} bytes)"));
    }
    message
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: bounded(message.into()) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidJson, message)
    }

    pub fn invalid_session(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidSession, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }

    /// Prefixes the message with where the error happened, e.g. `sessions[3]`.
    pub fn at(mut self, location: impl fmt::Display) -> Self {
        self.message = bounded(format!("{location}: {}", self.message));
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotations_and_messages_stay_short() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "é".repeat(100_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 200 && quoted.ends_with("... (200000 bytes)"), "{quoted}");
        let e = Error::not_found("x".repeat(10 << 20));
        assert!(e.message.ends_with(&format!("(message cut at {MAX_MESSAGE_BYTES} of {} bytes)", 10 << 20)));
        let e = e.at("where");
        assert!(e.message.starts_with("where: xxx") && e.message.len() < MAX_MESSAGE_BYTES + 64);
        let multibyte = Error::not_found("é".repeat(MAX_MESSAGE_BYTES));
        assert!(multibyte.message.contains("message cut at 1024 of 2048 bytes"), "{}", multibyte.message);
    }
}
