//! Mixed load: how long does a writer wait while long reads run? One thread upserts random existing
//! sessions (the workload's update.jsonl) as fast as it can and times every call; meanwhile, in turn:
//! nothing, a name query over the whole store in a loop, an export in a loop, and both (each on its own
//! thread). Every condition runs on the same store in the same process, so each figure's comparison is
//! the "none" row of the same run.
//!
//!     ss-mixed-load --data target/bench-data/n100000-s1024 [--secs 4]
//!                   [--only none|query|export|query+export|spin+spin]
//!
//! Prints one JSON line per condition (comparison/run.py's protocol): writer p50/p99/max in ns, writer
//! calls, and how many reads completed; and first, a "growth" line: the same figures for the inserts
//! that loaded the store from empty, through every resize of its tables. On a 2-core machine the
//! "query+export" condition runs three busy threads on two cores, so part of its writer latency is
//! the scheduler's, not the store's: the last condition, "spin+spin", measures that part alone, with
//! two threads that spin without touching the store.

#[path = "../cli.rs"]
mod cli;

use cli::{arg, lines};
use sessionstore::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let data = arg("--data").expect("usage: ss-mixed-load --data DIR [--secs S]");
    let secs: f64 = arg("--secs").map_or(4.0, |s| s.parse().expect("--secs"));
    let sessions = lines(&format!("{data}/sessions.jsonl"));
    let updates = lines(&format!("{data}/update.jsonl"));
    let queries = lines(&format!("{data}/queries.jsonl"));
    // A selective name query over the whole store: the first needle that matches (the workload's
    // queries carry a sort and a page; here the point is a walk over every session).
    let query = queries.first().expect("a query").clone();
    let store = Store::open_json(None).expect("open");
    // The load is timed too: the store grows from empty, through every resize of its tables.
    let mut growth: Vec<u64> = Vec::with_capacity(sessions.len());
    for s in &sessions {
        let t = Instant::now();
        store.upsert_with(s.as_bytes(), |_| ()).expect("load");
        growth.push(t.elapsed().as_nanos() as u64);
    }
    let n = sessions.len();
    // The workload's directory is named n<sessions>-s<bytes>.
    let size: usize =
        data.rsplit("-s").next().and_then(|s| s.parse().ok()).expect("a data directory n<N>-s<SIZE>");
    growth.sort_unstable();
    let at = |q: f64| growth[((growth.len() - 1) as f64 * q) as usize];
    println!(
        "{{\"row\":\"growth\",\"n\":{n},\"size\":{size},\"p50_ns\":{},\"p99_ns\":{},\"max_ns\":{},\"ops\":{}}}",
        at(0.5),
        at(0.99),
        growth.last().copied().unwrap_or(0),
        growth.len()
    );
    drop(growth);
    for _ in 0..cli::settling_writes(n) {
        store.upsert_with(sessions[0].as_bytes(), |_| ()).expect("settle");
    }
    drop(sessions);
    let only = arg("--only");
    for reader in ["none", "query", "export", "query+export", "spin+spin"] {
        if only.as_deref().is_some_and(|o| o != reader) {
            continue;
        }
        let stop = AtomicBool::new(false);
        let reads = AtomicU64::new(0);
        let longest_read = AtomicU64::new(0);
        let mut latencies: Vec<u64> = Vec::with_capacity(1 << 22);
        std::thread::scope(|s| {
            let read = |what: &'static str| {
                let (store, stop, reads, longest_read, query) =
                    (&store, &stop, &reads, &longest_read, &query);
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        let out = match what {
                            "query" => store.query_json(Some(query.as_bytes())).expect("query"),
                            _ => store.export().unwrap(),
                        };
                        std::hint::black_box(out);
                        longest_read.fetch_max(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            };
            for what in ["query", "export"] {
                if reader.contains(what) {
                    s.spawn(read(what));
                }
            }
            if reader == "spin+spin" {
                for _ in 0..2 {
                    s.spawn(|| {
                        while !stop.load(Ordering::Relaxed) {
                            std::hint::spin_loop();
                        }
                    });
                }
            }
            // Let the readers start their first long read before the writer's clock runs.
            if reader != "none" {
                std::thread::sleep(Duration::from_millis(50));
            }
            let start = Instant::now();
            let mut i = 0usize;
            while start.elapsed().as_secs_f64() < secs {
                let u = &updates[i % updates.len()];
                let t = Instant::now();
                store.upsert_with(u.as_bytes(), |_| ()).expect("update");
                latencies.push(t.elapsed().as_nanos() as u64);
                i += 1;
            }
            stop.store(true, Ordering::Relaxed);
        });
        latencies.sort_unstable();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "{{\"row\":\"mixed\",\"n\":{n},\"size\":{size},\"reader\":\"{reader}\",\"writer_p50_ns\":{},\"writer_p99_ns\":{},\"writer_max_ns\":{},\"writer_ops\":{},\"secs\":{secs},\"reads\":{},\"longest_read_ns\":{}}}",
            at(0.5),
            at(0.99),
            latencies.last().copied().unwrap_or(0),
            latencies.len(),
            reads.load(Ordering::Relaxed),
            longest_read.load(Ordering::Relaxed),
        );
    }
}
