//! The benchmark's Rust rows, on the workload of comparison/gen_sessions.py:
//!
//!  - `floor`: the least any in-process store must do for the same call, in plain Rust (std HashMap,
//!    the same allocator and JSON parser the engine uses). See `Floor` for what each call does.
//!  - `rust`: the engine itself, called through its Rust API (`sessionstore::Store`).
//!  - `paired`: both in one process, each op timed in batches of calls, floor and engine in turn,
//!    `--rounds` times (see `paired`): the engine's ratio to the floor with its spread.
//!
//! ss-bench-rust --row floor|rust|paired --data target/bench-data/n10000-s1024 [--ops read,update,...]
//!               [--time-cap 1.0] [--max-samples 20000] [--big-samples 5] [--deadline SECONDS] [--rounds 21]
//!
//! Prints one JSON line per measurement (the protocol every driver of bench/ follows; see comparison/run.py).

mod cli;

use serde::Deserialize;
use serde_json::value::RawValue;
use sessionstore::{Filter, Store};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------------
// The floor.

/// The fields any store must find in a session to answer the workload's calls. Parsing into this struct
/// is one serde_json pass over the whole text (unknown fields are skipped, not trusted), which is the
/// least a store must do to learn a session's id and index fields and to know the text is JSON.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    session_id: Cow<'a, str>,
    #[serde(borrow, default)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    agent_id: Option<Cow<'a, str>>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    updated_at: Option<i64>,
    #[serde(borrow, default)]
    session_data: Option<SessionData<'a>>,
}

#[derive(Deserialize)]
struct SessionData<'a> {
    #[serde(borrow, default)]
    session_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct FloorQuery {
    session_name: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

struct FloorRec {
    id: Box<str>,
    json: Box<str>,
    user: Option<Box<str>>,
    entity: Option<Box<str>>,
    name: Option<Box<str>>,
    created: i64,
    updated: i64,
}

/// A hash map from id to session bytes, plus per-user lists kept in created_at order and per-entity
/// lists in insertion order: the least structure that answers the workload's listings without scans.
///  - read: a hash lookup and a copy of the session's bytes into a fresh buffer;
///  - upsert (update or insert): one parse into `Head`, a copy of the bytes, a hash-map insert, and for a
///    new session a push onto its user's and entity's lists;
///  - recent(user, 5): the user's list, the last five sessions copied into one JSON array;
///  - ids(entity): the entity's list, its ids written as a JSON array;
///  - query(name, sort updated_at desc, page of 20): a scan of every record's name (no name index, like
///    the engine), a partial sort of the matches and a copy of the page;
///  - export: every session copied once into `{"id":session,...}`;
///  - import: one pass to split the object into records, then an upsert of each.
#[derive(Default)]
struct Floor {
    by_id: HashMap<Box<str>, u32>,
    recs: Vec<FloorRec>,
    by_user: HashMap<Box<str>, Vec<u32>>,
    by_entity: HashMap<Box<str>, Vec<u32>>,
}

impl Floor {
    fn upsert(&mut self, json: &[u8]) {
        let text = std::str::from_utf8(json).expect("UTF-8");
        let head: Head = serde_json::from_str(text).expect("a session");
        let name = head.session_data.and_then(|d| d.session_name).map(|n| Box::from(n.as_ref()));
        let created = head.created_at.unwrap_or(0);
        let updated = head.updated_at.unwrap_or(created);
        if let Some(&slot) = self.by_id.get(head.session_id.as_ref()) {
            let rec = &mut self.recs[slot as usize];
            let same_index = rec.created == created
                && rec.user.as_deref() == head.user_id.as_deref()
                && rec.entity.as_deref() == head.agent_id.as_deref();
            rec.json = Box::from(text);
            rec.name = name;
            rec.updated = updated;
            if !same_index {
                self.unindex(slot);
                let rec = &mut self.recs[slot as usize];
                rec.created = created;
                rec.user = head.user_id.map(|u| Box::from(u.as_ref()));
                rec.entity = head.agent_id.map(|e| Box::from(e.as_ref()));
                self.index(slot);
            }
            return;
        }
        let slot = self.recs.len() as u32;
        self.recs.push(FloorRec {
            id: Box::from(head.session_id.as_ref()),
            json: Box::from(text),
            user: head.user_id.map(|u| Box::from(u.as_ref())),
            entity: head.agent_id.map(|e| Box::from(e.as_ref())),
            name,
            created,
            updated,
        });
        self.by_id.insert(Box::from(head.session_id.as_ref()), slot);
        self.index(slot);
    }

    fn index(&mut self, slot: u32) {
        let rec = &self.recs[slot as usize];
        if let Some(u) = &rec.user {
            let list = self.by_user.entry(u.clone()).or_default();
            let recs = &self.recs;
            let at = list.partition_point(|&s| recs[s as usize].created <= rec.created);
            list.insert(at, slot);
        }
        if let Some(e) = &rec.entity {
            self.by_entity.entry(e.clone()).or_default().push(slot);
        }
    }

    fn unindex(&mut self, slot: u32) {
        let rec = &self.recs[slot as usize];
        for (map, key) in [(&mut self.by_user, &rec.user), (&mut self.by_entity, &rec.entity)] {
            if let Some(k) = key {
                if let Some(list) = map.get_mut(k) {
                    list.retain(|&s| s != slot);
                }
            }
        }
    }

    fn read(&self, id: &str) -> Option<String> {
        self.by_id.get(id).map(|&slot| String::from(&*self.recs[slot as usize].json))
    }

    fn recent(&self, user: &str, limit: usize) -> String {
        let list = self.by_user.get(user).map_or(&[][..], |l| &l[..]);
        let page = &list[list.len().saturating_sub(limit)..];
        let mut out = String::with_capacity(page.iter().map(|&s| self.recs[s as usize].json.len() + 1).sum::<usize>() + 2);
        out.push('[');
        for (i, &s) in page.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&self.recs[s as usize].json);
        }
        out.push(']');
        out
    }

    fn ids(&self, entity: &str) -> String {
        let list = self.by_entity.get(entity).map_or(&[][..], |l| &l[..]);
        let mut out = String::with_capacity(list.iter().map(|&s| self.recs[s as usize].id.len() + 3).sum::<usize>() + 2);
        out.push('[');
        for (i, &s) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(&self.recs[s as usize].id);
            out.push('"');
        }
        out.push(']');
        out
    }

    fn query(&self, query: &[u8]) -> String {
        let q: FloorQuery = serde_json::from_slice(query).expect("a query");
        let needle = q.session_name.as_deref().map(str::to_lowercase);
        let mut matches: Vec<(i64, u32)> = Vec::new();
        for (slot, rec) in self.recs.iter().enumerate() {
            let hit = match (&needle, &rec.name) {
                (None, _) => true,
                (Some(n), Some(name)) => contains_ignore_case(name, n),
                (Some(_), None) => false,
            };
            if hit {
                matches.push((rec.updated, slot as u32));
            }
        }
        let total = matches.len();
        let offset = q.offset.unwrap_or(0);
        let want = offset.saturating_add(q.limit.unwrap_or(usize::MAX)).min(total);
        let desc = |a: &(i64, u32), b: &(i64, u32)| b.cmp(a);
        if want > 0 && want < total {
            matches.select_nth_unstable_by(want - 1, desc);
            matches.truncate(want);
        }
        matches.sort_unstable_by(desc);
        let page = &matches[offset.min(matches.len())..];
        let mut out = String::with_capacity(page.iter().map(|&(_, s)| self.recs[s as usize].json.len() + 1).sum::<usize>() + 32);
        out.push_str("{\"sessions\":[");
        for (i, &(_, s)) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&self.recs[s as usize].json);
        }
        let _ = write!(out, "],\"total\":{total}}}");
        out
    }

    fn export(&self) -> String {
        let mut out = String::with_capacity(self.recs.iter().map(|r| r.json.len() + r.id.len() + 4).sum::<usize>() + 2);
        out.push('{');
        for (i, r) in self.recs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(&r.id);
            out.push_str("\":");
            out.push_str(&r.json);
        }
        out.push('}');
        out
    }

    fn import(text: &[u8]) -> Floor {
        let records: Records = serde_json::from_slice(text).expect("an export");
        let mut floor = Floor::default();
        floor.recs.reserve(records.0.len());
        for (_, raw) in records.0 {
            floor.upsert(raw.get().as_bytes());
        }
        floor
    }
}

/// The records of an export in order, values left as raw text.
struct Records<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Records<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Records<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    out.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Records(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn contains_ignore_case(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_ascii() && hay.is_ascii() {
        let n = needle_lower.as_bytes();
        return n.is_empty() || hay.as_bytes().windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle_lower)
}

// ---------------------------------------------------------------------------------------------------
// The two rows behind one interface.

enum Row {
    Floor(Floor),
    Engine(Store),
}

enum Imported {
    #[allow(dead_code)]
    Floor(Floor),
    #[allow(dead_code)]
    Engine(Store),
}

impl Row {
    fn upsert(&mut self, json: &[u8]) {
        match self {
            Row::Floor(f) => f.upsert(json),
            Row::Engine(s) => s.upsert_with(json, |_| ()).expect("upsert"),
        }
    }
    fn read(&self, id: &str) -> String {
        match self {
            Row::Floor(f) => f.read(id).expect("read: present"),
            Row::Engine(s) => s.read(id, None).expect("read"),
        }
    }
    fn recent(&self, user: &str) -> String {
        match self {
            Row::Floor(f) => f.recent(user, 5),
            Row::Engine(s) => s.get_recent_sessions(Filter::new(Some(user), None), 5).expect("recent"),
        }
    }
    fn ids(&self, entity: &str) -> String {
        match self {
            Row::Floor(f) => f.ids(entity),
            Row::Engine(s) => s.get_all_session_ids(Filter::new(None, Some(entity))).expect("ids"),
        }
    }
    fn query(&self, q: &[u8]) -> String {
        match self {
            Row::Floor(f) => f.query(q),
            Row::Engine(s) => s.query_json(Some(q)).expect("query"),
        }
    }
    fn export(&self) -> String {
        match self {
            Row::Floor(f) => f.export(),
            Row::Engine(s) => s.export().expect("export"),
        }
    }
    fn import(&self, text: &[u8]) -> Imported {
        match self {
            Row::Floor(_) => Imported::Floor(Floor::import(text)),
            Row::Engine(_) => {
                let s = Store::open_json(None).expect("open");
                s.import(text).expect("import");
                Imported::Engine(s)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The harness: plan, timing, statistics, memory.

struct Plan {
    n: usize,
    size: usize,
    read_ids: Vec<&'static str>,
    users: Vec<&'static str>,
    entities: Vec<&'static str>,
    queries: Vec<&'static str>,
    updates: Vec<&'static str>,
    inserts: Vec<&'static str>,
}

/// The lines of a plan file. The text is kept for the whole run (leaked): memory freed before the
/// baseline would be reused by the store and hide part of its growth.
fn lines(path: &Path) -> Vec<&'static str> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text: &'static str = Box::leak(text.into_boxed_str());
    text.lines().filter(|l| !l.is_empty()).collect()
}

fn meta_number(meta: &str, key: &str) -> usize {
    let at = meta.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("meta.json lacks {key}"));
    let rest = &meta[at + key.len() + 2..];
    let digits: String = rest.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}

impl Plan {
    fn load(dir: &Path) -> Plan {
        let meta = std::fs::read_to_string(dir.join("meta.json")).expect("meta.json");
        Plan {
            n: meta_number(&meta, "sessions"),
            size: meta_number(&meta, "size"),
            read_ids: lines(&dir.join("read_ids.txt")),
            users: lines(&dir.join("users.txt")),
            entities: lines(&dir.join("entities.txt")),
            queries: lines(&dir.join("queries.jsonl")),
            updates: lines(&dir.join("update.jsonl")),
            inserts: lines(&dir.join("insert.jsonl")),
        }
    }
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Bench {
    row: String,
    n: usize,
    size: usize,
    time_cap: f64,
    max_samples: usize,
    big_samples: usize,
    deadline: f64,
    timer_ns: f64,
}

fn timer_overhead() -> f64 {
    let mut d: Vec<u64> = (0..2000)
        .map(|_| {
            let a = Instant::now();
            let b = Instant::now();
            b.duration_since(a).as_nanos() as u64
        })
        .collect();
    d.sort_unstable();
    d[d.len() / 2] as f64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Bench {
    /// Times `f(i)` for i = 0, 1, ... until `max` calls or the time cap, after `warmup` untimed calls.
    fn run(&self, op: &str, max: usize, warmup: usize, mut f: impl FnMut(usize), extra: &str) {
        let max = max.min(self.max_samples).max(1);
        for i in 0..warmup.min(max) {
            f(i);
        }
        let mut samples = Vec::with_capacity(max);
        let start = Instant::now();
        for i in 0..max {
            let a = Instant::now();
            f(i);
            let b = Instant::now();
            samples.push((b.duration_since(a).as_nanos() as f64 - self.timer_ns).max(0.0));
            if b.duration_since(start).as_secs_f64() > self.time_cap {
                break;
            }
        }
        self.emit(op, &mut samples, extra);
    }

    /// For the whole-store operations: at most `big_samples` calls; each result (an export's text, an
    /// imported store) is dropped after its call's time is taken. With a deadline, a call that runs
    /// longer ends the process with a "timeout" line (exit status 0).
    fn run_keep<T>(&self, op: &str, mut f: impl FnMut(usize) -> T, extra: &str) {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if self.deadline > 0.0 {
            let (done, line) = (done.clone(), format!(
                "{{\"row\":\"{}\",\"n\":{},\"size\":{},\"op\":\"{op}\",\"timeout_s\":{:.0}}}",
                self.row, self.n, self.size, self.deadline));
            let secs = self.deadline;
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs));
                if !done.load(std::sync::atomic::Ordering::SeqCst) {
                    println!("{line}");
                    std::process::exit(0);
                }
            });
        }
        let mut samples = Vec::new();
        let start = Instant::now();
        for i in 0..self.big_samples.max(1) {
            let a = Instant::now();
            let out = f(i);
            let b = Instant::now();
            drop(black_box(out));
            samples.push((b.duration_since(a).as_nanos() as f64 - self.timer_ns).max(0.0));
            if start.elapsed().as_secs_f64() > self.time_cap {
                break;
            }
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.emit(op, &mut samples, extra);
    }

    fn emit(&self, op: &str, samples: &mut [f64], extra: &str) {
        samples.sort_by(f64::total_cmp);
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        println!(
            "{{\"row\":\"{}\",\"n\":{},\"size\":{},\"op\":\"{op}\",\"median_ns\":{:.1},\"p99_ns\":{:.1},\"mean_ns\":{:.1},\"samples\":{},\"timer_ns\":{:.1}{extra}}}",
            self.row,
            self.n,
            self.size,
            percentile(samples, 0.5),
            percentile(samples, 0.99),
            mean,
            samples.len(),
            self.timer_ns
        );
    }
}

/// Upserts every session of `data`'s sessions.jsonl into `store`, streamed from the file, then the
/// first one [`cli::settling_writes`] times; returns how many sessions, their JSON bytes, and the seconds
/// the load took (the settling writes left out).
fn load(store: &mut Row, data: &Path) -> (usize, usize, f64) {
    let path = data.join("sessions.jsonl").to_string_lossy().into_owned();
    let t0 = Instant::now();
    let (count, bytes) = cli::each_line(&path, |line| {
        store.upsert(line);
        true
    });
    let load_s = t0.elapsed().as_secs_f64();
    cli::each_line(&path, |first| {
        (0..cli::settling_writes(count)).for_each(|_| store.upsert(first));
        false
    });
    (count, bytes, load_s)
}

/// `--row paired`: the floor and the engine loaded side by side in this process, and each op timed in
/// batches of calls (one clock read per batch, so that a 100-ns call is not lost in the timer's noise),
/// floor and engine in turn, the one that goes first swapped every round, for `rounds` rounds. A slow
/// phase of the machine then falls on both, and the ratio engine/floor of each round is a fair one;
/// one line per op gives its min/median/max over the rounds, and each side's median ns per call.
/// A batch is as many calls as the floor makes in about 2 ms (at least one), measured before the rounds.
fn paired(plan: &Plan, data: &Path, ops: &[&str], rounds: usize) {
    let mut floor = Row::Floor(Floor::default());
    let mut engine = Row::Engine(Store::open_json(None).expect("open"));
    load(&mut floor, data);
    load(&mut engine, data);
    for &op in ops {
        // Call i of the op's sequence on one side; both sides make the same calls in the same order.
        let call = |row: &mut Row, i: usize| match op {
            "read" => drop(black_box(row.read(plan.read_ids[i % plan.read_ids.len()]))),
            "recent" => drop(black_box(row.recent(plan.users[i % plan.users.len()]))),
            "ids" => drop(black_box(row.ids(plan.entities[i % plan.entities.len()]))),
            "query" => drop(black_box(row.query(plan.queries[i % plan.queries.len()].as_bytes()))),
            "update" => row.upsert(plan.updates[i % plan.updates.len()].as_bytes()),
            other => panic!("unknown op {other} for --row paired (read, recent, ids, query, update)"),
        };
        let mut next = [0usize; 2]; // the next call of each side
        let mut batch = |row: &mut Row, side: usize, calls: usize| {
            let start = Instant::now();
            for _ in 0..calls {
                call(row, next[side]);
                next[side] += 1;
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        };
        // Warm-up and calibration: the floor's calls in 2 ms, then as many engine calls.
        let start = Instant::now();
        let mut calls = 0;
        while start.elapsed().as_secs_f64() < 0.002 {
            batch(&mut floor, 0, 1);
            calls += 1;
        }
        batch(&mut engine, 1, calls);
        let (mut floor_ns, mut engine_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (f, e) = if round % 2 == 0 {
                let f = batch(&mut floor, 0, calls);
                (f, batch(&mut engine, 1, calls))
            } else {
                let e = batch(&mut engine, 1, calls);
                (batch(&mut floor, 0, calls), e)
            };
            floor_ns.push(f);
            engine_ns.push(e);
            ratios.push(e / f);
        }
        for v in [&mut floor_ns, &mut engine_ns, &mut ratios] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "{{\"row\":\"paired\",\"n\":{},\"size\":{},\"op\":\"{op}\",\"floor_ns\":{:.1},\"engine_ns\":{:.1},\"ratio_min\":{:.3},\"ratio_median\":{:.3},\"ratio_max\":{:.3},\"reps\":{rounds},\"calls\":{calls}}}",
            plan.n,
            plan.size,
            percentile(&floor_ns, 0.5),
            percentile(&engine_ns, 0.5),
            ratios[0],
            percentile(&ratios, 0.5),
            ratios[rounds - 1],
        );
    }
}

/// The `select` operation's query.
const SELECTIVE_QUERY: &str = r#"{"session_name":"tokyo #123","sort_by":"updated_at","sort_order":"desc","limit":20}"#;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

fn total_of(query_output: &str) -> usize {
    let at = query_output.rfind("\"total\":").expect("total");
    query_output[at + 8..].trim_end_matches('}').parse().expect("total number")
}

fn main() {
    let mut row = String::new();
    let mut data = PathBuf::new();
    let mut ops = "read,recent,ids,query,select,update,insert,export,import".to_owned();
    let mut time_cap = 1.0;
    let mut max_samples = 20000;
    let mut big_samples = 5;
    let mut deadline = 0.0f64;
    let mut rounds = 21;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--row" => row = v(),
            "--data" => data = PathBuf::from(v()),
            "--ops" => ops = v(),
            "--time-cap" => time_cap = v().parse().expect("seconds"),
            "--max-samples" => max_samples = v().parse().expect("a count"),
            "--big-samples" => big_samples = v().parse().expect("a count"),
            "--deadline" => deadline = v().parse().expect("seconds"),
            "--rounds" => rounds = v().parse::<usize>().expect("a count").max(1),
            _ => panic!("unknown argument {a}"),
        }
    }
    let ops: Vec<&str> = ops.split(',').collect();
    let plan = Plan::load(&data);
    let bench = Bench { row: row.clone(), n: plan.n, size: plan.size, time_cap, max_samples, big_samples, deadline, timer_ns: timer_overhead() };

    // Memory: RSS growth from the empty store to the loaded one, sessions streamed from the file.
    let base_rss = status_kb("VmRSS:");
    let mut store = match row.as_str() {
        "floor" => Row::Floor(Floor::default()),
        "rust" => Row::Engine(Store::open_json(None).expect("open")),
        "paired" => return paired(&plan, &data, &ops, rounds),
        other => panic!("unknown row {other} (floor, rust or paired)"),
    };
    let (loaded, json_bytes, load_s) = load(&mut store, &data);
    let rss = status_kb("VmRSS:");
    let hwm = status_kb("VmHWM:");
    println!(
        "{{\"row\":\"{row}\",\"n\":{},\"size\":{},\"op\":\"memory\",\"sessions\":{loaded},\"json_bytes\":{json_bytes},\"base_rss\":{},\"rss_growth\":{},\"peak_growth\":{},\"load_s\":{load_s:.3}}}",
        plan.n,
        plan.size,
        base_rss * 1024,
        rss.saturating_sub(base_rss) * 1024,
        hwm.saturating_sub(base_rss) * 1024
    );

    let mut export_text = String::new();
    for op in ops {
        match op {
            "read" => {
                let ids = &plan.read_ids;
                let check = store.read(&ids[0]).len();
                bench.run("read", usize::MAX, 200, |i| drop(black_box(store.read(&ids[i % ids.len()]))), &format!(",\"check\":{}", (check > 0) as u8));
            }
            "recent" => {
                let users = &plan.users;
                let check = count(&store.recent(&users[0]), "\"session_id\"");
                bench.run("recent", usize::MAX, 200, |i| drop(black_box(store.recent(&users[i % users.len()]))), &format!(",\"check\":{check}"));
            }
            "ids" => {
                let es = &plan.entities;
                let first = store.ids(&es[0]);
                let check = count(&first, "\"") / 2;
                bench.run("ids", usize::MAX, 3, |i| drop(black_box(store.ids(&es[i % es.len()]))), &format!(",\"check\":{check}"));
            }
            "query" => {
                let qs = &plan.queries;
                let check = total_of(&store.query(qs[0].as_bytes()));
                bench.run("query", usize::MAX, 2, |i| drop(black_box(store.query(qs[i % qs.len()].as_bytes()))), &format!(",\"check\":{check}"));
            }
            "select" => {
                // A selective name query: one topic and one session number, about one session in
                // 20,000. Against the floor's scan, it shows what the name index saves.
                let q = SELECTIVE_QUERY.as_bytes();
                let check = total_of(&store.query(q));
                bench.run("select", usize::MAX, 2, |_| drop(black_box(store.query(q))), &format!(",\"check\":{check}"));
            }
            "update" => {
                let ups = &plan.updates;
                bench.run("update", usize::MAX, 0, |i| store.upsert(ups[i % ups.len()].as_bytes()), "");
            }
            "insert" => {
                let ins = &plan.inserts;
                bench.run("insert", ins.len(), 0, |i| store.upsert(ins[i].as_bytes()), "");
            }
            "export" => {
                export_text = store.export();
                let bytes = export_text.len();
                bench.run_keep("export", |_| store.export(), &format!(",\"bytes\":{bytes}"));
            }
            "import" => {
                if export_text.is_empty() {
                    export_text = store.export();
                }
                let bytes = export_text.len();
                bench.run_keep("import", |_| store.import(export_text.as_bytes()), &format!(",\"bytes\":{bytes}"));
            }
            "" => {}
            other => panic!("unknown op {other}"),
        }
    }
}
