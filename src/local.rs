//! A store whose data lives in this process: in memory, or durable in a directory (see
//! [`crate::persistence`]). Every operation of the data model, thread-safe and atomic.
//!
//! All handles made by [`Local::share`] see the same data, each through its own mode. One read-write
//! lock guards the data: each operation takes it once, so every operation is atomic and every listing
//! sees one consistent state. Parsing and validation happen before the lock is taken, and long reads
//! (listings, queries, exports) hold it only to take a selection of the indexes (see
//! [`crate::tables::Selection`]), which they then walk and render without it.

use crate::change::{ChangeSet, Stored};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{quote, Error, ErrorKind, Result};
use crate::feed::Since;
use crate::intake::{check_owner, check_version, depth_first, not_found, runs_text, type_conflict, Intake};
use crate::json::{self, RawObject};
use crate::lock::TablesLock;
use crate::parallel;
use crate::persistence::{Entered, Logged, Persistence};
use crate::query::Query;
use crate::reading::Reading;
use crate::reclaimer::Reclaimer;
use crate::record::{Record, Slot};
use crate::render;
use crate::retention::{Demand, Limits, Liveness, Removal};
use crate::session::{self, Rendered, SessionInput};
use crate::session_type::SessionType;
use crate::store::{BoundsStats, FeedStats, Hooks, Stats, MAX_CHANGES};
use crate::tables::{Bucket, Emptied, Filter, IdHasher, IdKey, NewRecord, Tables};
use crate::versions::Snapshot;
use arcstr::ArcStr;
use crossbeam_utils::sync::{ShardedLockReadGuard, ShardedLockWriteGuard};
use hashbrown::HashTable;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Shared {
    /// Shared with a durable store's compaction thread.
    tables: Arc<TablesLock>,
    /// The id table's hasher, so that ids are hashed before the lock is taken.
    ids: IdHasher,
    intake: Intake,
    /// A durable store's journal; `None` in memory.
    persistence: Option<Persistence>,
    /// The config's `feed_bytes`.
    feed_budget: usize,
    /// The number of the last change, as of the last write: sessions are rendered before the lock
    /// with the version this suggests, corrected under it when another write came first.
    latest: AtomicU64,
    clock: Arc<dyn Clock>,
    /// The bounds of the config (the tables keep their state).
    limits: Limits,
    /// Reclaims expired sessions, when they can expire (set once, right after the store is made).
    reclaimer: Mutex<Option<Reclaimer>>,
}

/// Expired sessions are reclaimed in steps of this many, each its own change set, in the order they
/// were last written.
const RECLAIM_STEP: usize = 8;

/// How long a reclaim batch holds the write lock, step after step: a reader waits for one batch at
/// most. Bounded in time rather than in sessions, since a removal's cost varies with the store (cold
/// indexes at a million sessions) and the machine (on a shared VM, whole batches of 32 sessions
/// sometimes ran 15 times slower than usual, none of their removals slow by itself).
const RECLAIM_HOLD: Duration = Duration::from_micros(200);

/// The most sessions one reclaim batch removes. What a batch lets go of is collected in vectors sized
/// before the lock is taken, which never grow under it: glibc's `realloc` bypasses its per-thread
/// cache, and during a mass expiry it first sorted or merged the blocks that earlier batches had
/// freed, 1-10 ms with the write lock held (most of the reads over 1 ms in a mass expiry of 1M
/// sessions, profiled in those windows).
const RECLAIM_MAX: usize = 256;

impl Shared {
    fn read(&self) -> ShardedLockReadGuard<'_, Tables> {
        self.tables.read()
    }

    fn write(&self) -> Writing<'_> {
        let entered = self.persistence.as_ref().map(Persistence::enter);
        let mut tables = self.tables.write();
        tables.defer_feed_drops();
        let emptied = tables.move_some_ids();
        Writing { tables: Some(tables), emptied, latest: &self.latest, _entered: entered }
    }

    /// The version the next change will probably get.
    fn next_version_guess(&self) -> u64 {
        self.latest.load(Ordering::Relaxed) + 1
    }

    /// Journals the changes `describe` writes, before they are applied (call it under the write lock;
    /// `tables` as they are before the change). An in-memory store does nothing and does not call
    /// `describe`. On error, the caller must not apply the change.
    fn log(
        &self,
        tables: &Tables,
        describe: impl FnOnce(&mut ChangeSet) -> Result<()>,
    ) -> Result<Option<Logged>> {
        match &self.persistence {
            Some(persistence) => persistence.log(describe, tables.bytes()),
            None => Ok(None),
        }
    }

    /// Waits until a logged change is durable as the sync policy says (call it after releasing the
    /// lock, so that concurrent writers share one fsync).
    fn commit(&self, logged: Option<Logged>) -> Result<()> {
        match (logged, &self.persistence) {
            (Some(logged), Some(persistence)) => persistence.commit(logged),
            _ => Ok(()),
        }
    }
}

/// The write lock, held by a mutation a durable store counts until it is released. What the change
/// feed lets go of meanwhile, and the hash tables emptied as they grow, are dropped after the lock is
/// released.
struct Writing<'a> {
    // Declared first: the lock is released before the count goes down. `None` only while dropped.
    tables: Option<ShardedLockWriteGuard<'a, Tables>>,
    emptied: Emptied,
    latest: &'a AtomicU64,
    _entered: Option<Entered<'a>>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let departed = self.tables.as_mut().map(|tables| {
            self.latest.store(tables.version(), Ordering::Relaxed);
            tables.feed_departed()
        });
        let emptied = std::mem::take(&mut self.emptied);
        self.tables = None;
        drop((departed, emptied));
    }
}

impl std::ops::Deref for Writing<'_> {
    type Target = Tables;

    fn deref(&self) -> &Tables {
        self.tables.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut Tables {
        self.tables.as_mut().expect("held until dropped")
    }
}

/// One handle on a store in this process. Cloning is [`Local::share`] with the same mode; the data lives until the last handle goes.
#[derive(Clone)]
pub(crate) struct Local {
    shared: Arc<Shared>,
    mode: SessionType,
}

impl Local {
    /// Opens a store: in memory, or, when the config has a path, durable in that directory (loading
    /// what it holds); `hooks` change it for a test.
    pub fn open_with(config: Config, hooks: Hooks) -> Result<Local> {
        let ids = IdHasher::default();
        let limits = Limits::of(&config);
        let clock: Arc<dyn Clock> = hooks.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut tables = Tables::new(ids.clone(), config.feed_bytes, limits);
        // One reading of the clock for the whole reopen: its records and its recency lists must
        // agree on which sessions are future-dated.
        let now = clock.now();
        let mut persistence = match &config.path {
            Some(path) => Some(Persistence::open(path, &config, &mut tables, now, hooks.faults)?),
            None => None,
        };
        if persistence.is_some() {
            tables.replayed(now);
        }
        let tables_version = tables.version();
        let tables = Arc::new(TablesLock::new(tables));
        if let Some(persistence) = &mut persistence {
            persistence.start(Arc::clone(&tables))?;
        }
        let shared = Arc::new(Shared {
            tables,
            ids,
            intake: Intake::of(&config),
            latest: AtomicU64::new(tables_version),
            feed_budget: config.feed_bytes,
            persistence,
            clock,
            limits,
            reclaimer: Mutex::new(None),
        });
        if limits.expires() && !hooks.no_reclaimer {
            let reclaimer = Reclaimer::start(Arc::downgrade(&shared), |shared| {
                Local { shared, mode: SessionType::Agent }.reclaim_batch()
            })?;
            *shared.reclaimer.lock().unwrap_or_else(|e| e.into_inner()) = Some(reclaimer);
        }
        Ok(Local { shared, mode: config.mode })
    }

    /// Forces a durable store's journal to stable storage now, whatever its sync policy; a no-op in
    /// memory. A failure poisons the store (see [`ErrorKind::Poisoned`]).
    pub fn sync(&self) -> Result<()> {
        self.shared.persistence.as_ref().map_or(Ok(()), Persistence::sync)
    }

    /// Writes a durable store's snapshot now, on the calling thread, and restarts its journal; a no-op
    /// in memory. Reads and writes go on meanwhile. (The store also does this by itself when the
    /// journal outgrows the live data by the config's `compact_factor`.)
    pub fn compact(&self) -> Result<()> {
        match &self.shared.persistence {
            Some(persistence) => persistence.compact(&self.shared.tables),
            None => Ok(()),
        }
    }

    /// Another handle on the same data, with `mode` or, when `None`, this handle's mode.
    pub fn share(&self, mode: Option<SessionType>) -> Local {
        Local { shared: self.shared.clone(), mode: mode.unwrap_or(self.mode) }
    }

    pub fn mode(&self) -> SessionType {
        self.mode
    }

    pub fn max_session_bytes(&self) -> usize {
        self.shared.intake.max_session_bytes
    }

    /// [`Store::upsert_with`](crate::Store::upsert_with), when `expected` is `None` or the stored session's version (0: there is
    /// no such session); otherwise it fails with [`ErrorKind::VersionMismatch`] and changes nothing.
    pub fn upsert_if_with<R>(
        &self,
        json: &[u8],
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        self.shared.intake.check_len(json.len())?;
        let text = self.shared.intake.readable(json::checked_text(json)?);
        let input = self.shared.intake.parse_input(&text, self.mode)?;
        let now = self.now();
        let pending = self.pending(&input, input.created_at, now, self.shared.next_version_guess());
        let liveness = self.liveness_at(now);
        let mut tables = self.shared.write();
        let before = self.expire_named(&mut tables, [pending.key], &liveness)?;
        let existing = existing(&tables, pending.key, self.mode)?;
        let stored = existing.map(|slot| tables.at(slot));
        if let Some(old) = stored {
            crate::record::touch_name(old);
        }
        check_owner(stored.and_then(|r| r.user.as_deref()), &input)?;
        check_version(&input.session_id, stored.map(|r| r.version), expected)?;
        let new = resolve(pending, stored.map(|r| r.created_at), tables.version() + 1);
        let record = self.store_one(tables, existing, new, &liveness, before)?;
        Ok(output(record.json()))
    }

    /// Stores `new` (in `existing`, or as a new session) with the sessions it evicts to keep the
    /// store's bounds, under the write lock `tables`, which it releases; then waits for durability, of
    /// this and of what the write removed `before` (see [`Local::expire_named`]).
    fn store_one(
        &self,
        mut tables: Writing<'_>,
        existing: Option<Bucket>,
        new: NewRecord,
        liveness: &Liveness,
        before: Removed,
    ) -> Result<Record> {
        let mut demand = Demand::default();
        if tables.limits().bounded() {
            if let Some(old) = existing.map(|bucket| tables.at(bucket)) {
                demand.replaces(old);
            }
            demand.added.push((new.user, new.stored.json.len()));
        }
        let victims = self.make_room(&mut tables, &demand.ready(), liveness)?;
        let first = new.version + 1;
        let logged = self.shared.log(&tables, |c| {
            c.put(&Stored::of_new(&new));
            describe_removals(c, first, &victims);
            Ok(())
        })?;
        let (record, replaced) = tables.put(existing, new);
        let record = record.clone();
        let evicted = remove_named(&mut tables, first, &victims);
        drop(tables);
        drop((replaced, evicted, before.dropped));
        self.shared.commit(before.logged)?;
        self.shared.commit(logged)?;
        Ok(record)
    }

    /// The sessions to evict (or reclaim) so that a write of `demand` keeps the store's bounds, by
    /// id; [`ErrorKind::Full`] when it cannot.
    fn make_room(
        &self,
        tables: &mut Tables,
        demand: &Demand,
        liveness: &Liveness,
    ) -> Result<Vec<(Box<str>, Removal)>> {
        if demand.added.is_empty() {
            return Ok(Vec::new());
        }
        let victims = tables.make_room(demand, liveness)?;
        Ok(named(tables, victims))
    }

    /// Under the write lock, before a write that names the sessions of `keys`: those that have
    /// expired are removed first (as changes of their own), so that the write finds them absent, as
    /// every reader already does.
    fn expire_named<'k>(
        &self,
        tables: &mut Writing<'_>,
        keys: impl IntoIterator<Item = IdKey<'k>>,
        liveness: &Liveness,
    ) -> Result<Removed> {
        if !self.shared.limits.expires() {
            return Ok(Removed::default());
        }
        let mut named = HashSet::new();
        let mut victims: Vec<(Box<str>, Removal)> = Vec::new();
        for key in keys {
            let expired = tables.find(key).is_some_and(|bucket| !tables.alive(tables.at(bucket), liveness));
            if expired && named.insert(key.id) {
                victims.push((key.id.into(), Removal::Expire));
            }
        }
        if victims.is_empty() {
            return Ok(Removed::default());
        }
        let first = tables.version() + 1;
        let logged = self.shared.log(tables, |c| {
            describe_removals(c, first, &victims);
            Ok(())
        })?;
        let dropped = remove_named(tables, first, &victims);
        Ok(Removed { logged, dropped })
    }

    /// Frees the sessions that have expired, which every call has treated as gone from the moment
    /// they expired; returns how many. They go in batches, each under the write lock, and each a
    /// change of the feed ("expire") and, in a durable store, of the journal. The store's expiry
    /// thread does this every second; a caller may do it to have the memory back at once.
    pub fn reclaim(&self) -> Result<usize> {
        if !self.shared.limits.expires() {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            match self.reclaim_batch()? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Reclaims one batch of expired sessions under one hold of the write lock, step by step until
    /// [`RECLAIM_HOLD`] has passed or [`RECLAIM_MAX`] are reclaimed; returns how many. A journal
    /// failure ends the batch: what was reclaimed before it stands, and the error is returned when
    /// nothing was.
    fn reclaim_batch(&self) -> Result<usize> {
        let liveness = self.liveness();
        let mut logs = Vec::with_capacity(RECLAIM_MAX.div_ceil(RECLAIM_STEP));
        let mut dropped = Vec::with_capacity(RECLAIM_MAX);
        let mut tables = self.shared.write();
        let held = Instant::now();
        let (mut reclaimed, mut failed) = (0, None);
        while reclaimed == 0 || (held.elapsed() < RECLAIM_HOLD && reclaimed + RECLAIM_STEP <= RECLAIM_MAX) {
            let mut victims = tables.expired(&liveness, RECLAIM_STEP);
            if victims.is_empty() {
                break;
            }
            // In the order they were last written: what the feed then shows does not depend on where
            // each was found.
            victims.sort_unstable_by_key(|&slot| tables.in_slot(slot).version);
            let victims: Vec<(Slot, Removal)> =
                victims.into_iter().map(|slot| (slot, Removal::Expire)).collect();
            let victims = named(&tables, victims);
            let first = tables.version() + 1;
            match self.shared.log(&tables, |c| {
                describe_removals(c, first, &victims);
                Ok(())
            }) {
                Ok(logged) => logs.push(logged),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            remove_named_into(&mut tables, first, &victims, &mut dropped);
            reclaimed += victims.len();
        }
        drop(tables);
        drop(dropped);
        for logged in logs {
            self.shared.commit(logged)?;
        }
        match failed {
            Some(e) if reclaimed == 0 => Err(e),
            _ => Ok(reclaimed),
        }
    }

    /// Stores every session of a JSON array, or none of them; returns the stored sessions as an array.
    pub fn upsert_many(&self, json: &[u8]) -> Result<String> {
        let text = self.shared.intake.readable(json::utf8(json)?);
        let text = text.as_ref();
        let inputs = self.shared.intake.parse_batch(text, self.mode)?;
        let now = self.now();
        let guess = self.shared.next_version_guess();
        let pending: Vec<Pending> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| self.pending(input, input.created_at, now, guess + i as u64))
            .collect();
        let liveness = self.liveness_at(now);
        let mut tables = self.shared.write();
        let before = self.expire_named(&mut tables, pending.iter().map(|p| p.key), &liveness)?;
        let first = tables.version() + 1;
        let resolved = {
            // The owner and created_at each session will have once the earlier elements of the batch
            // are stored.
            let mut earlier: HashMap<&str, (Option<&str>, i64)> = HashMap::new();
            let mut resolved = Vec::with_capacity(pending.len());
            for (i, (p, input)) in pending.into_iter().zip(&inputs).enumerate() {
                let at = |e: Error| e.at(format_args!("sessions[{i}]"));
                let slot = existing(&tables, p.key, self.mode).map_err(at)?;
                let stored = earlier
                    .get(p.key.id)
                    .copied()
                    .or_else(|| slot.map(|slot| tables.at(slot)).map(|r| (r.user.as_deref(), r.created_at)));
                check_owner(stored.and_then(|(owner, _)| owner), input).map_err(at)?;
                let new = resolve(p, stored.map(|(_, created_at)| created_at), first + i as u64);
                earlier.insert(new.id.id, (input.user_id.as_deref(), new.created_at));
                resolved.push(new);
            }
            resolved
        };
        let demand = self.demand_of_batch(&tables, &resolved);
        let victims = self.make_room(&mut tables, &demand, &liveness)?;
        let after = first + resolved.len() as u64;
        let logged = self.shared.log(&tables, |c| {
            resolved.iter().for_each(|new| c.put(&Stored::of_new(new)));
            describe_removals(c, after, &victims);
            Ok(())
        })?;
        let mut out = render::Array::with_capacity(json.len() + inputs.len() * 64 + 2);
        let mut replaced = Vec::new();
        for new in resolved {
            // Looked up again: a batch may name one session twice.
            let existing = tables.find(new.id);
            let (record, old) = tables.put(existing, new);
            out.push(record.json());
            replaced.extend(old);
        }
        let evicted = remove_named(&mut tables, after, &victims);
        drop(tables);
        drop((replaced, evicted, before.dropped));
        self.shared.commit(before.logged)?;
        self.shared.commit(logged)?;
        Ok(out.finish())
    }

    /// What storing `resolved` (in order; an id may come twice) adds to the store and replaces in
    /// it, for [`Local::make_room`]; nothing when the store has no capacity bound.
    fn demand_of_batch<'a>(&self, tables: &Tables, resolved: &[NewRecord<'a>]) -> Demand<'a> {
        let mut demand = Demand::default();
        if !tables.limits().bounded() {
            return demand;
        }
        // The user and size each id has once the batch's earlier elements are stored.
        let mut earlier: HashMap<&str, (Option<&'a str>, usize)> = HashMap::new();
        for new in resolved {
            match earlier.get(new.id.id) {
                Some(&(user, bytes)) => demand.replaced.push((user.map(ArcStr::from), bytes)),
                None => {
                    if let Some(old) = tables.find(new.id).map(|bucket| tables.at(bucket)) {
                        demand.replaces(old);
                    }
                }
            }
            demand.added.push((new.user, new.stored.json.len()));
            earlier.insert(new.id.id, (new.user, new.stored.json.len()));
        }
        demand.ready()
    }

    /// Hands the session's JSON to `output` when it exists, has this handle's type and, when `user_id`
    /// is given (and not empty), belongs to that user.
    pub fn read_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        let liveness = self.liveness();
        let tables = self.shared.read();
        match self.visible(&tables, session_id, user_id, &liveness) {
            Some(record) => {
                tables.note_read(record, liveness.now());
                Ok(output(record.json()))
            }
            None => Err(not_found(self.mode, session_id)),
        }
    }

    /// Ids of this handle's sessions matching `filter`, as a JSON array in first-insertion order.
    pub fn get_all_session_ids(&self, filter: Filter) -> String {
        let liveness = self.liveness();
        let selection = self.shared.read().select(self.mode, filter);
        let admits = |r: &Record| selection.check.admits(r);
        let reading = self.reading(&selection.snapshot, liveness);
        reading
            .build_in_insertion_order(selection.order.iter(), admits, render::Ids::default, render::Ids::push)
            .finish()
    }

    /// This handle's sessions matching `filter`, as a JSON array in first-insertion order.
    pub fn get_all_sessions(&self, filter: Filter) -> String {
        let liveness = self.liveness();
        let selection = self.shared.read().select(self.mode, filter);
        let admits = |r: &Record| selection.check.admits(r);
        let reading = self.reading(&selection.snapshot, liveness);
        reading
            .build_in_insertion_order(
                selection.order.iter(),
                admits,
                render::Sessions::default,
                render::Sessions::push,
            )
            .finish()
    }

    /// Newest first by `created_at`, ties going to the most recently inserted; `limit < 0` means all.
    pub fn get_recent_sessions(&self, filter: Filter, limit: i64) -> String {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let liveness = self.liveness();
        {
            let tables = self.shared.read();
            if let Some(records) = tables.recent_in_place(self.mode, filter, limit, &liveness) {
                return render::sessions(&records);
            }
        }
        let selection = self.shared.read().select(self.mode, filter);
        let mut sessions = render::Sessions::default();
        let mut left = limit;
        self.reading(&selection.snapshot, liveness).visit(
            selection.order.iter().rev(),
            &mut sessions,
            |sessions, r| {
                if left > 0 && selection.check.admits(r) {
                    sessions.push(r);
                    left -= 1;
                }
                left > 0
            },
        );
        sessions.finish()
    }

    /// Runs an Agno 2-style query (see [`Query`]); returns `{"sessions":[...],"total":N}`.
    pub fn query(&self, query: &Query) -> String {
        let filter = query.filter();
        let needle = query.needle();
        let liveness = self.liveness();
        let (selections, candidates) = {
            let tables = self.shared.read();
            let selections = tables.select_each(query.types(self.mode), filter);
            (selections, needle.as_ref().and_then(|n| tables.name_candidates(n.folded())))
        };
        // Every selection of a query shares one snapshot, and a query lists at least one type.
        let snapshot = &selections.first().expect("a query lists at least one type").snapshot;
        query.run(&self.reading(snapshot, liveness), &selections, needle, candidates.as_ref())
    }

    /// [`Store::rename_session_with`](crate::Store::rename_session_with), when `expected` is `None` or the session's version (0 is the
    /// version of a session that does not exist: the rename then fails with `NotFound`); otherwise it
    /// fails with [`ErrorKind::VersionMismatch`].
    pub fn rename_session_if_with<R>(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        let now = self.now();
        let liveness = self.liveness_at(now);
        let tables = self.shared.write();
        let record = self.visible(&tables, session_id, user_id, &liveness);
        check_version(session_id, record.map(|r| r.version), expected)?;
        let record = record.ok_or_else(|| not_found(self.mode, session_id))?;
        let created_at = record.created_at;
        let json = session::rename(record.json(), name, now)?;
        let input = SessionInput::parse(&json)?;
        self.shared.intake.check_size(&input)?;
        let version = tables.version() + 1;
        let pending = self.pending(&input, Some(created_at), now, version);
        let existing = tables.find(pending.key);
        let new = resolve(pending, None, version);
        let record = self.store_one(tables, existing, new, &liveness, Removed::default())?;
        Ok(output(record.json()))
    }

    /// [`Store::delete_session`](crate::Store::delete_session), when `expected` is `None` or the session's version (0: the session
    /// must not exist, and nothing is removed); otherwise it fails with
    /// [`ErrorKind::VersionMismatch`].
    pub fn delete_session_if(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
    ) -> Result<usize> {
        let liveness = self.liveness();
        let mut tables = self.shared.write();
        let version = self.visible(&tables, session_id, user_id, &liveness).map(|r| r.version);
        check_version(session_id, version, expected)?;
        if version.is_none() {
            return Ok(0);
        }
        let number = tables.version() + 1;
        let logged = self.shared.log(&tables, |c| {
            c.remove(number, session_id, Removal::Delete);
            Ok(())
        })?;
        let dropped = tables.remove(session_id, number, Removal::Delete);
        drop(tables);
        drop(dropped);
        self.shared.commit(logged)?;
        Ok(1)
    }

    /// Removes the sessions named by a JSON array of ids, as [`Store::delete_session`](crate::Store::delete_session) would each;
    /// returns how many were removed.
    ///
    /// The array is read twice, to validate it before the lock and to remove under it, rather than
    /// collected: a list of owned ids cost seven times the input's size.
    pub fn delete_sessions(&self, ids_json: &[u8], user_id: Option<&str>) -> Result<usize> {
        const WHAT: &str = "session ids";
        let text = json::checked_text(ids_json)?;
        json::for_each_str(text, WHAT, |_| {})?;
        let liveness = self.liveness();
        let mut tables = self.shared.write();
        let first = tables.version() + 1;
        let logged = self.shared.log(&tables, |c| {
            // Numbered in the order they will be removed; an id named twice is removed once.
            let mut listed = HashSet::new();
            json::for_each_str(text, WHAT, |id| {
                if self.visible(&tables, id, user_id, &liveness).is_some() && listed.insert(id.to_owned()) {
                    c.remove(first + listed.len() as u64 - 1, id, Removal::Delete);
                }
            })
        })?;
        let (mut removed, mut dropped) = (0, Vec::new());
        json::for_each_str(text, WHAT, |id| {
            if self.visible(&tables, id, user_id, &liveness).is_some() {
                if let Some(record) = tables.remove(id, first + removed as u64, Removal::Delete) {
                    removed += 1;
                    dropped.extend(record);
                }
            }
        })?;
        drop(tables);
        drop(dropped);
        self.shared.commit(logged)?;
        Ok(removed)
    }

    /// Removes every session of this handle's type; returns how many were removed.
    pub fn drop_sessions(&self) -> Result<usize> {
        let liveness = self.liveness();
        let mut tables = self.shared.write();
        if tables.len(self.mode) == 0 {
            return Ok(0);
        }
        // Expired sessions, gone for every caller, are not counted.
        let alive = tables.count_alive(self.mode, &liveness);
        let number = tables.version() + 1;
        let logged = self.shared.log(&tables, |c| {
            c.remove_type(number, self.mode);
            Ok(())
        })?;
        let (_, dropped) = tables.remove_type(self.mode, number);
        drop(tables);
        drop(dropped);
        self.shared.commit(logged)?;
        Ok(alive)
    }

    /// Appends `runs` (a JSON array of one or more runs) to the session's transcript (`runs` of a
    /// workflow_v2 session, `memory.runs` of the others, created when missing or null), touches
    /// `updated_at` and hands the stored JSON to `output`. Concurrent appends to one session all land,
    /// in some order.
    ///
    /// The new session is built without the lock from the session as read, and stored if the session
    /// has not changed meanwhile; after a few tries that lost that race, it is built under the lock.
    pub fn append_runs_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        runs_json: &[u8],
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        const UNLOCKED_TRIES: usize = 3;
        let runs = self.shared.intake.readable(json::utf8(runs_json)?);
        let runs = runs_text(&runs)?;
        for attempt in 0..=UNLOCKED_TRIES {
            let now = self.now();
            let liveness = self.liveness_at(now);
            let locked = (attempt == UNLOCKED_TRIES).then(|| self.shared.write());
            let current = match &locked {
                Some(tables) => self.visible(tables, session_id, user_id, &liveness).cloned(),
                None => self.visible(&self.shared.read(), session_id, user_id, &liveness).cloned(),
            }
            .ok_or_else(|| not_found(self.mode, session_id))?;
            let mut json = String::new();
            let input = SessionInput::with_runs_appended(current.json(), self.mode, runs, &mut json)?;
            self.shared.intake.check_size(&input)?;
            let pending =
                self.pending(&input, Some(current.created_at), now, self.shared.next_version_guess());
            let tables = match locked {
                Some(tables) => tables,
                None => self.shared.write(),
            };
            let existing = tables.find(pending.key);
            if !existing.is_some_and(|bucket| Record::ptr_eq(tables.at(bucket), &current)) {
                // Changed (or gone) since it was read: build again from what is stored now.
                continue;
            }
            let new = resolve(pending, None, tables.version() + 1);
            let record = self.store_one(tables, existing, new, &liveness, Removed::default())?;
            drop(current);
            return Ok(output(record.json()));
        }
        unreachable!("the last attempt holds the lock, so the session cannot change under it")
    }

    /// The changes after change number `after`, at most `limit` (at most [`MAX_CHANGES`]), as
    /// `{"changes":[...],"next":N,"latest":L}`: see the header's ss_changes(). With `ids_only`, stored
    /// sessions are given by id, type and version, without their JSON.
    pub fn changes(&self, after: u64, limit: usize, ids_only: bool) -> Result<String> {
        if limit == 0 {
            return Err(Error::invalid_argument("limit must be at least 1"));
        }
        // The entries (a reference count each) are taken under the lock, and rendered after it.
        let (since, latest, store) = {
            let tables = self.shared.read();
            (
                tables.changes_since(after, limit.min(MAX_CHANGES)),
                tables.version(),
                tables.store_id().to_owned(),
            )
        };
        match since {
            Since::Changes(changes) => {
                let views: Vec<render::ChangeView> = changes.iter().map(render::ChangeView::of).collect();
                Ok(render::changes(&views, after, latest, &store, ids_only))
            }
            Since::Truncated { oldest, latest } => Err(truncated(after, oldest, latest)),
        }
    }

    pub fn stats(&self) -> Stats {
        let (by_type, bytes, feed, store, held, (expired, evicted)) = {
            let tables = self.shared.read();
            (
                SessionType::ALL.map(|t| tables.len(t)),
                tables.bytes(),
                tables.feed_stats(),
                tables.store_id().to_owned(),
                tables.held(),
                tables.removed_by_bounds(),
            )
        };
        let durability = self.shared.persistence.as_ref().map(Persistence::stats);
        let (oldest, latest, kept, feed_bytes) = feed;
        let feed =
            FeedStats { store, latest, oldest, kept, bytes: feed_bytes, budget: self.shared.feed_budget };
        let bounds = BoundsStats { limits: self.shared.limits, sessions: held, bytes, expired, evicted };
        Stats { mode: self.mode, by_type, bytes, feed, bounds, durability }
    }

    /// [`Store::export`](crate::Store::export), and the number of the last change it holds: a mirror that loads the export
    /// then follows the feed after that number misses no change and sees none twice.
    pub fn export_with_seq(&self) -> (String, u64) {
        let liveness = self.liveness();
        let everything = self.shared.read().everything();
        let reading = self.reading(&everything.snapshot, liveness);
        let make = || render::Export::with_capacity(everything.bytes + everything.bytes / 16);
        let export =
            reading.build_in_insertion_order(everything.slots(), |_| true, make, render::Export::push);
        (export.finish(), everything.snapshot.at())
    }

    /// Merges an export into the store, all or nothing. Timestamps are kept as given (missing ones are
    /// filled like an upsert's); records without `session_type` take this handle's mode.
    pub fn import(&self, json: &[u8]) -> Result<usize> {
        let text = self.shared.intake.readable(json::utf8(json)?);
        let text = text.as_ref();
        let object = depth_first(text, || {
            RawObject::parse_allowing_duplicates(text, ErrorKind::InvalidArgument).map_err(|e| e.at("import"))
        })?;
        let records = depth_first(text, || self.import_records(&object))?;
        let now = self.now();
        let liveness = self.liveness_at(now);
        let guess = self.shared.next_version_guess();
        let pending: Vec<Pending> = parallel::map_in_order(&records, |i, (input, key, ty)| {
            let updated_at = input.updated_at.unwrap_or(now);
            let pending =
                self.pending_with_key(input, *key, *ty, input.created_at, updated_at, guess + i as u64);
            Ok(Pending { written_at: now, ..pending })
        })?;
        let mut tables = self.shared.write();
        let before = self.expire_named(&mut tables, pending.iter().map(|p| p.key), &liveness)?;
        // Before the look-ups: growing the id table moves its slots.
        tables.reserve(pending.len());
        let first = tables.version() + 1;
        let resolved = pending
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let slot = existing(&tables, p.key, p.ty)
                    .map_err(|e| e.at(format_args!("import[{}]", quote(p.key.id))))?;
                Ok((resolve(p, slot.map(|slot| tables.at(slot).created_at), first + i as u64), slot))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut demand = Demand::default();
        if tables.limits().bounded() {
            // Keys are unique: each record adds a session or replaces the one stored.
            for (new, slot) in &resolved {
                if let Some(old) = slot.map(|bucket| tables.at(bucket)) {
                    demand.replaces(old);
                }
                demand.added.push((new.user, new.stored.json.len()));
            }
        }
        let victims = self.make_room(&mut tables, &demand.ready(), &liveness)?;
        let after = first + resolved.len() as u64;
        let logged = self.shared.log(&tables, |c| {
            resolved.iter().for_each(|(new, _)| c.put(&Stored::of_new(new)));
            describe_removals(c, after, &victims);
            Ok(())
        })?;
        let count = resolved.len();
        let mut replaced = Vec::with_capacity(count);
        // Keys are unique, so no record replaces another imported one, and the table has room for
        // every insertion: the slots found stay right.
        let placing = tables.limits().expires() || tables.limits().bounded();
        let mut slots = Vec::with_capacity(if placing { count } else { 0 });
        for (new, slot) in resolved {
            let (record, old) = tables.put(slot, new);
            if placing {
                slots.push(record.slot);
            }
            replaced.extend(old);
        }
        tables.placed(slots.into_iter());
        let evicted = remove_named(&mut tables, after, &victims);
        drop(tables);
        drop((replaced, evicted, before.dropped));
        self.shared.commit(before.logged)?;
        self.shared.commit(logged)?;
        Ok(count)
    }

    /// Checks every record of an import, before the lock: unique keys, each a valid session whose id is
    /// its key, within the size limit. Returns each with its id's hash (computed once, for the duplicate
    /// check here and the id table under the lock) and the type it will be stored with.
    fn import_records<'a>(
        &self,
        object: &'a RawObject<'a>,
    ) -> Result<Vec<(SessionInput<'a>, IdKey<'a>, SessionType)>> {
        let keys: Vec<IdKey> = object.fields.iter().map(|(key, _)| self.shared.ids.key(key)).collect();
        let mut seen = HashTable::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            if seen.find(key.hash, |&j: &usize| keys[j].id == key.id).is_some() {
                return Err(Error::invalid_json(format!("duplicate key {}", quote(key.id))).at("import"));
            }
            seen.insert_unique(key.hash, i, |&j| keys[j].hash);
        }
        drop(seen);
        parallel::map_in_order(&object.fields, |i, (key, raw)| {
            let (input, ty) = self.shared.intake.import_record(key, raw, self.mode)?;
            Ok((input, keys[i], ty))
        })
    }

    fn pending<'i>(
        &self,
        input: &'i SessionInput,
        created_at: Option<i64>,
        updated_at: i64,
        version: u64,
    ) -> Pending<'i> {
        let key = self.shared.ids.key(&input.session_id);
        self.pending_with_key(input, key, self.mode, created_at, updated_at, version)
    }

    /// `input` on its way into the tables, as a session of type `ty`. With a known `created_at`, what
    /// is stored depends on what is stored already only by its version: it is rendered here, before
    /// the caller takes the write lock, with `version` (the version it will probably get).
    fn pending_with_key<'i>(
        &self,
        input: &'i SessionInput,
        key: IdKey<'i>,
        ty: SessionType,
        created_at: Option<i64>,
        updated_at: i64,
        version: u64,
    ) -> Pending<'i> {
        let rendered = created_at.map(|created_at| input.render(ty, created_at, updated_at, version));
        Pending { input, key, ty, created_at, updated_at, written_at: updated_at, rendered }
    }

    /// The session with this id if this call may see it: of this handle's type, of `user_id` when
    /// given (and not empty), and alive.
    fn visible<'t>(
        &self,
        tables: &'t Tables,
        session_id: &str,
        user_id: Option<&str>,
        liveness: &Liveness,
    ) -> Option<&'t Record> {
        tables.get(session_id).filter(|r| {
            r.ty() == self.mode
                && user_id.filter(|u| !u.is_empty()).is_none_or(|u| r.user.as_deref() == Some(u))
                && tables.alive(r, liveness)
        })
    }

    /// The time by this store's clock.
    fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Which sessions are alive now: all of them, without reading the clock, unless they expire.
    fn liveness(&self) -> Liveness {
        match self.shared.limits.expires() {
            true => self.shared.limits.liveness(self.now()),
            false => Liveness::EVERYTHING,
        }
    }

    /// Which sessions are alive at `now`.
    fn liveness_at(&self, now: i64) -> Liveness {
        match self.shared.limits.expires() {
            true => self.shared.limits.liveness(now),
            false => Liveness::EVERYTHING,
        }
    }

    /// The tables as of `snapshot`, taken of them, for a long read.
    fn reading<'a>(&'a self, snapshot: &'a Snapshot, liveness: Liveness) -> Reading<'a> {
        Reading::new(&self.shared.tables, snapshot, liveness)
    }

    /// A store in memory that holds `held`, for a read that needs this engine over sessions held
    /// elsewhere: a Redis store's query.
    pub fn holding(mode: SessionType, mut held: Vec<Held>) -> Result<Local> {
        let config = Config { mode, feed_bytes: 0, ..Config::default() };
        let local = Local::open_with(config, Hooks::default())?;
        held.sort_unstable_by(|a, b| a.inserted.cmp(&b.inserted));
        {
            let mut tables = local.shared.write();
            tables.reserve(held.len());
            for Held { id, ty, user, entity, created_at, updated_at, version, stored, .. } in held {
                let key = tables.hasher().key(&id);
                let new = NewRecord {
                    id: key,
                    ty,
                    user: user.as_deref(),
                    entity: entity.as_deref(),
                    created_at,
                    updated_at,
                    written_at: updated_at,
                    version,
                    stored,
                };
                tables.load(None, new);
            }
        }
        Ok(local)
    }

    /// Checks the internal indexes against the primary map; for tests and stress runs.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        self.shared.read().check_invariants()
    }
}

/// The error of a feed read after change `after` when the feed holds changes `oldest` to `latest`.
pub(crate) fn truncated(after: u64, oldest: u64, latest: u64) -> Error {
    Error::new(
        ErrorKind::FeedTruncated,
        if after > latest {
            format!(
                "change {after} was never made here (the latest is {latest}): resynchronise from an export"
            )
        } else {
            format!(
                "the feed keeps changes {oldest} to {latest}; those after {after} are gone: resynchronise from an export"
            )
        },
    )
}

/// A session held elsewhere (on a Redis server), whole, for [`Local::holding`].
pub(crate) struct Held {
    pub id: String,
    pub ty: SessionType,
    pub user: Option<String>,
    pub entity: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
    /// Orders sessions by first insertion where they are held.
    pub inserted: String,
    pub quoted_id: String,
    pub stored: Rendered,
}

/// Sessions a write removed before it (see [`Local::expire_named`]): its journal record, to commit
/// with the write, and the records to drop once the lock is released.
#[derive(Default)]
struct Removed {
    logged: Option<Logged>,
    dropped: Vec<Record>,
}

/// The ids of the sessions in `victims`' slots, with why they go.
fn named(tables: &Tables, victims: Vec<(Slot, Removal)>) -> Vec<(Box<str>, Removal)> {
    victims.into_iter().map(|(slot, why)| (tables.in_slot(slot).id().into(), why)).collect()
}

/// Journals the removals of `victims`, numbered from `first`.
fn describe_removals(c: &mut ChangeSet, first: u64, victims: &[(Box<str>, Removal)]) {
    for (i, (id, why)) in victims.iter().enumerate() {
        c.remove(first + i as u64, id, *why);
    }
}

/// Removes `victims`, numbered from `first`; returns the records to drop once the lock is released.
fn remove_named(tables: &mut Tables, first: u64, victims: &[(Box<str>, Removal)]) -> Vec<Record> {
    let mut dropped = Vec::with_capacity(victims.len());
    remove_named_into(tables, first, victims, &mut dropped);
    dropped
}

/// [`remove_named`], adding what to drop to `dropped` (sized by the caller: see [`RECLAIM_MAX`]).
fn remove_named_into(
    tables: &mut Tables,
    first: u64,
    victims: &[(Box<str>, Removal)],
    dropped: &mut Vec<Record>,
) {
    for (i, (id, why)) in victims.iter().enumerate() {
        dropped.extend(tables.remove(id, first + i as u64, *why).flatten());
    }
}

/// A session validated and ready to store; see [`Local::pending_with_key`].
struct Pending<'i> {
    input: &'i SessionInput<'i>,
    key: IdKey<'i>,
    ty: SessionType,
    created_at: Option<i64>,
    updated_at: i64,
    /// The store's clock at the write: an import may carry a later `updated_at`.
    written_at: i64,
    rendered: Option<Rendered>,
}

/// The slot of the stored session with this id, when it has type `ty`; a conflict when it has another.
fn existing(tables: &Tables, key: IdKey, ty: SessionType) -> Result<Option<Bucket>> {
    match tables.find(key) {
        Some(slot) if tables.at(slot).ty() != ty => Err(type_conflict(key.id, tables.at(slot).ty(), ty)),
        found => Ok(found),
    }
}

/// The record `pending` becomes as change number `version`, over a stored session created at
/// `stored_created_at` if any: what is journaled, then stored.
fn resolve(pending: Pending, stored_created_at: Option<i64>, version: u64) -> NewRecord {
    let Pending { input, key, ty, created_at, updated_at, written_at, rendered } = pending;
    let created_at = created_at.or(stored_created_at).unwrap_or(updated_at);
    let mut stored = rendered.unwrap_or_else(|| input.render(ty, created_at, updated_at, version));
    stored.set_version(version);
    NewRecord {
        id: key,
        ty,
        user: input.user_id.as_deref(),
        entity: input.entity_id(ty),
        created_at,
        updated_at,
        written_at,
        version,
        stored,
    }
}
