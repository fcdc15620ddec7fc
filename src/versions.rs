//! Snapshots: what lets a long read see one state of the store while writers go on.
//!
//! Every change to the tables has a number (the tables' version), and every record carries the number
//! of the change that stored it. A [`Snapshot`] is taken under the store's lock and remembers the last
//! change it sees; a long read then reads in short batches, each under the lock, with writers in
//! between. The tables replace records in place, so the records a snapshot may still need are kept
//! here: a writer that replaces or removes a record while some snapshot sees it hands the old record
//! to [`Versions::retire`], and a reader who finds a slot holding something newer than its snapshot
//! finds the older one here.
//!
//! Writers pay one retirement per write while a snapshot that sees the old record is alive, and nothing
//! otherwise; no structure is copied. When the oldest snapshot goes, every record that only it (or
//! snapshots already gone) needed is freed, in the order they were retired.

use crate::record::{Record, Slot};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The snapshots alive and the records kept for them.
#[derive(Default)]
pub struct Versions {
    /// How many snapshots are alive: writers look here before taking `kept`'s lock.
    live: AtomicUsize,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The changes snapshots were taken after, with how many snapshots each.
    live: BTreeMap<u64, usize>,
    /// Retired records by slot, oldest first.
    by_slot: HashMap<Slot, VecDeque<Record>>,
    /// (change that retired it, its slot), in retirement order: what to free when snapshots go.
    retired: VecDeque<(u64, Slot)>,
}

impl Versions {
    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the tables as of change `at`, the last one applied. Call it under the store's
    /// lock, so that no change happens between reading `at` and registering the snapshot.
    pub fn snapshot(self: &Arc<Self>, at: u64) -> Snapshot {
        let mut kept = self.kept();
        *kept.live.entry(at).or_default() += 1;
        self.live.fetch_add(1, Ordering::AcqRel);
        Snapshot { at, versions: Arc::clone(self) }
    }

    /// Keeps `old`, the record `slot` held until change `at` replaced or removed it, for the snapshots
    /// that see it. Returns it when none does, for the caller to drop after releasing its lock. Call it
    /// under the store's write lock.
    pub fn retire(&self, slot: Slot, old: Record, at: u64) -> Option<Record> {
        // No snapshot can be taken meanwhile: they are taken under the store's lock, which the caller
        // holds for writing.
        if self.live.load(Ordering::Acquire) == 0 {
            return Some(old);
        }
        let mut kept = self.kept();
        // A snapshot sees `old` if it was taken after `old` was stored (and, necessarily, before `at`).
        if kept.live.last_key_value().is_none_or(|(&newest, _)| newest < old.version) {
            return Some(old);
        }
        kept.by_slot.entry(slot).or_default().push_back(old);
        kept.retired.push_back((at, slot));
        None
    }

    /// The record `slot` held as of change `at`, retired since.
    fn older(&self, slot: Slot, at: u64) -> Record {
        let kept = self.kept();
        let versions = kept.by_slot.get(&slot).expect("a snapshot's records are kept while it lives");
        versions.iter().rev().find(|r| r.version <= at).expect("a record as old as the snapshot").clone()
    }

    /// Forgets a snapshot taken after change `at`, and frees what no snapshot needs any more.
    fn release(&self, at: u64) {
        let freed = {
            let mut kept = self.kept();
            match kept.live.get_mut(&at) {
                Some(count) if *count > 1 => *count -= 1,
                _ => {
                    kept.live.remove(&at);
                }
            }
            self.live.fetch_sub(1, Ordering::AcqRel);
            // A record retired by change `w` is needed by the snapshots taken before `w` only.
            let oldest = kept.live.first_key_value().map_or(u64::MAX, |(&oldest, _)| oldest);
            let mut freed = Vec::new();
            while let Some(&(retired_at, slot)) = kept.retired.front() {
                if retired_at > oldest {
                    break;
                }
                kept.retired.pop_front();
                let versions = kept.by_slot.get_mut(&slot).expect("a retired record is kept");
                freed.push(versions.pop_front().expect("a retired record is kept"));
                if versions.is_empty() {
                    kept.by_slot.remove(&slot);
                }
            }
            freed
        };
        // Dropped after the lock is released: freeing records costs cache misses.
        drop(freed);
    }

    /// Checks that records are kept only while snapshots live; for tests.
    pub fn check(&self) -> Result<(), String> {
        let kept = self.kept();
        let live: usize = kept.live.values().sum();
        let by_slot: usize = kept.by_slot.values().map(VecDeque::len).sum();
        if live != self.live.load(Ordering::Acquire) || by_slot != kept.retired.len() {
            return Err(format!(
                "{live} snapshots registered, {by_slot} records kept for {}",
                kept.retired.len()
            ));
        }
        if live == 0 && by_slot > 0 {
            return Err(format!("{by_slot} records kept with no snapshot alive"));
        }
        Ok(())
    }
}

/// The tables as of one change, for as long as this value lives. See the module's documentation.
pub struct Snapshot {
    at: u64,
    versions: Arc<Versions>,
}

impl Snapshot {
    /// The number of the last change the snapshot sees.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// Whether the snapshot sees `record`, stored by a change it came after.
    pub fn sees(&self, record: &Record) -> bool {
        record.version <= self.at
    }

    /// The record `slot` held as of this snapshot, replaced or removed since (and so kept). Rare and
    /// slow (a mutex): kept out of line, so that the common case of [`crate::tables::Tables::resolve`]
    /// inlines into long reads' loops.
    #[cold]
    #[inline(never)]
    pub fn kept(&self, slot: Slot) -> Record {
        self.versions.older(slot, self.at)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.versions.release(self.at);
    }
}
