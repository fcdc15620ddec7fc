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
const STAMPS: [&str; 3] = ["session_type", "created_at", "updated_at"];

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
    stamp_spans: [Option<Span>; 3],
}

/// Stored JSON, with where its id and name sit in it.
#[derive(Debug)]
pub struct Rendered {
    pub json: String,
    pub id_span: Span,
    pub name_span: Option<Span>,
}

impl<'a> SessionInput<'a> {
    /// Parses one session. `text` must already have passed [`json::checked_text`].
    pub fn parse(text: &'a str) -> Result<Self> {
        let text = text.trim_matches(&[' ', '\t', '\n', '\r'][..]);
        let raw: RawSession =
            serde_json::from_str(text).map_err(|e| json::classify(e, text, ErrorKind::InvalidSession))?;
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
        let string = |i: usize| raw.fields[i].map_or(Ok(None), |v| optional_string(v, FIELDS[i]));
        let timestamp = |i: usize| raw.fields[i].map_or(Ok(None), |v| optional_timestamp(v, FIELDS[i]));
        let session_type = raw.fields[TYPE]
            .map_or(Ok(None), |v| optional_string(v, "session_type"))?
            .map(|name| SessionType::parse(&name).map_err(|e| Error::invalid_session(e.message)))
            .transpose()?;
        // Checked here so that reading the name from the stored JSON cannot fail.
        let name = raw.session_name.map(|v| optional_string(v, "session_data.session_name")).transpose()?;
        let name_span = name.flatten().and(raw.session_name).map(span);
        Ok(SessionInput {
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
            stamp_spans: [TYPE, CREATED, UPDATED].map(|i| raw.fields[i].map(span)),
        })
    }

    /// The size `max_session_bytes` bounds: the session's bytes less each of [`STAMPS`] it carries,
    /// counted as `,"key":value`. The store only replaces or appends those, so a session has the same
    /// size as sent, as stored and as exported, and whatever the store accepts it can import again.
    pub fn size(&self) -> usize {
        self.stamp_spans
            .iter()
            .zip(STAMPS)
            .filter_map(|(span, key)| span.as_ref().map(|value| key.len() + 4 + value.len()))
            .fold(self.text.len(), usize::saturating_sub)
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
    pub fn render(&self, ty: SessionType, created_at: i64, updated_at: i64) -> Rendered {
        let (mut created, mut updated) = (Decimal::default(), Decimal::default());
        let values: [&str; 3] = [ty.quoted(), created.format(created_at), updated.format(updated_at)];
        let mut replaced: [Option<(&Span, &str)>; 3] = [None; 3];
        for (slot, (span, value)) in replaced.iter_mut().zip(self.stamp_spans.iter().zip(values)) {
            *slot = span.as_ref().map(|span| (span, value));
        }
        replaced.sort_unstable_by_key(|r| r.map_or(usize::MAX, |(span, _)| span.start));
        let replaced = replaced.iter().flatten();
        let growth = |before: usize| -> isize {
            replaced
                .clone()
                .filter(|(span, _)| span.start < before)
                .map(|(span, value)| value.len() as isize - span.len() as isize)
                .sum()
        };
        let appended: usize = (0..3)
            .filter(|&i| self.stamp_spans[i].is_none())
            .map(|i| STAMPS[i].len() + values[i].len() + 4)
            .sum();
        let capacity = (self.text.len() as isize + growth(usize::MAX)) as usize + appended;
        let mut json = String::with_capacity(capacity);
        let mut copied = 0;
        for (span, value) in replaced.clone() {
            json.push_str(&self.text[copied..span.start]);
            json.push_str(value);
            copied = span.end;
        }
        // Up to, not including, the closing brace.
        json.push_str(&self.text[copied..self.text.len() - 1]);
        // There is always a field before: session_id.
        for i in (0..3).filter(|&i| self.stamp_spans[i].is_none()) {
            json.push_str(",\"");
            json.push_str(STAMPS[i]);
            json.push_str("\":");
            json.push_str(values[i]);
        }
        json.push('}');
        debug_assert_eq!(json.len(), capacity);
        // Appended fields come after everything else, so only in-place replacements move a span.
        let moved = |span: &Span| {
            let start = (span.start as isize + growth(span.start)) as usize;
            start..start + span.len()
        };
        Rendered { id_span: moved(&self.id_span), name_span: self.name_span.as_ref().map(moved), json }
    }
}

const FIELDS: [&str; 8] = [
    "session_id",
    "session_type",
    "user_id",
    "agent_id",
    "team_id",
    "workflow_id",
    "created_at",
    "updated_at",
];
const ID: usize = 0;
const TYPE: usize = 1;
const USER: usize = 2;
const AGENT: usize = 3;
const TEAM: usize = 4;
const WORKFLOW: usize = 5;
const CREATED: usize = 6;
const UPDATED: usize = 7;

/// The fields of a session we read, as raw text, from one pass over the input; every other value is
/// only checked for syntax.
struct RawSession<'a> {
    fields: [Option<&'a RawValue>; FIELDS.len()],
    session_name: Option<&'a RawValue>,
}

impl<'de> de::Deserialize<'de> for RawSession<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(SessionVisitor)
    }
}

struct SessionVisitor;

impl<'de> Visitor<'de> for SessionVisitor {
    type Value = RawSession<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut session = RawSession { fields: [None; FIELDS.len()], session_name: None };
        let mut others = KeySet::default();
        while let Some(key) = map.next_key_seed(Key)? {
            match FIELDS.iter().position(|field| *field == key) {
                Some(i) if session.fields[i].is_some() => return Err(json::duplicate_key(&key)),
                Some(i) => session.fields[i] = Some(map.next_value()?),
                None => {
                    let is_session_data = key == "session_data";
                    others.insert(key)?;
                    if is_session_data {
                        session.session_name = map.next_value_seed(SessionData)?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(session)
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

/// Formats an `i64` without allocating.
#[derive(Default)]
struct Decimal([u8; 20]);

impl Decimal {
    fn format(&mut self, n: i64) -> &str {
        let mut cursor = std::io::Cursor::new(&mut self.0[..]);
        std::io::Write::write_fmt(&mut cursor, format_args!("{n}")).expect("20 bytes hold any i64");
        let len = cursor.position() as usize;
        std::str::from_utf8(&self.0[..len]).expect("digits are ASCII")
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
        let stored = s.render(SessionType::Agent, 5, 6);
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
            r#"["s"]"#,
            r#""s""#,
        ] {
            assert_eq!(parse(bad).unwrap_err().kind, ErrorKind::InvalidSession, "{bad}");
        }
    }

    #[test]
    fn render_keeps_unknown_fields_verbatim_and_sets_type_and_times() {
        let text = r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":null,"x":"\u00e9"}"#;
        let stored = parse(text).unwrap().render(SessionType::Team, 10, 20);
        assert_eq!(
            stored.json,
            r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":10,"x":"\u00e9","session_type":"team","updated_at":20}"#
        );
    }

    #[test]
    fn render_splices_in_place_and_keeps_spans_on_the_id_and_name() {
        let text = " \n{ \"updated_at\" : 123456789012 ,\"session_type\":null, \"session_id\" : \"a\\u0062\",
            \"session_data\":{\"x\":[],\"session_name\":\"N\\n\"},\"created_at\":1 } \t";
        let input = parse(text).unwrap();
        assert_eq!(input.session_id, "ab");
        let stored = input.render(SessionType::WorkflowV2, -5, 7);
        let expected =
            "{ \"updated_at\" : 7 ,\"session_type\":\"workflow_v2\", \"session_id\" : \"a\\u0062\",
            \"session_data\":{\"x\":[],\"session_name\":\"N\\n\"},\"created_at\":-5 }";
        assert_eq!(stored.json, expected);
        assert_eq!(stored.json.capacity(), stored.json.len());
        assert_eq!(&stored.json[stored.id_span], "\"a\\u0062\"");
        assert_eq!(&stored.json[stored.name_span.unwrap()], "\"N\\n\"");
        let unnamed = parse(r#"{"session_id":"s","session_data":{"session_name":null}}"#).unwrap();
        assert_eq!(unnamed.render(SessionType::Agent, 1, 2).name_span, None);
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
}
