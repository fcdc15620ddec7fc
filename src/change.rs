//! What a mutation changed, as a durable store journals it: the sessions as stored (JSON, type,
//! timestamps, and where the id and name sit in the JSON) and the removals. Replaying changes needs no
//! clock, no owner check, no handle mode and no JSON parser, so a reopened store holds byte for byte
//! what the live one held, and reopening costs a copy per session rather than a parse.
//!
//! One journal record is one [`ChangeSet`]: a batch or an import is one record, and so is applied
//! whole or not at all after a crash.
//!
//! Every change has a number (the store's change sequence, which the change feed and the sessions'
//! versions use): a stored session carries its version, a removal its number. Encoding: a sequence of
//! entries `[tag: u8][len: u32 LE][len bytes]`:
//! - `V`, a stored session: its version (u64) and the span of the version's digits in the JSON (u32
//!   start, u32 end), then as `S`;
//! - `D`, a removal by a delete: its number (u64), then the removed session's id; `X` and `Y` the
//!   same for a session that expired and one evicted to keep a bound;
//! - `E`, a removal of a whole type: its number (u64), then the type's name;
//! - `Q`, a sequence mark: a number (u64), the last change a snapshot holds;
//!
//! and, as written by version 0.2 (read back, numbered in order on replay):
//! - `S`, a stored session: type (u8, its index), `created_at` and `updated_at` (i64), the id's span
//!   and the name's span in the JSON (u32 start, u32 end; the name's both `u32::MAX` when absent), the
//!   user id and the entity id (u32 length, `u32::MAX` when absent, then the bytes), then the JSON;
//! - `R` and a removed session's id;
//! - `T` and the name of a type all of whose sessions were removed.
//!
//! Decoding checks everything a later read relies on (spans inside the JSON, on character
//! boundaries, around JSON strings), so a file that passes its checksums but was not written by us is
//! reported as corrupt rather than trusted.

use crate::error::{Error, ErrorKind, Result};
use crate::record::Record;
use crate::retention::Removal;
use crate::session::Span;
use crate::session_type::SessionType;
use crate::tables::NewRecord;

const STORED: u8 = b'V';
const REMOVE: u8 = b'D';
const EXPIRE: u8 = b'X';
const EVICT: u8 = b'Y';
const REMOVE_TYPE: u8 = b'E';
const MARK: u8 = b'Q';
const UNNUMBERED_STORED: u8 = b'S';
const UNNUMBERED_REMOVE: u8 = b'R';
const UNNUMBERED_REMOVE_TYPE: u8 = b'T';
const ENTRY_HEADER: usize = 5;
const ABSENT: u32 = u32::MAX;

/// A session as stored, borrowed from a record, a record on its way in, or a journal payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<'a> {
    pub json: &'a str,
    pub ty: SessionType,
    pub created_at: i64,
    pub updated_at: i64,
    pub id_span: Span,
    pub name_span: Option<Span>,
    pub user: Option<&'a str>,
    pub entity: Option<&'a str>,
    /// The version and where its digits sit in the JSON; `None` in a journal of version 0.2, whose
    /// sessions had none.
    pub version: Option<(u64, Span)>,
}

impl<'a> Stored<'a> {
    pub fn of_new(new: &'a NewRecord) -> Self {
        Stored {
            json: &new.stored.json,
            ty: new.ty,
            created_at: new.created_at,
            updated_at: new.updated_at,
            id_span: new.stored.id_span.clone(),
            name_span: new.stored.name_span.clone(),
            user: new.user,
            entity: new.entity,
            version: Some((new.version, new.stored.version_span.clone())),
        }
    }

    pub fn of_record(record: &'a Record) -> Self {
        Stored {
            json: record.json(),
            ty: record.ty(),
            created_at: record.created_at,
            updated_at: record.updated_at,
            id_span: record.id_span(),
            name_span: record.name_span(),
            user: record.user.as_deref(),
            entity: record.entity.as_deref(),
            version: Some((record.version, record.version_span())),
        }
    }
}

/// One change, as [`changes`] reads it back. `None` numbers are entries of a version 0.2 journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'a> {
    /// The session stored so, replacing any session with its id.
    Put(Stored<'a>),
    /// The session with this id removed, by change number `.0`, for reason `.2`.
    Remove(Option<u64>, &'a str, Removal),
    /// Every session of this type removed, by change number `.0`.
    RemoveType(Option<u64>, SessionType),
    /// What follows comes after change `.0` (a snapshot holds the state as of it).
    Mark(u64),
}

/// The changes of one mutation, encoded.
#[derive(Debug, Default)]
pub struct ChangeSet {
    bytes: Vec<u8>,
}

/// Spans, lengths and bodies are below 4 GiB: sessions are capped there (MAX_SESSION_BYTES_LIMIT).
fn narrow(n: usize) -> u32 {
    u32::try_from(n).expect("sessions are capped below 4 GiB")
}

impl ChangeSet {
    /// A stored session, which must have a version.
    pub fn put(&mut self, stored: &Stored) {
        let optional = |s: Option<&str>| s.map_or(0, str::len);
        let len = 16 + 1 + 16 + 16 + 8 + optional(stored.user) + optional(stored.entity) + stored.json.len();
        self.header(STORED, len);
        let (version, span) = stored.version.clone().expect("a session stored now has a version");
        let b = &mut self.bytes;
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&narrow(span.start).to_le_bytes());
        b.extend_from_slice(&narrow(span.end).to_le_bytes());
        b.push(stored.ty.index() as u8);
        b.extend_from_slice(&stored.created_at.to_le_bytes());
        b.extend_from_slice(&stored.updated_at.to_le_bytes());
        let name = stored.name_span.clone().map_or((ABSENT, ABSENT), |n| (narrow(n.start), narrow(n.end)));
        for n in [narrow(stored.id_span.start), narrow(stored.id_span.end), name.0, name.1] {
            b.extend_from_slice(&n.to_le_bytes());
        }
        for text in [stored.user, stored.entity] {
            b.extend_from_slice(&text.map_or(ABSENT, |t| narrow(t.len())).to_le_bytes());
            b.extend_from_slice(text.unwrap_or("").as_bytes());
        }
        b.extend_from_slice(stored.json.as_bytes());
    }

    pub fn remove(&mut self, number: u64, id: &str, why: Removal) {
        let tag = match why {
            Removal::Delete => REMOVE,
            Removal::Expire => EXPIRE,
            Removal::Evict => EVICT,
        };
        self.header(tag, 8 + id.len());
        self.bytes.extend_from_slice(&number.to_le_bytes());
        self.bytes.extend_from_slice(id.as_bytes());
    }

    pub fn remove_type(&mut self, number: u64, ty: SessionType) {
        self.header(REMOVE_TYPE, 8 + ty.as_str().len());
        self.bytes.extend_from_slice(&number.to_le_bytes());
        self.bytes.extend_from_slice(ty.as_str().as_bytes());
    }

    pub fn mark(&mut self, number: u64) {
        self.header(MARK, 8);
        self.bytes.extend_from_slice(&number.to_le_bytes());
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

    /// Lowers the buffer's capacity to at most `bytes`.
    pub fn shrink_to(&mut self, bytes: usize) {
        self.bytes.shrink_to(bytes);
    }

    fn header(&mut self, tag: u8, len: usize) {
        self.bytes.reserve(ENTRY_HEADER + len);
        self.bytes.push(tag);
        self.bytes.extend_from_slice(&narrow(len).to_le_bytes());
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
        match next(rest) {
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

fn bad(what: &str) -> Error {
    Error::new(ErrorKind::Corrupt, format!("undecodable change record: {what}"))
}

/// Reads little-endian fields off the front of an entry's body.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(|| bad("truncated entry"))?;
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn text(&mut self) -> Result<Option<&'a str>> {
        match self.u32()? {
            ABSENT => Ok(None),
            len => utf8(self.take(len as usize)?).map(Some),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| bad("entry is not UTF-8"))
}

fn next(bytes: &[u8]) -> Result<(Change<'_>, &[u8])> {
    let mut entry = Fields(bytes);
    let tag = entry.take(1)?[0];
    let len = entry.u32()? as usize;
    let body = entry.take(len).map_err(|_| bad("entry runs past the record"))?;
    let session_type = |name: &[u8]| SessionType::parse(utf8(name)?).map_err(|_| bad("unknown session type"));
    let mut f = Fields(body);
    let change = match tag {
        STORED => {
            let version = f.u64()?;
            let span = f.u32()? as usize..f.u32()? as usize;
            let stored = stored(f.0, Some((version, span)))?;
            Change::Put(stored)
        }
        REMOVE => Change::Remove(Some(f.u64()?), utf8(f.0)?, Removal::Delete),
        EXPIRE => Change::Remove(Some(f.u64()?), utf8(f.0)?, Removal::Expire),
        EVICT => Change::Remove(Some(f.u64()?), utf8(f.0)?, Removal::Evict),
        REMOVE_TYPE => Change::RemoveType(Some(f.u64()?), session_type(f.0)?),
        MARK => Change::Mark(f.u64()?),
        UNNUMBERED_STORED => Change::Put(stored(body, None)?),
        UNNUMBERED_REMOVE => Change::Remove(None, utf8(body)?, Removal::Delete),
        UNNUMBERED_REMOVE_TYPE => Change::RemoveType(None, session_type(body)?),
        _ => return Err(bad("unknown entry tag")),
    };
    Ok((change, entry.0))
}

fn stored(body: &[u8], version: Option<(u64, Span)>) -> Result<Stored<'_>> {
    let mut f = Fields(body);
    let ty = *SessionType::ALL.get(f.take(1)?[0] as usize).ok_or_else(|| bad("unknown session type"))?;
    let (created_at, updated_at) = (f.i64()?, f.i64()?);
    let id_span = f.u32()? as usize..f.u32()? as usize;
    let name_span = match (f.u32()?, f.u32()?) {
        (ABSENT, ABSENT) => None,
        (start, end) => Some(start as usize..end as usize),
    };
    let (user, entity) = (f.text()?, f.text()?);
    let json = utf8(f.0)?;
    for span in std::iter::once(&id_span).chain(name_span.as_ref()) {
        if !is_json_string(json, span) {
            return Err(bad("a span does not hold a JSON string"));
        }
    }
    if let Some((number, span)) = &version {
        if json.get(span.clone()).is_none_or(|digits| digits.parse() != Ok(*number)) {
            return Err(bad("the version's span does not hold its digits"));
        }
    }
    Ok(Stored { json, ty, created_at, updated_at, id_span, name_span, user, entity, version })
}

/// Whether `span` of `json` is a JSON string, quotes included (what a record reads its id and name from).
fn is_json_string(json: &str, span: &Span) -> bool {
    let Some(quoted) = json.get(span.clone()) else { return false };
    let plain = quoted.len() >= 2
        && quoted.starts_with('"')
        && quoted.ends_with('"')
        && !quoted[1..quoted.len() - 1].contains(['"', '\\']);
    plain || serde_json::from_str::<String>(quoted).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "session" whose JSON is a string (the id) followed by its version's digits.
    fn session<'a>(json: &'a str, user: Option<&'a str>) -> Stored<'a> {
        let end = json[1..].find('"').map_or(0, |i| i + 2);
        let version = json[end..].parse().unwrap();
        Stored {
            json,
            ty: SessionType::Team,
            created_at: -5,
            updated_at: i64::MAX,
            id_span: 0..end,
            name_span: None,
            user,
            entity: Some("é"),
            version: Some((version, end..json.len())),
        }
    }

    #[test]
    fn entries_come_back_in_order() {
        let (a, b) = (session(r#""a"7"#, Some("u")), session(r#""b\n"12"#, None));
        let mut set = ChangeSet::default();
        set.mark(6);
        set.put(&a);
        set.remove(8, "b", Removal::Delete);
        set.remove_type(9, SessionType::WorkflowV2);
        set.put(&Stored { name_span: Some(0..5), ..b.clone() });
        set.remove(10, "c", Removal::Expire);
        set.remove(11, "d", Removal::Evict);
        let read: Vec<Change> = changes(set.as_bytes()).collect::<Result<_>>().unwrap();
        assert_eq!(
            read,
            [
                Change::Mark(6),
                Change::Put(a),
                Change::Remove(Some(8), "b", Removal::Delete),
                Change::RemoveType(Some(9), SessionType::WorkflowV2),
                Change::Put(Stored { name_span: Some(0..5), ..b }),
                Change::Remove(Some(10), "c", Removal::Expire),
                Change::Remove(Some(11), "d", Removal::Evict),
            ]
        );
    }

    #[test]
    fn damage_is_corruption_never_a_panic() {
        let mut set = ChangeSet::default();
        set.put(&session(r#""x"1"#, Some("user")));
        set.remove(2, "id", Removal::Delete);
        let good = set.as_bytes().to_vec();
        let boundary = good.len() - 15;
        for cut in 1..good.len() {
            let result: Result<Vec<Change>> = changes(&good[..cut]).collect();
            if cut != boundary {
                assert_eq!(result.unwrap_err().kind, ErrorKind::Corrupt, "cut at {cut}");
            }
        }
        // Every single flipped byte of the stored entry decodes to an error or to a change a record
        // can hold (spans on JSON strings); none panics.
        for i in 0..boundary {
            let mut flipped = good.clone();
            flipped[i] ^= 0xff;
            for change in changes(&flipped).flatten() {
                if let Change::Put(s) = change {
                    assert!(is_json_string(s.json, &s.id_span));
                }
            }
        }
        for bad in [
            &b"X\x00\x00\x00\x00"[..],
            b"R\x01\x00\x00\x00\xff",
            b"T\x03\x00\x00\x00bot",
            b"D\x03\x00\x00\x00abc",
        ] {
            assert_eq!(changes(bad).collect::<Result<Vec<_>>>().unwrap_err().kind, ErrorKind::Corrupt);
        }
    }
}
