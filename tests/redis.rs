//! The redis backend: the same semantics as a local store, proved against the same reference model,
//! and what a server's failures mean to callers. Each test starts its own redis-server on a free
//! loopback port (tests/common/redis.rs) and stops it.

mod common;

use common::model::{decode, run_redis};
use common::redis::RedisServer;
use proptest::prelude::*;
use sessionstore::{ErrorKind, Filter, Store};
use std::sync::atomic::{AtomicU64, Ordering};

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
        (format!(r#"{{"backend":"redis","url":"{url}","idle_expiry_s":10}}"#), "idle_expiry_s"),
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
