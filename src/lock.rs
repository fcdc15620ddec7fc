//! The store's lock: many readers or one writer, where a long read, which takes the lock again and
//! again for short batches (see `crate::reading`), lets waiting writers go first.
//!
//! A plain read-write lock starves writers under such a reader: when a reader unlocks, std's lock
//! wakes the waiting writer and clears its "writer waiting" mark, and the reader, still running,
//! locks again before the writer has woken (measured: 85 upserts in 3 s while an export of 1M
//! sessions ran). Here a writer announces itself before it waits, a long read holds back while one
//! is announced, and the writer spins for the lock rather than sleeping, since it waits for one batch
//! (a few microseconds) at most.

use crate::tables::Tables;
use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a writer spins for the lock before it sleeps: well above a batch of a long read, well
/// under a scheduler's time slice.
const WRITER_SPIN: Duration = Duration::from_micros(200);

/// How long a reader waits for a lock a writer holds without sleeping: above the longest hold of a
/// writer that takes the lock batch after batch (the reclaimer's, `RECLAIM_HOLD`). A reader that
/// sleeps is woken when the writer releases the lock, and on a virtual machine whose idle CPU has
/// halted, that wake-up alone can take milliseconds (a mass expiry of 1M sessions, builds
/// alternated: the longest read 3.7-9.6 ms in four runs that slept, 1.2 and 4.1 ms in two that
/// yielded, 0.8 and 1.2 ms in two that spun). It yields rather than spins, so that a writer
/// preempted on the reader's CPU runs at once.
const READER_SPIN: Duration = Duration::from_micros(500);

/// How long a long read holds back between two batches for writers: bounded, so that a stream of
/// writers cannot stop it.
const READER_BACKOFF: Duration = Duration::from_micros(200);

pub struct TablesLock {
    /// Readers lock one of several cache-padded shards and writers lock them all: with a single lock
    /// word, every read writes the same cache line and two reading threads barely beat one.
    tables: ShardedLock<Tables>,
    /// Writers waiting for the lock.
    waiting: AtomicUsize,
}

impl TablesLock {
    pub fn new(tables: Tables) -> Self {
        TablesLock { tables: ShardedLock::new(tables), waiting: AtomicUsize::new(0) }
    }

    // A panic is caught at the C boundary, and the engine validates before it mutates, so a lock
    // poisoned by one guards tables that are still whole: carry on rather than fail every later call.

    /// For a short read.
    pub fn read(&self) -> ShardedLockReadGuard<'_, Tables> {
        let mut started = None;
        loop {
            match self.tables.try_read() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock)
                    if started.get_or_insert_with(Instant::now).elapsed() < READER_SPIN =>
                {
                    std::thread::yield_now()
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    return self.tables.read().unwrap_or_else(|poisoned| poisoned.into_inner())
                }
            }
        }
    }

    /// For the next batch of a long read: waiting writers go first (for a bounded time).
    pub fn read_batch(&self) -> ShardedLockReadGuard<'_, Tables> {
        if self.writer_waiting() {
            let started = Instant::now();
            while self.writer_waiting() && started.elapsed() < READER_BACKOFF {
                std::thread::yield_now();
            }
        }
        self.read()
    }

    /// Whether a writer waits for the lock: a long read holding it ends its hold.
    pub fn writer_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    pub fn write(&self) -> ShardedLockWriteGuard<'_, Tables> {
        if let Ok(guard) = self.tables.try_write() {
            return guard;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let started = Instant::now();
        let guard = loop {
            match self.tables.try_write() {
                Ok(guard) => break guard,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) if started.elapsed() < WRITER_SPIN => {
                    std::hint::spin_loop()
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    break self.tables.write().unwrap_or_else(|poisoned| poisoned.into_inner())
                }
            }
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        guard
    }
}
