//! The data structure behind a store: every session once, as an immutable shared record, found by id
//! through a hash table, plus ordered indexes so that listings by type, user or entity cost what they
//! return rather than what the store holds.
//!
//! Each session has a slot for its whole life (freed slots are reused). The slab maps slots to the
//! current records; the indexes are [`Order`]s of slots sorted by `(created_at, seq)`, where `seq`
//! counts first insertions. That one order answers "recent" (walk it backwards) and creation-time
//! ranges; insertion-order listings re-sort their result by `seq`.
//!
//! A long read (a listing, a query, an export, a durability snapshot) takes a [`Selection`] or an
//! [`Everything`] under the store's lock: clones of the orders it needs, which it walks without the
//! lock (they are persistent: a clone never changes, and a writer copies an order's leaf, 2 KiB of
//! slots, before changing one a clone shares), and a [`Snapshot`]. It then reads records in short
//! batches, each under the read lock (see `crate::reading`), through [`Tables::resolve`]: the record
//! a slot held as of the snapshot, which writers keep for it when they replace or remove it (see
//! [`crate::versions`]). An update that keeps a session's `created_at`, user and entity (the common
//! case: a conversation goes on) changes the id table and one slab entry, and no index.

use crate::feed::{self, Feed, Since};
use crate::incremental_table::{self, IncrementalTable, Rehash};
use crate::names::NameIndex;
use crate::order::Order;
use crate::record::{self, OrderKey, Record, RecordParts, Slot};
use crate::retention::{self, Demand, Limits, Liveness, Removal, Retention};
use crate::session::Rendered;
use crate::session_type::SessionType;
use crate::versions::{Snapshot, Versions};
use arcstr::ArcStr;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

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
    /// The store's clock at the write (idle time counts from it when `updated_at` is later).
    pub written_at: i64,
    /// The number of the change that stores it, which `stored` carries too.
    pub version: u64,
    pub stored: Rendered,
}

impl NewRecord<'_> {
    fn parts(self) -> RecordParts {
        RecordParts {
            ty: self.ty,
            created_at: self.created_at,
            updated_at: self.updated_at,
            future_dated: retention::future_dated(self.updated_at, self.written_at),
            version: self.version,
            stored: self.stored,
        }
    }
}

/// The longest listing [`Tables::recent_in_place`] walks under the lock.
const SHORT_WALK: usize = 64;

/// Where [`Tables::find`] found a session (valid until the next insertion or
/// [`Tables::move_some_ids`]).
pub use crate::incremental_table::Bucket;

/// The current record of every slot.
#[derive(Default)]
struct Slab(Vec<Option<Record>>);

impl Slab {
    fn get(&self, slot: Slot) -> &Record {
        self.0[slot as usize].as_ref().expect("an indexed slot holds a record")
    }

    fn key(&self, slot: Slot) -> OrderKey {
        self.get(slot).order_key()
    }

    /// Puts `record` in `slot`; returns what the slot held.
    fn replace(&mut self, slot: Slot, record: Option<Record>) -> Option<Record> {
        std::mem::replace(&mut self.0[slot as usize], record)
    }

    /// A new empty slot at the end.
    fn push(&mut self) -> Slot {
        let slot = Slot::try_from(self.0.len()).expect("fewer than 2^32 sessions");
        self.0.push(None);
        slot
    }
}

/// A record as of a snapshot: the slot's current record, or one kept for the snapshot.
pub enum Resolved<'t> {
    Current(&'t Record),
    Kept(Record),
}

impl Resolved<'_> {
    /// The record, to keep beyond the lock (one reference count).
    pub fn to_record(&self) -> Record {
        match self {
            Resolved::Current(record) => Record::clone(record),
            Resolved::Kept(record) => record.clone(),
        }
    }
}

impl AsRef<Record> for Resolved<'_> {
    fn as_ref(&self) -> &Record {
        self
    }
}

impl std::ops::Deref for Resolved<'_> {
    type Target = Record;

    fn deref(&self) -> &Record {
        match self {
            Resolved::Current(record) => record,
            Resolved::Kept(record) => record,
        }
    }
}

/// Tables that [`Tables::move_some_ids`] emptied, held only to be dropped after the write lock is
/// released.
#[derive(Default)]
pub struct Emptied {
    _ids: Option<incremental_table::Emptied<Record>>,
    _named: Vec<incremental_table::Emptied<(ArcStr, Order)>>,
}

/// Orders by user or entity id, each with the one copy of its id that the records share.
#[derive(Default)]
struct Named {
    table: IncrementalTable<(ArcStr, Order)>,
    hasher: RandomState,
}

impl Named {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    fn get(&self, name: &str) -> Option<&Order> {
        let bucket = self.table.find(self.hash(name), |(n, _)| n.as_str() == name)?;
        Some(&self.table.get(bucket).1)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Order> {
        let bucket = self.table.find(self.hash(name), |(n, _)| n.as_str() == name)?;
        Some(&mut self.table.get_mut(bucket).1)
    }

    /// The table's copy of `name`, added with an empty order when missing: one lookup, where a
    /// lookup and then an insert would hash the name twice.
    fn share(&mut self, name: &str) -> ArcStr {
        let hash = self.hash(name);
        if let Some(bucket) = self.table.find(hash, |(n, _)| n.as_str() == name) {
            return self.table.get(bucket).0.clone();
        }
        let name = ArcStr::from(name);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, (name.clone(), Order::default()), |(n, _)| hasher.hash_one(n.as_str()));
        name
    }

    fn remove(&mut self, name: &str) {
        self.table.remove(self.hash(name), |(n, _)| n.as_str() == name);
    }

    fn values(&self) -> impl Iterator<Item = &Order> {
        self.table.iter().map(|(_, order)| order)
    }

    /// See [`Tables::move_some_ids`].
    fn move_some(&mut self) -> Option<incremental_table::Emptied<(ArcStr, Order)>> {
        let hasher = &self.hasher;
        let hash = |(n, _): &(ArcStr, Order)| hasher.hash_one(n.as_str());
        let touch = |named: &[(ArcStr, Order)]| {
            std::hint::black_box(
                named.iter().fold(0u8, |acc, (n, _)| acc ^ n.as_bytes().first().copied().unwrap_or(0)),
            );
        };
        self.table.step_for_write(&Rehash { hash: &hash, touch: &touch })
    }
}

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

    pub fn admits(self, record: &Record) -> bool {
        Check { user: self.user_id, entity: self.entity_id }.admits(record)
    }
}

/// The part of a filter an index walk has not already applied.
#[derive(Clone, Copy)]
pub struct Check<'a> {
    user: Option<&'a str>,
    entity: Option<&'a str>,
}

impl Check<'_> {
    const NONE: Check<'static> = Check { user: None, entity: None };

    pub fn admits(self, record: &Record) -> bool {
        self.user.is_none_or(|u| record.user.as_deref() == Some(u))
            && self.entity.is_none_or(|e| record.entity.as_deref() == Some(e))
    }
}

/// The sessions of one type that a filter selects, as they were when [`Tables::select`] took it:
/// read them with `crate::reading`.
pub struct Selection<'f> {
    pub ty: SessionType,
    /// The whole filter, for sessions found by another index (see [`Tables::name_candidates`]).
    pub filter: Filter<'f>,
    /// The sessions to walk for the filter, in `(created_at, seq)` order.
    pub order: Order,
    /// What of `filter` walking `order` leaves to check.
    pub check: Check<'f>,
    pub snapshot: Arc<Snapshot>,
}

/// Every session of every type, as they were when [`Tables::everything`] took it: for exports and
/// durability snapshots.
pub struct Everything {
    pub orders: [Order; 4],
    pub snapshot: Arc<Snapshot>,
    pub bytes: usize,
}

impl Everything {
    /// Every session's slot, by type.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + Clone + '_ {
        self.orders.iter().flat_map(Order::iter)
    }
}

pub struct Tables {
    /// Every record by the hash of its id: the ids themselves live in the records' JSON.
    by_id: IncrementalTable<Record>,
    hasher: IdHasher,
    slab: Slab,
    /// Slots of removed sessions, for the next insertions.
    free: Vec<Slot>,
    next_seq: u64,
    /// The number of the last change (see [`crate::versions`]).
    version: u64,
    versions: Arc<Versions>,
    types: [TypeIndex; 4],
    names: NameIndex,
    feed: Feed,
    bytes: usize,
    retention: Retention,
}

impl Default for Tables {
    fn default() -> Self {
        Tables::new(IdHasher::default(), 0, Limits::default())
    }
}

impl Tables {
    /// Empty tables whose id table hashes with `hasher`, keeping `feed_bytes` of changes for the feed
    /// and the bounds of `limits`.
    pub fn new(hasher: IdHasher, feed_bytes: usize, limits: Limits) -> Self {
        Tables {
            by_id: IncrementalTable::default(),
            hasher,
            slab: Slab::default(),
            free: Vec::new(),
            next_seq: 0,
            version: 0,
            versions: Arc::default(),
            types: Default::default(),
            names: NameIndex::default(),
            feed: Feed::new(feed_bytes),
            bytes: 0,
            retention: Retention::new(limits),
        }
    }

    pub fn limits(&self) -> &Limits {
        self.retention.limits()
    }

    /// Whether `record` (current, or kept for a snapshot) is alive by `liveness`.
    pub fn alive(&self, record: &Record, liveness: &Liveness) -> bool {
        liveness.alive(record, &self.retention)
    }

    /// Notes a read of `record` at `now`, which refreshes its idle time when the store says so.
    pub fn note_read(&self, record: &Record, now: i64) {
        self.retention.read(record.slot, now);
    }

    /// How many sessions expired and were evicted since the store was opened.
    pub fn removed_by_bounds(&self) -> (u64, u64) {
        (self.retention.expired, self.retention.evicted)
    }

    /// How many sessions of `ty` are alive by `liveness`.
    pub fn count_alive(&self, ty: SessionType, liveness: &Liveness) -> usize {
        let all = &self.types[ty.index()].all;
        match self.retention.limits().expires() {
            true => all.iter().filter(|&slot| self.alive(self.slab.get(slot), liveness)).count(),
            false => all.len(),
        }
    }

    /// Sessions held, of every type, alive or expired and not yet reclaimed.
    pub fn held(&self) -> usize {
        self.by_id.len()
    }

    /// The sessions to remove, each with why, so that a write of `demand` keeps the store's bounds,
    /// or [`crate::error::ErrorKind::Full`]; see [`Retention::make_room`].
    pub fn make_room(
        &mut self,
        demand: &Demand,
        liveness: &Liveness,
    ) -> crate::error::Result<Vec<(Slot, Removal)>> {
        let totals = (self.by_id.len(), self.bytes);
        let slab = &self.slab;
        self.retention.make_room(totals, demand, liveness, |slot| slab.get(slot))
    }

    /// Up to `limit` sessions that have expired by `liveness`, to reclaim.
    pub fn expired(&mut self, liveness: &Liveness, limit: usize) -> Vec<Slot> {
        let slab = &self.slab;
        let mut found = self.retention.expired_at_front(liveness, limit, |slot| slab.get(slot));
        if let Some(age) = self.retention.limits().max_age_s {
            // Oldest first in each type's index: past their maximum age, wherever they are in the
            // recency list.
            for index in &self.types {
                for slot in index.all.iter() {
                    if found.len() >= limit {
                        break;
                    }
                    let record = self.slab.get(slot);
                    if record.created_at.saturating_add(age) >= liveness.now() {
                        break;
                    }
                    if !found.contains(&slot) {
                        found.push(slot);
                    }
                }
            }
        }
        found
    }

    /// After a reopen: orders the recency lists by the times the sessions were last written, ties in
    /// the order of their writes (the snapshot loaded them in insertion order), and counts expiries
    /// and evictions from zero (the replay repeated some).
    pub fn replayed(&mut self, now: i64) {
        let limits = self.retention.limits();
        // Without bounds or expiry there are no such lists: the sort of every session is skipped (a
        // few percent of a reopen's time).
        let mut records: Vec<&Record> = match limits.expires() || limits.bounded() {
            true => self.by_id.iter().collect(),
            false => Vec::new(),
        };
        records.sort_unstable_by_key(|r| (r.updated_at, r.version));
        self.retention.rebuild(self.slab.0.len(), &records, now);
        (self.retention.expired, self.retention.evicted) = (0, 0);
    }

    /// Puts the sessions in `slots`, just stored by one import, where their `updated_at` places them
    /// in the recency lists.
    pub fn placed(&mut self, slots: impl Iterator<Item = Slot>) {
        let records: Vec<Record> = slots.map(|slot| self.in_slot(slot).clone()).collect();
        let records: Vec<&Record> = records.iter().collect();
        self.retention.placed(&records);
    }

    /// The record in `slot` (which holds one).
    pub fn in_slot(&self, slot: Slot) -> &Record {
        self.slab.0[slot as usize].as_ref().expect("an occupied slot")
    }

    /// The number of the last change: the next is numbered one above.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn hasher(&self) -> &IdHasher {
        &self.hasher
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.find(self.hasher.key(id)).map(|bucket| self.at(bucket))
    }

    /// Where the session with this id is; `key` must come from this table's hasher.
    pub fn find(&self, key: IdKey) -> Option<Bucket> {
        self.by_id.find(key.hash, |r| r.id() == key.id)
    }

    /// Room for `additional` more sessions: inserting them will not find the id table full.
    pub fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.by_id.reserve(additional, |r| hasher.hash(&r.id()));
    }

    /// A write's share of moving the entries of the id table, and of the user and entity tables, out
    /// of the tables they outgrew (see [`crate::incremental_table`]); call it when the write lock is
    /// taken, before any [`Tables::find`]. Returns the tables it emptied, to drop after the lock.
    #[must_use]
    pub fn move_some_ids(&mut self) -> Emptied {
        let hasher = &self.hasher;
        let hash = |r: &Record| hasher.hash(&r.id());
        let ids = self.by_id.step_for_write(&Rehash { hash: &hash, touch: &record::touch });
        let named = self.types.iter_mut().flat_map(|index| [&mut index.by_user, &mut index.by_entity]);
        Emptied { _ids: ids, _named: named.filter_map(Named::move_some).collect() }
    }

    pub fn len(&self, ty: SessionType) -> usize {
        self.types[ty.index()].all.len()
    }

    /// Bytes of JSON held, over all types.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The session in `bucket`, which [`Tables::find`] gave since the last change.
    pub fn at(&self, bucket: Bucket) -> &Record {
        self.by_id.get(bucket)
    }

    /// Stores `new` in `bucket`, which [`Tables::find`] gave for its id, or as a new session; the
    /// caller has checked the type. Returns the stored record and what the caller should drop after
    /// releasing its lock (the record replaced, unless a snapshot keeps it).
    /// `new.version` must be the next change's number, except when loading a snapshot (see
    /// [`Tables::load`]).
    pub fn put(&mut self, bucket: Option<Bucket>, new: NewRecord) -> (&Record, Option<Record>) {
        self.store(bucket, new, true)
    }

    /// [`Tables::put`] for a record of a snapshot, whose version is that of the change that stored it:
    /// snapshots hold sessions in insertion order, not change order, and the feed does not get them.
    pub fn load(&mut self, bucket: Option<Bucket>, new: NewRecord) {
        self.store(bucket, new, false);
    }

    /// Notes that change `number` was made but left nothing to apply (a replayed removal of a
    /// session already gone): the next change is numbered above it.
    pub fn mark_gap(&mut self, number: u64) {
        self.version = self.version.max(number);
    }

    /// Notes that the tables hold the state as of change `number` (a snapshot's), so that the next
    /// change is numbered above it.
    pub fn mark(&mut self, number: u64) {
        self.version = self.version.max(number);
        self.feed.start_after(number);
    }

    fn store(&mut self, bucket: Option<Bucket>, new: NewRecord, in_order: bool) -> (&Record, Option<Record>) {
        debug_assert_eq!(bucket, self.find(new.id));
        debug_assert_eq!(new.id.hash, self.hasher.hash(new.id.id));
        debug_assert!(
            !in_order || new.version > self.version,
            "change {} after {}",
            new.version,
            self.version
        );
        self.version = self.version.max(new.version);
        let (bucket, replaced) = match bucket {
            Some(bucket) => (bucket, self.replace(bucket, new)),
            None => (self.insert(new), None),
        };
        let record = self.by_id.get(bucket);
        if in_order {
            self.feed.push(feed::Change::Put(record.clone()));
        }
        (record, replaced)
    }

    /// Stores a new session; returns its bucket.
    fn insert(&mut self, new: NewRecord) -> Bucket {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.free.pop().unwrap_or_else(|| {
            let slot = self.slab.push();
            self.retention.grow(self.slab.0.len());
            slot
        });
        let (hash, written_at) = (new.id.hash, new.written_at);
        let index = &mut self.types[new.ty.index()];
        let (user, entity) = index.named(new.user, new.entity);
        let record = Record::new(new.parts(), seq, slot, user, entity);
        self.slab.replace(slot, Some(record.clone()));
        index.add(&record, &self.slab);
        self.retention.inserted(&record, record.updated_at.min(written_at));
        self.retention.wrote(slot, record.updated_at, written_at);
        let slab = &self.slab;
        self.names.add(slot, record.name().as_deref(), |s| slab.get(s).name());
        self.bytes += record.json().len();
        let hasher = &self.hasher;
        self.by_id.insert_unique(hash, record, |r| hasher.hash(&r.id()))
    }

    fn replace(&mut self, bucket: Bucket, new: NewRecord) -> Option<Record> {
        let written_at = new.written_at;
        let old = self.by_id.get(bucket).clone();
        debug_assert_eq!(old.ty(), new.ty);
        let index = &mut self.types[new.ty.index()];
        let moved = old.created_at != new.created_at
            || old.user.as_deref() != new.user
            || old.entity.as_deref() != new.entity;
        let (user, entity) = if moved {
            index.remove(&old, &self.slab);
            index.named(new.user, new.entity)
        } else {
            (old.user.clone(), old.entity.clone())
        };
        let record = Record::new(new.parts(), old.seq(), old.slot, user, entity);
        self.retention.replaced(&old, &record, record.updated_at.min(written_at));
        self.retention.wrote(old.slot, record.updated_at, written_at);
        let dropped = self.versions.retire(old.slot, old.clone(), self.version);
        self.slab.replace(old.slot, Some(record.clone()));
        if moved {
            index.add(&record, &self.slab);
        }
        let slab = &self.slab;
        self.names.replace(old.slot, old.name().as_deref(), record.name().as_deref(), |s| slab.get(s).name());
        self.bytes = self.bytes - old.json().len() + record.json().len();
        *self.by_id.get_mut(bucket) = record;
        dropped
    }

    /// Takes `record` (just removed from the id table) out of the indexes and the slab; returns it
    /// unless a snapshot keeps it, for the caller to drop after releasing its lock.
    fn release(&mut self, record: Record) -> Option<Record> {
        self.retention.removed(&record);
        self.types[record.ty().index()].remove(&record, &self.slab);
        self.unname(&record);
        self.bytes -= record.json().len();
        self.slab.replace(record.slot, None);
        self.versions.retire(record.slot, record, self.version)
    }

    /// Takes `record`, which is leaving its slot, out of the name index; the slots that index says
    /// may be reused now (its own, or those of a sweep that ends) go to the free list.
    fn unname(&mut self, record: &Record) {
        let (free, slab_len) = (&mut self.free, self.slab.0.len());
        self.names.remove(record.slot, record.name().as_deref(), |slot| free_slot(free, slab_len, slot));
    }

    /// Removes the session with this id by the change numbered `number`, for reason `why`; returns
    /// whether there was one, and what the caller should drop after releasing its lock. Without the
    /// session, no change is made and the number is not used.
    pub fn remove(&mut self, id: &str, number: u64, why: Removal) -> Option<Option<Record>> {
        let hash = self.hasher.hash(id);
        let record = self.by_id.remove(hash, |r| r.id() == id)?;
        debug_assert!(number > self.version, "change {number} after {}", self.version);
        self.version = number;
        match why {
            Removal::Delete => {}
            Removal::Expire => self.retention.expired += 1,
            Removal::Evict => self.retention.evicted += 1,
        }
        self.feed.push(feed::Change::Remove { number, ty: record.ty(), id: record.id().into(), why });
        Some(self.release(record))
    }

    /// Removes every session of `ty` by the change numbered `number`; returns how many, and what the
    /// caller should drop after releasing its lock.
    pub fn remove_type(&mut self, ty: SessionType, number: u64) -> (usize, Vec<Record>) {
        let slots: Vec<Slot> = self.types[ty.index()].all.iter().collect();
        debug_assert!(number > self.version, "change {number} after {}", self.version);
        self.version = number;
        self.feed.push(feed::Change::RemoveType { number, ty });
        let mut dropped = Vec::with_capacity(slots.len());
        for &slot in &slots {
            let record = self.slab.replace(slot, None).expect("an indexed slot holds a record");
            let hash = self.hasher.hash(&record.id());
            let removed = self.by_id.remove(hash, |r| Record::ptr_eq(r, &record));
            assert!(removed.is_some(), "every indexed record is in the id table");
            self.unname(&record);
            self.retention.removed(&record);
            self.bytes -= record.json().len();
            dropped.extend(self.versions.retire(slot, record, self.version));
        }
        self.types[ty.index()] = TypeIndex::default();
        (slots.len(), dropped)
    }

    /// The changes after change `after`, at most `limit` of them (see [`Feed`]).
    pub fn changes_since(&self, after: u64, limit: usize) -> Since {
        self.feed.since(after, limit)
    }

    /// See [`Feed::defer_drops`].
    pub fn defer_feed_drops(&mut self) {
        self.feed.defer_drops();
    }

    /// See [`Feed::departed`].
    pub fn feed_departed(&mut self) -> feed::Departed {
        self.feed.departed()
    }

    /// The feed's oldest kept change, its latest, how many it keeps and their bytes.
    pub fn feed_stats(&self) -> (u64, u64, usize, usize) {
        (self.feed.oldest(), self.feed.latest(), self.feed.len(), self.feed.bytes())
    }

    /// The store's identity (see [`feed::new_store_id`]).
    pub fn store_id(&self) -> &str {
        self.feed.store()
    }

    /// Takes a durable store's identity, kept in its directory.
    pub fn set_store_id(&mut self, store: String) {
        self.feed.set_store(store);
    }

    /// A snapshot of the tables as they are now.
    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(self.versions.snapshot(self.version))
    }

    /// The record `slot` held as of `snapshot`, which must have seen one there (its indexes say which
    /// slots did).
    #[inline]
    pub fn resolve(&self, slot: Slot, snapshot: &Snapshot) -> Resolved<'_> {
        match self.slab.0.get(slot as usize).and_then(Option::as_ref) {
            Some(record) if snapshot.sees(record) => Resolved::Current(record),
            _ => Resolved::Kept(snapshot.kept(slot)),
        }
    }

    /// Starts loading the records `slots` hold now (the part [`Tables::resolve`] reads), for a long
    /// read to resolve them next: see `crate::reading`.
    pub fn touch_slots(&self, slots: &[Slot]) {
        let records = slots.iter().filter_map(|&slot| self.slab.0.get(slot as usize)?.as_ref());
        records.for_each(Record::prefetch_listed_fields);
    }

    /// The sessions of `ty` that `filter` selects. Cheap: see [`Selection`].
    pub fn select<'f>(&self, ty: SessionType, filter: Filter<'f>) -> Selection<'f> {
        self.select_in(ty, filter, self.snapshot())
    }

    /// Selections of several types as of one state: what a query over several types reads.
    pub fn select_each<'f>(
        &self,
        types: impl Iterator<Item = SessionType>,
        filter: Filter<'f>,
    ) -> Vec<Selection<'f>> {
        let snapshot = self.snapshot();
        types.map(|ty| self.select_in(ty, filter, Arc::clone(&snapshot))).collect()
    }

    fn select_in<'f>(&self, ty: SessionType, filter: Filter<'f>, snapshot: Arc<Snapshot>) -> Selection<'f> {
        let (order, check) = self.narrowest(ty, filter);
        Selection { ty, filter, order: order.cloned().unwrap_or_default(), check, snapshot }
    }

    /// The slots of the sessions whose folded name may contain `folded_needle`, when the name index can
    /// say (see [`NameIndex::candidates`]): read them with a [`Selection`] taken under the same lock.
    pub fn name_candidates(&self, folded_needle: &str) -> Option<roaring::RoaringBitmap> {
        self.names.candidates(folded_needle)
    }

    /// The newest `limit` sessions of `ty` matching `filter`, walked in place under the caller's lock,
    /// when that walk is short: at most [`SHORT_WALK`] sessions and no check per session, so that it
    /// visits exactly what it returns. Otherwise `None`: take a [`Selection`]. For the short listings
    /// that dominate (Agno's "recent sessions"), cloning an index would make every reading thread
    /// write shared reference counts.
    pub fn recent_in_place<'t>(
        &'t self,
        ty: SessionType,
        filter: Filter<'t>,
        limit: usize,
        liveness: &Liveness,
    ) -> Option<Vec<&'t Record>> {
        let (order, check) = self.narrowest(ty, filter);
        if limit > SHORT_WALK || check.user.is_some() || check.entity.is_some() {
            return None;
        }
        let Some(order) = order else { return Some(Vec::new()) };
        let mut found = Vec::with_capacity(limit.min(order.len()));
        // Expired sessions not yet reclaimed are passed over, within the same bound on the walk.
        for slot in order.iter().rev().take(SHORT_WALK) {
            if found.len() == limit {
                return Some(found);
            }
            let record = self.slab.get(slot);
            if self.alive(record, liveness) {
                found.push(record);
            }
        }
        (found.len() == limit || order.len() <= SHORT_WALK).then_some(found)
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
        Everything {
            orders: self.types.each_ref().map(|t| t.all.clone()),
            snapshot: self.snapshot(),
            bytes: self.bytes,
        }
    }

    /// Checks that every index agrees with the primary map; for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let indexed: usize = self.types.iter().map(|t| t.all.len()).sum();
        if indexed != self.by_id.len() {
            return Err(format!("{indexed} indexed sessions but {} ids", self.by_id.len()));
        }
        let occupied = self.slab.0.iter().flatten().count();
        if self.free.iter().any(|&slot| self.slab.0[slot as usize].is_some()) {
            return Err("a free slot holds a record".into());
        }
        let held = self.names.held();
        if occupied != self.by_id.len() || occupied + self.free.len() + held != self.slab.0.len() {
            return Err(format!(
                "{occupied} occupied slots, {} free and {held} held by the name index of {} for {} ids",
                self.free.len(),
                self.slab.0.len(),
                self.by_id.len()
            ));
        }
        let bytes: usize = self.by_id.iter().map(|r| r.json().len()).sum();
        if bytes != self.bytes {
            return Err(format!("bytes counter {} but {bytes} held", self.bytes));
        }
        let key_of = |slot| self.slab.key(slot);
        let holds = |order: Option<&Order>, r: &Record| {
            order.is_some_and(|o| o.range(r.order_key()..=r.order_key(), &key_of).eq([r.slot]))
        };
        for r in self.by_id.iter() {
            let id = r.id();
            if !self.find(self.hasher.key(&id)).is_some_and(|b| Record::ptr_eq(self.at(b), r)) {
                return Err(format!("id {id:?} is not found at its bucket"));
            }
            if !self
                .slab
                .0
                .get(r.slot as usize)
                .and_then(Option::as_ref)
                .is_some_and(|s| Record::ptr_eq(s, r))
            {
                return Err(format!("{id:?} is not in its slot {}", r.slot));
            }
            let quoted: String = serde_json::from_str(r.quoted_id()).map_err(|e| e.to_string())?;
            let name_ok = r.quoted_name().is_none_or(|n| serde_json::from_str::<String>(n).is_ok());
            if quoted != id || !name_ok {
                return Err(format!("id or name span of {id:?} is off"));
            }
            let index = &self.types[r.ty().index()];
            if !holds(Some(&index.all), r) {
                return Err(format!("{id:?} missing from its type index"));
            }
            if r.user.as_ref().is_some_and(|u| !holds(index.by_user.get(u), r)) {
                return Err(format!("{id:?} missing from its user index"));
            }
            if r.entity.as_ref().is_some_and(|e| !holds(index.by_entity.get(e), r)) {
                return Err(format!("{id:?} missing from its entity index"));
            }
        }
        for t in &self.types {
            for order in std::iter::once(&t.all).chain(t.by_user.values()).chain(t.by_entity.values()) {
                order.check(key_of)?;
            }
            let by_user: usize = t.by_user.values().map(Order::len).sum();
            let by_entity: usize = t.by_entity.values().map(Order::len).sum();
            let with_user = t.all.iter().filter(|&s| self.slab.get(s).user.is_some()).count();
            let with_entity = t.all.iter().filter(|&s| self.slab.get(s).entity.is_some()).count();
            if by_user != with_user || by_entity != with_entity {
                return Err("user or entity index holds stale entries".into());
            }
            if t.by_user.values().chain(t.by_entity.values()).any(Order::is_empty) {
                return Err("an empty user or entity index was kept".into());
            }
        }
        self.names.check(self.by_id.iter().map(|r| (r.slot, r.name())))?;
        self.retention.check(&self.by_id.iter().collect::<Vec<_>>())?;
        self.versions.check()
    }
}

/// Frees `slot` for a later insert into `free`, the free list of a slab of `slab_len` slots. A full
/// list is given room for every slot of the slab at once: growing it by doubling copies it, under the
/// write lock, on the pushes of a mass expiry that frees a million slots (4 MiB at the last doubling,
/// and its page faults, while every reader waits).
fn free_slot(free: &mut Vec<Slot>, slab_len: usize, slot: Slot) {
    if free.len() == free.capacity() {
        free.reserve_exact(slab_len - free.len());
    }
    free.push(slot);
}

impl TypeIndex {
    /// The index's shared copies of a session's user and entity ids, which [`TypeIndex::add`] expects.
    fn named(&mut self, user: Option<&str>, entity: Option<&str>) -> (Option<ArcStr>, Option<ArcStr>) {
        (user.map(|u| self.by_user.share(u)), entity.map(|e| self.by_entity.share(e)))
    }

    /// Indexes `record`, which is in its slot of `slab`, with user and entity from [`TypeIndex::named`].
    fn add(&mut self, record: &Record, slab: &Slab) {
        let (key, key_of) = (record.order_key(), |slot| slab.key(slot));
        self.all.insert(record.slot, key, key_of);
        for (map, field) in [(&mut self.by_user, &record.user), (&mut self.by_entity, &record.entity)] {
            if let Some(value) = field {
                map.get_mut(value).expect("named before it is added").insert(record.slot, key, key_of);
            }
        }
    }

    /// Takes `record`, which is still in its slot of `slab`, out of every index.
    fn remove(&mut self, record: &Record, slab: &Slab) {
        let (key, key_of) = (record.order_key(), |slot| slab.key(slot));
        self.all.remove(key, record.slot, key_of);
        for (map, field) in [(&mut self.by_user, &record.user), (&mut self.by_entity, &record.entity)] {
            if let Some(value) = field {
                if let Some(order) = map.get_mut(value) {
                    order.remove(key, record.slot, key_of);
                    if order.is_empty() {
                        map.remove(value);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionInput;

    fn put(tables: &mut Tables, id: &str, created_at: i64, user: &str, name: &str) {
        let json = format!(
            r#"{{"session_id":"{id}","user_id":"{user}","agent_id":"a","session_data":{{"session_name":"{name}"}}}}"#
        );
        let input = SessionInput::parse(&json).unwrap();
        let key = tables.hasher().clone().key(id);
        let version = tables.version() + 1;
        let new = NewRecord {
            id: key,
            ty: SessionType::Agent,
            user: Some(user),
            entity: Some("a"),
            created_at,
            updated_at: created_at,
            written_at: created_at,
            version,
            stored: input.render(SessionType::Agent, created_at, created_at, version),
        };
        let bucket = tables.find(key);
        tables.put(bucket, new);
    }

    /// The "id=name" of each slot's record as of the snapshot, read as a long read would.
    fn names(tables: &Tables, snapshot: &Snapshot, slots: impl Iterator<Item = Slot>) -> Vec<String> {
        slots
            .map(|slot| {
                let r = tables.resolve(slot, snapshot);
                format!("{}={}", r.id(), r.name().unwrap())
            })
            .collect()
    }

    #[test]
    fn selections_see_the_state_they_were_taken_in() {
        let mut tables = Tables::default();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            put(&mut tables, id, i as i64, "u", "v1");
        }
        let before = tables.select(SessionType::Agent, Filter::default());
        let everything = tables.everything();
        // Updates in place, a move (new created_at), a removal whose slot is reused, a drop of the type.
        put(&mut tables, "a", 0, "u", "v2");
        put(&mut tables, "b", 10, "u", "v2");
        tables.remove("c", tables.version() + 1, Removal::Delete);
        put(&mut tables, "d", 3, "w", "v1");
        put(&mut tables, "a", 0, "u", "v3");
        let after = tables.select(SessionType::Agent, Filter::default());
        tables.check_invariants().unwrap();
        assert_eq!(names(&tables, &before.snapshot, before.order.iter()), ["a=v1", "b=v1", "c=v1"]);
        assert_eq!(names(&tables, &everything.snapshot, everything.slots()), ["a=v1", "b=v1", "c=v1"]);
        assert_eq!(names(&tables, &after.snapshot, after.order.iter()), ["a=v3", "d=v1", "b=v2"]);
        let key_of = |slot| tables.resolve(slot, &before.snapshot).order_key();
        assert_eq!(
            names(&tables, &before.snapshot, before.order.range((1, 0)..=(2, u64::MAX), &key_of)),
            ["b=v1", "c=v1"]
        );
        tables.remove_type(SessionType::Agent, tables.version() + 1);
        assert_eq!(names(&tables, &after.snapshot, after.order.iter()), ["a=v3", "d=v1", "b=v2"]);
        tables.check_invariants().unwrap();
        drop((before, everything, after));
        // Also checks that nothing is kept for snapshots once the selections are gone.
        tables.check_invariants().unwrap();
    }
}
