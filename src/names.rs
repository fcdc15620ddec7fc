//! The session-name index: which sessions' folded names hold each trigram (three consecutive bytes),
//! so that a name search looks at the sessions that can match rather than at every session.
//!
//! A name matches a needle when its case-folded text contains the folded needle; every trigram of the
//! folded needle is then a trigram of the folded name. So the sessions holding all of the needle's
//! trigrams are a superset of the matches, which the query checks one by one (`query::Needle`). A
//! needle of fewer than three bytes has no trigram, and the query walks its index instead.
//!
//! Sessions are named by their slot; each trigram's slots are a roaring bitmap, which stores a dense
//! set in one bit per slot and a sparse one in two bytes per slot.
//!
//! New names are indexed in batches: a session added (or renamed) waits in `pending`, which every
//! search takes as candidates, until [`PENDING`] have gathered; they are then added trigram by
//! trigram, each bitmap once for the batch. Added one at a time, a name's dozen or more bitmaps each
//! cost cache misses, which made an insertion a third slower.
//!
//! A removed session's name is not taken out of its trigrams' bitmaps one pair at a time: at a
//! million sessions a trigram's bitmap is mostly arrays of a few thousand slots, and taking one slot
//! out costs a binary search and a move of half a cold array, 1-3 us; twenty trigrams a name made a
//! removal cost 20-40 us under the store's lock (a mass expiry held it for milliseconds at a time).
//! Instead its slot is `held`: searches leave it out, and the store does not reuse it. Once enough
//! are held, a sweep subtracts them from every bitmap, a few bitmaps per removal (a subtraction is
//! a pass over a bitmap's containers, whatever the number of slots taken out), and gives them back
//! to the store's free list when it has visited every bitmap. A slot is never reused while its old
//! name may be in a bitmap, so additions need no ordering with removals.

use crate::record::Slot;
use caseless::Caseless;
use roaring::RoaringBitmap;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The most needle trigrams a search intersects. Candidates only need to be a superset of the
/// matches, so a long needle is represented by this many of its trigrams, spread over it: the work
/// done under the store's lock stays bounded whatever the needle.
const MAX_NEEDLE_TRIGRAMS: usize = 32;

type Trigram = u32;

/// How many named sessions wait to be indexed at most.
const PENDING: usize = 256;

/// How many slots of removed names are held at least before a sweep starts; more in a large
/// index (see [`NameIndex::sweep_due`]).
const MIN_HELD: u64 = 1024;

#[derive(Default)]
pub struct NameIndex {
    grams: HashMap<Trigram, RoaringBitmap, BuildHasherDefault<TrigramHasher>>,
    /// Slots of named sessions not yet in `grams`: every search takes them as candidates.
    pending: Vec<Slot>,
    /// Slots of removed sessions that may still be in `grams`: searches leave them out, and the store
    /// does not reuse them until a sweep has taken them out of every bitmap.
    held: RoaringBitmap,
    /// Named sessions (indexed or pending).
    named: u64,
    sweep: Option<Sweep>,
}

/// A pass over every bitmap that takes out the slots held when it began.
struct Sweep {
    gone: RoaringBitmap,
    /// The trigrams whose bitmaps it has still to visit. Bitmaps made since it began hold none of
    /// its slots: a held slot is not reused.
    left: Vec<Trigram>,
    /// Bitmaps to visit per removal, so that the sweep ends after about half as many removals as it
    /// takes out: held slots stay within one and a half times the threshold.
    per_removal: f64,
    /// Bitmaps owed by the removals so far.
    owed: f64,
}

/// Trigrams are three bytes of text, not attacker-chosen hash inputs that could collide in bulk
/// (there are only 2^24 of them), so a multiplicative hash does: SipHash was a fifth of an insertion.
#[derive(Default)]
struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.write_u32(u32::from(b)));
    }

    fn write_u32(&mut self, n: u32) {
        // Fibonacci hashing: the high bits, which hashbrown uses, depend on every bit of the input.
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Full Unicode case folding, as Python's `str.casefold` (Agno 2 compares names that way): "ς" and
/// "Σ" both fold to "σ", "ß" to "ss". Folding has no context rules, so a name folds the same alone and
/// inside a longer one.
pub fn fold_into(out: &mut String, s: &str) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.extend(s.chars().default_case_fold());
    }
}

/// `s` folded, borrowed when folding changes nothing.
fn folded(s: &str) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    fold_into(&mut out, s);
    Cow::Owned(out)
}

/// Appends the trigrams of `folded` to `out`, with duplicates.
fn trigrams_into(out: &mut Vec<Trigram>, folded: &str) {
    out.extend(
        folded.as_bytes().windows(3).map(|w| u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2])),
    );
}

/// The distinct trigrams of `folded`, sorted.
fn trigrams(folded: &str) -> Vec<Trigram> {
    let mut grams = Vec::new();
    trigrams_into(&mut grams, folded);
    grams.sort_unstable();
    grams.dedup();
    grams
}

impl NameIndex {
    /// Indexes the session in `slot` under its name; once enough wait, `name_of` (the name of the
    /// session in a slot) gives the names of every waiting session.
    pub fn add<'n>(
        &mut self,
        slot: Slot,
        name: Option<&str>,
        name_of: impl Fn(Slot) -> Option<Cow<'n, str>>,
    ) {
        if name.is_some() {
            self.named += 1;
            self.pending.push(slot);
            if self.pending.len() >= PENDING {
                self.flush(name_of);
            }
        }
    }

    /// Adds every waiting session to the bitmaps of its name's trigrams.
    fn flush<'n>(&mut self, name_of: impl Fn(Slot) -> Option<Cow<'n, str>>) {
        let mut pairs: Vec<(Trigram, Slot)> = Vec::with_capacity(self.pending.len() * 24);
        let (mut grams, mut folded) = (Vec::new(), String::new());
        for &slot in &self.pending {
            if let Some(name) = name_of(slot) {
                grams.clear();
                fold_into(&mut folded, &name);
                trigrams_into(&mut grams, &folded);
                pairs.extend(grams.iter().map(|&gram| (gram, slot)));
            }
        }
        self.pending.clear();
        // Grouped by trigram with a radix sort on the 24-bit keys: four times faster here than a
        // comparison sort, which was a tenth of a reopen's time. It is stable: within a group, slots
        // stay in the order they were added, mostly increasing, so that most go in by appending; and a
        // name's pairs are contiguous, so that its repeated trigrams end up side by side for `dedup`. A
        // slot out of order, or pending twice, is inserted instead (inserting is idempotent).
        radsort::sort_by_key(&mut pairs, |&(gram, _)| gram);
        pairs.dedup();
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let slots = self.grams.entry(group[0].0).or_default();
            let group = group.iter().map(|&(_, slot)| slot);
            // Slots mostly grow (a free slot is reused only after a removal): the group is appended
            // while it does, and the rest inserted. Not `try_push` slot by slot: for a dense bitmap,
            // each push scans its 1,024 words from the end for the current maximum (a third of a
            // 1M reopen's applying thread); `append` finds the maximum once.
            let appended = match slots.append(group.clone()) {
                Ok(n) => n,
                Err(unsorted) => unsorted.valid_until(),
            };
            for slot in group.skip(appended as usize) {
                slots.insert(slot);
            }
        }
    }

    /// Takes the session in `slot` out of the index; `free` gets every slot that the store may reuse
    /// now: this one unless its name may be in the bitmaps, and those of a sweep that ends now.
    pub fn remove(&mut self, slot: Slot, name: Option<&str>, mut free: impl FnMut(Slot)) {
        if name.is_none() {
            return free(slot);
        }
        self.named -= 1;
        if let Some(waiting) = self.pending.iter().position(|&s| s == slot) {
            self.pending.swap_remove(waiting);
            return free(slot);
        }
        self.held.insert(slot);
        if self.sweep.is_none() && self.sweep_due() {
            let left: Vec<Trigram> = self.grams.keys().copied().collect();
            let per_removal = 2.0 * left.len() as f64 / self.held.len() as f64;
            self.sweep = Some(Sweep { gone: self.held.clone(), left, per_removal, owed: 0.0 });
        }
        if let Some(sweep) = &mut self.sweep {
            sweep.owed += sweep.per_removal;
            if self.sweep_some(&mut free) {
                self.sweep = None;
            }
        }
    }

    /// Whether enough slots are held to start a sweep: a sixteenth of the named sessions, so that
    /// searches pass over few of them, and a sweep's cost (a pass over every bitmap) is spread over
    /// at least as many removals.
    fn sweep_due(&self) -> bool {
        self.held.len() >= MIN_HELD.max(self.named / 16)
    }

    /// Visits the bitmaps the sweep owes; when it has visited every one, gives its slots to `free`
    /// and returns true.
    fn sweep_some(&mut self, free: &mut impl FnMut(Slot)) -> bool {
        let Some(sweep) = &mut self.sweep else { return false };
        while sweep.owed >= 1.0 {
            let Some(gram) = sweep.left.pop() else { break };
            sweep.owed -= 1.0;
            if let Some(slots) = self.grams.get_mut(&gram) {
                *slots -= &sweep.gone;
                if slots.is_empty() {
                    self.grams.remove(&gram);
                }
            }
        }
        if !sweep.left.is_empty() {
            return false;
        }
        self.held -= &sweep.gone;
        sweep.gone.iter().for_each(free);
        true
    }

    /// Moves `slot` from its old name's trigrams to its new name's; nothing when the name is the same.
    /// The old name leaves its bitmaps at once, as the slot stays in use (1-3 us per trigram, see
    /// the module's comment; renames are rare).
    pub fn replace<'n>(
        &mut self,
        slot: Slot,
        old: Option<&str>,
        new: Option<&str>,
        name_of: impl Fn(Slot) -> Option<Cow<'n, str>>,
    ) {
        if old == new {
            return;
        }
        // Counted again by `add`.
        self.named -= u64::from(old.is_some());
        match (old, self.pending.iter().position(|&s| s == slot)) {
            (_, Some(waiting)) => drop(self.pending.swap_remove(waiting)),
            (Some(old), None) => {
                for gram in trigrams(&folded(old)) {
                    if let Some(slots) = self.grams.get_mut(&gram) {
                        slots.remove(slot);
                        if slots.is_empty() {
                            self.grams.remove(&gram);
                        }
                    }
                }
            }
            (None, None) => {}
        }
        self.add(slot, new, name_of);
    }

    /// The slots whose names hold every trigram of `folded_needle` (already folded), and those not
    /// indexed yet; `None` when the needle has no trigram (shorter than three bytes). Costs the size
    /// of the needle's trigrams' bitmaps.
    pub fn candidates(&self, folded_needle: &str) -> Option<RoaringBitmap> {
        let grams = trigrams(folded_needle);
        if grams.is_empty() {
            return None;
        }
        let mut found = self.indexed_candidates(&grams);
        if !found.is_empty() {
            found -= &self.held;
        }
        found.extend(self.pending.iter().copied());
        Some(found)
    }

    fn indexed_candidates(&self, grams: &[Trigram]) -> RoaringBitmap {
        let step = grams.len().div_ceil(MAX_NEEDLE_TRIGRAMS);
        let mut sets: Vec<&RoaringBitmap> = Vec::with_capacity(MAX_NEEDLE_TRIGRAMS);
        for gram in grams.iter().step_by(step) {
            match self.grams.get(gram) {
                Some(slots) => sets.push(slots),
                None => return RoaringBitmap::new(),
            }
        }
        // Smallest first: each intersection then costs at most the smaller side.
        sets.sort_unstable_by_key(|s| s.len());
        let mut result = match sets[..] {
            [only] => only.clone(),
            [a, b, ..] => a & b,
            [] => unreachable!("a needle with trigrams"),
        };
        for set in sets.iter().skip(2) {
            if result.is_empty() {
                break;
            }
            result &= *set;
        }
        result
    }

    /// How many slots wait for their removed names to be taken out (see [`NameIndex::remove`]).
    pub fn held(&self) -> usize {
        self.held.len() as usize
    }

    /// Checks the index against every session's slot and name; for tests.
    pub fn check<'a>(
        &self,
        sessions: impl Iterator<Item = (Slot, Option<Cow<'a, str>>)>,
    ) -> Result<(), String> {
        let names: HashMap<Slot, Cow<str>> =
            sessions.filter_map(|(slot, name)| Some((slot, name?))).collect();
        let name_of = |slot| names.get(&slot).cloned();
        let mut expected = NameIndex { pending: names.keys().copied().collect(), ..NameIndex::default() };
        expected.flush(name_of);
        if let Some(slot) = names.keys().find(|&&slot| self.held.contains(slot)) {
            return Err(format!("slot {slot} holds a session and is held for a removed name"));
        }
        if self.sweep.as_ref().is_some_and(|sweep| !sweep.gone.is_subset(&self.held)) {
            return Err("a sweep takes out slots that are not held".into());
        }
        if self.named != names.len() as u64 {
            return Err(format!("{} named sessions counted, {} held", self.named, names.len()));
        }
        let grams = self.grams.iter().map(|(&gram, slots)| (gram, slots - &self.held));
        let mut actual = NameIndex {
            grams: grams.filter(|(_, slots)| !slots.is_empty()).collect(),
            pending: self.pending.clone(),
            ..NameIndex::default()
        };
        actual.flush(name_of);
        if expected.grams != actual.grams {
            let differ = expected.grams.keys().chain(actual.grams.keys()).copied();
            let differ = differ.filter(|g| expected.grams.get(g) != actual.grams.get(g)).count();
            return Err(format!("the name index and the sessions' names differ on {differ} trigrams"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_name_holds_its_slot_until_a_sweep_has_taken_it_out_of_every_bitmap() {
        let tokyo = |slot: Slot| format!("Trip to Tokyo #{slot}");
        let found =
            |index: &NameIndex, needle: &str| index.candidates(needle).map(|b| b.iter().collect::<Vec<_>>());
        let mut index = NameIndex::default();
        let mut freed = Vec::new();
        for slot in 0..4 {
            index.add(slot, Some(&tokyo(slot)), |_| None);
        }
        index.flush(|s| Some(Cow::Owned(tokyo(s))));
        index.remove(2, Some(&tokyo(2)), |s| freed.push(s));
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]), "removed: left out at once");
        assert_eq!((freed.len(), index.held()), (0, 1), "held, not free, while its name is in the bitmaps");
        index.remove(5, None, |s| freed.push(s));
        assert_eq!(freed, [5], "a session without a name is free at once");
        index.add(6, Some("Rome"), |_| None);
        index.remove(6, Some("Rome"), |s| freed.push(s));
        assert_eq!(freed, [5, 6], "so is one whose name waited to be indexed");
        freed.clear();
        let alive = |index: &NameIndex, slots: &[Slot]| {
            index.check(slots.iter().map(|&s| (s, Some(Cow::Owned(tokyo(s)))))).unwrap();
        };
        alive(&index, &[0, 1, 3]);
        // Enough removals start a sweep, which ends after about half as many more.
        let many = 10..10 + 4 * MIN_HELD as Slot;
        for slot in many.clone() {
            index.add(slot, Some(&tokyo(slot)), |s| Some(Cow::Owned(tokyo(s))));
        }
        index.flush(|s| Some(Cow::Owned(tokyo(s))));
        for slot in many.clone() {
            index.remove(slot, Some(&tokyo(slot)), |s| freed.push(s));
            if slot == many.start + MIN_HELD as Slot - 3 {
                assert!(index.sweep.is_none() && freed.is_empty(), "too few held yet");
            }
            if slot == many.start + MIN_HELD as Slot - 2 {
                assert!(index.sweep.is_some(), "enough held (slot 2 and these)");
            }
            assert!(
                freed.len() + index.held() == (slot - many.start + 2) as usize,
                "every slot held or freed"
            );
        }
        assert!(freed.contains(&2) && freed.len() >= MIN_HELD as usize, "{} freed", freed.len());
        assert!(index.held() <= MIN_HELD as usize * 3 / 2 + 1, "{} held", index.held());
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]));
        alive(&index, &[0, 1, 3]);
        // The swept slots are in no bitmap: reused, they are found by their new names only.
        let swept = freed[0];
        index.add(swept, Some("Rome"), |_| None);
        index.flush(|s| Some(Cow::Owned(if s == swept { "Rome".into() } else { tokyo(s) })));
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]));
        assert_eq!(found(&index, "rome"), Some(vec![swept]));
        // A rename moves a slot at once.
        index.replace(1, Some(&tokyo(1)), Some("Paris"), |_| None);
        index.flush(|s| Some(Cow::Owned(if s == 1 { "Paris".into() } else { tokyo(s) })));
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 3]));
        assert_eq!(found(&index, "paris"), Some(vec![1]));
    }

    #[test]
    fn slots_out_of_order_in_one_flush_are_all_indexed() {
        let name = |slot: Slot| format!("Trip to Tokyo #{slot}");
        let found = |index: &NameIndex| index.candidates("tokyo").map(|b| b.iter().collect::<Vec<_>>());
        let mut index = NameIndex::default();
        // A bitmap dense enough to be stored as bits; the last flush (of PENDING) then has slots
        // above its maximum, then one below it (a reused slot), more above, another below.
        let dense: Vec<Slot> = (100..100 + 5_000).collect();
        let later: Vec<Slot> = vec![7, 20_000, 20_001, 50, 20_002];
        for &slot in dense.iter().chain(&later) {
            index.add(slot, Some(&name(slot)), |s| Some(Cow::Owned(name(s))));
        }
        index.flush(|s| Some(Cow::Owned(name(s))));
        let mut all: Vec<Slot> = dense.iter().chain(&later).copied().collect();
        all.sort_unstable();
        assert_eq!(found(&index), Some(all.clone()));
        index.check(all.iter().map(|&s| (s, Some(Cow::Owned(name(s)))))).unwrap();
    }

    #[test]
    fn candidates_are_a_superset_of_the_matches() {
        let mut names: HashMap<Slot, String> =
            ["Trip to Tokyo #12", "trip to ROME", "ΟΔΟΣ", "straße", "ab", ""]
                .iter()
                .enumerate()
                .map(|(slot, name)| (slot as Slot, name.to_string()))
                .collect();
        let mut index = NameIndex::default();
        for slot in 0..6 {
            let name = names[&slot].clone();
            index.add(slot, Some(&name), |s| names.get(&s).map(|n| Cow::Owned(n.clone())));
        }
        index.add(99, None, |_| None);
        let slots = |index: &NameIndex, needle: &str| {
            let mut folded_needle = String::new();
            fold_into(&mut folded_needle, needle);
            index.candidates(&folded_needle).map(|b| b.iter().collect::<Vec<_>>())
        };
        // Not indexed yet: every named session is a candidate.
        assert_eq!(slots(&index, "paris"), Some(vec![0, 1, 2, 3, 4, 5]));
        index.flush(|s| names.get(&s).map(|n| Cow::Owned(n.clone())));
        assert_eq!(slots(&index, "TRIP"), Some(vec![0, 1]));
        assert_eq!(slots(&index, "tokyo #1"), Some(vec![0]));
        assert_eq!(slots(&index, "οδος"), Some(vec![2]));
        assert_eq!(slots(&index, "STRASSE"), Some(vec![3]));
        assert_eq!(slots(&index, "paris"), Some(vec![]));
        assert_eq!(slots(&index, "ab"), None, "too short for a trigram");
        assert_eq!(
            slots(&index, &"trip ".repeat(10_000)),
            Some(vec![]),
            "a long needle is bounded, here exact"
        );
        names.insert(1, "Paris".into());
        index.replace(1, Some("trip to ROME"), Some("Paris"), |s| {
            names.get(&s).map(|n| Cow::Owned(n.clone()))
        });
        assert_eq!(slots(&index, "trip"), Some(vec![0, 1]), "slot 1 waits");
        index.flush(|s| names.get(&s).map(|n| Cow::Owned(n.clone())));
        assert_eq!(slots(&index, "trip"), Some(vec![0]));
        assert_eq!(slots(&index, "paris"), Some(vec![1]));
        index.remove(0, Some("Trip to Tokyo #12"), |_| panic!("held while its name is indexed"));
        names.remove(&0);
        assert_eq!(slots(&index, "trip"), Some(vec![]));
        index.check(names.iter().map(|(&s, n)| (s, Some(Cow::Borrowed(n.as_str()))))).unwrap();
        // Enough new names index themselves.
        for slot in 100..100 + PENDING as Slot {
            names.insert(slot, format!("Session {slot}"));
            let name = names[&slot].clone();
            index.add(slot, Some(&name), |s| names.get(&s).map(|n| Cow::Owned(n.clone())));
        }
        assert!(index.pending.is_empty());
        assert_eq!(slots(&index, "session 1234"), Some(vec![]));
        assert_eq!(slots(&index, "session 123"), Some(vec![123]));
        index.check(names.iter().map(|(&s, n)| (s, Some(Cow::Borrowed(n.as_str()))))).unwrap();
        // A waiting session that goes away is no candidate any more.
        index.add(7, Some("x"), |_| None);
        index.remove(7, Some("x"), |slot| assert_eq!(slot, 7));
        assert_eq!(slots(&index, "xyz"), Some(vec![]));
    }
}
