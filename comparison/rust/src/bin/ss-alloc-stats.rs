//! Where the engine's memory goes: loads a workload's sessions into a `sessionstore::Store` under a
//! counting allocator and prints the live heap by allocation size, so that "RSS growth over JSON bytes"
//! can be broken down (record, id, name, index nodes, hash table...). Not part of the timed rows.
//!
//!     target/bench-bin/ss-alloc-stats target/bench-data/n1000000-s1024

#[path = "../cli.rs"]
mod cli;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

extern "C" {
    fn malloc_usable_size(ptr: *mut u8) -> usize;
}

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicU64 = AtomicU64::new(0);
static USABLE: AtomicU64 = AtomicU64::new(0);
// Live allocations by requested size, bucketed exactly up to 4 KiB and by power of two above.
const BUCKETS: usize = 4096 + 64;
static COUNT: [AtomicU64; BUCKETS] = [const { AtomicU64::new(0) }; BUCKETS];
static BYTES: [AtomicU64; BUCKETS] = [const { AtomicU64::new(0) }; BUCKETS];

fn bucket(size: usize) -> usize {
    if size < 4096 {
        size
    } else {
        4096 + (usize::BITS - size.leading_zeros()) as usize
    }
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if ON.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(l.size() as u64, Relaxed);
            USABLE.fetch_add(unsafe { malloc_usable_size(p) } as u64, Relaxed);
            COUNT[bucket(l.size())].fetch_add(1, Relaxed);
            BYTES[bucket(l.size())].fetch_add(l.size() as u64, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if ON.load(Relaxed) {
            LIVE.fetch_sub(l.size() as u64, Relaxed);
            USABLE.fetch_sub(unsafe { malloc_usable_size(p) } as u64, Relaxed);
            COUNT[bucket(l.size())].fetch_sub(1, Relaxed);
            BYTES[bucket(l.size())].fetch_sub(l.size() as u64, Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

static LOCK: Mutex<()> = Mutex::new(());

fn main() {
    let _g = LOCK.lock();
    let dir = std::env::args().nth(1).expect("usage: ss-alloc-stats DATA_DIR");
    let store = sessionstore::Store::open_json(None).expect("open");
    // Counting starts at the first line, after the reader's buffers are allocated.
    let (n, json) = cli::each_line(&format!("{dir}/sessions.jsonl"), |line| {
        ON.store(true, Relaxed);
        store.upsert_with(line, |_| ()).expect("upsert");
        true
    });
    ON.store(false, Relaxed);
    let stats = store.stats().unwrap();
    let live = LIVE.load(Relaxed);
    let usable = USABLE.load(Relaxed);
    println!("sessions {n}; input JSON {json} B ({:.1} B/session); stored JSON {} B ({:.1} B/session)", json as f64 / n as f64, stats.bytes, stats.bytes as f64 / n as f64);
    println!("live heap requested {live} B = {:.1} B/session = {:.3}x input JSON", live as f64 / n as f64, live as f64 / json as f64);
    println!("live heap usable    {usable} B = {:.1} B/session = {:.3}x input JSON (+16 B header per chunk not counted)", usable as f64 / n as f64, usable as f64 / json as f64);
    let mut by: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
    for (b, c) in COUNT.iter().enumerate() {
        let c = c.load(Relaxed);
        if c > 0 {
            by.entry(BYTES[b].load(Relaxed)).or_default().push((b, c));
        }
    }
    println!("largest live groups (requested size: count, bytes, bytes/session):");
    let mut shown = 0;
    let mut ranges: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (bytes, list) in by.iter().rev() {
        for &(b, c) in list {
            let label = if b < 4096 { format!("{b} B") } else { format!("{}-{} B", 1u64 << (b - 4096 - 1), (1u64 << (b - 4096)) - 1) };
            if shown < 25 {
                println!("  {label:>14}: {c:>9} allocs, {bytes:>12} B, {:>7.1} B/session", *bytes as f64 / n as f64);
            }
            shown += 1;
            let key = match b {
                0..=128 => "<= 128 B (ids, names, Vec/String headers, small nodes)",
                129..=512 => "129-512 B (B-tree nodes)",
                513..=4095 => "513 B-4 KiB (session JSON)",
                _ => ">= 4 KiB (hash tables, slot vectors, big JSON)",
            };
            let e = ranges.entry(key).or_default();
            e.0 += c;
            e.1 += *bytes;
        }
    }
    println!("by range:");
    for (k, (c, b)) in ranges {
        println!("  {k}: {c} allocs, {b} B, {:.1} B/session", b as f64 / n as f64);
    }
    drop(store);
}
