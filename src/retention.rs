//! Bounded memory: expiry, capacity bounds with least-recently-used eviction, and per-user quotas.
//!
//! Whether a session is alive is a function of its record and the time ([`Liveness`]): a session
//! expires when it has not been written (its `updated_at`; with `refresh_on_read`, nor read) for
//! `idle_expiry_s`, or when its `created_at` is `max_age_s` old. Every call checks it, so an expired
//! session is gone at once for every reader, whether or not its memory has been reclaimed yet;
//! reclamation (by the store's reclaimer thread and by writes) only frees it, in short batches.
//!
//! Recency is a list of slots, linked through one array indexed by slot, in the order of the time
//! each session was last written (its `updated_at`): every write puts its session at the back (an
//! import of a session written long ago goes where its time says), so that the front is the least
//! recently written session, evicted first, and the first to expire. Reads cannot relink under the
//! read lock; with `refresh_on_read` they stamp their slot's access time, and a session found at
//! the front that was read since it was last moved goes to the back instead of leaving (the CLOCK
//! algorithm's second chance, as Redis approximates LRU too). Per-user quotas keep a second such
//! list per user.
//!
//! Nothing here exists unless the config asks for it: an unbounded store pays nothing.

use crate::config::Config;
use crate::error::{quote, Error, ErrorKind, Result};
use crate::record::{Record, Slot};
use arcstr::ArcStr;
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// What the store does when a write would exceed a bound (config key "when_full").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// "evict": the least recently used sessions go first.
    #[default]
    Evict,
    /// "refuse": the write fails with [`ErrorKind::Full`] and nothing changes.
    Refuse,
}

impl WhenFull {
    pub const NAMES: [(&'static str, WhenFull); 2] =
        [("evict", WhenFull::Evict), ("refuse", WhenFull::Refuse)];

    pub fn name(self) -> &'static str {
        WhenFull::NAMES.iter().find(|(_, w)| *w == self).map_or("evict", |(n, _)| n)
    }
}

/// The bounds a store keeps, from its config; `None` is no bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub idle_expiry_s: Option<i64>,
    pub max_age_s: Option<i64>,
    pub refresh_on_read: bool,
    pub max_sessions: Option<usize>,
    pub max_bytes: Option<usize>,
    pub user_max_sessions: Option<usize>,
    pub user_max_bytes: Option<usize>,
    pub when_full: WhenFull,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        let secs = |s: u64| (s > 0).then(|| i64::try_from(s).unwrap_or(i64::MAX));
        let count = |n: usize| (n > 0).then_some(n);
        Limits {
            idle_expiry_s: secs(config.idle_expiry_s),
            max_age_s: secs(config.max_age_s),
            refresh_on_read: config.refresh_on_read && config.idle_expiry_s > 0,
            max_sessions: count(config.max_sessions),
            max_bytes: count(config.max_bytes),
            user_max_sessions: count(config.user_max_sessions),
            user_max_bytes: count(config.user_max_bytes),
            when_full: config.when_full,
        }
    }

    /// Whether sessions can expire: then the store runs a reclaimer.
    pub fn expires(&self) -> bool {
        self.idle_expiry_s.is_some() || self.max_age_s.is_some()
    }

    /// Whether the store keeps the recency list: for idle expiry and for capacity bounds.
    fn ordered(&self) -> bool {
        self.idle_expiry_s.is_some() || self.max_sessions.is_some() || self.max_bytes.is_some()
    }

    fn quotas(&self) -> bool {
        self.user_max_sessions.is_some() || self.user_max_bytes.is_some()
    }

    /// Whether writes must make room: a capacity bound or a quota.
    pub fn bounded(&self) -> bool {
        self.max_sessions.is_some() || self.max_bytes.is_some() || self.quotas()
    }

    pub fn liveness(&self, now: i64) -> Liveness {
        Liveness { now, idle: self.idle_expiry_s, age: self.max_age_s }
    }
}

/// Whether sessions are alive at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    now: i64,
    idle: Option<i64>,
    age: Option<i64>,
}

impl Liveness {
    /// Every session alive: for reads that must see everything held (durability snapshots).
    pub const EVERYTHING: Liveness = Liveness { now: 0, idle: None, age: None };

    /// Whether `record`, current or kept for a snapshot, is alive by `retention`'s times. Times are
    /// whole seconds: a session expires once more than its limit has passed, so it lives at least
    /// the limit (and less than a second more).
    pub fn alive(&self, record: &Record, retention: &Retention) -> bool {
        // Without limits, the record is not read at all: its times are in a cache line that long
        // listings of an unbounded store would otherwise wait for.
        if self.age.is_none() && self.idle.is_none() {
            return true;
        }
        let accessed = retention.accessed(record.slot);
        self.alive_at(record.created_at, retention.idle_from(record), i64::from(accessed))
    }

    /// As [`Liveness::alive`], for a session created, written (the earlier of its `updated_at` and
    /// when it was written) and last read at these times.
    pub fn alive_at(&self, created_at: i64, updated_at: i64, accessed: i64) -> bool {
        self.age.is_none_or(|age| created_at.saturating_add(age) >= self.now)
            && self.idle.is_none_or(|idle| updated_at.max(accessed).saturating_add(idle) >= self.now)
    }

    pub fn now(&self) -> i64 {
        self.now
    }
}

/// Why a session left the store, for the change feed and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// A delete call.
    Delete,
    /// It expired.
    Expire,
    /// It was evicted to keep a bound.
    Evict,
}

impl Removal {
    pub fn op(self) -> &'static str {
        match self {
            Removal::Delete => "delete",
            Removal::Expire => "expire",
            Removal::Evict => "evict",
        }
    }
}

const NIL: Slot = Slot::MAX;

/// How far back a write looks for its place in a list, past sessions with later times: writes
/// stamped now go at the back, and a clock stepped back should not cost a walk of the store.
const PLACING_WALK: usize = 32;

/// A list's two ends, and what it holds.
#[derive(Debug, Clone, Copy)]
struct Ends {
    front: Slot,
    back: Slot,
    sessions: usize,
    bytes: usize,
}

impl Default for Ends {
    fn default() -> Self {
        Ends { front: NIL, back: NIL, sessions: 0, bytes: 0 }
    }
}

/// Which of a slot's links: in the store's recency list, or in its user's.
#[derive(Debug, Clone, Copy)]
enum ListKind {
    All = 0,
    User = 1,
}

/// A slot's neighbours in one list.
#[derive(Debug, Clone, Copy)]
struct Link {
    prev: Slot,
    next: Slot,
}

const UNLINKED: Link = Link { prev: NIL, next: NIL };

/// A slot's places in the lists and the time that orders them, together in one cache line: in
/// separate arrays, each costs a write a cache miss.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct SlotState {
    links: [Link; 2],
    /// The time that places the session in the lists: when it was last written, or given a second
    /// chance (which a read after it earns).
    moved: u32,
}

impl Default for SlotState {
    fn default() -> Self {
        SlotState { links: [UNLINKED; 2], moved: 0 }
    }
}

/// Doubly linked lists of slots through their [`SlotState`]s, ordered by `moved`.
#[derive(Debug, Default)]
struct Slots(Vec<SlotState>);

impl Slots {
    fn link(&mut self, list: ListKind, slot: Slot) -> &mut Link {
        &mut self.0[slot as usize].links[list as usize]
    }

    fn next(&self, list: ListKind, slot: Slot) -> Slot {
        self.0[slot as usize].links[list as usize].next
    }

    fn moved(&self, slot: Slot) -> u32 {
        self.0[slot as usize].moved
    }

    /// Puts `slot` after the last entry whose `moved` is at most its own, looking back from the back
    /// past at most `walk` entries (then at the back: a clock that stepped back places a write
    /// among the latest, not exactly).
    fn insert_by_key(&mut self, list: ListKind, ends: &mut Ends, slot: Slot, bytes: usize, walk: usize) {
        let key = self.moved(slot);
        let mut after = ends.back;
        let mut steps = 0;
        while after != NIL && self.moved(after) > key {
            if steps == walk {
                after = ends.back;
                break;
            }
            after = self.link(list, after).prev;
            steps += 1;
        }
        self.insert_after(list, ends, after, slot, bytes);
    }

    /// Puts `slot` right after `after`, or at the front when it is NIL.
    fn insert_after(&mut self, list: ListKind, ends: &mut Ends, after: Slot, slot: Slot, bytes: usize) {
        let next = match after {
            NIL => ends.front,
            a => self.next(list, a),
        };
        *self.link(list, slot) = Link { prev: after, next };
        match after {
            NIL => ends.front = slot,
            a => self.link(list, a).next = slot,
        }
        match next {
            NIL => ends.back = slot,
            n => self.link(list, n).prev = slot,
        }
        ends.sessions += 1;
        ends.bytes += bytes;
    }

    /// Puts `slots` (not in the list; least recent first) where their keys say, in one walk back from
    /// the back: what an import needs, whatever its sessions' times.
    fn merge(&mut self, list: ListKind, ends: &mut Ends, slots: &[(Slot, usize)]) {
        let mut after = ends.back;
        for &(slot, bytes) in slots.iter().rev() {
            while after != NIL && self.moved(after) > self.moved(slot) {
                after = self.link(list, after).prev;
            }
            self.insert_after(list, ends, after, slot, bytes);
        }
    }

    /// Moves `slot`, whose `moved` was just set, where it now belongs (usually the back): nothing
    /// to relink when it is there already (a conversation going on writes the same session again).
    fn relink(&mut self, list: ListKind, ends: &mut Ends, slot: Slot, old_bytes: usize, bytes: usize) {
        let prev = self.link(list, slot).prev;
        if ends.back == slot && (prev == NIL || self.moved(prev) <= self.moved(slot)) {
            ends.bytes = ends.bytes - old_bytes + bytes;
            return;
        }
        self.unlink(list, ends, slot, old_bytes);
        self.insert_by_key(list, ends, slot, bytes, PLACING_WALK);
    }

    fn unlink(&mut self, list: ListKind, ends: &mut Ends, slot: Slot, bytes: usize) {
        let Link { prev, next } = std::mem::replace(self.link(list, slot), UNLINKED);
        match prev {
            NIL => ends.front = next,
            p => self.link(list, p).next = next,
        }
        match next {
            NIL => ends.back = prev,
            n => self.link(list, n).prev = prev,
        }
        ends.sessions -= 1;
        ends.bytes -= bytes;
    }

    fn iter<'a>(&'a self, list: ListKind, ends: &Ends) -> impl Iterator<Item = Slot> + 'a {
        let mut at = ends.front;
        std::iter::from_fn(move || {
            let slot = (at != NIL).then_some(at)?;
            at = self.next(list, slot);
            Some(slot)
        })
    }
}

/// What a write will change, for [`Retention::make_room`]: the records it adds (user, bytes), the
/// ones it replaces, and the slots of those stored now, which eviction must not take. A write usually
/// names one session: then nothing here allocates.
#[derive(Debug, Default)]
pub struct Demand<'a> {
    pub added: SmallVec<[(Option<&'a str>, usize); 1]>,
    pub replaced: SmallVec<[(Option<ArcStr>, usize); 1]>,
    /// Sorted by [`Demand::ready`] (a write usually keeps one slot: no hashing for it).
    keep: SmallVec<[Slot; 1]>,
}

impl Demand<'_> {
    /// The write replaces `old`, stored now: its room is freed, and it is not to be evicted.
    pub fn replaces(&mut self, old: &Record) {
        self.replaced.push((old.user.clone(), old.json().len()));
        self.keep.push(old.slot);
    }

    /// Done: ready for [`Retention::make_room`].
    pub fn ready(mut self) -> Self {
        self.keep.sort_unstable();
        self
    }

    fn keeps(&self, slot: Slot) -> bool {
        self.keep.binary_search(&slot).is_ok()
    }
}

/// The bounds' state: the recency lists, access times and counts.
#[derive(Debug, Default)]
pub struct Retention {
    limits: Limits,
    /// Every session, least recently written first (when [`Limits::ordered`]).
    order: Option<Ends>,
    /// Each user's sessions, least recently written first (with quotas).
    by_user: Option<HashMap<ArcStr, Ends>>,
    /// Per slot, its places in the lists (when the store keeps any).
    slots: Slots,
    /// Per slot (with idle expiry), when the session was last written, or its `updated_at` if earlier:
    /// what its idle time counts from. An `updated_at` in the future (an import can carry any) would
    /// otherwise keep it alive for ever, and block the reclaimer's walk from the front of the
    /// recency list, behind it, for ever too. Apart from the lists' state, which a read does not
    /// need; and only [`Record::future_dated`] records are looked up here.
    written: Vec<u32>,
    /// Per slot, the unix second of the last read (with `refresh_on_read`; atomic, as reads note it
    /// under the read lock).
    accessed: Vec<AtomicU32>,
    /// Per slot, whether the session was read since it was last placed (with `refresh_on_read`): the
    /// CLOCK algorithm's reference bit.
    referenced: Vec<AtomicBool>,
    pub expired: u64,
    pub evicted: u64,
}

/// A unix time as the u32 seconds access times are kept in (until 2106).
fn seconds(now: i64) -> u32 {
    u32::try_from(now.max(0)).unwrap_or(u32::MAX)
}

/// What [`Retention::written`] keeps for a session written at `now` with this `updated_at`.
fn written_time(updated_at: i64, now: i64) -> u32 {
    seconds(updated_at.min(now))
}

/// Whether a session written at `now` with this `updated_at` counts its idle time from the write
/// rather than from `updated_at`: what [`Record::future_dated`] says.
pub fn future_dated(updated_at: i64, now: i64) -> bool {
    i64::from(written_time(updated_at, now)) < updated_at
}

impl Retention {
    pub fn new(limits: Limits) -> Retention {
        Retention {
            limits,
            order: limits.ordered().then(Default::default),
            by_user: limits.quotas().then(Default::default),
            ..Default::default()
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Makes room for slots up to `slots`.
    pub fn grow(&mut self, slots: usize) {
        if self.order.is_some() || self.by_user.is_some() {
            self.slots.0.resize(slots, SlotState::default());
        }
        if self.limits.idle_expiry_s.is_some() {
            self.written.resize(slots, 0);
        }
        if self.limits.refresh_on_read {
            self.accessed.resize_with(slots, AtomicU32::default);
            self.referenced.resize_with(slots, AtomicBool::default);
        }
    }

    /// The last read of the session in `slot` (0: none tracked).
    /// Notes that the session in `slot` was written at `now` with this `updated_at`.
    pub fn wrote(&mut self, slot: Slot, updated_at: i64, now: i64) {
        if let Some(written) = self.written.get_mut(slot as usize) {
            *written = written_time(updated_at, now);
        }
    }

    /// When the session in `slot` was last written, or its `updated_at` if earlier (unix seconds;
    /// `i64::MAX` when the store has no idle expiry).
    pub fn written(&self, slot: Slot) -> i64 {
        self.written.get(slot as usize).map_or(i64::MAX, |&w| i64::from(w))
    }

    /// What `record`'s idle time counts from: its `updated_at`, or, when that was later than the
    /// write ([`Record::future_dated`]), the write's time.
    pub fn idle_from(&self, record: &Record) -> i64 {
        match record.future_dated() {
            true => record.updated_at.min(self.written(record.slot)),
            false => record.updated_at,
        }
    }

    pub fn accessed(&self, slot: Slot) -> u32 {
        self.accessed.get(slot as usize).map_or(0, |a| a.load(Ordering::Relaxed))
    }

    /// Notes a read of the session in `slot` at `now` (under the read lock).
    pub fn read(&self, slot: Slot, now: i64) {
        if let Some(a) = self.accessed.get(slot as usize) {
            a.store(seconds(now), Ordering::Relaxed);
            self.referenced[slot as usize].store(true, Ordering::Relaxed);
        }
    }

    /// Whether the session in `slot` was read since it was last placed.
    fn referenced(&self, slot: Slot) -> bool {
        self.referenced.get(slot as usize).is_some_and(|r| r.load(Ordering::Relaxed))
    }

    /// A session written to `slot` at `time` (its `updated_at`, or the write's time when that is
    /// earlier, or now for a second chance), unread.
    pub fn inserted(&mut self, record: &Record, time: i64) {
        let (slot, bytes) = (record.slot, record.json().len());
        if let Some(state) = self.slots.0.get_mut(slot as usize) {
            state.moved = seconds(time);
        }
        if let Some(ends) = &mut self.order {
            self.slots.insert_by_key(ListKind::All, ends, slot, bytes, PLACING_WALK);
        }
        if let (Some(users), Some(user)) = (&mut self.by_user, &record.user) {
            let ends = match users.get_mut(user) {
                Some(ends) => ends,
                None => users.entry(user.clone()).or_default(),
            };
            self.slots.insert_by_key(ListKind::User, ends, slot, bytes, PLACING_WALK);
        }
        self.unread(slot);
    }

    fn unread(&self, slot: Slot) {
        if let Some(a) = self.accessed.get(slot as usize) {
            a.store(0, Ordering::Relaxed);
            self.referenced[slot as usize].store(false, Ordering::Relaxed);
        }
    }

    /// Puts `records`, just written by one import, where their `updated_at` (or the import's time, if
    /// earlier) says in the lists,
    /// however long ago that was and however many sessions were written since (one walk per list).
    pub fn placed(&mut self, records: &[&Record]) {
        if self.order.is_none() && self.by_user.is_none() {
            return;
        }
        let mut sorted: Vec<&Record> = records.to_vec();
        sorted.sort_by_key(|r| self.slots.moved(r.slot));
        // Each keeps the time its write just gave it: its updated_at, or the write's if earlier.
        for r in &sorted {
            self.removed(r);
        }
        if let Some(ends) = &mut self.order {
            let slots: Vec<(Slot, usize)> = sorted.iter().map(|r| (r.slot, r.json().len())).collect();
            self.slots.merge(ListKind::All, ends, &slots);
        }
        if let Some(users) = &mut self.by_user {
            let mut by_user: HashMap<&ArcStr, Vec<(Slot, usize)>> = HashMap::new();
            for r in sorted.iter().filter(|r| r.user.is_some()) {
                by_user.entry(r.user.as_ref().expect("filtered")).or_default().push((r.slot, r.json().len()));
            }
            for (user, slots) in by_user {
                self.slots.merge(ListKind::User, users.entry(user.clone()).or_default(), &slots);
            }
        }
    }

    /// Puts the lists in the order of `records`, least recently written first, for `slots` slots:
    /// after a reopen at `now`, whose snapshot loads sessions in insertion order. Idle times count
    /// from `updated_at`, or from now if that is later.
    pub fn rebuild(&mut self, slots: usize, records: &[&Record], now: i64) {
        let (expired, evicted) = (self.expired, self.evicted);
        *self = Retention { expired, evicted, ..Retention::new(self.limits) };
        self.grow(slots);
        for record in records {
            self.inserted(record, record.updated_at.min(now));
            self.wrote(record.slot, record.updated_at, now);
        }
    }

    /// The session in `old`'s slot replaced by `new`: it goes to the back.
    pub fn replaced(&mut self, old: &Record, new: &Record, now: i64) {
        if old.user != new.user {
            self.removed(old);
            self.inserted(new, now);
            return;
        }
        // The same user's list: found once (a conversation going on is the common write).
        let (slot, old_bytes, bytes) = (new.slot, old.json().len(), new.json().len());
        if let Some(state) = self.slots.0.get_mut(slot as usize) {
            state.moved = seconds(now);
        }
        if let Some(ends) = &mut self.order {
            self.slots.relink(ListKind::All, ends, slot, old_bytes, bytes);
        }
        if let (Some(users), Some(user)) = (&mut self.by_user, &new.user) {
            let ends = users.get_mut(user).expect("a user's session is in the user's list");
            self.slots.relink(ListKind::User, ends, slot, old_bytes, bytes);
        }
        self.unread(slot);
    }

    /// The session in `record`'s slot gone.
    pub fn removed(&mut self, record: &Record) {
        let (slot, bytes) = (record.slot, record.json().len());
        if let Some(ends) = &mut self.order {
            self.slots.unlink(ListKind::All, ends, slot, bytes);
        }
        if let (Some(users), Some(user)) = (&mut self.by_user, &record.user) {
            let ends = users.get_mut(user).expect("a user's session is in the user's list");
            self.slots.unlink(ListKind::User, ends, slot, bytes);
            if ends.sessions == 0 {
                users.remove(user);
            }
        }
    }

    /// Whether the session in `slot` was read since it last moved to the back: if so it moves there
    /// now (its second chance) and is not taken.
    fn second_chance(&mut self, record: &Record, now: i64) -> bool {
        let read_since = self.referenced(record.slot);
        if read_since {
            // To the back as if written now, unreferenced, still read when it was.
            let accessed = self.accessed(record.slot);
            self.removed(record);
            self.inserted(record, now);
            self.accessed[record.slot as usize].store(accessed, Ordering::Relaxed);
        }
        read_since
    }

    /// Up to `limit` sessions that have expired by `liveness`, found at the front of the recency list
    /// (reads since a session's last move give it a second chance, as for eviction). The front is
    /// where idle sessions are; sessions past their maximum age are found by the caller in the type
    /// indexes, ordered by `created_at`.
    pub fn expired_at_front<'t>(
        &mut self,
        liveness: &Liveness,
        limit: usize,
        record: impl Fn(Slot) -> &'t Record,
    ) -> Vec<Slot> {
        let mut found = Vec::new();
        let mut looked = 0;
        let Some(ends) = &self.order else { return found };
        let mut at = ends.front;
        let mut reread = Vec::new();
        while at != NIL && found.len() < limit && looked < 4 * limit {
            looked += 1;
            let r = record(at);
            let next = self.slots.next(ListKind::All, at);
            if !liveness.alive(r, self) {
                found.push(at);
            } else if self.referenced(at) {
                reread.push(at);
            } else {
                break;
            }
            at = next;
        }
        for slot in reread {
            self.second_chance(record(slot), liveness.now());
        }
        found
    }

    /// The sessions to remove so that a write of `demand` keeps every bound, each with why: expired
    /// sessions first where they are found, then the least recently used (for a user over its quota,
    /// its own). `totals` are the sessions and bytes held now. With `when_full` "refuse", only expired
    /// sessions are taken, and a write that still does not fit fails with [`ErrorKind::Full`].
    pub fn make_room<'t>(
        &mut self,
        totals: (usize, usize),
        demand: &Demand,
        liveness: &Liveness,
        record: impl Fn(Slot) -> &'t Record,
    ) -> Result<Vec<(Slot, Removal)>> {
        let mut taken = Taken::default();
        let added: usize = demand.added.iter().map(|a| a.1).sum();
        let replaced: usize = demand.replaced.iter().map(|r| r.1).sum();
        let mut store = (
            (totals.0 + demand.added.len()).saturating_sub(demand.replaced.len()),
            (totals.1 + added).saturating_sub(replaced),
        );
        if self.by_user.is_some() {
            // What the write adds to each user's sessions and bytes, users in id order: sorted, not
            // hashed, as a write usually names one user.
            let added = demand.added.iter().map(|(user, bytes)| (*user, 1, *bytes as isize));
            let replaced =
                demand.replaced.iter().map(|(user, bytes)| (user.as_deref(), -1, -(*bytes as isize)));
            let mut changes: SmallVec<[(&str, isize, isize); 2]> =
                added.chain(replaced).filter_map(|(user, n, bytes)| Some((user?, n, bytes))).collect();
            changes.sort_unstable_by_key(|c| c.0);
            let mut users: SmallVec<[(&str, (isize, isize)); 2]> = SmallVec::new();
            for (user, n, bytes) in changes {
                match users.last_mut() {
                    Some((u, total)) if *u == user => *total = (total.0 + n, total.1 + bytes),
                    _ => users.push((user, (n, bytes))),
                }
            }
            for (user, (sessions, bytes)) in users {
                let ends = self.by_user.as_ref().and_then(|m| m.get(user)).copied().unwrap_or_default();
                let mut held = (
                    (ends.sessions as isize + sessions).max(0) as usize,
                    (ends.bytes as isize + bytes).max(0) as usize,
                );
                let (max_sessions, max_bytes) = (self.limits.user_max_sessions, self.limits.user_max_bytes);
                let over = |h: (usize, usize)| {
                    max_sessions.is_some_and(|m| h.0 > m) || max_bytes.is_some_and(|m| h.1 > m)
                };
                if !over(held) {
                    continue;
                }
                self.take(List::User(user), demand, liveness, &record, &mut taken, |b| {
                    if !over(held) {
                        return false;
                    }
                    held = (held.0 - 1, held.1.saturating_sub(b));
                    store = (store.0 - 1, store.1.saturating_sub(b));
                    true
                });
                if over(held) {
                    return Err(full(format!(
                        "user {} would hold {} sessions and {} bytes, above this store's {}",
                        quote(user),
                        held.0,
                        held.1,
                        quota_text(&self.limits)
                    )));
                }
            }
        }
        let (max_sessions, max_bytes) = (self.limits.max_sessions, self.limits.max_bytes);
        let over =
            |h: (usize, usize)| max_sessions.is_some_and(|m| h.0 > m) || max_bytes.is_some_and(|m| h.1 > m);
        if over(store) {
            self.take(List::All, demand, liveness, &record, &mut taken, |b| {
                if !over(store) {
                    return false;
                }
                store = (store.0 - 1, store.1.saturating_sub(b));
                true
            });
            if over(store) {
                return Err(full(format!(
                    "the store would hold {} sessions and {} bytes, above its {}",
                    store.0,
                    store.1,
                    capacity_text(&self.limits)
                )));
            }
        }
        Ok(taken.list)
    }

    /// Walks `list` from its front, taking sessions while `want` (told each one's bytes) says more are
    /// needed: expired ones, and live ones unless the store refuses rather than evicts. A live session
    /// read since its last move goes to the back instead (and may be met again there).
    fn take<'t>(
        &mut self,
        list: List,
        demand: &Demand,
        liveness: &Liveness,
        record: &impl Fn(Slot) -> &'t Record,
        taken: &mut Taken,
        mut want: impl FnMut(usize) -> bool,
    ) {
        let refuse = self.limits.when_full == WhenFull::Refuse;
        let mut at = self.front(list);
        while let Some(slot) = at {
            at = self.next(list, slot);
            if demand.keeps(slot) || taken.chosen.contains(&slot) {
                continue;
            }
            let r = record(slot);
            let alive = liveness.alive(r, self);
            if alive && refuse {
                return;
            }
            if alive && self.second_chance(r, liveness.now()) {
                // Now at the back: met again after the others, and then taken.
                at = at.or(Some(slot));
                continue;
            }
            if !want(r.json().len()) {
                return;
            }
            taken.chosen.insert(slot);
            taken.list.push((slot, if alive { Removal::Evict } else { Removal::Expire }));
        }
    }

    fn front(&self, list: List) -> Option<Slot> {
        let front = match list {
            List::All => self.order.as_ref().map_or(NIL, |ends| ends.front),
            List::User(user) => self.by_user.as_ref().and_then(|m| m.get(user)).map_or(NIL, |e| e.front),
        };
        (front != NIL).then_some(front)
    }

    fn next(&self, list: List, slot: Slot) -> Option<Slot> {
        let next = self.slots.next(list.kind(), slot);
        (next != NIL).then_some(next)
    }

    /// Each user's sessions and bytes, for [`crate::tables::Tables::check_invariants`].
    pub fn check(&self, records: &[&Record]) -> std::result::Result<(), String> {
        if let Some(ends) = &self.order {
            let listed: Vec<Slot> = self.slots.iter(ListKind::All, ends).collect();
            if listed.len() != records.len() || ends.sessions != records.len() {
                return Err(format!("the recency list holds {} sessions of {}", listed.len(), records.len()));
            }
            let bytes: usize = records.iter().map(|r| r.json().len()).sum();
            if ends.bytes != bytes {
                return Err(format!("the recency list counts {} bytes of {bytes}", ends.bytes));
            }
        }
        if let Some(users) = &self.by_user {
            let mut want: HashMap<&str, (usize, usize)> = HashMap::new();
            for r in records {
                if let Some(u) = &r.user {
                    let e = want.entry(u).or_default();
                    *e = (e.0 + 1, e.1 + r.json().len());
                }
            }
            if want.len() != users.len() {
                return Err(format!("{} users listed, {} hold sessions", users.len(), want.len()));
            }
            for (user, ends) in users {
                let listed = self.slots.iter(ListKind::User, ends).count();
                if want.get(&**user) != Some(&(ends.sessions, ends.bytes)) || listed != ends.sessions {
                    return Err(format!("user {user:?}'s list is off"));
                }
            }
        }
        Ok(())
    }
}

/// Which recency list a walk follows.
#[derive(Clone, Copy)]
enum List<'a> {
    All,
    User(&'a str),
}

impl List<'_> {
    fn kind(self) -> ListKind {
        match self {
            List::All => ListKind::All,
            List::User(_) => ListKind::User,
        }
    }
}

/// The sessions [`Retention::make_room`] takes, in order, and as a set.
#[derive(Default)]
struct Taken {
    list: Vec<(Slot, Removal)>,
    chosen: HashSet<Slot>,
}

fn full(message: String) -> Error {
    Error::new(ErrorKind::Full, message)
}

fn quota_text(l: &Limits) -> String {
    match (l.user_max_sessions, l.user_max_bytes) {
        (Some(s), Some(b)) => format!("user_max_sessions {s} or user_max_bytes {b}"),
        (Some(s), None) => format!("user_max_sessions {s}"),
        (None, Some(b)) => format!("user_max_bytes {b}"),
        (None, None) => "quota".into(),
    }
}

fn capacity_text(l: &Limits) -> String {
    match (l.max_sessions, l.max_bytes) {
        (Some(s), Some(b)) => format!("max_sessions {s} or max_bytes {b}"),
        (Some(s), None) => format!("max_sessions {s}"),
        (None, Some(b)) => format!("max_bytes {b}"),
        (None, None) => "capacity".into(),
    }
}
