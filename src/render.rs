//! The JSON the store writes itself: listings, query pages, exports and stats. Stored sessions and ids
//! are copied as stored, never re-serialised.

use crate::error::ErrorKind;
use crate::feed;
use crate::json::{self, RawObject};
use crate::persistence::DurabilityStats;
use crate::query::Projection;
use crate::reading::Sink;
use crate::record::{touch, Record};
use crate::retention::Removal;
use crate::session_type::SessionType;
use crate::store::{BoundsStats, Stats};
use std::borrow::Cow;
use std::fmt::Write;

/// Ids brought into the cache at once by a listing: enough to keep every cache-miss slot busy,
/// few enough to stay in L1 (256 measured best at 100k sessions; 64 and 1024 lose 10-40%).
const TOUCH_CHUNK: usize = 256;

/// A JSON array of the records' sessions.
pub fn sessions<R: AsRef<Record>>(records: &[R]) -> String {
    let mut array =
        Array::with_capacity(records.iter().map(|r| r.as_ref().json().len() + 1).sum::<usize>() + 2);
    for chunk in records.chunks(TOUCH_CHUNK) {
        touch(chunk);
        chunk.iter().for_each(|r| array.push(r.as_ref().json()));
    }
    array.finish()
}

/// Text written by a long read: what it writes while it holds the lock goes to `staging`, which is
/// moved to `out` when it lets go (see [`Sink`]), so that the page faults of a growing `out` are not
/// taken under the lock.
#[derive(Default)]
struct Staged {
    out: String,
    staging: String,
    /// Whether an element was written, for the separators.
    started: bool,
}

/// How much a hold of the lock writes before it ends early, and what the staging buffer keeps between
/// holds.
const STAGING: usize = 256 << 10;

impl Staged {
    fn starting_with(text: &str) -> Self {
        Staged { out: text.to_owned(), ..Staged::default() }
    }

    /// Starts an element: a comma before every one but the first.
    fn element(&mut self) -> &mut String {
        if std::mem::replace(&mut self.started, true) {
            self.staging.push(',');
        }
        &mut self.staging
    }

    fn finish(mut self, end: &str) -> String {
        self.settle();
        self.out.push_str(end);
        self.out
    }
}

impl Sink for Staged {
    fn settle(&mut self) {
        self.out.push_str(&self.staging);
        self.staging.clear();
        self.staging.shrink_to(STAGING);
    }

    fn full(&self) -> bool {
        self.staging.len() >= STAGING
    }
}

/// Builders of the store's outputs, one record at a time, for long reads.
macro_rules! staged_sink {
    ($sink:ty) => {
        impl Sink for $sink {
            fn settle(&mut self) {
                self.staged.settle();
            }

            fn full(&self) -> bool {
                self.staged.full()
            }
        }
    };
}

/// A JSON array of ids.
pub struct Ids {
    staged: Staged,
}

impl Default for Ids {
    fn default() -> Self {
        Ids { staged: Staged::starting_with("[") }
    }
}

impl Ids {
    pub fn push(&mut self, record: &Record) {
        self.staged.element().push_str(record.quoted_id());
    }

    pub fn finish(self) -> String {
        self.staged.finish("]")
    }
}

staged_sink!(Ids);

/// A JSON array of sessions.
pub struct Sessions {
    staged: Staged,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { staged: Staged::starting_with("[") }
    }
}

impl Sessions {
    pub fn push(&mut self, record: &Record) {
        self.staged.element().push_str(record.json());
    }

    pub fn finish(self) -> String {
        self.staged.finish("]")
    }
}

staged_sink!(Sessions);

/// A query's page of sessions, as `projection` says, and its total number of matches:
/// `{"sessions":[...],"total":N}`.
pub struct Page<'p> {
    staged: Staged,
    projection: &'p Projection,
}

impl<'p> Page<'p> {
    pub fn new(projection: &'p Projection) -> Self {
        Page { staged: Staged::starting_with("{\"sessions\":["), projection }
    }

    pub fn push(&mut self, record: &Record) {
        let out = self.staged.element();
        match self.projection {
            Projection::All => out.push_str(record.json()),
            Projection::Metadata => metadata(out, record),
            Projection::Fields(names) => fields(out, record, names),
        }
    }

    pub fn finish(self, total: usize) -> String {
        self.staged.finish(&format!("],\"total\":{total}}}"))
    }
}

staged_sink!(Page<'_>);

/// What the store knows of a session without reading its JSON: id, type, user, entity, timestamps
/// and name (`session_data.session_name`, only when it is a string).
fn metadata(out: &mut String, record: &Record) {
    let optional = |out: &mut String, value: Option<&str>| match value {
        Some(value) => json::write_str(out, value),
        None => out.push_str("null"),
    };
    out.push_str("{\"session_id\":");
    out.push_str(record.quoted_id());
    out.push_str(",\"session_type\":");
    out.push_str(record.ty().quoted());
    out.push_str(",\"user_id\":");
    optional(out, record.user.as_deref());
    out.push_str(",\"");
    out.push_str(record.ty().entity_field());
    out.push_str("\":");
    optional(out, record.entity.as_deref());
    let mut digits = itoa::Buffer::new();
    out.push_str(",\"created_at\":");
    out.push_str(digits.format(record.created_at));
    out.push_str(",\"updated_at\":");
    out.push_str(digits.format(record.updated_at));
    if let Some(name) = record.quoted_name() {
        out.push_str(",\"session_data\":{\"session_name\":");
        out.push_str(name);
        out.push('}');
    }
    out.push('}');
}

/// The top-level fields of the stored session named in `names`, in the session's order.
fn fields(out: &mut String, record: &Record, names: &[String]) {
    let object = RawObject::parse_allowing_duplicates(record.json(), ErrorKind::InvalidSession)
        .expect("stored sessions are JSON objects");
    out.push('{');
    let mut first = true;
    for (key, value) in object.fields.iter().filter(|(key, _)| names.iter().any(|n| n == key)) {
        if !first {
            out.push(',');
        }
        first = false;
        json::write_str(out, key);
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
}

/// Every record as `{session_id: session, ...}`, the shape of Agno's `storage_dict`.
pub struct Export {
    staged: Staged,
}

impl Export {
    /// `bytes`: about what the export will hold, to size it at once.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut staged = Staged::starting_with("{");
        staged.out.reserve(bytes);
        Export { staged }
    }

    pub fn push(&mut self, record: &Record) {
        let out = self.staged.element();
        out.push_str(record.quoted_id());
        out.push(':');
        out.push_str(record.json());
    }

    pub fn finish(self) -> String {
        self.staged.finish("}")
    }
}

staged_sink!(Export);

/// One change of a feed as [`changes`] renders it: the entries of this process's feed, or those a
/// Redis store read from its server.
pub enum ChangeView<'a> {
    /// The session stored by change `number` (its version).
    Put {
        number: u64,
        ty: SessionType,
        quoted_id: Cow<'a, str>,
        json: Cow<'a, str>,
    },
    Remove {
        number: u64,
        ty: SessionType,
        id: Cow<'a, str>,
        why: Removal,
    },
    Drop {
        number: u64,
        ty: SessionType,
    },
}

impl<'a> ChangeView<'a> {
    pub fn of(change: &'a feed::Change) -> Self {
        match change {
            feed::Change::Put(record) => ChangeView::Put {
                number: record.version,
                ty: record.ty(),
                quoted_id: Cow::Borrowed(record.quoted_id()),
                json: Cow::Borrowed(record.json()),
            },
            feed::Change::Remove { number, ty, id, why } => {
                ChangeView::Remove { number: *number, ty: *ty, id: Cow::Borrowed(id), why: *why }
            }
            feed::Change::RemoveType { number, ty } => ChangeView::Drop { number: *number, ty: *ty },
        }
    }

    fn number(&self) -> u64 {
        match self {
            ChangeView::Put { number, .. }
            | ChangeView::Remove { number, .. }
            | ChangeView::Drop { number, .. } => *number,
        }
    }
}

/// The changes of the feed after change `after`, as `{"changes":[...],"next":N,"latest":L,"store":S}`:
/// `next` is the number to ask after next time (the last change given, or `after` when none was).
pub fn changes(changes: &[ChangeView], after: u64, latest: u64, store: &str, ids_only: bool) -> String {
    let mut out = String::with_capacity(
        changes
            .iter()
            .map(|c| {
                96 + match c {
                    ChangeView::Put { quoted_id, .. } if ids_only => quoted_id.len(),
                    ChangeView::Put { json, .. } => json.len(),
                    _ => 64,
                }
            })
            .sum::<usize>()
            + 64,
    );
    out.push_str("{\"changes\":[");
    for (i, change) in changes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"seq\":{},", change.number());
        match change {
            ChangeView::Put { number, ty, quoted_id, json } => {
                let _ = write!(
                    out,
                    "\"op\":\"upsert\",\"session_type\":{},\"session_id\":{quoted_id},\"version\":{number}",
                    ty.quoted(),
                );
                if !ids_only {
                    out.push_str(",\"session\":");
                    out.push_str(json);
                }
            }
            ChangeView::Remove { ty, id, why, .. } => {
                let _ =
                    write!(out, "\"op\":\"{}\",\"session_type\":{},\"session_id\":", why.op(), ty.quoted());
                json::write_str(&mut out, id);
            }
            ChangeView::Drop { ty, .. } => {
                let _ = write!(out, "\"op\":\"drop\",\"session_type\":{}", ty.quoted());
            }
        }
        out.push('}');
    }
    let next = changes.last().map_or(after, ChangeView::number);
    let _ = write!(out, "],\"next\":{next},\"latest\":{latest},\"store\":\"{store}\"}}");
    out
}

pub fn stats(stats: &Stats) -> String {
    let [agent, team, workflow, workflow_v2] = stats.by_type;
    let f = &stats.feed;
    let mut out = format!(
        "{{\"mode\":\"{}\",\"sessions\":{},\"bytes\":{},\"by_type\":{{\"agent\":{agent},\"team\":{team},\"workflow\":{workflow},\"workflow_v2\":{workflow_v2}}},\"feed\":{{\"store\":\"{}\",\"latest\":{},\"oldest\":{},\"kept\":{},\"bytes\":{},\"budget\":{}}},\"bounds\":",
        stats.mode,
        stats.sessions(),
        stats.bytes,
        f.store,
        f.latest,
        f.oldest,
        f.kept,
        f.bytes,
        f.budget
    );
    bounds(&mut out, &stats.bounds);
    out.push_str(",\"durability\":");
    match &stats.durability {
        None => out.push_str("null"),
        Some(d) => durability(&mut out, d),
    }
    out.push('}');
    out
}

fn bounds(out: &mut String, b: &BoundsStats) {
    let l = &b.limits;
    let opt = |n: Option<usize>| n.map_or_else(|| "null".to_owned(), |n| n.to_string());
    let secs = |n: Option<i64>| n.map_or_else(|| "null".to_owned(), |n| n.to_string());
    let _ = write!(
        out,
        "{{\"sessions\":{},\"bytes\":{},\"max_sessions\":{},\"max_bytes\":{},\"user_max_sessions\":{},\"user_max_bytes\":{},\"idle_expiry_s\":{},\"max_age_s\":{},\"refresh_on_read\":{},\"when_full\":\"{}\",\"expired\":{},\"evicted\":{}}}",
        b.sessions,
        b.bytes,
        opt(l.max_sessions),
        opt(l.max_bytes),
        opt(l.user_max_sessions),
        opt(l.user_max_bytes),
        secs(l.idle_expiry_s),
        secs(l.max_age_s),
        l.refresh_on_read,
        l.when_full.name(),
        b.expired,
        b.evicted
    );
}

fn durability(out: &mut String, d: &DurabilityStats) {
    let string = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let r = &d.recovery;
    let _ = write!(
        out,
        "{{\"path\":{},\"sync\":\"{}\",\"journal_bytes\":{},\"snapshot_bytes\":{},\"compactions\":{},\"compaction_failures\":{},\"last_compaction_ms\":{},\"last_compaction_error\":{},\"poisoned\":{},\"recovery\":{{\"snapshot_records\":{},\"journal_records\":{},\"torn_bytes_dropped\":{},\"files_removed\":{}}}}}",
        string(&d.path.to_string_lossy()),
        d.sync.name(),
        d.journal_bytes,
        d.snapshot_bytes,
        d.compactions,
        d.compaction_failures,
        d.last_compaction_ms,
        d.last_compaction_error.as_deref().map_or_else(|| "null".to_owned(), string),
        d.poisoned,
        r.snapshot_records,
        r.journal_records,
        r.torn_tail_bytes_dropped,
        r.files_removed,
    );
}

/// A JSON array written one already-serialised element at a time.
pub struct Array {
    out: String,
}

impl Array {
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('[');
        Array { out }
    }

    pub fn push(&mut self, item: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push_str(item);
    }

    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}
