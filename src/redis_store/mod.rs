//! A store whose data lives on a Redis 7+ (or Valkey) server, shared by every process and machine that
//! opens the same namespace there.
//!
//! Input is checked here, as a local store checks it ([`crate::intake`]); each operation is then one
//! script on the server (see `lua/`), which makes it atomic: its checks (type conflict, owner,
//! expected version), the write, the index upkeep and the change feed entry happen together or not
//! at all. Sessions are rendered here with a placeholder where their version (and, when the server
//! knows it better, their `created_at`) goes: the script splices the numbers in, so one round trip
//! stores a session. A rename or an append reads the session, builds the new one here, and stores it
//! on condition that it is still the version read, trying again when another writer came first.
//!
//! Key layout (`lua/common.lua` has the details): every key of a namespace NS starts with `ss:{NS}:`,
//! whose hash tag puts the whole namespace in one Redis Cluster slot, so that scripts that touch a
//! session and the namespace's indexes stay single-slot. A move to sharding by user would give each
//! user's sessions and indexes the tag `{NS:user}` and keep per-type indexes per shard, listing across
//! shards by merging their (already ordered) answers: docs/redis.md writes this down.

mod server;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{quote, Error, ErrorKind, Result};
use crate::feed::new_store_id;
use crate::intake::{check_version, depth_first, not_found, owner_refused, runs_text, type_conflict, Intake};
use crate::json::{self, RawObject};
use crate::local::{Held, Local};
use crate::parallel;
use crate::query::Query;
use crate::reclaimer::Reclaimer;
use crate::render;
use crate::retention::{Limits, Removal};
use crate::session::{self, Rendered, SessionInput};
use crate::session_type::SessionType;
use crate::store::{BoundsStats, FeedStats, Hooks, Stats, MAX_CHANGES};
use crate::tables::Filter;
use redis::{Script, ScriptInvocation, Value};
use server::{unexpected, Reply, Scripts, Server};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The oldest server a store works with: scripts use `XRANGE` with exclusive ranges (6.2) and the
/// store is tested against 7.
const MIN_SERVER_MAJOR: u32 = 7;

/// How often a rename or an append tries to store what it built before it gives up: each failed try
/// means another writer stored the session meanwhile, so the store as a whole makes progress.
const CONDITIONAL_TRIES: usize = 1000;

/// The most expired sessions one script frees: the server runs nothing else meanwhile.
const REAP_BATCH: usize = 64;

#[derive(Clone)]
pub(crate) struct RedisStore {
    shared: Arc<Shared>,
    mode: SessionType,
}

struct Shared {
    server: Server,
    scripts: Scripts,
    /// `ss:{NS}:`, the start of every key.
    prefix: String,
    /// The key of the namespace's identity, the first key of every script (it routes the call).
    id_key: String,
    intake: Intake,
    feed_budget: usize,
    clock: Arc<dyn Clock>,
    limits: Limits,
    /// Frees expired sessions, when they can expire (set once, right after the store is made).
    reclaimer: Mutex<Option<Reclaimer>>,
}

/// What a script refused, for the element `at` of its call; nothing was stored.
enum Refused {
    /// The id is stored with this type.
    Conflict { at: usize, stored: SessionType },
    /// The stored session belongs to another user.
    Owner { at: usize },
    /// The stored version (0: none) is not the one expected.
    Version { at: usize, stored: u64 },
}

/// One session for the put script.
struct Put<'i> {
    input: &'i SessionInput<'i>,
    ty: SessionType,
    /// The `created_at` to store; `None`: the stored session's, or `updated_at` for a new one.
    created_at: Option<i64>,
    updated_at: i64,
    expected: Option<u64>,
    check_owner: bool,
    rendered: Rendered,
}

impl RedisStore {
    pub fn open(config: &Config, hooks: Hooks) -> Result<RedisStore> {
        let url = config
            .url
            .as_deref()
            .ok_or_else(|| Error::invalid_argument("config: the redis backend needs a url"))?;
        let server = Server::new(
            url,
            Duration::from_millis(config.connect_timeout_ms),
            Duration::from_millis(config.command_timeout_ms),
        )?;
        let prefix = format!("ss:{{{}}}:", config.namespace());
        let id_key = format!("{prefix}id");
        let shared = Shared {
            server,
            scripts: Scripts::load(),
            id_key,
            prefix,
            intake: Intake::of(config),
            feed_budget: config.feed_bytes,
            clock: hooks.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            limits: Limits::of(config),
            reclaimer: Mutex::new(None),
        };
        let info: String = shared.server.with(|c| redis::cmd("INFO").arg("server").query(c))?;
        check_server_version(&info)?;
        let store = RedisStore { shared: Arc::new(shared), mode: config.mode };
        store.store_id()?;
        store.agree_on_expiry(config.namespace())?;
        if store.shared.limits.expires() && !hooks.no_reclaimer {
            let reclaimer = Reclaimer::start(Arc::downgrade(&store.shared), |shared| {
                RedisStore { shared, mode: SessionType::Agent }.reap(REAP_BATCH)
            })?;
            *store.shared.reclaimer.lock().unwrap_or_else(|e| e.into_inner()) = Some(reclaimer);
        }
        Ok(store)
    }

    pub fn share(&self, mode: Option<SessionType>) -> RedisStore {
        RedisStore { shared: Arc::clone(&self.shared), mode: mode.unwrap_or(self.mode) }
    }

    pub fn mode(&self) -> SessionType {
        self.mode
    }

    pub fn max_session_bytes(&self) -> usize {
        self.shared.intake.max_session_bytes
    }

    fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Frees the sessions that have expired, batch by batch (each one script); returns how many. The
    /// store's expiry thread does this every second, and Redis itself drops a session a minute after
    /// it expired if no store of the namespace is open by then.
    pub fn reclaim(&self) -> Result<usize> {
        if !self.shared.limits.expires() {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            match self.reap(REAP_BATCH)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Frees up to `limit` expired sessions, in one script; returns how many.
    fn reap(&self, limit: usize) -> Result<usize> {
        let s = &self.shared;
        let freed: usize = s
            .server
            .with(|c| self.script(&s.scripts.reap, self.now()).arg(limit).arg(s.feed_budget).invoke(c))?;
        Ok(freed)
    }

    /// A call of `script` with the arguments every script takes first: the key prefix, and `now` with
    /// the namespace's expiry limits.
    fn script<'a>(&'a self, script: &'a Script, now: i64) -> ScriptInvocation<'a> {
        let s = &self.shared;
        let limit = |secs: Option<i64>| secs.unwrap_or(0);
        let mut call = script.key(&s.id_key);
        call.arg(&s.prefix).arg(format!(
            "{now} {} {}",
            limit(s.limits.idle_expiry_s),
            limit(s.limits.max_age_s)
        ));
        call
    }

    /// Every store of a namespace expires its sessions alike, or readers would disagree about which
    /// exist: the first to open the namespace records its expiry settings there, and a store opened
    /// with others is refused while the namespace holds sessions.
    fn agree_on_expiry(&self, namespace: &str) -> Result<()> {
        let s = &self.shared;
        let limits = &s.limits;
        let ours = format!(
            "idle_expiry_s={} max_age_s={} refresh_on_read={}",
            limits.idle_expiry_s.unwrap_or(0),
            limits.max_age_s.unwrap_or(0),
            limits.refresh_on_read
        );
        let key = format!("{}expiry", s.prefix);
        let theirs: Option<String> = s.server.with(|c| {
            let _: Value = redis::cmd("SET").arg(&key).arg(&ours).arg("NX").query(c)?;
            redis::cmd("GET").arg(&key).query(c)
        })?;
        if theirs.as_deref() == Some(ours.as_str()) {
            return Ok(());
        }
        if self.stats()?.sessions() > 0 {
            return Err(Error::invalid_argument(format!(
                "config: namespace {} expires its sessions with {}; this config has {ours} (every store of a namespace must agree while it holds sessions)",
                quote(namespace),
                theirs.as_deref().unwrap_or("none"),
            )));
        }
        s.server.with(|c| redis::cmd("SET").arg(&key).arg(&ours).query(c))
    }

    pub fn upsert_if_with<R>(
        &self,
        json: &[u8],
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        let intake = &self.shared.intake;
        intake.check_len(json.len())?;
        let text = intake.readable(json::checked_text(json)?);
        let input = intake.parse_input(&text, self.mode)?;
        let now = self.now();
        let put = self.put_of(&input, self.mode, input.created_at, now, expected, true);
        match self.put(vec![put], now)? {
            Ok(stored) => Ok(output(&stored[0])),
            Err(refused) => Err(self.refusal(refused, |_| input.session_id.as_ref(), expected)),
        }
    }

    pub fn upsert_many(&self, json: &[u8]) -> Result<String> {
        let intake = &self.shared.intake;
        let text = intake.readable(json::utf8(json)?);
        let inputs = intake.parse_batch(&text, self.mode)?;
        let now = self.now();
        let puts =
            inputs.iter().map(|input| self.put_of(input, self.mode, input.created_at, now, None, true));
        match self.put(puts.collect(), now)? {
            Ok(stored) => Ok(array(stored.iter().map(String::as_str))),
            Err(refused) => {
                let at = refused.at();
                Err(self
                    .refusal(refused, |i| inputs[i].session_id.as_ref(), None)
                    .at(format_args!("sessions[{at}]")))
            }
        }
    }

    pub fn import(&self, json: &[u8]) -> Result<usize> {
        let intake = &self.shared.intake;
        let text = intake.readable(json::utf8(json)?);
        let text = text.as_ref();
        let object = depth_first(text, || {
            RawObject::parse_allowing_duplicates(text, ErrorKind::InvalidArgument).map_err(|e| e.at("import"))
        })?;
        let records = depth_first(text, || {
            let mut seen = HashSet::with_capacity(object.fields.len());
            for (key, _) in &object.fields {
                if !seen.insert(key.as_ref()) {
                    return Err(Error::invalid_json(format!("duplicate key {}", quote(key))).at("import"));
                }
            }
            parallel::map_in_order(&object.fields, |_, (key, raw)| intake.import_record(key, raw, self.mode))
        })?;
        let now = self.now();
        let puts = records.iter().map(|(input, ty)| {
            self.put_of(input, *ty, input.created_at, input.updated_at.unwrap_or(now), None, false)
        });
        match self.put(puts.collect(), now)? {
            Ok(stored) => Ok(stored.len()),
            Err(refused) => {
                let key = object.fields[refused.at()].0.as_ref();
                Err(self
                    .refusal(refused, |i| records[i].0.session_id.as_ref(), None)
                    .at(format_args!("import[{}]", quote(key))))
            }
        }
    }

    pub fn read_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        let found = match self.shared.limits.refresh_on_read {
            true => self.read_refreshing(session_id, user_id)?,
            false => self.visible(session_id, user_id)?.map(|(_, json)| json),
        };
        match found {
            Some(json) => Ok(output(&json)),
            None => Err(not_found(self.mode, session_id)),
        }
    }

    pub fn get_all_session_ids(&self, filter: Filter) -> Result<String> {
        self.listing(filter, "q")
    }

    pub fn get_all_sessions(&self, filter: Filter) -> Result<String> {
        self.listing(filter, "j")
    }

    pub fn get_recent_sessions(&self, filter: Filter, limit: i64) -> Result<String> {
        if limit == 0 {
            return Ok("[]".to_owned());
        }
        let found = self.list(filter, "j", limit.max(-1), true)?;
        Ok(array(found.iter().map(|(_, json)| json.as_str())))
    }

    pub fn query(&self, query: &Query) -> Result<String> {
        let types: Vec<SessionType> = query.types(self.mode).collect();
        let (_, rows) = self.rows(query.filter(), &types, false)?;
        Ok(Local::holding(self.mode, rows)?.query(query))
    }

    pub fn rename_session_if_with<R>(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        self.rewrite(session_id, user_id, expected, output, |stored, now, text| {
            *text = session::rename(stored, name, now)?;
            SessionInput::parse(text)
        })
    }

    pub fn append_runs_with<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        runs_json: &[u8],
        output: impl FnOnce(&str) -> R,
    ) -> Result<R> {
        let runs = self.shared.intake.readable(json::utf8(runs_json)?);
        let runs = runs_text(&runs)?;
        let mode = self.mode;
        self.rewrite(session_id, user_id, None, output, |stored, _, text| {
            SessionInput::with_runs_appended(stored, mode, runs, text)
        })
    }

    pub fn delete_session_if(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
    ) -> Result<usize> {
        let expected_arg = expected.map(|v| v.to_string()).unwrap_or_default();
        let reply = self.remove(user_id, &expected_arg, &[session_id])?;
        match reply {
            Ok(removed) => Ok(removed),
            Err(stored) => Err(version_refused(session_id, stored, expected)),
        }
    }

    pub fn delete_sessions(&self, ids_json: &[u8], user_id: Option<&str>) -> Result<usize> {
        let text = json::checked_text(ids_json)?;
        let mut ids = Vec::new();
        json::for_each_str(text, "session ids", |id| ids.push(id.to_owned()))?;
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.remove(user_id, "", &ids)?
            .map_err(|_| unexpected("a version refusal without an expected version"))
    }

    pub fn drop_sessions(&self) -> Result<usize> {
        let s = &self.shared;
        let removed: i64 = s.server.with(|c| {
            self.script(&s.scripts.drop, self.now()).arg(s.feed_budget).arg(type_arg(self.mode)).invoke(c)
        })?;
        Ok(removed as usize)
    }

    pub fn changes(&self, after: u64, limit: usize, ids_only: bool) -> Result<String> {
        if limit == 0 {
            return Err(Error::invalid_argument("limit must be at least 1"));
        }
        let s = &self.shared;
        let reply: Vec<Value> = s.server.with(|c| {
            self.script(&s.scripts.changes, self.now()).arg(after).arg(limit.min(MAX_CHANGES)).invoke(c)
        })?;
        let store = self.store_id()?;
        match reply.first().map(Reply::text).transpose()? {
            Some("truncated") => {
                let (oldest, latest) = (number(&reply, 1)?, number(&reply, 2)?);
                Err(crate::local::truncated(after, oldest, latest))
            }
            Some("ok") => {
                let latest = number(&reply, 1)?;
                let Some(Value::Array(entries)) = reply.get(2) else { return Err(unexpected("changes")) };
                let changes = entries.iter().map(change).collect::<Result<Vec<_>>>()?;
                Ok(render::changes(&changes, after, latest, &store, ids_only))
            }
            _ => Err(unexpected("changes")),
        }
    }

    pub fn stats(&self) -> Result<Stats> {
        let s = &self.shared;
        let reply: Vec<i64> = s.server.with(|c| self.script(&s.scripts.stats, self.now()).invoke(c))?;
        let [agent, team, workflow, workflow_v2, bytes, latest, oldest, kept, feed_bytes, expired] =
            reply[..]
        else {
            return Err(unexpected("stats"));
        };
        let by_type = [agent, team, workflow, workflow_v2].map(|n| n as usize);
        let held: usize = by_type.iter().sum();
        let feed = FeedStats {
            store: self.store_id()?,
            latest: latest as u64,
            oldest: oldest as u64,
            kept: kept as usize,
            bytes: feed_bytes as usize,
            budget: s.feed_budget,
        };
        let bounds = BoundsStats {
            limits: s.limits,
            sessions: held,
            bytes: bytes as usize,
            expired: expired as u64,
            evicted: 0,
        };
        Ok(Stats { mode: self.mode, by_type, bytes: bytes as usize, feed, bounds, durability: None })
    }

    pub fn export_with_seq(&self) -> Result<(String, u64)> {
        let (at, mut rows) = self.rows(Filter::default(), &SessionType::ALL, false)?;
        rows.sort_unstable_by(|a, b| a.inserted.cmp(&b.inserted));
        let mut text = String::with_capacity(
            rows.iter().map(|r| r.stored.json.len() + r.quoted_id.len() + 2).sum::<usize>() + 2,
        );
        text.push('{');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&row.quoted_id);
            text.push(':');
            text.push_str(&row.stored.json);
        }
        text.push('}');
        Ok((text, at))
    }

    /// Checks the indexes against the sessions: every session in the indexes of its type, user and
    /// entity under its order key, and nothing else there; the byte count right; every session on
    /// the expiry schedule once, when sessions expire.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let (_, rows) = self.rows(Filter::default(), &SessionType::ALL, true).map_err(|e| e.message)?;
        let stats = self.stats().map_err(|e| e.message)?;
        let bytes: usize = rows.iter().map(|r| r.stored.json.len()).sum();
        if self.shared.limits.expires() {
            let key = format!("{}x", self.shared.prefix);
            let scheduled: usize =
                self.shared.server.with(|c| redis::cmd("ZCARD").arg(&key).query(c)).map_err(|e| e.message)?;
            if scheduled != rows.len() {
                return Err(format!("{scheduled} sessions are on the expiry schedule, {} held", rows.len()));
            }
        }
        if bytes != stats.bytes {
            return Err(format!("the byte count is {} but the sessions hold {bytes}", stats.bytes));
        }
        for ty in SessionType::ALL {
            let mut by_index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            for row in rows.iter().filter(|r| r.ty == ty) {
                if let Some(user) = &row.user {
                    *by_index.entry(format!("u:{}:{user}", ty.index())).or_default() += 1;
                }
                if let Some(entity) = &row.entity {
                    *by_index.entry(format!("e:{}:{entity}", ty.index())).or_default() += 1;
                }
            }
            let s = &self.shared;
            for (index, expected) in by_index {
                let key = format!("{}{index}", s.prefix);
                let held: usize =
                    s.server.with(|c| redis::cmd("ZCARD").arg(&key).query(c)).map_err(|e| e.message)?;
                if held != expected {
                    return Err(format!("index {key:?} holds {held} sessions, not {expected}"));
                }
            }
        }
        Ok(())
    }

    /// The put script's arguments for one session.
    fn put_of<'i>(
        &self,
        input: &'i SessionInput<'i>,
        ty: SessionType,
        created_at: Option<i64>,
        updated_at: i64,
        expected: Option<u64>,
        check_owner: bool,
    ) -> Put<'i> {
        let rendered = input.render(ty, created_at.unwrap_or(updated_at), updated_at, 0);
        Put { input, ty, created_at, updated_at, expected, check_owner, rendered }
    }

    /// Stores `puts`, all or none; returns the stored JSON of each, or what the script refused.
    /// `now` is the time the sessions were rendered at: what has expired by then goes first.
    fn put(&self, puts: Vec<Put>, now: i64) -> Result<std::result::Result<Vec<String>, Refused>> {
        if puts.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let s = &self.shared;
        let pieces: Vec<Pieces> =
            puts.iter().map(|p| Pieces::of(&p.rendered, p.created_at.is_some())).collect();
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(2 + puts.len() * 14);
        args.push(s.feed_budget.to_string().into_bytes());
        args.push(puts.len().to_string().into_bytes());
        for (put, pieces) in puts.iter().zip(&pieces) {
            let json = &put.rendered.json;
            let flagged = |value: Option<&str>| value.map_or_else(Vec::new, |v| format!("={v}").into_bytes());
            let created_key = put.created_at.unwrap_or(put.updated_at);
            args.extend([
                put.input.session_id.as_bytes().to_vec(),
                type_arg(put.ty).as_bytes().to_vec(),
                flagged(put.input.user_id.as_deref()),
                flagged(put.input.entity_id(put.ty)),
                put.created_at.map_or_else(Vec::new, |c| c.to_string().into_bytes()),
                order_hex(created_key).into_bytes(),
                put.updated_at.to_string().into_bytes(),
                put.expected.map_or_else(Vec::new, |v| v.to_string().into_bytes()),
                if put.check_owner { b"1".to_vec() } else { b"0".to_vec() },
                json[put.rendered.id_span.clone()].as_bytes().to_vec(),
                pieces.shape.as_bytes().to_vec(),
                pieces.parts[0].apply(json).as_bytes().to_vec(),
                pieces.parts[1].apply(json).as_bytes().to_vec(),
                pieces.parts[2].apply(json).as_bytes().to_vec(),
            ]);
        }
        let reply: Vec<Value> = s.server.with(|c| self.script(&s.scripts.put, now).arg(&args).invoke(c))?;
        let tag = reply.first().map(Reply::text).transpose()?;
        let at = || number(&reply, 1).map(|n| n as usize);
        match tag {
            Some("ok") => {
                let mut stored = Vec::with_capacity(puts.len());
                for (i, (put, pieces)) in puts.iter().zip(&pieces).enumerate() {
                    let version = reply.get(1 + 2 * i).ok_or_else(|| unexpected("put"))?.text()?;
                    let created = reply.get(2 + 2 * i).ok_or_else(|| unexpected("put"))?.text()?;
                    stored.push(pieces.join(&put.rendered.json, created, version));
                }
                Ok(Ok(stored))
            }
            Some("conflict") => {
                let stored = number(&reply, 2)? as usize;
                let stored = *SessionType::ALL.get(stored).ok_or_else(|| unexpected("a session type"))?;
                Ok(Err(Refused::Conflict { at: at()?, stored }))
            }
            Some("owner") => Ok(Err(Refused::Owner { at: at()? })),
            Some("version") => Ok(Err(Refused::Version { at: at()?, stored: number(&reply, 2)? })),
            _ => Err(unexpected("put")),
        }
    }

    /// The error a refusal means to the caller; `id` names the session of an element.
    fn refusal<'a>(&self, refused: Refused, id: impl Fn(usize) -> &'a str, expected: Option<u64>) -> Error {
        match refused {
            Refused::Conflict { at, stored } => type_conflict(id(at), stored, self.mode),
            Refused::Owner { at } => owner_refused(id(at)),
            Refused::Version { at, stored } => version_refused(id(at), stored, expected),
        }
    }

    /// Builds a session anew from the stored one (`rewrite` gets its JSON, the time, and a buffer for
    /// the new text if it needs one) and stores it if nobody stored the session meanwhile, else tries
    /// again from what is stored then.
    fn rewrite<R>(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        expected: Option<u64>,
        output: impl FnOnce(&str) -> R,
        rewrite: impl for<'a> Fn(&'a str, i64, &'a mut String) -> Result<SessionInput<'a>>,
    ) -> Result<R> {
        for _ in 0..CONDITIONAL_TRIES {
            let visible = self.visible(session_id, user_id)?;
            check_version(session_id, visible.as_ref().map(|(fields, _)| fields.version), expected)?;
            let (fields, stored) = visible.ok_or_else(|| not_found(self.mode, session_id))?;
            let now = self.now();
            let mut text = String::new();
            let input = rewrite(&stored, now, &mut text)?;
            self.shared.intake.check_size(&input)?;
            let put =
                self.put_of(&input, self.mode, Some(fields.created_at), now, Some(fields.version), false);
            match self.put(vec![put], now)? {
                Ok(stored) => return Ok(output(&stored[0])),
                Err(Refused::Version { .. } | Refused::Conflict { .. }) => continue,
                Err(refused) => return Err(self.refusal(refused, |_| session_id, expected)),
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "session {} changed {CONDITIONAL_TRIES} times while this call rebuilt it",
                quote(session_id)
            ),
        ))
    }

    /// The session with this id if this call may see it (this handle's type; `user_id`'s, when given
    /// and not empty): what a rewrite needs of it, and its JSON.
    fn visible(&self, session_id: &str, user_id: Option<&str>) -> Result<Option<(Visible, String)>> {
        let s = &self.shared;
        let key = format!("{}s:{session_id}", s.prefix);
        let fields: Vec<Option<String>> = s.server.with(|c| {
            redis::cmd("HMGET").arg(&key).arg(&["t", "u", "c", "v", "j", "p", "a", "w"]).query(c)
        })?;
        let [t, u, c, v, j, p, a, w] =
            <[Option<String>; 8]>::try_from(fields).map_err(|_| unexpected("HMGET"))?;
        let (Some(t), Some(c), Some(v), Some(j), Some(p)) = (t, c, v, j, p) else { return Ok(None) };
        let user = user_id.filter(|u| !u.is_empty());
        if t != type_arg(self.mode) || user.is_some_and(|user| u.as_deref() != Some(user)) {
            return Ok(None);
        }
        let parse = |text: &str| text.parse::<i64>().map_err(|_| unexpected("a number"));
        let created_at = parse(&c)?;
        let accessed = a.as_deref().map(parse).transpose()?.unwrap_or(i64::MIN);
        // Idle time counts from `w` when the session has one (an `updated_at` in the future: put.lua).
        let written = parse(w.as_deref().unwrap_or(&p))?;
        if !s.limits.liveness(self.now()).alive_at(created_at, written, accessed) {
            return Ok(None);
        }
        Ok(Some((Visible { created_at, version: parse(&v)? as u64 }, j)))
    }

    /// A read that refreshes the session's idle time (`refresh_on_read`): its JSON if this call may
    /// see it, as [`RedisStore::visible`] decides.
    fn read_refreshing(&self, session_id: &str, user_id: Option<&str>) -> Result<Option<String>> {
        let s = &self.shared;
        let user = user_id.filter(|u| !u.is_empty()).map_or_else(String::new, |u| format!("={u}"));
        s.server.with(|c| {
            self.script(&s.scripts.read, self.now())
                .arg(session_id)
                .arg(type_arg(self.mode))
                .arg(&user)
                .invoke(c)
        })
    }

    /// Runs the remove script; `Err(stored version)` when `expected` was not it.
    fn remove(
        &self,
        user_id: Option<&str>,
        expected: &str,
        ids: &[&str],
    ) -> Result<std::result::Result<usize, u64>> {
        let s = &self.shared;
        let user = user_id.filter(|u| !u.is_empty()).map_or_else(String::new, |u| format!("={u}"));
        let reply: Vec<Value> = s.server.with(|c| {
            self.script(&s.scripts.remove, self.now())
                .arg(s.feed_budget)
                .arg(type_arg(self.mode))
                .arg(&user)
                .arg(expected)
                .arg(ids)
                .invoke(c)
        })?;
        match reply.first().map(Reply::text).transpose()? {
            Some("ok") => Ok(Ok(number(&reply, 1)? as usize)),
            Some("version") => Ok(Err(number(&reply, 1)?)),
            _ => Err(unexpected("remove")),
        }
    }

    /// The ids or sessions (`field` "q" or "j") of a filter, in first-insertion order.
    fn listing(&self, filter: Filter, field: &str) -> Result<String> {
        let mut found = self.list(filter, field, -1, false)?;
        // Order keys are created_at then first-insertion number, in hex digits.
        found.sort_unstable_by(|(a, _), (b, _)| a[16..].cmp(&b[16..]));
        Ok(array(found.iter().map(|(_, text)| text.as_str())))
    }

    /// Runs the list script: (order key, field) of each session, at most `limit` (-1: all).
    fn list(&self, filter: Filter, field: &str, limit: i64, newest: bool) -> Result<Vec<(String, String)>> {
        let s = &self.shared;
        let reply: Vec<String> = s.server.with(|c| {
            self.script(&s.scripts.list, self.now())
                .arg(type_arg(self.mode))
                .arg(filter.user_id.unwrap_or(""))
                .arg(filter.entity_id.unwrap_or(""))
                .arg(field)
                .arg(limit)
                .arg(if newest { "newest" } else { "oldest" })
                .invoke(c)
        })?;
        if !reply.len().is_multiple_of(2) {
            return Err(unexpected("list"));
        }
        let mut reply = reply.into_iter();
        let mut found = Vec::with_capacity(reply.len() / 2);
        while let (Some(key), Some(text)) = (reply.next(), reply.next()) {
            found.push((key, text));
        }
        Ok(found)
    }

    /// Every session of `types` that `filter` selects, whole, and the number of the last change; with
    /// `held`, expired sessions not reclaimed yet too.
    fn rows(&self, filter: Filter, types: &[SessionType], held: bool) -> Result<(u64, Vec<Held>)> {
        const FIELDS: usize = 9;
        let s = &self.shared;
        let types: Vec<&str> = types.iter().map(|&t| type_arg(t)).collect();
        let reply: Vec<Value> = s.server.with(|c| {
            self.script(&s.scripts.rows, self.now())
                .arg(if held { "held" } else { "alive" })
                .arg(filter.user_id.unwrap_or(""))
                .arg(filter.entity_id.unwrap_or(""))
                .arg(&types)
                .invoke(c)
        })?;
        let at = number(&reply, 0)?;
        if !(reply.len() - 1).is_multiple_of(FIELDS) {
            return Err(unexpected("rows"));
        }
        let rows = reply[1..].chunks(FIELDS);
        let text = |v: &Value| v.text().map(str::to_owned);
        let optional = |v: &Value| v.bytes_or_nil().map(|_| text(v)).transpose();
        let held = rows
            .map(|r| {
                let ty = *SessionType::ALL
                    .get(r[0].int()? as usize)
                    .ok_or_else(|| unexpected("a session type"))?;
                let quoted_id = text(&r[7])?;
                let id: String = serde_json::from_str(&quoted_id).map_err(|_| unexpected("a quoted id"))?;
                Ok(Held {
                    id,
                    ty,
                    user: optional(&r[1])?,
                    entity: optional(&r[2])?,
                    created_at: r[3].int()?,
                    updated_at: r[4].int()?,
                    version: r[5].int()? as u64,
                    inserted: text(&r[6])?.get(16..).ok_or_else(|| unexpected("an order key"))?.to_owned(),
                    quoted_id,
                    stored: Rendered::rendered_again(text(&r[8])?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((at, held))
    }

    /// The namespace's identity. A server that lost it (restarted without persistence, flushed) holds
    /// a new store as far as feed followers are concerned: it gets a new identity, so that they start
    /// again from an export.
    fn store_id(&self) -> Result<String> {
        let s = &self.shared;
        s.server.with(|c| {
            // Only the first to name the namespace does (NX).
            let _: Value = redis::cmd("SET").arg(&s.id_key).arg(new_store_id()).arg("NX").query(c)?;
            redis::cmd("GET").arg(&s.id_key).query(c)
        })
    }
}

/// What a rewrite needs of a stored session.
struct Visible {
    created_at: i64,
    version: u64,
}

impl Refused {
    fn at(&self) -> usize {
        match *self {
            Refused::Conflict { at, .. } | Refused::Owner { at } | Refused::Version { at, .. } => at,
        }
    }
}

/// The rendered JSON of a session cut around the numbers the put script splices in: see `lua/put.lua`.
struct Pieces {
    shape: &'static str,
    parts: [Part; 3],
}

#[derive(Clone)]
struct Part(std::ops::Range<usize>);

impl Part {
    fn apply<'j>(&self, json: &'j str) -> &'j str {
        &json[self.0.clone()]
    }
}

impl Pieces {
    fn of(rendered: &Rendered, created_known: bool) -> Pieces {
        let (v, end) = (&rendered.version_span, rendered.json.len());
        let c =
            rendered.created_span.as_ref().expect("a session rendered here knows where its created_at is");
        if created_known {
            Pieces { shape: "v", parts: [Part(0..v.start), Part(v.end..end), Part(end..end)] }
        } else if c.start < v.start {
            Pieces { shape: "cv", parts: [Part(0..c.start), Part(c.end..v.start), Part(v.end..end)] }
        } else {
            Pieces { shape: "vc", parts: [Part(0..v.start), Part(v.end..c.start), Part(c.end..end)] }
        }
    }

    /// The JSON the script stored, given the numbers it put in.
    fn join(&self, json: &str, created: &str, version: &str) -> String {
        let [a, b, d] = [&self.parts[0], &self.parts[1], &self.parts[2]].map(|p| p.apply(json));
        match self.shape {
            "v" => [a, version, b].concat(),
            "cv" => [a, created, b, version, d].concat(),
            _ => [a, version, b, created, d].concat(),
        }
    }
}

/// A session type as the scripts name it.
fn type_arg(ty: SessionType) -> &'static str {
    ["0", "1", "2", "3"][ty.index()]
}

/// 16 hex digits that order as `created_at` does (biased by 2^63, so that negative times come first).
fn order_hex(created_at: i64) -> String {
    format!("{:016x}", (created_at as u64) ^ (1 << 63))
}

fn number(reply: &[Value], i: usize) -> Result<u64> {
    let n = reply.get(i).ok_or_else(|| unexpected("a short reply"))?.int()?;
    u64::try_from(n).map_err(|_| unexpected("a negative number"))
}

/// A JSON array of JSON texts.
fn array<'a>(items: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut out = render::Array::with_capacity(items.clone().map(|i| i.len() + 1).sum::<usize>() + 2);
    items.for_each(|i| out.push(i));
    out.finish()
}

fn version_refused(session_id: &str, stored: u64, expected: Option<u64>) -> Error {
    match check_version(session_id, (stored > 0).then_some(stored), expected) {
        Err(e) => e,
        Ok(()) => unexpected("a version refusal for the version expected"),
    }
}

/// One feed entry of the stream (`[id, [field, value, ...]]`), as the feed's renderer takes it.
fn change(entry: &Value) -> Result<render::ChangeView<'static>> {
    let Value::Array(parts) = entry else { return Err(unexpected("a feed entry")) };
    let [id, Value::Array(fields)] = &parts[..] else { return Err(unexpected("a feed entry")) };
    let number: u64 = id
        .text()?
        .split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| unexpected("a feed entry id"))?;
    let mut get = std::collections::HashMap::new();
    for pair in fields.chunks(2) {
        if let [name, value] = pair {
            get.insert(name.text()?.to_owned(), value.text()?.to_owned());
        }
    }
    let field = |name: &str| get.get(name).cloned().ok_or_else(|| unexpected("a feed entry field"));
    let ty = *SessionType::ALL
        .get(field("t")?.parse::<usize>().map_err(|_| unexpected("a type"))?)
        .ok_or_else(|| unexpected("a type"))?;
    Ok(match field("o")?.as_str() {
        "upsert" => {
            render::ChangeView::Put { number, ty, quoted_id: field("q")?.into(), json: field("j")?.into() }
        }
        "drop" => render::ChangeView::Drop { number, ty },
        "delete" => render::ChangeView::Remove { number, ty, id: field("d")?.into(), why: Removal::Delete },
        "expire" => render::ChangeView::Remove { number, ty, id: field("d")?.into(), why: Removal::Expire },
        _ => return Err(unexpected("a feed entry op")),
    })
}

/// Refuses a server older than [`MIN_SERVER_MAJOR`] by the `redis_version` of `INFO server`.
fn check_server_version(info: &str) -> Result<()> {
    let version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).map(str::trim);
    let major = version.and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= MIN_SERVER_MAJOR => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "the Redis server is version {}; the redis backend needs {MIN_SERVER_MAJOR} or later",
                version.unwrap_or("unknown")
            ),
        )),
    }
}
