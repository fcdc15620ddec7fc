//! Bodies of the per-entry-point fuzz targets: arbitrary bytes into one JSON entry point of the C ABI.
//! Each checks, besides the conventions `super::ffi` checks on every call (defined status, never
//! INTERNAL, out_error exactly on failure, out-parameters exactly on success, strings freed):
//!  - the status is one the header documents for that function;
//!  - a failure changes nothing (the export is byte-identical before and after);
//!  - a success is coherent (stored text readable back, counts add up, indexes consistent).
//!
//! The cargo-fuzz targets under fuzz/ call these; tests/hostile.rs runs them on stable as proptests.

use super::ffi::{Handle, Kind};
use serde_json::value::RawValue;

const MODES: [&str; 4] = ["agent", "team", "workflow", "workflow_v2"];

/// Sessions every body starts from: one per type, with users, entities, names and times, so that
/// conflicts, filters and deletions have something to act on.
pub const PRELOAD: &str = r#"{
 "s0":{"session_id":"s0","session_type":"agent","user_id":"u0","agent_id":"e0","created_at":100,"updated_at":150,"session_data":{"session_name":"Trip"}},
 "s1":{"session_id":"s1","session_type":"team","user_id":"u1","team_id":"e0","created_at":200,"updated_at":250},
 "s2":{"session_id":"s2","session_type":"workflow","workflow_id":"e1","created_at":300,"updated_at":350,"session_data":null},
 "s3":{"session_id":"s3","session_type":"workflow_v2","user_id":"u0","workflow_id":"e1","created_at":300,"updated_at":301},
 "é":{"session_id":"é","session_type":"agent","user_id":"u1","created_at":50,"updated_at":60,"memory":{"runs":[1,2]}}
}"#;

/// A store of the mode picked by `selector`, preloaded; small max_session_bytes when bit 2 is set.
fn store(selector: u8, preload: bool) -> Handle {
    let mode = MODES[(selector & 3) as usize];
    let config = if selector & 4 != 0 {
        format!("{{\"mode\":\"{mode}\",\"max_session_bytes\":200}}")
    } else {
        format!("{{\"mode\":\"{mode}\"}}")
    };
    let h = Handle::open(Some(config.as_bytes())).expect("a valid config opens");
    if preload {
        assert_eq!(h.import(PRELOAD.as_bytes()), Ok(5));
    }
    h
}

fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (b, rest),
        None => (0, data),
    }
}

fn assert_kind(kind: Kind, allowed: &[Kind], what: &str) {
    assert!(allowed.contains(&kind), "{what}: status {kind:?} is not one the header documents ({allowed:?})");
}

fn sessions_count(h: &Handle) -> usize {
    h.store().stats().unwrap().sessions()
}

#[derive(serde::Deserialize)]
struct Id {
    session_id: String,
    session_type: String,
    created_at: i64,
    updated_at: i64,
}

/// A stored session: valid JSON, an object with a string session_id, the right session_type and
/// integer timestamps.
fn stored_id(text: &str, mode: &str) -> String {
    serde_json::from_str::<&RawValue>(text)
        .unwrap_or_else(|e| panic!("stored text is not JSON ({e}): {text}"));
    let id: Id =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("stored session lacks fields ({e}): {text}"));
    assert_eq!(id.session_type, mode);
    let _ = (id.created_at, id.updated_at);
    id.session_id
}

/// ss_upsert. The first byte picks the store's mode and size.
pub fn session(data: &[u8]) {
    let (sel, payload) = split(data);
    let h = store(sel, sel & 8 != 0);
    let mode = MODES[(sel & 3) as usize];
    let before = h.store().export().unwrap();
    match h.upsert(payload) {
        Ok(stored) => {
            let id = stored_id(&stored, mode);
            if !id.contains('\0') {
                assert_eq!(h.read(&id, None).as_deref(), Ok(stored.as_str()), "read after upsert");
            }
            // Ids are listed as they were spelled in the session, escapes included: compare values.
            let listed: Vec<String> =
                serde_json::from_str(&h.store().get_all_session_ids(Default::default()).unwrap()).unwrap();
            assert!(listed.contains(&id), "{id:?} not listed");
            // Another type may not take the id over.
            let other = h.share(Some(MODES[((sel & 3) as usize + 1) % 4])).unwrap();
            let err = other.upsert(payload).expect_err("another type took over an id");
            assert_kind(err.kind, &[Kind::Conflict, Kind::InvalidSession], "upsert through another type");
            // What was stored is itself a valid input within the limit (the limit does not count what
            // the store adds).
            match h.upsert(stored.as_bytes()) {
                Ok(again) => assert_eq!(stored_id(&again, mode), id),
                Err(f) => panic!("re-upserting stored text failed: {f:?}"),
            }
        }
        Err(f) => {
            assert_kind(
                f.kind,
                &[
                    Kind::InvalidJson,
                    Kind::InvalidSession,
                    Kind::Conflict,
                    Kind::TooLarge,
                    Kind::PermissionDenied,
                ],
                "ss_upsert",
            );
            assert_eq!(h.store().export().unwrap(), before, "a failed upsert changed the store");
        }
    }
    h.store().check_invariants().unwrap();
}

/// ss_upsert_many (first byte even) or ss_delete_sessions (odd).
pub fn array(data: &[u8]) {
    let (sel, payload) = split(data);
    let h = store(sel >> 1, true);
    let mode = MODES[((sel >> 1) & 3) as usize];
    let before = h.store().export().unwrap();
    let n_before = sessions_count(&h);
    if sel & 1 == 0 {
        match h.upsert_many(payload) {
            Ok(stored) => {
                let input: Vec<&RawValue> =
                    serde_json::from_slice(payload).expect("accepted input is an array");
                let output: Vec<&RawValue> = serde_json::from_str(&stored).expect("output is an array");
                assert_eq!(input.len(), output.len(), "one stored session per element");
                let mut last = std::collections::HashMap::new();
                for s in &output {
                    last.insert(stored_id(s.get(), mode), s.get());
                }
                for (id, text) in &last {
                    if !id.contains('\0') {
                        assert_eq!(h.read(id, None).as_deref(), Ok(*text), "read after upsert_many");
                    }
                }
                let old: Vec<String> =
                    serde_json::from_str::<RawMap>(&before).unwrap().0.into_iter().map(|(k, _)| k).collect();
                let new = last.keys().filter(|id| !old.contains(id)).count();
                assert_eq!(sessions_count(&h), n_before + new, "count after upsert_many");
            }
            Err(f) => {
                assert_kind(
                    f.kind,
                    &[
                        Kind::InvalidArgument,
                        Kind::InvalidJson,
                        Kind::InvalidSession,
                        Kind::Conflict,
                        Kind::TooLarge,
                        Kind::PermissionDenied,
                    ],
                    "ss_upsert_many",
                );
                assert_eq!(h.store().export().unwrap(), before, "a failed upsert_many changed the store");
            }
        }
    } else {
        match h.delete_many(payload) {
            Ok(removed) => {
                let ids: Vec<String> =
                    serde_json::from_slice(payload).expect("accepted input is an array of strings");
                assert!(removed <= ids.len());
                assert_eq!(sessions_count(&h), n_before - removed, "count after delete_sessions");
                for id in ids.iter().filter(|id| !id.contains('\0')) {
                    assert!(h.read(id, None).is_err(), "{id:?} still readable after its deletion");
                }
            }
            Err(f) => {
                assert_kind(f.kind, &[Kind::InvalidArgument, Kind::InvalidJson], "ss_delete_sessions");
                assert_eq!(h.store().export().unwrap(), before, "a failed delete_sessions changed the store");
            }
        }
    }
    h.store().check_invariants().unwrap();
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Page<'a> {
    #[serde(borrow)]
    sessions: Vec<&'a RawValue>,
    total: usize,
}

/// ss_query on a preloaded store; the first byte picks the mode (and bit 3 a NULL query).
pub fn query(data: &[u8]) {
    let (sel, payload) = split(data);
    let h = store(sel, true);
    let mode = MODES[(sel & 3) as usize];
    let q = if sel & 8 != 0 && payload.is_empty() { None } else { Some(payload) };
    match h.query(q) {
        Ok(text) => {
            let page: Page =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("query result {text}: {e}"));
            assert!(page.sessions.len() <= page.total);
            let of_mode = h.store().stats().unwrap().by_type[(sel & 3) as usize];
            assert!(page.total <= of_mode, "total {} > {of_mode} sessions of this type", page.total);
            for s in page.sessions {
                stored_id(s.get(), mode);
            }
        }
        Err(f) => assert_kind(f.kind, &[Kind::InvalidArgument, Kind::InvalidJson], "ss_query"),
    }
}

/// ss_import, into a preloaded store (bit 3 of the first byte: an empty one).
pub fn import(data: &[u8]) {
    let (sel, payload) = split(data);
    let h = store(sel, sel & 8 == 0);
    let before = h.store().export().unwrap();
    let n_before = sessions_count(&h);
    match h.import(payload) {
        Ok(count) => {
            let records: Vec<(String, &RawValue)> =
                serde_json::from_slice::<RawMap>(payload).expect("accepted input is an object").0;
            assert_eq!(count, records.len(), "count is the number of records");
            let n = sessions_count(&h);
            assert!(n >= n_before && n <= n_before + count, "import changed the count by {n} - {n_before}");
            // The export of the result imports into a fresh store and exports identically.
            let export = h.store().export().unwrap();
            let fresh = Handle::open(Some(br#"{"max_session_bytes":1000000000}"#)).unwrap();
            assert_eq!(fresh.import(export.as_bytes()), Ok(n));
            assert_eq!(fresh.store().export().unwrap(), export, "export/import round trip");
            fresh.store().check_invariants().unwrap();
        }
        Err(f) => {
            assert_kind(
                f.kind,
                &[
                    Kind::InvalidArgument,
                    Kind::InvalidJson,
                    Kind::InvalidSession,
                    Kind::Conflict,
                    Kind::TooLarge,
                ],
                "ss_import",
            );
            assert_eq!(h.store().export().unwrap(), before, "a failed import changed the store");
        }
    }
    h.store().check_invariants().unwrap();
}

/// The keys and raw values of an object, in order (duplicates kept).
struct RawMap<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawMap<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawMap<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(RawMap(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// ss_store_open on arbitrary config bytes, then ss_store_share with a mode made of the same bytes.
pub fn config(data: &[u8]) {
    match Handle::open(Some(data)) {
        Ok(h) => {
            let stats: serde_json::Value = serde_json::from_str(&h.stats().unwrap()).unwrap();
            let mode = stats["mode"].as_str().unwrap().to_owned();
            assert!(MODES.contains(&mode.as_str()));
            assert!(h.store().max_session_bytes() >= 1);
            let shared = h.share(None).unwrap();
            assert_eq!(shared.store().mode().as_str(), mode);
        }
        Err(f) => assert_kind(f.kind, &[Kind::InvalidArgument, Kind::InvalidJson], "ss_store_open"),
    }
    let base = Handle::open(None).unwrap();
    let mode: Vec<u8> = data.iter().copied().filter(|&b| b != 0).take(64).collect();
    let arg = super::ffi::CArg::bytes(&mode);
    let mut out = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    let status = unsafe { sessionstore::ffi::ss_store_share(base.ptr, arg.ptr(), &mut out, &mut err) };
    let valid = std::str::from_utf8(&mode).is_ok_and(|m| MODES.contains(&m));
    if valid {
        assert_eq!(status as u32, 0);
        assert!(err.is_null());
        unsafe { sessionstore::ffi::ss_store_close(out) };
    } else {
        assert_eq!(status as u32, Kind::InvalidArgument.status());
        assert!(out.is_null());
        super::ffi::take_string(err);
    }
}

/// The model target: bytes decoded into operations, run against the engine and the reference model.
pub fn ops(data: &[u8]) {
    let (setup, ops) = super::model::decode(data, super::model::strict_from_env());
    if let Err(e) = super::model::run(&setup, &ops) {
        panic!("engine and model differ: {e}");
    }
}
