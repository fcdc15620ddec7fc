//! The change feed: the store's latest changes, each with its number, for mirrors to follow.
//!
//! Every change to the tables has a number one above the last (the same numbers the sessions'
//! versions and snapshots use), so the feed is gapless. It keeps the newest changes up to a byte
//! budget: a stored session's entry shares the record with the tables (it costs its JSON's bytes
//! toward the budget, as the record lives on while the entry does), a removal's costs its id. A reader
//! asks for the changes after the last number it has seen; when the feed no longer holds the one that
//! follows, the reader has fallen behind and must start again from an export, which tells the number
//! of the state it holds (see `Store::export_with_seq`).

use crate::record::Record;
use crate::retention::Removal;
use crate::session_type::SessionType;
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// A new store identity: 128 random bits as 32 hexadecimal digits. Change numbers start again from 1
/// in a store made anew (an in-memory store, or a durable one in a new directory), so a follower
/// that kept a number also keeps the identity of the store it follows, and starts again from an
/// export when the identity changes. A durable store keeps its identity in its directory.
pub fn new_store_id() -> String {
    // std's RandomState is seeded from the operating system's random source.
    let half = |salt: u128| std::collections::hash_map::RandomState::new().hash_one(salt) as u128;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:032x}", half(nanos) << 64 | half(nanos ^ u128::from(std::process::id())))
}

/// What one entry costs besides the bytes of its session or id: the entry, and a fair share of
/// allocator overhead.
const ENTRY_BYTES: usize = 48;

/// One change.
#[derive(Clone, Debug)]
pub enum Change {
    /// The session stored by the change numbered with its version.
    Put(Record),
    /// The session with this id and type removed.
    Remove { number: u64, ty: SessionType, id: Box<str>, why: Removal },
    /// Every session of this type removed.
    RemoveType { number: u64, ty: SessionType },
}

impl Change {
    pub fn number(&self) -> u64 {
        match self {
            Change::Put(record) => record.version,
            Change::Remove { number, .. } | Change::RemoveType { number, .. } => *number,
        }
    }

    fn bytes(&self) -> usize {
        ENTRY_BYTES
            + match self {
                Change::Put(record) => record.json().len(),
                Change::Remove { id, .. } => id.len(),
                Change::RemoveType { .. } => 0,
            }
    }
}

/// The changes after a reader's last, or why there are none to give.
#[derive(Debug)]
pub enum Since {
    /// Up to the limit asked for, oldest first.
    Changes(Vec<Change>),
    /// The feed no longer holds the change after the one asked about: it was dropped to stay within
    /// the budget, or the number is from another life of the store (above the latest).
    Truncated { oldest: u64, latest: u64 },
}

/// The changes a feed keeps, oldest first, in chunks of [`CHUNK`]: a push never moves what is kept.
/// (One `VecDeque` that doubles its buffer copies every kept change, under the store's write lock, on
/// the push that fills it: milliseconds for the hundreds of thousands of small removals that a mass
/// expiry records.)
///
/// Pushes run under the store's write lock, so once the feed is full they allocate and free nothing
/// large: the list of chunks is sized for the most changes the budget can hold, and the chunk the
/// oldest changes leave empty takes the next ones. glibc serves such blocks (32 KiB) from its bins,
/// and during a mass expiry, with the blocks of many freed sessions waiting to be sorted or merged,
/// one such allocation took milliseconds.
#[derive(Debug, Default)]
struct Kept {
    /// Every chunk but the first and the last holds [`CHUNK`] changes; none is empty.
    chunks: VecDeque<VecDeque<Change>>,
    /// An emptied chunk, kept for the next one needed.
    spare: Option<VecDeque<Change>>,
    len: usize,
}

const CHUNK: usize = 1024;

/// The most chunks a feed makes room for up front (32 bytes each): a budget of about 200 MB. A larger
/// budget, which the configuration allows, grows the list as it fills.
const RESERVED_CHUNKS: usize = 4096;

impl Kept {
    /// Room for the chunks of `budget` bytes of the smallest changes, up to [`RESERVED_CHUNKS`].
    fn with_budget(budget: usize) -> Kept {
        let chunks = (budget / ENTRY_BYTES / CHUNK + 2).min(RESERVED_CHUNKS);
        Kept { chunks: VecDeque::with_capacity(chunks), ..Kept::default() }
    }

    fn push_back(&mut self, change: Change) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push_back(change),
            _ => {
                let mut chunk = self.spare.take().unwrap_or_else(|| VecDeque::with_capacity(CHUNK));
                chunk.push_back(change);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<Change> {
        let first = self.chunks.front_mut()?;
        let change = first.pop_front()?;
        if first.is_empty() {
            self.spare = self.chunks.pop_front();
        }
        self.len -= 1;
        Some(change)
    }

    fn front(&self) -> Option<&Change> {
        self.chunks.front().and_then(VecDeque::front)
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// The changes after the first `skip`, found without walking those.
    fn iter_from(&self, skip: usize) -> impl Iterator<Item = &Change> {
        let first = self.chunks.front().map_or(0, VecDeque::len);
        let (chunk, at) = match skip.checked_sub(first) {
            None => (0, skip),
            Some(past) => (1 + past / CHUNK, past % CHUNK),
        };
        let chunk = chunk.min(self.chunks.len());
        self.chunks
            .range(chunk..)
            .enumerate()
            .flat_map(move |(i, c)| c.range(if i == 0 { at.min(c.len()) } else { 0 }..))
    }
}

#[derive(Debug)]
pub struct Feed {
    changes: Kept,
    bytes: usize,
    budget: usize,
    /// The number of the latest change, kept or not.
    latest: u64,
    /// The store's identity (see [`new_store_id`]).
    store: String,
    /// Whether changes pushed out of the budget wait in `departed` (see [`Feed::defer_drops`]).
    deferring: bool,
    departed: Departed,
}

/// Changes pushed out of a feed, for the writer to drop once it has released the store's lock. One
/// write usually pushes out one or two (inline); a large session pushes out more.
pub type Departed = SmallVec<[Change; 2]>;

/// The most changes a writer keeps for after its lock (32 bytes each).
const MAX_DEPARTED: usize = 4096;

impl Feed {
    /// A feed that keeps at most `budget` bytes of changes (0 keeps none), for a store made anew.
    pub fn new(budget: usize) -> Feed {
        Feed {
            changes: Kept::with_budget(budget),
            bytes: 0,
            budget,
            latest: 0,
            store: new_store_id(),
            deferring: false,
            departed: Departed::new(),
        }
    }

    /// The store's identity.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// Takes the identity of a durable store's directory.
    pub fn set_store(&mut self, store: String) {
        self.store = store;
    }

    /// Records the change numbered one above the latest (or, replaying a journal, any number above
    /// it), dropping the oldest ones beyond the budget.
    pub fn push(&mut self, change: Change) {
        debug_assert!(change.number() > self.latest, "{} after {}", change.number(), self.latest);
        if change.number() != self.latest + 1 {
            // A gap (only when replaying a journal whose older part was compacted away): what came
            // before cannot be told without it.
            self.changes.clear();
            self.bytes = 0;
        }
        self.latest = change.number();
        self.bytes += change.bytes();
        self.changes.push_back(change);
        while self.bytes > self.budget {
            let Some(oldest) = self.changes.pop_front() else { break };
            self.bytes -= oldest.bytes();
            // Past the bound (a write of many sessions: an import), dropped here, under the lock: what a
            // large batch pushes out is mostly entries of sessions it still holds, and costs little to drop.
            if self.deferring && self.departed.len() < MAX_DEPARTED {
                self.departed.push(oldest);
            }
        }
    }

    /// Until [`Feed::departed`], keeps the changes that pushes drop instead of dropping them: the
    /// oldest change is often the last reference to a session long replaced, and freeing its JSON
    /// is work a writer can do after it has let readers in again.
    pub fn defer_drops(&mut self) {
        self.deferring = true;
        // The oldest change is usually the next one pushed out, and often its record's last
        // reference: loaded now, as a write begins, its cache miss overlaps the write's own work
        // instead of stalling the free at its end (with the update's early load of the old name, paired
        // row at 100k: 1.72x -> 1.62x the floor).
        if let Some(Change::Put(record)) = self.changes.front() {
            crate::record::touch_one(record);
        }
    }

    /// Ends [`Feed::defer_drops`]; returns what was pushed out meanwhile.
    pub fn departed(&mut self) -> Departed {
        self.deferring = false;
        std::mem::take(&mut self.departed)
    }

    /// Starts after change `number` with nothing kept: what a snapshot of the state as of it holds.
    pub fn start_after(&mut self, number: u64) {
        if number > self.latest {
            self.changes.clear();
            self.bytes = 0;
            self.latest = number;
        }
    }

    /// The changes numbered above `after`, at most `limit` of them.
    pub fn since(&self, after: u64, limit: usize) -> Since {
        let oldest = self.changes.front().map_or(self.latest + 1, Change::number);
        if after > self.latest || after + 1 < oldest {
            return Since::Truncated { oldest, latest: self.latest };
        }
        let skip = (after + 1 - oldest) as usize;
        Since::Changes(self.changes.iter_from(skip).take(limit).cloned().collect())
    }

    pub fn latest(&self) -> u64 {
        self.latest
    }

    /// The number of the oldest change kept (one above the latest when none is).
    pub fn oldest(&self) -> u64 {
        self.changes.front().map_or(self.latest + 1, Change::number)
    }

    pub fn len(&self) -> usize {
        self.changes.len
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(number: u64) -> Change {
        Change::Remove {
            number,
            ty: SessionType::Agent,
            id: format!("s{number}").into(),
            why: Removal::Delete,
        }
    }

    fn numbers(since: Since) -> Vec<u64> {
        match since {
            Since::Changes(changes) => changes.iter().map(Change::number).collect(),
            Since::Truncated { oldest, latest } => panic!("truncated: oldest {oldest}, latest {latest}"),
        }
    }

    #[test]
    fn readers_get_what_follows_until_it_is_dropped() {
        let mut feed = Feed::new(3 * (ENTRY_BYTES + 2));
        assert_eq!(numbers(feed.since(0, 10)), Vec::<u64>::new());
        for n in 1..=5 {
            feed.push(removal(n));
        }
        assert_eq!((feed.oldest(), feed.latest(), feed.len()), (3, 5, 3));
        assert_eq!(numbers(feed.since(2, 10)), [3, 4, 5]);
        assert_eq!(numbers(feed.since(3, 1)), [4]);
        assert_eq!(numbers(feed.since(5, 10)), Vec::<u64>::new());
        assert!(matches!(feed.since(1, 10), Since::Truncated { oldest: 3, latest: 5 }));
        assert!(matches!(feed.since(6, 10), Since::Truncated { .. }), "a number from another life");
        let mut off = Feed::new(0);
        off.push(removal(1));
        assert_eq!(numbers(off.since(1, 10)), Vec::<u64>::new());
        assert!(matches!(off.since(0, 10), Since::Truncated { oldest: 2, latest: 1 }));
        assert_eq!(feed.store().len(), 32);
        assert_ne!(feed.store(), Feed::new(0).store(), "each store has its own identity");
        feed.start_after(9);
        assert_eq!(feed.len(), 0);
        assert_eq!(numbers(feed.since(9, 10)), Vec::<u64>::new());
        assert!(matches!(feed.since(5, 10), Since::Truncated { .. }));
    }

    #[test]
    fn a_deferring_writer_gets_what_its_pushes_dropped() {
        let mut feed = Feed::new(2 * (ENTRY_BYTES + 2));
        for n in 1..=3 {
            feed.push(removal(n));
        }
        feed.defer_drops();
        feed.push(removal(4));
        feed.push(removal(5));
        let departed: Vec<u64> = feed.departed().iter().map(Change::number).collect();
        assert_eq!(departed, [2, 3], "1 went before the writer deferred");
        assert_eq!(numbers(feed.since(3, 10)), [4, 5]);
        feed.push(removal(6));
        assert!(feed.departed().is_empty(), "not deferring: dropped at once");

        // One write of many sessions keeps a bounded number for after its lock.
        feed.defer_drops();
        for n in 7..7 + 2 * MAX_DEPARTED as u64 {
            feed.push(removal(n));
        }
        let departed = feed.departed();
        assert_eq!(departed.len(), MAX_DEPARTED);
        assert_eq!(departed[0].number(), 5, "the oldest first");
        assert_eq!(numbers(feed.since(feed.latest() - 1, 10)), [feed.latest()], "the feed itself goes on");
    }

    #[test]
    fn many_changes_span_chunks_and_every_position_is_found() {
        let kept = 5 * CHUNK / 2;
        let mut feed = Feed::new(kept * (ENTRY_BYTES + 6));
        let room = feed.changes.chunks.capacity();
        let total = 4 * CHUNK as u64 + 77;
        for n in 1..=total {
            feed.push(removal(n));
        }
        // Pushes run under the store's write lock: the list of chunks never grew, and the chunk the
        // oldest changes left was taken up again rather than freed.
        assert_eq!(feed.changes.chunks.capacity(), room, "the list of chunks was sized for the budget");
        assert!(feed.changes.spare.is_none(), "the emptied chunk was reused");
        let oldest = feed.oldest();
        assert_eq!(feed.len() as u64, total + 1 - oldest);
        assert!(feed.len() > 2 * CHUNK, "{} changes kept: not across chunks", feed.len());
        for after in [oldest - 1, oldest, oldest + 1, oldest + CHUNK as u64, total - 2, total - 1, total] {
            let want: Vec<u64> = (after + 1..=total.min(after + 5)).collect();
            assert_eq!(numbers(feed.since(after, 5)), want, "after {after}");
        }
        let all = numbers(feed.since(oldest - 1, usize::MAX));
        assert_eq!(all, (oldest..=total).collect::<Vec<_>>());
    }
}
