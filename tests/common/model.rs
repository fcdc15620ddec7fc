//! A reference model of the documented semantics (include/sessionstore.h), deliberately simple: the
//! sessions live in a plain `Vec` in first-insertion order, every listing is a linear scan, every stored
//! text is rebuilt from its fields. It shares no code with the engine.
//!
//! Inputs are generated as structured documents (`Doc`) that know their own text, so the model never
//! parses JSON: it reads the schema from the structure and renders the text the engine must store.
//!
//! `decode` turns arbitrary bytes into a setup and a sequence of operations; `run` drives the engine (each
//! operation through the Rust API or the C ABI) and the model side by side, and fails on the first
//! difference in a result, a status kind, an error location, or the whole state (export, stats,
//! `check_invariants`) after each step.
//!
//! Strict mode (`strict`, env `SS_MODEL_STRICT=1`) adds the inputs that exposed defects now fixed or
//! behaviour settled as policy (see docs/bad-input.md); the model expects the current behaviour for
//! them. The default run does not generate them (enabling them there would change the sequences
//! decoded from given bytes); dedicated tests in tests/hostile.rs and tests/model.rs pin them.

use super::ffi::{Failure, Handle, Kind, Outcome};
use sessionstore::{now, Filter, Stats};
use std::fmt;

pub const MODES: [&str; 4] = ["agent", "team", "workflow", "workflow_v2"];
const ENTITY_KEYS: [&str; 3] = ["agent_id", "team_id", "workflow_id"];
/// Which of ENTITY_KEYS a mode filters on.
const ENTITY_OF_MODE: [usize; 4] = [0, 1, 2, 2];

pub const IDS: [&str; 9] = ["s0", "s1", "s2", "s3", "é", "q\"\\", "tab\tx", "s0 ", "zz"];
const USERS: [&str; 4] = ["u0", "u1", "", "ü"];
const ENTITIES: [&str; 3] = ["e0", "e1", ""];
const NAMES: [&str; 7] = ["Trip to Rome", "trip", "Été à Nice", "", "STRASSE", "q\"n", "ΑΣΟΣ"];
const NAMES_NON_STRICT: usize = 6; // "ΑΣΟΣ" (the fixed final-sigma defect) only in strict mode
const NEEDLES: [&str; 9] = ["trip", "TRIP", "été", "ÉTÉ", "", "x", "ss", "σ", "ΑΣ"];
const TIMES: [i64; 8] = [0, 100, 100, 200, -5, 1_700_000_000, i64::MAX, i64::MIN];
const OPAQUE_KEYS: [&str; 6] = ["memory", "extra_data", "runs", "agent_data", "é", "we\"ird"];
const OPAQUE_VALUES: [&str; 9] = [
    r#"{"runs":[]}"#,
    r#"{"b" :[1.50, 2e3]}"#,
    r#""\u00e9""#,
    "null",
    "[1,2,3]",
    "true",
    r#"{"nested":{"session_id":"fake","session_data":{"session_name":"trip"}}}"#,
    r#""ΟΔΟΣ""#,
    r#"{ "deep" : [[[[{"a":[]}]]]] }"#,
];
const BAD_NUMBERS: [&str; 6] = ["1.5", "1e3", "-0", "99999999999999999999", "18446744073709551615", "1e400"];

// ---------------------------------------------------------------------------------------------------
// Generated JSON documents

/// A JSON value as generated: its text, plus what the schema makes of it.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    /// A string: its value and its text (plain or with every character \u-escaped).
    Str(String, String),
    Null,
    Int(i64),
    /// A valid JSON number that is not an i64 (1.5, 1e3, -0, 1e400, ...).
    Num(&'static str),
    /// Any other valid JSON text; the flag says whether it holds a duplicate key somewhere inside (kept
    /// verbatim by policy, so only informative).
    Opaque(String, bool),
    /// An object (session_data); the flag asks for whitespace in its text.
    Obj(Vec<(String, V)>, bool),
}

impl V {
    pub fn text(&self) -> String {
        match self {
            V::Str(_, raw) => raw.clone(),
            V::Null => "null".into(),
            V::Int(n) => n.to_string(),
            V::Num(s) => (*s).into(),
            V::Opaque(s, _) => s.clone(),
            V::Obj(fields, ws) => render_object(fields.iter().map(|(k, v)| (k.as_str(), v.text())), *ws),
        }
    }
}

fn key_json(k: &str) -> String {
    serde_json::to_string(k).unwrap()
}

fn render_object<'a>(fields: impl Iterator<Item = (&'a str, String)>, ws: bool) -> String {
    let (open, colon, comma, close) = if ws { ("{ ", " : ", " , ", " }") } else { ("{", ":", ",", "}") };
    let body: Vec<String> = fields.map(|(k, v)| format!("{}{colon}{v}", key_json(k))).collect();
    if body.is_empty() {
        return if ws { "{ }".into() } else { "{}".into() };
    }
    format!("{open}{}{close}", body.join(comma))
}

/// Faults that make a text unacceptable as JSON.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TextFault {
    Truncate,
    BadUtf8,
    Deep,
    Trailing,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Top {
    Object(Vec<(String, V)>, bool),
    /// Valid JSON that is not an object.
    Other(&'static str),
}

/// One generated document: a session, a query, or an import record.
#[derive(Clone, PartialEq)]
pub struct Doc {
    pub top: Top,
    pub fault: Option<TextFault>,
}

impl Doc {
    pub fn bytes(&self) -> Vec<u8> {
        let text = match &self.top {
            Top::Object(fields, ws) => render_object(fields.iter().map(|(k, v)| (k.as_str(), v.text())), *ws),
            Top::Other(s) => (*s).into(),
        };
        apply_fault(text.into_bytes(), self.fault)
    }

    fn fields(&self) -> Option<&Vec<(String, V)>> {
        match &self.top {
            Top::Object(f, _) => Some(f),
            Top::Other(_) => None,
        }
    }
}

fn apply_fault(mut bytes: Vec<u8>, fault: Option<TextFault>) -> Vec<u8> {
    match fault {
        None => {}
        Some(TextFault::Truncate) => bytes.truncate(bytes.len() / 2),
        Some(TextFault::BadUtf8) => bytes.insert(1.min(bytes.len()), 0xff),
        Some(TextFault::Deep) => {
            let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
            if bytes.first() == Some(&b'{') {
                let tail = bytes.split_off(1);
                bytes.extend_from_slice(format!("\"deep\":{deep}").as_bytes());
                if tail.iter().any(|b| !b" }".contains(b)) {
                    bytes.push(b',');
                }
                bytes.extend_from_slice(&tail);
            } else {
                bytes = format!("[{deep},{}]", String::from_utf8_lossy(&bytes)).into_bytes();
            }
        }
        Some(TextFault::Trailing) => bytes.extend_from_slice(b" x"),
    }
    bytes
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.bytes()))
    }
}

/// Faults of a whole array or object payload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OuterFault {
    /// Valid JSON of the wrong shape.
    WrongShape(&'static str),
    Truncate,
    BadUtf8,
}

fn outer_bytes(open: char, items: Vec<Vec<u8>>, close: char, ws: bool, fault: Option<OuterFault>) -> Vec<u8> {
    if let Some(OuterFault::WrongShape(s)) = fault {
        return s.as_bytes().to_vec();
    }
    let mut out = vec![open as u8];
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(if ws { b" ,\n " } else { b"," });
        }
        out.extend_from_slice(item);
    }
    out.push(close as u8);
    if ws {
        out.insert(0, b' ');
        out.push(b'\n');
    }
    match fault {
        Some(OuterFault::Truncate) => out.truncate(out.len() / 2),
        Some(OuterFault::BadUtf8) => out.insert(1, 0xfe),
        _ => {}
    }
    out
}

/// A payload for ss_upsert_many: sessions in an array.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub elems: Vec<Doc>,
    pub ws: bool,
    pub fault: Option<OuterFault>,
}

impl Batch {
    pub fn bytes(&self) -> Vec<u8> {
        outer_bytes('[', self.elems.iter().map(Doc::bytes).collect(), ']', self.ws, self.fault)
    }
}

/// A payload for ss_import: records keyed by id. The flag asks for a \u-escaped key.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportDoc {
    pub records: Vec<(String, bool, Doc)>,
    pub ws: bool,
    pub fault: Option<OuterFault>,
}

impl ImportDoc {
    pub fn bytes(&self) -> Vec<u8> {
        let items = self
            .records
            .iter()
            .map(|(k, esc, d)| {
                let mut item = if *esc { escape_all(k) } else { key_json(k) }.into_bytes();
                item.push(b':');
                item.extend_from_slice(&d.bytes());
                item
            })
            .collect();
        outer_bytes('{', items, '}', self.ws, self.fault)
    }
}

/// A payload for ss_delete_sessions: ids (and maybe non-strings) in an array.
#[derive(Clone, Debug, PartialEq)]
pub struct IdsDoc {
    pub items: Vec<V>,
    pub fault: Option<OuterFault>,
}

impl IdsDoc {
    pub fn bytes(&self) -> Vec<u8> {
        outer_bytes('[', self.items.iter().map(|v| v.text().into_bytes()).collect(), ']', false, self.fault)
    }
}

/// Every character as a \u escape (surrogate pairs above the BMP).
pub fn escape_all(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------------
// The model

/// A stored field: raw JSON text, or (session_data) an object whose fields the model keeps apart so that
/// a rename can set one of them.
#[derive(Clone, Debug, PartialEq)]
enum Field {
    Raw(String),
    Obj(Vec<(String, String)>, String),
}

impl Field {
    fn text(&self) -> &str {
        match self {
            Field::Raw(s) | Field::Obj(_, s) => s,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Rec {
    id: String,
    ty: usize,
    user: Option<String>,
    entity: Option<String>,
    name: Option<String>,
    created_at: i64,
    updated_at: i64,
    fields: Vec<(String, Field)>,
    /// The store keeps a session as it was sent, whitespace included, with session_type and the
    /// timestamps replaced in place or appended: the first `sent` fields were sent, spaced as `ws` says.
    sent: usize,
    ws: bool,
}

impl Rec {
    fn text(&self) -> String {
        let (open, colon, comma, _) = if self.ws { ("{ ", " : ", " , ", " }") } else { ("{", ":", ",", "}") };
        let sent: Vec<String> = self.fields[..self.sent]
            .iter()
            .map(|(k, f)| format!("{}{colon}{}", key_json(k), f.text()))
            .collect();
        let mut text = format!("{open}{}{}", sent.join(comma), if self.ws { " " } else { "" });
        for (k, f) in &self.fields[self.sent..] {
            text.push_str(&format!(",{}:{}", key_json(k), f.text()));
        }
        text.push('}');
        text
    }

    /// The id as it is spelled in the session, which is how listings and exports give it.
    fn quoted_id(&self) -> &str {
        self.fields.iter().find(|(k, _)| k == "session_id").expect("a stored session has an id").1.text()
    }
}

fn set_field(fields: &mut Vec<(String, Field)>, key: &str, value: Field) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some((_, f)) => *f = value,
        None => fields.push((key.to_owned(), value)),
    }
}

/// What a valid session document says.
#[derive(Clone, Debug)]
struct Parsed {
    id: String,
    session_type: Option<usize>,
    user: Option<String>,
    entities: [Option<String>; 3],
    created_at: Option<i64>,
    updated_at: Option<i64>,
    name: Option<String>,
    fields: Vec<(String, Field)>,
    ws: bool,
}

/// An expected failure: its kind and, for batches, the prefix its message must start with.
pub type Expected<T> = Result<T, (Kind, Option<String>)>;

fn fail<T>(kind: Kind) -> Expected<T> {
    Err((kind, None))
}

fn has_duplicate_keys(fields: &[(String, V)]) -> bool {
    fields.iter().enumerate().any(|(i, (k, _))| fields[..i].iter().any(|(k2, _)| k2 == k))
}

fn opt_string(v: &V) -> Result<Option<String>, Kind> {
    match v {
        V::Null => Ok(None),
        V::Str(s, _) => Ok(Some(s.clone())),
        _ => Err(Kind::InvalidSession),
    }
}

/// The session schema of the header: a JSON object with a non-empty string "session_id"; "user_id",
/// "agent_id", "team_id", "workflow_id" string or null; "created_at", "updated_at" integer or null;
/// "session_data" object or null with "session_name" string or null; "session_type" a mode or null.
/// Not JSON (syntax, UTF-8, depth, duplicate keys): InvalidJson. Schema: InvalidSession.
/// What `max_session_bytes` counts (the header's definition): the session's bytes less, for each of
/// session_type, created_at and updated_at that it carries, `,"key":value`.
fn session_size(len: usize, fields: &[(String, Field)]) -> usize {
    fields
        .iter()
        .filter(|(k, _)| ["session_type", "created_at", "updated_at"].contains(&k.as_str()))
        .fold(len, |n, (k, f)| n - (k.len() + 4 + f.text().len()))
}

/// Inputs this much over the limit are refused before they are parsed: the three members the store
/// sets can never take more (the engine's `session::STAMP_ALLOWANCE`).
fn unreadably_large(len: usize, max: usize) -> bool {
    len > max + 256
}

fn parse_session(doc: &Doc) -> Result<Parsed, Kind> {
    if doc.fault.is_some() {
        return Err(Kind::InvalidJson);
    }
    let fields = doc.fields().ok_or(Kind::InvalidSession)?;
    // Duplicate keys at the top level and in session_data are InvalidJson; deeper ones, inside opaque
    // fields, are kept verbatim (policy, docs/bad-input.md), so `V::Opaque`'s duplicate flag is ignored.
    if has_duplicate_keys(fields) {
        return Err(Kind::InvalidJson);
    }
    let mut p = Parsed {
        id: String::new(),
        session_type: None,
        user: None,
        entities: [None, None, None],
        created_at: None,
        updated_at: None,
        name: None,
        fields: Vec::new(),
        ws: matches!(doc.top, Top::Object(_, true)),
    };
    let mut id = None;
    for (k, v) in fields {
        let mut field = Field::Raw(v.text());
        match k.as_str() {
            "session_id" => id = opt_string(v)?,
            "session_type" => {
                p.session_type = match opt_string(v)? {
                    None => None,
                    Some(s) => Some(MODES.iter().position(|m| *m == s).ok_or(Kind::InvalidSession)?),
                }
            }
            "user_id" => p.user = opt_string(v)?,
            "agent_id" => p.entities[0] = opt_string(v)?,
            "team_id" => p.entities[1] = opt_string(v)?,
            "workflow_id" => p.entities[2] = opt_string(v)?,
            "created_at" | "updated_at" => {
                let t = match v {
                    V::Null => None,
                    V::Int(n) => Some(*n),
                    _ => return Err(Kind::InvalidSession),
                };
                if k == "created_at" {
                    p.created_at = t
                } else {
                    p.updated_at = t
                }
            }
            "session_data" => match v {
                V::Null => {}
                V::Obj(inner, _) => {
                    if has_duplicate_keys(inner) {
                        return Err(Kind::InvalidJson);
                    }
                    if let Some((_, name)) = inner.iter().find(|(k, _)| k == "session_name") {
                        p.name = opt_string(name)?;
                    }
                    field = Field::Obj(inner.iter().map(|(k, v)| (k.clone(), v.text())).collect(), v.text());
                }
                _ => return Err(Kind::InvalidSession),
            },
            _ => {}
        }
        p.fields.push((k.clone(), field));
    }
    match id {
        Some(id) if !id.is_empty() => p.id = id,
        _ => return Err(Kind::InvalidSession),
    }
    Ok(p)
}

/// Query keys and values, as documented for ss_query.
#[derive(Debug, Default)]
struct QuerySpec {
    user: Option<String>,
    entity: Option<String>,
    name: Option<String>,
    created_after: Option<i64>,
    created_before: Option<i64>,
    updated_after: Option<i64>,
    updated_before: Option<i64>,
    sort_by: Option<String>,
    descending: bool,
    limit: Option<u64>,
    offset: u64,
}

fn parse_query(doc: Option<&Doc>) -> Result<QuerySpec, Kind> {
    let mut q = QuerySpec { descending: true, ..QuerySpec::default() };
    let Some(doc) = doc else { return Ok(q) };
    if doc.fault.is_some() {
        return Err(Kind::InvalidJson);
    }
    let fields = doc.fields().ok_or(Kind::InvalidArgument)?;
    if has_duplicate_keys(fields) {
        return Err(Kind::InvalidJson);
    }
    let bad = Kind::InvalidArgument;
    let string = |v: &V| match v {
        V::Null => Ok(None),
        V::Str(s, _) => Ok(Some(s.clone())),
        _ => Err(bad),
    };
    let time = |v: &V| match v {
        V::Null => Ok(None),
        V::Int(n) => Ok(Some(*n)),
        _ => Err(bad),
    };
    let count = |v: &V| match v {
        V::Null => Ok(None),
        V::Int(n) if *n >= 0 => Ok(Some(*n as u64)),
        V::Num(s) => s.parse::<u64>().map(Some).map_err(|_| bad),
        _ => Err(bad),
    };
    for (k, v) in fields {
        match k.as_str() {
            "user_id" => q.user = string(v)?,
            "entity_id" => q.entity = string(v)?,
            "session_name" => q.name = string(v)?,
            "created_after" => q.created_after = time(v)?,
            "created_before" => q.created_before = time(v)?,
            "updated_after" => q.updated_after = time(v)?,
            "updated_before" => q.updated_before = time(v)?,
            "sort_by" => match string(v)?.as_deref() {
                None => q.sort_by = None,
                Some(s @ ("created_at" | "updated_at" | "session_id")) => q.sort_by = Some(s.to_owned()),
                Some(_) => return Err(bad),
            },
            "sort_order" => match string(v)?.as_deref() {
                None | Some("desc") => q.descending = true,
                Some("asc") => q.descending = false,
                Some(_) => return Err(bad),
            },
            "limit" => q.limit = count(v)?,
            "offset" => q.offset = count(v)?.unwrap_or(0),
            _ => return Err(bad),
        }
    }
    Ok(q)
}

/// Lowercase, one character at a time (no context rules): what "case-insensitive" means here.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Every session, of every type, in first-insertion order.
    recs: Vec<Rec>,
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

fn json_array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

impl Model {
    fn find(&self, id: &str) -> Option<usize> {
        self.recs.iter().position(|r| r.id == id)
    }

    fn conflicts(&self, id: &str, ty: usize) -> bool {
        self.find(id).is_some_and(|i| self.recs[i].ty != ty)
    }

    /// Stores `p` as a session of type `ty`; returns the stored text.
    fn put(&mut self, p: &Parsed, ty: usize, created_at: Option<i64>, updated_at: i64) -> String {
        let existing = self.find(&p.id);
        let created_at = created_at.or(existing.map(|i| self.recs[i].created_at)).unwrap_or(updated_at);
        let mut fields = p.fields.clone();
        let sent = fields.len();
        set_field(&mut fields, "session_type", Field::Raw(key_json(MODES[ty])));
        set_field(&mut fields, "created_at", Field::Raw(created_at.to_string()));
        set_field(&mut fields, "updated_at", Field::Raw(updated_at.to_string()));
        let rec = Rec {
            id: p.id.clone(),
            ty,
            user: p.user.clone(),
            entity: p.entities[ENTITY_OF_MODE[ty]].clone(),
            name: p.name.clone(),
            created_at,
            updated_at,
            fields,
            sent,
            ws: p.ws,
        };
        let text = rec.text();
        match existing {
            Some(i) => self.recs[i] = rec,
            None => self.recs.push(rec),
        }
        text
    }

    pub fn upsert(&mut self, mode: usize, max: usize, bytes: &[u8], doc: &Doc, now: i64) -> Expected<String> {
        if unreadably_large(bytes.len(), max) {
            return fail(Kind::TooLarge);
        }
        let p = parse_session(doc).map_err(|k| (k, None))?;
        // Whitespace around the session is not part of it.
        let len = bytes.trim_ascii().len();
        if session_size(len, &p.fields) > max {
            return fail(Kind::TooLarge);
        }
        if p.session_type.is_some_and(|t| t != mode) {
            return fail(Kind::InvalidSession);
        }
        if self.conflicts(&p.id, mode) {
            return fail(Kind::Conflict);
        }
        Ok(self.put(&p, mode, p.created_at, now))
    }

    pub fn upsert_many(&mut self, mode: usize, max: usize, batch: &Batch, now: i64) -> Expected<String> {
        match batch.fault {
            Some(OuterFault::WrongShape(_)) => return fail(Kind::InvalidArgument),
            Some(_) => return fail(Kind::InvalidJson),
            None => {}
        }
        if batch.elems.iter().any(|d| d.fault.is_some()) {
            return fail(Kind::InvalidJson);
        }
        let mut parsed = Vec::new();
        for (i, doc) in batch.elems.iter().enumerate() {
            let at = Some(format!("sessions[{i}]: "));
            let len = doc.bytes().len();
            if unreadably_large(len, max) {
                return Err((Kind::TooLarge, at));
            }
            let p = parse_session(doc).map_err(|k| (k, at.clone()))?;
            if session_size(len, &p.fields) > max {
                return Err((Kind::TooLarge, at));
            }
            if p.session_type.is_some_and(|t| t != mode) {
                return Err((Kind::InvalidSession, at));
            }
            parsed.push(p);
        }
        for (i, p) in parsed.iter().enumerate() {
            if self.conflicts(&p.id, mode) {
                return Err((Kind::Conflict, Some(format!("sessions[{i}]: "))));
            }
        }
        let stored: Vec<String> = parsed.iter().map(|p| self.put(p, mode, p.created_at, now)).collect();
        Ok(json_array(stored.into_iter()))
    }

    pub fn import(&mut self, mode: usize, max: usize, data: &ImportDoc, now: i64) -> Expected<usize> {
        match data.fault {
            Some(OuterFault::WrongShape(_)) => return fail(Kind::InvalidArgument),
            Some(_) => return fail(Kind::InvalidJson),
            None => {}
        }
        if data.records.iter().any(|(_, _, d)| d.fault.is_some()) {
            return fail(Kind::InvalidJson);
        }
        let keys: Vec<&String> = data.records.iter().map(|(k, _, _)| k).collect();
        if keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k)) {
            return fail(Kind::InvalidJson);
        }
        let mut parsed = Vec::new();
        for (key, _, doc) in &data.records {
            let at = Some(format!("import[{key:?}]: "));
            let len = doc.bytes().len();
            if unreadably_large(len, max) {
                return Err((Kind::TooLarge, at));
            }
            let p = parse_session(doc).map_err(|k| (k, at.clone()))?;
            if session_size(len, &p.fields) > max {
                return Err((Kind::TooLarge, at));
            }
            if p.id != *key {
                return Err((Kind::InvalidSession, at));
            }
            parsed.push(p);
        }
        for p in &parsed {
            if self.conflicts(&p.id, p.session_type.unwrap_or(mode)) {
                return Err((Kind::Conflict, Some(format!("import[{:?}]: ", p.id))));
            }
        }
        for p in &parsed {
            // A missing updated_at is now; a missing created_at is kept from the stored session, else
            // taken from the record's updated_at (see docs/bad-input.md: the header says "as ss_upsert()").
            self.put(p, p.session_type.unwrap_or(mode), p.created_at, p.updated_at.unwrap_or(now));
        }
        Ok(parsed.len())
    }

    /// The state an export of this model, re-imported, must produce: every record, unchanged. The
    /// records fit the limit (it does not count what the store adds), so the import always succeeds.
    pub fn reimport(&self) -> Expected<usize> {
        Ok(self.recs.len())
    }

    fn visible(&self, mode: usize, id: &str) -> Option<usize> {
        self.find(id).filter(|&i| self.recs[i].ty == mode)
    }

    pub fn read(&self, mode: usize, id: &str, user: Option<&str>) -> Expected<String> {
        match self.visible(mode, id) {
            Some(i) if nonempty(user).is_none_or(|u| self.recs[i].user.as_deref() == Some(u)) => {
                Ok(self.recs[i].text())
            }
            _ => fail(Kind::NotFound),
        }
    }

    fn matching(&self, mode: usize, user: Option<&str>, entity: Option<&str>) -> Vec<&Rec> {
        let (user, entity) = (nonempty(user), nonempty(entity));
        self.recs
            .iter()
            .filter(|r| {
                r.ty == mode
                    && user.is_none_or(|u| r.user.as_deref() == Some(u))
                    && entity.is_none_or(|e| r.entity.as_deref() == Some(e))
            })
            .collect()
    }

    pub fn ids(&self, mode: usize, user: Option<&str>, entity: Option<&str>) -> String {
        json_array(self.matching(mode, user, entity).into_iter().map(|r| r.quoted_id().to_owned()))
    }

    pub fn all(&self, mode: usize, user: Option<&str>, entity: Option<&str>) -> String {
        json_array(self.matching(mode, user, entity).into_iter().map(Rec::text))
    }

    pub fn recent(&self, mode: usize, user: Option<&str>, entity: Option<&str>, limit: i64) -> String {
        let mut recs = self.matching(mode, user, entity);
        recs.reverse(); // most recently inserted first among equal created_at (the sort is stable)
        recs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let limit = if limit < 0 { usize::MAX } else { limit as usize };
        json_array(recs.into_iter().take(limit).map(Rec::text))
    }

    pub fn query(&self, mode: usize, doc: Option<&Doc>) -> Expected<String> {
        let q = parse_query(doc).map_err(|k| (k, None))?;
        let needle = q.name.as_deref().map(fold);
        let mut recs: Vec<&Rec> = self
            .matching(mode, q.user.as_deref(), q.entity.as_deref())
            .into_iter()
            .filter(|r| {
                q.created_after.is_none_or(|t| r.created_at >= t)
                    && q.created_before.is_none_or(|t| r.created_at <= t)
                    && q.updated_after.is_none_or(|t| r.updated_at >= t)
                    && q.updated_before.is_none_or(|t| r.updated_at <= t)
                    && needle
                        .as_ref()
                        .is_none_or(|n| r.name.as_deref().is_some_and(|name| fold(name).contains(n)))
            })
            .collect();
        match q.sort_by.as_deref() {
            Some("updated_at") => recs.sort_by_key(|r| r.updated_at),
            Some("session_id") => recs.sort_by(|a, b| a.id.cmp(&b.id)),
            _ => recs.sort_by_key(|r| r.created_at),
        }
        if q.descending {
            recs.reverse();
        }
        let total = recs.len();
        let page = recs
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(q.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)));
        Ok(format!("{{\"sessions\":{},\"total\":{total}}}", json_array(page.map(Rec::text))))
    }

    /// Sets the name and updated_at; a renamed session above `max` is refused (TooLarge, no change).
    pub fn rename(&mut self, mode: usize, max: usize, id: &str, name: &str, now: i64) -> Expected<String> {
        let Some(i) = self.visible(mode, id) else { return fail(Kind::NotFound) };
        let mut rec = self.recs[i].clone();
        let name_json = key_json(name);
        let data = match rec.fields.iter().find(|(k, _)| k == "session_data").map(|(_, f)| f) {
            Some(Field::Obj(inner, _)) => {
                let mut inner = inner.clone();
                match inner.iter_mut().find(|(k, _)| k == "session_name") {
                    Some((_, v)) => *v = name_json,
                    None => inner.push(("session_name".into(), name_json)),
                }
                let text = render_object(inner.iter().map(|(k, v)| (k.as_str(), v.clone())), false);
                Field::Obj(inner, text)
            }
            _ => Field::Obj(
                vec![("session_name".into(), name_json.clone())],
                format!("{{\"session_name\":{name_json}}}"),
            ),
        };
        set_field(&mut rec.fields, "session_data", data);
        set_field(&mut rec.fields, "updated_at", Field::Raw(now.to_string()));
        rec.name = Some(name.to_owned());
        rec.updated_at = now;
        // A rename rewrites the session compactly.
        rec.sent = rec.fields.len();
        rec.ws = false;
        let text = rec.text();
        if session_size(text.len(), &rec.fields) > max {
            return fail(Kind::TooLarge);
        }
        self.recs[i] = rec;
        Ok(text)
    }

    pub fn delete(&mut self, mode: usize, id: &str) -> usize {
        match self.visible(mode, id) {
            Some(i) => {
                self.recs.remove(i);
                1
            }
            None => 0,
        }
    }

    pub fn delete_many(&mut self, mode: usize, ids: &IdsDoc) -> Expected<usize> {
        match ids.fault {
            Some(OuterFault::WrongShape(_)) => return fail(Kind::InvalidArgument),
            Some(_) => return fail(Kind::InvalidJson),
            None => {}
        }
        let mut names = Vec::new();
        for v in &ids.items {
            match v {
                V::Str(s, _) => names.push(s.clone()),
                _ => return fail(Kind::InvalidArgument),
            }
        }
        Ok(names.iter().map(|id| self.delete(mode, id)).sum())
    }

    pub fn drop_all(&mut self, mode: usize) -> usize {
        let before = self.recs.len();
        self.recs.retain(|r| r.ty != mode);
        before - self.recs.len()
    }

    pub fn by_type(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for r in &self.recs {
            n[r.ty] += 1;
        }
        n
    }

    pub fn bytes(&self) -> usize {
        self.recs.iter().map(|r| r.text().len()).sum()
    }

    pub fn stats_json(&self, mode: usize) -> String {
        let [a, t, w, v] = self.by_type();
        format!(
            "{{\"mode\":\"{}\",\"sessions\":{},\"bytes\":{},\"by_type\":{{\"agent\":{a},\"team\":{t},\"workflow\":{w},\"workflow_v2\":{v}}}}}",
            MODES[mode],
            a + t + w + v,
            self.bytes()
        )
    }

    pub fn export(&self) -> String {
        let items: Vec<String> =
            self.recs.iter().map(|r| format!("{}:{}", r.quoted_id(), r.text())).collect();
        format!("{{{}}}", items.join(","))
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }
}

// ---------------------------------------------------------------------------------------------------
// Operations

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
    Rename { h: usize, via: Via, id: String, name: String },
    Delete { h: usize, via: Via, id: String },
    DeleteMany { h: usize, via: Via, ids: IdsDoc },
    Drop { h: usize, via: Via },
    Stats { h: usize, via: Via },
    Export { h: usize, via: Via },
    Import { h: usize, via: Via, data: ImportDoc },
    Reimport { h: usize, via: Via },
    Share { h: usize, mode: Option<usize> },
    Close { h: usize },
}

// ---------------------------------------------------------------------------------------------------
// Decoding bytes into operations (shared by the proptest and the fuzz target)

/// Reads choices from bytes; past the end every choice is 0.
pub struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
    pub strict: bool,
}

impl<'a> Gen<'a> {
    pub fn new(data: &'a [u8], strict: bool) -> Self {
        Gen { data, pos: 0, strict }
    }

    pub fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.byte() as usize % n
        }
    }

    /// True with about `pct` percent chance (on uniform bytes).
    pub fn pct(&mut self, pct: u32) -> bool {
        (self.byte() as u32 * 100) >> 8 < pct
    }

    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

fn str_v(s: &str, g: &mut Gen) -> V {
    let raw = if g.pct(15) { escape_all(s) } else { key_json(s) };
    V::Str(s.to_owned(), raw)
}

fn gen_id(g: &mut Gen) -> String {
    g.pick(&IDS).to_owned()
}

fn gen_name(g: &mut Gen) -> String {
    let n = if g.strict { NAMES.len() } else { NAMES_NON_STRICT };
    NAMES[g.below(n)].to_owned()
}

fn gen_session_data(g: &mut Gen) -> V {
    match g.below(5) {
        0 => V::Null,
        1 => V::Obj(vec![], g.pct(50)),
        _ => {
            let mut inner = Vec::new();
            if g.pct(80) {
                let name = if g.pct(85) { str_v(&gen_name(g), g) } else { V::Null };
                inner.push(("session_name".to_owned(), name));
            }
            if g.pct(40) {
                inner.push(("turns".to_owned(), V::Int(3)));
            }
            if g.pct(30) {
                inner.push(("tags".to_owned(), V::Opaque(r#"["a", "b"]"#.into(), false)));
            }
            g.shuffle(&mut inner);
            V::Obj(inner, g.pct(30))
        }
    }
}

fn set_v(fields: &mut Vec<(String, V)>, key: &str, v: V) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some((_, old)) => *old = v,
        None => fields.push((key.to_owned(), v)),
    }
}

/// A session document for a handle of mode `mode` (which only matters for "session_type"), with its
/// intended id. About one in four carries one fault.
fn gen_session(g: &mut Gen, mode: usize, max: usize) -> (String, Doc) {
    let id = gen_id(g);
    let mut fields: Vec<(String, V)> = vec![("session_id".into(), str_v(&id, g))];
    if g.pct(60) {
        let v = if g.pct(85) { str_v(g.pick(&USERS), g) } else { V::Null };
        fields.push(("user_id".into(), v));
    }
    for key in ENTITY_KEYS {
        if g.pct(35) {
            let v = if g.pct(85) { str_v(g.pick(&ENTITIES), g) } else { V::Null };
            fields.push((key.into(), v));
        }
    }
    if g.pct(50) {
        fields.push(("created_at".into(), if g.pct(90) { V::Int(g.pick(&TIMES)) } else { V::Null }));
    }
    if g.pct(20) {
        fields.push(("updated_at".into(), if g.pct(90) { V::Int(g.pick(&TIMES)) } else { V::Null }));
    }
    if g.pct(50) {
        fields.push(("session_data".into(), gen_session_data(g)));
    }
    if g.pct(20) {
        let v = match g.below(4) {
            0 => V::Null,
            1 | 2 => str_v(MODES[mode], g),
            _ => str_v(MODES[g.below(4)], g),
        };
        fields.push(("session_type".into(), v));
    }
    for _ in 0..g.below(3) {
        let key = g.pick(&OPAQUE_KEYS);
        if !fields.iter().any(|(k, _)| k == key) {
            fields.push((key.into(), V::Opaque(g.pick(&OPAQUE_VALUES).into(), false)));
        }
    }
    if g.pct(4) {
        // At the depth limit: the session is the first level.
        let depth = sessionstore::MAX_DEPTH - 1;
        fields.push(("deep".into(), V::Opaque(format!("{}{}", "[".repeat(depth), "]".repeat(depth)), false)));
    }
    g.shuffle(&mut fields);
    let mut doc = Doc { top: Top::Object(fields, false), fault: None };
    let faulty = g.pct(25);
    if faulty {
        add_fault(g, &mut doc, max);
    }
    if let Top::Object(_, ws) = &mut doc.top {
        *ws = g.pct(20);
    }
    if !faulty && max <= 1 << 16 && g.pct(5) {
        fill_to_limit(&mut doc, max);
    }
    (id, doc)
}

/// The size `max_session_bytes` counts, for a document that is an object.
fn doc_size(doc: &Doc) -> usize {
    let Top::Object(fields, _) = &doc.top else { return doc.bytes().len() };
    let fields: Vec<(String, Field)> =
        fields.iter().map(|(k, v)| (k.clone(), Field::Raw(v.text()))).collect();
    session_size(doc.bytes().len(), &fields)
}

/// Pads the session to exactly the size limit, when it is not over it already.
fn fill_to_limit(doc: &mut Doc, max: usize) {
    let pad = |n: usize| V::Str("x".repeat(n), format!("\"{}\"", "x".repeat(n)));
    let Top::Object(fields, _) = &mut doc.top else { return };
    fields.push(("pad".into(), pad(0)));
    match max.checked_sub(doc_size(doc)) {
        Some(n) => {
            let Top::Object(fields, _) = &mut doc.top else { unreachable!() };
            fields.last_mut().expect("pushed above").1 = pad(n);
            debug_assert_eq!(doc_size(doc), max);
        }
        None => {
            let Top::Object(fields, _) = &mut doc.top else { unreachable!() };
            fields.pop();
        }
    }
}

fn add_fault(g: &mut Gen, doc: &mut Doc, max: usize) {
    let Top::Object(fields, _) = &mut doc.top else { return };
    let faults = if g.strict { 18 } else { 17 };
    match g.below(faults) {
        0 => fields.retain(|(k, _)| k != "session_id"),
        1 => set_v(fields, "session_id", V::Str(String::new(), "\"\"".into())),
        2 => set_v(
            fields,
            "session_id",
            if g.pct(50) { V::Int(5) } else { V::Opaque(r#"["s0"]"#.into(), false) },
        ),
        3 => set_v(fields, "user_id", V::Int(1)),
        4 => set_v(fields, ENTITY_KEYS[g.below(3)], V::Opaque("{}".into(), false)),
        5 => {
            let v = if g.pct(80) {
                V::Num(g.pick(&BAD_NUMBERS))
            } else {
                V::Str("yesterday".into(), "\"yesterday\"".into())
            };
            set_v(fields, if g.pct(70) { "created_at" } else { "updated_at" }, v);
        }
        6 => set_v(
            fields,
            "session_data",
            if g.pct(50) { str_v("x", g) } else { V::Opaque("[1]".into(), false) },
        ),
        7 => set_v(fields, "session_data", V::Obj(vec![("session_name".into(), V::Int(3))], false)),
        8 => {
            let i = g.below(fields.len());
            if let Some(f) = fields.get(i).cloned() {
                fields.push(f);
            }
        }
        9 => set_v(
            fields,
            "session_data",
            V::Obj(vec![("a".into(), V::Int(1)), ("a".into(), V::Int(2))], false),
        ),
        10 => set_v(fields, "session_type", if g.pct(50) { str_v("robot", g) } else { V::Int(5) }),
        11 => doc.top = Top::Other(g.pick(&[r#"["s0"]"#, r#""s0""#, "5", "null", "true"])),
        12 => doc.fault = Some(TextFault::Truncate),
        13 => doc.fault = Some(TextFault::BadUtf8),
        14 => doc.fault = Some(TextFault::Deep),
        15 => doc.fault = Some(TextFault::Trailing),
        16 => {
            // Too large for a small store; harmless padding for a default one.
            let n = if max <= 1 << 16 { max } else { 1000 };
            fields.push(("pad".into(), V::Str("x".repeat(n), format!("\"{}\"", "x".repeat(n)))));
        }
        _ => set_v(fields, "memory", V::Opaque(r#"{"x":1,"y":{"z":1,"z":2}}"#.into(), true)),
    }
}

fn gen_outer_fault(g: &mut Gen, shapes: &[&'static str]) -> Option<OuterFault> {
    if !g.pct(8) {
        return None;
    }
    Some(match g.below(3) {
        0 => OuterFault::WrongShape(g.pick(shapes)),
        1 => OuterFault::Truncate,
        _ => OuterFault::BadUtf8,
    })
}

fn gen_opt_user(g: &mut Gen) -> Option<String> {
    if g.pct(50) {
        None
    } else {
        Some(g.pick(&USERS).to_owned())
    }
}

fn gen_opt_entity(g: &mut Gen) -> Option<String> {
    if g.pct(60) {
        None
    } else {
        Some(g.pick(&ENTITIES).to_owned())
    }
}

fn gen_query(g: &mut Gen) -> Option<Doc> {
    if g.pct(8) {
        return None;
    }
    let now = now();
    let mut fields: Vec<(String, V)> = Vec::new();
    let times = [TIMES[g.below(8)], now - 5, now, now + 5, 150];
    let invalid = |g: &mut Gen| -> V {
        match g.below(4) {
            0 => V::Opaque("[]".into(), false),
            1 => V::Num(g.pick(&["1.5", "99999999999999999999", "-0"])),
            2 => V::Int(-1),
            _ => V::Opaque("{}".into(), false),
        }
    };
    for (key, pct) in [("user_id", 30), ("entity_id", 20), ("session_name", 20)] {
        if g.pct(pct) {
            let v = match g.below(12) {
                0 => V::Null,
                1 => invalid(g),
                _ => match key {
                    "user_id" => str_v(g.pick(&USERS), g),
                    "entity_id" => str_v(g.pick(&ENTITIES), g),
                    _ => {
                        let n = if g.strict { NEEDLES.len() } else { NEEDLES.len() - 1 };
                        str_v(NEEDLES[g.below(n)], g)
                    }
                },
            };
            fields.push((key.into(), v));
        }
    }
    for key in ["created_after", "created_before", "updated_after", "updated_before"] {
        if g.pct(15) {
            let v = match g.below(12) {
                0 => V::Null,
                1 => invalid(g),
                2 if g.strict => V::Num("1e400"),
                _ => V::Int(times[g.below(times.len())]),
            };
            fields.push((key.into(), v));
        }
    }
    if g.pct(40) {
        let v = match g.below(10) {
            0 => V::Null,
            1 if g.strict && g.pct(50) => V::Int(1),
            1 => str_v("name", g),
            _ => str_v(g.pick(&["created_at", "updated_at", "session_id"]), g),
        };
        fields.push(("sort_by".into(), v));
    }
    if g.pct(40) {
        let v = match g.below(10) {
            0 => V::Null,
            1 if g.strict && g.pct(50) => V::Opaque("true".into(), false),
            1 => str_v("up", g),
            _ => str_v(g.pick(&["asc", "desc"]), g),
        };
        fields.push(("sort_order".into(), v));
    }
    for key in ["limit", "offset"] {
        if g.pct(35) {
            let v = match g.below(14) {
                0 => V::Null,
                1 => invalid(g),
                2 => V::Num("18446744073709551615"),
                3 => V::Int(i64::MAX),
                _ => V::Int(g.below(5) as i64),
            };
            fields.push((key.into(), v));
        }
    }
    if g.pct(3) {
        fields.push(("user".into(), str_v("u0", g)));
    }
    // A duplicate key only in an otherwise valid query: the header gives no precedence between faults.
    if g.strict && g.pct(3) && !fields.is_empty() {
        let valid = parse_query(Some(&Doc { top: Top::Object(fields.clone(), false), fault: None })).is_ok();
        if valid {
            let f = fields[0].clone();
            fields.push(f);
        }
    }
    g.shuffle(&mut fields);
    let mut doc = Doc { top: Top::Object(fields, g.pct(20)), fault: None };
    if g.pct(2) {
        doc.top = Top::Other(g.pick(&["[]", r#""user_id""#, "null", "[null,null]"]));
    } else if g.pct(3) {
        doc.fault =
            Some(g.pick(&[TextFault::Truncate, TextFault::BadUtf8, TextFault::Deep, TextFault::Trailing]));
    }
    Some(doc)
}

pub const MAX_OPS: usize = 80;
const MAX_HANDLES: usize = 6;

/// Decodes a setup and a sequence of operations; every handle index is valid when its operation runs.
pub fn decode(data: &[u8], strict: bool) -> (Setup, Vec<Op>) {
    let mut g = Gen::new(data, strict);
    let mode = g.below(4);
    let max = match g.below(8) {
        0 => Some(300),
        1 => Some(700),
        2 => Some(1 << 16),
        _ => None,
    };
    let shares: Vec<usize> = (0..g.below(4)).map(|_| g.below(4)).collect();
    let setup = Setup { mode, max, shares: shares.clone() };
    let max = setup.max_bytes();
    let mut modes: Vec<usize> = std::iter::once(mode).chain(shares).collect();
    let mut ops = Vec::new();
    while !g.exhausted() && ops.len() < MAX_OPS {
        let h = g.below(modes.len());
        let via = if g.pct(50) { Via::Rust } else { Via::Ffi };
        let m = modes[h];
        let op = match g.byte() {
            0..=59 => {
                let (_, doc) = gen_session(&mut g, m, max);
                Op::Upsert { h, via, doc, pad: g.pct(10) }
            }
            60..=79 => {
                let n = g.below(5);
                let elems = (0..n).map(|_| gen_session(&mut g, m, max).1).collect();
                Op::UpsertMany {
                    h,
                    via,
                    batch: Batch {
                        elems,
                        ws: g.pct(20),
                        fault: gen_outer_fault(&mut g, &["{}", "null", "\"s0\"", "5"]),
                    },
                }
            }
            80..=99 => Op::Read { h, via, id: gen_id(&mut g), user: gen_opt_user(&mut g) },
            100..=109 => Op::Ids { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g) },
            110..=117 => Op::All { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g) },
            118..=131 => {
                let limit = g.pick(&[-1, -7, i64::MIN, 0, 1, 2, 3, 100, i64::MAX]);
                Op::Recent { h, via, user: gen_opt_user(&mut g), entity: gen_opt_entity(&mut g), limit }
            }
            132..=161 => Op::Query { h, via, query: gen_query(&mut g) },
            162..=176 => Op::Rename { h, via, id: gen_id(&mut g), name: gen_name(&mut g) },
            177..=189 => Op::Delete { h, via, id: gen_id(&mut g) },
            190..=199 => {
                let mut items: Vec<V> = (0..g.below(5)).map(|_| str_v(&gen_id(&mut g), &mut g)).collect();
                if g.pct(8) {
                    items.push(V::Int(1));
                }
                Op::DeleteMany {
                    h,
                    via,
                    ids: IdsDoc { items, fault: gen_outer_fault(&mut g, &["{}", "\"s0\"", "null"]) },
                }
            }
            200..=203 => Op::Drop { h, via },
            204..=208 => Op::Stats { h, via },
            209..=213 => Op::Export { h, via },
            214..=233 => {
                let mut records = Vec::new();
                for _ in 0..g.below(4) {
                    let (id, doc) = gen_session(&mut g, m, max);
                    let key = if g.pct(8) { gen_id(&mut g) } else { id };
                    records.push((key, g.pct(15), doc));
                }
                if g.pct(5) && !records.is_empty() {
                    let r = records[g.below(records.len())].clone();
                    records.push(r);
                }
                Op::Import {
                    h,
                    via,
                    data: ImportDoc {
                        records,
                        ws: g.pct(20),
                        fault: gen_outer_fault(&mut g, &["[]", "null", "\"s0\""]),
                    },
                }
            }
            234..=241 => Op::Reimport { h, via },
            242..=250 => {
                if modes.len() >= MAX_HANDLES {
                    continue;
                }
                let mode = if g.pct(20) { None } else { Some(g.below(4)) };
                modes.push(mode.unwrap_or(m));
                Op::Share { h, mode }
            }
            _ => {
                if modes.len() < 2 {
                    continue;
                }
                modes.remove(h);
                Op::Close { h }
            }
        };
        ops.push(op);
    }
    (setup, ops)
}

// ---------------------------------------------------------------------------------------------------
// Running the engine and the model side by side

pub struct World {
    handles: Vec<(Handle, usize)>,
    pub model: Model,
    max: usize,
    /// Every "operation:outcome" seen, to check that the generator reaches every case.
    pub seen: std::collections::BTreeSet<String>,
}

/// Compares an engine result with the model's; returns the outcome's label ("ok" or the kind).
fn compare<T: PartialEq + fmt::Debug>(
    what: &str,
    got: Outcome<T>,
    want: Expected<T>,
) -> Result<String, String> {
    match (&got, &want) {
        (Ok(g), Ok(w)) if g == w => Ok("ok".into()),
        (Err(f), Err((k, at))) if f.kind == *k => match at {
            Some(prefix) if !f.message.starts_with(prefix.as_str()) => {
                Err(format!("{what}: message {:?} should start with {prefix:?}", f.message))
            }
            _ => Ok(format!("{k:?}")),
        },
        _ => Err(format!("{what} differs:\n  engine: {got:?}\n  model:  {want:?}")),
    }
}

#[derive(serde::Deserialize)]
struct Stamped {
    updated_at: i64,
}

/// "now" as the engine saw it during a call made between `before` and `after`: read from the stored
/// session it returned when the second changed meanwhile, and checked to be in range.
fn resolve_now(before: i64, after: i64, stored: Option<&str>) -> Result<i64, String> {
    if before == after {
        return Ok(before);
    }
    let Some(text) = stored else { return Ok(before) };
    let t = match serde_json::from_str::<Stamped>(text) {
        Ok(s) => s.updated_at,
        Err(_) => match serde_json::from_str::<Vec<Stamped>>(text) {
            Ok(v) if !v.is_empty() => v[0].updated_at,
            _ => return Ok(before),
        },
    };
    if t < before || t > after {
        return Err(format!("updated_at {t} outside the call's [{before}, {after}]"));
    }
    Ok(t)
}

impl World {
    pub fn new(setup: &Setup) -> Result<World, String> {
        let first = Handle::open(Some(&setup.config())).map_err(|f| format!("open: {f:?}"))?;
        let mut handles = vec![(first, setup.mode)];
        for &m in &setup.shares {
            let h = handles[0].0.share(Some(MODES[m])).map_err(|f| format!("share: {f:?}"))?;
            handles.push((h, m));
        }
        Ok(World { handles, model: Model::default(), max: setup.max_bytes(), seen: Default::default() })
    }

    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        let max = self.max;
        let before = now();
        match op {
            Op::Upsert { h, via, doc, pad } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let mut bytes = doc.bytes();
                if *pad {
                    bytes.insert(0, b' ');
                    bytes.extend_from_slice(b"\n\t");
                }
                let got = match via {
                    Via::Rust => handle.store().upsert(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.upsert(&bytes),
                };
                let now = resolve_now(before, now(), got.as_deref().ok())?;
                let o = compare("upsert", got, self.model.upsert(mode, max, &bytes, doc, now))?;
                self.seen.insert(format!("upsert:{o}"));
            }
            Op::UpsertMany { h, via, batch } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = batch.bytes();
                let got = match via {
                    Via::Rust => handle.store().upsert_many(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.upsert_many(&bytes),
                };
                let now = resolve_now(before, now(), got.as_deref().ok())?;
                let o = compare("upsert_many", got, self.model.upsert_many(mode, max, batch, now))?;
                self.seen.insert(format!("upsert_many:{o}"));
            }
            Op::Read { h, via, id, user } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => handle.store().read(id, user.as_deref()).map_err(Failure::from),
                    Via::Ffi => handle.read(id, user.as_deref()),
                };
                let o = compare("read", got, self.model.read(mode, id, user.as_deref()))?;
                self.seen.insert(format!("read:{o}"));
            }
            Op::Ids { h, via, user, entity } | Op::All { h, via, user, entity } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let (u, e) = (user.as_deref(), entity.as_deref());
                let ids = matches!(op, Op::Ids { .. });
                let got = match (via, ids) {
                    (Via::Rust, true) => Ok(handle.store().get_all_session_ids(Filter::new(u, e))),
                    (Via::Rust, false) => Ok(handle.store().get_all_sessions(Filter::new(u, e))),
                    (Via::Ffi, true) => handle.ids(u, e),
                    (Via::Ffi, false) => handle.all(u, e),
                };
                let want = if ids { self.model.ids(mode, u, e) } else { self.model.all(mode, u, e) };
                let o = compare("listing", got, Ok(want))?;
                self.seen.insert(format!("listing:{o}"));
            }
            Op::Recent { h, via, user, entity, limit } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let (u, e) = (user.as_deref(), entity.as_deref());
                let got = match via {
                    Via::Rust => Ok(handle.store().get_recent_sessions(Filter::new(u, e), *limit)),
                    Via::Ffi => handle.recent(u, e, *limit),
                };
                let o = compare("recent", got, Ok(self.model.recent(mode, u, e, *limit)))?;
                self.seen.insert(format!("recent:{o}"));
            }
            Op::Query { h, via, query } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = query.as_ref().map(Doc::bytes);
                let got = match via {
                    Via::Rust => handle.store().query_json(bytes.as_deref()).map_err(Failure::from),
                    Via::Ffi => handle.query(bytes.as_deref()),
                };
                let o = compare("query", got, self.model.query(mode, query.as_ref()))?;
                self.seen.insert(format!("query:{o}"));
            }
            Op::Rename { h, via, id, name } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => handle.store().rename_session(id, name).map_err(Failure::from),
                    Via::Ffi => handle.rename(id, name),
                };
                let now = resolve_now(before, now(), got.as_deref().ok())?;
                let o = compare("rename", got, self.model.rename(mode, max, id, name, now))?;
                self.seen.insert(format!("rename:{o}"));
            }
            Op::Delete { h, via, id } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => Ok(handle.store().delete_session(id)),
                    Via::Ffi => handle.delete(id),
                };
                let o = compare("delete", got, Ok(self.model.delete(mode, id)))?;
                self.seen.insert(format!("delete:{o}"));
            }
            Op::DeleteMany { h, via, ids } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = ids.bytes();
                let got = match via {
                    Via::Rust => handle.store().delete_sessions(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.delete_many(&bytes),
                };
                let o = compare("delete_sessions", got, self.model.delete_many(mode, ids))?;
                self.seen.insert(format!("delete_sessions:{o}"));
            }
            Op::Drop { h, via } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => Ok(handle.store().drop_sessions()),
                    Via::Ffi => handle.drop_all(),
                };
                let o = compare("drop", got, Ok(self.model.drop_all(mode)))?;
                self.seen.insert(format!("drop:{o}"));
            }
            Op::Stats { h, via } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                match via {
                    Via::Rust => {
                        let s = handle.store().stats();
                        let want = (MODES[mode], self.model.by_type(), self.model.bytes(), self.model.len());
                        let got = (s.mode.as_str(), s.by_type, s.bytes, s.sessions());
                        if got != want {
                            return Err(format!("stats differ: engine {got:?}, model {want:?}"));
                        }
                    }
                    Via::Ffi => {
                        compare("stats", handle.stats(), Ok(self.model.stats_json(mode)))?;
                    }
                }
            }
            Op::Export { h, via } => {
                let handle = &self.handles[*h].0;
                let got = match via {
                    Via::Rust => Ok(handle.store().export()),
                    Via::Ffi => handle.export(),
                };
                let o = compare("export", got, Ok(self.model.export()))?;
                self.seen.insert(format!("export:{o}"));
            }
            Op::Import { h, via, data } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = data.bytes();
                let got = match via {
                    Via::Rust => handle.store().import(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.import(&bytes),
                };
                let after = now();
                let now = if before == after {
                    before
                } else {
                    // The second changed during the call: find "now" in a record that had no updated_at.
                    let export = self.handles[0].0.store().export();
                    let map: std::collections::HashMap<String, Stamped> =
                        serde_json::from_str(&export).map_err(|e| format!("export does not parse: {e}"))?;
                    let missing = data.records.iter().find(|(_, _, d)| {
                        d.fields().is_some_and(|f| !f.iter().any(|(k, v)| k == "updated_at" && *v != V::Null))
                    });
                    match missing.and_then(|(k, _, _)| map.get(k)) {
                        Some(s) if got.is_ok() => {
                            if s.updated_at < before || s.updated_at > after {
                                return Err(format!(
                                    "import: updated_at {} outside [{before}, {after}]",
                                    s.updated_at
                                ));
                            }
                            s.updated_at
                        }
                        _ => before,
                    }
                };
                let o = compare("import", got, self.model.import(mode, max, data, now))?;
                self.seen.insert(format!("import:{o}"));
            }
            Op::Reimport { h, via } => {
                let handle = &self.handles[*h].0;
                let export = handle.store().export();
                let got = match via {
                    Via::Rust => handle.store().import(export.as_bytes()).map_err(Failure::from),
                    Via::Ffi => handle.import(export.as_bytes()),
                };
                let o = compare("re-import of the export", got, self.model.reimport())?;
                self.seen.insert(format!("re-import of the export:{o}"));
            }
            Op::Share { h, mode } => {
                let from = &self.handles[*h];
                let handle =
                    from.0.share(mode.map(|m| MODES[m])).map_err(|f| format!("share failed: {f:?}"))?;
                let m = mode.unwrap_or(from.1);
                if handle.store().mode().to_string() != MODES[m] {
                    return Err(format!(
                        "shared handle has mode {}, want {}",
                        handle.store().mode(),
                        MODES[m]
                    ));
                }
                self.handles.push((handle, m));
            }
            Op::Close { h } => {
                self.handles.remove(*h);
            }
        }
        self.check_state()
    }

    /// The whole state: indexes consistent, every session and count as the model has them.
    pub fn check_state(&self) -> Result<(), String> {
        let store = self.handles[0].0.store();
        store.check_invariants().map_err(|e| format!("check_invariants: {e}"))?;
        let stats: Stats = store.stats();
        if stats.by_type != self.model.by_type() || stats.bytes != self.model.bytes() {
            return Err(format!(
                "state: stats {:?}/{} bytes, model {:?}/{} bytes",
                stats.by_type,
                stats.bytes,
                self.model.by_type(),
                self.model.bytes()
            ));
        }
        let export = store.export();
        let want = self.model.export();
        if export != want {
            return Err(format!("state differs:\n  engine: {export}\n  model:  {want}"));
        }
        Ok(())
    }
}

/// Runs a decoded case; on failure, the message lists the setup and every operation up to the failing one.
pub fn run(setup: &Setup, ops: &[Op]) -> Result<(), String> {
    run_collect(setup, ops).map(|_| ())
}

/// As `run`, returning the "operation:outcome" labels seen.
pub fn run_collect(setup: &Setup, ops: &[Op]) -> Result<std::collections::BTreeSet<String>, String> {
    let mut world = World::new(setup)?;
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = world.step(op) {
            let mut msg = format!("{e}\n\nat step {i} of this case:\n  {setup:?}\n");
            for (j, op) in ops[..=i].iter().enumerate() {
                msg.push_str(&format!("  {j}: {op:?}\n"));
            }
            return Err(msg);
        }
    }
    Ok(world.seen)
}

/// `SS_MODEL_STRICT=1` also generates the inputs of the fixed defects and of the policy items.
pub fn strict_from_env() -> bool {
    std::env::var("SS_MODEL_STRICT").is_ok_and(|v| v == "1")
}
