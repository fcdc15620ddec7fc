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
use std::collections::BTreeMap;
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

    /// The length of [`Record::quoted_id`], from the record alone.
    pub fn quoted_id_len(&self) -> usize {
        (self.id.end - self.id.start) as usize
    }

    /// Loads the first byte of the id, to bring it into the cache: see [`Tables::touch_ids`].
    fn id_first_byte(&self) -> u8 {
        self.json.as_bytes()[self.id.start as usize]
    }
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

pub type OrderKey = (i64, u64);
type Order = BTreeMap<OrderKey, u32>;

/// Orders by user or entity id. hashbrown's map, for `get_key_value_mut`: indexing a session under
/// its user and sharing the map's copy of the user's id is then one lookup, not two.
type Named = hashbrown::HashMap<Arc<str>, Order, RandomState>;

static EMPTY: Order = BTreeMap::new();

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

#[derive(Default)]
pub struct Tables {
    slots: Vec<Option<Record>>,
    free: Vec<u32>,
    /// Slots by the hash of their record's id: the ids themselves live in the records' JSON.
    by_id: HashTable<u32>,
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

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.find(self.hasher.key(id)).map(|slot| self.slot(slot))
    }

    /// The slot holding the session with this id; `key` must come from this table's hasher.
    pub fn find(&self, key: IdKey) -> Option<u32> {
        self.by_id.find(key.hash, |&slot| self.slot(slot).id() == key.id).copied()
    }

    /// Room for `additional` more sessions without growing the id table or the slab.
    pub fn reserve(&mut self, additional: usize) {
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.reserve(additional, |&slot| hasher.hash(&live(slots, slot).id()));
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
    /// has checked the type. Returns the stored record and the JSON it replaced, which the caller may
    /// free after releasing its lock.
    pub fn put(&mut self, slot: Option<u32>, new: NewRecord) -> (&Record, Option<Box<str>>) {
        debug_assert_eq!(slot, self.find(new.id));
        debug_assert_eq!(new.id.hash, self.hasher.hash(new.id.id));
        match slot {
            Some(slot) => {
                let replaced = self.replace(slot, new);
                (self.slot(slot), Some(replaced))
            }
            None => (self.insert(new), None),
        }
    }

    fn insert(&mut self, new: NewRecord) -> &Record {
        // Everything that can fail comes before the first change.
        let (id, name) = (TextSpan::new(new.stored.id_span), new.stored.name_span.map(TextSpan::new));
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 sessions")
            }
        };
        let (user, entity) =
            self.types[new.ty.index()].add(slot, (new.created_at, seq), new.user, new.entity);
        let record = Record {
            id,
            name,
            ty: new.ty,
            user,
            entity,
            created_at: new.created_at,
            updated_at: new.updated_at,
            seq,
            json: new.stored.json.into_boxed_str(),
        };
        self.bytes += record.json.len();
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.insert_unique(new.id.hash, slot, |&s| hasher.hash(&live(slots, s).id()));
        self.slots[slot as usize] = Some(record);
        self.slot(slot)
    }

    fn replace(&mut self, slot: u32, new: NewRecord) -> Box<str> {
        let (id, name) = (TextSpan::new(new.stored.id_span), new.stored.name_span.map(TextSpan::new));
        let record = self.slots[slot as usize].as_mut().expect("id map points at a live slot");
        debug_assert_eq!(record.ty, new.ty);
        let index = &mut self.types[new.ty.index()];
        if record.created_at != new.created_at
            || record.user.as_deref() != new.user
            || record.entity.as_deref() != new.entity
        {
            index.remove(record);
            (record.user, record.entity) =
                index.add(slot, (new.created_at, record.seq), new.user, new.entity);
            record.created_at = new.created_at;
        }
        (record.id, record.name) = (id, name);
        record.updated_at = new.updated_at;
        self.bytes = self.bytes - record.json.len() + new.stored.json.len();
        std::mem::replace(&mut record.json, new.stored.json.into_boxed_str())
    }

    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let hash = self.hasher.hash(id);
        let slots = &self.slots;
        let (slot, _) = self.by_id.find_entry(hash, |&s| live(slots, s).id() == id).ok()?.remove();
        let record = self.slots[slot as usize].take().expect("id map points at a live slot");
        self.types[record.ty.index()].remove(&record);
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

    /// Brings the ids of `records` into the cache. A loop that does nothing but load lets the CPU wait
    /// for many cache misses at once; a loop that also copies each id waits for them one at a time.
    /// Long listings of a large store are bound by those misses: this made them 2x faster at 100k.
    pub fn touch_ids(records: &[&Record]) {
        std::hint::black_box(records.iter().fold(0u8, |acc, r| acc ^ r.id_first_byte()));
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
        let hash = self.hasher.hash(&self.slot(slot).id());
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
            if self.find(self.hasher.key(&id)) != Some(slot) {
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

fn live(slots: &[Option<Record>], slot: u32) -> &Record {
    slots[slot as usize].as_ref().expect("index points at a live slot")
}

impl TypeIndex {
    /// Indexes `slot` under `key`; returns the user and entity ids as held by the indexes, so that
    /// each is held once however many sessions name it.
    fn add(
        &mut self,
        slot: u32,
        key: OrderKey,
        user: Option<&str>,
        entity: Option<&str>,
    ) -> (Option<Arc<str>>, Option<Arc<str>>) {
        self.all.insert(key, slot);
        let add_under = |map: &mut Named, name: &str| match map.get_key_value_mut(name) {
            Some((name, order)) => {
                order.insert(key, slot);
                name.clone()
            }
            None => {
                let name: Arc<str> = Arc::from(name);
                map.insert(name.clone(), Order::from([(key, slot)]));
                name
            }
        };
        (user.map(|u| add_under(&mut self.by_user, u)), entity.map(|e| add_under(&mut self.by_entity, e)))
    }

    fn remove(&mut self, record: &Record) {
        let key = (record.created_at, record.seq);
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
