//! Operations.

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
}

impl Setup {
    pub fn config(&self) -> Vec<u8> {
        match self.max {
            Some(max) => format!("{{\"mode\":\"{}\",\"max_session_bytes\":{max}}}", MODES[self.mode]),
            None => format!(" {{ \"mode\" : \"{}\" }} ", MODES[self.mode]),
        }
        .into_bytes()
    }

    pub fn max_bytes(&self) -> usize {
        self.max.unwrap_or(sessionstore::DEFAULT_MAX_SESSION_BYTES)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Upsert { h: usize, via: Via, doc: Doc, pad: bool },
    UpsertMany { h: usize, via: Via, batch: Batch },
    Read { h: usize, via: Via, id: String, user: Option<String> },
    Ids { h: usize, via: Via, user: Option<String>, entity: Option<String> },
    All { h: usize, via: Via, user: Option<String>, entity: Option<String> },
    Recent { h: usize, via: Via, user: Option<String>, entity: Option<String>, limit: i64 },
    Query { h: usize, via: Via, query: Option<Doc> },
    Rename { h: usize, via: Via, id: String, name: String, user: Option<String> },
    Delete { h: usize, via: Via, id: String, user: Option<String> },
    DeleteMany { h: usize, via: Via, ids: IdsDoc, user: Option<String> },
    Drop { h: usize, via: Via },
    Stats { h: usize, via: Via },
    Export { h: usize, via: Via },
    Import { h: usize, via: Via, data: ImportDoc },
    Reimport { h: usize, via: Via },
    Share { h: usize, mode: Option<usize> },
    Close { h: usize },
}
