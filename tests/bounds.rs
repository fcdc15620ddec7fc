//! Bounded memory: expiry, capacity bounds with eviction, per-user quotas. Time comes from a clock
//! the tests drive, and the expiry thread is off unless a test is about it: nothing here sleeps but
//! that one.

use serde_json::{json, Value};
use sessionstore::{Config, ErrorKind, Filter, Hooks, ManualClock, Query, SessionType, Store, WhenFull};
use std::sync::Arc;

const T0: i64 = 1_800_000_000;

fn open(config: Config) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let hooks = Hooks { clock: Some(clock.clone()), no_reclaimer: true, ..Hooks::default() };
    (Store::open_with(config, hooks).unwrap(), clock)
}

fn session(id: &str, user: &str) -> Vec<u8> {
    json!({"session_id": id, "user_id": user, "agent_id": "a", "session_data": {"session_name": id}, "memory": {"runs": []}})
        .to_string()
        .into_bytes()
}

fn put(store: &Store, id: &str, user: &str) {
    store.upsert(&session(id, user)).unwrap();
}

fn ids(store: &Store) -> Vec<String> {
    serde_json::from_str(&store.get_all_session_ids(Filter::default()).unwrap()).unwrap()
}

fn changes(store: &Store, after: u64) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(&store.changes(after, 1000, true).unwrap()).unwrap();
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["op"].as_str().unwrap().to_owned(), c["session_id"].as_str().unwrap_or("").to_owned()))
        .collect()
}

fn bounds(store: &Store) -> Value {
    serde_json::from_str::<Value>(&store.stats().unwrap().to_json()).unwrap()["bounds"].clone()
}

#[test]
fn an_idle_session_is_gone_for_every_call_at_once_and_reclaimed_later() {
    let (store, clock) = open(Config { idle_expiry_s: 60, ..Config::default() });
    put(&store, "old", "u");
    clock.advance(30);
    put(&store, "new", "u");
    clock.advance(30);
    assert!(
        store.read("old", None).is_ok(),
        "60 s idle: alive (times are whole seconds: it lives at least 60 s)"
    );
    clock.advance(1);
    // 61 s idle: gone everywhere, though still held.
    assert_eq!(store.read("old", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(ids(&store), ["new"]);
    let recent: Value =
        serde_json::from_str(&store.get_recent_sessions(Filter::default(), 5).unwrap()).unwrap();
    assert_eq!(recent.as_array().unwrap().len(), 1);
    let all: Value = serde_json::from_str(&store.get_all_sessions(Filter::default()).unwrap()).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
    let q: Value = serde_json::from_str(&store.query(&Query::default()).unwrap()).unwrap();
    assert_eq!(q["total"], 1);
    let named: Value =
        serde_json::from_str(&store.query_json(Some(br#"{"session_name":"old"}"#)).unwrap()).unwrap();
    assert_eq!(named["total"], 0);
    let export: Value = serde_json::from_str(&store.export().unwrap()).unwrap();
    assert_eq!(export.as_object().unwrap().keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(store.delete_session("old", None).unwrap(), 0);
    assert_eq!(store.rename_session("old", "x", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.append_runs("old", None, b"[1]").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(bounds(&store)["sessions"], 2);
    let latest = store.stats().unwrap().feed.latest;
    assert_eq!(store.reclaim().unwrap(), 1);
    assert_eq!(bounds(&store)["sessions"], 1);
    assert_eq!(bounds(&store)["expired"], 1);
    assert_eq!(changes(&store, latest), [("expire".to_owned(), "old".to_owned())]);
    assert_eq!(store.reclaim().unwrap(), 0);
    store.check_invariants().unwrap();
}

#[test]
fn a_write_of_an_expired_session_stores_a_new_one() {
    let (store, clock) = open(Config { idle_expiry_s: 10, ..Config::default() });
    store.upsert(br#"{"session_id":"s","user_id":"ava","created_at":5,"memory":{"runs":[1]}}"#).unwrap();
    clock.advance(11);
    // Another user may now take the id; the session is new: its created_at is now, its runs its own.
    let stored: Value =
        serde_json::from_str(&store.upsert(br#"{"session_id":"s","user_id":"bob"}"#).unwrap()).unwrap();
    assert_eq!(stored["created_at"], T0 + 11);
    assert!(stored.get("memory").is_none());
    let latest = store.stats().unwrap().feed.latest;
    // Of another type, too, and a compare-and-set that expects no session.
    clock.advance(11);
    let team = store.share(Some(SessionType::Team));
    team.upsert_if(br#"{"session_id":"s"}"#, Some(0)).unwrap();
    let ops = changes(&store, latest);
    assert_eq!(ops, [("expire".to_owned(), "s".to_owned()), ("upsert".to_owned(), "s".to_owned())]);
    store.check_invariants().unwrap();
}

#[test]
fn refresh_on_read_keeps_a_read_session_alive_and_listings_do_not_refresh() {
    let config = Config { idle_expiry_s: 60, refresh_on_read: true, ..Config::default() };
    let (store, clock) = open(config);
    put(&store, "read", "u");
    put(&store, "listed", "u");
    for _ in 0..3 {
        clock.advance(50);
        assert!(store.read("read", None).is_ok());
        ids(&store);
    }
    assert_eq!(ids(&store), ["read"]);
    assert_eq!(Config::parse(br#"{"refresh_on_read":true}"#).unwrap_err().kind, ErrorKind::InvalidArgument);
}

#[test]
fn max_age_expires_a_session_however_active() {
    let (store, clock) = open(Config { max_age_s: 100, ..Config::default() });
    put(&store, "s", "u");
    for _ in 0..9 {
        clock.advance(10);
        put(&store, "s", "u");
    }
    clock.advance(10);
    assert!(store.read("s", None).is_ok(), "100 s old: alive");
    clock.advance(1);
    assert_eq!(store.read("s", None).unwrap_err().kind, ErrorKind::NotFound);
    // A created_at given in the past counts.
    store.upsert(format!(r#"{{"session_id":"t","created_at":{}}}"#, T0 - 1000).as_bytes()).unwrap();
    assert_eq!(store.read("t", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.reclaim().unwrap(), 2);
    store.check_invariants().unwrap();
}

#[test]
fn over_max_sessions_the_least_recently_written_go_first() {
    let (store, clock) = open(Config { max_sessions: 3, ..Config::default() });
    for id in ["a", "b", "c"] {
        put(&store, id, "u");
        clock.advance(1);
    }
    put(&store, "a", "u"); // a is now the most recent
    let latest = store.stats().unwrap().feed.latest;
    put(&store, "d", "u");
    assert_eq!(ids(&store), ["a", "c", "d"]);
    assert_eq!(
        changes(&store, latest),
        [("upsert".to_owned(), "d".to_owned()), ("evict".to_owned(), "b".to_owned())]
    );
    // A replacement adds nothing: no eviction.
    put(&store, "c", "u");
    assert_eq!(ids(&store), ["a", "c", "d"]);
    assert_eq!(bounds(&store)["evicted"], 1);
    assert_eq!(bounds(&store)["max_sessions"], 3);
    store.check_invariants().unwrap();
}

#[test]
fn rewriting_the_most_recent_session_keeps_its_bytes_and_its_place_by_time() {
    // The session at the back of both lists, written again: it stays there (its bytes recounted);
    // written again with the clock stepped back, it goes where its time says.
    let config = Config { max_sessions: 3, max_bytes: 1 << 20, user_max_sessions: 3, ..Config::default() };
    let (store, clock) = open(config);
    for id in ["a", "b", "c"] {
        put(&store, id, "u");
        clock.advance(10);
    }
    let grown = json!({"session_id": "c", "user_id": "u", "pad": "x".repeat(5000)}).to_string();
    store.upsert(grown.as_bytes()).unwrap();
    assert_eq!(bounds(&store)["bytes"], store.stats().unwrap().bytes);
    store.check_invariants().unwrap();
    clock.set(T0 + 5); // after a (T0), before b (T0 + 10)
    put(&store, "c", "u");
    store.check_invariants().unwrap();
    put(&store, "d", "u");
    assert_eq!(ids(&store), ["b", "c", "d"], "a, the least recent, goes first");
    put(&store, "e", "u");
    assert_eq!(ids(&store), ["b", "d", "e"], "then c, placed before b by its time");
    store.check_invariants().unwrap();
}

#[test]
fn over_max_bytes_as_many_go_as_the_new_session_needs() {
    let small = session("s0", "u").len() + 100;
    let (store, _clock) = open(Config { max_bytes: 5 * small, ..Config::default() });
    for i in 0..5 {
        put(&store, &format!("s{i}"), "u");
    }
    let big = json!({"session_id": "big", "pad": "x".repeat(2 * small)}).to_string();
    store.upsert(big.as_bytes()).unwrap();
    assert_eq!(ids(&store), ["s3", "s4", "big"]);
    assert!(store.stats().unwrap().bytes <= 5 * small);
    // A session that cannot fit even alone is refused, and nothing goes.
    let huge = json!({"session_id": "huge", "pad": "x".repeat(6 * small)}).to_string();
    let err = store.upsert(huge.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Full);
    assert!(err.message.contains("max_bytes"), "{}", err.message);
    assert_eq!(ids(&store), ["s3", "s4", "big"]);
    store.check_invariants().unwrap();
}

#[test]
fn when_full_refuse_changes_nothing_but_expired_sessions_still_make_room() {
    let config =
        Config { max_sessions: 2, idle_expiry_s: 100, when_full: WhenFull::Refuse, ..Config::default() };
    let (store, clock) = open(config);
    put(&store, "a", "u");
    clock.advance(50);
    put(&store, "b", "u");
    let before = store.export().unwrap();
    let err = store.upsert(&session("c", "u")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Full);
    assert!(err.message.contains("max_sessions 2"), "{}", err.message);
    assert_eq!(store.export().unwrap(), before);
    put(&store, "b", "u"); // a replacement fits
    clock.advance(51); // a has expired: it makes room
    put(&store, "c", "u");
    assert_eq!(ids(&store), ["b", "c"]);
    assert_eq!(bounds(&store)["expired"], 1);
    assert_eq!(bounds(&store)["evicted"], 0);
    store.check_invariants().unwrap();
}

#[test]
fn a_user_over_its_quota_loses_its_own_sessions_and_no_one_else_s() {
    let (store, clock) = open(Config { user_max_sessions: 2, ..Config::default() });
    put(&store, "b1", "bob");
    for i in 0..5 {
        put(&store, &format!("a{i}"), "ava");
        clock.advance(1);
    }
    put(&store, "anon", "");
    store.upsert(br#"{"session_id":"nobody"}"#).unwrap();
    assert_eq!(ids(&store), ["b1", "a3", "a4", "anon", "nobody"]);
    // Refusing instead: ava's next session is FULL, bob's still fits.
    let (store, _clock) =
        open(Config { user_max_sessions: 2, when_full: WhenFull::Refuse, ..Config::default() });
    put(&store, "a0", "ava");
    put(&store, "a1", "ava");
    let err = store.upsert(&session("a2", "ava")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Full);
    assert!(
        err.message.contains("\"ava\"") && err.message.contains("user_max_sessions 2"),
        "{}",
        err.message
    );
    put(&store, "b0", "bob");
    store.check_invariants().unwrap();
}

#[test]
fn a_single_user_cannot_exhaust_the_store() {
    let quota = 64 * 1024;
    let (store, _clock) = open(Config { user_max_bytes: quota, ..Config::default() });
    for i in 0..100 {
        put(&store, &format!("victim-{i}"), &format!("user-{i}"));
    }
    let pad = "x".repeat(1000);
    for i in 0..10_000 {
        let s = json!({"session_id": format!("flood-{i}"), "user_id": "mallory", "pad": pad}).to_string();
        store.upsert(s.as_bytes()).unwrap();
    }
    let mallory: Vec<String> =
        serde_json::from_str(&store.get_all_session_ids(Filter::new(Some("mallory"), None)).unwrap())
            .unwrap();
    let export: Value = serde_json::from_str(&store.export().unwrap()).unwrap();
    let mallory_bytes: usize = mallory.iter().map(|id| export[id].to_string().len()).sum();
    assert!(mallory_bytes <= quota + 64 * mallory.len(), "{mallory_bytes} bytes for mallory");
    assert!(mallory.len() < 100);
    assert_eq!(export.as_object().unwrap().keys().filter(|k| k.starts_with("victim-")).count(), 100);
    store.check_invariants().unwrap();
}

#[test]
fn batches_and_imports_evict_what_they_need_and_a_batch_too_large_changes_nothing() {
    let (store, _clock) = open(Config { max_sessions: 4, ..Config::default() });
    for id in ["a", "b", "c", "d"] {
        put(&store, id, "u");
    }
    let batch = format!(
        "[{},{},{}]",
        String::from_utf8(session("e", "u")).unwrap(),
        String::from_utf8(session("a", "u")).unwrap(),
        String::from_utf8(session("e", "u")).unwrap()
    );
    store.upsert_many(batch.as_bytes()).unwrap();
    assert_eq!(ids(&store), ["a", "c", "d", "e"]);
    let five: Vec<String> =
        (0..5).map(|i| String::from_utf8(session(&format!("n{i}"), "u")).unwrap()).collect();
    let before = store.export().unwrap();
    let err = store.upsert_many(format!("[{}]", five.join(",")).as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Full);
    assert_eq!(store.export().unwrap(), before);
    let import = json!({"x": {"session_id": "x", "session_type": "agent"}, "y": {"session_id": "y", "session_type": "agent"}});
    store.import(import.to_string().as_bytes()).unwrap();
    // The batch wrote e, a, then e again: c and d are the least recently written.
    assert_eq!(ids(&store), ["a", "e", "x", "y"]);
    store.check_invariants().unwrap();
}

#[test]
fn with_refresh_on_read_a_session_read_since_its_last_write_is_passed_over_once() {
    let config =
        Config { max_sessions: 3, idle_expiry_s: 1_000_000, refresh_on_read: true, ..Config::default() };
    let (store, clock) = open(config);
    for id in ["a", "b", "c"] {
        put(&store, id, "u");
        clock.advance(1);
    }
    store.read("a", None).unwrap();
    put(&store, "d", "u");
    assert_eq!(ids(&store), ["a", "c", "d"]);
    put(&store, "e", "u");
    assert_eq!(ids(&store), ["a", "d", "e"]);
    store.check_invariants().unwrap();
}

#[test]
fn a_durable_store_does_not_bring_back_what_was_evicted_or_expired() {
    let dir = tempdir();
    let config = Config {
        path: Some(dir.clone()),
        sync: sessionstore::Sync::Os,
        max_sessions: 2,
        idle_expiry_s: 100,
        ..Config::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    let hooks = || Hooks { clock: Some(clock.clone()), no_reclaimer: true, ..Hooks::default() };
    {
        let store = Store::open_with(config.clone(), hooks()).unwrap();
        for id in ["a", "b", "c"] {
            put(&store, id, "u");
            clock.advance(10);
        }
        assert_eq!(ids(&store), ["b", "c"]);
        store.compact().unwrap();
        put(&store, "b", "u"); // b is the most recent now
    }
    let store = Store::open_with(config.clone(), hooks()).unwrap();
    assert_eq!(ids(&store), ["b", "c"]);
    // The recency order survives the reopen (snapshot, then journal): c goes first.
    put(&store, "d", "u");
    assert_eq!(ids(&store), ["b", "d"]);
    clock.advance(60);
    put(&store, "e", "u");
    assert_eq!(ids(&store), ["d", "e"]);
    clock.advance(50);
    // d has been idle for 110 s: gone, though held, and still gone after a reopen.
    assert_eq!(ids(&store), ["e"]);
    drop(store);
    let store = Store::open_with(config.clone(), hooks()).unwrap();
    assert_eq!(ids(&store), ["e"]);
    assert_eq!(store.reclaim().unwrap(), 1);
    drop(store);
    let store = Store::open_with(config, hooks()).unwrap();
    assert_eq!(ids(&store), ["e"]);
    assert_eq!(bounds(&store)["sessions"], 1);
    store.check_invariants().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_reopen_counts_idle_time_from_its_own_clock_for_sessions_dated_after_it() {
    // A session whose updated_at is later than the reopen's clock (imported so, or written before
    // the clock was set back) counts its idle time from the reopen, like one imported then: neither
    // immortal until its date nor judged by a time the reopen never saw.
    let dir = tempdir();
    let config = Config {
        path: Some(dir.clone()),
        sync: sessionstore::Sync::Os,
        idle_expiry_s: 60,
        ..Config::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    let hooks = || Hooks { clock: Some(clock.clone()), no_reclaimer: true, ..Hooks::default() };
    {
        let store = Store::open_with(config.clone(), hooks()).unwrap();
        let import =
            json!({"future": {"session_id": "future", "session_type": "agent", "updated_at": T0 + 1000}});
        store.import(import.to_string().as_bytes()).unwrap();
        clock.advance(100);
        put(&store, "later", "u");
        assert_eq!(ids(&store), ["later"], "the import, idle for 100 s, has expired");
    }
    // Back to T0 (a clock set back), and the import again, dated after it like "later" now is.
    clock.set(T0);
    let store = Store::open_with(config.clone(), hooks()).unwrap();
    let import =
        json!({"future": {"session_id": "future", "session_type": "agent", "updated_at": T0 + 1000}});
    store.import(import.to_string().as_bytes()).unwrap();
    drop(store);
    clock.set(T0 + 30);
    let store = Store::open_with(config.clone(), hooks()).unwrap();
    clock.advance(60);
    assert_eq!(ids(&store), ["future", "later"], "60 s after the reopen: alive");
    clock.advance(1);
    assert_eq!(ids(&store), Vec::<String>::new(), "61 s after the reopen: both gone");
    assert_eq!(store.reclaim().unwrap(), 2);
    store.check_invariants().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_expiry_thread_reclaims_without_being_asked() {
    let clock = Arc::new(ManualClock::new(T0));
    let hooks = Hooks { clock: Some(clock.clone()), ..Hooks::default() };
    let store = Store::open_with(Config { idle_expiry_s: 5, ..Config::default() }, hooks).unwrap();
    for i in 0..200 {
        put(&store, &format!("s{i}"), "u");
    }
    clock.advance(6);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while bounds(&store)["sessions"] != 0 {
        assert!(std::time::Instant::now() < deadline, "not reclaimed: {}", bounds(&store));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(bounds(&store)["expired"], 200);
    store.check_invariants().unwrap();
    // The thread ends with the last handle.
    let weak_check = store.share(None);
    drop(store);
    drop(weak_check);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ss-bounds-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[test]
fn a_read_in_the_same_second_as_the_write_still_earns_a_second_chance() {
    let config = Config { max_sessions: 3, idle_expiry_s: 3600, refresh_on_read: true, ..Config::default() };
    let (store, _clock) = open(config);
    for id in ["a", "b", "c"] {
        put(&store, id, "u");
    }
    store.read("a", None).unwrap();
    put(&store, "d", "u");
    assert_eq!(ids(&store), ["a", "c", "d"]);
    store.check_invariants().unwrap();
}

#[test]
fn an_import_written_long_ago_is_placed_by_its_time_evicted_first_and_reclaimed() {
    let config = Config { max_sessions: 3, idle_expiry_s: 100, ..Config::default() };
    let (store, clock) = open(config);
    put(&store, "live", "u");
    let import = json!({
        "old": {"session_id": "old", "session_type": "agent", "updated_at": T0 - 50},
        "older": {"session_id": "older", "session_type": "agent", "updated_at": T0 - 90},
    });
    store.import(import.to_string().as_bytes()).unwrap();
    // The least recently written by their times: "older" then "old", though imported after "live".
    put(&store, "new", "u");
    assert_eq!(ids(&store), ["live", "old", "new"]);
    // Idle for more than 100 s, behind no live session: reclaimed with the rest that expired.
    clock.advance(51);
    assert_eq!(ids(&store), ["live", "new"]);
    assert_eq!(store.reclaim().unwrap(), 1);
    assert_eq!(bounds(&store)["sessions"], 2);
    store.check_invariants().unwrap();
}

#[test]
fn an_updated_at_in_the_future_does_not_keep_a_session_or_hold_back_the_reclaimer() {
    // An import may carry any updated_at. Idle time counts from the write when that is earlier, so a
    // session dated in the year 292 billion expires like one written now, and sessions behind it in
    // the recency list are reclaimed when they expire (found by a longer model run: one read gave the
    // future-dated session a place among the present ones, and the walk from the front stopped at it
    // for ever).
    let (store, clock) = open(Config { idle_expiry_s: 60, refresh_on_read: true, ..Config::default() });
    let import = json!({"future": {"session_id": "future", "session_type": "agent", "updated_at": i64::MAX}});
    store.import(import.to_string().as_bytes()).unwrap();
    put(&store, "a", "u");
    store.read("future", None).unwrap();
    clock.advance(30);
    // The read earned "future" a second chance: the reclaimer's walk sends it behind "a".
    assert_eq!(store.reclaim().unwrap(), 0);
    put(&store, "b", "u");
    clock.advance(31);
    assert_eq!(ids(&store), ["b"], "61 s after the import and the read: gone");
    assert_eq!(store.reclaim().unwrap(), 2);
    clock.advance(30);
    assert_eq!(store.reclaim().unwrap(), 1, "\"b\", behind it, goes in its turn");
    assert_eq!(bounds(&store)["sessions"], 0);
    store.check_invariants().unwrap();
    // The stored updated_at stays as imported.
    let (store, _) = open(Config { idle_expiry_s: 60, ..Config::default() });
    store.import(import.to_string().as_bytes()).unwrap();
    let stored: Value = serde_json::from_str(&store.read("future", None).unwrap()).unwrap();
    assert_eq!(stored["updated_at"], i64::MAX);
}
