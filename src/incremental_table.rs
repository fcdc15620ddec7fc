//! A hash table that grows without stopping the store: the id table, and the tables of user and
//! entity ids.
//!
//! A hash table grows by moving every entry into a table twice the size, and these tables' entries
//! are hashed from strings behind pointers: at 917,504 sessions, the insert that outgrew the id table
//! rehashed every record's id (two cache misses and a SipHash each) in 470 ms, and at 57,344 users
//! the user table took 11 ms, holding the write lock while every reader and writer waited; a table
//! worn by removals rehashed in place the same way. Here, as in Redis's dictionaries, the full table
//! is set aside and a new one of twice its live size takes the inserts, while every write moves
//! [`MOVES_PER_WRITE`] entries from the old table to the new one. Until the old table is empty,
//! lookups try both.

use hashbrown::HashTable;
use smallvec::SmallVec;

/// Entries moved from the old table per write while it lasts: the old table is empty once an eighth
/// of its size has been written. At 1M sessions, a write that moves 8 ids takes about 0.8 µs longer
/// (their records and ids brought into the cache together, see [`Rehash`]; one at a time, 3.5 µs).
const MOVES_PER_WRITE: usize = 8;

/// Buckets of the old table looked at per write, at most: it bounds a write's scan where removals
/// left the old table sparse. Counted apart from the moves so that the table still empties in a
/// bounded number of writes: 8 moves or 128 buckets, whichever comes first.
const BUCKETS_PER_WRITE: usize = 128;

/// Where an entry is: valid until the next [`IncrementalTable::insert_unique`] or
/// [`IncrementalTable::step_for_write`] (removals do not move entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    in_old: bool,
    index: usize,
}

/// How a table's entries are hashed again when they move, and how a batch of them is brought into
/// the cache first: their hashes are read through pointers, and a loop that only loads lets the CPU
/// wait for the misses of a whole batch at once, where hashing them one by one waits for each.
pub struct Rehash<'a, T> {
    pub hash: &'a dyn Fn(&T) -> u64,
    pub touch: &'a dyn Fn(&[T]),
}

/// An emptied old table: only its memory is left to free.
pub struct Emptied<T> {
    _table: HashTable<T>,
}

/// A table being emptied into the current one, from bucket `next` up.
struct Draining<T> {
    table: HashTable<T>,
    next: usize,
}

pub struct IncrementalTable<T> {
    table: HashTable<T>,
    old: Option<Draining<T>>,
}

impl<T> Default for IncrementalTable<T> {
    fn default() -> Self {
        IncrementalTable { table: HashTable::new(), old: None }
    }
}

impl<T> IncrementalTable<T> {
    pub fn len(&self) -> usize {
        self.table.len() + self.old.as_ref().map_or(0, |old| old.table.len())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.table.iter().chain(self.old.iter().flat_map(|old| old.table.iter()))
    }

    /// The entry with this hash that `eq` accepts. The old table goes first: while it lasts, it holds
    /// most of the entries.
    pub fn find(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<Bucket> {
        if let Some(old) = &self.old {
            if let Some(index) = old.table.find_bucket_index(hash, &mut eq) {
                return Some(Bucket { in_old: true, index });
            }
        }
        let index = self.table.find_bucket_index(hash, eq)?;
        Some(Bucket { in_old: false, index })
    }

    fn holding(&self, bucket: Bucket) -> &HashTable<T> {
        match (bucket.in_old, &self.old) {
            (true, Some(old)) => &old.table,
            (true, None) => panic!("a bucket of an old table after it was emptied"),
            (false, _) => &self.table,
        }
    }

    pub fn get(&self, bucket: Bucket) -> &T {
        self.holding(bucket).get_bucket(bucket.index).expect("a bucket from find")
    }

    pub fn get_mut(&mut self, bucket: Bucket) -> &mut T {
        let table = match (bucket.in_old, &mut self.old) {
            (true, Some(old)) => &mut old.table,
            (true, None) => panic!("a bucket of an old table after it was emptied"),
            (false, _) => &mut self.table,
        };
        table.get_bucket_mut(bucket.index).expect("a bucket from find")
    }

    /// Removes and returns the entry with this hash that `eq` accepts.
    pub fn remove(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<T> {
        if let Some(old) = &mut self.old {
            if let Ok(entry) = old.table.find_entry(hash, &mut eq) {
                return Some(entry.remove().0);
            }
        }
        self.table.find_entry(hash, eq).ok().map(|entry| entry.remove().0)
    }

    /// Inserts an entry whose hash is `hash` and which the table does not hold; returns where it
    /// went. When the current table is full, it becomes the old one (see the module's comment).
    pub fn insert_unique(&mut self, hash: u64, value: T, hasher: impl Fn(&T) -> u64) -> Bucket {
        if self.table.len() == self.table.capacity() {
            self.set_aside(0, &hasher);
        }
        let index = self.table.insert_unique(hash, value, hasher).bucket_index();
        Bucket { in_old: false, index }
    }

    /// Room for `additional` more entries: inserting them moves entries a few at a time, never all at
    /// once.
    pub fn reserve(&mut self, additional: usize, hasher: impl Fn(&T) -> u64) {
        if self.table.capacity() - self.table.len() < additional {
            self.set_aside(additional, &hasher);
        }
    }

    /// Makes the current table the old one and starts a new one, with room for twice the entries
    /// held plus `additional`. An old table still draining is emptied first: that happens only when
    /// [`IncrementalTable::reserve`] asks for more than the new table was given, before a large import.
    fn set_aside(&mut self, additional: usize, hasher: &impl Fn(&T) -> u64) {
        if self.old.is_some() {
            let touch = |_: &[T]| {};
            drop(self.step(usize::MAX, usize::MAX, &Rehash { hash: hasher, touch: &touch }));
        }
        let capacity = (2 * self.table.len()).max(self.table.len() + additional);
        let full = std::mem::replace(&mut self.table, HashTable::with_capacity(capacity));
        if !full.is_empty() {
            self.old = Some(Draining { table: full, next: 0 });
        }
    }

    /// Moves up to `moves` entries out of the old table, if there is one, looking at `buckets` of its
    /// buckets at most, in batches that `touch` is given before they are hashed; returns the old table
    /// once it is empty.
    fn step(&mut self, moves: usize, buckets: usize, rehash: &Rehash<'_, T>) -> Option<Emptied<T>> {
        let old = self.old.as_mut()?;
        let end = old.table.num_buckets().min(old.next.saturating_add(buckets));
        let mut moved = 0;
        while moved < moves && old.next < end {
            let mut batch: SmallVec<[T; MOVES_PER_WRITE]> = SmallVec::new();
            while batch.len() < MOVES_PER_WRITE.min(moves - moved) && old.next < end {
                if let Ok(entry) = old.table.get_bucket_entry(old.next) {
                    batch.push(entry.remove().0);
                }
                old.next += 1;
            }
            moved += batch.len();
            (rehash.touch)(&batch);
            let hashes: SmallVec<[u64; MOVES_PER_WRITE]> = batch.iter().map(rehash.hash).collect();
            for (value, hash) in batch.into_iter().zip(hashes) {
                self.table.insert_unique(hash, value, rehash.hash);
            }
        }
        if old.table.is_empty() {
            return self.old.take().map(|old| Emptied { _table: old.table });
        }
        None
    }

    /// A write's share of emptying the old table (see [`MOVES_PER_WRITE`]); returns the old table
    /// once it is empty, for the caller to drop after releasing its lock: unmapping the 16 MiB of a
    /// table of 1M entries took a millisecond.
    #[must_use]
    pub fn step_for_write(&mut self, rehash: &Rehash<'_, T>) -> Option<Emptied<T>> {
        self.step(MOVES_PER_WRITE, BUCKETS_PER_WRITE, rehash)
    }

    /// Whether an old table is being emptied.
    #[cfg(test)]
    fn draining(&self) -> bool {
        self.old.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed hash, so that failures repeat.
    fn hash(value: &u64) -> u64 {
        value.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
    }

    const REHASH: Rehash<'static, u64> = Rehash { hash: &hash, touch: &|_| {} };

    fn holds(table: &IncrementalTable<u64>, value: u64) -> bool {
        table.find(hash(&value), |v| *v == value).is_some_and(|b| *table.get(b) == value)
    }

    fn insert(table: &mut IncrementalTable<u64>, value: u64) {
        table.insert_unique(hash(&value), value, hash);
        drop(table.step_for_write(&REHASH));
    }

    #[test]
    fn entries_are_found_while_the_old_table_drains_and_after() {
        let mut table = IncrementalTable::default();
        let mut drained = 0;
        for value in 0..100_000u64 {
            insert(&mut table, value);
            drained += table.draining() as usize;
            // Removals, in whichever table: every third value, once it is in.
            if value % 3 == 0 {
                assert_eq!(table.remove(hash(&value), |v| *v == value), Some(value));
            }
            assert!(holds(&table, value / 2) == (value / 2 % 3 != 0), "value {}", value / 2);
        }
        assert!(drained > 1_000, "the table grew through old ones");
        assert_eq!(table.len(), 100_000 - 100_000usize.div_ceil(3));
        assert_eq!(table.iter().count(), table.len());
        assert!((0..100_000u64).all(|v| holds(&table, v) == (v % 3 != 0)));
    }

    #[test]
    fn no_write_moves_more_than_its_share() {
        let mut table = IncrementalTable::default();
        let mut value = 0u64;
        while table.len() < 50_000 || table.draining() {
            insert(&mut table, value);
            value += 1;
        }
        // Inserts without the writes' moves until one finds the table full and sets it aside.
        while !table.draining() {
            table.insert_unique(hash(&value), value, hash);
            value += 1;
        }
        let held = table.len();
        let set_aside = held - 1;
        assert_eq!(table.table.len(), 1, "only the insert that found the table full is in the new one");
        assert!(table.table.capacity() >= 2 * set_aside);
        let mut writes = 0;
        while table.draining() {
            let before = table.old.as_ref().unwrap().table.len();
            let emptied = table.step_for_write(&REHASH);
            let after = table.old.as_ref().map_or(0, |old| old.table.len());
            assert!(before - after <= MOVES_PER_WRITE, "{} moved", before - after);
            assert_eq!(emptied.is_some(), after == 0, "the emptied table is handed back, once");
            writes += 1;
        }
        assert_eq!(table.len(), held);
        assert!(writes <= set_aside.div_ceil(MOVES_PER_WRITE) + 1, "{writes} writes for {set_aside}");
        assert!((0..value).all(|v| holds(&table, v)));
    }

    #[test]
    fn a_table_worn_by_removals_is_renewed_through_an_old_one_too() {
        // Inserts and removals in turn keep the count level while tombstones use the table up, which
        // hashbrown would clear by rehashing every entry at once.
        const LIVE: u64 = 1_700;
        let mut table = IncrementalTable::default();
        (0..LIVE).for_each(|v| insert(&mut table, v));
        let mut renewed = 0;
        for value in LIVE..200_000 {
            let was_draining = table.draining();
            insert(&mut table, value);
            renewed += (!was_draining && table.draining()) as usize;
            let gone = value - LIVE;
            assert_eq!(table.remove(hash(&gone), |v| *v == gone), Some(gone));
        }
        assert!(renewed > 0);
        assert_eq!(table.len(), LIVE as usize);
        assert!((200_000 - LIVE..200_000).all(|v| holds(&table, v)));
        assert!(table.table.capacity() < 8 * LIVE as usize, "it did not grow with the churn");
    }

    #[test]
    fn reserve_makes_room_without_moving_everything_at_once() {
        let mut table = IncrementalTable::default();
        (0..10_000).for_each(|v| insert(&mut table, v));
        while table.draining() {
            drop(table.step_for_write(&REHASH));
        }
        table.reserve(100_000, hash);
        assert!(table.draining() && table.table.is_empty(), "the entries stay in the old table");
        for value in 10_000..110_000u64 {
            insert(&mut table, value);
            assert!(table.table.len() < table.table.capacity());
        }
        assert!(!table.draining());
        assert_eq!(table.len(), 110_000);
        assert!((0..110_000).all(|v| holds(&table, v)));
        // Room for more than a draining table's successor holds: the old table is emptied first.
        table.reserve(table.table.capacity() - table.len() + 1, hash);
        assert!(table.draining());
        table.reserve(1_000_000, hash);
        assert_eq!(table.len(), 110_000);
        assert!(table.table.capacity() - table.table.len() >= 1_000_000 || table.draining());
        assert!((0..110_000).all(|v| holds(&table, v)));
    }
}
