//! Can two threads scale on this machine, and what does a lock with one shared reader count cost? Runs
//! the floor's read (hash lookup + copy of a session into a fresh buffer) from one and two threads,
//! without a lock and under a std RwLock read lock (one reader count that every reader writes, as
//! parking_lot's, which the engine used before its sharded lock), on a workload's sessions. Not part of
//! the timed rows; the engine's own scaling is measured by ss_driver --threads.
//!
//!     target/bench-bin/ss-lock-probe target/bench-data/n10000-s1024 [seconds]

use std::sync::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn run(threads: usize, secs: f64, f: &(dyn Fn(usize) + Sync)) -> f64 {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let stop = &stop;
                s.spawn(move || {
                    let mut i = t * 7919;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            f(i);
                            i += 1;
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn best(threads: usize, secs: f64, f: &(dyn Fn(usize) + Sync)) -> f64 {
    (0..3).map(|_| run(threads, secs, f)).fold(0.0, f64::max)
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: ss-lock-probe DATA_DIR [seconds]");
    let secs: f64 = std::env::args().nth(2).map_or(1.0, |s| s.parse().expect("seconds"));
    let text = std::fs::read_to_string(format!("{dir}/sessions.jsonl")).expect("sessions.jsonl");
    let mut map: HashMap<String, Box<str>> = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let at = line.find("\"session_id\":\"").expect("id") + 14;
        let id = &line[at..at + line[at..].find('"').expect("id end")];
        map.insert(id.to_owned(), Box::from(line));
    }
    let ids = std::fs::read_to_string(format!("{dir}/read_ids.txt")).expect("read_ids.txt");
    let ids: Vec<&str> = ids.lines().collect();
    let plain = |i: usize| {
        std::hint::black_box(String::from(&*map[ids[i % ids.len()]]));
    };
    let locked_map = RwLock::new(map.clone());
    let locked = |i: usize| {
        let m = locked_map.read().expect("not poisoned");
        std::hint::black_box(String::from(&*m[ids[i % ids.len()]]));
    };
    for (name, f) in [("no lock", &plain as &(dyn Fn(usize) + Sync)), ("std RwLock read lock", &locked)] {
        let one = best(1, secs, f);
        let two = best(2, secs, f);
        println!("{name:>22}: 1 thread {:.2} M/s, 2 threads {:.2} M/s, scaling {:.2}x", one / 1e6, two / 1e6, two / one);
    }
}
