//! Versions, appends and the change feed (issue 16), each against what it replaces, in one process on
//! one store:
//! - "upsert_if" (compare-and-set with the version the caller holds) against a plain "upsert" of the
//!   same sessions, the two called in alternation;
//! - "append_run" (one run of about 300 bytes appended by ss_append_runs) against "upsert_with_run"
//!   (the caller adds the run itself and sends the whole session back, as it must without an append);
//! - "feed": one thread reads the change feed (1000 changes a call, whole sessions and ids only) from
//!   a backlog while writer threads upsert as fast as they can: changes read per second until it has
//!   caught up, and the writers' upserts per second against the writers alone in the same run.
//!
//! Usage:
//!
//!     ss-versions --data target/bench-data/n100000-s1024 [--secs 2] [--writers 1]
//!                 [--only cas|append|feed]
//!
//! Prints JSON lines (comparison/run.py's protocol) with row "versions".

#[path = "../cli.rs"]
mod cli;

use cli::{arg, lines};
use sessionstore::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ROUND: usize = 500;

/// The number after `"key":` at its last occurrence: the store appends "version" to sessions that
/// arrive without one, and ss_changes ends with "next", "latest" and "store", so both are near the end.
fn number_after(json: &str, key: &str) -> u64 {
    let at = json.rfind(key).unwrap_or_else(|| panic!("no {key} in {}", &json[..json.len().min(200)]));
    let digits = &json[at + key.len()..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().expect("a number")
}

fn version_of(json: &str) -> u64 {
    number_after(json, "\"version\":")
}

#[derive(serde::Deserialize)]
struct Id<'a> {
    #[serde(borrow)]
    session_id: &'a str,
}

fn session_id(json: &str) -> &str {
    serde_json::from_str::<Id>(json).expect("a session with its session_id").session_id
}

/// Per-call latencies of two operations called in alternation, so that both see the same machine
/// state; the clock is read every ROUND pairs of calls.
#[derive(Default)]
struct Pair {
    a: Vec<u64>,
    b: Vec<u64>,
}

impl Pair {
    fn run(&mut self, secs: f64, max_calls: usize, mut a: impl FnMut(usize), mut b: impl FnMut(usize)) {
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed().as_secs_f64() < secs && i < max_calls {
            for _ in 0..ROUND.min(max_calls - i) {
                let t = Instant::now();
                a(i);
                self.a.push(t.elapsed().as_nanos() as u64);
                let t = Instant::now();
                b(i);
                self.b.push(t.elapsed().as_nanos() as u64);
                i += 1;
            }
        }
    }
}

fn print_op(n: usize, size: usize, op: &str, against: &str, latencies: &mut [u64]) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{{\"row\":\"versions\",\"n\":{n},\"size\":{size},\"op\":\"{op}\",\"against\":\"{against}\",\"median_ns\":{},\"p99_ns\":{},\"samples\":{}}}",
        at(0.5),
        at(0.99),
        latencies.len()
    );
}

fn main() {
    let data = arg("--data").expect("usage: ss-versions --data DIR [--secs S] [--writers W]");
    let secs: f64 = arg("--secs").map_or(2.0, |s| s.parse().expect("--secs"));
    let writers: usize = arg("--writers").map_or(1, |s| s.parse().expect("--writers"));
    let only = arg("--only");
    let runs_part = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let size: usize =
        data.rsplit("-s").next().and_then(|s| s.parse().ok()).expect("a data directory n<N>-s<SIZE>");
    let sessions = lines(&format!("{data}/sessions.jsonl"));
    let updates = lines(&format!("{data}/update.jsonl"));
    let n = sessions.len();
    let index: HashMap<&str, usize> = sessions.iter().enumerate().map(|(i, s)| (session_id(s), i)).collect();
    let update_of: Vec<usize> = updates.iter().map(|u| index[session_id(u)]).collect();
    let ids: Vec<String> = sessions.iter().map(|s| session_id(s).to_owned()).collect();
    drop(index);

    // The feed phases' backlog: about 200 MB of sessions; the feed keeps twice that.
    let backlog = (200_000_000 / size).clamp(10_000, 100_000) as u64;
    let config = format!("{{\"feed_bytes\": {}}}", 2 * backlog as usize * (size + 512));
    let store = Store::open_json(Some(config.as_bytes())).expect("open");
    // The version each session is at, as a caller holding its latest read would know it.
    let mut versions: Vec<u64> =
        sessions.iter().map(|s| store.upsert_with(s.as_bytes(), version_of).expect("load")).collect();

    // Compare-and-set against a plain upsert: the same update lines, the output read the same way.
    let mut pair = Pair::default();
    if runs_part("cas") {
        let versions = std::cell::RefCell::new(&mut versions);
        let (store, updates, update_of) = (&store, &updates, &update_of);
        pair.run(
            secs,
            200_000,
            |i| {
                let k = (2 * i) % updates.len();
                let v = store.upsert_with(updates[k].as_bytes(), version_of).expect("upsert");
                versions.borrow_mut()[update_of[k]] = v;
            },
            |i| {
                let k = (2 * i + 1) % updates.len();
                let s = update_of[k];
                let expected = versions.borrow()[s];
                let v = store
                    .upsert_if_with(updates[k].as_bytes(), Some(expected), version_of)
                    .expect("upsert_if");
                versions.borrow_mut()[s] = v;
            },
        );
        print_op(n, size, "upsert", "", &mut pair.a);
        print_op(n, size, "upsert_if", "upsert", &mut pair.b);
    }

    // One run appended, against the whole session sent back with that run added. Sessions are taken
    // in a stride through the store so that each grows by as few runs as possible, and the two
    // operations take turns on different sessions so that neither finds the other's in the cache.
    if runs_part("append") {
        let run = |i: usize| {
            format!(
                "{{\"run_id\":\"bench-run-{i}\",\"messages\":[{{\"role\":\"user\",\"content\":\"what changed in the deploy schedule since monday, and who signed off on it?\",\"created_at\":1700100000}},{{\"role\":\"assistant\",\"content\":\"The deploy moved to thursday; the release owner signed off after the revenue review.\",\"created_at\":1700100002}}]}}"
            )
        };
        let stride = |i: usize| (i * 7919) % n;
        let with_run: Vec<String> = (0..n.min(50_000))
            .map(|i| {
                let mut v: serde_json::Value = serde_json::from_str(&sessions[stride(i)]).expect("session");
                let runs = v["memory"]["runs"].as_array_mut().expect("memory.runs");
                runs.push(serde_json::from_str(&run(i)).expect("run"));
                v.to_string()
            })
            .collect();
        let runs: Vec<String> = (0..with_run.len()).map(|i| format!("[{}]", run(i))).collect();
        let mut pair = Pair::default();
        pair.run(
            secs,
            with_run.len() / 2,
            |i| {
                store
                    .append_runs_with(&ids[stride(2 * i)], None, runs[2 * i].as_bytes(), |_| ())
                    .expect("append");
            },
            |i| {
                store.upsert_with(with_run[2 * i + 1].as_bytes(), |_| ()).expect("upsert with the run");
            },
        );
        print_op(n, size, "append_run", "upsert_with_run", &mut pair.a);
        print_op(n, size, "upsert_with_run", "", &mut pair.b);
    }
    drop(sessions);

    // The feed, read from a backlog while writers run. Each reading phase follows a phase of the
    // writers alone, whose changes (`backlog` of them) are the reader's backlog; a last phase of the
    // writers alone, as long as a reading one, is the comparison. The reader asks for 1000 changes a
    // call; once it has caught up it polls every millisecond, as a follower would.
    if runs_part("feed") {
        // Without a reader, `from` is u64::MAX for a phase as long as a reading one, anything else for
        // one that ends with the backlog written.
        let phase = |reader: Option<bool>, from: u64| {
            let until_backlog = reader.is_none() && from != u64::MAX;
            let stop = AtomicBool::new(false);
            let written = AtomicU64::new(0);
            let (read, caught_up_ns) = (AtomicU64::new(0), AtomicU64::new(0));
            let start = Instant::now();
            std::thread::scope(|s| {
                for w in 0..writers {
                    let (store, stop, written, updates) = (&store, &stop, &written, &updates);
                    s.spawn(move || {
                        let mut i = w;
                        while !stop.load(Ordering::Relaxed) {
                            store.upsert_with(updates[i % updates.len()].as_bytes(), |_| ()).expect("update");
                            i += writers;
                            if written.fetch_add(1, Ordering::Relaxed) + 1 == backlog && until_backlog {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    });
                }
                if let Some(ids_only) = reader {
                    let (store, stop, read, caught_up_ns) = (&store, &stop, &read, &caught_up_ns);
                    s.spawn(move || {
                        let mut after = from;
                        while !stop.load(Ordering::Relaxed) {
                            let out =
                                store.changes(after, 1000, ids_only).expect("the feed keeps the backlog");
                            let (next, latest) =
                                (number_after(&out, "\"next\":"), number_after(&out, "\"latest\":"));
                            if caught_up_ns.load(Ordering::Relaxed) == 0 {
                                read.fetch_add(next - after, Ordering::Relaxed);
                                if next == latest {
                                    caught_up_ns.store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                                }
                            } else if next == latest {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                            after = next;
                        }
                    });
                }
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) && start.elapsed().as_secs_f64() < secs {
                    std::thread::sleep(Duration::from_millis(1));
                }
                stop.store(true, Ordering::Relaxed);
            });
            let elapsed = start.elapsed().as_secs_f64();
            let caught_up = match caught_up_ns.load(Ordering::Relaxed) {
                0 => None,
                ns => Some(ns as f64 / 1e9),
            };
            (
                written.load(Ordering::Relaxed) as f64 / elapsed,
                read.load(Ordering::Relaxed),
                caught_up,
                elapsed,
            )
        };
        let mut measured = Vec::new();
        for ids_only in [false, true] {
            let from = store.stats().unwrap().feed.latest;
            phase(None, from);
            measured.push((ids_only, phase(Some(ids_only), from)));
        }
        // The writers alone for as long, the feed as full as it was while the reader ran.
        let (alone, _, _, _) = phase(None, u64::MAX);
        for (ids_only, (with_reader, read, caught_up, elapsed)) in measured {
            let per_s = read as f64 / caught_up.unwrap_or(elapsed);
            println!(
                "{{\"row\":\"versions\",\"n\":{n},\"size\":{size},\"op\":\"{}\",\"ids_only\":{ids_only},\"writers\":{writers},\"changes_per_s\":{per_s:.0},\"changes_read\":{read},\"caught_up_s\":{},\"writer_ops_per_s\":{with_reader:.0},\"writer_alone_ops_per_s\":{alone:.0},\"secs\":{secs}}}",
                if ids_only { "feed_ids_only" } else { "feed" },
                caught_up.map_or("null".to_owned(), |s| format!("{s:.3}"))
            );
        }
    }

    // The figures above mean nothing if a write was lost: every session is at least at the version
    // last seen.
    for (s, v) in versions.iter().enumerate() {
        let stored = store.read_with(&ids[s], None, version_of).expect("read");
        assert!(stored >= *v, "session {} at version {stored}, below {v}", ids[s]);
    }
    store.check_invariants().expect("invariants");
}
