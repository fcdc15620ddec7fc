//! Durable stores: what the journal costs, measured against the in-memory store in the same process.
//!
//!     ss-durable --data target/bench-data/n100000-s1024 --dir DIR [--secs 2] [--threads 8] [--only CASE]
//!                [--stall-sync os|interval|always]
//!
//! Cases (one JSON line each, comparison/run.py's protocol):
//!  - "upsert": one thread updating random existing sessions (the workload's update.jsonl) for --secs,
//!    timing every call, in memory and under each sync policy ("os", "interval", "always"), and
//!    "write_floor": bare write(2) appends of as many bytes, what the journal adds at least;
//!  - "group": --threads writers under "always" against one writer under "always": throughput, to show
//!    that concurrent writers share fsyncs;
//!  - "reopen": the store (all of sessions.jsonl) compacted, closed and opened again: open time, and
//!    journal + snapshot bytes against the live JSON right after compaction;
//!  - "stall": one writer's p99 while snapshots of the whole store are written back to back (sync "os",
//!    or --stall-sync), against its p99 with none.
//!
//! DIR is emptied and reused; put it on the disk being measured. It is removed at the end unless
//! SS_KEEP_DIR is set (to reopen it by hand afterwards).

#[path = "../cli.rs"]
mod cli;

use cli::{arg, lines};
use sessionstore::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    dir.to_path_buf()
}

fn open(dir: Option<&Path>, sync: &str) -> Store {
    let config = match dir {
        None => "{}".to_owned(),
        Some(dir) => format!(
            r#"{{"path":{},"sync":"{sync}"}}"#,
            serde_json::to_string(&dir.to_string_lossy()).expect("a path")
        ),
    };
    Store::open_json(Some(config.as_bytes())).expect("open")
}

fn load(store: &Store, sessions: &[String]) {
    // In batches of 1000: one journal record (and one fsync) per batch.
    for chunk in sessions.chunks(1000) {
        store.upsert_many(format!("[{}]", chunk.join(",")).as_bytes()).expect("load");
    }
}

/// Upserts `updates` in turn for `secs` on one thread; returns the sorted latencies in ns.
fn write_for(store: &Store, updates: &[String], secs: f64, offset: usize) -> Vec<u64> {
    let mut latencies = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let mut i = offset;
    while start.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        store.upsert_with(updates[i % updates.len()].as_bytes(), |_| ()).expect("update");
        latencies.push(t.elapsed().as_nanos() as u64);
        i += 1;
    }
    latencies.sort_unstable();
    latencies
}

/// Appends `frame` bytes at a time with one write(2) each to a new file in `dir` for `secs`; returns the
/// sorted latencies in ns. The file is emptied (untimed) at every 64 MiB, as a compaction restarts the
/// journal, so that gigabytes of dirty pages are not left to the disk while the next cases run.
fn bare_appends(dir: &Path, frame: usize, secs: f64) -> Vec<u64> {
    use std::io::{Seek, Write};
    std::fs::create_dir_all(dir).expect("the store directory");
    let path = dir.join("bare-appends");
    let mut file = std::fs::File::create(&path).expect("a file to append to");
    let bytes = vec![b'x'; frame];
    let mut latencies = Vec::with_capacity(1 << 20);
    let (mut len, start) = (0, Instant::now());
    while start.elapsed().as_secs_f64() < secs {
        if len >= 64 << 20 {
            file.set_len(0).and_then(|_| file.rewind()).expect("empty the file");
            len = 0;
        }
        let t = Instant::now();
        file.write_all(&bytes).expect("append");
        latencies.push(t.elapsed().as_nanos() as u64);
        len += frame;
    }
    let _ = std::fs::remove_file(path);
    latencies.sort_unstable();
    latencies
}

fn at(sorted: &[u64], q: f64) -> u64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * q) as usize).copied().unwrap_or(0)
}

fn durability(store: &Store, key: &str) -> u64 {
    let stats: serde_json::Value = serde_json::from_str(&store.stats().unwrap().to_json()).expect("stats");
    stats["durability"][key].as_u64().unwrap_or(0)
}

fn main() {
    let data = arg("--data").expect("usage: ss-durable --data DIR --dir STORE_DIR");
    let dir = PathBuf::from(arg("--dir").expect("--dir"));
    let secs: f64 = arg("--secs").map_or(2.0, |s| s.parse().expect("--secs"));
    let threads: usize = arg("--threads").map_or(8, |s| s.parse().expect("--threads"));
    let only = arg("--only");
    let stall_sync = arg("--stall-sync").unwrap_or_else(|| "os".to_owned());
    let wanted = |case: &str| only.as_deref().is_none_or(|o| o == case);
    let sessions = lines(&format!("{data}/sessions.jsonl"));
    let updates = lines(&format!("{data}/update.jsonl"));
    let n = sessions.len();
    let size: usize =
        data.rsplit("-s").next().and_then(|s| s.parse().ok()).expect("a data directory n<N>-s<SIZE>");

    if wanted("upsert") {
        let mut frame = 0;
        for sync in ["memory", "os", "interval", "always"] {
            let path = (sync != "memory").then(|| fresh(&dir));
            let store = open(path.as_deref(), sync);
            load(&store, &sessions);
            if sync == "os" {
                // The journal's bytes per upsert, for the bare appends below (too few to start a compaction).
                let before = durability(&store, "journal_bytes");
                for update in updates.iter().take(1000) {
                    store.upsert_with(update.as_bytes(), |_| ()).expect("update");
                }
                frame = ((durability(&store, "journal_bytes") - before) / 1000) as usize;
            }
            // Always is some thousand times slower per call: a shorter run gives it as many samples as
            // it needs.
            let l = write_for(&store, &updates, secs, 0);
            println!(
                "{{\"row\":\"durable\",\"case\":\"upsert\",\"n\":{n},\"size\":{size},\"sync\":\"{sync}\",\"p50_ns\":{},\"p99_ns\":{},\"ops\":{},\"secs\":{secs}}}",
                at(&l, 0.5),
                at(&l, 0.99),
                l.len()
            );
        }
        // What the "os" policy adds at least: one write(2) per upsert of as many bytes as the journal's
        // frames, appended to a file on the same disk; no lock, no checksum, no encoding.
        let l = bare_appends(&fresh(&dir), frame, secs);
        println!(
            "{{\"row\":\"durable\",\"case\":\"write_floor\",\"n\":{n},\"size\":{size},\"bytes\":{frame},\"p50_ns\":{},\"p99_ns\":{},\"ops\":{}}}",
            at(&l, 0.5),
            at(&l, 0.99),
            l.len()
        );
    }

    if wanted("group") {
        let store = open(Some(&fresh(&dir)), "always");
        load(&store, &sessions);
        for writers in [1, threads] {
            let ops = AtomicU64::new(0);
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..writers {
                    let (store, updates, ops) = (&store, &updates, &ops);
                    s.spawn(move || {
                        let done = write_for(store, updates, secs, t * 7919).len();
                        ops.fetch_add(done as u64, Ordering::Relaxed);
                    });
                }
            });
            let elapsed = start.elapsed().as_secs_f64();
            let ops = ops.load(Ordering::Relaxed);
            println!(
                "{{\"row\":\"durable\",\"case\":\"group\",\"n\":{n},\"size\":{size},\"sync\":\"always\",\"writers\":{writers},\"ops\":{ops},\"ops_per_s\":{:.0},\"secs\":{elapsed:.3}}}",
                ops as f64 / elapsed
            );
        }
    }

    if wanted("reopen") {
        let path = fresh(&dir);
        let live = {
            let store = open(Some(&path), "os");
            load(&store, &sessions);
            store.compact().expect("compact");
            store.stats().unwrap().bytes
        };
        let files: u64 = std::fs::read_dir(&path)
            .expect("dir")
            .map(|e| e.expect("entry").metadata().expect("metadata").len())
            .sum();
        let start = Instant::now();
        let store = open(Some(&path), "os");
        let open_ns = start.elapsed().as_nanos();
        assert_eq!(store.stats().unwrap().sessions(), n, "the reopened store holds every session");
        println!(
            "{{\"row\":\"durable\",\"case\":\"reopen\",\"n\":{n},\"size\":{size},\"open_ns\":{open_ns},\"live_bytes\":{live},\"disk_bytes\":{files},\"snapshot_bytes\":{},\"journal_bytes\":{}}}",
            durability(&store, "snapshot_bytes"),
            durability(&store, "journal_bytes"),
        );
    }

    if wanted("stall") {
        let store = open(Some(&fresh(&dir)), &stall_sync);
        load(&store, &sessions);
        let quiet = write_for(&store, &updates, secs, 0);
        let stop = AtomicBool::new(false);
        let snapshots = AtomicU64::new(0);
        let longest = AtomicU64::new(0);
        let busy = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    store.compact().expect("compact");
                    longest.fetch_max(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    snapshots.fetch_add(1, Ordering::Relaxed);
                }
            });
            std::thread::sleep(Duration::from_millis(20));
            let l = write_for(&store, &updates, secs, 0);
            stop.store(true, Ordering::Relaxed);
            l
        });
        println!(
            "{{\"row\":\"durable\",\"case\":\"stall\",\"n\":{n},\"size\":{size},\"sync\":\"{stall_sync}\",\"quiet_p50_ns\":{},\"quiet_p99_ns\":{},\"quiet_max_ns\":{},\"compacting_p50_ns\":{},\"compacting_p99_ns\":{},\"compacting_max_ns\":{},\"snapshots\":{},\"longest_snapshot_ns\":{}}}",
            at(&quiet, 0.5),
            at(&quiet, 0.99),
            quiet.last().copied().unwrap_or(0),
            at(&busy, 0.5),
            at(&busy, 0.99),
            busy.last().copied().unwrap_or(0),
            snapshots.load(Ordering::Relaxed),
            longest.load(Ordering::Relaxed),
        );
    }
    if std::env::var_os("SS_KEEP_DIR").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
