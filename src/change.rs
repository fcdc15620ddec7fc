//! What a mutation changed, as a durable store journals it: the sessions as stored (type and timestamps
//! included) and the removals. Replaying changes needs no clock, no owner check and no handle mode, so
//! a reopened store holds byte for byte what the live one held.
//!
//! One journal record is one [`ChangeSet`]: a batch or an import is one record, and so is applied
//! whole or not at all after a crash.
//!
//! Encoding: a sequence of entries `[tag: u8][len: u32 LE][len bytes]`: `P` and a session's stored
//! JSON, `R` and a removed session's id, `T` and the name of a type all of whose sessions were removed.

use crate::error::{Error, ErrorKind, Result};
use crate::session_type::SessionType;

const PUT: u8 = b'P';
const REMOVE: u8 = b'R';
const REMOVE_TYPE: u8 = b'T';
const ENTRY_HEADER: usize = 5;

/// One change, as [`changes`] reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// The session stored as this JSON, replacing any session with its id.
    Put(&'a str),
    /// The session with this id removed.
    Remove(&'a str),
    /// Every session of this type removed.
    RemoveType(SessionType),
}

/// The changes of one mutation, encoded.
#[derive(Debug, Default)]
pub struct ChangeSet {
    bytes: Vec<u8>,
}

impl ChangeSet {
    pub fn put(&mut self, stored_json: &str) {
        self.entry(PUT, stored_json.as_bytes());
    }

    pub fn remove(&mut self, id: &str) {
        self.entry(REMOVE, id.as_bytes());
    }

    pub fn remove_type(&mut self, ty: SessionType) {
        self.entry(REMOVE_TYPE, ty.as_str().as_bytes());
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets the entries, keeping the buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    fn entry(&mut self, tag: u8, body: &[u8]) {
        // Bodies are sessions within max_session_bytes (below 4 GiB) or ids: the length fits.
        let len = u32::try_from(body.len()).expect("a change entry below 4 GiB");
        self.bytes.reserve(ENTRY_HEADER + body.len());
        self.bytes.push(tag);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(body);
    }
}

/// The changes encoded in `payload`, in order. A payload that does not decode passed its checksum, so
/// it was written so: a file of another program, or a bug, reported as corruption.
pub fn changes(payload: &[u8]) -> impl Iterator<Item = Result<Change<'_>>> + '_ {
    let mut rest = payload;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let entry = next(rest);
        match entry {
            Ok((change, after)) => {
                rest = after;
                Some(Ok(change))
            }
            Err(e) => {
                rest = &[];
                Some(Err(e))
            }
        }
    })
}

fn next(bytes: &[u8]) -> Result<(Change<'_>, &[u8])> {
    let bad = |what: &str| Error::new(ErrorKind::Corrupt, format!("undecodable change record: {what}"));
    let (head, rest) = bytes.split_at_checked(ENTRY_HEADER).ok_or_else(|| bad("truncated entry"))?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let (body, rest) = rest.split_at_checked(len).ok_or_else(|| bad("entry runs past the record"))?;
    let text = std::str::from_utf8(body).map_err(|_| bad("entry is not UTF-8"))?;
    let change = match head[0] {
        PUT => Change::Put(text),
        REMOVE => Change::Remove(text),
        REMOVE_TYPE => Change::RemoveType(SessionType::parse(text).map_err(|_| bad("unknown session type"))?),
        _ => return Err(bad("unknown entry tag")),
    };
    Ok((change, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order() {
        let mut set = ChangeSet::default();
        set.put(r#"{"session_id":"a"}"#);
        set.remove("b");
        set.remove_type(SessionType::WorkflowV2);
        set.put("");
        let read: Vec<Change> = changes(set.as_bytes()).collect::<Result<_>>().unwrap();
        assert_eq!(
            read,
            [
                Change::Put(r#"{"session_id":"a"}"#),
                Change::Remove("b"),
                Change::RemoveType(SessionType::WorkflowV2),
                Change::Put("")
            ]
        );
    }

    #[test]
    fn damage_is_corruption_never_a_panic() {
        let mut set = ChangeSet::default();
        set.put("{}");
        set.remove("id");
        let good = set.as_bytes().to_vec();
        for cut in 0..good.len() {
            let result: Result<Vec<Change>> = changes(&good[..cut]).collect();
            if cut != 0 && cut != 7 {
                assert_eq!(result.unwrap_err().kind, ErrorKind::Corrupt, "cut at {cut}");
            }
        }
        for bad in [&b"X\x00\x00\x00\x00"[..], b"R\x01\x00\x00\x00\xff", b"T\x03\x00\x00\x00bot"] {
            assert_eq!(changes(bad).collect::<Result<Vec<_>>>().unwrap_err().kind, ErrorKind::Corrupt);
        }
    }
}
