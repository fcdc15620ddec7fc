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
//! Removals are batched the same way: a removed name's trigrams wait in `removed` until
//! [`REMOVED_PAIRS`] have gathered, and are taken out before any batch is added (a slot reused by a
//! new session is then indexed after its old name has left). Meanwhile the bitmaps still hold those
//! slots, which only adds candidates that the query's check turns down. Taken out one at a time,
//! each removal moved half of a sparse bitmap's array: expiring a whole store cost more in this
//! index than in all the others.

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

/// How many (trigram, slot) pairs of removed names wait to be taken out of the bitmaps at most: taking
/// them out costs about a microsecond per distinct trigram, more in a large store (measured on
/// generated names: 2048 pairs, 0.5-3 ms at 1M sessions), paid by the write or reclaim batch that
/// reaches the bound.
const REMOVED_PAIRS: usize = 2048;

#[derive(Default)]
pub struct NameIndex {
    grams: HashMap<Trigram, RoaringBitmap, BuildHasherDefault<TrigramHasher>>,
    /// Slots of named sessions not yet in `grams`: every search takes them as candidates.
    pending: Vec<Slot>,
    /// Trigrams of removed names, with their slots, still in `grams`.
    removed: Vec<(Trigram, Slot)>,
    /// The slots in `removed`, which searches leave out (a slot freed since, or holding a session of
    /// another name, must not come back from the index: a reused slot waits in `pending`).
    removed_slots: Vec<Slot>,
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
            self.pending.push(slot);
            if self.pending.len() >= PENDING {
                self.flush(name_of);
            }
        }
    }

    /// Adds every waiting session to the bitmaps of its name's trigrams.
    fn flush<'n>(&mut self, name_of: impl Fn(Slot) -> Option<Cow<'n, str>>) {
        self.flush_removed();
        let mut pairs: Vec<(Trigram, Slot)> = Vec::with_capacity(self.pending.len() * 24);
        let mut grams = Vec::new();
        for &slot in &self.pending {
            if let Some(name) = name_of(slot) {
                grams.clear();
                trigrams_into(&mut grams, &folded(&name));
                pairs.extend(grams.iter().map(|&gram| (gram, slot)));
            }
        }
        self.pending.clear();
        pairs.sort_unstable();
        pairs.dedup();
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let slots = self.grams.entry(group[0].0).or_default();
            for &(_, slot) in group {
                // Slots mostly grow (a free slot is reused only after a removal): appending is cheaper.
                if slots.try_push(slot).is_err() {
                    slots.insert(slot);
                }
            }
        }
    }

    pub fn remove(&mut self, slot: Slot, name: Option<&str>) {
        let Some(name) = name else { return };
        if let Some(waiting) = self.pending.iter().position(|&s| s == slot) {
            self.pending.swap_remove(waiting);
            return;
        }
        self.removed.extend(trigrams(&folded(name)).into_iter().map(|gram| (gram, slot)));
        self.removed_slots.push(slot);
        if self.removed.len() >= REMOVED_PAIRS {
            self.flush_removed();
        }
    }

    /// Takes the removed names' slots out of their trigrams' bitmaps, each bitmap once.
    fn flush_removed(&mut self) {
        self.removed_slots.clear();
        let mut pairs = std::mem::take(&mut self.removed);
        pairs.sort_unstable();
        pairs.dedup();
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let gram = group[0].0;
            let Some(slots) = self.grams.get_mut(&gram) else { continue };
            // A few slots: one by one (a difference visits every container of the bitmap).
            match group {
                few if few.len() < 8 => {
                    for &(_, slot) in few {
                        slots.remove(slot);
                    }
                }
                _ => {
                    let gone = RoaringBitmap::from_sorted_iter(group.iter().map(|&(_, slot)| slot))
                        .expect("pairs sorted and deduplicated");
                    *slots -= gone;
                }
            }
            if slots.is_empty() {
                self.grams.remove(&gram);
            }
        }
        pairs.clear();
        self.removed = pairs;
    }

    /// Moves `slot` from its old name's trigrams to its new name's; nothing when the name is the same.
    pub fn replace<'n>(
        &mut self,
        slot: Slot,
        old: Option<&str>,
        new: Option<&str>,
        name_of: impl Fn(Slot) -> Option<Cow<'n, str>>,
    ) {
        if old != new {
            self.remove(slot, old);
            self.add(slot, new, name_of);
        }
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
        if !self.removed_slots.is_empty() && !found.is_empty() {
            found -= self.removed_slots.iter().copied().collect::<RoaringBitmap>();
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
        let mut actual = NameIndex {
            grams: self.grams.clone(),
            pending: self.pending.clone(),
            removed: self.removed.clone(),
            removed_slots: self.removed_slots.clone(),
        };
        actual.flush(name_of);
        if expected.grams != actual.grams {
            return Err(format!(
                "the name index holds {} trigrams; the sessions' names have {}",
                actual.grams.len(),
                expected.grams.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_reused_before_its_old_name_is_taken_out_is_found_by_its_new_name_only() {
        let tokyo = |slot: Slot| format!("Trip to Tokyo #{slot}");
        let found =
            |index: &NameIndex, needle: &str| index.candidates(needle).map(|b| b.iter().collect::<Vec<_>>());
        let mut index = NameIndex::default();
        for slot in 0..4 {
            index.add(slot, Some(&tokyo(slot)), |_| None);
        }
        index.flush(|s| Some(Cow::Owned(tokyo(s))));
        index.remove(2, Some(&tokyo(2)));
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]), "removed: left out at once");
        index.add(2, Some("Rome"), |_| None);
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 2, 3]), "reused: waits, a candidate for any name");
        assert_eq!(found(&index, "rome"), Some(vec![2]));
        let name_of = |s: Slot| Some(Cow::Owned(if s == 2 { "Rome".to_string() } else { tokyo(s) }));
        index.flush(name_of);
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]));
        assert_eq!(found(&index, "rome"), Some(vec![2]));
        index.check((0..4).map(|s| (s, name_of(s)))).unwrap();
        // Removals gather until enough of them take themselves out of the bitmaps.
        let names = (4..4 + REMOVED_PAIRS as Slot / 8).map(|s| (s, tokyo(s))).collect::<Vec<_>>();
        for (slot, name) in &names {
            index.add(*slot, Some(name), |s| Some(Cow::Owned(if s == 2 { "Rome".into() } else { tokyo(s) })));
        }
        index.flush(name_of);
        for (slot, name) in &names {
            index.remove(*slot, Some(name));
        }
        assert!(index.removed.len() < REMOVED_PAIRS, "taken out along the way");
        assert_eq!(found(&index, "tokyo"), Some(vec![0, 1, 3]));
        index.check((0..4).map(|s| (s, name_of(s)))).unwrap();
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
        index.remove(0, Some("Trip to Tokyo #12"));
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
        index.remove(7, Some("x"));
        assert_eq!(slots(&index, "xyz"), Some(vec![]));
    }
}
