//! Bounded memory (issue 15), each figure against its comparison in the same process:
//! - "read" and "update" on a store with expiry and capacity bounds configured but not reached
//!   ("_expiry_capacity"), and on one with a per-user quota as well ("_bounded"), against the same
//!   calls on an unbounded store loaded with the same sessions, the three in alternation;
//! - "insert_at_bound" (every insert evicts the least recently written session) against
//!   "insert_below_bound" (the same inserts into a store with room), in alternation;
//! - "expire_all": every session of the store expires at once (its clock jumps), and a reader times
//!   reads of 1000 sessions written after the jump while the expiry thread reclaims the others: the
//!   longest read and how many took over 1 ms, against the same loop before the jump, alone and
//!   beside a thread that keeps a core busy in the reclaimer's rhythm without touching the store
//!   (what the scheduler alone costs the reader), and with each read first taking a mutex that
//!   another thread holds in the reclaimer's rhythm (what waiting for a lock alone costs it here).
//!
//! Usage:
//!
//!     ss-bounds --data target/bench-data/n100000-s1024 [--secs 2]
//!
//! Prints JSON lines (comparison/run.py's protocol) with row "bounds".

#[path = "../cli.rs"]
mod cli;

use cli::{arg, lines};
use sessionstore::{Config, Hooks, ManualClock, Store};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUND: usize = 500;
/// About how long the reclaimer holds the store's lock for one batch (its 200 us hold, and the step
/// that crosses it): the hand-off control holds its mutex as long.
const BATCH_HOLD: Duration = Duration::from_micros(250);
/// How long the expiry of a whole store may take before the run fails.
const GIVE_UP: Duration = Duration::from_secs(100);

/// Per-call latencies of two operations called in alternation.
fn pair(secs: f64, max_calls: usize, mut a: impl FnMut(usize), mut b: impl FnMut(usize)) -> (Vec<u64>, Vec<u64>) {
    let mut times = alternate(secs, max_calls, &mut [&mut a, &mut b]);
    let b = times.pop().expect("two");
    (times.pop().expect("two"), b)
}

/// `pair` for any number of calls: call i of each in turn, rounds of `ROUND` calls, until `secs` or
/// `max_calls`; the latencies of each.
fn alternate(secs: f64, max_calls: usize, calls: &mut [&mut dyn FnMut(usize)]) -> Vec<Vec<u64>> {
    let mut times = vec![Vec::new(); calls.len()];
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed().as_secs_f64() < secs && i < max_calls {
        for _ in 0..ROUND.min(max_calls - i) {
            for (call, times) in calls.iter_mut().zip(&mut times) {
                let t = Instant::now();
                call(i);
                times.push(t.elapsed().as_nanos() as u64);
            }
            i += 1;
        }
    }
    times
}

/// Until `stop`: keeps a core busy for `hold` (holding `gate`, if any), then sleeps as long, as the
/// reclaimer does with the store's lock.
fn in_batches(stop: &AtomicBool, hold: Duration, gate: Option<&Mutex<()>>) {
    let mut x = 1u64;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let held = gate.map(|g| g.lock().expect("gate"));
        while t.elapsed() < hold {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        drop(held);
        std::hint::black_box(x);
        std::thread::sleep(t.elapsed());
    }
}

fn print_op(n: usize, size: usize, op: &str, against: &str, latencies: &mut [u64]) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{{\"row\":\"bounds\",\"n\":{n},\"size\":{size},\"op\":\"{op}\",\"against\":\"{against}\",\"median_ns\":{},\"p99_ns\":{},\"max_ns\":{},\"samples\":{}}}",
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );
}

fn main() {
    let data = arg("--data").expect("usage: ss-bounds --data DIR [--secs S]");
    let secs: f64 = arg("--secs").map_or(2.0, |s| s.parse().expect("--secs"));
    let size: usize =
        data.rsplit("-s").next().and_then(|s| s.parse().ok()).expect("a data directory n<N>-s<SIZE>");
    let sessions = lines(&format!("{data}/sessions.jsonl"));
    let updates = lines(&format!("{data}/update.jsonl"));
    let inserts = lines(&format!("{data}/insert.jsonl"));
    let reads: Vec<String> = lines(&format!("{data}/read_ids.txt"));
    let n = sessions.len();
    let bytes: usize = sessions.iter().map(String::len).sum();
    let clock = Arc::new(ManualClock::new(sessionstore::now()));
    let open = |config: Config| {
        let hooks = Hooks { clock: Some(clock.clone()), ..Hooks::default() };
        let store = Store::open_with(config, hooks).expect("open");
        for s in &sessions {
            store.upsert_with(s.as_bytes(), |_| ()).expect("load");
        }
        store
    };

    // Bounds configured, not reached: twice the sessions, four times the bytes, a day of idle time,
    // an age of a century (the generated sessions were created in 2023, and upserts keep that); target
    // 13 as issue 15 states it. Then the same with a quota per user far above what any user holds,
    // which keeps a recency list per user as well.
    let capped = Config {
        idle_expiry_s: 86_400,
        max_age_s: 100 * 365 * 86_400,
        max_sessions: 2 * n,
        max_bytes: 4 * bytes,
        ..Config::default()
    };
    let roomy = Config { user_max_sessions: n, ..capped.clone() };
    {
        let (free, capped, bounded) = (open(Config::default()), open(capped), open(roomy));
        let read = |store: &Store, i: usize| drop(store.read_with(&reads[i % reads.len()], None, |_| ()));
        let mut times = alternate(
            secs,
            1_000_000,
            &mut [&mut |i| read(&free, i), &mut |i| read(&capped, i), &mut |i| read(&bounded, i)],
        );
        print_op(n, size, "read_unbounded", "", &mut times[0]);
        print_op(n, size, "read_expiry_capacity", "read_unbounded", &mut times[1]);
        print_op(n, size, "read_bounded", "read_unbounded", &mut times[2]);
        let update =
            |store: &Store, i: usize| store.upsert_with(updates[i % updates.len()].as_bytes(), |_| ()).map(drop).expect("update");
        let mut times = alternate(
            secs,
            200_000,
            &mut [&mut |i| update(&free, i), &mut |i| update(&capped, i), &mut |i| update(&bounded, i)],
        );
        print_op(n, size, "update_unbounded", "", &mut times[0]);
        print_op(n, size, "update_expiry_capacity", "update_unbounded", &mut times[1]);
        print_op(n, size, "update_bounded", "update_unbounded", &mut times[2]);
    }

    // Inserts into a full store (each evicts one) against inserts into one with room.
    {
        let at_bound = open(Config { max_sessions: n, ..Config::default() });
        let below = open(Config { max_sessions: 2 * n + inserts.len(), ..Config::default() });
        let (mut a, mut b) = pair(
            secs,
            inserts.len(),
            |i| below.upsert_with(inserts[i].as_bytes(), |_| ()).map(drop).expect("insert"),
            |i| at_bound.upsert_with(inserts[i].as_bytes(), |_| ()).map(drop).expect("insert"),
        );
        assert_eq!(at_bound.stats().unwrap().sessions(), n, "every insert at the bound evicted one");
        print_op(n, size, "insert_below_bound", "", &mut a);
        print_op(n, size, "insert_at_bound", "insert_below_bound", &mut b);
    }

    // Every session expires at once; a reader reads live sessions (written after the jump) while the
    // expiry thread reclaims the rest. The same loop before the jump is the comparison.
    {
        let store = open(Config { idle_expiry_s: 3600, ..Config::default() });
        let live_ids: Vec<String> = (0..1000).map(|i| format!("live-{i}")).collect();
        let live: Vec<String> = live_ids.iter().map(|id| format!("{{\"session_id\":\"{id}\"}}")).collect();
        // The longest read, how many reads, and how many took over a millisecond.
        // With a gate, each read first takes it (the hand-off control below).
        let read_loop = |secs: f64, gate: Option<&Mutex<()>>| {
            let (mut longest, mut calls, mut over_1ms) = (0u64, 0u64, 0u64);
            let start = Instant::now();
            while start.elapsed().as_secs_f64() < secs {
                for id in &live_ids {
                    let t = Instant::now();
                    let gated = gate.map(|g| g.lock().expect("gate"));
                    store.read_with(id, None, |_| ()).expect("a live session");
                    drop(gated);
                    let ns = t.elapsed().as_nanos() as u64;
                    longest = longest.max(ns);
                    over_1ms += u64::from(ns > 1_000_000);
                    calls += 1;
                }
            }
            (longest, calls, over_1ms)
        };
        for s in &live {
            store.upsert(s.as_bytes()).expect("live");
        }
        let (quiet, quiet_calls, quiet_over) = read_loop(1.0, None);
        // The scheduler's share: the same loop while another thread keeps a core busy (sleeping as
        // the reclaimer does between batches) without touching the store. On two cores, a reader
        // beside a busy thread and the timer is sometimes descheduled for longer than a batch.
        let busy = |hold: Duration, gate: Option<&Mutex<()>>| {
            let stop = AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| in_batches(&stop, hold, gate));
                let r = read_loop(1.5, gate);
                stop.store(true, Ordering::Relaxed);
                r
            })
        };
        let (control, control_calls, control_over) = busy(Duration::from_micros(300), None);
        // The platform's share in waiting for a lock: the same loop, each read first taking a mutex
        // that another thread holds for a batch's time and then leaves for as long, as the reclaimer
        // does with the store's lock. A reader that finds it held sleeps, and is woken when it is
        // released: on a virtual machine whose idle CPU has halted, that wake-up alone can take
        // milliseconds (the hypervisor runs the CPU again), which no lock of ours can avoid.
        let gate = Mutex::new(());
        let (handoff, handoff_calls, handoff_over) = busy(BATCH_HOLD, Some(&gate));
        // A session lives at least its idle time: one second more and every session has expired.
        clock.advance(3601);
        for s in &live {
            store.upsert(s.as_bytes()).expect("live");
        }
        let started = Instant::now();
        let done = AtomicBool::new(false);
        let reclaimed_ns = AtomicU64::new(0);
        let (longest, calls, over) = std::thread::scope(|s| {
            s.spawn(|| {
                // Checked every 20 ms: a watcher waking every millisecond to take the store's lock
                // preempted the reclaimer while it held the lock, and the reader waited for both.
                while store.stats().unwrap().sessions() > live.len() && started.elapsed() < GIVE_UP {
                    std::thread::sleep(Duration::from_millis(20));
                }
                reclaimed_ns.store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                done.store(true, Ordering::Relaxed);
            });
            let mut worst = (0, 0, 0);
            while !done.load(Ordering::Relaxed) {
                let (l, c, o) = read_loop(0.05, None);
                worst = (worst.0.max(l), worst.1 + c, worst.2 + o);
            }
            worst
        });
        assert!(
            store.stats().unwrap().sessions() == live.len(),
            "the expired sessions were not reclaimed in {GIVE_UP:?}"
        );
        println!(
            "{{\"row\":\"bounds\",\"n\":{n},\"size\":{size},\"op\":\"expire_all\",\"reclaimed_s\":{:.3},\"longest_read_ns\":{longest},\"reads\":{calls},\"reads_over_1ms\":{over},\"quiet_longest_read_ns\":{quiet},\"quiet_reads\":{quiet_calls},\"quiet_reads_over_1ms\":{quiet_over},\"control_longest_read_ns\":{control},\"control_reads\":{control_calls},\"control_reads_over_1ms\":{control_over},\"handoff_longest_read_ns\":{handoff},\"handoff_reads\":{handoff_calls},\"handoff_reads_over_1ms\":{handoff_over}}}",
            reclaimed_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        store.check_invariants().expect("invariants");
    }
}
