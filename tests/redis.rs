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

/// Inputs of `redis_store_with_expiry_matches_the_reference_model` that once failed, run before the random
/// ones. The first: a session read, then given a second chance by a reclaim, expires by the time of its
/// read while it waits behind a live session in the recency list; the Redis backend frees it by its
/// deadline, which the model did not know.
const EXPIRY_REGRESSIONS: &[&str] = &[concat!(
    "867f58d6ba98bd329cbab1c9f4fbca04cbc26e13fff89a7383d18aad2c8c56bdca3ab3e340e8b34869d22a8328f53ca7",
    "904115b6454362d37a1a8fd09f918a54408a0dc1d567b9b2f9e12f11478acbb5d06b2bc98f5de0b9c9dd734dae71d34e",
    "986a16baa9477d2b344f629a05fd9c0d0316e6f79cc094dcdff7decfcfd30a74e5ec9c6b2b908d006a3a883005018cf2",
    "9a8dcfb042bb6450e4b689aff815f1e6a60e40022d404f543df6543f576eb2543e941978f839c39dd12b82af62e1ea16",
    "94a0f648713892c4466701d1984e10c6d67fe5395a0fb47d833ea8a834371b718ea295272fe0969ea9e747ed49359605",
    "e07f5a1a768bc70e3aaf0afb4530570829c9f697f1f4b8787d42871aa970acbd094f5fbe21e3c7ac305ecf8720f2f678",
    "0df07b5761d34f6b7420718a86e29dcd48489dfd48fdcee06198b8d31a6f2efbebe39e87ee0c6e6fbde55e85575fdd3b",
    "ba94260ec272326c8ca11ff72b45f5b018a2fcf1153d0dae117e23997ea4aa97f9142a2d57558d57e40b49dda8ab05b8",
    "6d99275203d3bf5656e5ad7f81f0c8b6cc5405b58e00fbcccad473b79118335be840a111358fd10220f7ec162b9880b9",
    "e37b008410ab22fff56362b6453e019f0768c950d88d3018c362decb8854d04f835124ed5aff7baeaed1ace109e935d4",
    "ad89c8c8d4289c9e2536b09cd2b85837c6593cf9bad69b420dbfa5531313c3c3a33e7b2b81f0f05f8edf279ab2ab02c8",
    "261f8777c42d3fd0f81fa666eb5fd533d95930b700f0a51e92462df4bc9337455d8d6949b00f6079872cda0f3041850d",
    "d0754386c42271c4d04c890e4e4bd764ab208a8042e746031ec537d22d0db51c338e2b9babbba0fdbf8417449555bd82",
    "b6dae6d10be96c965894594001274b9879e33b7a43605fef8b3fb93b92a13e6463814bcb2b492d0700a6b3b4dfce8443",
    "e5a10aba432cf498559fcedfdc4a167546c878d50375ea5e59f0ae4bf2a4774f4c5a6144b97bec3d06a386e15e9715bb",
    "019813419c455290dc12094e06b54fbd568ddd669820d52723db8610bb258fa2311f7ad259d26371dade80a59eaf99ad",
    "2d759b96d132e08e8a202fb2f531874c3b3899fe6080e6dd0b65bf38349a05f527d13afaec9fb3c19315a5880869cfc6",
    "879b8a068017c2ef244eebfe8cb6f7abd01eaecc5ccf4402cb6a1b73c97f5836d96127cf7ba4c886c2a1ee0922085740",
    "d7569c8ecbfe1cb34f2714c297eec440e27b12d33b96888775204178d8cef3eb45961753249c9a5cf17de1cb088fc27f",
    "cee762be0240afc30d91407f1a4c4ee4708b467a1c21c051d93c76f3901d332f3ae25793afc5b9e9c47cdc11e2c6b35a",
    "7fb9f71f5c7a7ad24a41fc3a2e6a9e2d4f95f37653a86576daddfc97710c5231ac05f6f607255aa7ea0ee52b2e9c705e",
    "40307c8ac06c89732521c60eb628fc5a5faafad929d5e360dad0c7239abe012e3452b5db40740c40a47a706d001fdd48",
    "4409b9676f8a136b4c3afdcd315071cff3ea07c213494bd1a18a5517b85b70286dde6a88ccf8b23707d2ec08ece5bc5d",
    "09d94dd053335ae56ee3ab9e44196977f8619e99738a8a2c40674c2de7fa165f6b7906d39e96045e855987df5a6474d6",
    "1d3d51eec703d8c7c1b4c1e667cb0b1a17606f5f4bcd48fe50d9d4f5719344339db545415b19d23ddfb159b25d87b8d1",
    "cf54d99e7866cf347fe562d630352f1eedc519f66b6f58c50c83db9c871759ca4399ee39bd4e46310b010b1ce7e2903f",
    "27a0c7e58beb406804c3b4e9a04dd498cec096cced958cfd1206f076a6176bf06fdf9a6f2918f7e5041f3d40cf4e373d",
    "310eaef25366030b950340d7b80cce70879567a3a0239adb73e275f33305fdfabda546b979083fe280e8a0aa703a85ac",
    "9493f2daf6dfec53250d0d54a2e69331ea3e5587bf6ac44167574b10a98cd30bc49201992334b41456b6f54829df7311",
    "121060fe3310471f7a3f1c954267bb1cb276e5354e2f44aaf60a8cf09e94af30acbdd19d20a5dc80ac3eb83c67dcf91f",
    "08057cb809a2ccbfdc677b9f7ea9eef459518616e132486bdb1b64848eccffd80deecf730f89cef3627f7afbbeed4e96",
    "e04ce5c9c201a96f964f0e00b25d1d50e5dabd1f6cae0c2f7a0ba01a04bad9eeefe0a68690408ff598b079f3793b1f58",
    "25cdd0e39b51d7723b828bcd7b0ac9df9a89cfb933a530d5c2b97312627a5ef9da1a3cbad47d90c0b977eae4cbadf758",
    "f6be1f689564af92299969a3dfb41da0b2b9ca82379959fb2a58106ddde96f60b1a9a063ee224ae245468840d7b54ef7",
    "e98c1aa5de6ee49368e891d3f355e54fbd0cc9b281457a0aca75fef335293f59557dc7f0abb1d10bb9f1fe9fde39f976",
    "8a81246e377f7fbd43e8c3ca3c739236fb9adf5a2039a654c75bad4774958568f6ad47be8567fc911e2a68f1c803c9fe",
    "beb248b8dad21b02dbf3c55b33acfaab2dc6ff19b1d5a71834a58f029919c46c463e35fd264be59157791f006f0e4fd1",
    "abe3ce4e632aa024b93f7af524de498b7b1ac679a4c57684d0588ea1bd32a52a4719662f2f788e26d23fdbc90d6dc60b",
    "2868b467c1a81418f698a30d18d9a8dfc996b24ac4f81a186506717c13ec74de3dce8217c060bdc0297ff1f9a549a4d7",
    "59b1781f15f72983c01705123870e7e40d9e864ba43d1cf36a81395e1d56b664e4a4def4f2514bfe313a34ab0d5dd2ef",
    "9a1cd1bcc3ccd605bc01e8b6c9ee2dfbb32ec5248e33e18c8d26a7e60f014967bd62bafb0d57eb3ba23a59a4ecb188c8",
    "8d4da66b8b0114155712f3e2bad9777247e8fc56296ad802c34273e9d80d9015ac8bb2594ba9b989d4d148f7aa36c98d",
    "6a5afac7c7d545cbc1932b5304e0c94004608391666b9f84443cfe27d9dddc672db34175f1cac47d514980c527b0ea4b",
    "b0ded08a173c25995e0b9852bb95fb1f0c8107b361cff03ac963837922c81396ac9a793ae5b67974563cb033db5cd299",
    "87a3c856198a0abd7d0ef1fda554df6fa6900156b36f4e252b4e9b01dc7df6b9be5519179c9d6e9286ecd14d0ddfb22a",
    "97537d4da2daec611d041d89acacbd23d6e252e05c2059e423931f7081a1cf8f1e9e93f3a69255342831b65c034f95ba",
    "55b1ae3b19fde5a4a27dac6dfc56b9b1b18c4c865ce92ff506fd01376240f0",
)];

#[test]
fn redis_store_with_expiry_matches_the_reference_model() {
    let server = RedisServer::start();
    let url = server.url();
    for hex in EXPIRY_REGRESSIONS {
        let data: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let (setup, ops) = decode_expiring(&data);
        if let Err(e) = run_redis(&setup, &ops, &url, &fresh_namespace()) {
            panic!("regression input {}...: {e}", &hex[..16]);
        }
    }
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
