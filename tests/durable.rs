//! Durable stores: reopening gives back what was acknowledged, in order; the directory lock; compaction;
//! injected I/O faults; torn tails and bit flips at the store level; and kill -9 crash cycles against a
//! reference (an in-memory store running the same operations), for every sync policy.
//!
//! `SS_CRASH_CYCLES` sets the kill cycles per policy (50 by default; `make test-long` runs 1000).

use serde_json::Value;
use sessionstore::{Config, ErrorKind, FaultPlan, Filter, SessionType, Store, Sync};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("ss-durable-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path, sync: Sync) -> Config {
    Config { path: Some(dir.to_path_buf()), sync, sync_interval_ms: 5, ..Config::default() }
}

fn open(dir: &Path, sync: Sync) -> Store {
    Store::open(config(dir, sync)).unwrap()
}

/// Everything a caller can observe: each type's sessions in listing order, without `updated_at`
/// (which the store sets from the clock).
fn state(store: &Store) -> Vec<Value> {
    SessionType::ALL
        .iter()
        .map(|&ty| {
            let mut sessions: Value =
                serde_json::from_str(&store.share(Some(ty)).get_all_sessions(Filter::default()).unwrap())
                    .unwrap();
            for s in sessions.as_array_mut().unwrap() {
                s.as_object_mut().unwrap().remove("updated_at");
            }
            sessions
        })
        .collect()
}

fn journals(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

fn durability(store: &Store) -> sessionstore::DurabilityStats {
    store.stats().unwrap().durability.expect("a durable store reports its durability")
}

#[test]
fn every_mutation_survives_a_reopen_in_order() {
    let dir = TempDir::new("reopen");
    let expected = {
        let agent = open(dir.path(), Sync::Always);
        let team = agent.share(Some(SessionType::Team));
        agent.upsert(br#"{"session_id":"a1","user_id":"u1","agent_id":"x","created_at":5}"#).unwrap();
        agent.upsert(br#"{"session_id":"a2","user_id":"u2","memory":{"runs":[1]}}"#).unwrap();
        agent
            .upsert_many(
                br#"[{"session_id":"a3","created_at":1},{"session_id":"a1","user_id":"u1","agent_id":"y"}]"#,
            )
            .unwrap();
        team.upsert(br#"{"session_id":"t1","team_id":"T"}"#).unwrap();
        agent.rename_session("a2", "renamed", None).unwrap();
        assert_eq!(agent.delete_session("a3", None).unwrap(), 1);
        agent.import(br#"{"w1":{"session_id":"w1","session_type":"workflow","created_at":9}}"#).unwrap();
        agent.upsert(br#"{"session_id":"a4"}"#).unwrap();
        assert_eq!(agent.delete_sessions(br#"["a4","nope"]"#, None).unwrap(), 1);
        team.upsert(br#"{"session_id":"t2"}"#).unwrap();
        assert_eq!(team.drop_sessions().unwrap(), 2);
        team.upsert(br#"{"session_id":"t3"}"#).unwrap();
        (state(&agent), agent.export().unwrap())
    };
    for round in 0..3 {
        let store = open(dir.path(), Sync::Always);
        assert_eq!((state(&store), store.export().unwrap()), expected, "round {round}");
        let report = durability(&store).recovery;
        assert_eq!(report.torn_tail_bytes_dropped, 0);
        if round == 1 {
            store.compact().unwrap();
            assert_eq!(durability(&store).compactions, 1);
        }
        if round == 2 {
            assert!(report.snapshot_records > 0, "{report:?}");
        }
    }
}

#[test]
fn versions_and_change_numbers_survive_reopens_and_compactions() {
    let dir = TempDir::new("numbers");
    let version =
        |stored: String| serde_json::from_str::<Value>(&stored).unwrap()["version"].as_u64().unwrap();
    {
        let store = open(dir.path(), Sync::Always);
        assert_eq!(version(store.upsert(br#"{"session_id":"a"}"#).unwrap()), 1);
        assert_eq!(version(store.upsert(br#"{"session_id":"b"}"#).unwrap()), 2);
        assert_eq!(store.delete_session("b", None).unwrap(), 1); // change 3, a removal
    }
    {
        let store = open(dir.path(), Sync::Always);
        assert_eq!(store.stats().unwrap().feed.latest, 3);
        // A follower that had seen change 1 goes on with the changes replayed from the journal.
        let changes: Value = serde_json::from_str(&store.changes(1, 10, true).unwrap()).unwrap();
        assert_eq!(
            (changes["changes"][0]["seq"].as_u64(), changes["changes"][1]["op"].as_str()),
            (Some(2), Some("delete"))
        );
        assert_eq!(version(store.read("a", None).unwrap()), 1, "a session keeps its version");
        // A compare-and-set with a version from before the reopen means what it meant.
        assert_eq!(
            store.upsert_if(br#"{"session_id":"a"}"#, Some(2)).unwrap_err().kind,
            ErrorKind::VersionMismatch
        );
        assert_eq!(version(store.upsert(br#"{"session_id":"c"}"#).unwrap()), 4);
        assert_eq!(store.delete_session("c", None).unwrap(), 1); // change 5, a removal
        store.compact().unwrap();
    }
    {
        // The snapshot ends on a removal, which left no session behind: its mark carries the number.
        let store = open(dir.path(), Sync::Always);
        assert!(durability(&store).recovery.snapshot_records > 0);
        assert_eq!(store.stats().unwrap().feed.latest, 5);
        assert_eq!(store.changes(4, 10, false).unwrap_err().kind, ErrorKind::FeedTruncated, "compacted away");
        assert_eq!(version(store.upsert(br#"{"session_id":"d"}"#).unwrap()), 6);
        assert_eq!(store.upsert_if(br#"{"session_id":"a"}"#, Some(1)).map(version).unwrap(), 7);
    }
    let store = open(dir.path(), Sync::Always);
    assert_eq!((store.stats().unwrap().feed.latest, version(store.read("a", None).unwrap())), (7, 7));
    // The directory keeps its identity: numbers from it mean the same after a reopen.
    let id = store.stats().unwrap().feed.store;
    drop(store);
    assert_eq!(open(dir.path(), Sync::Always).stats().unwrap().feed.store, id);
    std::fs::write(dir.path().join("IDENTITY"), "not an identity\n").unwrap();
    assert_eq!(Store::open(config(dir.path(), Sync::Always)).err().map(|e| e.kind), Some(ErrorKind::Corrupt));
}

#[test]
fn one_store_owns_a_directory() {
    let dir = TempDir::new("lock");
    let first = open(dir.path(), Sync::Os);
    let err = Store::open(config(dir.path(), Sync::Os)).err().expect("a second open must fail");
    assert_eq!(err.kind, ErrorKind::Locked, "{err}");
    let shared = first.share(Some(SessionType::Team));
    shared.upsert(br#"{"session_id":"t"}"#).unwrap();
    drop(first);
    assert_eq!(Store::open(config(dir.path(), Sync::Os)).err().map(|e| e.kind), Some(ErrorKind::Locked));
    drop(shared);
    let again = open(dir.path(), Sync::Os);
    assert!(again.share(Some(SessionType::Team)).read("t", None).is_ok());
}

#[test]
fn bad_directories_are_clear_errors() {
    let dir = TempDir::new("bad");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(config(&file, Sync::Always)).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Io, "{err}");
    std::fs::write(dir.path().join("journal-0000000000000000.log"), b"not a journal at all, no").unwrap();
    let err = Store::open(config(dir.path(), Sync::Always)).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Corrupt, "{err}");
    assert!(err.message.contains("journal-0000000000000000.log") && err.message.contains("byte 0"), "{err}");
}

#[test]
fn the_journal_is_compacted_when_it_outgrows_the_data() {
    let dir = TempDir::new("compact");
    let config = Config { compact_factor: 2, compact_min_bytes: 0, ..config(dir.path(), Sync::Os) };
    let store = Store::open(config.clone()).unwrap();
    let body = "x".repeat(200);
    for i in 0..2000 {
        store
            .upsert(
                format!(r#"{{"session_id":"s{}","created_at":{i},"memory":"{body}"}}"#, i % 10).as_bytes(),
            )
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    // The last trigger may come while a snapshot is being written: wait for the one after it.
    while durability(&store).journal_bytes > 100 << 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let d = durability(&store);
    assert!(d.compactions > 0 && d.compaction_failures == 0, "{d:?}");
    assert!(d.snapshot_bytes > 0 && d.journal_bytes < 2000 * 200, "{d:?}");
    let expected = state(&store);
    drop(store);
    let store = Store::open(config).unwrap();
    assert_eq!(state(&store), expected);
    assert!(durability(&store).recovery.snapshot_records > 0);
}

type Call<'a> = Box<dyn Fn() -> sessionstore::Result<()> + 'a>;

#[test]
fn a_full_disk_fails_the_write_and_changes_nothing() {
    let dir = TempDir::new("full");
    let plan = FaultPlan::new();
    let store = Store::open_with_faults(config(dir.path(), Sync::Always), Some(Arc::clone(&plan))).unwrap();
    store.upsert(br#"{"session_id":"kept","created_at":1}"#).unwrap();
    let before = (state(&store), store.stats().unwrap().bytes);
    for budget in [0, 3, 20] {
        plan.fail_writes_after(budget);
        let cases: [(&str, Call); 5] = [
            ("upsert", Box::new(|| store.upsert(br#"{"session_id":"lost"}"#).map(drop))),
            (
                "batch",
                Box::new(|| store.upsert_many(br#"[{"session_id":"l1"},{"session_id":"l2"}]"#).map(drop)),
            ),
            ("rename", Box::new(|| store.rename_session("kept", "new name", None).map(drop))),
            ("delete", Box::new(|| store.delete_session("kept", None).map(drop))),
            ("drop", Box::new(|| store.drop_sessions().map(drop))),
        ];
        for (what, call) in cases {
            let err = call().expect_err(what);
            assert_eq!(err.kind, ErrorKind::Io, "{what}: {err}");
            assert_eq!((state(&store), store.stats().unwrap().bytes), before, "{what} changed the store");
        }
    }
    plan.clear_write_faults();
    store.upsert(br#"{"session_id":"after","created_at":2}"#).unwrap();
    let expected = state(&store);
    drop(store);
    assert_eq!(state(&open(dir.path(), Sync::Always)), expected);
}

#[test]
fn a_failed_fsync_poisons_writes_but_not_reads() {
    let dir = TempDir::new("fsync");
    let plan = FaultPlan::new();
    let store = Store::open_with_faults(config(dir.path(), Sync::Always), Some(Arc::clone(&plan))).unwrap();
    store.upsert(br#"{"session_id":"a","created_at":1}"#).unwrap();
    plan.fail_next_fsync();
    let err = store.upsert(br#"{"session_id":"b","created_at":2}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io, "{err}");
    let err = store.upsert(br#"{"session_id":"c"}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Poisoned, "{err}");
    assert_eq!(store.delete_session("a", None).unwrap_err().kind, ErrorKind::Poisoned);
    assert_eq!(store.sync().unwrap_err().kind, ErrorKind::Poisoned);
    assert!(store.read("a", None).is_ok(), "reads go on");
    assert!(durability(&store).poisoned);
    drop(store);
    // What reached the kernel is on disk: the session whose fsync failed included.
    let store = open(dir.path(), Sync::Always);
    assert!(store.read("a", None).is_ok() && store.read("b", None).is_ok());
    assert!(store.read("c", None).is_err());
    store.upsert(br#"{"session_id":"c"}"#).unwrap();
}

#[test]
fn an_interval_store_that_fails_to_fsync_is_poisoned() {
    let dir = TempDir::new("interval");
    let plan = FaultPlan::new();
    let store = Store::open_with_faults(config(dir.path(), Sync::Interval), Some(Arc::clone(&plan))).unwrap();
    plan.fail_next_fsync();
    store.upsert(br#"{"session_id":"a"}"#).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !durability(&store).poisoned && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(store.upsert(br#"{"session_id":"b"}"#).unwrap_err().kind, ErrorKind::Poisoned);
}

#[test]
fn a_torn_batch_is_all_or_nothing() {
    let dir = TempDir::new("torn");
    let (before, after) = {
        let store = open(dir.path(), Sync::Os);
        store.upsert(br#"{"session_id":"a","created_at":1}"#).unwrap();
        let before = state(&store);
        store
            .upsert_many(br#"[{"session_id":"b","created_at":2},{"session_id":"a","created_at":3},{"session_id":"c","created_at":4}]"#)
            .unwrap();
        (before, state(&store))
    };
    let journal = journals(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&journal).unwrap();
    {
        let store = open(dir.path(), Sync::Os);
        assert_eq!(durability(&store).recovery.journal_records, 2);
    }
    assert_eq!(std::fs::read(&journal).unwrap(), bytes, "a clean reopen changes nothing");
    // Every cut inside the batch's record gives the state before it.
    let record_start = 24 + frame_len(&bytes[24..]);
    for cut in (record_start..bytes.len()).step_by(7) {
        std::fs::write(&journal, &bytes[..cut]).unwrap();
        let store = open(dir.path(), Sync::Os);
        assert_eq!(state(&store), before, "cut at {cut}");
        assert_eq!(durability(&store).recovery.torn_tail_bytes_dropped as usize, cut - record_start);
    }
    std::fs::write(&journal, &bytes).unwrap();
    assert_eq!(state(&open(dir.path(), Sync::Os)), after);
    // A flipped bit in the first record, with a whole record after it, is corruption.
    let mut flipped = bytes.clone();
    flipped[24 + 8 + 3] ^= 0x04;
    std::fs::write(&journal, &flipped).unwrap();
    let err = Store::open(config(dir.path(), Sync::Os)).err().expect("corrupt");
    assert_eq!(err.kind, ErrorKind::Corrupt, "{err}");
    assert!(err.message.contains("byte 24"), "{err}");
}

/// The length of the frame at the start of `bytes`: its 8-byte header and payload.
fn frame_len(bytes: &[u8]) -> usize {
    8 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize
}

// ---------------------------------------------------------------------------------------------------
// kill -9 cycles

/// A small deterministic generator (xorshift64*), so that parent and child derive the same operations
/// from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn session(rng: &mut Rng, i: u64) -> String {
    let id = rng.below(24);
    let user = ["null", "\"u1\"", "\"u2\""][rng.below(3) as usize];
    let runs = "{\"run\":\"r\"},".repeat(rng.below(40) as usize);
    format!(
        r#"{{"session_id":"s{id}","user_id":{user},"agent_id":"e{}","created_at":{i},"memory":{{"runs":[{runs}{{"n":{i}}}]}}}}"#,
        id % 3
    )
}

/// Operation `i` of the run seeded `seed`, applied to `store`; returns its outcome as text.
fn operation(store: &Store, seed: u64, i: u64) -> String {
    let mut rng =
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i + 1).wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let handle = store.share(Some(if rng.below(5) == 0 { SessionType::Team } else { SessionType::Agent }));
    let outcome = match rng.below(20) {
        0..=8 => handle.upsert(session(&mut rng, i).as_bytes()).map(|_| 1),
        9..=11 => {
            let n = 1 + rng.below(4);
            let batch: Vec<String> = (0..n).map(|_| session(&mut rng, i)).collect();
            handle.upsert_many(format!("[{}]", batch.join(",")).as_bytes()).map(|_| n as usize)
        }
        12..=13 => handle.delete_session(&format!("s{}", rng.below(24)), None),
        14 => {
            let ids: Vec<String> = (0..3).map(|_| format!("\"s{}\"", rng.below(24))).collect();
            handle.delete_sessions(format!("[{}]", ids.join(",")).as_bytes(), None)
        }
        15..=16 => {
            handle.rename_session(&format!("s{}", rng.below(24)), &format!("name {i}"), None).map(|_| 1)
        }
        17 => {
            let id = 100 + rng.below(8);
            let body =
                format!(r#"{{"s{id}":{{"session_id":"s{id}","session_type":"workflow","created_at":{i}}}}}"#);
            handle.import(body.as_bytes())
        }
        18 if rng.below(8) == 0 => handle.drop_sessions(),
        _ => handle.read(&format!("s{}", rng.below(24)), None).map(|_| 0),
    };
    match outcome {
        Ok(n) => format!("ok {n}"),
        Err(e) => format!("err {:?}", e.kind),
    }
}

fn crash_config(dir: &Path, sync: Sync) -> Config {
    // Compactions (and kills in the middle of them) every few dozen operations.
    Config { compact_factor: 1, compact_min_bytes: 16 << 10, ..config(dir, sync) }
}

/// The child side: runs operations until killed, reporting each acknowledged one on stdout. A no-op
/// unless the parent set SS_CRASH_DIR.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os("SS_CRASH_DIR") else { return };
    let seed: u64 = std::env::var("SS_CRASH_SEED").unwrap().parse().unwrap();
    let name = std::env::var("SS_CRASH_SYNC").unwrap();
    let sync = Sync::NAMES.iter().find(|(n, _)| *n == name).expect("a sync policy").1;
    let store = Store::open(crash_config(Path::new(&dir), sync)).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for i in 0.. {
        let outcome = operation(&store, seed, i);
        writeln!(out, "{i} {outcome}").unwrap();
        out.flush().unwrap();
    }
}

fn crash_cycles(sync: Sync) {
    let name = sync.name();
    let cycles: u64 = std::env::var("SS_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = TempDir::new(&format!("crash-{name}"));
    let reference = Store::open(Config::default()).unwrap();
    let mut rng = Rng(0x5EED ^ name.len() as u64);
    let (mut acknowledged, mut torn, mut unacknowledged_applied) = (0u64, 0u64, 0u64);
    let (mut from_snapshot, mut leftovers) = (0u64, 0u64);
    for cycle in 0..cycles {
        let seed = rng.next();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1", "-q"])
            .env("SS_CRASH_DIR", dir.path())
            .env("SS_CRASH_SEED", seed.to_string())
            .env("SS_CRASH_SYNC", name)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The test harness writes its own lines first.
        let ready = lines.by_ref().map_while(Result::ok).any(|line| line == "ready");
        assert!(ready, "cycle {cycle}: the child did not open the store");
        let delay = Duration::from_micros(2_000 + rng.below(40_000));
        let started = Instant::now();
        let mut outcomes = Vec::new();
        // Read while waiting, so the child never blocks on a full pipe.
        while started.elapsed() < delay {
            match lines.next() {
                Some(Ok(line)) => outcomes.push(line),
                _ => break,
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        outcomes.extend(lines.map_while(Result::ok));
        // A line cut by the kill is not an acknowledgement.
        let acked: Vec<&String> =
            outcomes.iter().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).collect();
        for (i, line) in acked.iter().enumerate() {
            let expected = format!("{i} {}", operation(&reference, seed, i as u64));
            assert_eq!(**line, expected, "cycle {cycle}: the child saw another state than the reference");
        }
        acknowledged += acked.len() as u64;
        let recovered = Store::open(crash_config(dir.path(), Sync::Os)).unwrap();
        let report = durability(&recovered).recovery;
        torn += u64::from(report.torn_tail_bytes_dropped > 0);
        from_snapshot += u64::from(report.snapshot_records > 0);
        leftovers += report.files_removed;
        let got = state(&recovered);
        if got != state(&reference) {
            // The operation in flight when the kill came may have reached the journal.
            operation(&reference, seed, acked.len() as u64);
            unacknowledged_applied += 1;
            assert_eq!(
                got,
                state(&reference),
                "cycle {cycle} ({name}): the recovered store is no prefix of the operations \
                 ({} acknowledged)",
                acked.len()
            );
        }
        recovered.check_invariants().unwrap();
    }
    eprintln!(
        "crash cycles ({name}): {cycles} kills, {acknowledged} acknowledged operations all recovered, \
         {torn} torn tails cut, {unacknowledged_applied} in-flight operations found applied, \
         {from_snapshot} recoveries from a snapshot, {leftovers} files of interrupted compactions removed"
    );
    assert!(from_snapshot > 0, "no cycle recovered from a snapshot: compaction was not exercised");
}

#[test]
fn kill_9_loses_nothing_acknowledged_sync_always() {
    crash_cycles(Sync::Always);
}

#[test]
fn kill_9_loses_nothing_acknowledged_sync_interval() {
    crash_cycles(Sync::Interval);
}

#[test]
fn kill_9_loses_nothing_acknowledged_sync_os() {
    crash_cycles(Sync::Os);
}
