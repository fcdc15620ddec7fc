//! The redis backend: the same semantics as a local store, proved against the same reference model,
//! and what a server's failures mean to callers. Each test starts its own redis-server on a free
//! loopback port (tests/common/redis.rs) and stops it.

mod common;

use common::model::{decode, decode_expiring, run_redis};
use common::redis::RedisServer;
use proptest::prelude::*;
use sessionstore::{Config, ErrorKind, Filter, Hooks, ManualClock, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A namespace no other case of this run uses: each case starts from an empty store.
fn fresh_namespace() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("case{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn open(server: &RedisServer, namespace: &str, mode: &str) -> Store {
    Store::open_json(Some(server.config(mode, namespace, "").as_bytes())).expect("open a redis store")
}

#[test]
fn redis_store_matches_the_reference_model() {
    let server = RedisServer::start();
    let url = server.url();
    proptest!(ProptestConfig { cases: cases(150), failure_persistence: None, ..ProptestConfig::default() },
    |(data in proptest::collection::vec(any::<u8>(), 0..2500))| {
        let (setup, ops) = decode(&data, false);
        if let Err(e) = run_redis(&setup, &ops, &url, &fresh_namespace()) {
            prop_assert!(false, "{}", e);
        }
    });
}

#[test]
fn redis_store_with_expiry_matches_the_reference_model() {
    let server = RedisServer::start();
    let url = server.url();
    proptest!(ProptestConfig { cases: cases(100), failure_persistence: None, ..ProptestConfig::default() },
    |(data in proptest::collection::vec(any::<u8>(), 0..2500))| {
        let (setup, ops) = decode_expiring(&data);
        if let Err(e) = run_redis(&setup, &ops, &url, &fresh_namespace()) {
            prop_assert!(false, "{}", e);
        }
    });
}

fn session(id: &str, user: &str) -> String {
    format!(r#"{{"session_id":"{id}","user_id":"{user}","agent_id":"a1","memory":{{"runs":[]}}}}"#)
}

#[test]
fn configs_that_mean_nothing_to_a_backend_are_refused() {
    let url = "redis://127.0.0.1:1/0";
    for (config, says) in [
        (format!(r#"{{"backend":"redis","url":"{url}","path":"/tmp/x"}}"#), "path"),
        (format!(r#"{{"backend":"redis","url":"{url}","sync":"os"}}"#), "sync"),
        (format!(r#"{{"backend":"redis","url":"{url}","max_sessions":10}}"#), "max_sessions"),
        (format!(r#"{{"backend":"redis","url":"{url}","user_max_bytes":10}}"#), "user_max_bytes"),
        (format!(r#"{{"backend":"redis","url":"{url}","when_full":"refuse"}}"#), "when_full"),
        // Even with their default values: the key means nothing here.
        (format!(r#"{{"backend":"redis","url":"{url}","when_full":"evict"}}"#), "when_full"),
        (format!(r#"{{"backend":"redis","url":"{url}","sync":"interval"}}"#), "sync"),
        (format!(r#"{{"backend":"redis","url":"{url}","max_sessions":0}}"#), "max_sessions"),
        (r#"{"command_timeout_ms":10000}"#.to_owned(), "command_timeout_ms"),
        (format!(r#"{{"backend":"redis","url":"{url}","namespace":""}}"#), "namespace"),
        (format!(r#"{{"backend":"redis","url":"{url}","command_timeout_ms":0}}"#), "command_timeout_ms"),
        (r#"{"backend":"redis"}"#.to_owned(), "url"),
        (format!(r#"{{"url":"{url}"}}"#), "url"),
        (r#"{"namespace":"app"}"#.to_owned(), "namespace"),
        (r#"{"backend":"memcached"}"#.to_owned(), "backend"),
        (r#"{"backend":"redis","url":"http://example.com"}"#.to_owned(), "url"),
    ] {
        let e = Store::open_json(Some(config.as_bytes())).err().unwrap_or_else(|| panic!("{config} opened"));
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{config}: {e}");
        assert!(e.message.contains(says), "{config}: {e}");
    }
}

#[test]
fn an_unreachable_server_is_unavailable_and_a_restarted_one_is_used_again() {
    let server = RedisServer::start();
    let config =
        server.config("agent", &fresh_namespace(), r#","connect_timeout_ms":500,"command_timeout_ms":2000"#);
    let store = Store::open_json(Some(config.as_bytes())).unwrap();
    store.upsert(session("s1", "u1").as_bytes()).unwrap();
    let port = server.kill();

    for call in [
        store.read("s1", None).map(drop),
        store.upsert(session("s2", "u1").as_bytes()).map(drop),
        store.get_all_session_ids(Filter::default()).map(drop),
        store.stats().map(drop),
    ] {
        let e = call.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
        assert!(e.message.contains("Redis server"), "{e}");
    }
    let e = Store::open_json(Some(config.as_bytes())).err().expect("no server to open");
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");

    // The server comes back (empty: it saved nothing): the same handle reconnects by itself.
    let _server = RedisServer::start_on(port);
    let mut answered = false;
    for _ in 0..3 {
        if store.upsert(session("s3", "u1").as_bytes()).is_ok() {
            answered = true;
            break;
        }
    }
    assert!(answered, "the store did not reconnect to its restarted server");
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s3"]"#);
}

#[test]
fn flushed_scripts_are_loaded_again() {
    let server = RedisServer::start();
    let store = open(&server, &fresh_namespace(), "agent");
    store.upsert(session("s1", "u1").as_bytes()).unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_connection().unwrap();
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut c).unwrap();
    store.upsert(session("s2", "u1").as_bytes()).unwrap();
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s1","s2"]"#);
}

#[test]
fn stores_opened_apart_share_one_namespace_and_namespaces_are_apart() {
    let server = RedisServer::start();
    let (ns, other) = (fresh_namespace(), fresh_namespace());
    let a = open(&server, &ns, "agent");
    let b = open(&server, &ns, "agent");
    let c = open(&server, &other, "agent");
    a.upsert(session("s1", "u1").as_bytes()).unwrap();
    assert_eq!(b.read("s1", Some("u1")).unwrap(), a.read("s1", None).unwrap());
    assert_eq!(c.read("s1", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(a.stats().unwrap().feed.store, b.stats().unwrap().feed.store, "one namespace, one identity");
    assert_ne!(a.stats().unwrap().feed.store, c.stats().unwrap().feed.store);
    assert_eq!(c.get_all_session_ids(Filter::default()).unwrap(), "[]");
}

/// Appends from many threads through stores opened apart (as many processes would) all land, each
/// once, and every version is a change of its own.
#[test]
fn concurrent_appends_from_separate_stores_all_land() {
    const THREADS: usize = 6;
    const APPENDS: usize = 40;
    let server = RedisServer::start();
    let ns = fresh_namespace();
    open(&server, &ns, "agent").upsert(session("s1", "u1").as_bytes()).unwrap();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let store = open(&server, &ns, "agent");
            scope.spawn(move || {
                for i in 0..APPENDS {
                    store
                        .append_runs("s1", Some("u1"), format!(r#"[{{"t":{t},"i":{i}}}]"#).as_bytes())
                        .unwrap();
                }
            });
        }
    });
    let store = open(&server, &ns, "agent");
    let stored: serde_json::Value = serde_json::from_str(&store.read("s1", None).unwrap()).unwrap();
    let runs = stored["memory"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), THREADS * APPENDS);
    let distinct: std::collections::HashSet<String> = runs.iter().map(|r| r.to_string()).collect();
    assert_eq!(distinct.len(), THREADS * APPENDS, "an append landed twice");
    assert_eq!(stored["version"], (1 + THREADS * APPENDS) as u64);
    store.check_invariants().unwrap();
}

/// A store on `clock`; `reclaimer`: with its expiry thread.
fn open_on(
    server: &RedisServer,
    namespace: &str,
    extra: &str,
    clock: &Arc<ManualClock>,
    reclaimer: bool,
) -> Store {
    let config = Config::parse(server.config("agent", namespace, extra).as_bytes()).unwrap();
    let hooks = Hooks { clock: Some(Arc::clone(clock) as _), no_reclaimer: !reclaimer, ..Hooks::default() };
    Store::open_with(config, hooks).expect("open a redis store")
}

fn connection(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url()).unwrap().get_connection().unwrap()
}

/// The ops of the feed after change `after`, as "op:id".
fn feed_ops(store: &Store, after: u64) -> Vec<String> {
    let page: serde_json::Value = serde_json::from_str(&store.changes(after, 100, true).unwrap()).unwrap();
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}:{}", c["op"].as_str().unwrap(), c["session_id"].as_str().unwrap_or("")))
        .collect()
}

/// Redis gives each session an expiry of its own, a grace period after the store's: a namespace
/// nobody opens gives its memory back. When Redis dropped a session before any store reclaimed it,
/// its index entries are never shown, a session written again under its id is listed once, and the
/// next reclaim removes what it left and tells the feed.
#[test]
fn sessions_redis_dropped_by_itself_leave_nothing_visible() {
    let server = RedisServer::start();
    let ns = fresh_namespace();
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let store = open_on(&server, &ns, r#","idle_expiry_s":100"#, &clock, false);
    store.upsert(session("s1", "u1").as_bytes()).unwrap();
    store.upsert(session("s2", "u1").as_bytes()).unwrap();
    let mut c = connection(&server);
    let key = |id: &str| format!("ss:{{{ns}}}:s:{id}");
    let ttl: i64 = redis::cmd("TTL").arg(key("s1")).query(&mut c).unwrap();
    assert!((100..=160).contains(&ttl), "a session expiring in 100 s has a Redis TTL of {ttl} s");

    // As Redis does when the TTL runs out.
    let _: () = redis::cmd("DEL").arg(key("s1")).query(&mut c).unwrap();
    assert_eq!(store.read("s1", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s2"]"#);
    assert_eq!(
        store.get_all_session_ids(Filter { user_id: Some("u1"), ..Filter::default() }).unwrap(),
        r#"["s2"]"#
    );
    assert_eq!(store.get_recent_sessions(Filter::default(), 5).unwrap().matches("session_id").count(), 1);

    // Written again, for another user: once, under that user only.
    store.upsert(session("s1", "u2").as_bytes()).unwrap();
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s2","s1"]"#);
    assert_eq!(
        store.get_all_session_ids(Filter { user_id: Some("u1"), ..Filter::default() }).unwrap(),
        r#"["s2"]"#
    );
    assert_eq!(
        store.get_all_session_ids(Filter { user_id: Some("u2"), ..Filter::default() }).unwrap(),
        r#"["s1"]"#
    );
    let export: serde_json::Value = serde_json::from_str(&store.export().unwrap()).unwrap();
    assert_eq!(export.as_object().unwrap().len(), 2);

    // s2 is dropped by Redis too and never written again: the feed hears of it when it is reclaimed.
    let _: () = redis::cmd("DEL").arg(key("s2")).query(&mut c).unwrap();
    let before = store.stats().unwrap().feed.latest;
    clock.advance(101);
    store.upsert(session("s3", "u3").as_bytes()).unwrap();
    assert_eq!(store.reclaim().unwrap(), 3, "s1's first self, s2, and the s1 written again");
    assert_eq!(feed_ops(&store, before), ["upsert:s3", "expire:s2", "expire:s1"]);
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s3"]"#);
    let stats = store.stats().unwrap();
    assert_eq!((stats.sessions(), stats.bounds.expired), (1, 2));
    store.check_invariants().unwrap();
    for index in ["o:0", "u:0:u1", "u:0:u2"] {
        let held: usize = redis::cmd("ZCARD").arg(format!("ss:{{{ns}}}:{index}")).query(&mut c).unwrap();
        assert_eq!(held, usize::from(index == "o:0"), "index {index}");
    }
}

/// Every store of a namespace expires its sessions alike: one opened with other expiry settings is
/// refused while the namespace holds sessions, and may set its own once it holds none.
#[test]
fn stores_of_a_namespace_agree_on_expiry() {
    let server = RedisServer::start();
    let ns = fresh_namespace();
    let config = |extra: &str| server.config("agent", &ns, extra);
    let first = Store::open_json(Some(config(r#","idle_expiry_s":60"#).as_bytes())).unwrap();
    first.upsert(session("s1", "u1").as_bytes()).unwrap();
    Store::open_json(Some(config(r#","idle_expiry_s":60"#).as_bytes())).expect("the same settings");
    for other in [r#","idle_expiry_s":30"#, "", r#","idle_expiry_s":60,"refresh_on_read":true"#] {
        let e = Store::open_json(Some(config(other).as_bytes())).err().expect("other settings refused");
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
        assert!(e.message.contains("idle_expiry_s=60"), "{e}");
    }
    first.drop_sessions().unwrap();
    let second = Store::open_json(Some(config(r#","max_age_s":5"#).as_bytes())).expect("an empty namespace");
    assert_eq!(second.stats().unwrap().bounds.limits.max_age_s, Some(5));
}

/// The store's expiry thread frees what expired without any call, and an expired session is gone
/// for every call before that.
#[test]
fn the_expiry_thread_frees_expired_sessions() {
    let server = RedisServer::start();
    let ns = fresh_namespace();
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let store = open_on(&server, &ns, r#","idle_expiry_s":10,"refresh_on_read":true"#, &clock, true);
    store.upsert(session("s1", "u1").as_bytes()).unwrap();
    store.upsert(session("s2", "u1").as_bytes()).unwrap();
    clock.advance(8);
    store.read("s1", None).unwrap();
    clock.advance(8);
    assert_eq!(store.read("s2", None).unwrap_err().kind, ErrorKind::NotFound, "idle for 16 s");
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s1"]"#, "read 8 s ago");
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.stats().unwrap().sessions() > 1 {
        assert!(Instant::now() < deadline, "the expiry thread did not free s2");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(store.stats().unwrap().bounds.expired, 1);
    store.check_invariants().unwrap();
}

extern "C" fn ignore_signal(_: nix::libc::c_int) {}

/// Hosts interrupt threads with signals all the time (Go preempts goroutines with SIGURG; Python
/// installs a SIGINT handler), and a socket read with a timeout is never restarted after a handler
/// ran: a call waiting on the server must hold them back rather than fail with EINTR.
#[test]
fn signals_to_a_waiting_thread_do_not_fail_its_calls() {
    use nix::sys::pthread::{pthread_kill, pthread_self};
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART, as Python installs its handlers; SIGUSR2 is not used by the test harness.
    let action = SigAction::new(SigHandler::Handler(ignore_signal), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler does nothing, so it is async-signal-safe, and no other code of this test
    // binary handles SIGUSR2.
    unsafe { sigaction(Signal::SIGUSR2, &action) }.expect("install a SIGUSR2 handler");
    let server = RedisServer::start();
    let store = open(&server, &fresh_namespace(), "agent");
    store.upsert(session("s1", "u1").as_bytes()).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            tx.send(pthread_self()).unwrap();
            let mut failures = Vec::new();
            for i in 0..3000 {
                let call = if i % 2 == 0 {
                    store.read("s1", None).map(drop)
                } else {
                    store.upsert(session("s1", "u1").as_bytes()).map(drop)
                };
                if let Err(e) = call {
                    failures.push(e.to_string());
                }
            }
            done.store(true, Ordering::Relaxed);
            assert!(failures.is_empty(), "{} of 3000 calls failed, first: {}", failures.len(), failures[0]);
        });
        let worker = rx.recv().unwrap();
        let mut sent = 0u64;
        while !done.load(Ordering::Relaxed) {
            if pthread_kill(worker, Signal::SIGUSR2).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_micros(20));
        }
        assert!(sent > 100, "only {sent} signals were sent");
    });
    store.check_invariants().unwrap();
}
