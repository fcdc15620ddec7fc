//! The model.

use super::super::ffi::Kind;
use super::docs::{key_json, render_object, Batch, Doc, IdsDoc, ImportDoc, OuterFault, Top, V};
use super::ops::Bounds;
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
    /// The last read the store remembers (0: none) and the time that places it in the recency lists
    /// (its updated_at, or when it was given a second chance), as the engine keeps them: whole
    /// seconds in a u32.
    accessed: i64,
    moved: i64,
    /// What its idle time counts from: when it was written (or the store reopened), or its
    /// updated_at if earlier, in the same u32 seconds.
    written: i64,
    /// Read since it was last placed (the engine's CLOCK reference bit).
    referenced: bool,
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

/// How far back the engine looks for a write's place in a list (its `PLACING_WALK`).
const PLACING_WALK: usize = 32;

/// A time as the engine keeps it in its recency lists: whole seconds in a u32.
fn secs(t: i64) -> i64 {
    t.clamp(0, i64::from(u32::MAX))
}

/// A number of the stats, or null.
fn opt<T: std::fmt::Display>(n: Option<T>) -> String {
    n.map_or_else(|| "null".to_owned(), |n| n.to_string())
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
    pub bounds: Bounds,
    /// The time of the step being run, by the store's clock.
    pub now: i64,
    /// The recency list (least recent first) and each user's, of ids (the engine's `retention`).
    order: Vec<String>,
    /// Reclaims every expired session, as the Redis backend does (see [`Model::reclaim`]).
    pub reclaims_by_deadline: bool,
    user_order: std::collections::BTreeMap<String, Vec<String>>,
    expired: u64,
    evicted: u64,
}

/// Why a session leaves the store, as the feed says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Why {
    Delete,
    Expire,
    Evict,
}

/// How many sessions the engine reclaims per step, each step removed in the order its sessions were
/// last written (its `RECLAIM_STEP`).
const RECLAIM_BATCH: usize = 8;

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
    Delete { seq: u64, ty: usize, id: String, why: Why },
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
            FeedChange::Delete { seq, ty, id, why } => format!(
                "{{\"seq\":{seq},\"op\":\"{}\",\"session_type\":\"{}\",\"session_id\":{}}}",
                match why {
                    Why::Delete => "delete",
                    Why::Expire => "expire",
                    Why::Evict => "evict",
                },
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
            bounds: Bounds::default(),
            now: 0,
            order: Vec::new(),
            reclaims_by_deadline: false,
            user_order: Default::default(),
            expired: 0,
            evicted: 0,
        }
    }

    /// Whether `r` is alive now (see the header's ss_store_open(), "Bounds").
    fn alive(&self, r: &Rec) -> bool {
        self.bounds.age.is_none_or(|age| r.created_at.saturating_add(age) >= self.now)
            && self.bounds.idle.is_none_or(|idle| {
                r.updated_at.min(r.written).max(r.accessed).saturating_add(idle) >= self.now
            })
    }

    /// `rec`, just written at `now`: unread, placed by its updated_at or now if earlier (see
    /// [`Model::place`]), and idle from that time.
    fn fresh(rec: &mut Rec, now: i64) {
        rec.accessed = 0;
        rec.referenced = false;
        rec.moved = secs(rec.updated_at.min(now));
        rec.written = rec.moved;
    }

    fn key_of(&self, id: &str) -> i64 {
        self.recs[self.find(id).expect("a listed session is held")].moved
    }

    /// Inserts `id` into `list` after the last entry whose time is at most its own, looking back past
    /// at most PLACING_WALK entries (then at the back), as the engine's `Links::insert_by_key`.
    fn insert_by_key(&self, list: &mut Vec<String>, id: &str) {
        let key = self.key_of(id);
        let mut at = list.len();
        let mut steps = 0;
        while at > 0 && self.key_of(&list[at - 1]) > key {
            if steps == PLACING_WALK {
                at = list.len();
                break;
            }
            at -= 1;
            steps += 1;
        }
        list.insert(at, id.to_owned());
    }

    /// Takes `id` out of the recency lists.
    fn unlist(&mut self, id: &str) {
        self.order.retain(|o| o != id);
        for list in self.user_order.values_mut() {
            list.retain(|o| o != id);
        }
        self.user_order.retain(|_, list| !list.is_empty());
    }

    fn quotas(&self) -> bool {
        self.bounds.user_sessions.is_some() || self.bounds.user_bytes.is_some()
    }

    /// Places `id`, just written, in the recency lists the store keeps.
    fn place(&mut self, id: &str) {
        self.unlist(id);
        if self.bounds.ordered() {
            let mut order = std::mem::take(&mut self.order);
            self.insert_by_key(&mut order, id);
            self.order = order;
        }
        let user = self.recs[self.find(id).expect("held")].user.clone();
        if let (true, Some(user)) = (self.quotas(), user) {
            let mut list = self.user_order.remove(&user).unwrap_or_default();
            self.insert_by_key(&mut list, id);
            self.user_order.insert(user, list);
        }
    }

    /// Places the sessions `ids` of one import exactly where their times say (the engine's
    /// `Retention::placed`).
    fn place_imported(&mut self, ids: &[String]) {
        for id in ids {
            self.unlist(id);
        }
        let mut sorted: Vec<&String> = ids.iter().collect();
        sorted.sort_by_key(|id| self.key_of(id));
        let merge = |model: &Model, list: &mut Vec<String>, ids: &[&String]| {
            let mut at = list.len();
            for id in ids.iter().rev() {
                while at > 0 && model.key_of(&list[at - 1]) > model.key_of(id) {
                    at -= 1;
                }
                list.insert(at, (*id).clone());
            }
        };
        if self.bounds.ordered() {
            let mut order = std::mem::take(&mut self.order);
            merge(self, &mut order, &sorted);
            self.order = order;
        }
        if self.quotas() {
            let users: std::collections::BTreeSet<String> =
                sorted.iter().filter_map(|id| self.recs[self.find(id).expect("held")].user.clone()).collect();
            for user in users {
                let mine: Vec<&String> = sorted
                    .iter()
                    .copied()
                    .filter(|id| self.recs[self.find(id).expect("held")].user.as_deref() == Some(&*user))
                    .collect();
                let mut list = self.user_order.remove(&user).unwrap_or_default();
                merge(self, &mut list, &mine);
                self.user_order.insert(user, list);
            }
        }
    }

    /// Removes the session at `i` by a change of its own.
    fn remove_at(&mut self, i: usize, why: Why) {
        let rec = self.recs.remove(i);
        self.unlist(&rec.id);
        match why {
            Why::Delete => {}
            Why::Expire => self.expired += 1,
            Why::Evict => self.evicted += 1,
        }
        let len = rec.id.len();
        self.change(FeedChange::Delete { seq: self.seq + 1, ty: rec.ty, id: rec.id, why }, len);
    }

    /// Before a write that names `ids`: those that have expired are removed first (the engine's
    /// `expire_named`).
    fn expire_named<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        if !self.bounds.expires() {
            return;
        }
        let mut done: Vec<&str> = Vec::new();
        for id in ids {
            if done.contains(&id) {
                continue;
            }
            if let Some(i) = self.find(id).filter(|&i| !self.alive(&self.recs[i])) {
                done.push(id);
                self.remove_at(i, Why::Expire);
            }
        }
    }

    /// The ids to remove (with why) so that a write adding `added` (user, bytes) and replacing
    /// `replaced` (whose ids are in `keep`) keeps the bounds; `Full` when it cannot (the engine's
    /// `Retention::make_room`: users over their quota in id order, each from the front of its own
    /// list, then the store from the front of its list; with "refuse", only expired sessions).
    fn make_room(
        &self,
        added: &[(Option<String>, usize)],
        replaced: &[(Option<String>, usize)],
        keep: &[String],
    ) -> Result<Vec<(String, Why)>, Kind> {
        let b = &self.bounds;
        if !b.bounded() || added.is_empty() {
            return Ok(Vec::new());
        }
        let rec_of = |id: &String| &self.recs[self.find(id).expect("listed")];
        let list: Vec<&Rec> = self.order.iter().map(rec_of).collect();
        let mut taken: Vec<(String, Why)> = Vec::new();
        let mut store = (
            (self.recs.len() + added.len()).saturating_sub(replaced.len()),
            (self.bytes() + added.iter().map(|a| a.1).sum::<usize>())
                .saturating_sub(replaced.iter().map(|r| r.1).sum::<usize>()),
        );
        // Walks `candidates` taking sessions while `want` says more are needed.
        let take = |candidates: &mut dyn Iterator<Item = &&Rec>,
                    taken: &mut Vec<(String, Why)>,
                    want: &mut dyn FnMut(usize) -> bool| {
            for r in candidates {
                if keep.contains(&r.id) || taken.iter().any(|(id, _)| *id == r.id) {
                    continue;
                }
                let alive = self.alive(r);
                if alive && b.refuse {
                    return;
                }
                if !want(r.text().len()) {
                    return;
                }
                taken.push((r.id.clone(), if alive { Why::Evict } else { Why::Expire }));
            }
        };
        if b.user_sessions.is_some() || b.user_bytes.is_some() {
            let mut users: std::collections::BTreeMap<&str, (isize, isize)> = Default::default();
            for (sign, list) in [(1isize, added), (-1, replaced)] {
                for (user, bytes) in list {
                    if let Some(u) = user {
                        let e = users.entry(u.as_str()).or_default();
                        *e = (e.0 + sign, e.1 + sign * *bytes as isize);
                    }
                }
            }
            for (user, (sessions, bytes)) in users {
                let mine: Vec<&Rec> =
                    self.user_order.get(user).map_or_else(Vec::new, |l| l.iter().map(rec_of).collect());
                let held_bytes: usize = mine.iter().map(|r| r.text().len()).sum();
                let mut held = (
                    (mine.len() as isize + sessions).max(0) as usize,
                    (held_bytes as isize + bytes).max(0) as usize,
                );
                let over = |h: (usize, usize)| {
                    b.user_sessions.is_some_and(|m| h.0 > m) || b.user_bytes.is_some_and(|m| h.1 > m)
                };
                if !over(held) {
                    continue;
                }
                take(&mut mine.iter(), &mut taken, &mut |len| {
                    if !over(held) {
                        return false;
                    }
                    held = (held.0 - 1, held.1.saturating_sub(len));
                    store = (store.0 - 1, store.1.saturating_sub(len));
                    true
                });
                if over(held) {
                    return Err(Kind::Full);
                }
            }
        }
        let over = |h: (usize, usize)| {
            b.max_sessions.is_some_and(|m| h.0 > m) || b.max_bytes.is_some_and(|m| h.1 > m)
        };
        if over(store) {
            take(&mut list.iter(), &mut taken, &mut |len| {
                if !over(store) {
                    return false;
                }
                store = (store.0 - 1, store.1.saturating_sub(len));
                true
            });
            if over(store) {
                return Err(Kind::Full);
            }
        }
        Ok(taken)
    }

    /// Removes what [`Model::make_room`] chose, after the write, each by a change of its own.
    fn evict(&mut self, victims: Vec<(String, Why)>) {
        for (id, why) in victims {
            let i = self.find(&id).expect("a victim is held");
            self.remove_at(i, why);
        }
    }

    /// Frees every expired session the engine's reclaimer finds, batch by batch: from the front of
    /// the recency list while they are expired (one read since its last move sends a live session to
    /// the back instead), then, oldest created first in each type, those past their maximum age;
    /// each batch removed in the order its sessions were last written.
    pub fn reclaim(&mut self) -> usize {
        if !self.bounds.expires() {
            return 0;
        }
        if self.reclaims_by_deadline {
            // The Redis backend keeps its sessions on a schedule ordered by deadline and frees every
            // session whose deadline has passed (a batch is freed in the order of versions; the
            // sessions of a case fit in one of its batches of 64), while a local store walks its
            // recency list and stops at the first live session there: a session given a second
            // chance is placed by the time of that chance but expires by the time of its last read,
            // so it can wait behind a live one.
            let mut batch: Vec<(u64, String)> =
                self.recs.iter().filter(|r| !self.alive(r)).map(|r| (r.version, r.id.clone())).collect();
            batch.sort();
            let freed = batch.len();
            if freed > 0 {
                self.evict(batch.into_iter().map(|(_, id)| (id, Why::Expire)).collect());
            }
            return freed;
        }
        let mut total = 0;
        loop {
            let mut batch: Vec<String> = Vec::new();
            if self.bounds.ordered() {
                let mut reread = Vec::new();
                for (looked, id) in self.order.iter().enumerate() {
                    if batch.len() >= RECLAIM_BATCH || looked >= 4 * RECLAIM_BATCH {
                        break;
                    }
                    let r = &self.recs[self.find(id).expect("listed")];
                    if !self.alive(r) {
                        batch.push(r.id.clone());
                    } else if r.referenced {
                        reread.push(r.id.clone());
                    } else {
                        break;
                    }
                }
                // A second chance: to the back, as if written now, still read before.
                for id in reread {
                    let (i, now) = (self.find(&id).expect("held"), secs(self.now));
                    self.recs[i].moved = now;
                    self.recs[i].referenced = false;
                    self.place(&id);
                }
            }
            if let Some(age) = self.bounds.age {
                for ty in 0..4 {
                    // The type's index order: created_at, then first insertion (the recs' order).
                    let mut of_type: Vec<&Rec> = self.recs.iter().filter(|r| r.ty == ty).collect();
                    of_type.sort_by_key(|r| r.created_at);
                    for r in of_type {
                        if batch.len() >= RECLAIM_BATCH || r.created_at.saturating_add(age) >= self.now {
                            break;
                        }
                        if !batch.contains(&r.id) {
                            batch.push(r.id.clone());
                        }
                    }
                }
            }
            if batch.is_empty() {
                return total;
            }
            batch.sort_by_key(|id| self.recs[self.find(id).expect("held")].version);
            total += batch.len();
            self.evict(batch.into_iter().map(|id| (id, Why::Expire)).collect());
        }
    }

    /// After a reopen: the recency list in the order of the versions, no read remembered, the counts
    /// of expiries and evictions from zero.
    pub fn reopened(&mut self) {
        let now = self.now;
        for r in &mut self.recs {
            Self::fresh(r, now);
        }
        let mut ids: Vec<(i64, u64, String)> =
            self.recs.iter().map(|r| (r.updated_at, r.version, r.id.clone())).collect();
        ids.sort();
        (self.order, self.user_order) = (Vec::new(), Default::default());
        for (_, _, id) in ids {
            self.place(&id);
        }
        (self.expired, self.evicted) = (0, 0);
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
        let stored_created = existing.map(|i| self.recs[i].created_at);
        let mut rec = self.build(p, ty, created_at, stored_created, updated_at, self.seq + 1);
        Self::fresh(&mut rec, self.now);
        let text = rec.text();
        let change = FeedChange::Put {
            seq: rec.version,
            ty,
            quoted_id: rec.quoted_id().to_owned(),
            text: text.clone(),
        };
        self.change(change, text.len());
        match existing {
            Some(i) => self.recs[i] = rec,
            None => self.recs.push(rec),
        }
        self.place(&p.id);
        text
    }

    /// The record `p` becomes as a session of type `ty` stored by change `version`.
    fn build(
        &self,
        p: &Parsed,
        ty: usize,
        created_at: Option<i64>,
        stored_created: Option<i64>,
        updated_at: i64,
        version: u64,
    ) -> Rec {
        let created_at = created_at.or(stored_created).unwrap_or(updated_at);
        let mut fields = p.fields.clone();
        let sent = fields.len();
        set_field(&mut fields, "session_type", Field::Raw(key_json(MODES[ty])));
        set_field(&mut fields, "created_at", Field::Raw(created_at.to_string()));
        set_field(&mut fields, "updated_at", Field::Raw(updated_at.to_string()));
        set_field(&mut fields, "version", Field::Raw(version.to_string()));
        Rec {
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
            accessed: 0,
            moved: 0,
            written: 0,
            referenced: false,
        }
    }

    /// What a write of the records `new` (in order; an id may come twice) adds to the store and
    /// replaces in it, for [`Model::make_room`].
    #[allow(clippy::type_complexity)]
    fn demand(
        &self,
        new: &[Rec],
    ) -> (Vec<(Option<String>, usize)>, Vec<(Option<String>, usize)>, Vec<String>) {
        let (mut added, mut replaced, mut keep) = (Vec::new(), Vec::new(), Vec::new());
        let mut earlier: Vec<(&str, Option<String>, usize)> = Vec::new();
        for rec in new {
            match earlier.iter().rev().find(|(id, _, _)| *id == rec.id) {
                Some((_, user, len)) => replaced.push((user.clone(), *len)),
                None => {
                    if let Some(i) = self.find(&rec.id) {
                        replaced.push((self.recs[i].user.clone(), self.recs[i].text().len()));
                        keep.push(rec.id.clone());
                    }
                }
            }
            let len = rec.text().len();
            added.push((rec.user.clone(), len));
            earlier.push((&rec.id, rec.user.clone(), len));
        }
        (added, replaced, keep)
    }

    /// The evictions a write of `new` needs, or `Full`.
    fn room_for(&self, new: &[Rec]) -> Expected<Vec<(String, Why)>> {
        if !self.bounds.bounded() {
            return Ok(Vec::new());
        }
        let (added, replaced, keep) = self.demand(new);
        self.make_room(&added, &replaced, &keep).map_err(|k| (k, None))
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
        self.expire_named([p.id.as_str()]);
        if self.conflicts(&p.id, mode) {
            return fail(Kind::Conflict);
        }
        if Self::owned_by_another(self.owner(&p.id), &p) {
            return fail(Kind::PermissionDenied);
        }
        if expected.is_some_and(|v| v != self.version_of(&p.id)) {
            return fail(Kind::VersionMismatch);
        }
        let stored_created = self.find(&p.id).map(|i| self.recs[i].created_at);
        let new = self.build(&p, mode, p.created_at, stored_created, now, self.seq + 1);
        let victims = self.room_for(&[new])?;
        let text = self.put(&p, mode, p.created_at, now);
        self.evict(victims);
        Ok(text)
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
        self.expire_named(parsed.iter().map(|p| p.id.as_str()));
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
        let mut news: Vec<Rec> = Vec::new();
        for (i, p) in parsed.iter().enumerate() {
            let stored_created = match news.iter().rev().find(|r| r.id == p.id) {
                Some(earlier) => Some(earlier.created_at),
                None => self.find(&p.id).map(|i| self.recs[i].created_at),
            };
            news.push(self.build(p, mode, p.created_at, stored_created, now, self.seq + 1 + i as u64));
        }
        let victims = self.room_for(&news)?;
        let stored: Vec<String> = parsed.iter().map(|p| self.put(p, mode, p.created_at, now)).collect();
        self.evict(victims);
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
        self.expire_named(parsed.iter().map(|p| p.id.as_str()));
        for p in &parsed {
            if self.conflicts(&p.id, p.session_type.unwrap_or(mode)) {
                return Err((Kind::Conflict, Some(format!("import[{:?}]: ", p.id))));
            }
        }
        // A missing updated_at is now; a missing created_at is kept from the stored session, else
        // taken from the record's updated_at (see docs/bad-input.md: the header says "as ss_upsert()").
        let news: Vec<Rec> = parsed
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let stored_created = self.find(&p.id).map(|i| self.recs[i].created_at);
                let ty = p.session_type.unwrap_or(mode);
                self.build(
                    p,
                    ty,
                    p.created_at,
                    stored_created,
                    p.updated_at.unwrap_or(now),
                    self.seq + 1 + i as u64,
                )
            })
            .collect();
        let victims = self.room_for(&news)?;
        for p in &parsed {
            self.put(p, p.session_type.unwrap_or(mode), p.created_at, p.updated_at.unwrap_or(now));
        }
        if self.bounds.expires() || self.bounds.bounded() {
            let ids: Vec<String> = parsed.iter().map(|p| p.id.clone()).collect();
            self.place_imported(&ids);
        }
        self.evict(victims);
        Ok(parsed.len())
    }

    /// The state an export of this model, re-imported, must produce: every record alive, unchanged
    /// but for its version (an import is a change per record, in the export's order). The records fit
    /// the limit (it does not count what the store adds), so the import succeeds unless a bound of the
    /// store cannot hold the new versions' digits.
    pub fn reimport(&mut self) -> Expected<usize> {
        let live: Vec<usize> = (0..self.recs.len()).filter(|&i| self.alive(&self.recs[i])).collect();
        let renumbered = |rec: &Rec, version: u64| {
            let mut rec = rec.clone();
            rec.version = version;
            set_field(&mut rec.fields, "version", Field::Raw(version.to_string()));
            rec
        };
        let news: Vec<Rec> = live
            .iter()
            .enumerate()
            .map(|(n, &i)| renumbered(&self.recs[i], self.seq + 1 + n as u64))
            .collect();
        let victims = self.room_for(&news)?;
        for i in live.iter().copied() {
            let mut rec = renumbered(&self.recs[i], self.seq + 1);
            Self::fresh(&mut rec, self.now);
            let text = rec.text();
            let change =
                FeedChange::Put { seq: rec.version, ty: rec.ty, quoted_id: rec.quoted_id().to_owned(), text };
            let len = rec.text().len();
            self.recs[i] = rec;
            self.change(change, len);
        }
        if self.bounds.expires() || self.bounds.bounded() {
            let ids: Vec<String> = live.iter().map(|&i| self.recs[i].id.clone()).collect();
            self.place_imported(&ids);
        }
        self.evict(victims);
        Ok(live.len())
    }

    fn visible(&self, mode: usize, id: &str) -> Option<usize> {
        self.find(id).filter(|&i| self.recs[i].ty == mode && self.alive(&self.recs[i]))
    }

    /// The session of this type and, with a (non-empty) user, of that user.
    fn visible_to(&self, mode: usize, id: &str, user: Option<&str>) -> Option<usize> {
        self.visible(mode, id)
            .filter(|&i| nonempty(user).is_none_or(|u| self.recs[i].user.as_deref() == Some(u)))
    }

    pub fn read(&mut self, mode: usize, id: &str, user: Option<&str>) -> Expected<String> {
        match self.visible_to(mode, id, user) {
            Some(i) => {
                if self.bounds.refresh {
                    self.recs[i].accessed = secs(self.now);
                    self.recs[i].referenced = true;
                }
                Ok(self.recs[i].text())
            }
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
                    && self.alive(r)
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
                    && self.alive(r)
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
        self.store_rewritten(i, rec)
    }

    /// Stores `rec`, a session rewritten in place (a rename, an append), with what it evicts.
    fn store_rewritten(&mut self, i: usize, mut rec: Rec) -> Expected<String> {
        let victims = self.room_for(std::slice::from_ref(&rec))?;
        Self::fresh(&mut rec, self.now);
        let text = rec.text();
        let change = FeedChange::Put {
            seq: rec.version,
            ty: rec.ty,
            quoted_id: rec.quoted_id().to_owned(),
            text: text.clone(),
        };
        let id = rec.id.clone();
        self.recs[i] = rec;
        self.place(&id);
        self.change(change, text.len());
        self.evict(victims);
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
        self.store_rewritten(i, rec)
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
                self.remove_at(i, Why::Delete);
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

    /// Removes every session of the type (expired ones too); counts those alive.
    pub fn drop_all(&mut self, mode: usize) -> usize {
        let alive = self.recs.iter().filter(|r| r.ty == mode && self.alive(r)).count();
        let before = self.recs.len();
        let gone: Vec<String> = self.recs.iter().filter(|r| r.ty == mode).map(|r| r.id.clone()).collect();
        for id in &gone {
            self.unlist(id);
        }
        self.recs.retain(|r| r.ty != mode);
        if before > self.recs.len() {
            self.change(FeedChange::Drop { seq: self.seq + 1, ty: mode }, 0);
        }
        alive
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

    /// Sessions reclaimed after they expired, and evicted, since the store was opened.
    pub fn removed_by_bounds(&self) -> (u64, u64) {
        (self.expired, self.evicted)
    }

    /// How many sessions held are alive at `now`.
    pub fn alive_at(&self, now: i64) -> usize {
        let later = Model { now, recs: Vec::new(), ..self.clone() };
        self.recs.iter().filter(|r| later.alive(r)).count()
    }

    /// Every session held, expired ones not yet reclaimed included: id, type and stored text.
    pub fn held(&self) -> Vec<(String, usize, String)> {
        self.recs.iter().map(|r| (r.id.clone(), r.ty, r.text())).collect()
    }

    /// The "bounds" of ss_stats().
    fn bounds_json(&self) -> String {
        format!(
            "{{\"sessions\":{},\"bytes\":{},\"max_sessions\":{},\"max_bytes\":{},\"user_max_sessions\":{},\"user_max_bytes\":{},\"idle_expiry_s\":{},\"max_age_s\":{},\"refresh_on_read\":{},\"when_full\":\"{}\",\"expired\":{},\"evicted\":{}}}",
            self.recs.len(),
            self.bytes(),
            opt(self.bounds.max_sessions),
            opt(self.bounds.max_bytes),
            opt(self.bounds.user_sessions),
            opt(self.bounds.user_bytes),
            opt(self.bounds.idle),
            opt(self.bounds.age),
            self.bounds.refresh,
            if self.bounds.refuse { "refuse" } else { "evict" },
            self.expired,
            self.evicted
        )
    }

    pub fn export(&self) -> String {
        let items: Vec<String> = self
            .recs
            .iter()
            .filter(|r| self.alive(r))
            .map(|r| format!("{}:{}", r.quoted_id(), r.text()))
            .collect();
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
