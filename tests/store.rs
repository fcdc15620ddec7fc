//! One test per documented behaviour of the store, through the Rust API.

use serde_json::{json, Value};
use sessionstore::{
    now, Config, ErrorKind, Filter, Query, SessionType, Store, DEFAULT_MAX_SESSION_BYTES,
    MAX_SESSION_BYTES_LIMIT,
};

fn open(mode: SessionType) -> Store {
    Store::open(Config { mode, ..Config::default() }).unwrap()
}

fn upsert(store: &Store, session: Value) -> Value {
    serde_json::from_str(&store.upsert(session.to_string().as_bytes()).unwrap()).unwrap()
}

fn kind_of_upsert(store: &Store, session: &str) -> ErrorKind {
    store.upsert(session.as_bytes()).unwrap_err().kind
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn ids(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap()
}

fn session_ids(text: &str) -> Vec<String> {
    parse(text).as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap().to_owned()).collect()
}

fn any() -> Filter<'static> {
    Filter::default()
}

#[test]
fn open_json_accepts_null_defaults_and_rejects_unknown_keys() {
    assert_eq!(Store::open_json(None).unwrap().mode(), SessionType::Agent);
    assert_eq!(Store::open_json(None).unwrap().max_session_bytes(), DEFAULT_MAX_SESSION_BYTES);
    let team = Store::open_json(Some(br#"{"mode":"team","max_session_bytes":10}"#)).unwrap();
    assert_eq!((team.mode(), team.max_session_bytes()), (SessionType::Team, 10));
    let err = Store::open_json(Some(br#"{"mode":"agent","max_byte":10}"#)).err().unwrap();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("max_byte"), "{}", err.message);
}

#[test]
fn upsert_sets_type_and_timestamps_and_keeps_unknown_fields_verbatim() {
    let store = open(SessionType::Agent);
    let before = now();
    let text = r#"{"session_id":"s1","memory":{"runs":[{"role":"user","content":"hi"}],"n":1.50},"extra":[1,"é"],"custom":null}"#;
    let stored = store.upsert(text.as_bytes()).unwrap();
    let after = now();
    assert!(stored.starts_with(r#"{"session_id":"s1","memory":{"runs":[{"role":"user","content":"hi"}],"n":1.50},"extra":[1,"é"],"custom":null,"session_type":"agent","created_at":"#), "{stored}");
    let v = parse(&stored);
    let updated = v["updated_at"].as_i64().unwrap();
    assert!((before..=after).contains(&updated));
    assert_eq!(v["created_at"], v["updated_at"]);
    assert_eq!(store.read("s1", None).unwrap(), stored);
}

#[test]
fn upsert_keeps_the_stored_created_at_when_the_input_has_none() {
    let store = open(SessionType::Agent);
    upsert(&store, json!({"session_id": "s", "created_at": 100, "updated_at": 100}));
    let v = upsert(&store, json!({"session_id": "s", "memory": {"runs": [1]}}));
    assert_eq!(v["created_at"], 100);
    assert!(v["updated_at"].as_i64().unwrap() >= now() - 5, "updated_at is set to now, not taken from input");
    let v = upsert(&store, json!({"session_id": "s", "created_at": null}));
    assert_eq!(v["created_at"], 100, "null counts as absent");
    let v = upsert(&store, json!({"session_id": "s", "created_at": 7}));
    assert_eq!(v["created_at"], 7, "an explicit created_at wins");
}

#[test]
fn session_type_in_the_input_must_match_the_handle_mode() {
    let store = open(SessionType::Team);
    assert_eq!(upsert(&store, json!({"session_id": "t", "session_type": "team"}))["session_type"], "team");
    let err = store.upsert(br#"{"session_id":"t2","session_type":"agent"}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidSession);
    assert_eq!(err.message, r#"session_type is "agent" but this store handle's mode is "team""#);
    assert!(store.read("t2", None).is_err());
}

#[test]
fn an_id_stored_with_another_type_is_a_conflict_and_changes_nothing() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    let stored = agent.upsert(br#"{"session_id":"x","user_id":"u"}"#).unwrap();
    let err = team.upsert(br#"{"session_id":"x","user_id":"v"}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains("agent"), "{}", err.message);
    assert_eq!(agent.read("x", None).unwrap(), stored);
    assert_eq!(team.read("x", None).unwrap_err().kind, ErrorKind::NotFound, "no team session x");
}

#[test]
fn invalid_sessions_are_rejected_with_specific_kinds() {
    let store = Store::open(Config { max_session_bytes: 64, ..Config::default() }).unwrap();
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"a","user_id":5}"#), ErrorKind::InvalidSession);
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":""}"#), ErrorKind::InvalidSession);
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"a""#), ErrorKind::InvalidJson);
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"a","a":1,"a":2}"#), ErrorKind::InvalidJson);
    let big = format!(r#"{{"session_id":"a","m":"{}"}}"#, "x".repeat(64));
    assert_eq!(kind_of_upsert(&store, &big), ErrorKind::TooLarge);
    let deep = format!(r#"{{"session_id":"a","m":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let store = open(SessionType::Agent);
    assert_eq!(kind_of_upsert(&store, &deep), ErrorKind::InvalidJson);
    assert_eq!(store.upsert(b"{\"session_id\":\"\xc3\x28\"}").unwrap_err().kind, ErrorKind::InvalidJson);
    assert_eq!(store.stats().unwrap().sessions(), 0, "nothing was stored");
}

#[test]
fn upsert_many_is_atomic_and_names_the_failing_index() {
    let store = open(SessionType::Agent);
    let out = store.upsert_many(br#"[{"session_id":"a"},{"session_id":"b","agent_id":"x"}]"#).unwrap();
    assert_eq!(session_ids(&out), ["a", "b"]);
    let err = store.upsert_many(br#"[{"session_id":"c"},{"session_id":"d","user_id":[]}]"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidSession);
    assert!(err.message.starts_with("sessions[1]:"), "{}", err.message);
    assert_eq!(store.read("c", None).unwrap_err().kind, ErrorKind::NotFound, "c was not stored");

    let team = store.share(Some(SessionType::Team));
    let err = team.upsert_many(br#"[{"session_id":"t"},{"session_id":"a"}]"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.starts_with("sessions[1]:"), "{}", err.message);
    assert_eq!(team.read("t", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.upsert_many(br#"{"session_id":"a"}"#).unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(store.upsert_many(b"[]").unwrap(), "[]");
}

#[test]
fn read_finds_only_this_handles_type_and_the_given_user() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    upsert(&agent, json!({"session_id": "a", "user_id": "u1"}));
    upsert(&team, json!({"session_id": "t", "user_id": "u1"}));
    assert!(agent.read("a", Some("u1")).is_ok());
    assert!(agent.read("a", None).is_ok());
    assert!(agent.read("a", Some("")).is_ok(), "empty user means no filter");
    assert_eq!(agent.read("a", Some("u2")).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(
        agent.read("t", None).unwrap_err().kind,
        ErrorKind::NotFound,
        "a team session is not an agent session"
    );
    assert_eq!(agent.read("zzz", None).unwrap_err().kind, ErrorKind::NotFound);
}

#[test]
fn shared_handles_see_each_other_and_outlive_the_first() {
    let first = open(SessionType::Workflow);
    let second = first.share(None);
    assert_eq!(second.mode(), SessionType::Workflow);
    upsert(&first, json!({"session_id": "w", "workflow_id": "wf"}));
    drop(first);
    assert!(second.read("w", None).is_ok());
    assert_eq!(ids(&second.get_all_session_ids(Filter::new(None, Some("wf"))).unwrap()), ["w"]);
}

#[test]
fn listings_filter_by_user_and_entity_in_every_mode() {
    for mode in SessionType::ALL {
        let store = open(mode);
        let entity = mode.entity_field();
        for (id, user, ent) in
            [("s1", "u1", "e1"), ("s2", "u2", "e1"), ("s3", "u1", "e2"), ("s4", "u1", "e1")]
        {
            upsert(&store, json!({"session_id": id, "user_id": user, entity: ent}));
        }
        upsert(&store, json!({"session_id": "s5"}));
        let list = |u, e| ids(&store.get_all_session_ids(Filter::new(u, e)).unwrap());
        assert_eq!(list(None, None), ["s1", "s2", "s3", "s4", "s5"], "{mode}");
        assert_eq!(list(Some("u1"), None), ["s1", "s3", "s4"], "{mode}");
        assert_eq!(list(None, Some("e1")), ["s1", "s2", "s4"], "{mode}");
        assert_eq!(list(Some("u1"), Some("e1")), ["s1", "s4"], "{mode}");
        assert_eq!(list(Some(""), Some("")), list(None, None), "{mode}: empty strings mean no filter");
        assert!(list(Some("nobody"), None).is_empty());
        assert_eq!(session_ids(&store.get_all_sessions(Filter::new(Some("u2"), None)).unwrap()), ["s2"]);
    }
}

#[test]
fn listings_keep_first_insertion_order_across_updates_and_other_types() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    for (id, created) in [("c", 30), ("a", 10), ("b", 20)] {
        upsert(&agent, json!({"session_id": id, "created_at": created}));
    }
    upsert(&team, json!({"session_id": "t"}));
    upsert(&agent, json!({"session_id": "c", "memory": "updated"}));
    assert_eq!(ids(&agent.get_all_session_ids(any()).unwrap()), ["c", "a", "b"]);
    assert_eq!(ids(&team.get_all_session_ids(any()).unwrap()), ["t"]);
    agent.delete_session("c", None).unwrap();
    upsert(&agent, json!({"session_id": "c"}));
    assert_eq!(
        ids(&agent.get_all_session_ids(any()).unwrap()),
        ["a", "b", "c"],
        "re-inserted after delete goes last"
    );
}

#[test]
fn filtered_listings_keep_first_insertion_order_when_created_at_goes_back() {
    // The indexes are in created_at order: a listing whose sessions were created out of insertion
    // order sorts them back, and still applies the part of the filter its index did not.
    let store = open(SessionType::Agent);
    let sessions = [
        ("c", 30, "u", "e"),
        ("x", 25, "u", "f"),
        ("a", 10, "u", "e"),
        ("b", 20, "u", "e"),
        ("y", 5, "v", "e"),
    ];
    for (id, created, user, agent) in sessions {
        upsert(&store, json!({"session_id": id, "created_at": created, "user_id": user, "agent_id": agent}));
    }
    let list = |u, e| ids(&store.get_all_session_ids(Filter::new(u, e)).unwrap());
    assert_eq!(list(Some("u"), Some("e")), ["c", "a", "b"]);
    assert_eq!(list(Some("u"), None), ["c", "x", "a", "b"]);
    assert_eq!(list(None, Some("e")), ["c", "a", "b", "y"]);
    assert_eq!(list(None, None), ["c", "x", "a", "b", "y"]);
    let sessions = store.get_all_sessions(Filter::new(Some("u"), Some("e"))).unwrap();
    assert_eq!(session_ids(&sessions), ["c", "a", "b"]);
}

#[test]
fn recent_sessions_are_newest_first_with_ties_to_the_latest_inserted() {
    let store = open(SessionType::Agent);
    for (id, created) in [("old", 1), ("tie1", 5), ("tie2", 5), ("new", 9), ("tie3", 5)] {
        upsert(&store, json!({"session_id": id, "user_id": "u", "created_at": created}));
    }
    upsert(&store, json!({"session_id": "other", "user_id": "v", "created_at": 100}));
    let recent =
        |limit| session_ids(&store.get_recent_sessions(Filter::new(Some("u"), None), limit).unwrap());
    assert_eq!(recent(2), ["new", "tie3"]);
    assert_eq!(recent(-1), ["new", "tie3", "tie2", "tie1", "old"]);
    assert_eq!(recent(i64::MIN), recent(-1));
    assert!(recent(0).is_empty());
    assert_eq!(session_ids(&store.get_recent_sessions(any(), 1).unwrap()), ["other"]);
    upsert(&store, json!({"session_id": "tie1", "user_id": "u"}));
    assert_eq!(recent(3), ["new", "tie3", "tie2"], "an update keeps the session's place among ties");
}

fn query(store: &Store, q: Value) -> (Vec<String>, u64) {
    let out = parse(&store.query_json(Some(q.to_string().as_bytes())).unwrap());
    let ids = out["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect();
    (ids, out["total"].as_u64().unwrap())
}

#[test]
fn query_filters_sorts_pages_and_counts() {
    let store = open(SessionType::Agent);
    let rows = [
        ("a", "u1", "x", 10, 100, Some("Trip to ROME")),
        ("b", "u1", "y", 20, 90, Some("rome again")),
        ("c", "u2", "x", 30, 80, Some("Paris")),
        ("d", "u1", "x", 40, 70, None),
    ];
    // Import keeps updated_at as given, which lets the test control it.
    let data: serde_json::Map<String, Value> = rows
        .iter()
        .map(|(id, u, e, c, up, name)| {
            let mut s =
                json!({"session_id": id, "user_id": u, "agent_id": e, "created_at": c, "updated_at": up});
            if let Some(n) = name {
                s["session_data"] = json!({"session_name": n});
            }
            (id.to_string(), s)
        })
        .collect();
    assert_eq!(store.import(Value::Object(data).to_string().as_bytes()).unwrap(), 4);

    assert_eq!(query(&store, json!({})), (vec!["d".into(), "c".into(), "b".into(), "a".into()], 4));
    assert_eq!(query(&store, json!({"user_id": "u1"})).1, 3);
    assert_eq!(query(&store, json!({"entity_id": "x", "user_id": "u1"})).0, ["d", "a"]);
    assert_eq!(query(&store, json!({"session_name": "rOmE", "sort_order": "asc"})).0, ["a", "b"]);
    assert_eq!(query(&store, json!({"created_after": 20, "created_before": 30})).0, ["c", "b"]);
    assert_eq!(
        query(&store, json!({"updated_after": 80, "updated_before": 90, "sort_by": "updated_at"})).0,
        ["b", "c"]
    );
    assert_eq!(
        query(&store, json!({"sort_by": "session_id", "sort_order": "asc", "limit": 2, "offset": 1})),
        (vec!["b".into(), "c".into()], 4)
    );
    assert_eq!(query(&store, json!({"sort_by": "updated_at", "sort_order": "asc", "limit": 1})).0, ["d"]);
    assert_eq!(query(&store, json!({"offset": 10})), (vec![], 4));
    assert_eq!(query(&store, json!({"limit": 0})), (vec![], 4));
    assert_eq!(query(&store, json!({"created_after": 50, "created_before": 10})), (vec![], 0));
    assert_eq!(store.query(&Query::default()).unwrap(), store.query_json(None).unwrap());
    let err = store.query_json(Some(br#"{"user":"u1"}"#)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("user"), "{}", err.message);
}

#[test]
fn rename_sets_the_name_and_touches_updated_at() {
    let store = open(SessionType::Agent);
    upsert(&store, json!({"session_id": "s", "created_at": 5, "updated_at": 5, "session_data": {"k": 1}}));
    let v = parse(&store.rename_session("s", "New name", None).unwrap());
    assert_eq!(v["session_data"], json!({"k": 1, "session_name": "New name"}));
    assert_eq!(v["created_at"], 5);
    assert!(v["updated_at"].as_i64().unwrap() >= now() - 5);
    assert_eq!(query(&store, json!({"session_name": "new"})).0, ["s"]);
    assert_eq!(store.rename_session("missing", "x", None).unwrap_err().kind, ErrorKind::NotFound);
    let team = store.share(Some(SessionType::Team));
    assert_eq!(team.rename_session("s", "x", None).unwrap_err().kind, ErrorKind::NotFound);
}

#[test]
fn rename_respects_max_session_bytes() {
    let store = Store::open(Config { max_session_bytes: 100, ..Config::default() }).unwrap();
    let stored = store.upsert(br#"{"session_id":"s"}"#).unwrap();
    let err = store.rename_session("s", &"n".repeat(200), None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert_eq!(store.read("s", None).unwrap(), stored, "a refused rename changes nothing");
}

#[test]
fn deletes_count_what_they_removed_and_spare_other_types() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    for id in ["a1", "a2", "a3"] {
        upsert(&agent, json!({"session_id": id, "user_id": "u"}));
    }
    upsert(&team, json!({"session_id": "t1"}));
    assert_eq!(agent.delete_session("a1", None).unwrap(), 1);
    assert_eq!(agent.delete_session("a1", None).unwrap(), 0, "an absent id is not an error");
    assert_eq!(
        agent.delete_session("t1", None).unwrap(),
        0,
        "a team session is not deleted through an agent handle"
    );
    assert_eq!(agent.delete_sessions(br#"["a2","t1","nope"]"#, None).unwrap(), 1);
    assert_eq!(agent.delete_sessions(br#"[1]"#, None).unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(agent.delete_sessions(br#"["#, None).unwrap_err().kind, ErrorKind::InvalidJson);
    assert_eq!(agent.drop_sessions().unwrap(), 1);
    assert_eq!(agent.stats().unwrap().by_type, [0, 1, 0, 0]);
    assert!(team.read("t1", None).is_ok());
    assert!(agent.get_recent_sessions(Filter::new(Some("u"), None), -1).unwrap() == "[]");
    agent.check_invariants().unwrap();
}

#[test]
fn stats_count_every_type_and_the_bytes_held() {
    let agent = open(SessionType::Agent);
    let wf2 = agent.share(Some(SessionType::WorkflowV2));
    let a = agent.upsert(br#"{"session_id":"a"}"#).unwrap();
    let w = wf2.upsert(br#"{"session_id":"w","runs":[]}"#).unwrap();
    let mut stats = parse(&wf2.stats().unwrap().to_json());
    let store = stats["feed"].as_object_mut().unwrap().remove("store").unwrap();
    assert!(store.as_str().is_some_and(|s| s.len() == 32), "{store}");
    assert_eq!(
        stats,
        json!({"mode": "workflow_v2", "sessions": 2, "bytes": a.len() + w.len(),
               "by_type": {"agent": 1, "team": 0, "workflow": 0, "workflow_v2": 1},
               "feed": {"latest": 2, "oldest": 1, "kept": 2, "bytes": a.len() + w.len() + 96,
                        "budget": sessionstore::DEFAULT_FEED_BYTES},
               "bounds": {"sessions": 2, "bytes": a.len() + w.len(), "max_sessions": null, "max_bytes": null,
                          "user_max_sessions": null, "user_max_bytes": null, "idle_expiry_s": null,
                          "max_age_s": null, "refresh_on_read": false, "when_full": "evict",
                          "expired": 0, "evicted": 0},
               "durability": null})
    );
}

#[test]
fn export_then_import_restores_every_type_with_its_timestamps() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    upsert(
        &agent,
        json!({"session_id": "a", "user_id": "u", "created_at": 1, "memory": {"runs": [{"content": "hi"}]}}),
    );
    upsert(&team, json!({"session_id": "t", "team_id": "tm"}));
    let export = agent.export().unwrap();
    let as_dict = parse(&export);
    assert_eq!(as_dict.as_object().unwrap().keys().collect::<Vec<_>>(), ["a", "t"]);
    assert_eq!(as_dict["t"]["session_type"], "team");

    let restored = open(SessionType::Agent);
    assert_eq!(restored.import(export.as_bytes()).unwrap(), 2);
    assert_eq!(restored.export().unwrap(), export, "a round trip is exact, timestamps included");
    assert_eq!(
        ids(&restored
            .share(Some(SessionType::Team))
            .get_all_session_ids(Filter::new(None, Some("tm")))
            .unwrap()),
        ["t"]
    );
}

#[test]
fn import_fills_the_type_from_the_handle_and_is_atomic() {
    let wf = open(SessionType::Workflow);
    let n =
        wf.import(br#"{"w1":{"session_id":"w1","workflow_id":"f","created_at":3,"updated_at":4}}"#).unwrap();
    assert_eq!(n, 1);
    let v = parse(&wf.read("w1", None).unwrap());
    assert_eq!(
        (v["session_type"].as_str(), v["created_at"].as_i64(), v["updated_at"].as_i64()),
        (Some("workflow"), Some(3), Some(4))
    );

    let before = wf.export().unwrap();
    let cases: [(&[u8], ErrorKind); 5] = [
        (br#"{"ok":{"session_id":"ok"},"bad":{"session_id":"other"}}"#, ErrorKind::InvalidSession),
        (
            br#"{"ok":{"session_id":"ok"},"w1":{"session_id":"w1","session_type":"team"}}"#,
            ErrorKind::Conflict,
        ),
        (
            br#"{"ok":{"session_id":"ok"},"x":{"session_id":"x","session_type":"robot"}}"#,
            ErrorKind::InvalidSession,
        ),
        (br#"[{"session_id":"ok"}]"#, ErrorKind::InvalidArgument),
        (br#"{"ok":{"session_id":"ok"},"ok":{"session_id":"ok"}}"#, ErrorKind::InvalidJson),
    ];
    for (data, kind) in cases {
        let err = wf.import(data).unwrap_err();
        assert_eq!(err.kind, kind, "{}", String::from_utf8_lossy(data));
        assert_eq!(wf.export().unwrap(), before, "a failed import changes nothing");
    }
    let err = wf.import(br#"{"ok":{"session_id":"ok"},"bad":{"session_id":"other"}}"#).unwrap_err();
    assert!(err.message.starts_with(r#"import["bad"]:"#), "{}", err.message);
}

#[test]
fn indexes_stay_consistent_through_moves_between_users_entities_and_times() {
    let store = open(SessionType::Agent);
    for i in 0..200 {
        let id = format!("s{}", i % 50);
        let s = json!({"session_id": id, "user_id": format!("u{}", i % 7), "agent_id": format!("a{}", i % 3), "created_at": i % 11});
        // Moving a session to another user takes an import (an upsert may not).
        store.import(json!({ id: s }).to_string().as_bytes()).unwrap();
        if i % 13 == 0 {
            store.delete_session(&format!("s{}", i % 17), None).unwrap();
        }
        store.check_invariants().unwrap();
    }
    let total: usize = (0..7)
        .map(|u| ids(&store.get_all_session_ids(Filter::new(Some(&format!("u{u}")), None)).unwrap()).len())
        .sum();
    assert_eq!(total, store.stats().unwrap().sessions());
}

#[test]
fn ids_that_need_escaping_are_listed_and_exported_as_valid_json() {
    let store = open(SessionType::Agent);
    let id = "quote\" back\\slash\ttab é";
    upsert(&store, json!({"session_id": id, "user_id": "u"}));
    upsert(&store, json!({"session_id": "plain", "user_id": "u"}));
    assert_eq!(ids(&store.get_all_session_ids(Filter::new(Some("u"), None)).unwrap()), [id, "plain"]);
    let export = parse(&store.export().unwrap());
    assert_eq!(export[id]["session_id"], id);
    assert_eq!(export["plain"]["session_id"], "plain");
}

#[test]
fn a_size_limit_above_the_hard_limit_is_lowered_to_it() {
    let store = Store::open(Config { max_session_bytes: usize::MAX, ..Config::default() }).unwrap();
    assert_eq!(store.max_session_bytes(), MAX_SESSION_BYTES_LIMIT);
    let store = Store::open_json(Some(br#"{"max_session_bytes":100}"#)).unwrap();
    assert_eq!(store.max_session_bytes(), 100);
}

#[test]
fn the_stored_json_is_the_input_with_type_and_timestamps_spliced_in() {
    let store = open(SessionType::Team);
    let sent = " {\"session_id\" : \"\\u0073\",\n \"created_at\": 5, \"memory\": {\"a\" : [1, 2]}} ";
    let stored = store.upsert(sent.as_bytes()).unwrap();
    let updated_at = parse(&stored)["updated_at"].as_i64().unwrap();
    assert_eq!(
        stored,
        format!(
            "{{\"session_id\" : \"\\u0073\",\n \"created_at\": 5, \"memory\": {{\"a\" : [1, 2]}},\"session_type\":\"team\",\"updated_at\":{updated_at},\"version\":1}}"
        )
    );
    assert_eq!(store.read("s", None).unwrap(), stored);
    assert_eq!(store.get_all_session_ids(any()).unwrap(), r#"["\u0073"]"#, "ids are listed as spelled");
    assert_eq!(ids(&store.get_all_session_ids(any()).unwrap()), ["s"]);
}

// Issue 13: ownership, Agno 2 queries, projections, Python-written dictionaries.

#[test]
fn a_session_belongs_to_its_user() {
    let store = open(SessionType::Agent);
    upsert(&store, json!({"session_id": "s", "user_id": "alice", "n": 1}));
    let before = store.export().unwrap();
    for other in [
        json!({"session_id": "s", "user_id": "bob"}),
        json!({"session_id": "s", "user_id": null}),
        json!({"session_id": "s"}),
    ] {
        assert_eq!(kind_of_upsert(&store, &other.to_string()), ErrorKind::PermissionDenied, "{other}");
    }
    // A batch is refused whole, naming the element; an earlier element's new owner counts.
    let err = store
        .upsert_many(br#"[{"session_id":"t","user_id":"x"},{"session_id":"t","user_id":"y"}]"#)
        .unwrap_err();
    assert_eq!((err.kind, err.message.starts_with("sessions[1]")), (ErrorKind::PermissionDenied, true));
    assert!(!err.message.contains("alice"), "the owner is not revealed: {}", err.message);
    assert_eq!(store.export().unwrap(), before);
    // The owner may write; an unowned session may be claimed; import replaces whatever the owner.
    upsert(&store, json!({"session_id": "s", "user_id": "alice", "n": 2}));
    upsert(&store, json!({"session_id": "free"}));
    upsert(&store, json!({"session_id": "free", "user_id": "bob"}));
    assert_eq!(store.import(br#"{"s":{"session_id":"s","user_id":"mallory"}}"#), Ok(1));
    assert_eq!(parse(&store.read("s", None).unwrap())["user_id"], "mallory");
}

#[test]
fn rename_and_delete_can_be_scoped_to_a_user() {
    let store = open(SessionType::Agent);
    upsert(&store, json!({"session_id": "a", "user_id": "alice"}));
    upsert(&store, json!({"session_id": "b", "user_id": "bob"}));
    assert_eq!(store.rename_session("a", "x", Some("bob")).unwrap_err().kind, ErrorKind::NotFound);
    assert!(store.rename_session("a", "mine", Some("alice")).is_ok());
    assert!(store.rename_session("b", "any user", Some("")).is_ok(), "an empty user is no filter");
    assert_eq!(store.delete_session("a", Some("bob")).unwrap(), 0);
    assert_eq!(store.delete_sessions(br#"["a","b"]"#, Some("bob")), Ok(1));
    assert_eq!(store.delete_session("a", Some("alice")).unwrap(), 1);
}

#[test]
fn a_query_may_select_any_type_or_several() {
    let agent = open(SessionType::Agent);
    let team = agent.share(Some(SessionType::Team));
    let workflow = agent.share(Some(SessionType::WorkflowV2));
    upsert(&agent, json!({"session_id": "a", "created_at": 1}));
    upsert(&team, json!({"session_id": "t", "created_at": 3}));
    upsert(&workflow, json!({"session_id": "w", "created_at": 2}));
    assert_eq!(query(&agent, json!({"session_type": "any"})), (vec!["t".into(), "w".into(), "a".into()], 3));
    assert_eq!(
        query(&agent, json!({"session_type": ["team", "agent"], "sort_order": "asc"})),
        (vec!["a".into(), "t".into()], 2)
    );
    assert_eq!(query(&team, json!({"session_type": "workflow_v2"})), (vec!["w".into()], 1));
    assert_eq!(query(&team, json!({})), (vec!["t".into()], 1));
    for bad in [
        json!({"session_type": []}),
        json!({"session_type": "robot"}),
        json!({"session_type": 1}),
        json!({"session_type": ["any", 1]}),
    ] {
        assert_eq!(
            agent.query_json(Some(bad.to_string().as_bytes())).unwrap_err().kind,
            ErrorKind::InvalidArgument,
            "{bad}"
        );
    }
}

#[test]
fn name_search_folds_case_as_python_casefold() {
    let store = open(SessionType::Agent);
    for (id, name) in [("greek", "ΟΔΟΣ"), ("lower", "οδος"), ("street", "Straße")] {
        upsert(&store, json!({"session_id": id, "session_data": {"session_name": name}}));
    }
    let found = |needle: &str| {
        let mut ids = query(&store, json!({"session_name": needle})).0;
        ids.sort();
        ids
    };
    assert_eq!(found("οδος"), ["greek", "lower"]);
    assert_eq!(found("ΟΔΟΣ"), ["greek", "lower"]);
    assert_eq!(found("STRASSE"), ["street"]);
    assert_eq!(found("ss"), ["street"]);
}

#[test]
fn a_metadata_projection_leaves_the_transcript_out() {
    let store = open(SessionType::Team);
    upsert(
        &store,
        json!({"session_id": "t", "user_id": "u\"1", "team_id": "e", "created_at": 5,
               "memory": {"runs": ["long"]}, "session_data": {"session_name": "N", "k": 1}}),
    );
    upsert(&store, json!({"session_id": "bare"}));
    let page = parse(&store.query_json(Some(br#"{"fields":"metadata","sort_order":"asc"}"#)).unwrap());
    let t = &page["sessions"][0];
    let updated = t["updated_at"].as_i64().unwrap();
    assert_eq!(
        t,
        &json!({"session_id": "t", "session_type": "team", "user_id": "u\"1", "team_id": "e",
                "created_at": 5, "updated_at": updated, "session_data": {"session_name": "N"}})
    );
    assert_eq!(page["sessions"][1]["user_id"], Value::Null);
    assert!(page["sessions"][1].get("session_data").is_none());
    let listed = parse(&store.query_json(Some(br#"{"fields":["memory","session_id","nope"]}"#)).unwrap());
    assert_eq!(listed["sessions"][1], json!({"session_id": "t", "memory": {"runs": ["long"]}}));
    let too_many = json!({"fields": (0..65).map(|i| format!("f{i}")).collect::<Vec<_>>()});
    assert_eq!(
        store.query_json(Some(too_many.to_string().as_bytes())).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
}

#[test]
fn python_non_finite_numbers_load_as_null_when_the_store_is_told_to() {
    let dict = br#"{"s":{"session_id":"s","memory":{"metrics":{"t":NaN,"u":[Infinity,-Infinity]}},"note":"NaN stays"}}"#;
    let strict = open(SessionType::Agent);
    let err = strict.import(dict).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidJson);
    assert!(
        err.message.contains("NaN (at byte") && err.message.contains("non_finite_numbers"),
        "{}",
        err.message
    );
    let lenient = Store::open_json(Some(br#"{"non_finite_numbers":"null"}"#)).unwrap();
    assert_eq!(lenient.import(dict), Ok(1));
    let s = parse(&lenient.read("s", None).unwrap());
    assert_eq!(s["memory"], json!({"metrics": {"t": null, "u": [null, null]}}));
    assert_eq!(s["note"], "NaN stays");
    assert!(lenient.upsert(br#"{"session_id":"n","x":NaN}"#).is_ok());
    assert!(lenient.upsert_many(br#"[{"session_id":"m","x":-Infinity}]"#).is_ok());
    assert!(Store::open_json(Some(br#"{"non_finite_numbers":"zero"}"#)).is_err());
}

// Issue 16: versions, compare-and-set, atomic append, the change feed.

fn version(stored: &str) -> u64 {
    parse(stored)["version"].as_u64().unwrap()
}

#[test]
fn every_change_is_numbered_and_a_session_carries_the_number_of_its_last_write() {
    let store = open(SessionType::Agent);
    let team = store.share(Some(SessionType::Team));
    assert_eq!(version(&store.upsert(br#"{"session_id":"a"}"#).unwrap()), 1);
    assert_eq!(version(&team.upsert(br#"{"session_id":"t","version":null}"#).unwrap()), 2);
    // A version sent back is replaced, where it stands.
    let again = store.upsert(br#"{"version":1,"session_id":"a"}"#).unwrap();
    assert!(again.starts_with(r#"{"version":3,"session_id":"a""#), "{again}");
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"a","version":"3"}"#), ErrorKind::InvalidSession);
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"a","version":-3}"#), ErrorKind::InvalidSession);
    let batch = parse(&store.upsert_many(br#"[{"session_id":"b"},{"session_id":"a"}]"#).unwrap());
    assert_eq!((batch[0]["version"].as_u64(), batch[1]["version"].as_u64()), (Some(4), Some(5)));
    assert_eq!(store.delete_session("b", None).unwrap(), 1); // change 6
    assert_eq!(version(&store.rename_session("a", "n", None).unwrap()), 7);
    assert_eq!(store.stats().unwrap().feed.latest, 7);
    // A refused write uses no number.
    assert_eq!(kind_of_upsert(&store, r#"{"session_id":"t"}"#), ErrorKind::Conflict);
    assert_eq!(version(&store.upsert(br#"{"session_id":"c"}"#).unwrap()), 8);
}

#[test]
fn conditional_writes_apply_only_at_the_expected_version() {
    let store = open(SessionType::Agent);
    let mismatch = |r: Result<String, sessionstore::Error>| r.unwrap_err().kind;
    // 0: create only.
    let v1 = version(&store.upsert_if(br#"{"session_id":"s","n":1}"#, Some(0)).unwrap());
    assert_eq!(
        mismatch(store.upsert_if(br#"{"session_id":"s","n":2}"#, Some(0))),
        ErrorKind::VersionMismatch
    );
    let before = store.export().unwrap();
    let err = store.upsert_if(br#"{"session_id":"s","n":2}"#, Some(v1 + 7)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::VersionMismatch);
    assert!(err.message.contains(&format!("at version {v1}")), "{}", err.message);
    assert_eq!(store.export().unwrap(), before, "a mismatch changes nothing");
    let v2 = version(&store.upsert_if(br#"{"session_id":"s","n":2}"#, Some(v1)).unwrap());
    assert!(v2 > v1);
    // Rename and delete too; an absent session is at version 0.
    assert_eq!(
        mismatch(store.rename_session_if_with("s", "x", None, Some(v1), str::to_owned)),
        ErrorKind::VersionMismatch
    );
    let v3 = version(&store.rename_session_if_with("s", "x", None, Some(v2), str::to_owned).unwrap());
    assert_eq!(
        store.rename_session_if_with("nope", "x", None, Some(0), str::to_owned).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(store.delete_session_if("s", None, Some(v2)).unwrap_err().kind, ErrorKind::VersionMismatch);
    assert_eq!(store.delete_session_if("nope", None, Some(0)).unwrap(), 0);
    assert_eq!(store.delete_session_if("nope", None, Some(1)).unwrap_err().kind, ErrorKind::VersionMismatch);
    assert_eq!(store.delete_session_if("s", None, Some(v3)).unwrap(), 1);
    // Type and owner come first.
    store.upsert(br#"{"session_id":"o","user_id":"alice"}"#).unwrap();
    assert_eq!(
        mismatch(store.upsert_if(br#"{"session_id":"o","user_id":"bob"}"#, Some(1))),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn runs_are_appended_where_agno_keeps_them() {
    let store = open(SessionType::Agent);
    store.upsert(br#"{"session_id":"a","memory":{"runs":[{"n":1}],"summary":null}}"#).unwrap();
    let stored = store.append_runs("a", None, br#" [ {"n":2} , {"n":3} ] "#).unwrap();
    assert!(stored.contains(r#""memory":{"runs":[{"n":1},{"n":2} , {"n":3}],"summary":null}"#), "{stored}");
    // Created when missing or null, at either level.
    for (id, session) in [
        ("b", r#"{"session_id":"b"}"#),
        ("c", r#"{"session_id":"c","memory":null}"#),
        ("d", r#"{"session_id":"d","memory":{"x":1}}"#),
        ("e", r#"{"session_id":"e","memory":{"runs":null}}"#),
        ("f", r#"{"session_id":"f","memory":{"runs":[ ]}}"#),
    ] {
        store.upsert(session.as_bytes()).unwrap();
        let runs = &parse(&store.append_runs(id, None, br#"[{"r":true}]"#).unwrap())["memory"]["runs"];
        assert_eq!(runs, &json!([{"r": true}]), "{session}");
    }
    let wf2 = store.share(Some(SessionType::WorkflowV2));
    wf2.upsert(br#"{"session_id":"w","runs":[1]}"#).unwrap();
    assert_eq!(parse(&wf2.append_runs("w", None, b"[2,3]").unwrap())["runs"], json!([1, 2, 3]));
    // Errors leave the session alone.
    let before = store.export().unwrap();
    assert_eq!(store.append_runs("zz", None, b"[1]").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.append_runs("a", Some("u"), b"[1]").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(store.append_runs("a", None, b"[]").unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(store.append_runs("a", None, b"{}").unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(store.append_runs("a", None, b"[1").unwrap_err().kind, ErrorKind::InvalidJson);
    store.upsert(br#"{"session_id":"g","memory":{"runs":7}}"#).unwrap();
    let before_g = store.export().unwrap();
    assert_eq!(store.append_runs("g", None, b"[1]").unwrap_err().kind, ErrorKind::InvalidSession);
    assert_eq!(store.export().unwrap(), before_g);
    let small = Store::open_json(Some(br#"{"max_session_bytes":60}"#)).unwrap();
    small.upsert(br#"{"session_id":"s"}"#).unwrap();
    assert_eq!(
        small.append_runs("s", None, format!("[\"{}\"]", "x".repeat(60)).as_bytes()).unwrap_err().kind,
        ErrorKind::TooLarge
    );
    assert!(before.len() < store.export().unwrap().len());
}

#[test]
fn concurrent_appends_all_land() {
    let store = open(SessionType::Agent);
    store.upsert(br#"{"session_id":"s","memory":{"runs":[]}}"#).unwrap();
    let (threads, each) = (8, 200);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..each {
                    store.append_runs("s", None, format!(r#"[{{"t":{t},"i":{i}}}]"#).as_bytes()).unwrap();
                }
            });
        }
    });
    let runs = parse(&store.read("s", None).unwrap())["memory"]["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), threads * each);
    for t in 0..threads {
        let mine: Vec<i64> = runs.iter().filter(|r| r["t"] == t).map(|r| r["i"].as_i64().unwrap()).collect();
        assert_eq!(mine, (0..each as i64).collect::<Vec<_>>(), "each thread's runs land in its order");
    }
}

#[test]
fn the_feed_gives_every_change_in_order_until_it_is_dropped() {
    let store = Store::open_json(Some(br#"{"feed_bytes":1000}"#)).unwrap();
    let changes = |after: u64| parse(&store.changes(after, 100, false).unwrap());
    let id = store.stats().unwrap().feed.store;
    assert_eq!(changes(0), json!({"changes": [], "next": 0, "latest": 0, "store": id}));
    assert_ne!(
        Store::open_json(None).unwrap().stats().unwrap().feed.store,
        id,
        "a store made anew is another store"
    );
    let a = store.upsert(br#"{"session_id":"a"}"#).unwrap();
    store.share(Some(SessionType::Team)).upsert(br#"{"session_id":"t"}"#).unwrap();
    store.delete_session("a", None).unwrap();
    store.share(Some(SessionType::Team)).drop_sessions().unwrap();
    let all = changes(0);
    assert_eq!((all["next"].as_u64(), all["latest"].as_u64()), (Some(4), Some(4)));
    let ops: Vec<(u64, &str, &str)> = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["seq"].as_u64().unwrap(), c["op"].as_str().unwrap(), c["session_type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [(1, "upsert", "agent"), (2, "upsert", "team"), (3, "delete", "agent"), (4, "drop", "team")]
    );
    assert_eq!(all["changes"][0]["session"], parse(&a));
    assert_eq!(all["changes"][2]["session_id"], "a");
    let ids_only = parse(&store.changes(0, 1, true).unwrap());
    assert_eq!(
        ids_only,
        json!({"changes": [{"seq": 1, "op": "upsert", "session_type": "agent", "session_id": "a", "version": 1}], "next": 1, "latest": 4, "store": id})
    );
    assert_eq!(changes(4)["changes"], json!([]));
    // Past the budget, the oldest changes go; asking for them says to resynchronise.
    for i in 0..20 {
        store.upsert(format!(r#"{{"session_id":"s{i}","pad":"{}"}}"#, "x".repeat(50)).as_bytes()).unwrap();
    }
    assert_eq!(store.changes(0, 10, false).unwrap_err().kind, ErrorKind::FeedTruncated);
    assert_eq!(store.changes(1000, 10, false).unwrap_err().kind, ErrorKind::FeedTruncated);
    let stats = store.stats().unwrap().feed;
    assert!(stats.bytes <= 1000 && stats.kept > 0, "{stats:?}");
    assert_eq!(stats.latest, 24);
    assert_eq!(changes(stats.oldest - 1)["changes"].as_array().unwrap().len(), stats.kept);
    assert_eq!(store.changes(0, 0, false).unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(
        store.changes_json(0, 1, Some(br#"{"ids":true}"#)).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
}

#[test]
fn an_export_and_the_feed_after_it_rebuild_the_store() {
    let store = open(SessionType::Agent);
    for i in 0..5 {
        store.upsert(format!(r#"{{"session_id":"s{i}"}}"#).as_bytes()).unwrap();
    }
    let (export, seq) = store.export_with_seq().unwrap();
    assert_eq!(seq, 5);
    store.upsert(br#"{"session_id":"s1","n":1}"#).unwrap();
    store.delete_session("s2", None).unwrap();
    store.append_runs("s3", None, b"[1]").unwrap();
    let mut mirror: serde_json::Map<String, Value> = serde_json::from_str(&export).unwrap();
    for change in parse(&store.changes(seq, 100, false).unwrap())["changes"].as_array().unwrap() {
        let id = change["session_id"].as_str().unwrap().to_owned();
        match change["op"].as_str().unwrap() {
            "upsert" => drop(mirror.insert(id, change["session"].clone())),
            _ => drop(mirror.remove(&id)),
        }
    }
    assert_eq!(Value::Object(mirror), parse(&store.export().unwrap()));
}

#[test]
fn name_search_stays_exact_while_removed_names_are_swept_and_their_slots_reused() {
    // Enough removals of named sessions for several sweeps of the name index, with inserts and
    // renames between them that reuse the freed slots.
    let store = open(SessionType::Agent);
    let mut names: std::collections::BTreeMap<String, String> = Default::default();
    let put =
        |store: &Store, names: &mut std::collections::BTreeMap<String, String>, id: String, name: String| {
            upsert(store, json!({"session_id": id, "session_data": {"session_name": name}}));
            names.insert(id, name);
        };
    let mut next = 0u64;
    let mut random = move || {
        next = next.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (next >> 33) as usize
    };
    for i in 0..6000 {
        put(&store, &mut names, format!("s{i}"), format!("Topic {} #{i}", i % 7));
    }
    let needles = ["topic 3", "#12", "opic 5 #4", "topic 6 #59", "renamed", "fresh 2"];
    let check = |store: &Store, names: &std::collections::BTreeMap<String, String>| {
        store.check_invariants().unwrap();
        for needle in needles {
            let mut found = query(store, json!({"session_name": needle})).0;
            found.sort();
            let expected: Vec<&String> = names
                .iter()
                .filter(|(_, name)| name.to_lowercase().contains(needle))
                .map(|(id, _)| id)
                .collect();
            assert_eq!(found.iter().collect::<Vec<_>>(), expected, "{needle}");
        }
    };
    for round in 0..10 {
        for _ in 0..500 {
            let ids: Vec<&String> = names.keys().collect();
            let id = ids[random() % ids.len()].clone();
            match random() % 10 {
                0..=6 => {
                    store.delete_session(&id, None).unwrap();
                    names.remove(&id);
                }
                7 => {
                    let name = format!("Renamed {round} {id}");
                    store.rename_session(&id, &name, None).unwrap();
                    names.insert(id, name);
                }
                _ => {
                    let i = random();
                    put(&store, &mut names, format!("n{i}"), format!("Fresh {} #{i}", i % 5));
                }
            }
        }
        check(&store, &names);
    }
}
