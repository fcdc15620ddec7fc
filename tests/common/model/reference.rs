//! The model.

use super::super::ffi::Kind;
use super::docs::{key_json, render_object, Batch, Doc, IdsDoc, ImportDoc, OuterFault, Top, V};
use super::{ENTITY_OF_MODE, MODES};

/// A stored field: raw JSON text, or (session_data) an object whose fields the model keeps apart so that
/// a rename can set one of them.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Field {
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
    /// The number of the change that last stored it.
    version: u64,
    fields: Vec<(String, Field)>,
    /// The store keeps a session as it was sent, whitespace included, with session_type, the
    /// timestamps and the version replaced in place or appended: the first `sent` fields were sent,
    /// spaced as `ws` says.
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
    /// What a "metadata" projection gives (the header's list).
    fn metadata(&self) -> String {
        let json = |s: &Option<String>| s.as_deref().map_or("null".to_owned(), key_json);
        let entity_field = ["agent_id", "team_id", "workflow_id", "workflow_id"][self.ty];
        let mut text = format!(
            "{{\"session_id\":{},\"session_type\":\"{}\",\"user_id\":{},\"{entity_field}\":{},\"created_at\":{},\"updated_at\":{}",
            self.quoted_id(),
            MODES[self.ty],
            json(&self.user),
            json(&self.entity),
            self.created_at,
            self.updated_at
        );
        if self.name.is_some() {
            let Some((_, Field::Obj(inner, _))) = self.fields.iter().find(|(k, _)| k == "session_data")
            else {
                unreachable!("a named session has a session_data object")
            };
            let name = &inner.iter().find(|(k, _)| k == "session_name").expect("named").1;
            text.push_str(&format!(",\"session_data\":{{\"session_name\":{name}}}"));
        }
        text.push('}');
        text
    }

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
/// session_type, created_at, updated_at and version that it carries, `,"key":value`.
pub(super) fn session_size(len: usize, fields: &[(String, Field)]) -> usize {
    fields
        .iter()
        .filter(|(k, _)| ["session_type", "created_at", "updated_at", "version"].contains(&k.as_str()))
        .fold(len, |n, (k, f)| n - (k.len() + 4 + f.text().len()))
}

/// Inputs this much over the limit are refused before they are parsed: the three members the store
/// sets can never take more (the engine's `session::STAMP_ALLOWANCE`).
fn unreadably_large(len: usize, max: usize) -> bool {
    len > max + 256
}

/// An element of a batch or an import, parsed and checked against the size limit.
fn parse_within(doc: &Doc, max: usize) -> Result<Parsed, Kind> {
    let len = doc.bytes().len();
    if unreadably_large(len, max) {
        return Err(Kind::TooLarge);
    }
    let p = parse_session(doc)?;
    if session_size(len, &p.fields) > max {
        return Err(Kind::TooLarge);
    }
    Ok(p)
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
            "version" => match v {
                V::Null => {}
                V::Int(n) if *n >= 0 => {}
                V::Num(text) if text.parse::<u64>().is_ok() => {}
                _ => return Err(Kind::InvalidSession),
            },
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
pub(super) struct QuerySpec {
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
    /// The types listed; `None` is the handle's mode.
    types: Option<Vec<usize>>,
    projection: Projection,
}

#[derive(Clone, Debug, Default, PartialEq)]
enum Projection {
    #[default]
    All,
    Metadata,
    Fields(Vec<String>),
}

/// The items of a list the generator wrote as opaque text (`["a","b"]`), or `None` for another shape.
fn list(v: &V) -> Option<Vec<V>> {
    let V::Opaque(text, _) = v else { return None };
    let items: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
    Some(
        items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(s) => V::Str(s.clone(), key_json(&s)),
                other => V::Opaque(other.to_string(), false),
            })
            .collect(),
    )
}

pub(super) fn parse_query(doc: Option<&Doc>) -> Result<QuerySpec, Kind> {
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
            "session_type" => {
                let one = |v: &V| match v {
                    V::Str(s, _) if s == "any" => Ok(vec![0, 1, 2, 3]),
                    V::Str(s, _) => MODES.iter().position(|m| m == s).map(|t| vec![t]).ok_or(bad),
                    _ => Err(bad),
                };
                q.types = match v {
                    V::Null => None,
                    V::Obj(..) | V::Opaque(..) => match list(v) {
                        Some(items) if !items.is_empty() => {
                            let mut types = Vec::new();
                            for item in &items {
                                types.extend(one(item)?);
                            }
                            Some(types)
                        }
                        _ => return Err(bad),
                    },
                    v => Some(one(v)?),
                }
            }
            "fields" => {
                q.projection = match v {
                    V::Null => Projection::All,
                    V::Str(s, _) if s == "all" => Projection::All,
                    V::Str(s, _) if s == "metadata" => Projection::Metadata,
                    V::Opaque(..) => match list(v) {
                        Some(items) if items.len() <= 64 => Projection::Fields(
                            items
                                .iter()
                                .map(|item| match item {
                                    V::Str(s, _) => Ok(s.clone()),
                                    _ => Err(bad),
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                        _ => return Err(bad),
                    },
                    _ => return Err(bad),
                }
            }
            _ => return Err(bad),
        }
    }
    Ok(q)
}

/// Lowercase, one character at a time (no context rules): what "case-insensitive" means here.
fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Every session, of every type, in first-insertion order.
    recs: Vec<Rec>,
    /// The number of the last change.
    seq: u64,
    /// The change feed: each kept change and what it costs against the budget.
    feed: std::collections::VecDeque<(FeedChange, usize)>,
    feed_bytes: usize,
    feed_budget: usize,
    /// The engine's store identity (random, so taken from the engine).
    pub store: String,
}

impl Default for Model {
    fn default() -> Self {
        Model::with_feed_budget(sessionstore::DEFAULT_FEED_BYTES)
    }
}

/// What a change costs the feed besides its session's JSON or its id (the engine's `feed::ENTRY_BYTES`).
const FEED_ENTRY_BYTES: usize = 48;

/// The most changes one call gives (the header's SS_MAX_CHANGES).
const MAX_CHANGES: usize = 10000;

/// A change as the feed gives it (ss_changes()).
#[derive(Clone, Debug, PartialEq)]
enum FeedChange {
    Put { seq: u64, ty: usize, quoted_id: String, text: String },
    Delete { seq: u64, ty: usize, id: String },
    Drop { seq: u64, ty: usize },
}

impl FeedChange {
    fn seq(&self) -> u64 {
        match self {
            FeedChange::Put { seq, .. } | FeedChange::Delete { seq, .. } | FeedChange::Drop { seq, .. } => {
                *seq
            }
        }
    }

    fn render(&self, ids_only: bool) -> String {
        match self {
            FeedChange::Put { seq, ty, quoted_id, text } => {
                let session = if ids_only { String::new() } else { format!(",\"session\":{text}") };
                format!(
                    "{{\"seq\":{seq},\"op\":\"upsert\",\"session_type\":\"{}\",\"session_id\":{quoted_id},\"version\":{seq}{session}}}",
                    MODES[*ty]
                )
            }
            FeedChange::Delete { seq, ty, id } => format!(
                "{{\"seq\":{seq},\"op\":\"delete\",\"session_type\":\"{}\",\"session_id\":{}}}",
                MODES[*ty],
                key_json(id)
            ),
            FeedChange::Drop { seq, ty } => {
                format!("{{\"seq\":{seq},\"op\":\"drop\",\"session_type\":\"{}\"}}", MODES[*ty])
            }
        }
    }
}

/// The members of a JSON object, as raw texts in order (duplicates kept), with each value's span in
/// `text`; `None` when `text` is not an object.
fn members(text: &str) -> Option<Vec<(String, std::ops::Range<usize>)>> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de serde_json::value::RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, &serde_json::value::RawValue>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let raw = serde_json::Deserializer::from_str(text).deserialize_map(Members).ok()?;
    Some(
        raw.into_iter()
            .map(|(k, v)| {
                let start = v.get().as_ptr() as usize - text.as_ptr() as usize;
                (k, start..start + v.get().len())
            })
            .collect(),
    )
}

/// `text` (an object's) with the member `key: value` appended, as the header's append does it.
fn with_member(text: &str, key: &str, value: &str) -> String {
    let body = text.trim_end();
    let body = &body[..body.len() - 1];
    let empty = members(text).is_some_and(|m| m.is_empty());
    format!("{body}{}\"{key}\":{value}}}", if empty { "" } else { "," })
}

/// An array's text with `inner` (runs' text) appended to its elements.
fn append_to_array(array: &str, inner: &str) -> String {
    let empty = array[1..array.len() - 1].trim().is_empty();
    format!("{}{}{inner}]", &array[..array.len() - 1], if empty { "" } else { "," })
}

/// The "runs" value (`runs` the text of an object's member, or `None` when absent) with `inner`
/// appended; `Err` when it is neither an array nor null.
fn runs_appended(runs: Option<&str>, inner: &str) -> Result<String, Kind> {
    match runs {
        None | Some("null") => Ok(format!("[{inner}]")),
        Some(array) if array.starts_with('[') => Ok(append_to_array(array, inner)),
        Some(_) => Err(Kind::InvalidSession),
    }
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

fn json_array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

impl Model {
    pub fn with_feed_budget(feed_budget: usize) -> Self {
        Model {
            recs: Vec::new(),
            seq: 0,
            feed: Default::default(),
            feed_bytes: 0,
            feed_budget,
            store: String::new(),
        }
    }

    /// Numbers `change` (the next number) costing `bytes` (besides the entry) and keeps it in the
    /// feed, dropping the oldest beyond the budget.
    fn change(&mut self, change: FeedChange, bytes: usize) -> u64 {
        self.seq += 1;
        debug_assert_eq!(change.seq(), self.seq);
        self.feed.push_back((change, FEED_ENTRY_BYTES + bytes));
        self.feed_bytes += FEED_ENTRY_BYTES + bytes;
        while self.feed_bytes > self.feed_budget {
            let Some((_, cost)) = self.feed.pop_front() else { break };
            self.feed_bytes -= cost;
        }
        self.seq
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.recs.iter().position(|r| r.id == id)
    }

    fn conflicts(&self, id: &str, ty: usize) -> bool {
        self.find(id).is_some_and(|i| self.recs[i].ty != ty)
    }

    /// The ownership rule: a stored user_id that is set and differs from the input's refuses the upsert.
    fn owned_by_another(owner: Option<&str>, p: &Parsed) -> bool {
        owner.is_some_and(|owner| p.user.as_deref() != Some(owner))
    }

    fn owner(&self, id: &str) -> Option<&str> {
        self.find(id).and_then(|i| self.recs[i].user.as_deref())
    }

    /// Stores `p` as a session of type `ty`; returns the stored text.
    fn put(&mut self, p: &Parsed, ty: usize, created_at: Option<i64>, updated_at: i64) -> String {
        let existing = self.find(&p.id);
        let created_at = created_at.or(existing.map(|i| self.recs[i].created_at)).unwrap_or(updated_at);
        let mut fields = p.fields.clone();
        let sent = fields.len();
        let version = self.seq + 1;
        set_field(&mut fields, "session_type", Field::Raw(key_json(MODES[ty])));
        set_field(&mut fields, "created_at", Field::Raw(created_at.to_string()));
        set_field(&mut fields, "updated_at", Field::Raw(updated_at.to_string()));
        set_field(&mut fields, "version", Field::Raw(version.to_string()));
        let rec = Rec {
            id: p.id.clone(),
            ty,
            user: p.user.clone(),
            entity: p.entities[ENTITY_OF_MODE[ty]].clone(),
            name: p.name.clone(),
            created_at,
            updated_at,
            version,
            fields,
            sent,
            ws: p.ws,
        };
        let text = rec.text();
        let change =
            FeedChange::Put { seq: version, ty, quoted_id: rec.quoted_id().to_owned(), text: text.clone() };
        self.change(change, text.len());
        match existing {
            Some(i) => self.recs[i] = rec,
            None => self.recs.push(rec),
        }
        text
    }

    pub fn upsert(&mut self, mode: usize, max: usize, bytes: &[u8], doc: &Doc, now: i64) -> Expected<String> {
        self.upsert_if(mode, max, bytes, doc, now, None)
    }

    /// The version of the session with this id, of any type and user (0 when there is none).
    pub fn version_of(&self, id: &str) -> u64 {
        self.find(id).map_or(0, |i| self.recs[i].version)
    }

    /// The version a call of this handle sees (0 when the session is not visible to it).
    pub fn visible_version(&self, mode: usize, id: &str, user: Option<&str>) -> u64 {
        self.visible_to(mode, id, user).map_or(0, |i| self.recs[i].version)
    }

    /// An upsert that, with an expected version, applies only when the stored session has it (0: none).
    pub fn upsert_if(
        &mut self,
        mode: usize,
        max: usize,
        bytes: &[u8],
        doc: &Doc,
        now: i64,
        expected: Option<u64>,
    ) -> Expected<String> {
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
        if Self::owned_by_another(self.owner(&p.id), &p) {
            return fail(Kind::PermissionDenied);
        }
        if expected.is_some_and(|v| v != self.version_of(&p.id)) {
            return fail(Kind::VersionMismatch);
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
            let p = parse_within(doc, max).map_err(|k| (k, at.clone()))?;
            if p.session_type.is_some_and(|t| t != mode) {
                return Err((Kind::InvalidSession, at));
            }
            parsed.push(p);
        }
        // Elements in order: each sees the owner the earlier ones gave its session.
        let mut owners: Vec<(&str, Option<&str>)> = Vec::new();
        for (i, p) in parsed.iter().enumerate() {
            if self.conflicts(&p.id, mode) {
                return Err((Kind::Conflict, Some(format!("sessions[{i}]: "))));
            }
            let owner = match owners.iter().rev().find(|(id, _)| *id == p.id) {
                Some(&(_, earlier)) => earlier,
                None => self.owner(&p.id),
            };
            if Self::owned_by_another(owner, p) {
                return Err((Kind::PermissionDenied, Some(format!("sessions[{i}]: "))));
            }
            owners.push((&p.id, p.user.as_deref()));
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
            let p = parse_within(doc, max).map_err(|k| (k, at.clone()))?;
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

    /// The state an export of this model, re-imported, must produce: every record, unchanged but for
    /// its version (an import is a change per record, in the export's order). The records fit the
    /// limit (it does not count what the store adds), so the import always succeeds.
    pub fn reimport(&mut self) -> Expected<usize> {
        for i in 0..self.recs.len() {
            let version = self.seq + 1;
            let rec = &mut self.recs[i];
            rec.version = version;
            set_field(&mut rec.fields, "version", Field::Raw(version.to_string()));
            let text = rec.text();
            let change =
                FeedChange::Put { seq: version, ty: rec.ty, quoted_id: rec.quoted_id().to_owned(), text };
            let len = rec.text().len();
            self.change(change, len);
        }
        Ok(self.recs.len())
    }

    fn visible(&self, mode: usize, id: &str) -> Option<usize> {
        self.find(id).filter(|&i| self.recs[i].ty == mode)
    }

    /// The session of this type and, with a (non-empty) user, of that user.
    fn visible_to(&self, mode: usize, id: &str, user: Option<&str>) -> Option<usize> {
        self.visible(mode, id)
            .filter(|&i| nonempty(user).is_none_or(|u| self.recs[i].user.as_deref() == Some(u)))
    }

    pub fn read(&self, mode: usize, id: &str, user: Option<&str>) -> Expected<String> {
        match self.visible_to(mode, id, user) {
            Some(i) => Ok(self.recs[i].text()),
            None => fail(Kind::NotFound),
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
        let types = q.types.clone().unwrap_or_else(|| vec![mode]);
        let (user, entity) = (nonempty(q.user.as_deref()), nonempty(q.entity.as_deref()));
        let mut recs: Vec<&Rec> = self
            .recs
            .iter()
            .filter(|r| {
                types.contains(&r.ty)
                    && user.is_none_or(|u| r.user.as_deref() == Some(u))
                    && entity.is_none_or(|e| r.entity.as_deref() == Some(e))
            })
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
        let render = |r: &Rec| match &q.projection {
            Projection::All => r.text(),
            Projection::Metadata => r.metadata(),
            Projection::Fields(names) => {
                let kept: Vec<String> = r
                    .fields
                    .iter()
                    .filter(|(k, _)| names.contains(k))
                    .map(|(k, f)| format!("{}:{}", key_json(k), f.text()))
                    .collect();
                format!("{{{}}}", kept.join(","))
            }
        };
        Ok(format!("{{\"sessions\":{},\"total\":{total}}}", json_array(page.map(render))))
    }

    /// Sets the name and updated_at; a renamed session above `max` is refused (TooLarge, no change).
    /// With a user, only that user's session is renamed.
    pub fn rename(
        &mut self,
        mode: usize,
        max: usize,
        id: &str,
        name: &str,
        user: Option<&str>,
        now: i64,
    ) -> Expected<String> {
        let Some(i) = self.visible_to(mode, id, user) else { return fail(Kind::NotFound) };
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
        set_field(&mut rec.fields, "version", Field::Raw((self.seq + 1).to_string()));
        rec.name = Some(name.to_owned());
        rec.updated_at = now;
        rec.version = self.seq + 1;
        // A rename rewrites the session compactly.
        rec.sent = rec.fields.len();
        rec.ws = false;
        let text = rec.text();
        if session_size(text.len(), &rec.fields) > max {
            return fail(Kind::TooLarge);
        }
        let change = FeedChange::Put {
            seq: rec.version,
            ty: rec.ty,
            quoted_id: rec.quoted_id().to_owned(),
            text: text.clone(),
        };
        self.recs[i] = rec;
        self.change(change, text.len());
        Ok(text)
    }

    /// A rename that, with an expected version, applies only at that version (the version check
    /// comes first: a session this call does not see is at version 0).
    #[allow(clippy::too_many_arguments)]
    pub fn rename_if(
        &mut self,
        mode: usize,
        max: usize,
        id: &str,
        name: &str,
        user: Option<&str>,
        now: i64,
        expected: u64,
    ) -> Expected<String> {
        if expected != self.visible_version(mode, id, user) {
            return fail(Kind::VersionMismatch);
        }
        self.rename(mode, max, id, name, user, now)
    }

    pub fn delete_if(&mut self, mode: usize, id: &str, user: Option<&str>, expected: u64) -> Expected<usize> {
        if expected != self.visible_version(mode, id, user) {
            return fail(Kind::VersionMismatch);
        }
        Ok(self.delete(mode, id, user))
    }

    /// Appends runs (the text between an array's brackets) to the session's `memory.runs`, or `runs`
    /// for workflow_v2, as the header says; returns the stored text.
    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &mut self,
        mode: usize,
        max: usize,
        id: &str,
        user: Option<&str>,
        runs: &Result<String, Kind>,
        now: i64,
    ) -> Expected<String> {
        let inner = runs.clone().map_err(|k| (k, None))?;
        let Some(i) = self.visible_to(mode, id, user) else { return fail(Kind::NotFound) };
        let mut rec = self.recs[i].clone();
        let key = if rec.ty == 3 { "runs" } else { "memory" };
        let old = rec.fields.iter().find(|(k, _)| k == key).map(|(_, f)| f.text().to_owned());
        let value = if rec.ty == 3 {
            runs_appended(old.as_deref(), &inner)
        } else {
            match old.as_deref() {
                None | Some("null") => Ok(format!("{{\"runs\":[{inner}]}}")),
                Some(memory) => match members(memory) {
                    None => Err(Kind::InvalidSession),
                    Some(members) => match members.iter().rev().find(|(k, _)| k == "runs") {
                        None => runs_appended(None, &inner).map(|runs| with_member(memory, "runs", &runs)),
                        Some((_, span)) => runs_appended(Some(&memory[span.clone()]), &inner)
                            .map(|runs| format!("{}{runs}{}", &memory[..span.start], &memory[span.end..])),
                    },
                },
            }
        };
        let value = value.map_err(|k| (k, None))?;
        // serde_json's parser stops at 128 levels: deeper runs are checked by the engine comparison only.
        if inner.matches('[').count() < 100
            && old.as_deref().is_none_or(|o| o.matches(['[', '{']).count() < 100)
        {
            check_appended(old.as_deref(), &value, &inner, rec.ty == 3);
        }
        let version = self.seq + 1;
        set_field(&mut rec.fields, key, Field::Raw(value));
        set_field(&mut rec.fields, "updated_at", Field::Raw(now.to_string()));
        set_field(&mut rec.fields, "version", Field::Raw(version.to_string()));
        rec.updated_at = now;
        rec.version = version;
        let text = rec.text();
        if session_size(text.len(), &rec.fields) > max {
            return fail(Kind::TooLarge);
        }
        let change = FeedChange::Put {
            seq: version,
            ty: rec.ty,
            quoted_id: rec.quoted_id().to_owned(),
            text: text.clone(),
        };
        self.recs[i] = rec;
        self.change(change, text.len());
        Ok(text)
    }

    /// The feed after change `after`, as ss_changes() renders it.
    pub fn changes(&self, after: u64, limit: usize, ids_only: bool) -> Expected<String> {
        if limit == 0 {
            return fail(Kind::InvalidArgument);
        }
        let oldest = self.feed.front().map_or(self.seq + 1, |(c, _)| c.seq());
        if after > self.seq || after + 1 < oldest {
            return fail(Kind::FeedTruncated);
        }
        let given: Vec<&FeedChange> = self
            .feed
            .iter()
            .map(|(c, _)| c)
            .filter(|c| c.seq() > after)
            .take(limit.min(MAX_CHANGES))
            .collect();
        let next = given.last().map_or(after, |c| c.seq());
        Ok(format!(
            "{{\"changes\":{},\"next\":{next},\"latest\":{},\"store\":\"{}\"}}",
            json_array(given.iter().map(|c| c.render(ids_only))),
            self.seq,
            self.store
        ))
    }

    /// The number of the last change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn delete(&mut self, mode: usize, id: &str, user: Option<&str>) -> usize {
        match self.visible_to(mode, id, user) {
            Some(i) => {
                let rec = self.recs.remove(i);
                let len = rec.id.len();
                self.change(FeedChange::Delete { seq: self.seq + 1, ty: rec.ty, id: rec.id }, len);
                1
            }
            None => 0,
        }
    }

    pub fn delete_many(&mut self, mode: usize, ids: &IdsDoc, user: Option<&str>) -> Expected<usize> {
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
        Ok(names.iter().map(|id| self.delete(mode, id, user)).sum())
    }

    pub fn drop_all(&mut self, mode: usize) -> usize {
        let before = self.recs.len();
        self.recs.retain(|r| r.ty != mode);
        let removed = before - self.recs.len();
        if removed > 0 {
            self.change(FeedChange::Drop { seq: self.seq + 1, ty: mode }, 0);
        }
        removed
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
            "{{\"mode\":\"{}\",\"sessions\":{},\"bytes\":{},\"by_type\":{{\"agent\":{a},\"team\":{t},\"workflow\":{w},\"workflow_v2\":{v}}},\"feed\":{{\"store\":\"{}\",\"latest\":{},\"oldest\":{},\"kept\":{},\"bytes\":{},\"budget\":{}}},\"bounds\":{},\"durability\":null}}",
            MODES[mode],
            a + t + w + v,
            self.bytes(),
            self.store,
            self.seq,
            self.feed.front().map_or(self.seq + 1, |(c, _)| c.seq()),
            self.feed.len(),
            self.feed_bytes,
            self.feed_budget,
            self.bounds_json()
        )
    }

    /// The "bounds" of ss_stats().
    fn bounds_json(&self) -> String {
        format!(
            "{{\"sessions\":{},\"bytes\":{},\"max_sessions\":null,\"max_bytes\":null,\"user_max_sessions\":null,\"user_max_bytes\":null,\"idle_expiry_s\":null,\"max_age_s\":null,\"refresh_on_read\":false,\"when_full\":\"evict\",\"expired\":0,\"evicted\":0}}",
            self.recs.len(),
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

/// Checks the model's own splice: the new transcript value holds the old runs then the appended ones,
/// and (for `memory`) every other member as it was, as a JSON parser reads them.
fn check_appended(old: Option<&str>, new: &str, inner: &str, top_level_runs: bool) {
    use serde_json::Value;
    let parse = |text: &str| -> Value { serde_json::from_str(text).expect("the model splices valid JSON") };
    let appended: Vec<Value> = serde_json::from_str(&format!("[{inner}]")).expect("runs are an array");
    let (old, new) = (old.map_or(Value::Null, parse), parse(new));
    let (old_runs, new_runs, rest_kept) = if top_level_runs {
        (old.clone(), new.clone(), true)
    } else {
        let strip = |v: &Value| {
            v.as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| *k != "runs")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        (old.get("runs").cloned().unwrap_or(Value::Null), new["runs"].clone(), strip(&old) == strip(&new))
    };
    let mut want = old_runs.as_array().cloned().unwrap_or_default();
    want.extend(appended);
    assert!(rest_kept && new_runs == Value::Array(want), "the model's append is wrong: {old} -> {new}");
}
