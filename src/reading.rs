//! Long reads: the records of a [`Selection`] or of [`Everything`] as of its snapshot, read in short
//! batches under the store's read lock, which a read keeps from one batch to the next only while no
//! writer waits for it. A writer waits for one batch at most, however long the read (and goes first:
//! see `crate::lock`), and a long read offers its CPU to other threads every [`YIELD_EVERY`]. Within
//! a batch, records are read with plain loads, so that their cache misses overlap: an atomic per
//! record, as a lock-free read of a changing slot needs, made listings 1.5x slower.
//!
//! What a batch produces goes to a [`Sink`], which keeps it aside and settles it into its real output
//! after the lock is released: a growing output takes page faults (2 MiB of zeroing each with
//! transparent huge pages), which cost a writer hundreds of microseconds when they happen under the
//! lock.
//!
//! [`Selection`]: crate::tables::Selection
//! [`Everything`]: crate::tables::Everything

use crate::lock::TablesLock;
use crate::order::Order;
use crate::record::{touch, Record, Slot};
use crate::retention::Liveness;
use crate::tables::Resolved;
use crate::versions::Snapshot;
use smallvec::SmallVec;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// The records read between two looks for a waiting writer: a writer waits for one batch at most.
/// While a batch's ids are read, the records of the next one are prefetched, so that the cache misses
/// of two batches overlap: with the look-ahead, and 16 records instead of 8, a listing of 10,000 ids out
/// of 100k sessions went from 1.06-1.21 ms to 0.55-0.61 ms (see `comparison/analysis.md`).
const BATCH: usize = 16;

/// The most batches read in one hold of the lock while no writer waits: taking and releasing the lock
/// (atomic read-modify-writes, which the CPU cannot overlap with the records' cache misses) for every
/// batch made listings of 100k sessions about a fifth slower.
const BATCHES_PER_HOLD: usize = 16;

/// How long a long read runs before it offers its CPU to other threads, between two holds of the lock.
/// With more busy threads than CPUs, a read that never yields keeps its whole share while a writer
/// waits for the CPU: on two vCPUs, beside a name query and an export in a loop, a writer made 52% of
/// its lone throughput and waited up to 8-36 ms for one call at 100k sessions; with reads yielding
/// every 200 us, 70% and 4.3-5.4 ms (the reads get the fewer turns). A yield with no other thread
/// waiting for the CPU returns at once, about a microsecond.
const YIELD_EVERY: Duration = Duration::from_micros(200);

/// Where a long read puts what it finds: kept aside while the read holds the lock, settled when it
/// lets go.
pub trait Sink {
    /// Moves what the last hold of the lock produced to where it belongs; called without the lock.
    fn settle(&mut self) {}

    /// Whether the hold should end early (because what is kept aside is large).
    fn full(&self) -> bool {
        false
    }
}

/// Slots with a sort key, collected by a long read.
pub struct Keyed<K> {
    pub all: Vec<(K, Slot)>,
    batch: Vec<(K, Slot)>,
}

impl<K> Keyed<K> {
    pub fn push(&mut self, key: K, slot: Slot) {
        self.batch.push((key, slot));
    }
}

impl<K> Default for Keyed<K> {
    fn default() -> Self {
        Keyed { all: Vec::new(), batch: Vec::with_capacity(BATCH) }
    }
}

impl<K> Sink for Keyed<K> {
    fn settle(&mut self) {
        self.all.append(&mut self.batch);
    }
}

/// The tables as of a snapshot: the sessions alive by a [`Liveness`] (taken with the snapshot).
pub struct Reading<'a> {
    lock: &'a TablesLock,
    snapshot: &'a Snapshot,
    liveness: Liveness,
}

impl<'a> Reading<'a> {
    /// `snapshot` must have been taken of the tables `lock` guards.
    pub fn new(lock: &'a TablesLock, snapshot: &'a Snapshot, liveness: Liveness) -> Self {
        Reading { lock, snapshot, liveness }
    }

    /// Calls `step` with `sink` and the record each of `slots` held as of the snapshot, in their
    /// order, until `step` returns false, skipping those not alive. The slots must be ones the
    /// snapshot's indexes hold; they are drawn under the lock, so their iterator must not take it.
    pub fn visit<S: Sink>(
        &self,
        slots: impl IntoIterator<Item = Slot>,
        sink: &mut S,
        mut step: impl FnMut(&mut S, &Resolved) -> bool,
    ) {
        let mut slots = slots.into_iter();
        let mut batch: Vec<Slot> = Vec::with_capacity(BATCH);
        // The batch after `batch`, whose records are prefetched while `batch` is read: see `BATCH`.
        let mut ahead: Vec<Slot> = Vec::with_capacity(BATCH);
        // The next slot of `batch` to read: a batch cut short by a full sink goes on in the next hold.
        let mut next = 0;
        let mut started = false;
        // Since when the read has not yielded; read from the clock only once a read outlasts its
        // first hold, so that a short listing costs no clock reading.
        let mut since_yield: Option<Instant> = None;
        loop {
            let going = {
                let tables = self.lock.read_batch();
                let mut going = true;
                for _ in 0..BATCHES_PER_HOLD {
                    if next == batch.len() {
                        if !std::mem::replace(&mut started, true) {
                            ahead.extend(slots.by_ref().take(BATCH));
                        }
                        std::mem::swap(&mut batch, &mut ahead);
                        ahead.clear();
                        ahead.extend(slots.by_ref().take(BATCH));
                        next = 0;
                        if batch.is_empty() {
                            going = false;
                            break;
                        }
                    }
                    let records: SmallVec<[Resolved; BATCH]> =
                        batch[next..].iter().map(|&slot| tables.resolve(slot, self.snapshot)).collect();
                    tables.touch_slots(&ahead);
                    touch(&records);
                    for record in &records {
                        next += 1;
                        if !tables.alive(record, &self.liveness) {
                            continue;
                        }
                        going = step(sink, record);
                        if !going || sink.full() {
                            break;
                        }
                    }
                    if !going || sink.full() || self.lock.writer_waiting() {
                        break;
                    }
                }
                going
            };
            sink.settle();
            if !going {
                return;
            }
            match since_yield {
                None => since_yield = Some(Instant::now()),
                Some(since) if since.elapsed() >= YIELD_EVERY => {
                    std::thread::yield_now();
                    since_yield = Some(Instant::now());
                }
                Some(_) => {}
            }
        }
    }

    /// The slots of `order` whose sessions were created in `created`, in `(created_at, seq)` order.
    pub fn created<'o>(
        &self,
        order: &'o Order,
        created: RangeInclusive<i64>,
    ) -> impl DoubleEndedIterator<Item = Slot> + 'o {
        let (&lo, &hi) = (created.start(), created.end());
        let tables = self.lock.read();
        order.range((lo, 0)..=(hi, u64::MAX), &|slot| tables.resolve(slot, self.snapshot).order_key())
    }

    /// Builds `sink` from the records of `slots` that `admits` accepts, in first-insertion order,
    /// adding each with `add`; `make` makes an empty sink. When the slots are already in that order
    /// (the usual case: sessions are mostly created in insertion order), one pass does it; otherwise
    /// two more passes, one to sort the slots and one to build again. The first pass only checks the
    /// order: collecting every record's sort key on the way, in case, made a listing of ids out of
    /// 100k sessions 1.44-1.54x the floor's time instead of 1.10-1.29x.
    pub fn build_in_insertion_order<S: Sink>(
        &self,
        slots: impl IntoIterator<Item = Slot> + Clone,
        admits: impl Fn(&Record) -> bool,
        make: impl Fn() -> S,
        add: impl Fn(&mut S, &Record),
    ) -> S {
        let mut pass = (make(), InOrder::default());
        self.visit(slots.clone(), &mut pass, |(built, order), record| {
            if admits(record) {
                order.note(record.seq());
                add(built, record);
            }
            true
        });
        let (built, order) = pass;
        if order.sorted {
            return built;
        }
        drop(built);
        let mut built = make();
        self.visit(self.in_insertion_order(slots), &mut built, |built, record| {
            if admits(record) {
                add(built, record);
            }
            true
        });
        built
    }

    /// The slots of the records of `slots`, in first-insertion order.
    pub fn in_insertion_order(&self, slots: impl IntoIterator<Item = Slot>) -> Vec<Slot> {
        let mut keys = Keyed::default();
        self.visit(slots, &mut keys, |keys, record| {
            keys.push(record.seq(), record.slot);
            true
        });
        keys.all.sort_unstable();
        keys.all.into_iter().map(|(_, slot)| slot).collect()
    }

    /// The records of `slots` as of the snapshot, to use without the lock (one reference count each).
    pub fn records(&self, slots: impl IntoIterator<Item = Slot>) -> Vec<Record> {
        let slots = slots.into_iter();
        let mut records = Vec::with_capacity(slots.size_hint().0);
        self.visit(slots, &mut records, |records, record| {
            records.push(record.to_record());
            true
        });
        records
    }
}

/// Whether the insertion numbers a long read meets come in increasing order: nothing to settle.
struct InOrder {
    last: Option<u64>,
    sorted: bool,
}

impl Default for InOrder {
    fn default() -> Self {
        InOrder { last: None, sorted: true }
    }
}

impl InOrder {
    fn note(&mut self, seq: u64) {
        self.sorted &= self.last.is_none_or(|last| last < seq);
        self.last = Some(seq);
    }
}

impl Sink for InOrder {}

/// Records kept as they are read, each with its reference count: nothing to settle.
impl Sink for Vec<Record> {}

/// Two sinks filled by one read.
impl<A: Sink, B: Sink> Sink for (A, B) {
    fn settle(&mut self) {
        self.0.settle();
        self.1.settle();
    }

    fn full(&self) -> bool {
        self.0.full() || self.1.full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionInput;
    use crate::session_type::SessionType;
    use crate::tables::{NewRecord, Tables};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::{Duration, Instant};

    fn tables_with(sessions: usize) -> Tables {
        let mut tables = Tables::default();
        for i in 0..sessions {
            let id = format!("s{i}");
            let json = format!(r#"{{"session_id":"{id}","user_id":"u"}}"#);
            let input = SessionInput::parse(&json).unwrap();
            let version = tables.version() + 1;
            let new = NewRecord {
                id: tables.hasher().clone().key(&id),
                ty: SessionType::Agent,
                user: Some("u"),
                entity: None,
                created_at: i as i64,
                updated_at: i as i64,
                written_at: i as i64,
                version,
                stored: input.render(SessionType::Agent, i as i64, i as i64, version),
            };
            tables.put(None, new);
        }
        tables
    }

    #[test]
    fn a_long_read_lets_a_waiting_writer_in_after_the_batch_it_is_reading() {
        let lock = TablesLock::new(tables_with(2 * BATCH * BATCHES_PER_HOLD));
        let everything = lock.read().everything();
        let reading = Reading::new(&lock, &everything.snapshot, Liveness::EVERYTHING);
        let visited = AtomicUsize::new(0);
        let visited_when_written = AtomicUsize::new(usize::MAX);
        std::thread::scope(|s| {
            s.spawn(|| {
                while visited.load(SeqCst) == 0 {
                    std::thread::yield_now();
                }
                let _writing = lock.write();
                visited_when_written.store(visited.load(SeqCst), SeqCst);
            });
            reading.visit(everything.slots(), &mut Keyed::<()>::default(), |_, _| {
                if visited.fetch_add(1, SeqCst) == 0 {
                    // The first record: wait, holding the lock, until the writer waits for it.
                    let started = Instant::now();
                    while !lock.writer_waiting() && started.elapsed() < Duration::from_secs(20) {
                        std::thread::yield_now();
                    }
                }
                true
            });
        });
        assert_eq!(visited.load(SeqCst), 2 * BATCH * BATCHES_PER_HOLD, "the read went on to the end");
        let at = visited_when_written.load(SeqCst);
        assert!(
            at <= BATCH,
            "the writer had the lock after {at} records were read, more than a batch ({BATCH})"
        );
    }
}
