//! The data structure behind a store: every session once, in a slab, plus ordered indexes so that
//! listings by type, user or entity cost what they return rather than what the store holds.
//!
//! Each index orders sessions by `(created_at, seq)`, where `seq` counts first insertions. That one order
//! answers "recent" directly (walk it backwards) and creation-time ranges; insertion-order listings
//! re-sort their result by `seq`, which costs the size of the result.

use crate::session::{Rendered, Span};
use crate::session_type::SessionType;
use hashbrown::HashTable;
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
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

/// A JSON string in a record's JSON, quotes included. The store caps sessions well below 4 GiB.
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

    /// The id as a JSON string, ready to copy into a listing.
    pub fn quoted_id(&self) -> &str {
        self.id.quoted(&self.json)
    }
}

/// What a caller wants stored under an id; the tables decide the rest.
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub ty: SessionType,
    pub user: Option<&'a str>,
    pub entity: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
    pub stored: Rendered,
}

pub type OrderKey = (i64, u64);
type Order = BTreeMap<OrderKey, u32>;

static EMPTY: Order = BTreeMap::new();

#[derive(Default)]
struct TypeIndex {
    all: Order,
    by_user: HashMap<Arc<str>, Order>,
    by_entity: HashMap<Arc<str>, Order>,
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

#[derive(Default)]
pub struct Tables {
    slots: Vec<Option<Record>>,
    free: Vec<u32>,
    /// Slots by the hash of their record's id: the ids themselves live in the records' JSON.
    by_id: HashTable<u32>,
    hasher: RandomState,
    next_seq: u64,
    types: [TypeIndex; 4],
    bytes: usize,
}

impl Tables {
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.find(id).map(|slot| self.slot(slot))
    }

    /// The slot holding the session with this id.
    pub fn find(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.by_id.find(hash, |&slot| self.slot(slot).id() == id).copied()
    }

    /// Room for `additional` more sessions without growing the id table or the slab.
    pub fn reserve(&mut self, additional: usize) {
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.reserve(additional, |&slot| hasher.hash_one(&*live(slots, slot).id()));
        self.slots.reserve(additional.saturating_sub(self.free.len()));
    }

    pub fn len(&self, ty: SessionType) -> usize {
        self.types[ty.index()].all.len()
    }

    /// Bytes of JSON held, over all types.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The session in `slot`, which must be live.
    pub fn at(&self, slot: u32) -> &Record {
        live(&self.slots, slot)
    }

    /// Stores `new` in `slot`, which [`Tables::find`] gave for its id, or in a new slot; the caller
    /// has checked the type.
    pub fn put(&mut self, slot: Option<u32>, new: NewRecord) -> &Record {
        debug_assert_eq!(slot, self.find(new.id));
        match slot {
            Some(slot) => self.replace(slot, new),
            None => self.insert(new),
        }
    }

    fn insert(&mut self, new: NewRecord) -> &Record {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = &mut self.types[new.ty.index()];
        let record = Record {
            id: TextSpan::new(new.stored.id_span),
            name: new.stored.name_span.map(TextSpan::new),
            ty: new.ty,
            user: new.user.map(|u| intern(&index.by_user, u)),
            entity: new.entity.map(|e| intern(&index.by_entity, e)),
            created_at: new.created_at,
            updated_at: new.updated_at,
            seq,
            json: new.stored.json.into_boxed_str(),
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 sessions")
            }
        };
        self.bytes += record.json.len();
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.insert_unique(hasher.hash_one(new.id), slot, |&s| hasher.hash_one(&*live(slots, s).id()));
        index_record(index, &record, slot);
        self.slots[slot as usize] = Some(record);
        self.slot(slot)
    }

    fn replace(&mut self, slot: u32, new: NewRecord) -> &Record {
        let record = self.slots[slot as usize].as_mut().expect("id map points at a live slot");
        debug_assert_eq!(record.ty, new.ty);
        let index = &mut self.types[new.ty.index()];
        let reindex = record.created_at != new.created_at
            || record.user.as_deref() != new.user
            || record.entity.as_deref() != new.entity;
        if reindex {
            unindex_record(index, record);
            record.user = new.user.map(|u| intern(&index.by_user, u));
            record.entity = new.entity.map(|e| intern(&index.by_entity, e));
            record.created_at = new.created_at;
        }
        record.id = TextSpan::new(new.stored.id_span);
        record.name = new.stored.name_span.map(TextSpan::new);
        record.updated_at = new.updated_at;
        self.bytes = self.bytes - record.json.len() + new.stored.json.len();
        record.json = new.stored.json.into_boxed_str();
        if reindex {
            index_record(index, record, slot);
        }
        self.slot(slot)
    }

    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let hash = self.hasher.hash_one(id);
        let slots = &self.slots;
        let (slot, _) = self.by_id.find_entry(hash, |&s| live(slots, s).id() == id).ok()?.remove();
        let record = self.slots[slot as usize].take().expect("id map points at a live slot");
        unindex_record(&mut self.types[record.ty.index()], &record);
        self.free.push(slot);
        self.bytes -= record.json.len();
        Some(record)
    }

    /// Removes every session of `ty`; returns how many there were.
    pub fn remove_type(&mut self, ty: SessionType) -> usize {
        let index = std::mem::take(&mut self.types[ty.index()]);
        for &slot in index.all.values() {
            self.unlink_id(slot);
            let record = self.slots[slot as usize].take().expect("index points at a live slot");
            self.bytes -= record.json.len();
            self.free.push(slot);
        }
        index.all.len()
    }

    /// Sessions of `ty` matching `filter` with `created_at` in `created`, in `(created_at, seq)` order.
    pub fn matching<'t>(
        &'t self,
        ty: SessionType,
        filter: Filter<'t>,
        created: RangeInclusive<i64>,
    ) -> impl DoubleEndedIterator<Item = &'t Record> + 't {
        let (order, check) = self.narrowest(ty, filter);
        let (&lo, &hi) = (created.start(), created.end());
        let range = if lo <= hi { order.range((lo, 0)..=(hi, u64::MAX)) } else { EMPTY.range(..) };
        range.map(move |(_, &slot)| self.slot(slot)).filter(move |r| check.admits(r))
    }

    /// Sessions of `ty` matching `filter`, in first-insertion order.
    pub fn in_insertion_order<'t>(
        &'t self,
        ty: SessionType,
        filter: Filter<'t>,
    ) -> impl Iterator<Item = &'t Record> + 't {
        let (order, check) = self.narrowest(ty, filter);
        // The order's keys hold `seq`: sorting them, rather than the records, touches no record until
        // the one pass that reads them. Sessions are mostly created in insertion order, so the keys
        // are often sorted already.
        let mut keys: Vec<(u64, u32)> = order.iter().map(|(&(_, seq), &slot)| (seq, slot)).collect();
        if !keys.is_sorted_by_key(|&(seq, _)| seq) {
            keys.sort_unstable_by_key(|&(seq, _)| seq);
        }
        keys.into_iter().map(move |(_, slot)| self.slot(slot)).filter(move |r| check.admits(r))
    }

    /// The index to walk for `filter`, and what is left to check on each record. With both filters
    /// set, that is the smaller of the two indexes and the other field.
    fn narrowest<'t>(&'t self, ty: SessionType, filter: Filter<'t>) -> (&'t Order, Check<'t>) {
        let index = &self.types[ty.index()];
        let by_user = filter.user_id.map(|u| index.by_user.get(u).unwrap_or(&EMPTY));
        let by_entity = filter.entity_id.map(|e| index.by_entity.get(e).unwrap_or(&EMPTY));
        match (by_user, by_entity) {
            (Some(u), Some(e)) if u.len() <= e.len() => (u, Check { user: None, entity: filter.entity_id }),
            (Some(_), Some(e)) => (e, Check { user: filter.user_id, entity: None }),
            (Some(u), None) => (u, Check::NONE),
            (None, Some(e)) => (e, Check::NONE),
            (None, None) => (&index.all, Check::NONE),
        }
    }

    /// Every session of every type, in first-insertion order.
    pub fn all_in_insertion_order(&self) -> Vec<&Record> {
        let mut records: Vec<&Record> = self.slots.iter().flatten().collect();
        records.sort_unstable_by_key(|r| r.seq);
        records
    }

    /// Removes `slot`, which must be live, from the id table.
    fn unlink_id(&mut self, slot: u32) {
        let hash = self.hasher.hash_one(&*self.slot(slot).id());
        match self.by_id.find_entry(hash, |&s| s == slot) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => unreachable!("every live slot is in the id table"),
        }
    }

    fn slot(&self, slot: u32) -> &Record {
        live(&self.slots, slot)
    }

    /// Checks that every index agrees with the primary map; for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let live = self.slots.iter().flatten().count();
        if live != self.by_id.len() {
            return Err(format!("{live} live slots but {} ids", self.by_id.len()));
        }
        let indexed: usize = self.types.iter().map(|t| t.all.len()).sum();
        if indexed != live {
            return Err(format!("{indexed} indexed sessions but {live} live"));
        }
        let bytes: usize = self.slots.iter().flatten().map(|r| r.json.len()).sum();
        if bytes != self.bytes {
            return Err(format!("bytes counter {} but {bytes} held", self.bytes));
        }
        for &slot in &self.by_id {
            let r = self.slot(slot);
            let id = r.id();
            if self.find(&id) != Some(slot) {
                return Err(format!("id {id:?} is not found at its slot"));
            }
            let quoted: String = serde_json::from_str(r.quoted_id()).map_err(|e| e.to_string())?;
            let name_ok = r.name.is_none_or(|n| serde_json::from_str::<String>(n.quoted(&r.json)).is_ok());
            if quoted != id || !name_ok {
                return Err(format!("id or name span of {id:?} is off"));
            }
            let index = &self.types[r.ty.index()];
            let key = (r.created_at, r.seq);
            if index.all.get(&key) != Some(&slot) {
                return Err(format!("{id:?} missing from its type index"));
            }
            if let Some(u) = &r.user {
                if index.by_user.get(u).and_then(|o| o.get(&key)) != Some(&slot) {
                    return Err(format!("{id:?} missing from user index {u:?}"));
                }
            }
            if let Some(e) = &r.entity {
                if index.by_entity.get(e).and_then(|o| o.get(&key)) != Some(&slot) {
                    return Err(format!("{id:?} missing from entity index {e:?}"));
                }
            }
        }
        for t in &self.types {
            let by_user: usize = t.by_user.values().map(|o| o.len()).sum();
            let by_entity: usize = t.by_entity.values().map(|o| o.len()).sum();
            let with_user = t.all.values().filter(|&&s| self.slot(s).user.is_some()).count();
            let with_entity = t.all.values().filter(|&&s| self.slot(s).entity.is_some()).count();
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

/// The key already used for `s` in `map`, so that a user's or entity's id is held once.
fn live(slots: &[Option<Record>], slot: u32) -> &Record {
    slots[slot as usize].as_ref().expect("index points at a live slot")
}

fn intern(map: &HashMap<Arc<str>, Order>, s: &str) -> Arc<str> {
    map.get_key_value(s).map_or_else(|| Arc::from(s), |(k, _)| k.clone())
}

fn index_record(index: &mut TypeIndex, record: &Record, slot: u32) {
    let key = (record.created_at, record.seq);
    index.all.insert(key, slot);
    if let Some(u) = &record.user {
        index.by_user.entry(u.clone()).or_default().insert(key, slot);
    }
    if let Some(e) = &record.entity {
        index.by_entity.entry(e.clone()).or_default().insert(key, slot);
    }
}

fn unindex_record(index: &mut TypeIndex, record: &Record) {
    let key = (record.created_at, record.seq);
    index.all.remove(&key);
    for (map, field) in [(&mut index.by_user, &record.user), (&mut index.by_entity, &record.entity)] {
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
