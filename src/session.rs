//! One session as callers send it: validation of the well-known fields, and the JSON we store, which
//! is the caller's text with `session_type` and the timestamps set. Everything else is kept byte for
//! byte, so fields we do not interpret come back exactly as they went in.

use crate::error::{quote, Error, ErrorKind, Result};
use crate::json::{self, Key, KeySet, RawObject};
use crate::session_type::SessionType;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Where a JSON value sits in a session's text, in bytes.
pub type Span = Range<usize>;

/// The fields a store sets on every session it stores, in the order it appends missing ones.
const STAMPS: [&str; 4] = ["session_type", "created_at", "updated_at", "version"];
const STAMP_CREATED: usize = 1;
const STAMP_VERSION: usize = 3;

/// An upper bound on the bytes [`STAMPS`] can take in a session as sent (key, value and separators;
/// `session_type` spelled with escapes is the longest): an input longer than `max_session_bytes` plus
/// this cannot hold a session within the limit and is refused before it is parsed.
pub(crate) const STAMP_ALLOWANCE: usize = 256;

/// A validated session input, still borrowing the caller's text.
#[derive(Debug)]
pub struct SessionInput<'a> {
    /// The input without the whitespace around it: `{` to `}`.
    text: &'a str,
    pub session_id: Cow<'a, str>,
    pub session_type: Option<SessionType>,
    pub user_id: Option<Cow<'a, str>>,
    agent_id: Option<Cow<'a, str>>,
    team_id: Option<Cow<'a, str>>,
    workflow_id: Option<Cow<'a, str>>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// The session_id's JSON string, quotes included.
    id_span: Span,
    /// `session_data.session_name`'s JSON string, when it is one.
    name_span: Option<Span>,
    /// The values of [`STAMPS`], where present; they are replaced when the session is stored.
    stamp_spans: [Option<Span>; 4],
    /// A change to `text` that rendering makes (runs appended to the transcript), so that the
    /// session is copied once.
    edit: Option<(Span, String)>,
}

/// Stored JSON, with where its id, name and version sit in it.
#[derive(Debug)]
pub struct Rendered {
    pub json: String,
    pub id_span: Span,
    pub name_span: Option<Span>,
    /// The digits of `"version"`.
    pub version_span: Span,
    /// The digits of `"created_at"`, when known (a journal does not keep where they are).
    pub created_span: Option<Span>,
}

impl Rendered {
    /// Sets the version: a session is rendered before the store's lock is taken, with a guess of the
    /// version it will get, and corrected under the lock, usually in place (same number of digits).
    pub fn set_version(&mut self, version: u64) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(version);
        let old = self.version_span.clone();
        if &self.json[old.clone()] == digits {
            return;
        }
        self.json.replace_range(old.clone(), digits);
        let grown = digits.len() as isize - old.len() as isize;
        let shift = |span: &mut Span| {
            if span.start > old.start {
                span.start = (span.start as isize + grown) as usize;
                span.end = (span.end as isize + grown) as usize;
            }
        };
        shift(&mut self.id_span);
        if let Some(created) = &mut self.created_span {
            shift(created);
        }
        if let Some(name) = &mut self.name_span {
            shift(name);
        }
        self.version_span = old.start..old.start + digits.len();
    }

    /// The version in the JSON.
    pub fn version(&self) -> u64 {
        self.json[self.version_span.clone()].parse().expect("a rendered version is digits")
    }

    /// A stored session's JSON as the [`Rendered`] it was, its spans found again: for sessions held
    /// elsewhere (a Redis server) that a query reads back into tables of its own.
    pub fn rendered_again(json: String) -> Result<Rendered> {
        let (id_span, name_span, version_span, created_span) = {
            let input = SessionInput::parse(&json)?;
            let offset = input.text.as_ptr() as usize - json.as_ptr() as usize;
            let at = |span: &Span| span.start + offset..span.end + offset;
            let stamp = |i: usize| {
                input.stamp_spans[i]
                    .as_ref()
                    .map(at)
                    .ok_or_else(|| Error::invalid_session(format!("a stored session has no {}", STAMPS[i])))
            };
            (
                at(&input.id_span),
                input.name_span.as_ref().map(at),
                stamp(STAMP_VERSION)?,
                Some(stamp(STAMP_CREATED)?),
            )
        };
        Ok(Rendered { json, id_span, name_span, version_span, created_span })
    }
}

impl<'a> SessionInput<'a> {
    /// Parses one session. `text` must already have passed [`json::checked_text`].
    pub fn parse(text: &'a str) -> Result<Self> {
        Self::parse_finding(text, None).map(|(input, _)| input)
    }

    /// [`SessionInput::parse`], also finding the value of the transcript's `runs` array for a session
    /// of type `transcript` in the same pass (the last one, where `memory` repeats keys).
    fn parse_finding(text: &'a str, transcript: Option<SessionType>) -> Result<(Self, Option<&'a RawValue>)> {
        let text = text.trim_matches(&[' ', '\t', '\n', '\r'][..]);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let raw = SessionVisitor { transcript }
            .deserialize(&mut deserializer)
            .and_then(|raw| deserializer.end().map(|()| raw))
            .map_err(|e| json::classify(e, text, ErrorKind::InvalidSession))?;
        let span = |value: &RawValue| {
            let start = value.get().as_ptr() as usize - text.as_ptr() as usize;
            start..start + value.get().len()
        };
        let session_id = match raw.fields[ID] {
            None => return Err(Error::invalid_session("session_id is required")),
            Some(value) => match optional_string(value, "session_id")? {
                None => return Err(Error::invalid_session("session_id is required")),
                Some(id) if id.is_empty() => {
                    return Err(Error::invalid_session("session_id must not be empty"))
                }
                // No C caller could name it: ids are NUL-terminated there.
                Some(id) if id.contains('\0') => {
                    return Err(Error::invalid_session("session_id must not contain U+0000"))
                }
                Some(id) => id,
            },
        };
        // A session read back and sent again carries the version the store set: checked, then replaced.
        raw.fields[VERSION].map_or(Ok(None), optional_version)?;
        let string = |i: usize| raw.fields[i].map_or(Ok(None), |v| optional_string(v, FIELDS[i]));
        let timestamp = |i: usize| raw.fields[i].map_or(Ok(None), |v| optional_timestamp(v, FIELDS[i]));
        let session_type = raw.fields[TYPE]
            .map_or(Ok(None), |v| optional_string(v, "session_type"))?
            .map(|name| SessionType::parse(&name).map_err(|e| Error::invalid_session(e.message)))
            .transpose()?;
        // Checked here so that reading the name from the stored JSON cannot fail.
        let name = raw.session_name.map(|v| optional_string(v, "session_data.session_name")).transpose()?;
        let name_span = name.flatten().and(raw.session_name).map(span);
        Ok((
            SessionInput {
                text,
                id_span: span(raw.fields[ID].expect("checked above")),
                session_id,
                session_type,
                user_id: string(USER)?,
                agent_id: string(AGENT)?,
                team_id: string(TEAM)?,
                workflow_id: string(WORKFLOW)?,
                created_at: timestamp(CREATED)?,
                updated_at: timestamp(UPDATED)?,
                name_span,
                stamp_spans: [TYPE, CREATED, UPDATED, VERSION].map(|i| raw.fields[i].map(span)),
                edit: None,
            },
            raw.runs,
        ))
    }

    /// The session stored as `stored` (JSON this store rendered, of a session of type `ty`) with
    /// `runs` appended to its transcript as [`append_runs`] does. When the transcript's array (or a
    /// null in its place) is there, which is the case for every session after its first append, this
    /// takes one pass over `stored`, and rendering makes the only copy, as for an upsert; otherwise
    /// [`append_runs`] builds the session in `text` and it is parsed again.
    pub fn with_runs_appended(
        stored: &'a str,
        ty: SessionType,
        runs: &str,
        text: &'a mut String,
    ) -> Result<SessionInput<'a>> {
        let (input, found) = Self::parse_finding(stored, Some(ty))?;
        let edit = found.and_then(|array| {
            let at = array.get().as_ptr() as usize - input.text.as_ptr() as usize;
            match array.get() {
                "null" => Some((at..at + 4, format!("[{runs}]"))),
                a if a.starts_with('[') => {
                    let end = at + a.len() - 1;
                    let empty = a[1..a.len() - 1].trim_matches(&[' ', '\t', '\n', '\r'][..]).is_empty();
                    Some((end..end, if empty { runs.to_owned() } else { format!(",{runs}") }))
                }
                _ => None,
            }
        });
        match edit {
            Some(edit) => Ok(SessionInput { edit: Some(edit), ..input }),
            None => {
                *text = append_runs(stored, ty, runs)?;
                SessionInput::parse(text)
            }
        }
    }

    /// The size `max_session_bytes` bounds: the session's bytes less each of [`STAMPS`] it carries,
    /// counted as `,"key":value`. The store only replaces or appends those, so a session has the same
    /// size as sent, as stored and as exported, and whatever the store accepts it can import again.
    pub fn size(&self) -> usize {
        self.stamp_spans
            .iter()
            .zip(STAMPS)
            .filter_map(|(span, key)| span.as_ref().map(|value| key.len() + 4 + value.len()))
            .fold(self.len(), usize::saturating_sub)
    }

    /// The length of the text, edited.
    fn len(&self) -> usize {
        match &self.edit {
            Some((span, value)) => self.text.len() - span.len() + value.len(),
            None => self.text.len(),
        }
    }

    /// The id of the agent, team or workflow this session belongs to, for a store of type `ty`.
    pub fn entity_id(&self, ty: SessionType) -> Option<&str> {
        match ty {
            SessionType::Agent => self.agent_id.as_deref(),
            SessionType::Team => self.team_id.as_deref(),
            SessionType::Workflow | SessionType::WorkflowV2 => self.workflow_id.as_deref(),
        }
    }

    /// The JSON to store: the input as sent, with [`STAMPS`] replaced in place or, when absent,
    /// appended. Splicing instead of re-writing every field keeps the cost at one copy.
    pub fn render(&self, ty: SessionType, created_at: i64, updated_at: i64, version: u64) -> Rendered {
        let (mut created, mut updated, mut numbered) =
            (itoa::Buffer::new(), itoa::Buffer::new(), itoa::Buffer::new());
        let values: [&str; 4] =
            [ty.quoted(), created.format(created_at), updated.format(updated_at), numbered.format(version)];
        // The stamps' values (by their index in STAMPS), and the edit.
        let mut replaced: [Option<(&Span, &str, usize)>; 5] = [None; 5];
        for (i, slot) in replaced.iter_mut().take(STAMPS.len()).enumerate() {
            *slot = self.stamp_spans[i].as_ref().map(|span| (span, values[i], i));
        }
        replaced[STAMPS.len()] = self.edit.as_ref().map(|(span, value)| (span, value.as_str(), STAMPS.len()));
        replaced.sort_unstable_by_key(|r| r.map_or(usize::MAX, |(span, _, _)| span.start));
        let replaced = replaced.iter().flatten();
        let growth = |before: usize| -> isize {
            replaced
                .clone()
                .filter(|(span, _, _)| span.start < before)
                .map(|(span, value, _)| value.len() as isize - span.len() as isize)
                .sum()
        };
        let appended: usize = (0..STAMPS.len())
            .filter(|&i| self.stamp_spans[i].is_none())
            .map(|i| STAMPS[i].len() + values[i].len() + 4)
            .sum();
        let capacity = (self.text.len() as isize + growth(usize::MAX)) as usize + appended;
        let mut json = render_buffer(capacity);
        let mut copied = 0;
        let (mut version_span, mut created_span) = (0..0, 0..0);
        for &(span, value, i) in replaced.clone() {
            json.push_str(&self.text[copied..span.start]);
            if i == STAMP_VERSION {
                version_span = json.len()..json.len() + value.len();
            }
            if i == STAMP_CREATED {
                created_span = json.len()..json.len() + value.len();
            }
            json.push_str(value);
            copied = span.end;
        }
        // Up to, not including, the closing brace.
        json.push_str(&self.text[copied..self.text.len() - 1]);
        // There is always a field before: session_id.
        for i in (0..STAMPS.len()).filter(|&i| self.stamp_spans[i].is_none()) {
            json.push_str(",\"");
            json.push_str(STAMPS[i]);
            json.push_str("\":");
            if i == STAMP_VERSION {
                version_span = json.len()..json.len() + values[i].len();
            }
            if i == STAMP_CREATED {
                created_span = json.len()..json.len() + values[i].len();
            }
            json.push_str(values[i]);
        }
        json.push('}');
        debug_assert_eq!(json.len(), capacity);
        // Appended fields come after everything else, so only in-place replacements move a span.
        let moved = |span: &Span| {
            let start = (span.start as isize + growth(span.start)) as usize;
            start..start + span.len()
        };
        Rendered {
            id_span: moved(&self.id_span),
            name_span: self.name_span.as_ref().map(moved),
            version_span,
            created_span: Some(created_span),
            json,
        }
    }
}

/// The largest render buffer a thread keeps for its next session: sessions of ordinary sizes reuse
/// one; a rare large one does not pin its memory to the thread.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    /// The buffer this thread's last stored session was rendered in, returned by [`recycle`].
    static RENDER_BUFFER: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// An empty buffer for rendering a session of `capacity` bytes: the thread's last one when it is
/// large enough. A stored record copies its JSON into an allocation shared with its header; without
/// the reuse, every update would allocate and free a second session-sized block, which glibc serves
/// from its slower large-chunk bins (measured: 3 mallocs per update instead of 2).
fn render_buffer(capacity: usize) -> String {
    let mut buffer = RENDER_BUFFER.take();
    if buffer.capacity() < capacity {
        return String::with_capacity(capacity);
    }
    buffer.clear();
    buffer
}

/// Gives a rendered session's buffer back, once its JSON has been copied, for the thread's next one.
pub fn recycle(json: String) {
    if json.capacity() <= KEPT_BUFFER_BYTES {
        RENDER_BUFFER.set(json);
    }
}

const FIELDS: [&str; 9] = [
    "session_id",
    "session_type",
    "user_id",
    "agent_id",
    "team_id",
    "workflow_id",
    "created_at",
    "updated_at",
    "version",
];
const ID: usize = 0;
const TYPE: usize = 1;
const USER: usize = 2;
const AGENT: usize = 3;
const TEAM: usize = 4;
const WORKFLOW: usize = 5;
const CREATED: usize = 6;
const UPDATED: usize = 7;
const VERSION: usize = 8;

/// The fields of a session we read, as raw text, from one pass over the input; every other value is
/// only checked for syntax.
struct RawSession<'a> {
    fields: [Option<&'a RawValue>; FIELDS.len()],
    session_name: Option<&'a RawValue>,
    /// The transcript's `runs`, when asked for.
    runs: Option<&'a RawValue>,
}

/// Reads a [`RawSession`]; with `transcript`, also the `runs` of a session of that type: the
/// top-level `runs` of a workflow_v2 session, `memory.runs` of the others.
struct SessionVisitor {
    transcript: Option<SessionType>,
}

impl<'de> DeserializeSeed<'de> for SessionVisitor {
    type Value = RawSession<'de>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SessionVisitor {
    type Value = RawSession<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut session = RawSession { fields: [None; FIELDS.len()], session_name: None, runs: None };
        let mut others = KeySet::default();
        let (memory, runs) = match self.transcript {
            None => (false, false),
            Some(SessionType::WorkflowV2) => (false, true),
            Some(_) => (true, false),
        };
        while let Some(key) = map.next_key_seed(Key)? {
            match FIELDS.iter().position(|field| *field == key) {
                Some(i) if session.fields[i].is_some() => return Err(json::duplicate_key(&key)),
                Some(i) => session.fields[i] = Some(map.next_value()?),
                None => {
                    let (is_session_data, is_memory, is_runs) =
                        (key == "session_data", memory && key == "memory", runs && key == "runs");
                    others.insert(key)?;
                    if is_session_data {
                        session.session_name = map.next_value_seed(SessionData)?;
                    } else if is_memory {
                        session.runs = map.next_value_seed(MemoryRuns)?;
                    } else if is_runs {
                        session.runs = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(session)
    }
}

/// `memory`: when an object, the value of its last `runs` (it is opaque to the store, so it may
/// repeat keys, and the last is the one parsers keep); of anything else, nothing.
struct MemoryRuns;

impl<'de> DeserializeSeed<'de> for MemoryRuns {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemoryRuns {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut runs = None;
        while let Some(key) = map.next_key_seed(Key)? {
            if key == "runs" {
                runs = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(runs)
    }

    fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> std::result::Result<Self::Value, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
}

/// `session_data`: null or an object whose `session_name` we read and whose keys must be unique.
struct SessionData;

impl<'de> DeserializeSeed<'de> for SessionData {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SessionData {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("session_data to be an object or null")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut keys = KeySet::default();
        let mut name = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let is_name = key == "session_name";
            keys.insert(key)?;
            if is_name {
                name = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(name)
    }
}

/// Returns `stored` (JSON this store rendered) with `session_data.session_name` and `updated_at` replaced.
pub fn rename(stored: &str, name: &str, updated_at: i64) -> Result<String> {
    let object = RawObject::parse(stored, ErrorKind::InvalidSession)?;
    let mut name_json = String::new();
    json::write_str(&mut name_json, name);
    let session_data = match object.get("session_data") {
        Some(raw) if raw.get().starts_with('{') => render_object(
            &RawObject::parse(raw.get(), ErrorKind::InvalidSession)?,
            &[("session_name", &name_json)],
        ),
        _ => format!("{{\"session_name\":{name_json}}}"),
    };
    Ok(render_object(&object, &[("session_data", &session_data), ("updated_at", &updated_at.to_string())]))
}

/// Returns `stored` (JSON this store rendered, of a session of type `ty`) with `runs` (the elements of
/// a JSON array, as text) appended to its transcript: the top-level `runs` of a workflow_v2 session,
/// `memory.runs` of the others, as Agno keeps them. A missing or null array (or `memory`) is created.
/// Everything else is kept byte for byte; the cost is one pass over the session.
pub fn append_runs(stored: &str, ty: SessionType, runs: &str) -> Result<String> {
    let object = RawObject::parse(stored, ErrorKind::InvalidSession)?;
    if ty == SessionType::WorkflowV2 {
        return splice_runs(stored, &object, runs, "runs");
    }
    let memory = match object.fields.iter().rev().find(|(k, _)| k == "memory") {
        None => return Ok(with_member(stored, &object, "memory", &format!("{{\"runs\":[{runs}]}}"))),
        Some((_, raw)) if raw.get() == "null" => format!("{{\"runs\":[{runs}]}}"),
        Some((_, raw)) if raw.get().starts_with('{') => {
            // Opaque to the store until now, so it may repeat keys: the last "runs" is the one
            // parsers keep, and the one appended to.
            let inner = RawObject::parse_allowing_duplicates(raw.get(), ErrorKind::InvalidSession)?;
            splice_runs(raw.get(), &inner, runs, "memory.runs")?
        }
        Some(_) => {
            return Err(Error::invalid_session("memory is neither an object nor null: no runs to append to"))
        }
    };
    let raw = object.get("memory").expect("found above");
    Ok(replace_value(stored, raw, &memory))
}

/// `object_text` (the text of `object`) with `runs` appended to its "runs" array (`path` names it in
/// errors).
fn splice_runs(object_text: &str, object: &RawObject, runs: &str, path: &str) -> Result<String> {
    match object.fields.iter().rev().find(|(k, _)| k == "runs") {
        None => Ok(with_member(object_text, object, "runs", &format!("[{runs}]"))),
        Some((_, raw)) if raw.get() == "null" => Ok(replace_value(object_text, raw, &format!("[{runs}]"))),
        Some((_, raw)) if raw.get().starts_with('[') => {
            let array = raw.get();
            let empty = array[1..array.len() - 1].trim_matches(&[' ', '\t', '\n', '\r'][..]).is_empty();
            let separator = if empty { "" } else { "," };
            Ok(replace_value(object_text, raw, &format!("{}{separator}{runs}]", &array[..array.len() - 1])))
        }
        Some(_) => {
            Err(Error::invalid_session(format!("{path} is neither an array nor null: no runs to append to")))
        }
    }
}

/// `text` with the value `raw` (a value inside it) replaced by `value`.
fn replace_value(text: &str, raw: &RawValue, value: &str) -> String {
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let end = start + raw.get().len();
    let mut out = String::with_capacity(text.len() - raw.get().len() + value.len());
    out.push_str(&text[..start]);
    out.push_str(value);
    out.push_str(&text[end..]);
    out
}

/// `text` (an object's, whose fields `object` holds) with the member `key: value` appended.
fn with_member(text: &str, object: &RawObject, key: &str, value: &str) -> String {
    let body = text.trim_end_matches(&[' ', '\t', '\n', '\r'][..]);
    let body = &body[..body.len() - 1];
    let separator = if object.fields.is_empty() { "" } else { "," };
    format!("{body}{separator}\"{key}\":{value}}}")
}

/// Writes `object` with the values of `overrides` (JSON texts) replacing or, when absent, appended to
/// its fields.
fn render_object(object: &RawObject, overrides: &[(&str, &str)]) -> String {
    let capacity = object.fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>()
        + overrides.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
        + 2;
    let mut out = String::with_capacity(capacity);
    out.push('{');
    let mut used = [false; 2];
    debug_assert!(overrides.len() <= used.len());
    for (key, raw) in &object.fields {
        let value = match overrides.iter().position(|(k, _)| k == key) {
            Some(i) => {
                used[i] = true;
                overrides[i].1
            }
            None => raw.get(),
        };
        push_field(&mut out, key, value);
    }
    for (i, (key, value)) in overrides.iter().enumerate() {
        if !used[i] {
            push_field(&mut out, key, value);
        }
    }
    out.push('}');
    out
}

fn push_field(out: &mut String, key: &str, value: &str) {
    if out.len() > 1 {
        out.push(',');
    }
    json::write_str(out, key);
    out.push(':');
    out.push_str(value);
}

/// A JSON string's value, borrowed when it has no escapes; `None` for null.
fn optional_string<'a>(raw: &'a RawValue, field: &str) -> Result<Option<Cow<'a, str>>> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    if !text.starts_with('"') {
        return Err(Error::invalid_session(format!("{field} must be a string or null")));
    }
    let inner = &text[1..text.len() - 1];
    if !inner.contains('\\') {
        // Valid JSON without escapes: the characters are the value.
        return Ok(Some(Cow::Borrowed(inner)));
    }
    serde_json::from_str::<String>(text)
        .map(|s| Some(Cow::Owned(s)))
        .map_err(|e| Error::invalid_session(format!("{field}: {e}")))
}

fn optional_version(raw: &RawValue) -> Result<Option<u64>> {
    if raw.get() == "null" {
        return Ok(None);
    }
    serde_json::from_str(raw.get()).map(Some).map_err(|_| {
        Error::invalid_session(format!(
            "version must be a non-negative integer or null, not {}",
            quote(raw.get())
        ))
    })
}

fn optional_timestamp(raw: &RawValue, field: &str) -> Result<Option<i64>> {
    if raw.get() == "null" {
        return Ok(None);
    }
    serde_json::from_str(raw.get()).map(Some).map_err(|_| {
        Error::invalid_session(format!(
            "{field} must be an integer number of unix seconds or null, not {}",
            quote(raw.get())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SessionInput<'_>> {
        SessionInput::parse(text)
    }

    #[test]
    fn well_known_fields_are_read() {
        let s = parse(
            r#"{"session_id":"s1","user_id":"u","agent_id":"a","team_id":"t","workflow_id":null,
               "created_at":5,"session_data":{"session_name":"Trip"},"memory":{"runs":[]}}"#,
        )
        .unwrap();
        assert_eq!(s.session_id, "s1");
        assert_eq!(s.user_id.as_deref(), Some("u"));
        assert_eq!(s.entity_id(SessionType::Agent), Some("a"));
        assert_eq!(s.entity_id(SessionType::Team), Some("t"));
        assert_eq!(s.entity_id(SessionType::Workflow), None);
        assert_eq!(s.created_at, Some(5));
        assert_eq!(s.updated_at, None);
        let stored = s.render(SessionType::Agent, 5, 6, 1);
        assert_eq!(&stored.json[stored.name_span.unwrap()], r#""Trip""#);
    }

    #[test]
    fn schema_violations_are_invalid_session() {
        for bad in [
            r#"{}"#,
            r#"{"session_id":""}"#,
            r#"{"session_id":"a\u0000b"}"#,
            r#"{"session_id":7}"#,
            r#"{"session_id":null}"#,
            r#"{"session_id":"s","user_id":1}"#,
            r#"{"session_id":"s","agent_id":{}}"#,
            r#"{"session_id":"s","created_at":"yesterday"}"#,
            r#"{"session_id":"s","created_at":1.5}"#,
            r#"{"session_id":"s","updated_at":99999999999999999999}"#,
            r#"{"session_id":"s","session_data":"x"}"#,
            r#"{"session_id":"s","session_data":{"session_name":3}}"#,
            r#"{"session_id":"s","session_type":"robot"}"#,
            r#"{"session_id":"s","version":-1}"#,
            r#"{"session_id":"s","version":"7"}"#,
            r#"{"session_id":"s","version":1.5}"#,
            r#"["s"]"#,
            r#""s""#,
        ] {
            assert_eq!(parse(bad).unwrap_err().kind, ErrorKind::InvalidSession, "{bad}");
        }
    }

    #[test]
    fn render_keeps_unknown_fields_verbatim_and_sets_type_and_times() {
        let text = r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":null,"x":"\u00e9"}"#;
        let stored = parse(text).unwrap().render(SessionType::Team, 10, 20, 3);
        assert_eq!(
            stored.json,
            r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":10,"x":"\u00e9","session_type":"team","updated_at":20,"version":3}"#
        );
    }

    #[test]
    fn render_splices_in_place_and_keeps_spans_on_the_id_and_name() {
        let text = " \n{ \"updated_at\" : 123456789012 ,\"session_type\":null, \"session_id\" : \"a\\u0062\",
            \"session_data\":{\"x\":[],\"session_name\":\"N\\n\"},\"created_at\":1 } \t";
        let input = parse(text).unwrap();
        assert_eq!(input.session_id, "ab");
        let stored = input.render(SessionType::WorkflowV2, -5, 7, 12);
        let expected =
            "{ \"updated_at\" : 7 ,\"session_type\":\"workflow_v2\", \"session_id\" : \"a\\u0062\",
            \"session_data\":{\"x\":[],\"session_name\":\"N\\n\"},\"created_at\":-5 ,\"version\":12}";
        assert_eq!(stored.json, expected);
        assert_eq!(stored.json.capacity(), stored.json.len());
        assert_eq!(&stored.json[stored.id_span], "\"a\\u0062\"");
        assert_eq!(&stored.json[stored.name_span.unwrap()], "\"N\\n\"");
        let unnamed = parse(r#"{"session_id":"s","session_data":{"session_name":null}}"#).unwrap();
        assert_eq!(unnamed.render(SessionType::Agent, 1, 2, 3).name_span, None);
    }

    #[test]
    fn the_version_is_replaced_where_it_stands_and_corrected_in_place() {
        // A session read back and sent again carries its version, before its id here.
        let input = parse(r#"{"version":7, "session_id":"s","session_data":{"session_name":"n"}}"#).unwrap();
        let mut stored = input.render(SessionType::Agent, 1, 2, 99);
        assert_eq!(stored.version(), 99);
        for version in [100, 5, 18446744073709551615, 42] {
            stored.set_version(version);
            assert_eq!(stored.version(), version);
            assert_eq!(&stored.json[stored.id_span.clone()], "\"s\"");
            assert_eq!(&stored.json[stored.name_span.clone().unwrap()], "\"n\"");
            let back: serde_json::Value = serde_json::from_str(&stored.json).unwrap();
            assert_eq!(back["version"], version);
        }
        assert!(stored.json.starts_with(r#"{"version":42, "session_id""#), "{}", stored.json);
    }

    #[test]
    fn rename_sets_the_name_inside_session_data_and_touches_updated_at() {
        let stored = r#"{"session_id":"s","session_data":{"a":1,"session_name":"old"},"updated_at":1}"#;
        assert_eq!(
            rename(stored, "new \"one\"", 9).unwrap(),
            r#"{"session_id":"s","session_data":{"a":1,"session_name":"new \"one\""},"updated_at":9}"#
        );
        let without = r#"{"session_id":"s","session_data":null,"updated_at":1}"#;
        assert_eq!(
            rename(without, "n", 2).unwrap(),
            r#"{"session_id":"s","session_data":{"session_name":"n"},"updated_at":2}"#
        );
    }

    #[test]
    fn an_append_in_one_pass_stores_what_the_general_path_does() {
        // Sessions as a store renders them, with the transcript in every shape an append meets, and
        // spans (name, stamps) before and after it.
        let agent = [
            r#"{"session_id":"a","memory":{"runs":[{"r":1}]},"session_data":{"session_name":"n"},"updated_at":1,"version":3}"#,
            r#"{"session_id":"a","memory":{"runs":[]},"session_data":{"session_name":"n"},"version":3}"#,
            r#"{"session_id":"a","memory":{"runs":[ ]},"created_at":2}"#,
            r#"{"session_id":"a","memory":{"runs":null,"x":[1]},"session_data":{"session_name":"n"}}"#,
            r#"{"session_id":"a","memory":{"runs":[1],"summary":"s","runs":[{"last":true}]},"updated_at":1}"#,
            r#"{"session_id":"a","memory":{"summary":"no runs yet"},"version":1}"#,
            r#"{"session_id":"a","memory":null,"session_data":{"session_name":"n"}}"#,
            r#"{"session_id":"a","session_data":{"session_name":"n"}}"#,
            r#"{"session_id":"a","memory":[1,2],"updated_at":1}"#,
            r#"{"session_id":"a","memory":"text"}"#,
            r#"{"session_id":"a","memory":{"runs":{"not":"an array"}}}"#,
            r#"{"session_id":"a","memory":{"runs":"text"}}"#,
            r#"{"session_id":"a","runs":[{"top":"level"}],"memory":{"runs":[]}}"#,
        ];
        let workflow_v2 = [
            r#"{"session_id":"w","runs":[{"r":1}],"session_data":{"session_name":"n"},"version":2}"#,
            r#"{"session_id":"w","runs":null,"updated_at":1}"#,
            r#"{"session_id":"w","memory":{"runs":[1]},"version":2}"#,
            r#"{"session_id":"w","runs":{"x":1}}"#,
        ];
        let cases = agent
            .iter()
            .map(|s| (SessionType::Agent, s))
            .chain(workflow_v2.iter().map(|s| (SessionType::WorkflowV2, s)));
        for (ty, stored) in cases {
            // "1" is shorter than the null it replaces.
            for runs in [r#"{"run_id":"new"}"#, r#"{"a":1},{"b":[2]}"#, "1"] {
                let general = append_runs(stored, ty, runs).and_then(|text| {
                    let input = SessionInput::parse(&text)?;
                    Ok((input.size(), input.render(ty, 1, 2, 9)))
                });
                let mut text = String::new();
                let one_pass = SessionInput::with_runs_appended(stored, ty, runs, &mut text)
                    .map(|input| (input.size(), input.render(ty, 1, 2, 9)));
                match (general, one_pass) {
                    (Ok((size, general)), Ok((one_size, one))) => {
                        assert_eq!(one.json, general.json, "{stored} + {runs}");
                        assert_eq!(one_size, size, "{stored} + {runs}");
                        assert_eq!(
                            (one.id_span, one.name_span, one.version_span),
                            (general.id_span, general.name_span, general.version_span),
                            "{stored}"
                        );
                    }
                    (Err(general), Err(one)) => {
                        assert_eq!((one.kind, one.message), (general.kind, general.message))
                    }
                    (general, one) => panic!("{stored} + {runs}: {general:?} against {one:?}"),
                }
            }
        }
    }
}
