//! The data structure behind a store: every session once, as an immutable shared record, found by id
//! through a hash table, plus ordered indexes so that listings by type, user or entity cost what they
//! return rather than what the store holds.
//!
//! Each index orders sessions by `(created_at, seq)`, where `seq` counts first insertions. That one order
//! answers "recent" directly (walk it backwards) and creation-time ranges; insertion-order listings
//! re-sort their result by `seq`, which costs the size of the result.
//!
//! The indexes are persistent B-trees (imbl's `OrdMap`) holding `Arc<Record>`s. A long read (a listing,
//! a query, an export, a durability snapshot) takes a [`Selection`] or an [`Everything`] under the
//! store's lock, which clones the roots of the indexes it needs (a reference count each), and walks
//! them after the lock is released. Writers never wait for it: a write to an index node that a
//! selection still shares copies that node (16 entries) and the path above it, and leaves the
//! selection's version as it was, so the selection sees exactly the state it was taken in. A record
//! is never changed in place: an update stores a new record, and the old one lives as long as some
//! selection holds it.

use crate::session::{Rendered, Span};
use crate::session_type::SessionType;
use hashbrown::hash_map::EntryRef;
use hashbrown::HashTable;
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// A session as stored: its JSON text ready to hand out, plus the fields the indexes and queries use.
/// The id and name are not held apart: they are read from the JSON, where they appear as JSON strings.
#[derive(Debug)]
pub struct Record {
    json: Box<str>,
    id: TextSpan,
    name: Option<TextSpan>,
    pub user: Option<Arc<str>>,
    pub entity: Option<Arc<str>>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Position in first-insertion order; kept when the session is updated.
    pub seq: u64,
    pub ty: SessionType,
}

/// A JSON string in a record's JSON, quotes included. Sessions are capped below 4 GiB
/// ([`crate::config::MAX_SESSION_BYTES_LIMIT`]).
#[derive(Debug, Clone, Copy)]
struct TextSpan {
    start: u32,
    end: u32,
}

impl TextSpan {
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

impl Record {
    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn id(&self) -> Cow<'_, str> {
        self.id.value(&self.json)
    }

    pub fn name(&self) -> Option<Cow<'_, str>> {
        self.name.map(|name| name.value(&self.json))
    }

    /// The name as a JSON string, as stored.
    pub fn quoted_name(&self) -> Option<&str> {
        self.name.map(|name| name.quoted(&self.json))
    }

    /// The id as a JSON string, ready to copy into a listing.
    pub fn quoted_id(&self) -> &str {
        self.id.quoted(&self.json)
    }

    /// Where the id's JSON string (quotes included) sits in the JSON.
    pub fn id_span(&self) -> Span {
        self.id.start as usize..self.id.end as usize
    }

    /// Where the name's JSON string sits in the JSON, when the session has one.
    pub fn name_span(&self) -> Option<Span> {
        self.name.map(|n| n.start as usize..n.end as usize)
    }

    /// The length of [`Record::quoted_id`], from the record alone.
    pub fn quoted_id_len(&self) -> usize {
        (self.id.end - self.id.start) as usize
    }

    /// Loads the first byte of the id, to bring it into the cache: see [`touch_ids`].
    fn id_first_byte(&self) -> u8 {
        self.json.as_bytes()[self.id.start as usize]
    }

    fn new(new: NewRecord, seq: u64, user: Option<Arc<str>>, entity: Option<Arc<str>>) -> Record {
        Record {
            id: TextSpan::new(new.stored.id_span),
            name: new.stored.name_span.map(TextSpan::new),
            ty: new.ty,
            user,
            entity,
            created_at: new.created_at,
            updated_at: new.updated_at,
            seq,
            json: new.stored.json.into_boxed_str(),
        }
    }

    fn order_key(&self) -> OrderKey {
        (self.created_at, self.seq)
    }
}

/// Brings the ids of `records` into the cache. A loop that does nothing but load lets the CPU wait for
/// many cache misses at once; a loop that also copies each id waits for them one at a time. Long
/// listings of a large store are bound by those misses: this made them 2x faster at 100k.
pub fn touch_ids(records: &[&Record]) {
    std::hint::black_box(records.iter().fold(0u8, |acc, r| acc ^ r.id_first_byte()));
}

/// Hashes session ids for the id table. A store keeps a copy outside its lock, so that an import
/// hashes each id once, before taking the lock, for its duplicate check and for the table.
#[derive(Clone, Default)]
pub struct IdHasher(RandomState);

impl IdHasher {
    pub fn key<'a>(&self, id: &'a str) -> IdKey<'a> {
        IdKey { id, hash: self.hash(id) }
    }

    fn hash(&self, id: &str) -> u64 {
        self.0.hash_one(id)
    }
}

/// A session id and its hash in the id table.
#[derive(Clone, Copy, Debug)]
pub struct IdKey<'a> {
    pub id: &'a str,
    pub hash: u64,
}

/// What a caller wants stored under an id; the tables decide the rest.
pub struct NewRecord<'a> {
    pub id: IdKey<'a>,
    pub ty: SessionType,
    pub user: Option<&'a str>,
    pub entity: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
    pub stored: Rendered,
}

/// The longest listing [`Tables::recent_in_place`] walks under the lock.
const SHORT_WALK: usize = 64;

/// Where [`Tables::find`] found a session: a bucket of the id table, valid until the next insertion
/// or removal.
pub type Slot = usize;

pub type OrderKey = (i64, u64);

/// Sessions of one type (and user, or entity) in `(created_at, seq)` order.
type Order = imbl::OrdMap<OrderKey, Arc<Record>>;

/// Orders by user or entity id. hashbrown's map, for `entry_ref`: indexing a session under its user and
/// sharing the map's copy of the user's id is then one lookup, not two.
type Named = hashbrown::HashMap<Arc<str>, Order, RandomState>;

#[derive(Default)]
struct TypeIndex {
    all: Order,
    by_user: Named,
    by_entity: Named,
}

/// Which sessions of one type a listing wants; `None` means no filter on that field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter<'a> {
    pub user_id: Option<&'a str>,
    pub entity_id: Option<&'a str>,
}

impl<'a> Filter<'a> {
    /// A filter where an empty string, like a missing one, means "any".
    pub fn new(user_id: Option<&'a str>, entity_id: Option<&'a str>) -> Self {
        Filter { user_id: user_id.filter(|s| !s.is_empty()), entity_id: entity_id.filter(|s| !s.is_empty()) }
    }
}

/// The part of a filter an index walk has not already applied.
#[derive(Clone, Copy)]
struct Check<'a> {
    user: Option<&'a str>,
    entity: Option<&'a str>,
}

impl Check<'_> {
    const NONE: Check<'static> = Check { user: None, entity: None };

    fn admits(self, record: &Record) -> bool {
        self.user.is_none_or(|u| record.user.as_deref() == Some(u))
            && self.entity.is_none_or(|e| record.entity.as_deref() == Some(e))
    }
}

/// The sessions of one type that a filter selects, as they were when [`Tables::select`] took it.
/// Reading it holds no lock and sees no later write.
pub struct Selection<'f> {
    order: Order,
    check: Check<'f>,
}

impl<'f> Selection<'f> {
    /// The selected sessions with `created_at` in `created`, in `(created_at, seq)` order.
    pub fn matching(&self, created: RangeInclusive<i64>) -> impl DoubleEndedIterator<Item = &Record> + '_ {
        let (&lo, &hi) = (created.start(), created.end());
        let check = self.check;
        // A range whose start is above its end walks nothing (a range of the map would panic).
        let range = (lo <= hi).then(|| self.order.range((lo, 0)..=(hi, u64::MAX)));
        range.into_iter().flatten().map(|(_, r)| &**r).filter(move |r| check.admits(r))
    }

    /// The selected sessions in first-insertion order.
    pub fn in_insertion_order(&self) -> impl Iterator<Item = &Record> + '_ {
        // Sorting keys, rather than records, touches no record until the one pass that reads them.
        // Sessions are mostly created in insertion order, so the keys are often sorted already.
        let mut keys: Vec<(u64, &Record)> = self.order.iter().map(|(&(_, seq), r)| (seq, &**r)).collect();
        if !keys.is_sorted_by_key(|&(seq, _)| seq) {
            keys.sort_unstable_by_key(|&(seq, _)| seq);
        }
        let check = self.check;
        keys.into_iter().map(|(_, r)| r).filter(move |r| check.admits(r))
    }
}

/// Every session of every type, as they were when [`Tables::everything`] took it: for exports and
/// durability snapshots, read without the lock.
pub struct Everything {
    orders: [Order; 4],
    bytes: usize,
}

impl Everything {
    /// Every session in first-insertion order.
    pub fn in_insertion_order(&self) -> Vec<&Record> {
        let mut records: Vec<&Record> = self.orders.iter().flat_map(|o| o.values().map(|r| &**r)).collect();
        records.sort_unstable_by_key(|r| r.seq);
        records
    }

    /// Bytes of JSON held by these sessions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[derive(Default)]
pub struct Tables {
    /// Every record by the hash of its id: the ids themselves live in the records' JSON.
    by_id: HashTable<Arc<Record>>,
    hasher: IdHasher,
    next_seq: u64,
    types: [TypeIndex; 4],
    bytes: usize,
}

impl Tables {
    /// Empty tables whose id table hashes with `hasher`.
    pub fn with_hasher(hasher: IdHasher) -> Self {
        Tables { hasher, ..Tables::default() }
    }

    pub fn hasher(&self) -> &IdHasher {
        &self.hasher
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.find(self.hasher.key(id)).map(|slot| self.at(slot))
    }

    /// Where the session with this id is; `key` must come from this table's hasher.
    pub fn find(&self, key: IdKey) -> Option<Slot> {
        self.by_id.find_bucket_index(key.hash, |r| r.id() == key.id)
    }

    /// Room for `additional` more sessions without growing the id table.
    pub fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.by_id.reserve(additional, |r| hasher.hash(&r.id()));
    }

    pub fn len(&self, ty: SessionType) -> usize {
        self.types[ty.index()].all.len()
    }

    /// Bytes of JSON held, over all types.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The session at `slot`, which [`Tables::find`] gave since the last change.
    pub fn at(&self, slot: Slot) -> &Record {
        self.by_id.get_bucket(slot).expect("a slot from find")
    }

    /// Stores `new` at `slot`, which [`Tables::find`] gave for its id, or as a new session; the caller
    /// has checked the type. Returns the stored record and the one it replaced, which the caller may
    /// drop after releasing its lock.
    pub fn put(&mut self, slot: Option<Slot>, new: NewRecord) -> (&Arc<Record>, Option<Arc<Record>>) {
        debug_assert_eq!(slot, self.find(new.id));
        debug_assert_eq!(new.id.hash, self.hasher.hash(new.id.id));
        match slot {
            Some(slot) => {
                let replaced = self.replace(slot, new);
                (self.by_id.get_bucket(slot).expect("a slot from find"), Some(replaced))
            }
            None => (self.insert(new), None),
        }
    }

    fn insert(&mut self, new: NewRecord) -> &Arc<Record> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let hash = new.id.hash;
        let record = self.types[new.ty.index()].add(new, seq);
        self.bytes += record.json.len();
        let hasher = &self.hasher;
        self.by_id.insert_unique(hash, record, |r| hasher.hash(&r.id())).into_mut()
    }

    fn replace(&mut self, slot: Slot, new: NewRecord) -> Arc<Record> {
        let old = self.by_id.get_bucket(slot).expect("a slot from find").clone();
        debug_assert_eq!(old.ty, new.ty);
        let index = &mut self.types[new.ty.index()];
        let record = if old.created_at != new.created_at
            || old.user.as_deref() != new.user
            || old.entity.as_deref() != new.entity
        {
            index.remove(&old);
            index.add(new, old.seq)
        } else {
            let record = Arc::new(Record::new(new, old.seq, old.user.clone(), old.entity.clone()));
            index.swap(&record);
            record
        };
        self.bytes = self.bytes - old.json.len() + record.json.len();
        *self.by_id.get_bucket_mut(slot).expect("a slot from find") = record;
        old
    }

    pub fn remove(&mut self, id: &str) -> Option<Arc<Record>> {
        let hash = self.hasher.hash(id);
        let (record, _) = self.by_id.find_entry(hash, |r| r.id() == id).ok()?.remove();
        self.types[record.ty.index()].remove(&record);
        self.bytes -= record.json.len();
        Some(record)
    }

    /// Removes every session of `ty`; returns how many there were.
    pub fn remove_type(&mut self, ty: SessionType) -> usize {
        let index = std::mem::take(&mut self.types[ty.index()]);
        for record in index.all.values() {
            let hash = self.hasher.hash(&record.id());
            match self.by_id.find_entry(hash, |r| Arc::ptr_eq(r, record)) {
                Ok(entry) => drop(entry.remove()),
                Err(_) => unreachable!("every indexed record is in the id table"),
            }
            self.bytes -= record.json.len();
        }
        index.all.len()
    }

    /// The sessions of `ty` that `filter` selects. Cheap: see [`Selection`].
    pub fn select<'f>(&self, ty: SessionType, filter: Filter<'f>) -> Selection<'f> {
        let (order, check) = self.narrowest(ty, filter);
        Selection { order: order.cloned().unwrap_or_default(), check }
    }

    /// The newest `limit` sessions of `ty` matching `filter`, walked in place under the caller's lock,
    /// when that walk is short: at most [`SHORT_WALK`] sessions and no check per session, so that it
    /// visits exactly what it returns. Otherwise `None`: take a [`Selection`]. For the short listings
    /// that dominate (Agno's "recent sessions"), cloning an index root would make every reading thread
    /// write one shared reference count.
    pub fn recent_in_place<'t>(
        &'t self,
        ty: SessionType,
        filter: Filter<'t>,
        limit: usize,
    ) -> Option<Vec<&'t Record>> {
        let (order, check) = self.narrowest(ty, filter);
        if limit > SHORT_WALK || check.user.is_some() || check.entity.is_some() {
            return None;
        }
        Some(order.map_or_else(Vec::new, |o| o.values().rev().take(limit).map(|r| &**r).collect()))
    }

    /// The index to walk for `filter` (`None`: no session can match), and what is left to check on
    /// each record. With both filters set, that is the smaller of the two indexes and the other field.
    fn narrowest<'f>(&self, ty: SessionType, filter: Filter<'f>) -> (Option<&Order>, Check<'f>) {
        let index = &self.types[ty.index()];
        let by_user = filter.user_id.map(|u| index.by_user.get(u));
        let by_entity = filter.entity_id.map(|e| index.by_entity.get(e));
        let len = |o: Option<&Order>| o.map_or(0, Order::len);
        match (by_user, by_entity) {
            (Some(u), Some(e)) if len(u) <= len(e) => (u, Check { user: None, entity: filter.entity_id }),
            (Some(_), Some(e)) => (e, Check { user: filter.user_id, entity: None }),
            (Some(u), None) => (u, Check::NONE),
            (None, Some(e)) => (e, Check::NONE),
            (None, None) => (Some(&index.all), Check::NONE),
        }
    }

    /// Every session of every type; see [`Everything`].
    pub fn everything(&self) -> Everything {
        Everything { orders: self.types.each_ref().map(|t| t.all.clone()), bytes: self.bytes }
    }

    /// Checks that every index agrees with the primary map; for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let indexed: usize = self.types.iter().map(|t| t.all.len()).sum();
        if indexed != self.by_id.len() {
            return Err(format!("{indexed} indexed sessions but {} ids", self.by_id.len()));
        }
        let bytes: usize = self.by_id.iter().map(|r| r.json.len()).sum();
        if bytes != self.bytes {
            return Err(format!("bytes counter {} but {bytes} held", self.bytes));
        }
        let same = |found: Option<&Arc<Record>>, r: &Arc<Record>| found.is_some_and(|f| Arc::ptr_eq(f, r));
        for r in &self.by_id {
            let id = r.id();
            if self.find(self.hasher.key(&id)).map(|slot| self.at(slot) as *const Record) != Some(&**r) {
                return Err(format!("id {id:?} is not found at its slot"));
            }
            let quoted: String = serde_json::from_str(r.quoted_id()).map_err(|e| e.to_string())?;
            let name_ok = r.name.is_none_or(|n| serde_json::from_str::<String>(n.quoted(&r.json)).is_ok());
            if quoted != id || !name_ok {
                return Err(format!("id or name span of {id:?} is off"));
            }
            let index = &self.types[r.ty.index()];
            let key = r.order_key();
            if !same(index.all.get(&key), r) {
                return Err(format!("{id:?} missing from its type index"));
            }
            if let Some(u) = &r.user {
                if !same(index.by_user.get(u).and_then(|o| o.get(&key)), r) {
                    return Err(format!("{id:?} missing from user index {u:?}"));
                }
            }
            if let Some(e) = &r.entity {
                if !same(index.by_entity.get(e).and_then(|o| o.get(&key)), r) {
                    return Err(format!("{id:?} missing from entity index {e:?}"));
                }
            }
        }
        for t in &self.types {
            let by_user: usize = t.by_user.values().map(|o| o.len()).sum();
            let by_entity: usize = t.by_entity.values().map(|o| o.len()).sum();
            let with_user = t.all.values().filter(|r| r.user.is_some()).count();
            let with_entity = t.all.values().filter(|r| r.entity.is_some()).count();
            if by_user != with_user || by_entity != with_entity {
                return Err("user or entity index holds stale entries".into());
            }
            if t.by_user.values().chain(t.by_entity.values()).any(|o| o.is_empty()) {
                return Err("an empty user or entity index was kept".into());
            }
        }
        Ok(())
    }
}

/// The order of `name` in `map`, created when missing, and the map's copy of `name`, so that each user
/// or entity id is held once however many sessions name it.
fn named<'m>(map: &'m mut Named, name: &str) -> (Arc<str>, &'m mut Order) {
    match map.entry_ref(name) {
        EntryRef::Occupied(entry) => (entry.key().clone(), entry.into_mut()),
        EntryRef::Vacant(entry) => {
            let name: Arc<str> = Arc::from(name);
            (name.clone(), entry.insert_with_key(name, Order::new()))
        }
    }
}

impl TypeIndex {
    /// Stores `new` as the record with insertion number `seq` in every index that applies.
    fn add(&mut self, new: NewRecord, seq: u64) -> Arc<Record> {
        let mut user = new.user.map(|u| named(&mut self.by_user, u));
        let mut entity = new.entity.map(|e| named(&mut self.by_entity, e));
        let (user_id, entity_id) = (user.as_ref().map(|u| u.0.clone()), entity.as_ref().map(|e| e.0.clone()));
        let record = Arc::new(Record::new(new, seq, user_id, entity_id));
        let key = record.order_key();
        for (_, order) in user.iter_mut().chain(entity.iter_mut()) {
            order.insert(key, record.clone());
        }
        self.all.insert(key, record.clone());
        record
    }

    /// Puts `record` in place of the record with its key, user and entity in every index.
    fn swap(&mut self, record: &Arc<Record>) {
        let key = record.order_key();
        let mut slots = [Some(&mut self.all), None, None];
        if let Some(u) = &record.user {
            slots[1] = self.by_user.get_mut(u);
        }
        if let Some(e) = &record.entity {
            slots[2] = self.by_entity.get_mut(e);
        }
        for order in slots.into_iter().flatten() {
            *order.get_mut(&key).expect("the record being replaced is indexed") = record.clone();
        }
    }

    fn remove(&mut self, record: &Record) {
        let key = record.order_key();
        self.all.remove(&key);
        for (map, field) in [(&mut self.by_user, &record.user), (&mut self.by_entity, &record.entity)] {
            if let Some(value) = field {
                if let Some(order) = map.get_mut(value) {
                    order.remove(&key);
                    if order.is_empty() {
                        map.remove(value);
                    }
                }
            }
        }
    }
}
