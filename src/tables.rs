//! The data structure behind a store: every session once, in a slab, plus ordered indexes so that
//! listings by type, user or entity cost what they return rather than what the store holds.
//!
//! Each index orders sessions by `(created_at, seq)`, where `seq` counts first insertions. That one order
//! answers "recent" directly (walk it backwards) and creation-time ranges; insertion-order listings
//! re-sort their result by `seq`, which costs the size of the result.

use crate::json;
use crate::session_type::SessionType;
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::sync::Arc;

/// A session as stored: its JSON text ready to hand out, plus the fields the indexes and queries use.
#[derive(Debug)]
pub struct Record {
    pub id: Arc<str>,
    pub ty: SessionType,
    /// The id needs no escaping in JSON. Listings copy ids without looking at each byte: that check,
    /// queued behind the cache miss of every id, was most of the cost of a long listing.
    id_is_plain: bool,
    pub user: Option<Arc<str>>,
    pub entity: Option<Arc<str>>,
    pub name: Option<Box<str>>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Position in first-insertion order; kept when the session is updated.
    pub seq: u64,
    pub json: Box<str>,
}

impl Record {
    /// Appends the id as a JSON string.
    pub fn write_id(&self, out: &mut String) {
        if self.id_is_plain {
            out.reserve(self.id.len() + 2);
            out.push('"');
            out.push_str(&self.id);
            out.push('"');
        } else {
            json::write_str(out, &self.id);
        }
    }
}

/// What a caller wants stored under an id; the tables decide the rest.
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub ty: SessionType,
    pub user: Option<&'a str>,
    pub entity: Option<&'a str>,
    pub name: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
    pub json: String,
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

#[derive(Default)]
pub struct Tables {
    slots: Vec<Option<Record>>,
    free: Vec<u32>,
    by_id: HashMap<Arc<str>, u32>,
    next_seq: u64,
    types: [TypeIndex; 4],
    bytes: usize,
}

impl Tables {
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.by_id.get(id).map(|&slot| self.slot(slot))
    }

    pub fn len(&self, ty: SessionType) -> usize {
        self.types[ty.index()].all.len()
    }

    /// Bytes of JSON held, over all types.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Stores `new`, replacing the session with the same id; the caller has checked the type.
    pub fn put(&mut self, new: NewRecord) -> &Record {
        match self.by_id.get(new.id) {
            Some(&slot) => self.replace(slot, new),
            None => self.insert(new),
        }
    }

    fn insert(&mut self, new: NewRecord) -> &Record {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = &mut self.types[new.ty.index()];
        let record = Record {
            id: Arc::from(new.id),
            ty: new.ty,
            id_is_plain: !json::needs_escape(new.id),
            user: new.user.map(|u| intern(&index.by_user, u)),
            entity: new.entity.map(|e| intern(&index.by_entity, e)),
            name: new.name.map(Box::from),
            created_at: new.created_at,
            updated_at: new.updated_at,
            seq,
            json: new.json.into_boxed_str(),
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 sessions")
            }
        };
        self.bytes += record.json.len();
        self.by_id.insert(record.id.clone(), slot);
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
        if record.name.as_deref() != new.name {
            record.name = new.name.map(Box::from);
        }
        record.updated_at = new.updated_at;
        self.bytes = self.bytes - record.json.len() + new.json.len();
        record.json = new.json.into_boxed_str();
        if reindex {
            index_record(index, record, slot);
        }
        self.slot(slot)
    }

    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let slot = self.by_id.remove(id)?;
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
            let record = self.slots[slot as usize].take().expect("index points at a live slot");
            self.by_id.remove(&record.id);
            self.bytes -= record.json.len();
            self.free.push(slot);
        }
        index.all.len()
    }

    /// Sessions of `ty` matching `filter` with `created_at` in `created`, in `(created_at, seq)` order.
    /// With both filters set, walks the smaller of the two indexes and checks the other field.
    pub fn matching<'t>(
        &'t self,
        ty: SessionType,
        filter: Filter<'t>,
        created: RangeInclusive<i64>,
    ) -> impl DoubleEndedIterator<Item = &'t Record> + 't {
        let index = &self.types[ty.index()];
        let by_user = filter.user_id.map(|u| index.by_user.get(u).unwrap_or(&EMPTY));
        let by_entity = filter.entity_id.map(|e| index.by_entity.get(e).unwrap_or(&EMPTY));
        let (order, check_user, check_entity) = match (by_user, by_entity) {
            (Some(u), Some(e)) if u.len() <= e.len() => (u, None, filter.entity_id),
            (Some(_), Some(e)) => (e, filter.user_id, None),
            (Some(u), None) => (u, None, None),
            (None, Some(e)) => (e, None, None),
            (None, None) => (&index.all, None, None),
        };
        let (&lo, &hi) = (created.start(), created.end());
        let range = if lo <= hi { order.range((lo, 0)..=(hi, u64::MAX)) } else { EMPTY.range(..) };
        range.map(move |(_, &slot)| self.slot(slot)).filter(move |r| {
            check_user.map_or(true, |u| r.user.as_deref() == Some(u))
                && check_entity.map_or(true, |e| r.entity.as_deref() == Some(e))
        })
    }

    /// Every session of every type, in first-insertion order.
    pub fn all_in_insertion_order(&self) -> Vec<&Record> {
        let mut records: Vec<&Record> = self.slots.iter().flatten().collect();
        records.sort_unstable_by_key(|r| r.seq);
        records
    }

    fn slot(&self, slot: u32) -> &Record {
        self.slots[slot as usize].as_ref().expect("index points at a live slot")
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
        for (id, &slot) in &self.by_id {
            let r = self.slot(slot);
            if r.id.as_ref() != id.as_ref() {
                return Err(format!("id {id:?} points at {:?}", r.id));
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
