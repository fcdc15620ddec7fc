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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
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

    /// Prefixes the message with where the error happened, e.g. `sessions[3]`.
    pub fn at(mut self, location: impl fmt::Display) -> Self {
        self.message = format!("{location}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
