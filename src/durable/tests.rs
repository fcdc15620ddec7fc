use super::frame::{FRAME_HEADER, HEADER_LEN};
use super::*;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// A directory under the system temp dir, unique to this test run, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("durable-{tag}-{}-{n}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn rec(i: usize) -> Vec<u8> {
    format!("record-{i:05}-{}", "x".repeat(i % 7)).into_bytes()
}

fn open(dir: &Path, sync: SyncPolicy) -> Result<(Journal, Recovered)> {
    Journal::open(dir, JournalOptions::new(sync))
}

fn open_with(dir: &Path, sync: SyncPolicy, plan: &Arc<FaultPlan>) -> (Journal, Recovered) {
    Journal::open(dir, JournalOptions { sync, faults: Some(Arc::clone(plan)) }).unwrap()
}

fn all(records: Option<Records>) -> Vec<Vec<u8>> {
    records.map(|r| r.collect::<Result<Vec<_>>>().unwrap()).unwrap_or_default()
}

/// Reopens `dir` and returns (snapshot records, journal records, report), closing again.
fn reload(dir: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, RecoveryReport) {
    let (j, r) = open(dir, SyncPolicy::Os).unwrap();
    let out = (all(r.snapshot), all(Some(r.journal)), r.report);
    j.close().unwrap();
    out
}

fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(journal_name(generation))
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

/// Opens `dir` and reads its records back (a snapshot's frames are checked as they are read), expecting
/// the corrupt status for `file` at `offset`.
fn expect_corrupt(dir: &Path, file: &str, offset: u64) {
    let err = match open(dir, SyncPolicy::Os) {
        Err(e) => e,
        Ok((j, r)) => {
            let mut records = r.snapshot.into_iter().flatten().chain(r.journal);
            let err = records.find_map(|record| record.err()).expect("open or the reading must fail");
            j.close().unwrap();
            err
        }
    };
    assert_eq!(err.kind, DurableErrorKind::Corrupt, "{err}");
    assert!(err.message.contains(file), "{err}");
    assert!(err.message.contains(&format!("byte {offset}")), "{err}");
}

/// Frame start offsets of the records `recs` written in order into one journal.
fn frame_starts(recs: &[Vec<u8>]) -> Vec<u64> {
    let mut at = HEADER_LEN;
    recs.iter()
        .map(|r| {
            let start = at;
            at += FRAME_HEADER + r.len() as u64;
            start
        })
        .collect()
}

#[test]
fn round_trip_in_order() {
    let dir = TempDir::new("roundtrip");
    let (j, r) = open(dir.path(), SyncPolicy::Always).unwrap();
    assert!(r.snapshot.is_none());
    assert_eq!(r.report.journal_records, 0);
    let recs: Vec<_> = (0..100).map(rec).collect();
    for p in &recs {
        let lsn = j.append(p).unwrap();
        j.commit(lsn).unwrap();
    }
    j.close().unwrap();
    let (snap, journal, report) = reload(dir.path());
    assert!(snap.is_empty());
    assert_eq!(journal, recs);
    assert_eq!(report.journal_records, 100);
    assert_eq!(report.torn_tail_bytes_dropped, 0);
    let bytes: u64 = HEADER_LEN + recs.iter().map(|r| FRAME_HEADER + r.len() as u64).sum::<u64>();
    assert_eq!(report.journal_bytes, bytes);
}

#[test]
fn round_trip_with_snapshot_and_rotations() {
    let dir = TempDir::new("snapshot");
    let (j, _) = open(dir.path(), SyncPolicy::Always).unwrap();
    for i in 0..10 {
        j.append(&rec(i)).unwrap();
    }
    // A rotation without a snapshot (a crash before it was written): both journals are replayed.
    let g1 = j.rotate().unwrap();
    assert_eq!(g1, 1);
    for i in 10..15 {
        j.append(&rec(i)).unwrap();
    }
    drop(j);
    let (snap, journal, report) = reload(dir.path());
    assert!(snap.is_empty());
    assert_eq!(journal, (0..15).map(rec).collect::<Vec<_>>());
    assert_eq!(report.journal_files, 2);

    let (j, _) = open(dir.path(), SyncPolicy::Always).unwrap();
    let g = j.rotate().unwrap();
    assert_eq!(g, 2);
    j.append(b"after rotate").unwrap();
    let state: Vec<Vec<u8>> = (0..5).map(|i| format!("state-{i}").into_bytes()).collect();
    let stats = j
        .write_snapshot(g, |w| {
            for s in &state {
                w.record(s)?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(stats.records, 5);
    assert!(!journal_path(dir.path(), 0).exists() && !journal_path(dir.path(), 1).exists());
    let sizes = j.sizes();
    assert_eq!(sizes.generation, 2);
    assert_eq!(sizes.snapshot_generation, Some(2));
    assert_eq!(sizes.snapshot_bytes, fs::metadata(dir.path().join(snapshot_name(2))).unwrap().len());
    assert_eq!(sizes.journal_bytes, fs::metadata(journal_path(dir.path(), 2)).unwrap().len());
    j.append(b"after snapshot").unwrap();
    // A snapshot of a generation not newer than the last one is refused.
    assert_eq!(j.write_snapshot(g, |_| Ok(())).unwrap_err().kind, DurableErrorKind::Invalid);
    j.close().unwrap();

    let (snap, journal, report) = reload(dir.path());
    assert_eq!(snap, state);
    assert_eq!(journal, vec![b"after rotate".to_vec(), b"after snapshot".to_vec()]);
    assert_eq!(report.snapshot_generation, Some(2));
    assert_eq!(report.snapshot_records, 5);
    assert_eq!(report.journal_records, 2);
}

#[test]
fn empty_and_foreign_inputs_are_refused() {
    let dir = TempDir::new("invalid");
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    assert_eq!(j.append(b"").unwrap_err().kind, DurableErrorKind::Invalid);
    drop(j);
    fs::write(journal_path(dir.path(), 0), b"this is not a journal file at all").unwrap();
    expect_corrupt(dir.path(), &journal_name(0), 0);
}

#[test]
fn torn_tail_at_every_offset_of_the_last_three_records() {
    let dir = TempDir::new("torn");
    let recs: Vec<_> = (0..10).map(|i| rec(i * 3)).collect();
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    for r in &recs {
        j.append(r).unwrap();
    }
    j.close().unwrap();
    let path = journal_path(dir.path(), 0);
    let original = fs::read(&path).unwrap();
    let starts = frame_starts(&recs);
    let total = original.len() as u64;
    let mut cuts = 0;
    for cut in starts[recs.len() - 3]..total {
        fs::write(&path, &original[..cut as usize]).unwrap();
        // Records whose frame ends at or before the cut survive; the rest is a torn tail.
        let whole =
            (0..recs.len()).filter(|&i| starts[i] + FRAME_HEADER + recs[i].len() as u64 <= cut).count();
        let good_end = starts.get(whole).copied().unwrap_or(total);
        cuts += 1;
        let (j, r) = open(dir.path(), SyncPolicy::Os).unwrap();
        assert_eq!(r.report.torn_tail_bytes_dropped, cut - good_end, "cut at {cut}");
        assert_eq!(all(Some(r.journal)), recs[..whole], "cut at {cut}");
        assert_eq!(fs::metadata(&path).unwrap().len(), good_end, "cut at {cut}");
        j.append(b"appended after recovery").unwrap();
        j.close().unwrap();
        let (_, journal, report) = reload(dir.path());
        assert_eq!(report.torn_tail_bytes_dropped, 0, "cut at {cut}");
        assert_eq!(journal.len(), whole + 1, "cut at {cut}");
        assert_eq!(journal[..whole], recs[..whole]);
        assert_eq!(journal[whole], b"appended after recovery");
    }
    assert_eq!(cuts, total - starts[recs.len() - 3]);
    assert!(cuts > 3 * FRAME_HEADER);
}

#[test]
fn torn_final_checksum_and_zero_fill_are_cut() {
    let dir = TempDir::new("tornfinal");
    let recs: Vec<_> = (0..3).map(rec).collect();
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    for r in &recs {
        j.append(r).unwrap();
    }
    j.close().unwrap();
    let path = journal_path(dir.path(), 0);
    let original = fs::read(&path).unwrap();
    // The last frame's payload damaged, reaching the end of the file: a torn append.
    flip(&path, original.len() as u64 - 1);
    let (_, journal, report) = reload(dir.path());
    assert_eq!(journal, recs[..2]);
    assert_eq!(report.torn_tail_bytes_dropped, FRAME_HEADER + recs[2].len() as u64);
    // Zeros after the last frame: the file was extended, the data never written.
    let mut zeros = fs::read(&path).unwrap();
    zeros.extend_from_slice(&[0u8; 100]);
    fs::write(&path, zeros).unwrap();
    let (_, journal, report) = reload(dir.path());
    assert_eq!(journal, recs[..2]);
    assert_eq!(report.torn_tail_bytes_dropped, 100);
}

#[test]
fn torn_header_of_a_new_journal_is_rewritten() {
    // A rotation killed between creating the new journal and writing its header leaves it empty, or
    // with part of the header. Reopened twice: the header must be whole for the second open too.
    for kept in [10, 0] {
        let dir = TempDir::new("tornheader");
        let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
        j.append(b"one").unwrap();
        j.rotate().unwrap();
        j.close().unwrap();
        let path = journal_path(dir.path(), 1);
        let header = fs::read(&path).unwrap();
        fs::write(&path, &header[..kept]).unwrap();
        let (j, r) = open(dir.path(), SyncPolicy::Os).unwrap();
        assert_eq!(r.report.torn_tail_bytes_dropped, kept as u64);
        j.append(b"two").unwrap();
        j.close().unwrap();
        let (_, journal, _) = reload(dir.path());
        assert_eq!(journal, vec![b"one".to_vec(), b"two".to_vec()], "header cut to {kept} bytes");
    }
}

#[test]
fn bit_flips_are_corruption_with_file_and_offset() {
    let dir = TempDir::new("flip");
    let recs: Vec<_> = (0..5).map(rec).collect();
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    for r in &recs {
        j.append(r).unwrap();
    }
    j.close().unwrap();
    let path = journal_path(dir.path(), 0);
    let original = fs::read(&path).unwrap();
    let middle = frame_starts(&recs)[2];
    let name = journal_name(0);
    // In the payload of the middle record.
    flip(&path, middle + FRAME_HEADER + 3);
    expect_corrupt(dir.path(), &name, middle);
    // In its checksum.
    fs::write(&path, &original).unwrap();
    flip(&path, middle + 5);
    expect_corrupt(dir.path(), &name, middle);
    // In its length: longer than the file, with whole frames after it.
    fs::write(&path, &original).unwrap();
    flip(&path, middle + 2);
    expect_corrupt(dir.path(), &name, middle);
    // In its length: shorter, so the checksum fails with data after it.
    fs::write(&path, &original).unwrap();
    flip(&path, middle);
    expect_corrupt(dir.path(), &name, middle);
    // Damage to the last record of a journal that is not the last one is not a torn append.
    fs::write(&path, &original).unwrap();
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    j.rotate().unwrap();
    j.close().unwrap();
    flip(&path, original.len() as u64 - 1);
    expect_corrupt(dir.path(), &name, frame_starts(&recs)[4]);
    // Nothing was cut or deleted by the failed opens.
    assert_eq!(fs::read(&path).unwrap().len(), original.len());
}

#[test]
fn snapshot_damage_is_corruption() {
    let dir = TempDir::new("snapflip");
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    j.append(b"old").unwrap();
    let g = j.rotate().unwrap();
    j.write_snapshot(g, |w| (0..10).try_for_each(|i| w.record(&rec(i)))).unwrap();
    j.close().unwrap();
    let path = dir.path().join(snapshot_name(g));
    let original = fs::read(&path).unwrap();
    let name = snapshot_name(g);
    let starts = frame_starts(&(0..10).map(rec).collect::<Vec<_>>());
    // A flip in the last record's payload: in a snapshot that is never a torn append.
    flip(&path, original.len() as u64 - FOOTER_LEN - 1);
    expect_corrupt(dir.path(), &name, starts[9]);
    // Cut between two frames: the footer is missing (its bytes would be the last sixteen).
    fs::write(&path, &original[..starts[5] as usize]).unwrap();
    expect_corrupt(dir.path(), &name, starts[5] - FOOTER_LEN);
    // A footer that counts one record too many, or one too few (its checksum made right).
    let footer_at = original.len() - FOOTER_LEN as usize;
    // And one counting more records than the file could hold: refused on open, before anything is sized
    // by it.
    let too_many = (footer_at as u64 - HEADER_LEN) / (FRAME_HEADER + 1) + 1;
    for (count, at) in [
        (11u64, footer_at as u64),
        (9, starts[9]),
        (too_many, footer_at as u64),
        (u64::MAX, footer_at as u64),
    ] {
        let mut bytes = original.clone();
        bytes[footer_at + 4..footer_at + 12].copy_from_slice(&count.to_le_bytes());
        let crc = crc32fast::hash(&bytes[footer_at..footer_at + 12]);
        bytes[footer_at + 12..].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        expect_corrupt(dir.path(), &name, at);
        if count >= too_many {
            let err = open(dir.path(), SyncPolicy::Os).err().expect("refused by the open itself");
            assert!(err.message.contains("more records than the file can hold"), "{err}");
        }
    }
    // A flip in a frame's length, in the middle of the file.
    fs::write(&path, &original).unwrap();
    flip(&path, starts[4] + 2);
    expect_corrupt(dir.path(), &name, starts[4]);
    // A bad header.
    fs::write(&path, &original).unwrap();
    flip(&path, 9);
    expect_corrupt(dir.path(), &name, 0);
    fs::write(&path, &original).unwrap();
    let (snap, _, _) = reload(dir.path());
    assert_eq!(snap.len(), 10);
}

#[test]
fn crash_during_snapshot_recovers_each_record_once() {
    let dir = TempDir::new("snapcrash");
    let (j, _) = open(dir.path(), SyncPolicy::Always).unwrap();
    for i in 0..5 {
        j.append(&rec(i)).unwrap();
    }
    let g = j.rotate().unwrap();
    j.append(&rec(5)).unwrap();
    // The snapshot fails halfway: nothing changes, its temporary file is gone.
    let err = j
        .write_snapshot(g, |w| {
            w.record(b"partial")?;
            Err(std::io::Error::other("engine gave up"))
        })
        .unwrap_err();
    assert_eq!(err.kind, DurableErrorKind::Io);
    assert!(!dir.path().join(format!("snapshot-{g:016x}.tmp")).exists());
    // A crash mid-snapshot leaves a temporary file behind.
    fs::write(dir.path().join(format!("snapshot-{g:016x}.tmp")), b"half a snapshot").unwrap();
    drop(j);
    let (snap, journal, report) = reload(dir.path());
    assert!(snap.is_empty());
    assert_eq!(journal, (0..6).map(rec).collect::<Vec<_>>());
    assert_eq!(report.files_removed, 1);
    assert!(!dir.path().join(format!("snapshot-{g:016x}.tmp")).exists());

    // The snapshot written and renamed, but the crash came before the old journal was deleted.
    let (j, _) = open(dir.path(), SyncPolicy::Always).unwrap();
    let old = fs::read(journal_path(dir.path(), 0)).unwrap();
    j.write_snapshot(g, |w| (0..5).try_for_each(|i| w.record(&rec(i)))).unwrap();
    j.append(&rec(6)).unwrap();
    j.close().unwrap();
    fs::write(journal_path(dir.path(), 0), old).unwrap();
    let (snap, journal, report) = reload(dir.path());
    assert_eq!(snap, (0..5).map(rec).collect::<Vec<_>>());
    assert_eq!(journal, vec![rec(5), rec(6)]);
    assert_eq!(report.files_removed, 1);
    assert!(!journal_path(dir.path(), 0).exists());
}

#[test]
fn full_disk_leaves_the_journal_as_it_was() {
    let dir = TempDir::new("enospc");
    let plan = FaultPlan::new();
    let (j, _) = open_with(dir.path(), SyncPolicy::Always, &plan);
    let path = journal_path(dir.path(), 0);
    for i in 0..3 {
        let lsn = j.append(&rec(i)).unwrap();
        j.commit(lsn).unwrap();
    }
    let len = fs::metadata(&path).unwrap().len();
    // No space at all.
    plan.fail_writes_after(0);
    let err = j.append(&rec(100)).unwrap_err();
    assert_eq!(err.kind, DurableErrorKind::Io);
    assert!(err.message.contains(&journal_name(0)), "{err}");
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    // Room for part of the frame: a short write, then no space.
    plan.fail_writes_after(7);
    assert_eq!(j.append(&rec(101)).unwrap_err().kind, DurableErrorKind::Io);
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    plan.clear_write_faults();
    // Short writes that do complete store the whole frame.
    plan.set_short_writes(true);
    let lsn = j.append(&rec(3)).unwrap();
    plan.set_short_writes(false);
    j.commit(lsn).unwrap();
    let lsn = j.append(&rec(4)).unwrap();
    j.commit(lsn).unwrap();
    j.close().unwrap();
    let (_, journal, report) = reload(dir.path());
    assert_eq!(journal, (0..5).map(rec).collect::<Vec<_>>());
    assert_eq!(report.torn_tail_bytes_dropped, 0);
}

#[test]
fn failed_fsync_poisons_the_journal() {
    let dir = TempDir::new("poison");
    let plan = FaultPlan::new();
    let (j, _) = open_with(dir.path(), SyncPolicy::Always, &plan);
    let a = j.append(b"a").unwrap();
    j.commit(a).unwrap();
    let b = j.append(b"b").unwrap();
    plan.fail_next_fsync();
    assert_eq!(j.commit(b).unwrap_err().kind, DurableErrorKind::Io);
    assert!(j.is_poisoned());
    for _ in 0..3 {
        assert_eq!(j.append(b"c").unwrap_err().kind, DurableErrorKind::Poisoned);
    }
    assert_eq!(j.commit(b).unwrap_err().kind, DurableErrorKind::Poisoned);
    assert_eq!(j.rotate().unwrap_err().kind, DurableErrorKind::Poisoned);
    // Already durable before the failure: still reported as such.
    j.commit(a).unwrap();
    assert_eq!(j.close().unwrap_err().kind, DurableErrorKind::Poisoned);
    let (_, journal, _) = reload(dir.path());
    assert_eq!(journal, vec![b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn group_commit_shares_fsyncs() {
    const THREADS: usize = 8;
    const EACH: usize = 200;
    let dir = TempDir::new("group");
    let plan = FaultPlan::new();
    let (j, _) = open_with(dir.path(), SyncPolicy::Always, &plan);
    let j = Arc::new(j);
    let before = plan.fsyncs();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let j = Arc::clone(&j);
            s.spawn(move || {
                for i in 0..EACH {
                    let lsn = j.append(format!("t{t}-{i}").as_bytes()).unwrap();
                    j.commit(lsn).unwrap();
                }
            });
        }
    });
    let fsyncs = plan.fsyncs() - before;
    let commits = (THREADS * EACH) as u64;
    eprintln!("group commit: {fsyncs} fsyncs for {commits} commits");
    assert!(fsyncs < commits, "{fsyncs} fsyncs for {commits} commits");
    Arc::into_inner(j).unwrap().close().unwrap();
    let (_, journal, _) = reload(dir.path());
    assert_eq!(journal.len(), THREADS * EACH);
    for t in 0..THREADS {
        let mine: Vec<_> =
            journal.iter().filter(|r| r.starts_with(format!("t{t}-").as_bytes())).cloned().collect();
        let expected: Vec<_> = (0..EACH).map(|i| format!("t{t}-{i}").into_bytes()).collect();
        assert_eq!(mine, expected);
    }
}

#[test]
fn interval_thread_fsyncs_and_stops_on_close() {
    let dir = TempDir::new("interval");
    let plan = FaultPlan::new();
    let (j, _) = open_with(dir.path(), SyncPolicy::Interval(Duration::from_millis(5)), &plan);
    let before = plan.fsyncs();
    let lsn = j.append(b"tick").unwrap();
    j.commit(lsn).unwrap(); // returns at once
    let start = Instant::now();
    while plan.fsyncs() == before && start.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(plan.fsyncs() > before, "no fsync from the interval thread");
    // The thread holds a reference to the shared state: once it is gone, the thread has ended.
    let shared = Arc::downgrade(&j.shared);
    j.close().unwrap();
    assert!(shared.upgrade().is_none());
    let (_, journal, _) = reload(dir.path());
    assert_eq!(journal, vec![b"tick".to_vec()]);
}

#[test]
fn second_open_is_locked_until_the_first_is_dropped() {
    let dir = TempDir::new("lock");
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    let err = open(dir.path(), SyncPolicy::Os).err().unwrap();
    assert_eq!(err.kind, DurableErrorKind::Locked);
    // Another process: this test binary, running only `locked_in_child_process`.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "durable::tests::locked_in_child_process", "--test-threads=1", "-q"])
        .env("DURABLE_LOCK_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the child process could open a locked directory");
    drop(j);
    let (j, _) = open(dir.path(), SyncPolicy::Os).unwrap();
    j.close().unwrap();
}

/// Run by `second_open_is_locked_until_the_first_is_dropped` in a child process; a no-op otherwise.
#[test]
fn locked_in_child_process() {
    if let Some(dir) = std::env::var_os("DURABLE_LOCK_DIR") {
        let err = open(Path::new(&dir), SyncPolicy::Os).err().expect("open must fail in the child");
        assert_eq!(err.kind, DurableErrorKind::Locked);
    }
}

#[test]
fn syncing_ahead_of_a_rotation_fsyncs_the_journal_except_under_os_and_a_failure_poisons() {
    for policy in [SyncPolicy::Os, SyncPolicy::Always] {
        let dir = TempDir::new("syncahead");
        let plan = FaultPlan::new();
        let (j, _) = open_with(dir.path(), policy, &plan);
        j.append(&rec(0)).unwrap();
        let before = plan.fsyncs();
        j.sync_ahead_of_rotation().unwrap();
        let expected = if policy == SyncPolicy::Os { 0 } else { 2 };
        assert_eq!(plan.fsyncs() - before, expected, "{policy:?}");
        if policy == SyncPolicy::Os {
            continue;
        }
        plan.fail_next_fsync();
        assert_eq!(j.sync_ahead_of_rotation().unwrap_err().kind, DurableErrorKind::Io);
        assert!(j.is_poisoned());
        assert_eq!(j.rotate().unwrap_err().kind, DurableErrorKind::Poisoned);
    }
}
