//! Running the engine and the model side by side.

use super::super::ffi::{Failure, Handle, Kind, Outcome};
use super::docs::{Doc, V};
use super::ops::{Expect, Op, Setup, Via};
use super::reference::{Expected, Model};
use super::MODES;
use sessionstore::ffi::ss_store;
use sessionstore::{now, Config, Filter, Hooks, ManualClock, Stats, Store};
use std::fmt;
use std::sync::Arc;

pub struct World {
    handles: Vec<(Handle, usize)>,
    /// Exports taken with their sequence (ss_export_with_seq()) during the run: each, with the feed
    /// after its sequence applied, must give the final export.
    mirrors: Vec<(String, u64)>,
    /// The config a durable world reopens its store with (`None`: in memory).
    durable: Option<Vec<u8>>,
    pub model: Model,
    /// The clock of a bounded store, which the test moves (`None`: the system's).
    clock: Option<Arc<ManualClock>>,
    max: usize,
    /// Every "operation:outcome" seen, to check that the generator reaches every case.
    pub seen: std::collections::BTreeSet<String>,
}

/// Compares an engine result with the model's; returns the outcome's label ("ok" or the kind).
fn compare<T: PartialEq + fmt::Debug>(
    what: &str,
    got: Outcome<T>,
    want: Expected<T>,
) -> Result<String, String> {
    match (&got, &want) {
        (Ok(g), Ok(w)) if g == w => Ok("ok".into()),
        (Err(f), Err((k, at))) if f.kind == *k => match at {
            Some(prefix) if !f.message.starts_with(prefix.as_str()) => {
                Err(format!("{what}: message {:?} should start with {prefix:?}", f.message))
            }
            _ => Ok(format!("{k:?}")),
        },
        _ => Err(format!("{what} differs:\n  engine: {got:?}\n  model:  {want:?}")),
    }
}

#[derive(serde::Deserialize)]
struct Stamped {
    updated_at: i64,
}

/// "now" as the engine saw it during a call made between `before` and `after`: read from the stored
/// session it returned when the second changed meanwhile, and checked to be in range.
fn resolve_now(before: i64, after: i64, stored: Option<&str>) -> Result<i64, String> {
    if before == after {
        return Ok(before);
    }
    let Some(text) = stored else { return Ok(before) };
    let t = match serde_json::from_str::<Stamped>(text) {
        Ok(s) => s.updated_at,
        Err(_) => match serde_json::from_str::<Vec<Stamped>>(text) {
            Ok(v) if !v.is_empty() => v[0].updated_at,
            _ => return Ok(before),
        },
    };
    if t < before || t > after {
        return Err(format!("updated_at {t} outside the call's [{before}, {after}]"));
    }
    Ok(t)
}

/// When a bounded store's clock starts.
const CLOCK_START: i64 = 1_800_000_000;

/// Opens a store with `config` (on `clock`, when given, and without its expiry thread, so that
/// what expires is reclaimed when the test says) and shares a handle from it for each of `modes`
/// after the first.
fn open_handles(
    config: &[u8],
    modes: &[usize],
    clock: Option<&Arc<ManualClock>>,
) -> Result<Vec<(Handle, usize)>, String> {
    let first = match clock {
        None => Handle::open(Some(config)).map_err(|f| format!("open: {f:?}"))?,
        Some(clock) => {
            let config = Config::parse(config).map_err(|e| format!("config: {e}"))?;
            let hooks = Hooks { clock: Some(Arc::clone(clock) as _), no_reclaimer: true, ..Hooks::default() };
            let store = Store::open_with(config, hooks).map_err(|e| format!("open: {e}"))?;
            Handle { ptr: ss_store::into_raw(store) }
        }
    };
    let mut handles = vec![(first, modes[0])];
    for &m in &modes[1..] {
        let h = handles[0].0.share(Some(MODES[m])).map_err(|f| format!("share: {f:?}"))?;
        handles.push((h, m));
    }
    Ok(handles)
}

impl World {
    pub fn new(setup: &Setup) -> Result<World, String> {
        World::open(setup, None)
    }

    /// A world whose store is durable in `dir` (sync "os", compacting often), so that it can be
    /// closed and reopened between steps.
    pub fn durable(setup: &Setup, dir: &std::path::Path) -> Result<World, String> {
        let mut config: serde_json::Value = serde_json::from_slice(&setup.config()).expect("a config object");
        let extra = serde_json::json!({
            "path": dir.to_str().expect("a UTF-8 temp dir"),
            "sync": "os",
            "compact_factor": 1,
            "compact_min_bytes": 4096,
        });
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        World::open(setup, Some(serde_json::to_vec(&config).unwrap()))
    }

    /// A world whose store lives on a Redis server, in `namespace` at `url` (a namespace of its own:
    /// the state is compared whole).
    pub fn redis(setup: &Setup, url: &str, namespace: &str) -> Result<World, String> {
        let mut config: serde_json::Value = serde_json::from_slice(&setup.config()).expect("a config object");
        let extra = serde_json::json!({ "backend": "redis", "url": url, "namespace": namespace });
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let mut world = World::open(setup, Some(serde_json::to_vec(&config).unwrap()))?;
        world.durable = None;
        world.model.reclaims_by_deadline = true;
        Ok(world)
    }

    fn open(setup: &Setup, durable: Option<Vec<u8>>) -> Result<World, String> {
        let modes: Vec<usize> = std::iter::once(setup.mode).chain(setup.shares.iter().copied()).collect();
        let clock = setup.bounds.as_ref().map(|_| Arc::new(ManualClock::new(CLOCK_START)));
        let handles = open_handles(durable.as_deref().unwrap_or(&setup.config()), &modes, clock.as_ref())?;
        let mut model = Model::with_feed_budget(setup.feed_bytes());
        model.store = handles[0].0.store().stats().unwrap().feed.store;
        model.bounds = setup.bounds.clone().unwrap_or_default();
        Ok(World {
            handles,
            mirrors: Vec::new(),
            durable,
            model,
            clock,
            max: setup.max_bytes(),
            seen: Default::default(),
        })
    }

    /// The store's time.
    fn now(&self) -> i64 {
        self.clock.as_ref().map_or_else(now, |c| sessionstore::Clock::now(&**c))
    }

    /// Closes every handle of a durable world and opens the directory again, with handles of the same
    /// modes; the state must be exactly what it was.
    pub fn reopen(&mut self) -> Result<(), String> {
        let config = self.durable.clone().expect("only a durable world reopens");
        let modes: Vec<usize> = self.handles.iter().map(|(_, m)| *m).collect();
        self.handles.clear();
        // The first handle may have been closed: each one is shared with its own mode from the one
        // that reopens the store.
        let opener = open_handles(&config, &[0], self.clock.as_ref()).map_err(|e| format!("re{e}"))?;
        let opener = &opener[0].0;
        for m in modes {
            let h = opener.share(Some(MODES[m])).map_err(|f| format!("share: {f:?}"))?;
            self.handles.push((h, m));
        }
        self.model.reopened();
        self.check_state().map_err(|e| format!("after reopening: {e}"))
    }

    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        let max = self.max;
        let before = self.now();
        self.model.now = before;
        let removed = self.model.removed_by_bounds();
        match op {
            Op::Upsert { h, via, doc, pad } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let mut bytes = doc.bytes();
                if *pad {
                    bytes.insert(0, b' ');
                    bytes.extend_from_slice(b"\n\t");
                }
                let got = match via {
                    Via::Rust => handle.store().upsert(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.upsert(&bytes),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let o = compare("upsert", got, self.model.upsert(mode, max, &bytes, doc, now))?;
                self.seen.insert(format!("upsert:{o}"));
            }
            Op::UpsertMany { h, via, batch } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = batch.bytes();
                let got = match via {
                    Via::Rust => handle.store().upsert_many(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.upsert_many(&bytes),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let o = compare("upsert_many", got, self.model.upsert_many(mode, max, batch, now))?;
                self.seen.insert(format!("upsert_many:{o}"));
            }
            Op::Read { h, via, id, user } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => handle.store().read(id, user.as_deref()).map_err(Failure::from),
                    Via::Ffi => handle.read(id, user.as_deref()),
                };
                let o = compare("read", got, self.model.read(mode, id, user.as_deref()))?;
                self.seen.insert(format!("read:{o}"));
            }
            Op::Ids { h, via, user, entity } | Op::All { h, via, user, entity } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let (u, e) = (user.as_deref(), entity.as_deref());
                let ids = matches!(op, Op::Ids { .. });
                let got = match (via, ids) {
                    (Via::Rust, true) => Ok(handle.store().get_all_session_ids(Filter::new(u, e)).unwrap()),
                    (Via::Rust, false) => Ok(handle.store().get_all_sessions(Filter::new(u, e)).unwrap()),
                    (Via::Ffi, true) => handle.ids(u, e),
                    (Via::Ffi, false) => handle.all(u, e),
                };
                let want = if ids { self.model.ids(mode, u, e) } else { self.model.all(mode, u, e) };
                let o = compare("listing", got, Ok(want))?;
                self.seen.insert(format!("listing:{o}"));
            }
            Op::Recent { h, via, user, entity, limit } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let (u, e) = (user.as_deref(), entity.as_deref());
                let got = match via {
                    Via::Rust => Ok(handle.store().get_recent_sessions(Filter::new(u, e), *limit).unwrap()),
                    Via::Ffi => handle.recent(u, e, *limit),
                };
                let o = compare("recent", got, Ok(self.model.recent(mode, u, e, *limit)))?;
                self.seen.insert(format!("recent:{o}"));
            }
            Op::Query { h, via, query } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = query.as_ref().map(Doc::bytes);
                let got = match via {
                    Via::Rust => handle.store().query_json(bytes.as_deref()).map_err(Failure::from),
                    Via::Ffi => handle.query(bytes.as_deref()),
                };
                let o = compare("query", got, self.model.query(mode, query.as_ref()))?;
                self.seen.insert(format!("query:{o}"));
            }
            Op::Rename { h, via, id, name, user } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let got = match via {
                    Via::Rust => handle.store().rename_session(id, name, user).map_err(Failure::from),
                    Via::Ffi => handle.rename_as(id, name, user),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let o = compare("rename", got, self.model.rename(mode, max, id, name, user, now))?;
                self.seen.insert(format!("rename:{o}"));
            }
            Op::Delete { h, via, id, user } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let got = match via {
                    Via::Rust => handle.store().delete_session(id, user).map_err(Failure::from),
                    Via::Ffi => handle.delete_as(id, user),
                };
                let o = compare("delete", got, Ok(self.model.delete(mode, id, user)))?;
                self.seen.insert(format!("delete:{o}"));
            }
            Op::DeleteMany { h, via, ids, user } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let bytes = ids.bytes();
                let got = match via {
                    Via::Rust => handle.store().delete_sessions(&bytes, user).map_err(Failure::from),
                    Via::Ffi => handle.delete_many_as(&bytes, user),
                };
                let o = compare("delete_sessions", got, self.model.delete_many(mode, ids, user))?;
                self.seen.insert(format!("delete_sessions:{o}"));
            }
            Op::Drop { h, via } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let got = match via {
                    Via::Rust => handle.store().drop_sessions().map_err(Failure::from),
                    Via::Ffi => handle.drop_all(),
                };
                let o = compare("drop", got, Ok(self.model.drop_all(mode)))?;
                self.seen.insert(format!("drop:{o}"));
            }
            Op::Stats { h, via } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                match via {
                    Via::Rust => {
                        let s = handle.store().stats().unwrap();
                        let want = (MODES[mode], self.model.by_type(), self.model.bytes(), self.model.len());
                        let got = (s.mode.as_str(), s.by_type, s.bytes, s.sessions());
                        if got != want {
                            return Err(format!("stats differ: engine {got:?}, model {want:?}"));
                        }
                    }
                    Via::Ffi => {
                        // A durable store's stats end with its files and recovery, which the model does
                        // not follow: compared up to that member, and checked to be there. Its feed
                        // keeps, after a reopen, the changes since the last snapshot, which compacts
                        // when it will: of the feed, only the latest number is compared.
                        let durable = self.durable.is_some();
                        let got =
                            handle
                                .stats()
                                .map(|json| if durable { trim_durable_stats(&json, true) } else { json });
                        let want = self.model.stats_json(mode);
                        let want = if durable { trim_durable_stats(&want, false) } else { want };
                        compare("stats", got, Ok(want))?;
                    }
                }
            }
            Op::Export { h, via } => {
                let handle = &self.handles[*h].0;
                let got = match via {
                    Via::Rust => Ok(handle.store().export().unwrap()),
                    Via::Ffi => handle.export(),
                };
                let o = compare("export", got, Ok(self.model.export()))?;
                self.seen.insert(format!("export:{o}"));
            }
            Op::Import { h, via, data } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = data.bytes();
                let got = match via {
                    Via::Rust => handle.store().import(&bytes).map_err(Failure::from),
                    Via::Ffi => handle.import(&bytes),
                };
                let after = self.now();
                let now = if before == after {
                    before
                } else {
                    // The second changed during the call: find "now" in a record that had no updated_at.
                    let export = self.handles[0].0.store().export().unwrap();
                    let map: std::collections::HashMap<String, Stamped> =
                        serde_json::from_str(&export).map_err(|e| format!("export does not parse: {e}"))?;
                    let missing = data.records.iter().find(|(_, _, d)| {
                        d.fields().is_some_and(|f| !f.iter().any(|(k, v)| k == "updated_at" && *v != V::Null))
                    });
                    match missing.and_then(|(k, _, _)| map.get(k)) {
                        Some(s) if got.is_ok() => {
                            if s.updated_at < before || s.updated_at > after {
                                return Err(format!(
                                    "import: updated_at {} outside [{before}, {after}]",
                                    s.updated_at
                                ));
                            }
                            s.updated_at
                        }
                        _ => before,
                    }
                };
                let o = compare("import", got, self.model.import(mode, max, data, now))?;
                self.seen.insert(format!("import:{o}"));
            }
            Op::Reimport { h, via } => {
                let handle = &self.handles[*h].0;
                let export = handle.store().export().unwrap();
                let got = match via {
                    Via::Rust => handle.store().import(export.as_bytes()).map_err(Failure::from),
                    Via::Ffi => handle.import(export.as_bytes()),
                };
                let o = compare("re-import of the export", got, self.model.reimport())?;
                self.seen.insert(format!("re-import of the export:{o}"));
            }
            Op::UpsertIf { h, via, doc, expect } => {
                let (handle, mode) = (&self.handles[*h].0, self.handles[*h].1);
                let bytes = doc.bytes();
                let current = doc_id(doc).map_or(0, |id| self.model.version_of(&id));
                let expected = resolve_expect(*expect, current);
                let got = match via {
                    Via::Rust => handle.store().upsert_if(&bytes, Some(expected)).map_err(Failure::from),
                    Via::Ffi => handle.upsert_if(&bytes, expected),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let want = self.model.upsert_if(mode, max, &bytes, doc, now, Some(expected));
                let o = compare("upsert_if", got, want)?;
                self.seen.insert(format!("upsert_if:{o}"));
            }
            Op::RenameIf { h, via, id, name, user, expect } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let expected = resolve_expect(*expect, self.model.visible_version(mode, id, user));
                let got = match via {
                    Via::Rust => handle
                        .store()
                        .rename_session_if_with(id, name, user, Some(expected), str::to_owned)
                        .map_err(Failure::from),
                    Via::Ffi => handle.rename_if(id, name, user, expected),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let o = compare(
                    "rename_if",
                    got,
                    self.model.rename_if(mode, max, id, name, user, now, expected),
                )?;
                self.seen.insert(format!("rename_if:{o}"));
            }
            Op::DeleteIf { h, via, id, user, expect } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let expected = resolve_expect(*expect, self.model.visible_version(mode, id, user));
                let got = match via {
                    Via::Rust => {
                        handle.store().delete_session_if(id, user, Some(expected)).map_err(Failure::from)
                    }
                    Via::Ffi => handle.delete_if(id, user, expected),
                };
                let o = compare("delete_if", got, self.model.delete_if(mode, id, user, expected))?;
                self.seen.insert(format!("delete_if:{o}"));
            }
            Op::Append { h, via, id, user, runs } => {
                let (handle, mode, user) = (&self.handles[*h].0, self.handles[*h].1, user.as_deref());
                let got = match via {
                    Via::Rust => {
                        handle.store().append_runs(id, user, runs.text.as_bytes()).map_err(Failure::from)
                    }
                    Via::Ffi => handle.append_runs(id, user, runs.text.as_bytes()),
                };
                let now = resolve_now(before, self.now(), got.as_deref().ok())?;
                let o =
                    compare("append_runs", got, self.model.append(mode, max, id, user, &runs.inner, now))?;
                self.seen.insert(format!("append_runs:{o}"));
            }
            Op::Changes { h, via, back, limit, ids_only } => {
                let handle = &self.handles[*h].0;
                let after = match u64::try_from(*back) {
                    Ok(back) => self.model.seq().saturating_sub(back),
                    Err(_) => self.model.seq() + 1,
                };
                let options = ids_only.then_some(&br#"{"ids_only":true}"#[..]);
                let got = match via {
                    Via::Rust => handle.store().changes(after, *limit, *ids_only).map_err(Failure::from),
                    Via::Ffi => handle.changes(after, *limit, options),
                };
                let want = self.model.changes(after, *limit, *ids_only);
                // A reopened durable store's feed holds the changes since its last snapshot, which it
                // takes when it will: it may say "truncated" where the model still keeps the changes.
                let o = match (&got, &want) {
                    (Err(f), Ok(_)) if self.durable.is_some() && f.kind == Kind::FeedTruncated => {
                        "FeedTruncated".into()
                    }
                    _ => compare("changes", got, want)?,
                };
                self.seen.insert(format!("changes:{o}"));
            }
            Op::ExportSeq { h, via } => {
                let handle = &self.handles[*h].0;
                let got = match via {
                    Via::Rust => Ok(handle.store().export_with_seq().unwrap()),
                    Via::Ffi => handle.export_with_seq(),
                };
                let o = compare("export_with_seq", got.clone(), Ok((self.model.export(), self.model.seq())))?;
                self.seen.insert(format!("export_with_seq:{o}"));
                if let Ok(taken) = got {
                    self.mirrors.push(taken);
                }
            }
            Op::Share { h, mode } => {
                let from = &self.handles[*h];
                let handle =
                    from.0.share(mode.map(|m| MODES[m])).map_err(|f| format!("share failed: {f:?}"))?;
                let m = mode.unwrap_or(from.1);
                if handle.store().mode().to_string() != MODES[m] {
                    return Err(format!(
                        "shared handle has mode {}, want {}",
                        handle.store().mode(),
                        MODES[m]
                    ));
                }
                self.handles.push((handle, m));
            }
            Op::Close { h } => {
                self.handles.remove(*h);
            }
            Op::Advance { secs } => {
                if let Some(clock) = &self.clock {
                    clock.advance(*secs);
                }
                self.model.now = self.now();
            }
            Op::Reclaim => {
                let got = self.handles[0].0.store().reclaim().map_err(Failure::from);
                let o = compare("reclaim", got, Ok(self.model.reclaim()))?;
                self.seen.insert(format!("reclaim:{o}"));
            }
        }
        let (expired, evicted) = self.model.removed_by_bounds();
        if expired > removed.0 {
            self.seen.insert("bounds:expired".into());
        }
        if evicted > removed.1 {
            self.seen.insert("bounds:evicted".into());
        }
        self.check_state()
    }

    /// The whole state: indexes consistent, every session and count as the model has them.
    pub fn check_state(&self) -> Result<(), String> {
        let store = self.handles[0].0.store();
        store.check_invariants().map_err(|e| format!("check_invariants: {e}"))?;
        let stats: Stats = store.stats().unwrap();
        if stats.by_type != self.model.by_type() || stats.bytes != self.model.bytes() {
            return Err(format!(
                "state: stats {:?}/{} bytes, model {:?}/{} bytes",
                stats.by_type,
                stats.bytes,
                self.model.by_type(),
                self.model.bytes()
            ));
        }
        let export = store.export().unwrap();
        let want = self.model.export();
        if export != want {
            return Err(format!("state differs:\n  engine: {export}\n  model:  {want}"));
        }
        Ok(())
    }
}

/// The id a generated session document names, when it names one.
fn doc_id(doc: &Doc) -> Option<String> {
    doc.fields()?.iter().find(|(k, _)| k == "session_id").and_then(|(_, v)| match v {
        V::Str(s, _) => Some(s.clone()),
        _ => None,
    })
}

fn resolve_expect(expect: Expect, current: u64) -> u64 {
    match expect {
        Expect::Current => current,
        Expect::Stale => current.checked_sub(1).filter(|&v| v > 0).unwrap_or(current + 1),
        Expect::Zero => 0,
        Expect::Number(n) => n,
    }
}

type Sessions = std::collections::BTreeMap<String, (String, String)>;

/// The session_type of a stored session's text (read without parsing its deep parts).
fn type_of(text: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        session_type: String,
    }
    serde_json::from_str::<Typed>(text).map(|t| t.session_type).map_err(|e| format!("a stored session: {e}"))
}

/// An export's sessions by id, with their types, as stored text.
fn export_map(export: &str) -> Result<Sessions, String> {
    let map: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(export).map_err(|e| format!("an export does not parse: {e}"))?;
    map.into_iter().map(|(id, raw)| Ok((id, (type_of(raw.get())?, raw.get().to_owned())))).collect()
}

/// Applies the changes after `after` (all of them, a few at a time) to `map`; `None` when the feed
/// no longer holds them. Checks that the numbers follow each other.
fn apply_feed(store: &sessionstore::Store, after: u64, map: &mut Sessions) -> Result<Option<()>, String> {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        changes: Vec<Change<'a>>,
        next: u64,
    }
    #[derive(serde::Deserialize)]
    struct Change<'a> {
        seq: u64,
        op: String,
        session_type: String,
        session_id: Option<String>,
        #[serde(borrow)]
        session: Option<&'a serde_json::value::RawValue>,
    }
    let mut after = after;
    loop {
        let text = match store.changes(after, 7, false) {
            Ok(text) => text,
            Err(e) if e.kind == sessionstore::ErrorKind::FeedTruncated => return Ok(None),
            Err(e) => return Err(format!("changes: {e}")),
        };
        let page: Page = serde_json::from_str(&text).map_err(|e| format!("a page of changes: {e}"))?;
        for (i, c) in page.changes.iter().enumerate() {
            if c.seq != after + 1 + i as u64 {
                return Err(format!("the feed is not gapless: change {} after {after} at {i}", c.seq));
            }
            let id = || c.session_id.clone().ok_or("a change without session_id");
            match c.op.as_str() {
                "upsert" => {
                    let session = c.session.ok_or("an upsert without its session")?.get();
                    map.insert(id()?, (c.session_type.clone(), session.to_owned()));
                }
                "delete" | "expire" | "evict" => drop(map.remove(&id()?)),
                "drop" => map.retain(|_, (ty, _)| *ty != c.session_type),
                other => return Err(format!("unknown op {other:?}")),
            }
        }
        if page.changes.is_empty() {
            return Ok(Some(()));
        }
        after = page.next;
    }
}

/// Two properties of the feed, checked after a run: the whole feed, replayed onto nothing, gives the
/// store's sessions, byte for byte; and so does each export taken during the run with the feed after
/// its sequence applied.
fn check_feed(world: &World) -> Result<(), String> {
    let store = world.handles[0].0.store();
    if let Some(clock) = &world.clock {
        // What has expired is held until it is reclaimed (and the feed says it went): replayed, the
        // feed gives what the store holds, as the model has it.
        let held: Sessions =
            world.model.held().into_iter().map(|(id, ty, text)| (id, (MODES[ty].to_owned(), text))).collect();
        let mut from_nothing = Sessions::new();
        if apply_feed(store, 0, &mut from_nothing)?.is_some() && from_nothing != held {
            return Err(format!("the feed replayed from 0 gives {from_nothing:?}, the store holds {held:?}"));
        }
        // Then everything expires (but sessions created in the far future) and is reclaimed: every
        // session the feed or an export ever showed has its removal in the feed.
        clock.advance(100 * 365 * 86_400);
        store.reclaim().map_err(|e| format!("reclaim: {e}"))?;
        let left = world.model.alive_at(sessionstore::Clock::now(&**clock));
        if store.stats().unwrap().sessions() != left {
            return Err(format!(
                "{} sessions held after everything else expired and was reclaimed, {left} alive",
                store.stats().unwrap().sessions()
            ));
        }
    }
    let want = export_map(&store.export().unwrap())?;
    let mut from_nothing = Sessions::new();
    if apply_feed(store, 0, &mut from_nothing)?.is_some() && from_nothing != want {
        return Err(format!("the feed replayed from 0 gives {from_nothing:?}, the store holds {want:?}"));
    }
    for (export, seq) in &world.mirrors {
        let mut mirror = export_map(export)?;
        if apply_feed(store, *seq, &mut mirror)?.is_some() && mirror != want {
            return Err(format!("the export at change {seq} plus the feed after it gives {mirror:?}, the store holds {want:?}"));
        }
    }
    Ok(())
}

/// A durable store's stats without what the model does not follow: the durability object (the
/// engine's must be there: it is replaced by null, and a missing one by a mark that compares unequal)
/// and the feed's kept changes.
fn trim_durable_stats(json: &str, engine: bool) -> String {
    let mut stats: serde_json::Value = serde_json::from_str(json).expect("stats are JSON");
    let object = stats.as_object_mut().expect("stats are an object");
    if engine {
        let there = object.get("durability").is_some_and(|d| d.is_object());
        object.insert("durability".into(), if there { serde_json::Value::Null } else { "missing".into() });
    }
    if let Some(feed) = object.get_mut("feed").and_then(|f| f.as_object_mut()) {
        feed.retain(|k, _| k == "latest" || k == "budget" || k == "store");
    }
    stats.to_string()
}

/// Runs a decoded case; on failure, the message lists the setup and every operation up to the failing one.
pub fn run(setup: &Setup, ops: &[Op]) -> Result<(), String> {
    run_collect(setup, ops).map(|_| ())
}

/// As `run`, returning the "operation:outcome" labels seen.
pub fn run_collect(setup: &Setup, ops: &[Op]) -> Result<std::collections::BTreeSet<String>, String> {
    let mut world = World::new(setup)?;
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = world.step(op) {
            let mut msg = format!("{e}\n\nat step {i} of this case:\n  {setup:?}\n");
            for (j, op) in ops[..=i].iter().enumerate() {
                msg.push_str(&format!("  {j}: {op:?}\n"));
            }
            return Err(msg);
        }
    }
    check_feed(&world).map_err(|e| format!("{e}\n\nafter this case:\n  {setup:?}\n  {ops:?}"))?;
    Ok(world.seen)
}

/// As `run`, on a store durable in `dir` that is closed and reopened after each step `i` for which
/// `reopen_after(i)` holds.
pub fn run_durable(
    setup: &Setup,
    ops: &[Op],
    dir: &std::path::Path,
    reopen_after: impl Fn(usize) -> bool,
) -> Result<(), String> {
    let mut world = World::durable(setup, dir)?;
    for (i, op) in ops.iter().enumerate() {
        let step = world.step(op).and_then(|()| if reopen_after(i) { world.reopen() } else { Ok(()) });
        if let Err(e) = step {
            let mut msg = format!("{e}\n\nat step {i} of this case (durable):\n  {setup:?}\n");
            for (j, op) in ops[..=i].iter().enumerate() {
                let reopened = if reopen_after(j) { " (then reopened)" } else { "" };
                msg.push_str(&format!("  {j}: {op:?}{reopened}\n"));
            }
            return Err(msg);
        }
    }
    world.reopen()
}

/// As `run`, on a store in `namespace` of the Redis server at `url`.
pub fn run_redis(setup: &Setup, ops: &[Op], url: &str, namespace: &str) -> Result<(), String> {
    let mut world = World::redis(setup, url, namespace)?;
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = world.step(op) {
            let mut msg = format!("{e}\n\nat step {i} of this case (redis):\n  {setup:?}\n");
            for (j, op) in ops[..=i].iter().enumerate() {
                msg.push_str(&format!("  {j}: {op:?}\n"));
            }
            return Err(msg);
        }
    }
    check_feed(&world).map_err(|e| format!("{e}\n\nafter this case (redis):\n  {setup:?}\n  {ops:?}"))
}

/// `SS_MODEL_STRICT=1` also generates the inputs of the fixed defects and of the policy items.
pub fn strict_from_env() -> bool {
    std::env::var("SS_MODEL_STRICT").is_ok_and(|v| v == "1")
}
