//! Bounded memory under load: 8 threads (SS_STRESS_THREADS) of mixed operations for 10 s
//! (SS_BOUNDS_STRESS_SECS) on a store with a tight byte bound, a session bound, a per-user quota and
//! a 1-second idle expiry, on the system clock with the store's own expiry thread.
//!
//! Checked while they run: no listing, query or export shows a session that had expired when it
//! began, the sessions listed never exceed the bounds (in bytes, per store and per user), the bytes
//! held (`ss_stats`) never exceed the byte bound, and the process's resident memory stays under the
//! bound plus a stated overhead. Afterwards: the invariants of the tables, counts that add up, and
//! the heap the store holds (counted by this test's allocator), which is the precise figure: RSS
//! also holds what the allocator keeps for reuse.

use serde_json::value::RawValue;
use sessionstore::{now, Config, Filter, Query, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MAX_BYTES: usize = 4 << 20;
const MAX_SESSIONS: usize = 20_000;
const USER_MAX_BYTES: usize = 64 << 10;
const IDLE_S: u64 = 2;
const USERS: usize = 64;
/// The change feed's budget: it keeps the records of its changes alive, evicted ones included.
const FEED_BYTES: usize = 4 << 20;
/// What the process may hold beyond the byte bound: the records' overhead (about 0.3 of their
/// JSON), the feed, records kept for listings in flight and the listings themselves (one thread
/// lists the whole store), and what glibc's allocator keeps for reuse in its per-thread arenas
/// (measured: 23 MiB with no listing thread, 38 to 78 MiB with one).
const RSS_OVERHEAD: usize = 96 << 20;
/// The heap the store may hold once the threads are done: its sessions with their records'
/// overhead, the feed's, and its indexes.
const HEAP_BOUND: usize = MAX_BYTES * 13 / 10 + FEED_BYTES + (2 << 20);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's resident set, from /proc (Linux).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What a listing check reads of each session.
#[derive(serde::Deserialize)]
struct Listed<'a> {
    session_id: &'a str,
    updated_at: i64,
    user_id: Option<&'a str>,
}

/// Checks a listing (a JSON array of sessions, or an export) begun at `began` (unix seconds): none
/// expired, and within the bounds.
fn check_listing(text: &str, began: i64, what: &str) {
    let sessions: Vec<&RawValue> = match text.starts_with('{') {
        true => serde_json::from_str::<HashMap<&str, &RawValue>>(text).unwrap().into_values().collect(),
        false => serde_json::from_str(text).unwrap(),
    };
    let mut bytes = 0;
    let mut per_user: HashMap<&str, usize> = HashMap::new();
    for raw in &sessions {
        let s: Listed = serde_json::from_str(raw.get()).unwrap();
        assert!(
            s.updated_at + IDLE_S as i64 >= began,
            "{what}: {} expired (updated {}, listed at {began})",
            s.session_id,
            s.updated_at
        );
        bytes += raw.get().len();
        if let Some(u) = s.user_id {
            *per_user.entry(u).or_default() += raw.get().len();
        }
    }
    assert!(bytes <= MAX_BYTES, "{what}: {bytes} bytes listed");
    assert!(sessions.len() <= MAX_SESSIONS, "{what}: {} sessions listed", sessions.len());
    for (u, b) in per_user {
        assert!(b <= USER_MAX_BYTES, "{what}: user {u} holds {b} bytes");
    }
}

#[test]
fn mixed_operations_under_tight_bounds_keep_them() {
    let secs = env_or("SS_BOUNDS_STRESS_SECS", 10);
    let threads = env_or("SS_STRESS_THREADS", 8) as usize;
    let config = Config {
        max_bytes: MAX_BYTES,
        max_sessions: MAX_SESSIONS,
        user_max_bytes: USER_MAX_BYTES,
        idle_expiry_s: IDLE_S,
        feed_bytes: FEED_BYTES,
        ..Config::default()
    };
    let store = Store::open(config).unwrap();
    let rss_before = rss();
    let stop = AtomicBool::new(false);
    let (ops, rss_max) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (store, stop, ops, started) = (store.share(None), &stop, &ops, &started);
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                let pad = "x".repeat(4096);
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("s{}", rng.below(50_000));
                    let user = format!("u{}", rng.below(USERS));
                    // Writes for 1.5 s, then 3 s of reads only, in which sessions expire: with
                    // writes going on, eviction would take every session before it could idle.
                    let quiet = started.elapsed().as_millis() % 4500 >= 1500;
                    match if quiet { [7, 9][rng.below(2)] } else { rng.below(10) } {
                        0..=5 => {
                            let len = rng.below(pad.len());
                            let session = format!(
                                r#"{{"session_id":"{id}","user_id":"{user}","agent_id":"a","session_data":{{"session_name":"n{}"}},"memory":{{"runs":["{}"]}}}}"#,
                                rng.below(100),
                                &pad[..len]
                            );
                            match store.upsert(session.as_bytes()) {
                                Ok(_) => {}
                                // Another user's session.
                                Err(e) => assert_eq!(e.kind, sessionstore::ErrorKind::PermissionDenied, "{e:?}"),
                            }
                        }
                        6 => drop(store.append_runs(&id, None, br#"[{"run":"more"}]"#)),
                        7 => drop(store.read(&id, None)),
                        8 => drop(store.delete_session(&id, None)),
                        _ => {
                            let began = now();
                            // One thread lists the whole store, the others its short listings: the
                            // process's memory should be the store's, not that of eight copies of it.
                            match if t == 0 { rng.below(3) } else { 3 } {
                                0 => check_listing(&store.get_all_sessions(Filter::default()).unwrap(), began, "get_all_sessions"),
                                1 => {
                                    let q: HashMap<String, Box<RawValue>> =
                                        serde_json::from_str(&store.query(&Query::default()).unwrap()).unwrap();
                                    check_listing(q["sessions"].get(), began, "query");
                                }
                                2 => check_listing(&store.export().unwrap(), began, "export"),
                                _ => check_listing(
                                    &store.get_recent_sessions(Filter::new(Some(&user), None), 5).unwrap(),
                                    began,
                                    "get_recent_sessions",
                                ),
                            }
                            let stats = store.stats().unwrap();
                            assert!(stats.bounds.bytes <= MAX_BYTES, "{} bytes held", stats.bounds.bytes);
                            assert!(stats.bounds.sessions <= MAX_SESSIONS);
                        }
                    }
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        s.spawn(|| {
            while started.elapsed() < Duration::from_secs(secs) {
                rss_max.fetch_max(rss() as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
    let heap = LIVE.load(Ordering::Relaxed);
    store.check_invariants().unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.sessions(), stats.bounds.sessions);
    assert!(stats.bounds.bytes <= MAX_BYTES);
    let growth = (rss_max.load(Ordering::Relaxed) as usize).saturating_sub(rss_before);
    println!(
        "bounds stress: {} operations in {secs} s on {threads} threads; {} expired, {} evicted; {} sessions, {} bytes held; heap {} KiB (bound {} KiB); RSS grew {} MiB (bound {} MiB + {} MiB)",
        ops.load(Ordering::Relaxed),
        stats.bounds.expired,
        stats.bounds.evicted,
        stats.bounds.sessions,
        stats.bounds.bytes,
        heap >> 10,
        HEAP_BOUND >> 10,
        growth >> 20,
        MAX_BYTES >> 20,
        RSS_OVERHEAD >> 20
    );
    assert!(stats.bounds.evicted > 0 && stats.bounds.expired > 0, "the bounds were not exercised");
    assert!(heap <= HEAP_BOUND, "the heap holds {heap} bytes");
    assert!(growth <= MAX_BYTES + RSS_OVERHEAD, "RSS grew {growth} bytes");
}

/// Counts the bytes allocated and not yet freed, for the heap check.
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting sizes on the way.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as the caller guarantees for this call.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as the caller guarantees for this call.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
