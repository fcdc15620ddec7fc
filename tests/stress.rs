//! Concurrency stress: many threads on handles of different modes sharing one store, mixing every
//! operation, half of them through the C ABI. Sized by environment variables:
//!   SS_STRESS_SECS    how long the workers run (default 3)
//!   SS_STRESS_THREADS how many workers (default 8; roles are dealt round-robin, see ROLES)
//!
//! What is checked, while the workers run:
//!  - owners: each owner thread alone writes its ids; every read of one returns exactly the last
//!    content it was acknowledged (reads-your-writes), and every write's status is the expected one;
//!  - torn listings, pairs: a mover moves its two sessions between two states (user, entity and
//!    created_at all change) in one ss_upsert_many; every listing, filtered by user, by entity or both
//!    (so through each index and the smaller-index walk), every query and every export must show both
//!    sessions of a pair in the same state;
//!  - torn listings, generations: a generation writer upserts a batch of sessions with one generation
//!    marker, deletes the batch at once, or drops its whole type; every listing must see the batch
//!    all-or-nothing, with one generation;
//!  - contested ids: threads of different modes race to create, delete and read the same ids; every
//!    status is OK, CONFLICT or NOT_FOUND and no id is ever listed under two types;
//!  - handles shared and closed concurrently with use;
//!  - every listing: no id twice, only the handle's type, recent sorted by created_at;
//!  - appenders: each adds runs to its own sessions, by ss_append_runs or by a read and an
//!    ss_upsert_if retried on a version mismatch; every call succeeds (or is retried), and versions
//!    only grow;
//!  - a feed follower: it follows ss_changes from the start, keeping a mirror of the sessions; change
//!    numbers come gapless and strictly increasing, the latest never goes down; when it falls behind
//!    the feed it starts again from ss_export_with_seq.
//!
//! And afterwards: check_invariants(), per-type listings add up to stats, the export holds every id
//! once, every owner id holds its last acknowledged content, every appender session holds exactly the
//! runs acknowledged to it in its order, and the follower's mirror, brought up to date, is the export.

mod common;

use common::ffi::{Handle, Kind, Outcome};
use sessionstore::Filter;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const MODES: [&str; 4] = ["agent", "team", "workflow", "workflow_v2"];
const ENTITY_KEY: [&str; 4] = ["agent_id", "team_id", "workflow_id", "workflow_id"];
const OWNED: usize = 16;
const CONTESTED: usize = 8;
const BATCH: usize = 8;
/// Pairs live in team sessions; generations in workflow_v2 (the only type anyone drops).
const PAIR_MODE: usize = 1;
const GEN_MODE: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    Owner,
    Reader,
    PairMover,
    GenWriter,
    Contender,
    Churn,
    Appender,
    FeedFollower,
}

const ROLES: [Role; 10] = [
    Role::Owner,
    Role::Reader,
    Role::PairMover,
    Role::GenWriter,
    Role::Contender,
    Role::Churn,
    Role::Appender,
    Role::FeedFollower,
    Role::Owner,
    Role::Reader,
];

/// Sessions each appender adds runs to.
const APPENDED: usize = 3;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// A handle plus the way its calls go: through the C ABI or the Rust API.
struct Client {
    h: Handle,
    mode: usize,
    ffi: bool,
}

impl Client {
    fn upsert(&self, s: &str) -> Outcome<String> {
        if self.ffi {
            self.h.upsert(s.as_bytes())
        } else {
            self.h.store().upsert(s.as_bytes()).map_err(Into::into)
        }
    }
    fn upsert_many(&self, s: &str) -> Outcome<String> {
        if self.ffi {
            self.h.upsert_many(s.as_bytes())
        } else {
            self.h.store().upsert_many(s.as_bytes()).map_err(Into::into)
        }
    }
    fn import(&self, s: &str) -> Outcome<usize> {
        if self.ffi {
            self.h.import(s.as_bytes())
        } else {
            self.h.store().import(s.as_bytes()).map_err(Into::into)
        }
    }
    fn read(&self, id: &str) -> Outcome<String> {
        if self.ffi {
            self.h.read(id, None)
        } else {
            self.h.store().read(id, None).map_err(Into::into)
        }
    }
    fn rename(&self, id: &str, name: &str) -> Outcome<String> {
        if self.ffi {
            self.h.rename(id, name)
        } else {
            self.h.store().rename_session(id, name, None).map_err(Into::into)
        }
    }
    fn delete(&self, id: &str) -> usize {
        if self.ffi {
            self.h.delete(id).unwrap()
        } else {
            self.h.store().delete_session(id, None).unwrap()
        }
    }
    fn delete_many(&self, ids: &str) -> usize {
        if self.ffi {
            self.h.delete_many(ids.as_bytes()).unwrap()
        } else {
            self.h.store().delete_sessions(ids.as_bytes(), None).unwrap()
        }
    }
    fn drop_all(&self) -> usize {
        if self.ffi {
            self.h.drop_all().unwrap()
        } else {
            self.h.store().drop_sessions().unwrap()
        }
    }
    fn ids(&self, user: Option<&str>, entity: Option<&str>) -> Vec<String> {
        let text = if self.ffi {
            self.h.ids(user, entity).unwrap()
        } else {
            self.h.store().get_all_session_ids(Filter::new(user, entity)).unwrap()
        };
        serde_json::from_str(&text).unwrap()
    }
    fn all(&self, user: Option<&str>, entity: Option<&str>) -> Vec<Session> {
        let text = if self.ffi {
            self.h.all(user, entity).unwrap()
        } else {
            self.h.store().get_all_sessions(Filter::new(user, entity)).unwrap()
        };
        self.sessions(&text)
    }
    fn recent(&self, user: Option<&str>, entity: Option<&str>, limit: i64) -> Vec<Session> {
        let text = if self.ffi {
            self.h.recent(user, entity, limit).unwrap()
        } else {
            self.h.store().get_recent_sessions(Filter::new(user, entity), limit).unwrap()
        };
        self.sessions(&text)
    }
    fn query(&self, q: &str) -> (Vec<Session>, usize) {
        let text = if self.ffi {
            self.h.query(Some(q.as_bytes())).unwrap()
        } else {
            self.h.store().query_json(Some(q.as_bytes())).unwrap()
        };
        #[derive(serde::Deserialize)]
        struct Page {
            sessions: Vec<Session>,
            total: usize,
        }
        let page: Page = serde_json::from_str(&text).unwrap();
        assert!(page.sessions.len() <= page.total);
        self.check_listing(&page.sessions);
        (page.sessions, page.total)
    }
    fn export(&self) -> Vec<(String, Session)> {
        let text = if self.ffi { self.h.export().unwrap() } else { self.h.store().export().unwrap() };
        let map: OrderedMap = serde_json::from_str(&text).unwrap();
        let mut seen = HashSet::new();
        for (k, s) in &map.0 {
            assert!(seen.insert(k.clone()), "export holds {k:?} twice");
            assert_eq!(*k, s.session_id);
        }
        map.0
    }
    /// Parses a listing and checks what every listing must satisfy.
    fn sessions(&self, text: &str) -> Vec<Session> {
        let list: Vec<Session> = serde_json::from_str(text).unwrap();
        self.check_listing(&list);
        list
    }
    fn check_listing(&self, list: &[Session]) {
        let mut seen = HashSet::new();
        for s in list {
            assert!(seen.insert(&s.session_id), "{:?} listed twice", s.session_id);
            assert_eq!(
                s.session_type, MODES[self.mode],
                "a {} session in a {} listing",
                s.session_type, MODES[self.mode]
            );
        }
    }
}

#[derive(serde::Deserialize, Debug, Clone)]
struct Session {
    session_id: String,
    session_type: String,
    created_at: i64,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    generation: Option<u64>,
}

/// A JSON object's entries in order, duplicates kept (so that they can be detected).
struct OrderedMap(Vec<(String, Session)>);

impl<'de> serde::Deserialize<'de> for OrderedMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<OrderedMap, M::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(OrderedMap(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn pair_id(p: usize, side: char) -> String {
    format!("pair-{p}-{side}")
}

/// The two states a pair moves between: (user, entity, created_at).
const PAIR_STATES: [(&str, &str, i64); 2] = [("even", "E", 100), ("odd", "F", 200)];

/// An owner thread's index, mode and last acknowledged content per id (None: deleted).
type OwnerResult = (usize, usize, HashMap<String, Option<String>>);

struct Shared {
    base: Handle,
    stop: AtomicBool,
    ops: AtomicU64,
    movers: usize,
    gen_writers: usize,
    /// Per owner thread: its mode and, at the end, its last acknowledged content per id.
    owners: std::sync::Mutex<Vec<OwnerResult>>,
    /// Per appender session: the runs acknowledged to it, in order.
    appended: std::sync::Mutex<HashMap<String, Vec<u64>>>,
    /// The feed follower's mirror and the number of the last change it applied.
    mirror: std::sync::Mutex<(u64, Mirror)>,
}

/// Sessions by id: their type and stored text.
type Mirror = std::collections::BTreeMap<String, (String, String)>;

/// A page of the change feed.
#[derive(serde::Deserialize)]
struct ChangePage<'a> {
    #[serde(borrow)]
    changes: Vec<FeedChange<'a>>,
    next: u64,
    latest: u64,
}

#[derive(serde::Deserialize)]
struct FeedChange<'a> {
    seq: u64,
    op: &'a str,
    session_type: String,
    session_id: Option<String>,
    #[serde(borrow)]
    session: Option<&'a serde_json::value::RawValue>,
}

/// An export's sessions by id, with their types and texts.
fn mirror_of(export: &str) -> Mirror {
    #[derive(serde::Deserialize)]
    struct Typed {
        session_type: String,
    }
    let map: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(export).unwrap();
    map.into_iter()
        .map(|(id, raw)| {
            (id, (serde_json::from_str::<Typed>(raw.get()).unwrap().session_type, raw.get().to_owned()))
        })
        .collect()
}

/// Applies the changes after `*after` to `mirror`, one page; returns how many there were, or `None`
/// when the feed no longer holds them. Checks that numbers follow each other.
fn follow(
    store: &sessionstore::Store,
    after: &mut u64,
    latest: &mut u64,
    mirror: &mut Mirror,
) -> Option<usize> {
    let text = match store.changes(*after, 500, false) {
        Ok(text) => text,
        Err(e) if e.kind == sessionstore::ErrorKind::FeedTruncated => return None,
        Err(e) => panic!("changes: {e}"),
    };
    let page: ChangePage = serde_json::from_str(&text).unwrap();
    assert!(page.latest >= *latest, "the latest change went from {} to {}", latest, page.latest);
    *latest = page.latest;
    for (i, c) in page.changes.iter().enumerate() {
        assert_eq!(c.seq, *after + 1 + i as u64, "the feed skipped or repeated a number after {after}");
        match c.op {
            "upsert" => {
                let session = c.session.expect("an upsert carries its session").get().to_owned();
                mirror.insert(c.session_id.clone().unwrap(), (c.session_type.clone(), session));
            }
            "delete" => drop(mirror.remove(c.session_id.as_ref().unwrap())),
            "drop" => mirror.retain(|_, (ty, _)| *ty != c.session_type),
            other => panic!("unknown op {other}"),
        }
    }
    assert_eq!(page.next, page.changes.last().map_or(*after, |c| c.seq));
    *after = page.next;
    Some(page.changes.len())
}

impl Shared {
    fn client(&self, mode: usize, ffi: bool) -> Client {
        Client { h: self.base.share(Some(MODES[mode])).unwrap(), mode, ffi }
    }
}

/// Pairs seen by a listing: every pair present must show both sides in the same state.
fn check_pairs(list: &[Session], movers: usize, what: &str) -> Result<(), String> {
    for p in 0..movers {
        let (a, b) = (pair_id(p, 'a'), pair_id(p, 'b'));
        let sa = list.iter().find(|s| s.session_id == a);
        let sb = list.iter().find(|s| s.session_id == b);
        match (sa, sb) {
            (None, None) => {}
            (Some(x), Some(y)) if x.user_id == y.user_id && x.created_at == y.created_at => {}
            (Some(x), Some(y)) => {
                return Err(format!(
                    "torn {what}: pair {p} seen as {:?}/{} and {:?}/{}",
                    x.user_id, x.created_at, y.user_id, y.created_at
                ))
            }
            _ => return Err(format!("torn {what}: only one side of pair {p} listed")),
        }
    }
    Ok(())
}

/// Generation batches seen by a listing: all of a writer's batch or none of it, with one generation.
fn check_generations(list: &[Session], writers: usize, what: &str) -> Result<(), String> {
    for w in 0..writers {
        let prefix = format!("gen-{w}-");
        let batch: Vec<&Session> = list.iter().filter(|s| s.session_id.starts_with(&prefix)).collect();
        if !batch.is_empty() && batch.len() != BATCH {
            return Err(format!("torn {what}: {} of writer {w}'s {BATCH} sessions", batch.len()));
        }
        let gens: HashSet<Option<u64>> = batch.iter().map(|s| s.generation).collect();
        if gens.len() > 1 {
            return Err(format!("torn {what}: writer {w}'s batch mixes generations {gens:?}"));
        }
    }
    Ok(())
}

fn owner(shared: &Shared, index: usize, nth: usize, rng: &mut Rng) {
    let mode = nth % 3; // agent, team or workflow: never dropped by anyone
    let c = shared.client(mode, index.is_multiple_of(2));
    let ids: Vec<String> = (0..OWNED).map(|k| format!("own-{index}-{k}")).collect();
    let mut last: HashMap<String, Option<String>> = ids.iter().map(|id| (id.clone(), None)).collect();
    let mut version = 0u64;
    // Each session keeps its user (an upsert may not change it); entity and creation time move.
    let session = |id: &str, rng: &mut Rng, version: u64| {
        let created =
            if rng.chance(50) { format!(",\"created_at\":{}", rng.below(1000)) } else { String::new() };
        format!(
            "{{\"session_id\":\"{id}\",\"user_id\":\"u{}\",\"{}\":\"e{}\",\"v\":{version},\"owner\":{index}{created}}}",
            id.len() % 3,
            ENTITY_KEY[mode],
            rng.below(3)
        )
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let id = &ids[rng.below(OWNED)];
        version += 1;
        match rng.below(10) {
            0..=3 => {
                let stored = c.upsert(&session(id, rng, version)).unwrap();
                last.insert(id.clone(), Some(stored));
            }
            4 => {
                let n = 1 + rng.below(4);
                let chosen: Vec<&String> = (0..n).map(|_| &ids[rng.below(OWNED)]).collect();
                let batch: Vec<String> = chosen.iter().map(|id| session(id, rng, version)).collect();
                let out = c.upsert_many(&format!("[{}]", batch.join(","))).unwrap();
                let stored: Vec<&serde_json::value::RawValue> = serde_json::from_str(&out).unwrap();
                assert_eq!(stored.len(), n);
                for (id, s) in chosen.iter().zip(stored) {
                    last.insert((*id).clone(), Some(s.get().to_owned()));
                }
            }
            5 => match (c.rename(id, &format!("name {version}")), &last[id]) {
                (Ok(stored), Some(_)) => {
                    last.insert(id.clone(), Some(stored));
                }
                (Err(f), None) if f.kind == Kind::NotFound => {}
                (got, want) => panic!("owner {index}: rename {id} gave {got:?} with last content {want:?}"),
            },
            6 => {
                let removed = c.delete(id);
                assert_eq!(removed, usize::from(last[id].is_some()), "owner {index}: delete {id}");
                last.insert(id.clone(), None);
            }
            _ => match (c.read(id), &last[id]) {
                (Ok(text), Some(want)) => {
                    assert_eq!(&text, want, "owner {index}: read {id} is not its last write")
                }
                (Err(f), None) if f.kind == Kind::NotFound => {}
                (got, want) => panic!("owner {index}: read {id} gave {got:?}, last acknowledged {want:?}"),
            },
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
    shared.owners.lock().unwrap().push((index, mode, last));
}

fn pair_mover(shared: &Shared, p: usize, rng: &mut Rng) {
    let c = shared.client(PAIR_MODE, p % 2 == 1);
    let mut state = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        state = 1 - state;
        let (user, entity, created) = PAIR_STATES[state];
        let (a, b) = (pair_id(p, 'a'), pair_id(p, 'b'));
        let one = |id: &str| {
            format!(
                r#"{{"session_id":"{id}","user_id":"{user}","team_id":"{entity}","created_at":{created}}}"#
            )
        };
        // Moving sessions between users takes an import, which is atomic like a batch.
        let (first, second) = if rng.chance(50) { (&a, &b) } else { (&b, &a) };
        c.import(&format!("{{\"{first}\":{},\"{second}\":{}}}", one(first), one(second))).unwrap();
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
}

fn gen_writer(shared: &Shared, w: usize, rng: &mut Rng) {
    let c = shared.client(GEN_MODE, w.is_multiple_of(2));
    let mut generation = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        generation += 1;
        match rng.below(10) {
            0 => {
                c.drop_all();
            }
            1 | 2 => {
                let ids: Vec<String> = (0..BATCH).map(|k| format!("\"gen-{w}-{k}\"")).collect();
                let removed = c.delete_many(&format!("[{}]", ids.join(",")));
                assert!(removed == 0 || removed == BATCH, "writer {w}: deleted {removed} of a batch");
            }
            _ => {
                let mut order: Vec<usize> = (0..BATCH).collect();
                order.rotate_left(rng.below(BATCH));
                let batch: Vec<String> = order
                    .iter()
                    .map(|k| {
                        format!(
                            r#"{{"session_id":"gen-{w}-{k}","user_id":"gen-{w}","workflow_id":"g","created_at":{},"generation":{generation}}}"#,
                            rng.below(50)
                        )
                    })
                    .collect();
                c.upsert_many(&format!("[{}]", batch.join(","))).unwrap();
            }
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
}

fn contender(shared: &Shared, index: usize, rng: &mut Rng) {
    let clients: Vec<Client> = (0..3).map(|m| shared.client(m, (index + m).is_multiple_of(2))).collect();
    while !shared.stop.load(Ordering::Relaxed) {
        let c = &clients[rng.below(3)];
        let id = format!("contest-{}", rng.below(CONTESTED));
        match rng.below(4) {
            0 | 1 => match c.upsert(&format!(r#"{{"session_id":"{id}","by":{index}}}"#)) {
                Ok(stored) => assert!(stored.contains(&format!("\"session_type\":\"{}\"", MODES[c.mode]))),
                Err(f) => assert_eq!(f.kind, Kind::Conflict, "contended upsert: {}", f.message),
            },
            2 => {
                c.delete(&id);
            }
            _ => match c.read(&id) {
                Ok(text) => assert!(text.contains(&format!("\"session_type\":\"{}\"", MODES[c.mode]))),
                Err(f) => assert_eq!(f.kind, Kind::NotFound),
            },
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Shares handles from handles, uses them, closes them in every order.
fn churn(shared: &Shared, index: usize, rng: &mut Rng) {
    let mut n = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let first = shared.base.share(Some(MODES[rng.below(3)])).unwrap();
        let second = first.share(if rng.chance(50) { None } else { Some(MODES[rng.below(3)]) }).unwrap();
        n += 1;
        let id = format!("churn-{index}-{n}");
        let (a, b) = if rng.chance(50) { (first, second) } else { (second, first) };
        a.upsert(format!(r#"{{"session_id":"{id}"}}"#).as_bytes()).unwrap();
        drop(a);
        let mode = b.store().mode().as_str().to_owned();
        let stats: serde_json::Value = serde_json::from_str(&b.stats().unwrap()).unwrap();
        assert_eq!(stats["mode"], mode.as_str());
        // Through whichever handle has the session's type, the session goes again.
        let mut removed = b.delete(&id).unwrap();
        if removed == 0 {
            for mode in &MODES[..3] {
                removed += b.share(Some(mode)).unwrap().delete(&id).unwrap();
            }
        }
        assert_eq!(removed, 1, "churn session {id} lost");
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
}

fn appender(shared: &Shared, index: usize, rng: &mut Rng) {
    let client = shared.client(0, index.is_multiple_of(2));
    let ids: Vec<String> = (0..APPENDED).map(|k| format!("appends-{index}-{k}")).collect();
    for id in &ids {
        client.upsert(&format!(r#"{{"session_id":"{id}","memory":{{"runs":[]}}}}"#)).unwrap();
    }
    let mut acknowledged: HashMap<String, Vec<u64>> = ids.iter().map(|id| (id.clone(), Vec::new())).collect();
    let mut n = 0u64;
    let mut last_version: HashMap<String, u64> = HashMap::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let id = &ids[rng.below(APPENDED)];
        n += 1;
        let stored = if rng.chance(70) {
            let runs = format!(r#"[{{"n":{n}}}]"#);
            if client.ffi {
                client.h.append_runs(id, None, runs.as_bytes()).unwrap()
            } else {
                client.h.store().append_runs(id, None, runs.as_bytes()).unwrap()
            }
        } else {
            // A read-modify-write with a conditional upsert, retried when another write came first
            // (here none does: the test is of the version check, which must pass at once).
            let mut session: serde_json::Value = serde_json::from_str(&client.read(id).unwrap()).unwrap();
            let version = session["version"].as_u64().unwrap();
            session["memory"]["runs"].as_array_mut().unwrap().push(serde_json::json!({"n": n}));
            let text = session.to_string();
            match client.h.upsert_if(text.as_bytes(), version) {
                Ok(stored) => stored,
                Err(f) => panic!("{id}: a conditional upsert at its own version failed: {f:?}"),
            }
        };
        let version =
            serde_json::from_str::<serde_json::Value>(&stored).unwrap()["version"].as_u64().unwrap();
        let previous = last_version.insert(id.clone(), version).unwrap_or(0);
        assert!(version > previous, "{id}: version went from {previous} to {version}");
        acknowledged.get_mut(id).unwrap().push(n);
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
    shared.appended.lock().unwrap().extend(acknowledged);
}

fn feed_follower(shared: &Shared) {
    let store = shared.base.store();
    let (mut after, mut latest, mut mirror) = (0u64, 0u64, Mirror::new());
    let mut resyncs = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        if follow(store, &mut after, &mut latest, &mut mirror).is_none() {
            // Fallen behind: start again from an export and the number it holds.
            let (export, seq) = store.export_with_seq().unwrap();
            assert!(seq >= after, "an export at change {seq}, after {after} was followed");
            (after, mirror) = (seq, mirror_of(&export));
            resyncs += 1;
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
    eprintln!("stress: the feed follower reached change {after} (resynchronised {resyncs} times)");
    *shared.mirror.lock().unwrap() = (after, mirror);
}

fn reader(shared: &Shared, index: usize, rng: &mut Rng) {
    let clients: Vec<Client> = (0..4).map(|m| shared.client(m, (index + m) % 2 == 1)).collect();
    let (movers, writers) = (shared.movers, shared.gen_writers);
    while !shared.stop.load(Ordering::Relaxed) {
        let pairs = &clients[PAIR_MODE];
        let gens = &clients[GEN_MODE];
        match rng.below(12) {
            0 => {
                let (user, entity, _) = PAIR_STATES[rng.below(2)];
                let filters = [(Some(user), None), (None, Some(entity)), (Some(user), Some(entity))];
                let (u, e) = filters[rng.below(3)];
                check_pairs(&pairs.all(u, e), movers, "get_all_sessions").unwrap();
            }
            1 => {
                let (user, entity, _) = PAIR_STATES[rng.below(2)];
                let list = pairs.recent(Some(user), if rng.chance(50) { Some(entity) } else { None }, -1);
                check_pairs(&list, movers, "get_recent_sessions").unwrap();
            }
            2 => {
                let (user, _, _) = PAIR_STATES[rng.below(2)];
                let ids = pairs.ids(Some(user), None);
                let n = ids.iter().filter(|id| id.starts_with("pair-")).count();
                assert!(n % 2 == 0, "torn get_all_session_ids: {n} pair sessions for user {user}: {ids:?}");
            }
            3 => {
                let (user, entity, created) = PAIR_STATES[rng.below(2)];
                let q = format!(
                    r#"{{"user_id":"{user}","entity_id":"{entity}","created_after":{created},"sort_by":"session_id"}}"#
                );
                let (list, total) = pairs.query(&q);
                assert_eq!(list.len(), total);
                check_pairs(&list, movers, "query").unwrap();
            }
            4 => {
                let w = rng.below(writers.max(1));
                check_generations(&gens.all(Some(&format!("gen-{w}")), None), writers, "get_all_sessions")
                    .unwrap();
            }
            5 => {
                check_generations(&gens.recent(None, Some("g"), -1), writers, "get_recent_sessions").unwrap();
            }
            6 => {
                let w = rng.below(writers.max(1));
                let q = format!(r#"{{"user_id":"gen-{w}","sort_by":"updated_at","limit":3}}"#);
                let (_, total) = gens.query(&q);
                assert!(total == 0 || total == BATCH, "torn query: total {total}");
            }
            7 => {
                let export = clients[rng.below(4)].export();
                let sessions: Vec<Session> = export.into_iter().map(|(_, s)| s).collect();
                check_pairs(&sessions, movers, "export").unwrap();
                check_generations(&sessions, writers, "export").unwrap();
                let contested: Vec<&String> =
                    sessions.iter().map(|s| &s.session_id).filter(|id| id.starts_with("contest-")).collect();
                assert!(contested.len() <= CONTESTED);
            }
            8 => {
                let c = &clients[rng.below(4)];
                let list = c.recent(None, None, if rng.chance(50) { -1 } else { rng.below(20) as i64 });
                assert!(
                    list.windows(2).all(|w| w[0].created_at >= w[1].created_at),
                    "recent not sorted by created_at"
                );
            }
            9 => {
                // No contested id is visible under two types at once (one snapshot: the export).
                let export = clients[0].export();
                for k in 0..CONTESTED {
                    let id = format!("contest-{k}");
                    assert!(export.iter().filter(|(key, _)| *key == id).count() <= 1);
                }
            }
            10 => {
                let c = &clients[rng.below(4)];
                let stats = c.h.store().stats().unwrap();
                assert_eq!(stats.sessions(), stats.by_type.iter().sum::<usize>());
                c.ids(None, None);
            }
            _ => {
                let c = &clients[rng.below(3)];
                let id = format!("contest-{}", rng.below(CONTESTED));
                if let Ok(text) = c.read(&id) {
                    assert!(text.contains(&format!("\"session_type\":\"{}\"", MODES[c.mode])));
                }
            }
        }
        shared.ops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the workers on a store opened with `config`; returns the final export.
fn run(secs: u64, threads: usize, config: &[u8]) -> String {
    let roles: Vec<Role> = (0..threads).map(|i| ROLES[i % ROLES.len()]).collect();
    let count = |r: Role| roles.iter().filter(|&&x| x == r).count();
    let shared = Arc::new(Shared {
        base: Handle::open(Some(config)).unwrap(),
        stop: AtomicBool::new(false),
        ops: AtomicU64::new(0),
        movers: count(Role::PairMover),
        gen_writers: count(Role::GenWriter),
        owners: Default::default(),
        appended: Default::default(),
        mirror: Default::default(),
    });
    let started = Instant::now();
    let mut per_role: HashMap<Role, usize> = HashMap::new();
    let handles: Vec<_> = roles
        .iter()
        .enumerate()
        .map(|(i, &role)| {
            let nth = *per_role.entry(role).and_modify(|n| *n += 1).or_insert(0);
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("{role:?}-{nth}"))
                .spawn(move || {
                    let mut rng =
                        Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match role {
                        Role::Owner => owner(&shared, i, nth, &mut rng),
                        Role::Reader => reader(&shared, i, &mut rng),
                        Role::PairMover => pair_mover(&shared, nth, &mut rng),
                        Role::GenWriter => gen_writer(&shared, nth, &mut rng),
                        Role::Contender => contender(&shared, i, &mut rng),
                        Role::Churn => churn(&shared, i, &mut rng),
                        Role::Appender => appender(&shared, i, &mut rng),
                        Role::FeedFollower => feed_follower(&shared),
                    }));
                    if result.is_err() {
                        shared.stop.store(true, Ordering::Relaxed); // stop everyone at the first failure
                    }
                    result
                })
                .unwrap()
        })
        .collect();
    thread::sleep(Duration::from_secs(secs));
    shared.stop.store(true, Ordering::Relaxed);
    let mut failures = 0;
    for h in handles {
        let name = h.thread().name().unwrap_or("?").to_owned();
        if let Err(e) = h.join().unwrap() {
            failures += 1;
            eprintln!(
                "worker {name} failed: {:?}",
                e.downcast_ref::<String>().map(String::as_str).or(e.downcast_ref::<&str>().copied())
            );
        }
    }
    assert_eq!(failures, 0, "{failures} workers failed (see above)");
    let elapsed = started.elapsed();
    let ops = shared.ops.load(Ordering::Relaxed);

    // The final state.
    let base = &shared.base;
    let store = base.store();
    store.check_invariants().unwrap();
    let stats = store.stats().unwrap();
    let views: Vec<Client> = (0..4).map(|m| shared.client(m, m % 2 == 0)).collect();
    let export = views[0].export();
    assert_eq!(export.len(), stats.sessions(), "export and stats disagree");
    for (m, c) in views.iter().enumerate() {
        let ids = c.ids(None, None);
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{} listing holds an id twice", MODES[m]);
        assert_eq!(ids.len(), stats.by_type[m], "{} listing vs stats", MODES[m]);
        assert_eq!(c.all(None, None).len(), ids.len());
        assert_eq!(c.recent(None, None, -1).len(), ids.len());
        assert_eq!(c.query("{}").1, ids.len());
    }
    check_pairs(&export.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(), shared.movers, "final export")
        .unwrap();
    for (index, mode, last) in shared.owners.lock().unwrap().iter() {
        let c = &views[*mode];
        for (id, want) in last {
            match (c.read(id), want) {
                (Ok(text), Some(want)) => assert_eq!(&text, want, "owner {index}: {id} lost its last write"),
                (Err(f), None) if f.kind == Kind::NotFound => {}
                (got, want) => panic!("owner {index}: {id} is {got:?}, last acknowledged {want:?}"),
            }
        }
    }
    for (id, runs) in shared.appended.lock().unwrap().iter() {
        let session: serde_json::Value = serde_json::from_str(&views[0].read(id).unwrap()).unwrap();
        let stored: Vec<u64> =
            session["memory"]["runs"].as_array().unwrap().iter().map(|r| r["n"].as_u64().unwrap()).collect();
        assert_eq!(&stored, runs, "{id}: the runs stored are not the runs acknowledged");
    }
    if count(Role::FeedFollower) > 0 {
        let (mut after, mut mirror) = std::mem::take(&mut *shared.mirror.lock().unwrap());
        let mut latest = 0;
        while let Some(applied) = follow(store, &mut after, &mut latest, &mut mirror) {
            if applied == 0 {
                break;
            }
        }
        // The follower kept up (or resynchronised) until the end, and its mirror is the store.
        assert_eq!(
            after,
            store.stats().unwrap().feed.latest,
            "the follower could not catch up with the feed"
        );
        assert!(
            mirror == mirror_of(&store.export().unwrap()),
            "the feed follower's mirror differs from the export"
        );
    }
    for k in 0..CONTESTED {
        let id = format!("contest-{k}");
        let holders = views.iter().filter(|c| c.read(&id).is_ok()).count();
        assert!(holders <= 1, "{id} readable through {holders} types");
    }
    let owners = shared.owners.lock().unwrap().len();
    eprintln!(
        "stress: {threads} threads ({owners} owners, {} readers, {} pair movers, {} generation writers, {} contenders, {} churners, \
         {} appenders, {} feed followers) for {:.1}s: {ops} operations ({:.0}/s), final store {} sessions {:?}",
        count(Role::Reader),
        shared.movers,
        shared.gen_writers,
        count(Role::Contender),
        count(Role::Churn),
        count(Role::Appender),
        count(Role::FeedFollower),
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
        stats.sessions(),
        stats.by_type
    );
    assert!(ops > 100, "the workers hardly ran: {ops} operations");
    store.export().unwrap()
}

/// The bounded run of `make test` (a few seconds); `make test-long` sets SS_STRESS_SECS and
/// SS_STRESS_THREADS.
#[test]
fn concurrent_mixed_operations_on_shared_handles() {
    run(env_or("SS_STRESS_SECS", 3), env_or("SS_STRESS_THREADS", 8) as usize, br#"{"mode":"agent"}"#);
}

/// The same on a durable store (sync always: concurrent writers share fsyncs) compacting every 64 KiB
/// of journal, so that snapshots run under the load; reopened afterwards, it holds the same export.
#[test]
fn concurrent_mixed_operations_on_a_durable_store() {
    let dir = std::env::temp_dir().join(format!("ss-stress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        r#"{{"mode":"agent","path":{},"sync":"always","compact_factor":1,"compact_min_bytes":65536}}"#,
        serde_json::to_string(dir.to_str().unwrap()).unwrap()
    );
    let before = run(env_or("SS_STRESS_SECS", 3), env_or("SS_STRESS_THREADS", 8) as usize, config.as_bytes());
    let reopened = Handle::open(Some(config.as_bytes())).unwrap();
    let stats = reopened.store().stats().unwrap();
    let durability = stats.durability.as_ref().unwrap();
    assert!(durability.recovery.snapshot_records > 0, "no snapshot was written under load: {durability:?}");
    let after = reopened.store().export().unwrap();
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(before == after, "the reopened store differs from the one closed");
}

/// The detectors must detect: a listing put together from two snapshots is reported as torn.
#[test]
fn the_torn_listing_checks_catch_a_torn_listing() {
    let session = |id: &str, user: &str, created: i64| Session {
        session_id: id.into(),
        session_type: "team".into(),
        created_at: created,
        user_id: Some(user.into()),
        generation: None,
    };
    let torn = vec![session("pair-0-a", "even", 100), session("pair-0-b", "odd", 200)];
    assert!(check_pairs(&torn, 1, "test").is_err());
    let half = vec![session("pair-0-a", "even", 100)];
    assert!(check_pairs(&half, 1, "test").is_err());
    let mut mixed: Vec<Session> = (0..BATCH).map(|k| session(&format!("gen-0-{k}"), "gen-0", 1)).collect();
    mixed[3].generation = Some(2);
    assert!(check_generations(&mixed, 1, "test").is_err());
    assert!(check_generations(&mixed[..5], 1, "test").is_err());
    mixed[3].generation = None;
    assert!(check_generations(&mixed, 1, "test").is_ok());
    let whole = vec![session("pair-0-a", "odd", 200), session("pair-0-b", "odd", 200)];
    assert!(check_pairs(&whole, 1, "test").is_ok());
}
