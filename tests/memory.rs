//! What a call costs in memory beyond its input, measured by a counting allocator: hostile input must
//! not make one call allocate many times its size (docs/bad-input.md, "Memory per call").
//!
//! The cases run one after the other in one test, so that no other test of this binary allocates
//! while one is measured.

use sessionstore::{Error, ErrorKind, Filter, Query, Store, MAX_MESSAGE_BYTES};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator with the caller's arguments; the counters
// only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most `f` allocates at once beyond what was live when it started.
fn peak_extra<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let result = f();
    (result, PEAK.load(Relaxed) - before)
}

const MB: usize = 1 << 20;
const INPUT: usize = 100 * MB;

fn short_error(err: Error, kind: ErrorKind, what: &str) {
    assert_eq!(err.kind, kind, "{what}: {}", err.message);
    assert!(err.message.len() <= MAX_MESSAGE_BYTES + 64, "{what}: a message of {} bytes", err.message.len());
}

#[test]
fn hostile_inputs_cost_little_memory_beyond_themselves() {
    let store = Store::open_json(None).unwrap();
    store.upsert(br#"{"session_id":"s0","user_id":"u"}"#).unwrap();

    // 100 MB of short ids: collecting them as owned strings cost seven times the input.
    let mut ids = String::with_capacity(INPUT + 16);
    ids.push_str("[\"s0\"");
    let mut i = 0u32;
    while ids.len() < INPUT {
        ids.push_str(&format!(",\"x{i}\""));
        i += 1;
    }
    ids.push(']');
    let (removed, extra) = peak_extra(|| store.delete_sessions(ids.as_bytes(), None));
    assert_eq!(removed, Ok(1));
    assert!(extra < MB, "ss_delete_sessions with {} MB of ids allocated {extra} bytes", INPUT / MB);
    drop(ids);

    let long = "a".repeat(INPUT);
    // A 100 MB id: NOT_FOUND quotes a prefix.
    let (err, extra) = peak_extra(|| store.read(&long, None).unwrap_err());
    short_error(err, ErrorKind::NotFound, "read");
    assert!(extra < MB, "read of an unknown 100 MB id allocated {extra} bytes");

    for (what, text, kind) in [
        ("sort_by", format!("{{\"sort_by\":\"{long}\"}}"), ErrorKind::InvalidArgument),
        ("sort_order", format!("{{\"sort_order\":\"{long}\"}}"), ErrorKind::InvalidArgument),
        ("an unknown query key", format!("{{\"{long}\":1}}"), ErrorKind::InvalidArgument),
        ("a duplicate query key", format!("{{\"{long}\":1,\"{long}\":1}}"), ErrorKind::InvalidJson),
    ] {
        let (err, extra) = peak_extra(|| Query::parse(text.as_bytes()).unwrap_err());
        short_error(err, kind, what);
        assert!(extra < MB, "a query with a 100 MB {what} allocated {extra} bytes");
    }
    for (what, text) in
        [("mode", format!("{{\"mode\":\"{long}\"}}")), ("an unknown config key", format!("{{\"{long}\":1}}"))]
    {
        let (err, extra) = peak_extra(|| Store::open_json(Some(text.as_bytes())).err().unwrap());
        short_error(err, ErrorKind::InvalidArgument, what);
        assert!(extra < MB, "a config with a 100 MB {what} allocated {extra} bytes");
    }

    // Listings and the store itself still work.
    assert_eq!(store.get_all_session_ids(Filter::new(None, None)).unwrap(), "[]");
}
