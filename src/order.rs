//! A persistent sorted sequence of slots: the shape of every listing index.
//!
//! An [`Order`] holds the slots of a set of sessions sorted by their [`OrderKey`], which it does not
//! store: it asks the caller for a slot's key (`key_of`, a look-up in the slab the slots belong to)
//! while it searches. Slots sit in leaves of at most [`LEAF`] entries under one vector of leaves, each
//! leaf and the vector behind an `Arc`; the vector remembers each leaf's last key, so that finding a
//! leaf looks no slot up. Cloning an order is two reference counts, and a clone never changes: a writer
//! that finds a leaf or the vector shared copies it first (`Arc::make_mut`). So a listing clones the
//! orders it needs under the store's lock and walks them after releasing it, while writers go on.
//!
//! Why not a persistent B-tree (imbl's `OrdMap`, used before): its entries held the key and a record
//! pointer (24 bytes) in 16-entry leaves that sessions, created in key order, leave half full: 160
//! bytes per session over three indexes. Here an entry is a 4-byte slot and appending fills each leaf:
//! about 13 bytes per session for the same three indexes. Sessions are mostly inserted at the end
//! (their `created_at` is now), which takes one key look-up; elsewhere a search costs a binary search
//! of the leaves and of one leaf.

use crate::record::{OrderKey, Slot};
use smallvec::SmallVec;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// Moves the slots of leaf `i + 1` to the end of leaf `i`.
fn merge(leaves: &mut Leaves, i: usize) {
    let next = leaves.remove(i + 1);
    Arc::make_mut(&mut leaves[i].slots).extend_from_slice(&next.slots);
    leaves[i].last = next.last;
}

/// The most slots a leaf holds: copying a shared leaf costs at most 2 KiB, and a million sessions need
/// about 2,000 leaves (a 48 KiB vector, copied once per snapshot that a structural change outlives).
const LEAF: usize = 512;

#[derive(Clone, Default)]
pub struct Order {
    leaves: Arc<Leaves>,
    len: usize,
}

/// Most orders are a user's few sessions, one leaf: held inline, that leaf costs no allocation of its
/// own (100 bytes per user in a vector of its own, 10 per session at ten sessions a user), and a
/// listing reaches its slots through one pointer fewer.
type Leaves = SmallVec<[Leaf; 1]>;

#[derive(Clone)]
struct Leaf {
    /// The key of the leaf's last slot.
    last: OrderKey,
    /// Never empty.
    slots: Arc<Vec<Slot>>,
}

impl Order {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `slot`, whose key is `key` (not yet in the order).
    pub fn insert(&mut self, slot: Slot, key: OrderKey, key_of: impl Fn(Slot) -> OrderKey) {
        let leaves = Arc::make_mut(&mut self.leaves);
        self.len += 1;
        let i = leaves.partition_point(|leaf| leaf.last < key);
        if i == leaves.len() {
            // Past every key: appended, which is where sessions created now go.
            match leaves.last_mut() {
                Some(leaf) if leaf.slots.len() < LEAF => {
                    Arc::make_mut(&mut leaf.slots).push(slot);
                    leaf.last = key;
                }
                _ => leaves.push(Leaf { last: key, slots: Arc::new(vec![slot]) }),
            }
            return;
        }
        if leaves[i].slots.len() == LEAF {
            let right = Arc::make_mut(&mut leaves[i].slots).split_off(LEAF / 2);
            let left_last = key_of(*leaves[i].slots.last().expect("half a full leaf"));
            let right =
                Leaf { last: std::mem::replace(&mut leaves[i].last, left_last), slots: Arc::new(right) };
            leaves.insert(i + 1, right);
        }
        let i = if leaves[i].last < key { i + 1 } else { i };
        let slots = Arc::make_mut(&mut leaves[i].slots);
        let at = slots.partition_point(|&s| key_of(s) < key);
        slots.insert(at, slot);
    }

    /// Removes `slot`, whose key is `key`; false when it is not in the order.
    pub fn remove(&mut self, key: OrderKey, slot: Slot, key_of: impl Fn(Slot) -> OrderKey) -> bool {
        let i = self.leaves.partition_point(|leaf| leaf.last < key);
        // The leaf is found by the keys it keeps; within it, a scan for the slot (a leaf is 2 KiB of
        // slots, read in order) costs less than a binary search, whose every step reads a record's
        // key from wherever the record is in memory.
        let Some(at) = self.leaves.get(i).and_then(|leaf| leaf.slots.iter().position(|&s| s == slot)) else {
            return false;
        };
        let leaves = Arc::make_mut(&mut self.leaves);
        self.len -= 1;
        let slots = Arc::make_mut(&mut leaves[i].slots);
        slots.remove(at);
        let (left, last) = (slots.len(), slots.last().copied());
        match last {
            None => {
                leaves.remove(i);
            }
            Some(last) => {
                if at == left {
                    leaves[i].last = key_of(last);
                }
                // Deletions must not leave a trail of small leaves: a leaf down to a quarter merges
                // with a neighbour when they fit in one.
                if left <= LEAF / 4 {
                    let fits = |j: usize| leaves.get(j).is_some_and(|other| left + other.slots.len() <= LEAF);
                    if i > 0 && fits(i - 1) {
                        merge(leaves, i - 1);
                    } else if fits(i + 1) {
                        merge(leaves, i);
                    }
                }
            }
        }
        true
    }

    /// Every slot, in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Slot> + Clone + '_ {
        self.leaves.iter().flat_map(|leaf| leaf.slots.iter().copied())
    }

    /// The slots whose keys are in `range`, in key order. `key_of` is used before this returns, so
    /// the walk itself needs nothing but the order.
    pub fn range(
        &self,
        range: RangeInclusive<OrderKey>,
        key_of: &dyn Fn(Slot) -> OrderKey,
    ) -> impl DoubleEndedIterator<Item = Slot> + '_ {
        let (lo, hi) = range.into_inner();
        // The first leaf that may hold a key from `lo` on, and the last that may hold one up to `hi`
        // (the first whose last key reaches `hi`: every key after it is above `hi`).
        let first = self.leaves.partition_point(|leaf| leaf.last < lo);
        let last =
            self.leaves.partition_point(|leaf| leaf.last < hi).min(self.leaves.len().saturating_sub(1));
        let leaves: &[Leaf] =
            if lo > hi || first >= self.leaves.len() { &[] } else { &self.leaves[first..=last] };
        // Where the walk starts in its first leaf and ends in its last, found now so that the walk
        // itself looks no key up.
        let from = leaves.first().map_or(0, |leaf| leaf.slots.partition_point(|&s| key_of(s) < lo));
        let to = leaves.last().map_or(0, |leaf| leaf.slots.partition_point(|&s| key_of(s) <= hi));
        let end = leaves.len().saturating_sub(1);
        leaves.iter().enumerate().flat_map(move |(k, leaf)| {
            let start = if k == 0 { from } else { 0 };
            let stop = if k == end { to } else { leaf.slots.len() };
            leaf.slots[start..stop.max(start)].iter().copied()
        })
    }

    /// Checks the order's own invariants against the keys; for tests.
    pub fn check(&self, key_of: impl Fn(Slot) -> OrderKey) -> Result<(), String> {
        let mut previous: Option<OrderKey> = None;
        let mut count = 0;
        for leaf in self.leaves.iter() {
            if leaf.slots.is_empty() || leaf.slots.len() > LEAF {
                return Err(format!("a leaf holds {} slots", leaf.slots.len()));
            }
            for &slot in leaf.slots.iter() {
                let key = key_of(slot);
                if previous.is_some_and(|p| p >= key) {
                    return Err(format!("keys out of order: {previous:?} then {key:?}"));
                }
                previous = Some(key);
                count += 1;
            }
            if previous != Some(leaf.last) {
                return Err(format!("a leaf's last key is {:?}, its last slot's {previous:?}", leaf.last));
            }
        }
        if count != self.len {
            return Err(format!("{count} slots but a length of {}", self.len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Keys by slot, as the slab would give them.
    fn keys(map: &BTreeMap<Slot, OrderKey>) -> impl Fn(Slot) -> OrderKey + '_ {
        |slot| map[&slot]
    }

    proptest! {
        #[test]
        fn behaves_as_a_sorted_set(ops in prop::collection::vec((any::<bool>(), 0i64..50, 0u64..3000), 1..3000)) {
            let mut order = Order::default();
            let mut model: BTreeMap<OrderKey, Slot> = BTreeMap::new();
            let mut key_by_slot: BTreeMap<Slot, OrderKey> = BTreeMap::new();
            let mut snapshots = Vec::new();
            for (n, (insert, created, seq)) in ops.into_iter().enumerate() {
                let key = (created, seq);
                if insert && !model.contains_key(&key) {
                    let slot = n as Slot;
                    key_by_slot.insert(slot, key);
                    order.insert(slot, key, keys(&key_by_slot));
                    model.insert(key, slot);
                } else if !insert {
                    let expected = model.remove(&key);
                    // A key not held: a slot no key was ever given, which the order must not find.
                    let slot = expected.unwrap_or(Slot::MAX);
                    prop_assert_eq!(order.remove(key, slot, keys(&key_by_slot)), expected.is_some());
                }
                if n % 97 == 0 {
                    snapshots.push((order.clone(), model.values().copied().collect::<Vec<_>>()));
                }
            }
            order.check(keys(&key_by_slot)).map_err(TestCaseError::fail)?;
            prop_assert_eq!(order.iter().collect::<Vec<_>>(), model.values().copied().collect::<Vec<_>>());
            prop_assert_eq!(order.iter().rev().collect::<Vec<_>>(), model.values().rev().copied().collect::<Vec<_>>());
            for lo in [(-1, 0), (0, 0), (10, 5), (25, 1500), (49, 2999), (60, 0)] {
                for hi in [(-5, 0), (0, 10), (20, 0), (30, 3000), (49, u64::MAX), (i64::MAX, u64::MAX)] {
                    let got: Vec<Slot> = order.range(lo..=hi, &keys(&key_by_slot)).collect();
                    let want: Vec<Slot> = if lo <= hi { model.range(lo..=hi).map(|(_, &s)| s).collect() } else { vec![] };
                    prop_assert_eq!(&got, &want, "range {:?}..={:?}", lo, hi);
                    let back: Vec<Slot> = order.range(lo..=hi, &keys(&key_by_slot)).rev().collect();
                    prop_assert_eq!(back, want.into_iter().rev().collect::<Vec<_>>());
                }
            }
            // Clones taken along the way still hold exactly what the order held then.
            for (snapshot, expected) in snapshots {
                prop_assert_eq!(snapshot.iter().collect::<Vec<_>>(), expected);
            }
        }
    }

    #[test]
    fn appends_fill_leaves_and_removals_merge_them() {
        let key_of = |slot: Slot| (0, u64::from(slot));
        let mut order = Order::default();
        for slot in 0..(LEAF as Slot * 4) {
            order.insert(slot, key_of(slot), key_of);
        }
        assert_eq!(order.leaves.len(), 4);
        for slot in (0..(LEAF as Slot * 4)).filter(|s| s % 8 != 0) {
            assert!(order.remove(key_of(slot), slot, key_of));
        }
        order.check(key_of).unwrap();
        assert_eq!(order.len(), LEAF / 2);
        assert_eq!(order.leaves.len(), 1, "quarter-full leaves merge");
    }
}
