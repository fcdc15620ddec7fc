//! Where a durable store's data lives besides memory: the journal every mutation's [`ChangeSet`] goes
//! to before it is applied, the replay of snapshot and journal on open, and the compaction thread that
//! writes a snapshot when the journal has grown a configured factor past the live data.
//!
//! The operations (store.rs) call [`Persistence::log`] under their write lock, apply the change when
//! it succeeds, and call [`Persistence::commit`] after releasing the lock: journal order is apply order,
//! and concurrent writers share an fsync. An in-memory store has no `Persistence` at all.

use crate::change::{changes, Change, ChangeSet, Stored};
use crate::config::{Config, Sync};
use crate::durable::{
    DurableError, DurableErrorKind, Journal, JournalOptions, Records, RecoveryReport, SnapshotStats,
    SyncPolicy,
};
use crate::error::{quote, Error, ErrorKind, Result};
use crate::lock::TablesLock;
use crate::reading::Reading;
use crate::record::Slot;
use crate::retention::{Liveness, Removal};
use crate::session::{Rendered, SessionInput, Span};
use crate::session_type::SessionType;
use crate::tables::{IdHasher, IdKey, NewRecord, Tables};
use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[doc(hidden)]
pub use crate::durable::FaultPlan;

/// A logged change waiting for [`Persistence::commit`]: its journal position.
#[must_use]
pub struct Logged(u64);

pub struct Persistence {
    /// Mutations between asking for the store's write lock and releasing it: what a group commit waits
    /// for before it fsyncs (see [`Persistence::commit`]).
    writers: AtomicUsize,
    /// The buffer mutations encode their changes into (see [`Persistence::log`]).
    scratch: Mutex<ChangeSet>,
    path: PathBuf,
    sync: Sync,
    journal: Arc<Journal>,
    compactor: Arc<Compactor>,
    thread: Option<JoinHandle<()>>,
    recovery: RecoveryReport,
}

/// What the compaction thread and the writers that wake it share.
struct Compactor {
    factor: u64,
    min_bytes: u64,
    /// Journal bytes appended since the last rotation: what the next snapshot makes unnecessary.
    since_rotation: AtomicU64,
    /// Set by the writer that found the journal too large, cleared by the thread when it starts a
    /// snapshot.
    wanted: AtomicBool,
    state: Mutex<CompactorState>,
    wake: Condvar,
}

#[derive(Default)]
struct CompactorState {
    stop: bool,
    runs: u64,
    failures: u64,
    last: Option<SnapshotStats>,
    last_duration: Duration,
    last_error: Option<String>,
}

/// What `ss_stats` reports about a durable store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurabilityStats {
    pub path: PathBuf,
    pub sync: Sync,
    pub journal_bytes: u64,
    pub snapshot_bytes: u64,
    pub compactions: u64,
    pub compaction_failures: u64,
    pub last_compaction_ms: u64,
    pub last_compaction_error: Option<String>,
    pub poisoned: bool,
    pub recovery: RecoveryReport,
}

impl From<DurableError> for Error {
    fn from(e: DurableError) -> Self {
        let kind = match e.kind {
            DurableErrorKind::Io => ErrorKind::Io,
            DurableErrorKind::Locked => ErrorKind::Locked,
            DurableErrorKind::Corrupt => ErrorKind::Corrupt,
            DurableErrorKind::Poisoned => ErrorKind::Poisoned,
            DurableErrorKind::Invalid => ErrorKind::TooLarge,
        };
        Error::new(kind, e.message)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Persistence {
    /// Opens the store's directory and replays its snapshot and journal into `tables` (empty), as
    /// written at `now` (the reopen's clock, which idle times count from again).
    #[doc(hidden)]
    pub fn open(
        path: &Path,
        config: &Config,
        tables: &mut Tables,
        now: i64,
        faults: Option<Arc<FaultPlan>>,
    ) -> Result<Persistence> {
        let sync = match config.sync {
            Sync::Always => SyncPolicy::Always,
            Sync::Interval => SyncPolicy::Interval(config.sync_interval()),
            Sync::Os => SyncPolicy::Os,
        };
        let (journal, recovered) = Journal::open(path, JournalOptions { sync, faults })?;
        tables.set_store_id(journal.identity(crate::feed::new_store_id)?);
        if let Some(snapshot) = recovered.snapshot {
            replay(snapshot, tables, Source::Snapshot, now)?;
        }
        replay(recovered.journal, tables, Source::Journal, now)?;
        let report = recovered.report;
        Ok(Persistence {
            writers: AtomicUsize::new(0),
            scratch: Mutex::new(ChangeSet::default()),
            path: path.to_path_buf(),
            sync: config.sync,
            journal: Arc::new(journal),
            compactor: Arc::new(Compactor {
                factor: config.compact_factor,
                min_bytes: config.compact_min_bytes,
                since_rotation: AtomicU64::new(report.journal_bytes),
                wanted: AtomicBool::new(false),
                state: Mutex::new(CompactorState::default()),
                wake: Condvar::new(),
            }),
            thread: None,
            recovery: report,
        })
    }

    /// Starts the compaction thread, which snapshots `tables`.
    pub fn start(&mut self, tables: Arc<TablesLock>) -> Result<()> {
        let (journal, compactor) = (Arc::clone(&self.journal), Arc::clone(&self.compactor));
        let thread = std::thread::Builder::new()
            .name("sessionstore-compact".into())
            .spawn(move || compactor.run(&tables, &journal))
            .map_err(|e| Error::io(format!("starting the compaction thread: {e}")))?;
        self.thread = Some(thread);
        Ok(())
    }

    /// Journals `changes` (call it under the store's write lock, before applying them). On error
    /// nothing was journaled and the caller must not apply them. `live_bytes` is the store's size
    /// before the change, for the compaction trigger.
    pub fn log(
        &self,
        describe: impl FnOnce(&mut ChangeSet) -> Result<()>,
        live_bytes: usize,
    ) -> Result<Option<Logged>> {
        // Taken only under the store's write lock, so never waited for: it saves an allocation per
        // mutation.
        let mut changes = lock(&self.scratch);
        changes.clear();
        describe(&mut changes)?;
        if changes.is_empty() {
            return Ok(None);
        }
        let lsn = self.journal.append(changes.as_bytes())?;
        let appended = changes.as_bytes().len() as u64 + 8;
        let since = self.compactor.since_rotation.fetch_add(appended, Ordering::Relaxed) + appended;
        if since > self.compactor.min_bytes
            && since / self.compactor.factor > live_bytes as u64
            && !self.compactor.wanted.swap(true, Ordering::AcqRel)
        {
            self.compactor.wake.notify_one();
        }
        changes.shrink_to(SCRATCH_KEPT);
        Ok(Some(Logged(lsn)))
    }

    /// Counts a mutation on its way to the write lock until the returned guard drops (after the lock
    /// is released).
    pub fn enter(&self) -> Entered<'_> {
        self.writers.fetch_add(1, Ordering::AcqRel);
        Entered(&self.writers)
    }

    /// Waits until a logged change is durable under the sync policy (call it without the lock). Under
    /// "always", the committer that fsyncs for everyone first lets the mutations already queued for
    /// the write lock append (for at most [`GATHER_LIMIT`]): with several writers, an fsync that
    /// started the moment the previous one ended would cover one of them and leave the rest to the
    /// next.
    pub fn commit(&self, logged: Logged) -> Result<()> {
        Ok(self.journal.commit_gathering(logged.0, || {
            let started = Instant::now();
            while self.writers.load(Ordering::Acquire) > 0 && started.elapsed() < GATHER_LIMIT {
                std::thread::yield_now();
            }
        })?)
    }

    /// fsyncs the journal now, whatever the policy.
    pub fn sync(&self) -> Result<()> {
        Ok(self.journal.sync()?)
    }

    /// Writes a snapshot now and restarts the journal, on the calling thread.
    pub fn compact(&self, tables: &TablesLock) -> Result<()> {
        self.compactor.compact_recording(tables, &self.journal)
    }

    pub fn stats(&self) -> DurabilityStats {
        let sizes = self.journal.sizes();
        let state = lock(&self.compactor.state);
        DurabilityStats {
            path: self.path.clone(),
            sync: self.sync,
            journal_bytes: sizes.journal_bytes,
            snapshot_bytes: sizes.snapshot_bytes,
            compactions: state.runs,
            compaction_failures: state.failures,
            last_compaction_ms: state.last_duration.as_millis() as u64,
            last_compaction_error: state.last_error.clone(),
            poisoned: self.journal.is_poisoned(),
            recovery: self.recovery.clone(),
        }
    }
}

impl Drop for Persistence {
    /// Stops the compaction thread (a snapshot in progress is abandoned: the journal still holds
    /// everything); the journal then closes itself, fsyncing.
    fn drop(&mut self) {
        lock(&self.compactor.state).stop = true;
        self.compactor.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The longest a group commit waits for queued writers before it fsyncs: well under one fsync.
const GATHER_LIMIT: Duration = Duration::from_micros(100);

/// A mutation counted by [`Persistence::enter`].
pub struct Entered<'a>(&'a AtomicUsize);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The most capacity the scratch buffer keeps between mutations: one large batch must not pin its size.
const SCRATCH_KEPT: usize = 1 << 20;

/// How long the compaction thread waits after a failed snapshot before another may start.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sessions a snapshot reads under the store's lock (in batches) before writing them without it.
const SNAPSHOT_CHUNK: usize = 4096;

/// A snapshot was abandoned because the store is closing.
#[derive(Debug)]
struct Stopping;

impl Compactor {
    fn run(&self, tables: &TablesLock, journal: &Journal) {
        loop {
            {
                let mut state = lock(&self.state);
                while !state.stop && !self.wanted.load(Ordering::Acquire) {
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.stop {
                    return;
                }
            }
            // Cleared before the snapshot starts: a writer that finds the journal too large again
            // meanwhile (it counts only what comes after the rotation) asks for the next one.
            self.wanted.store(false, Ordering::Release);
            // A failure is recorded for ss_stats; the next trigger tries again, but not at once: a full
            // disk would otherwise have every write start another doomed snapshot.
            if self.compact_recording(tables, journal).is_err() {
                let state = lock(&self.state);
                let _ = self.wake.wait_timeout_while(state, RETRY_AFTER, |s| !s.stop);
            }
        }
    }

    fn compact_recording(&self, tables: &TablesLock, journal: &Journal) -> Result<()> {
        let started = Instant::now();
        let result = self.compact(tables, journal);
        let mut state = lock(&self.state);
        state.last_duration = started.elapsed();
        match &result {
            Ok(Some(stats)) => {
                state.runs += 1;
                state.last = Some(*stats);
                state.last_error = None;
            }
            Ok(None) => {}
            Err(e) => {
                state.failures += 1;
                state.last_error = Some(e.message.clone());
            }
        }
        result.map(|_| ())
    }

    /// Rotates the journal under the store's write lock, taking the state as of that moment (in O(1):
    /// see [`Tables::everything`]), then writes it without the lock. `None`: abandoned for a close.
    /// The old journal is fsynced before the lock is taken, so that the rotation's fsync of it under
    /// the lock has little to write: under "interval", fsyncing all of it there stopped every read and
    /// write for 9-37 ms per compaction.
    fn compact(&self, tables: &TablesLock, journal: &Journal) -> Result<Option<SnapshotStats>> {
        journal.sync_ahead_of_rotation()?;
        let (generation, everything) = {
            let tables = tables.write();
            let generation = journal.rotate()?;
            self.since_rotation.store(0, Ordering::Relaxed);
            (generation, tables.everything())
        };
        // Everything held, expired sessions included: a snapshot is the state as of its change number.
        let reading = Reading::new(tables, &everything.snapshot, Liveness::EVERYTHING);
        let slots: Vec<Slot> = reading.in_insertion_order(everything.slots());
        let mut change = ChangeSet::default();
        let written = journal.write_snapshot(generation, |out| {
            // The state as of this change: the next one is numbered above it after a reopen, even
            // when the last changes were removals that left no session behind.
            change.mark(everything.snapshot.at());
            out.record(change.as_bytes())?;
            // Taken a chunk at a time under the lock, written without it.
            for chunk in slots.chunks(SNAPSHOT_CHUNK) {
                if lock(&self.state).stop {
                    return Err(std::io::Error::other(Stopping));
                }
                for record in reading.records(chunk.iter().copied()) {
                    change.clear();
                    change.put(&Stored::of_record(&record));
                    out.record(change.as_bytes())?;
                }
            }
            Ok(())
        });
        match written {
            Ok(stats) => Ok(Some(stats)),
            Err(_) if lock(&self.state).stop => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl std::fmt::Display for Stopping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store is closing")
    }
}

impl std::error::Error for Stopping {}

/// Records decoded and parsed per message from the reading thread to the applying one.
const REPLAY_BATCH: usize = 512;

/// Changes read back, parsed on the reading thread and applied on the other. Their short strings
/// (ids, users, entities) sit in `text`, and the applying thread sends each batch back to be
/// refilled: with glibc's allocator, memory one thread allocates and another frees takes the
/// allocating thread's arena lock on every free, and at 1M sessions that contention (two frees a
/// session, 70,000 context switches) was half the time of an open.
#[derive(Default)]
struct Batch {
    changes: Vec<Replayed>,
    text: String,
}

impl Batch {
    fn keep(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }
}

/// A change read back. Numbers are `None` in a journal written by version 0.2: the changes are then
/// numbered in order.
enum Replayed {
    Put(Put),
    Remove(Option<u64>, Range<usize>, Removal),
    RemoveType(Option<u64>, SessionType),
    Mark(u64),
}

/// A stored session read back, with its id (decoded, in the batch's text) and the id's hash found on
/// the reading thread.
struct Put {
    id: Range<usize>,
    hash: u64,
    ty: SessionType,
    user: Option<Range<usize>>,
    entity: Option<Range<usize>>,
    created_at: i64,
    updated_at: i64,
    /// `None`: a session journaled by version 0.2, whose JSON has no version yet.
    version: Option<u64>,
    stored: Rendered,
}

/// Whether a replayed record is a snapshot's (sessions as of the snapshot's mark, in insertion order)
/// or a journal's (changes in the order they were made).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Snapshot,
    Journal,
}

/// Applies every record of `records` to `tables`, in order: this thread reads, checks and parses
/// while another inserts (on open, both halves cost about the same). The thread that parses allocates
/// the sessions' JSON, nearly all the memory an open takes, so it is the caller's: glibc grows a
/// thread's arena other than the main one a page at a time, one `mprotect` per four sessions of
/// 1 KiB (260,000 calls, a sixth of the reading thread's time, at 1M), where the main arena grows
/// 128 KiB at a time.
fn replay(mut records: Records, tables: &mut Tables, source: Source, now: i64) -> Result<()> {
    tables.reserve(records.remaining().min(1 << 24) as usize);
    let hasher = tables.hasher().clone();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(8);
    let (recycle, recycled) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let applier = std::thread::Builder::new()
            .name("sessionstore-replay".into())
            .spawn_scoped(scope, move || -> Result<()> {
                for mut batch in receiver {
                    for change in batch.changes.drain(..) {
                        apply(change, &batch.text, tables, source, now)?;
                    }
                    batch.text.clear();
                    // The reader may have finished: the batch is then dropped here, once.
                    let _ = recycle.send(batch);
                }
                Ok(())
            })
            .map_err(|e| Error::io(format!("starting the replay thread: {e}")))?;
        let read = (|| -> Result<()> {
            let mut batch = Batch::default();
            loop {
                let more = match records.next_record()? {
                    Some(payload) => {
                        for change in changes(payload) {
                            let replayed = parse(change?, &hasher, &mut batch)?;
                            batch.changes.push(replayed);
                        }
                        true
                    }
                    None => false,
                };
                if batch.changes.len() >= REPLAY_BATCH || !more {
                    let next = recycled.try_recv().unwrap_or_default();
                    // A send fails when the applier stopped at an error, which it returns.
                    if sender.send(std::mem::replace(&mut batch, next)).is_err() || !more {
                        return Ok(());
                    }
                }
            }
        })();
        drop(sender);
        let applied = applier.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The first error in the file's order: the applier's, if any, is at a record before the one
        // the reader stopped at.
        applied.and(read)
    })
}

fn parse(change: Change, hasher: &IdHasher, batch: &mut Batch) -> Result<Replayed> {
    Ok(match change {
        Change::Put(stored) => {
            let id = json_string(stored.json, &stored.id_span);
            Replayed::Put(Put {
                id: batch.keep(&id),
                hash: hasher.key(&id).hash,
                ty: stored.ty,
                user: stored.user.map(|user| batch.keep(user)),
                entity: stored.entity.map(|entity| batch.keep(entity)),
                created_at: stored.created_at,
                updated_at: stored.updated_at,
                version: stored.version.as_ref().map(|(version, _)| *version),
                stored: Rendered {
                    json: stored.json.to_owned(),
                    id_span: stored.id_span,
                    name_span: stored.name_span,
                    version_span: stored.version.map_or(0..0, |(_, span)| span),
                    created_span: None,
                },
            })
        }
        Change::Remove(number, id, why) => Replayed::Remove(number, batch.keep(id), why),
        Change::RemoveType(number, ty) => Replayed::RemoveType(number, ty),
        Change::Mark(number) => Replayed::Mark(number),
    })
}

/// The value of the JSON string at `span` of `json` (checked by the decoder).
fn json_string<'a>(json: &'a str, span: &Span) -> Cow<'a, str> {
    let quoted = &json[span.clone()];
    match quoted.contains('\\') {
        false => Cow::Borrowed(&quoted[1..quoted.len() - 1]),
        true => Cow::Owned(serde_json::from_str(quoted).unwrap_or_default()),
    }
}

/// The number a replayed change takes: its own, which must come after the tables' last (but in a
/// snapshot, whose sessions come in insertion order), or, in a journal of version 0.2, the next.
fn number_of(number: Option<u64>, tables: &Tables, source: Source) -> Result<u64> {
    match number {
        None => Ok(tables.version() + 1),
        Some(n) if source == Source::Snapshot || n > tables.version() => Ok(n),
        Some(n) => Err(Error::new(
            ErrorKind::Corrupt,
            format!("journaled change {n} comes after change {}: changes are out of order", tables.version()),
        )),
    }
}

fn apply(change: Replayed, text: &str, tables: &mut Tables, source: Source, now: i64) -> Result<()> {
    match change {
        Replayed::Put(put) => {
            let version = number_of(put.version, tables, source)?;
            let mut stored = put.stored;
            if put.version.is_none() {
                // Journaled by version 0.2: the session gets the version field sessions now carry.
                let input = SessionInput::parse(&stored.json)?;
                stored = input.render(put.ty, put.created_at, put.updated_at, version);
            }
            let id = IdKey { id: &text[put.id], hash: put.hash };
            let slot = tables.find(id);
            // The live store never stores a session over one of another type.
            if slot.is_some_and(|slot| tables.at(slot).ty() != put.ty) {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("journaled session {} changes its session_type", quote(id.id)),
                ));
            }
            let new = NewRecord {
                id,
                ty: put.ty,
                user: put.user.map(|range| &text[range]),
                entity: put.entity.map(|range| &text[range]),
                created_at: put.created_at,
                updated_at: put.updated_at,
                // The reopen counts idle times again, from its own clock (`Tables::replayed`).
                written_at: now,
                version,
                stored,
            };
            match source {
                Source::Snapshot => tables.load(slot, new),
                Source::Journal => drop(tables.put(slot, new)),
            }
        }
        Replayed::Remove(number, id, why) => {
            let number = number_of(number, tables, source)?;
            if tables.remove(&text[id], number, why).is_none() {
                // Not there: nothing to replay, but the number was the live store's.
                tables.mark_gap(number);
            }
        }
        Replayed::RemoveType(number, ty) => {
            let number = number_of(number, tables, source)?;
            tables.remove_type(ty, number);
        }
        Replayed::Mark(number) => tables.mark(number),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::durable::{Journal, JournalOptions, SyncPolicy};
    use crate::{Config, Store};

    /// A change entry as version 0.2 wrote them: tag, u32 length, body.
    fn entry(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A stored session as version 0.2 journaled it ("S"): no version, in the JSON or beside it.
    fn unnumbered_put(json: &str, user: Option<&str>) -> Vec<u8> {
        let mut body = vec![0u8]; // agent
        body.extend_from_slice(&5i64.to_le_bytes());
        body.extend_from_slice(&6i64.to_le_bytes());
        let id = json.find(r#""session_id":"#).unwrap() + r#""session_id":"#.len();
        let id_end = id + json[id + 1..].find('"').unwrap() + 2;
        for n in [id as u32, id_end as u32, u32::MAX, u32::MAX] {
            body.extend_from_slice(&n.to_le_bytes());
        }
        for text in [user, None] {
            body.extend_from_slice(&text.map_or(u32::MAX, |t| t.len() as u32).to_le_bytes());
            body.extend_from_slice(text.unwrap_or("").as_bytes());
        }
        body.extend_from_slice(json.as_bytes());
        entry(b'S', &body)
    }

    #[test]
    fn a_journal_of_version_0_2_opens_with_its_changes_numbered_in_order() {
        let dir = std::env::temp_dir().join(format!("ss-persistence-v02-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (journal, _) = Journal::open(&dir, JournalOptions::new(SyncPolicy::Os)).unwrap();
        let one = r#"{"session_id":"s1","user_id":"u","session_type":"agent","created_at":5,"updated_at":6}"#;
        let two = r#"{"session_id":"s2","session_type":"agent","created_at":5,"updated_at":6}"#;
        journal.append(&[unnumbered_put(one, Some("u")), unnumbered_put(two, None)].concat()).unwrap();
        journal.append(&entry(b'R', b"s2")).unwrap();
        journal.close().unwrap();

        let store = Store::open(Config { path: Some(dir.clone()), ..Config::default() }).unwrap();
        let s1: serde_json::Value = serde_json::from_str(&store.read("s1", None).unwrap()).unwrap();
        assert_eq!((s1["version"].as_u64(), s1["user_id"].as_str()), (Some(1), Some("u")));
        assert_eq!(store.read("s2", None).unwrap_err().kind, crate::ErrorKind::NotFound);
        assert_eq!(store.stats().unwrap().feed.latest, 3, "two puts and a removal");
        let next: serde_json::Value =
            serde_json::from_str(&store.upsert(br#"{"session_id":"s3"}"#).unwrap()).unwrap();
        assert_eq!(next["version"], 4);
        store.check_invariants().unwrap();
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The replay's applying thread refuses what the live store never writes, and its error fails
    /// the open, whatever the reading thread is doing then.
    #[test]
    fn a_journaled_session_that_changes_its_type_fails_the_open_as_corrupt() {
        let dir = std::env::temp_dir().join(format!("ss-persistence-type-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (journal, _) = Journal::open(&dir, JournalOptions::new(SyncPolicy::Os)).unwrap();
        let json = r#"{"session_id":"s1","created_at":5,"updated_at":6}"#;
        let mut as_team = unnumbered_put(json, None);
        as_team[5] = 1; // the body's first byte: the session type's index
        journal.append(&unnumbered_put(json, None)).unwrap();
        journal.append(&as_team).unwrap();
        // Enough records after it that the reading thread is still busy when the applier stops.
        for i in 0..5_000 {
            journal.append(&unnumbered_put(&format!(r#"{{"session_id":"later-{i}"}}"#), None)).unwrap();
        }
        journal.close().unwrap();

        let Err(err) = Store::open(Config { path: Some(dir.clone()), ..Config::default() }) else {
            panic!("the open succeeded");
        };
        assert_eq!(err.kind, crate::ErrorKind::Corrupt, "{err}");
        assert!(err.message.contains(r#""s1" changes its session_type"#), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
