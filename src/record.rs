//! A session as stored: its JSON text ready to hand out, plus the fields the indexes and queries read.
//! Records are immutable and shared (`Arc`): an update stores a new record, and the old one lives as
//! long as a reader (a listing walking a snapshot, an output still being copied) holds it.

use crate::session::{Rendered, Span};
use crate::session_type::SessionType;
use arcstr::ArcStr;
use std::borrow::Cow;
use triomphe::HeaderSlice;

/// Where a session lives in the tables for its whole life, updates and moves included: its place in
/// the slab and its entry in every index. Freed slots are reused.
pub type Slot = u32;

/// The order of every index: `created_at`, then first-insertion number.
pub type OrderKey = (i64, u64);

/// A session as stored, shared: cloning it takes a reference count. One allocation holds the count,
/// the [`Fields`] and the JSON text, so that reaching a record's id (every lookup compares one, every
/// listing copies them) is one dependent cache miss, not two: with the JSON in an allocation of its
/// own, each record was a miss on the fields and then another on the text.
///
/// The id and name are not held apart: they are read from the JSON, where they appear as JSON strings.
#[derive(Clone)]
pub struct Record(triomphe::Arc<HeaderSlice<Fields, str>>);

/// What the tables and queries read of a record besides its JSON.
///
/// `repr(C)` keeps the fields a long listing reads of every record (the id's span, the version its
/// snapshot compares, the insertion number it sorts by, the user and entity a filter compares)
/// together at the front, after the reference count, in the allocation's first cache line, with the
/// JSON's id right after the last field.
#[derive(Debug)]
#[repr(C)]
pub struct Fields {
    id: TextSpan,
    /// The session's version: the number of the change that stored this record (see
    /// [`crate::versions`]), whose digits sit at `version_at` in the JSON.
    pub version: u64,
    /// The position in first-insertion order (kept when the session is updated) above a low byte
    /// holding [`Record::future_dated`] in its top bit and the type's index below it.
    seq_and_type: u64,
    pub slot: Slot,
    version_at: u32,
    pub user: Option<ArcStr>,
    pub entity: Option<ArcStr>,
    /// [`TextSpan::NONE`] when the session has no name.
    name: TextSpan,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::ops::Deref for Record {
    type Target = Fields;

    fn deref(&self) -> &Fields {
        &self.0.header
    }
}

impl AsRef<Record> for Record {
    fn as_ref(&self) -> &Record {
        self
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record").field("fields", &self.0.header).field("json", &self.json()).finish()
    }
}

/// A JSON string in a record's JSON, quotes included. Sessions are capped below 4 GiB
/// ([`crate::config::MAX_SESSION_BYTES_LIMIT`]).
#[derive(Debug, Clone, Copy)]
struct TextSpan {
    start: u32,
    end: u32,
}

impl TextSpan {
    /// No span: a JSON string is at least its two quotes long.
    const NONE: TextSpan = TextSpan { start: 0, end: 0 };

    fn new(span: Span) -> Self {
        let narrow = |n: usize| u32::try_from(n).expect("sessions are capped below 4 GiB");
        TextSpan { start: narrow(span.start), end: narrow(span.end) }
    }

    /// The JSON string, quotes included.
    fn quoted(self, json: &str) -> &str {
        &json[self.start as usize..self.end as usize]
    }

    /// The string's value: its characters, or decoded when it has escapes.
    fn value(self, json: &str) -> Cow<'_, str> {
        let quoted = self.quoted(json);
        let inner = &quoted[1..quoted.len() - 1];
        if inner.contains('\\') {
            Cow::Owned(serde_json::from_str(quoted).expect("stored strings are valid JSON"))
        } else {
            Cow::Borrowed(inner)
        }
    }
}

/// What a record is made of besides the parts the tables assign (its slot, its insertion number and
/// the tables' shared copies of its user and entity ids).
pub struct RecordParts {
    pub ty: SessionType,
    pub created_at: i64,
    pub updated_at: i64,
    /// Whether `updated_at` was later than the store's clock when the record was stored.
    pub future_dated: bool,
    pub version: u64,
    pub stored: Rendered,
}

impl Record {
    pub fn new(
        parts: RecordParts,
        seq: u64,
        slot: Slot,
        user: Option<ArcStr>,
        entity: Option<ArcStr>,
    ) -> Record {
        let RecordParts { ty, created_at, updated_at, future_dated, version, stored } = parts;
        debug_assert_eq!(stored.version(), version);
        assert!(seq < 1 << 56, "fewer than 2^56 insertions");
        let fields = Fields {
            id: TextSpan::new(stored.id_span),
            name: stored.name_span.map_or(TextSpan::NONE, TextSpan::new),
            user,
            entity,
            created_at,
            updated_at,
            seq_and_type: seq << 8 | u64::from(future_dated) << FUTURE_DATED_BIT | ty.index() as u64,
            version,
            slot,
            version_at: TextSpan::new(stored.version_span).start,
        };
        let record = Record(triomphe::Arc::from_header_and_str(fields, &stored.json));
        crate::session::recycle(stored.json);
        record
    }

    /// Whether `a` and `b` are the same record (not merely equal ones).
    pub fn ptr_eq(a: &Record, b: &Record) -> bool {
        triomphe::Arc::ptr_eq(&a.0, &b.0)
    }

    /// The position in first-insertion order.
    pub fn seq(&self) -> u64 {
        self.seq_and_type >> 8
    }

    pub fn ty(&self) -> SessionType {
        SessionType::ALL[(self.seq_and_type & TYPE_MASK) as usize]
    }

    /// Whether `updated_at` was later than the store's clock when this record was stored (an import
    /// or a reopen can bring such sessions): their idle time counts from the write instead, which
    /// only the store's retention state knows. Every other record decides whether it has expired
    /// from its own fields, without a second cache miss.
    pub fn future_dated(&self) -> bool {
        self.seq_and_type >> FUTURE_DATED_BIT & 1 == 1
    }

    /// Where the version's digits sit in the JSON.
    pub fn version_span(&self) -> Span {
        let start = self.version_at as usize;
        start..start + decimal_digits(self.version)
    }

    pub fn json(&self) -> &str {
        &self.0.slice
    }

    pub fn id(&self) -> Cow<'_, str> {
        self.id.value(self.json())
    }

    fn name_span_of(&self) -> Option<TextSpan> {
        (self.name.end > self.name.start).then_some(self.name)
    }

    pub fn name(&self) -> Option<Cow<'_, str>> {
        self.name_span_of().map(|name| name.value(self.json()))
    }

    /// The name as a JSON string, as stored.
    pub fn quoted_name(&self) -> Option<&str> {
        self.name_span_of().map(|name| name.quoted(self.json()))
    }

    /// The id as a JSON string, ready to copy into a listing.
    pub fn quoted_id(&self) -> &str {
        self.id.quoted(self.json())
    }

    /// Where the id's JSON string (quotes included) sits in the JSON.
    pub fn id_span(&self) -> Span {
        self.id.start as usize..self.id.end as usize
    }

    /// Where the name's JSON string sits in the JSON, when the session has one.
    pub fn name_span(&self) -> Option<Span> {
        self.name_span_of().map(|n| n.start as usize..n.end as usize)
    }

    /// The length of [`Record::quoted_id`], from the record alone.
    pub fn quoted_id_len(&self) -> usize {
        (self.id.end - self.id.start) as usize
    }

    pub fn order_key(&self) -> OrderKey {
        (self.created_at, self.seq())
    }

    /// Starts loading the first and the last of the fields a long listing reads (see the struct's
    /// layout), which may sit in two cache lines: see [`crate::tables::Tables::touch_slots`].
    pub fn prefetch_listed_fields(&self) {
        prefetch(&self.id);
        // `name` follows `entity` in the same 16 bytes, so in the same line.
        prefetch(&self.name);
    }

    /// Starts loading the first and the last byte of the quoted id (it may cross a cache line).
    fn prefetch_id(&self) {
        let json = self.json().as_bytes();
        prefetch(&json[self.id.start as usize]);
        prefetch(&json[self.id.end as usize - 1]);
    }
}

/// Where [`Record::future_dated`] sits in `seq_and_type`'s low byte, above the type's index.
const FUTURE_DATED_BIT: u32 = 7;
const TYPE_MASK: u64 = (1 << FUTURE_DATED_BIT) - 1;
const _: () = assert!(SessionType::ALL.len() as u64 <= TYPE_MASK + 1);

/// How many decimal digits `n` takes.
fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Starts loading the cache line that holds `value`, without waiting for it: a prefetch, which
/// the CPU retires at once. A plain load of the value would do as much for the cache, but the CPU
/// cannot retire the instructions after a load that misses until it completes, so that a loop of
/// such loads, once its instruction window is full, waits for them a few at a time.
#[inline(always)]
fn prefetch<T: Copy>(value: &T) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    safe_arch::prefetch_t0(value);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    std::hint::black_box(*value);
}

/// Starts bringing `records`' ids into the cache (their headers should be there already: the id's
/// place is in the header). Long listings of a large store are bound by those misses: loading them
/// all before copying any made listings 2x faster at 100k.
pub fn touch<R: AsRef<Record>>(records: &[R]) {
    records.iter().for_each(|r| r.as_ref().prefetch_id());
}

/// Brings `record`'s header into the cache, ahead of work that will need it: the load is issued and
/// the caller's work goes on while it misses. For records an update will free or compare, whose misses
/// it would otherwise wait for one after another. A load, not a [`prefetch`]: in the update, where
/// little else misses, the prefetches measured slower (the update 1.63-1.75x the floor with loads,
/// 1.76-1.86x with prefetches at 100k sessions, alternated three times).
pub fn touch_one(record: &Record) {
    std::hint::black_box(record.version);
}

/// Brings the line of `record`'s name into the cache (see [`touch_one`]): a replace compares it with
/// the new name for the name index.
pub fn touch_name(record: &Record) {
    if let Some(name) = record.quoted_name() {
        std::hint::black_box(name.as_bytes()[0]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_record_costs_its_json_and_80_bytes() {
        // The reference count and the fields precede the JSON in one allocation (glibc's malloc adds
        // 8 bytes and rounds to 16); the tables hold the record as a pointer and the JSON's length.
        assert_eq!(std::mem::size_of::<super::Fields>(), 72);
        assert_eq!(std::mem::size_of::<super::Record>(), 16);
        assert_eq!(std::mem::size_of::<Option<super::Record>>(), 16);
    }
}
