//! What users would run instead of a durable sessionstore, on the same disk and the same workload as
//! ss-durable: Redis with an append-only file and SQLite in WAL mode.
//!
//!     ss-durable-peers --data target/bench-data/n100000-s1024 --dir DIR [--secs 2] [--threads 8]
//!                      [--redis-port P] [--only redis|sqlite]
//!
//! Stores (one JSON line per store and writer count, comparison/run.py's protocol):
//!  - "redis-always", "redis-everysec": a redis-server already running on 127.0.0.1:P (comparison/run.py
//!    starts it with `appendonly yes` and its --dir on the disk being measured; this program checks that
//!    and never starts or stops a server). All of sessions.jsonl is loaded first, pipelined in batches
//!    of 1000, so that the append-only file holds it as our journal does; then 1 and --threads clients,
//!    one connection each, SET the sessions of update.jsonl under "session:<session_id>" in turn for
//!    --secs, with `appendfsync always` and then `appendfsync everysec` (CONFIG SET on the same server).
//!    Without --redis-port the Redis part is an error record. run.py runs this part under `taskset -c 0`
//!    with the server, as the redis row does (a loopback round trip between two vCPUs pays for waking the
//!    idle one: measured here, 81 µs instead of 8 µs per SET under everysec with one client);
//!  - "sqlite-wal-full", "sqlite-wal-normal": a database in DIR/sqlite, table sessions(session_id TEXT
//!    PRIMARY KEY, json TEXT), journal_mode WAL, loaded with all of sessions.jsonl (transactions of
//!    1000 rows, then a checkpoint); then 1 and --threads threads, one connection each (busy_timeout
//!    30 s), upsert (INSERT ... ON CONFLICT DO UPDATE) one session of update.jsonl per transaction for
//!    --secs, with `synchronous=FULL` and then `synchronous=NORMAL`.
//!
//! Every call is timed: p50_ns/p99_ns/max_ns are over all the writers' calls; ops_per_s counts the calls
//! that ended within the --secs window (ops: all of them, elapsed_s: until the last one ended). A part
//! that fails prints {"row":"durable","case":"peer","store":...,"error":...}, the other part still runs,
//! and the exit status is 1. DIR is emptied and reused; it is removed at the end unless SS_KEEP_DIR is set.

#[path = "../cli.rs"]
mod cli;

use cli::arg;
use redis::IntoConnectionInfo;
use rusqlite::Connection;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// One line of a workload file: the session's id (from its JSON) and the JSON itself.
struct Session {
    id: String,
    key: String,
    json: String,
}

#[derive(serde::Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    session_id: Cow<'a, str>,
}

fn sessions(path: &str) -> Vec<Session> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let id = serde_json::from_str::<IdOnly>(l)
                .unwrap_or_else(|e| panic!("{path}: a line without a session_id: {e}"))
                .session_id
                .into_owned();
            Session { key: format!("session:{id}"), id, json: l.to_owned() }
        })
        .collect()
}

fn at(sorted: &[u64], q: f64) -> u64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * q) as usize).copied().unwrap_or(0)
}

/// What one measurement gives.
struct Run {
    /// Calls made, and those of them that ended within the --secs window.
    ops: usize,
    in_window: usize,
    secs: f64,
    /// From the start to the end of the last call: SQLite's busy handler can keep a writer waiting past
    /// the window (its call then ends after the others have stopped).
    elapsed: f64,
    p50_ns: u64,
    p99_ns: u64,
    max_ns: u64,
}

/// One writer's calls: their latencies in ns, and how many ended within the window.
struct Calls {
    latencies: Vec<u64>,
    in_window: usize,
}

/// One writer's loop: `op` on `updates` in turn, from `offset`, for `secs`.
fn time_for(
    secs: f64,
    updates: &[Session],
    offset: usize,
    mut op: impl FnMut(&Session) -> Result<(), String>,
) -> Result<Calls, String> {
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut in_window = 0;
    let start = Instant::now();
    let mut i = offset;
    while start.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        op(&updates[i % updates.len()])?;
        let end = Instant::now();
        latencies.push((end - t).as_nanos() as u64);
        if (end - start).as_secs_f64() <= secs {
            in_window += 1;
        }
        i += 1;
    }
    Ok(Calls { latencies, in_window })
}

/// Runs `body(writer, barrier)` on `writers` threads. Each body connects, waits on the barrier (also when
/// it failed to connect, so that no one waits forever), then runs its loop; the clock starts when all
/// have passed the barrier and stops when the last one is done.
fn drive<F>(writers: usize, secs: f64, body: F) -> Result<Run, String>
where
    F: Fn(usize, &Barrier) -> Result<Calls, String> + Sync,
{
    let barrier = Barrier::new(writers + 1);
    let (results, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let (body, barrier) = (&body, &barrier);
                s.spawn(move || body(t, barrier))
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<Result<Calls, String>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a writer panicked".to_owned())))
            .collect();
        (results, start.elapsed().as_secs_f64())
    });
    let (mut all, mut in_window) = (Vec::new(), 0);
    for r in results {
        let calls = r?;
        all.extend(calls.latencies);
        in_window += calls.in_window;
    }
    all.sort_unstable();
    Ok(Run {
        ops: all.len(),
        in_window,
        secs,
        elapsed,
        p50_ns: at(&all, 0.5),
        p99_ns: at(&all, 0.99),
        max_ns: all.last().copied().unwrap_or(0),
    })
}

struct Out {
    n: usize,
    size: usize,
    failed: bool,
}

impl Out {
    fn result(&self, store: &str, writers: usize, r: &Run, extra: &str) {
        println!(
            "{{\"row\":\"durable\",\"case\":\"peer\",\"store\":\"{store}\",\"writers\":{writers},\"ops\":{},\"ops_per_s\":{:.0},\"p50_ns\":{},\"p99_ns\":{},\"max_ns\":{},\"secs\":{},\"elapsed_s\":{:.3},\"n\":{},\"size\":{}{extra}}}",
            r.ops,
            r.in_window as f64 / r.secs,
            r.p50_ns,
            r.p99_ns,
            r.max_ns,
            r.secs,
            r.elapsed,
            self.n,
            self.size
        );
    }

    fn error(&mut self, store: &str, error: &str) {
        self.failed = true;
        eprintln!("ss-durable-peers: {store}: {error}");
        println!(
            "{{\"row\":\"durable\",\"case\":\"peer\",\"store\":\"{store}\",\"n\":{},\"size\":{},\"error\":{}}}",
            self.n,
            self.size,
            serde_json::to_string(error).expect("a string")
        );
    }
}

// ---------------------------------------------------------------------------------------------- Redis

fn redis_connect(port: u16) -> redis::RedisResult<redis::Connection> {
    // TCP_NODELAY, as hiredis and most clients set it: one request, one reply, no Nagle delay.
    let info = format!("redis://127.0.0.1:{port}/")
        .into_connection_info()?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    redis::Client::open(info)?.get_connection()
}

fn config_get(con: &mut redis::Connection, name: &str) -> Result<String, String> {
    let kv: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con).map_err(|e| e.to_string())?;
    kv.get(1).cloned().ok_or_else(|| format!("CONFIG GET {name} answered {kv:?}"))
}

/// A field of INFO (e.g. "aof_rewrites"), as text.
fn info(con: &mut redis::Connection, section: &str, field: &str) -> Result<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(con).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| format!("INFO {section} has no {field}"))
}

fn info_u64(con: &mut redis::Connection, field: &str) -> Result<u64, String> {
    info(con, "persistence", field)?.parse().map_err(|e| format!("{field}: {e}"))
}

/// Waits until no AOF rewrite runs or is scheduled (loading a large store triggers one): the measurement
/// starts from a quiet server, as ours starts after its load.
fn await_rewrite(con: &mut redis::Connection) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while info_u64(con, "aof_rewrite_in_progress")? != 0 || info_u64(con, "aof_rewrite_scheduled")? != 0 {
        if Instant::now() > deadline {
            return Err("an AOF rewrite still runs after 300 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn redis_part(
    out: &mut Out,
    port: u16,
    sessions: &[Session],
    updates: &[Session],
    secs: f64,
    threads: usize,
) {
    let mut con = match redis_connect(port) {
        Ok(c) => c,
        Err(e) => return out.error("redis", &format!("cannot connect to 127.0.0.1:{port}: {e}")),
    };
    let setup = (|| -> Result<String, String> {
        if config_get(&mut con, "appendonly")? != "yes" {
            return Err(format!("the server on port {port} runs without appendonly yes"));
        }
        let version = info(&mut con, "server", "redis_version")?;
        redis::cmd("FLUSHALL").exec(&mut con).map_err(|e| e.to_string())?;
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendfsync")
            .arg("always")
            .exec(&mut con)
            .map_err(|e| e.to_string())?;
        for chunk in sessions.chunks(1000) {
            let mut pipe = redis::pipe();
            for s in chunk {
                pipe.cmd("SET").arg(&s.key).arg(&s.json).ignore();
            }
            pipe.exec(&mut con).map_err(|e| format!("load: {e}"))?;
        }
        let keys: usize = redis::cmd("DBSIZE").query(&mut con).map_err(|e| e.to_string())?;
        if keys != sessions.len() {
            return Err(format!("DBSIZE is {keys} after loading {} sessions", sessions.len()));
        }
        await_rewrite(&mut con)?;
        Ok(version)
    })();
    let version = match setup {
        Ok(v) => v,
        Err(e) => return out.error("redis", &e),
    };
    for fsync in ["always", "everysec"] {
        let store = format!("redis-{fsync}");
        let set = redis::cmd("CONFIG").arg("SET").arg("appendfsync").arg(fsync).exec(&mut con);
        if let Err(e) =
            set.map_err(|e| e.to_string()).and_then(|_| match config_get(&mut con, "appendfsync")? {
                v if v == fsync => Ok(()),
                v => Err(format!("appendfsync is {v} after CONFIG SET appendfsync {fsync}")),
            })
        {
            out.error(&store, &e);
            continue;
        }
        for writers in [1, threads] {
            let measured = (|| -> Result<(Run, u64, u64), String> {
                await_rewrite(&mut con)?;
                let rewrites = info_u64(&mut con, "aof_rewrites")?;
                let run = drive(writers, secs, |t, barrier| {
                    let c = redis_connect(port);
                    barrier.wait();
                    let mut c = c.map_err(|e| format!("connect: {e}"))?;
                    time_for(secs, updates, t * 7919, |s| {
                        redis::cmd("SET")
                            .arg(&s.key)
                            .arg(&s.json)
                            .exec(&mut c)
                            .map_err(|e| format!("SET: {e}"))
                    })
                })?;
                let rewrites = info_u64(&mut con, "aof_rewrites")? - rewrites;
                Ok((run, rewrites, info_u64(&mut con, "aof_current_size")?))
            })();
            match measured {
                Ok((run, rewrites, aof)) => out.result(
                    &store,
                    writers,
                    &run,
                    &format!(
                        ",\"version\":\"redis {version}\",\"aof_rewrites\":{rewrites},\"aof_bytes\":{aof}"
                    ),
                ),
                Err(e) => out.error(&store, &e),
            }
        }
    }
}

// --------------------------------------------------------------------------------------------- SQLite

// Every write stores a new version number beside the JSON, as the store stamps each write with its
// version and updated_at: the workload cycles through its updates, and SQLite skips rewriting a row
// whose new content equals the old (no WAL frame, then no fsync), so that repeated updates without it
// measured commits that wrote nothing.
const UPSERT: &str = "INSERT INTO sessions (session_id, json, version) VALUES (?1, ?2, ?3) \
                      ON CONFLICT (session_id) DO UPDATE SET json = excluded.json, version = excluded.version";

/// The version each SQLite write stores: one above the last, across writers.
static SQLITE_VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_version() -> i64 {
    SQLITE_VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as i64 + 1
}

/// A connection as each writer opens it: WAL, the given synchronous setting, a busy timeout (writers
/// take turns on WAL's one write lock; SQLite's busy handler sleeps and retries).
fn sqlite_open(path: &Path, synchronous: &str) -> Result<Connection, String> {
    let c = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    c.busy_timeout(Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let mode: String =
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if mode != "wal" {
        return Err(format!("journal_mode is {mode}, not wal"));
    }
    c.execute_batch(&format!("PRAGMA synchronous = {synchronous}")).map_err(|e| e.to_string())?;
    Ok(c)
}

fn sqlite_part(
    out: &mut Out,
    dir: &Path,
    sessions: &[Session],
    updates: &[Session],
    secs: f64,
    threads: usize,
) {
    let path = dir.join("sqlite").join("sessions.db");
    let setup = (|| -> Result<(), String> {
        std::fs::create_dir_all(path.parent().expect("a parent")).map_err(|e| e.to_string())?;
        let mut c = sqlite_open(&path, "FULL")?;
        c.execute_batch("CREATE TABLE sessions (session_id TEXT PRIMARY KEY, json TEXT NOT NULL, version INTEGER NOT NULL)")
            .map_err(|e| e.to_string())?;
        for chunk in sessions.chunks(1000) {
            let tx = c.transaction().map_err(|e| e.to_string())?;
            {
                let mut st = tx.prepare_cached(UPSERT).map_err(|e| e.to_string())?;
                for s in chunk {
                    st.execute((&s.id, &s.json, next_version())).map_err(|e| format!("load: {e}"))?;
                }
            }
            tx.commit().map_err(|e| e.to_string())?;
        }
        let rows: i64 =
            c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0)).map_err(|e| e.to_string())?;
        if rows as usize != sessions.len() {
            return Err(format!("{rows} rows after loading {} sessions", sessions.len()));
        }
        let busy: i64 =
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).map_err(|e| e.to_string())?;
        if busy != 0 {
            return Err("the checkpoint after the load did not complete".to_owned());
        }
        Ok(())
    })();
    if let Err(e) = setup {
        return out.error("sqlite", &e);
    }
    let version = rusqlite::version();
    for (synchronous, store) in [("FULL", "sqlite-wal-full"), ("NORMAL", "sqlite-wal-normal")] {
        for writers in [1, threads] {
            let run = drive(writers, secs, |t, barrier| {
                let c = sqlite_open(&path, synchronous);
                barrier.wait();
                let c = c?;
                let mut st = c.prepare(UPSERT).map_err(|e| e.to_string())?;
                time_for(secs, updates, t * 7919, |s| {
                    st.execute((&s.id, &s.json, next_version()))
                        .map(|_| ())
                        .map_err(|e| format!("upsert: {e}"))
                })
            });
            match run {
                Ok(run) => out.result(store, writers, &run, &format!(",\"version\":\"SQLite {version}\"")),
                Err(e) => out.error(store, &e),
            }
        }
    }
}

fn main() {
    let data = arg("--data").expect("usage: ss-durable-peers --data DIR --dir WORKDIR [--redis-port P]");
    let dir = std::path::PathBuf::from(arg("--dir").expect("--dir"));
    let secs: f64 = arg("--secs").map_or(2.0, |s| s.parse().expect("--secs"));
    let threads: usize = arg("--threads").map_or(8, |s| s.parse().expect("--threads"));
    let port: Option<u16> = arg("--redis-port").map(|s| s.parse().expect("--redis-port"));
    let only = arg("--only");
    if let Some(o) = only.as_deref() {
        assert!(o == "redis" || o == "sqlite", "--only redis|sqlite");
    }
    let wanted = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let all = sessions(&format!("{data}/sessions.jsonl"));
    let updates = sessions(&format!("{data}/update.jsonl"));
    let size: usize =
        data.rsplit("-s").next().and_then(|s| s.parse().ok()).expect("a data directory n<N>-s<SIZE>");
    let mut out = Out { n: all.len(), size, failed: false };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));

    if wanted("redis") {
        match port {
            Some(port) => redis_part(&mut out, port, &all, &updates, secs, threads),
            None => out.error(
                "redis",
                "no --redis-port: start redis-server with --appendonly yes and pass its port",
            ),
        }
    }
    if wanted("sqlite") {
        sqlite_part(&mut out, &dir, &all, &updates, secs, threads);
    }
    if std::env::var_os("SS_KEEP_DIR").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if out.failed {
        std::process::exit(1);
    }
}
