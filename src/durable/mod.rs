//! Durability for the store: an append-only journal of opaque records, plus snapshots for compaction.
//!
//! The module knows nothing about sessions. The engine appends one payload per mutation while it holds
//! its write lock (so the journal's order is the order the mutations were applied in), waits for
//! durability with [`Journal::commit_gathering`] after releasing it (so that fsyncs of concurrent
//! writers are shared, and reads are never blocked by one), and compacts with [`Journal::rotate`]
//! (under its lock, cheap, after [`Journal::sync_ahead_of_rotation`] without it) followed by
//! [`Journal::write_snapshot`] (without its lock, slow).
//!
//! # Files
//!
//! One directory, owned by one [`Journal`] at a time through an OS lock on the file `LOCK`.
//!
//! - `journal-<generation, 16 hex digits>.log`: the records appended since that journal was started.
//! - `snapshot-<generation>.snap`: the whole state at the moment journal `<generation>` was started.
//! - `*.tmp`: a snapshot being written; deleted on open (it was never renamed, so it is not complete).
//!
//! Recovery reads the newest snapshot `g` (if any), then every journal of generation `>= g`, in order
//! (with no snapshot, every journal from the lowest). The generations must be contiguous. Journals and
//! snapshots older than `g` are what a compaction crashed before deleting: open deletes them.
//!
//! # Layout (all integers little-endian)
//!
//! Every file starts with a 24-byte header: magic (`SSJOURNL` or `SSSNAPSH`), format version (u32, 1),
//! generation (u64, must match the name), CRC32 of those 20 bytes. A foreign file, another version, or a
//! file renamed to another generation is rejected.
//!
//! Then frames: `[len: u32][crc32 of the payload: u32][payload: len bytes]`, `1 <= len <= u32::MAX - 1`.
//! An empty payload is refused: its frame would be eight zero bytes, indistinguishable from a file a
//! crash extended but never wrote.
//!
//! A snapshot ends with a 16-byte footer: `[u32::MAX][record count: u64][CRC32 of those 12 bytes]`, so a
//! cut-off snapshot is detected even where a cut falls between frames.
//!
//! # Damage
//!
//! Only the end of the *last* journal can be a crash mid-append: an incomplete frame, a final frame whose
//! checksum fails and that reaches the end of the file, or zeros to the end. Open cuts such a tail off
//! (truncate, fsync) and reports the bytes dropped. Everything else (a bad checksum or impossible length
//! with data after it, damage anywhere in a snapshot or an earlier journal, a bad header) fails the open
//! with [`DurableErrorKind::Corrupt`], naming the file and byte offset: never a silent partial load.
//! Journals are checked whole by [`Journal::open`]; a snapshot, the bulk of the data, only by its header
//! and footer there, and frame by frame as [`Records`] reads it back (read once, not twice): damage
//! found halfway fails that read, and the engine's open with it, before the store is used.
//!
//! # Failed fsync
//!
//! After an fsync fails the kernel may have dropped the dirty pages while marking them clean (the
//! PostgreSQL fsync lesson), so a retry could report success for data that is gone. The journal is then
//! poisoned: appends fail with [`DurableErrorKind::Poisoned`] for the rest of its life; the engine's reads
//! go on, and reopening (which rereads what actually is on disk) is the way back.

mod frame;
mod io;
#[cfg(test)]
mod tests;

pub use self::frame::{Records, MAX_RECORD_BYTES};
#[doc(hidden)]
pub use self::io::FaultPlan;

use self::frame::{corrupt, encode_footer, encode_header, frame_header, io_error, push_frame};
use self::frame::{FileKind, Scan, Segment, FOOTER_LEN, HEADER_LEN};
use self::io::{sync_dir, LogFile};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What went wrong, in terms the engine acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurableErrorKind {
    /// An I/O failure (including a full disk); the message names the file and the OS error. A failed
    /// append left the file as it was, so the engine must not apply the mutation.
    Io,
    /// Another `Journal` (of this process or another) has the directory open.
    Locked,
    /// A file is damaged beyond a torn last append, or is not ours; the message names file and offset.
    Corrupt,
    /// An earlier fsync failed, so the journal takes no more appends (see the module doc).
    Poisoned,
    /// A misuse: an empty or oversized payload, a snapshot generation that cannot be right.
    Invalid,
}

/// An error of the durability layer: a kind to act on, a short message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableError {
    pub kind: DurableErrorKind,
    pub message: String,
}

impl fmt::Display for DurableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DurableError {}

pub type Result<T> = std::result::Result<T, DurableError>;

fn error(kind: DurableErrorKind, message: impl Into<String>) -> DurableError {
    DurableError { kind, message: message.into() }
}

fn poisoned_error() -> DurableError {
    error(DurableErrorKind::Poisoned, "journal poisoned: an earlier fsync failed; reopen to recover")
}

/// When appended records are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// [`Journal::commit_gathering`] returns once an fsync covering the record completed; concurrent
    /// committers share one fsync (group commit). Survives power loss.
    Always,
    /// A background thread fsyncs this often: a power loss loses at most about one interval.
    Interval(Duration),
    /// Never fsync except on close: records survive a crash of the process (they are in the kernel),
    /// not a crash of the machine.
    Os,
}

/// How to open a [`Journal`].
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub sync: SyncPolicy,
    /// Faults to inject into file I/O, for tests only.
    #[doc(hidden)]
    pub faults: Option<Arc<FaultPlan>>,
}

impl JournalOptions {
    pub fn new(sync: SyncPolicy) -> Self {
        JournalOptions { sync, faults: None }
    }
}

impl Default for JournalOptions {
    /// `Always`: the safe choice unless the caller says otherwise.
    fn default() -> Self {
        JournalOptions::new(SyncPolicy::Always)
    }
}

/// What open found, for the engine's stats. Byte counts are file sizes on disk after recovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The generation of the snapshot loaded, if any.
    pub snapshot_generation: Option<u64>,
    pub snapshot_records: u64,
    pub snapshot_bytes: u64,
    /// How many journal files are replayed after the snapshot.
    pub journal_files: u64,
    pub journal_records: u64,
    pub journal_bytes: u64,
    /// Bytes cut off the end of the last journal: an append torn by a crash.
    pub torn_tail_bytes_dropped: u64,
    /// Leftovers of interrupted compactions deleted on open (temporary and superseded files).
    pub files_removed: u64,
}

/// The state recovered on open, to be applied by the engine in this order: the snapshot's records,
/// then the journal's.
#[derive(Debug)]
pub struct Recovered {
    pub snapshot: Option<Records>,
    pub journal: Records,
    pub report: RecoveryReport,
}

/// The sizes the engine compares with its live bytes to decide when to compact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// The generation of the journal appends go to.
    pub generation: u64,
    /// Bytes of every journal recovery would replay (those not yet superseded by a snapshot).
    pub journal_bytes: u64,
    pub snapshot_generation: Option<u64>,
    pub snapshot_bytes: u64,
}

/// What [`Journal::write_snapshot`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    pub generation: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Receives the records of a snapshot, in the order recovery will hand them back.
pub trait SnapshotWriter {
    /// Adds one record (non-empty, at most [`MAX_RECORD_BYTES`]). Buffered: I/O errors may surface on a
    /// later call or when the snapshot is finished.
    fn record(&mut self, payload: &[u8]) -> std::io::Result<()>;
}

/// An append-only journal with snapshots, in one locked directory. `Sync`: share it between threads.
pub struct Journal {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
    closed: bool,
}

struct Shared {
    dir: PathBuf,
    policy: SyncPolicy,
    faults: Option<Arc<FaultPlan>>,
    /// The append path: taken for the duration of one write(2), and briefly by fsyncing threads.
    writer: Mutex<Writer>,
    /// Group commit state; never held while taking `writer` nor during an fsync.
    sync: Mutex<SyncState>,
    synced: Condvar,
    poisoned: AtomicBool,
    /// The LSN of the last appended record, readable without the writer's lock.
    appended: AtomicU64,
    /// One snapshot at a time.
    snapshotting: Mutex<()>,
    /// Tells the interval thread to stop.
    stop: Mutex<bool>,
    stop_signal: Condvar,
    lock_file: File,
}

struct Writer {
    file: Arc<LogFile>,
    generation: u64,
    /// The length of the current journal: where the next frame goes, and where a failed one is cut.
    len: u64,
    /// The LSN of the last appended record (LSNs count from 1 per open `Journal`).
    last_lsn: u64,
    /// Reused frame buffer, so an append does not allocate.
    frame: Vec<u8>,
    /// Earlier journals recovery would still replay: generation -> bytes.
    older: BTreeMap<u64, u64>,
    /// Rotated-out journals not fsynced yet (policy `Os` only): close fsyncs them.
    unsynced: Vec<(u64, Arc<LogFile>)>,
    snapshot: Option<(u64, u64)>,
}

struct SyncState {
    /// Every LSN up to this one is on stable storage.
    durable: u64,
    /// A thread is fsyncing on behalf of all waiters.
    syncing: bool,
    /// How many records the last group fsync covered: what the next one waits for (see
    /// [`GATHER_LIMIT`]).
    last_round: u64,
}

/// The longest the committer that fsyncs for a group waits for as many records as the last group had
/// (well under one fsync). Without the wait, writers released by one fsync straggle back one by one
/// (each woken thread is scheduled in turn), and an fsync that started at once would cover only the
/// first of them.
const GATHER_LIMIT: Duration = Duration::from_micros(150);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the journal down with it: the data it guards stays consistent
    // because every update is completed before anything can panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn journal_name(generation: u64) -> String {
    format!("journal-{generation:016x}.log")
}

fn snapshot_name(generation: u64) -> String {
    format!("snapshot-{generation:016x}.snap")
}

/// The generation in a file name of the form `<prefix><16 hex digits><suffix>`.
fn parse_name(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let hex = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// What the directory holds, by generation.
#[derive(Default)]
struct Listing {
    journals: Vec<u64>,
    snapshots: Vec<u64>,
    temporaries: Vec<PathBuf>,
}

fn list(dir: &Path) -> Result<Listing> {
    let mut out = Listing::default();
    let entries = fs::read_dir(dir).map_err(|e| io_error("listing", dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("listing", dir, &e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(g) = parse_name(name, "journal-", ".log") {
            out.journals.push(g);
        } else if let Some(g) = parse_name(name, "snapshot-", ".snap") {
            out.snapshots.push(g);
        } else if name.ends_with(".tmp") {
            out.temporaries.push(entry.path());
        }
    }
    out.journals.sort_unstable();
    out.snapshots.sort_unstable();
    Ok(out)
}

fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).map_err(|e| io_error("deleting", path, &e))
}

/// Creates the journal of `generation` holding only its header.
fn create_journal(dir: &Path, generation: u64, faults: &Option<Arc<FaultPlan>>) -> Result<LogFile> {
    let path = dir.join(journal_name(generation));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_error("creating", &path, &e))?;
    let log = LogFile::new(file, &path, faults.clone());
    if let Err((_, e)) = log.write_all(&encode_header(FileKind::Journal, generation)) {
        let _ = fs::remove_file(&path);
        return Err(io_error("writing", &path, &e));
    }
    Ok(log)
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, locks the directory, checks every file
    /// recovery needs, cuts a torn last append off, deletes leftovers of interrupted compactions, and
    /// returns the journal with the records to replay.
    pub fn open(dir: &Path, options: JournalOptions) -> Result<(Journal, Recovered)> {
        fs::create_dir_all(dir).map_err(|e| io_error("creating", dir, &e))?;
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_error("opening", &lock_path, &e))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(error(
                    DurableErrorKind::Locked,
                    format!("{} is in use by another journal", dir.display()),
                ))
            }
            Err(TryLockError::Error(e)) => return Err(io_error("locking", &lock_path, &e)),
        }

        let listing = list(dir)?;
        let mut report = RecoveryReport::default();
        for tmp in &listing.temporaries {
            remove(tmp)?;
            report.files_removed += 1;
        }
        let snapshot_gen = listing.snapshots.last().copied();
        let first = snapshot_gen.unwrap_or_else(|| listing.journals.first().copied().unwrap_or(0));
        for &g in listing.snapshots.iter().filter(|&&g| g < first) {
            remove(&dir.join(snapshot_name(g)))?;
            report.files_removed += 1;
        }
        for &g in listing.journals.iter().filter(|&&g| g < first) {
            remove(&dir.join(journal_name(g)))?;
            report.files_removed += 1;
        }
        if report.files_removed > 0 {
            sync_dir(dir).map_err(|e| io_error("syncing", dir, &e))?;
        }
        let journals: Vec<u64> = listing.journals.iter().copied().filter(|&g| g >= first).collect();
        // Recovery needs every generation from the snapshot's (or the lowest) on: a gap is lost data.
        let mut expected = journals.first().map(|&g0| if snapshot_gen.is_some() { first } else { g0 });
        for &g in &journals {
            let want = expected.unwrap_or(g);
            if g != want {
                let missing = dir.join(journal_name(want));
                return Err(corrupt(&missing, 0, "journal missing (generations are not contiguous)"));
            }
            expected = Some(want + 1);
        }

        let open_read = |path: &Path| File::open(path).map_err(|e| io_error("opening", path, &e));
        let snapshot = match snapshot_gen {
            Some(g) => {
                let path = dir.join(snapshot_name(g));
                let file = open_read(&path)?;
                let scan = frame::check_snapshot(&file, &path, g)?;
                report.snapshot_generation = Some(g);
                report.snapshot_records = scan.records;
                report.snapshot_bytes = scan.end;
                let end = scan.end - FOOTER_LEN;
                Some(Records::new(vec![Segment { file, path, end, records: scan.records }]))
            }
            None => None,
        };

        let mut segments = Vec::new();
        let mut older = BTreeMap::new();
        let mut current = None;
        for (i, &g) in journals.iter().enumerate() {
            let path = dir.join(journal_name(g));
            let last = i + 1 == journals.len();
            let file =
                if last { OpenOptions::new().read(true).write(true).open(&path) } else { File::open(&path) }
                    .map_err(|e| io_error("opening", &path, &e))?;
            let Scan { mut end, records, torn } = frame::scan_journal(&file, &path, g, last)?;
            // A rotation that crashed may also have left the new journal empty: no bytes torn, but no
            // header either.
            if torn > 0 || end < HEADER_LEN {
                let log =
                    LogFile::new(file.try_clone().map_err(|e| io_error("opening", &path, &e))?, &path, None);
                log.truncate(end).map_err(|e| io_error("truncating", &path, &e))?;
                if end < HEADER_LEN {
                    log.write_all(&encode_header(FileKind::Journal, g))
                        .map_err(|(_, e)| io_error("writing", &path, &e))?;
                    end = HEADER_LEN;
                }
                log.sync().map_err(|e| io_error("syncing", &path, &e))?;
                report.torn_tail_bytes_dropped += torn;
            }
            report.journal_files += 1;
            report.journal_records += records;
            report.journal_bytes += end;
            if last {
                let mut writable = file.try_clone().map_err(|e| io_error("opening", &path, &e))?;
                writable.seek(SeekFrom::Start(end)).map_err(|e| io_error("opening", &path, &e))?;
                current = Some((LogFile::new(writable, &path, options.faults.clone()), g, end));
            } else {
                older.insert(g, end);
            }
            // The reader gets its own handle: the last journal's handle shares its cursor with appends.
            let file = if last { open_read(&path)? } else { file };
            segments.push(Segment { file, path, end, records });
        }
        let replay = Records::new(segments);

        let (file, generation, len) = match current {
            Some(c) => c,
            None => {
                let log = create_journal(dir, first, &options.faults)?;
                if options.sync != SyncPolicy::Os {
                    log.sync().map_err(|e| io_error("syncing", log.path(), &e))?;
                    sync_dir(dir).map_err(|e| io_error("syncing", dir, &e))?;
                }
                report.journal_files += 1;
                report.journal_bytes += HEADER_LEN;
                (log, first, HEADER_LEN)
            }
        };

        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            policy: options.sync,
            faults: options.faults,
            writer: Mutex::new(Writer {
                file: Arc::new(file),
                generation,
                len,
                last_lsn: 0,
                frame: Vec::new(),
                older,
                unsynced: Vec::new(),
                snapshot: snapshot_gen.map(|g| (g, report.snapshot_bytes)),
            }),
            sync: Mutex::new(SyncState { durable: 0, syncing: false, last_round: 1 }),
            appended: AtomicU64::new(0),
            synced: Condvar::new(),
            poisoned: AtomicBool::new(false),
            snapshotting: Mutex::new(()),
            stop: Mutex::new(false),
            stop_signal: Condvar::new(),
            lock_file,
        });
        let ticker = match options.sync {
            SyncPolicy::Interval(every) => {
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("journal-fsync".into())
                    .spawn(move || shared.tick(every))
                    .map_err(|e| io_error("starting the fsync thread for", dir, &e))?;
                Some(spawned)
            }
            _ => None,
        };
        let journal = Journal { shared, ticker, closed: false };
        Ok((journal, Recovered { snapshot, journal: replay, report }))
    }

    /// Appends one record and returns its LSN, for [`Journal::commit_gathering`]. Call it under the
    /// engine's write lock, so that journal order is apply order. On return the frame is in the kernel
    /// (it survives a crash of the process). On error the file is as it was before the call and the
    /// engine must not apply the mutation.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        if payload.is_empty() || payload.len() > MAX_RECORD_BYTES {
            return Err(error(DurableErrorKind::Invalid, format!("record of {} bytes", payload.len())));
        }
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(poisoned_error());
        }
        let mut w = lock(&self.shared.writer);
        let w = &mut *w;
        w.frame.clear();
        push_frame(&mut w.frame, payload);
        // One write(2) for the whole frame, so a crash leaves at most a prefix of it.
        if let Err((written, e)) = w.file.write_all(&w.frame) {
            if written > 0 {
                if let Err(te) = w.file.truncate(w.len) {
                    // A partial frame we cannot remove: a later append would land after it.
                    self.shared.poisoned.store(true, Ordering::Release);
                    return Err(io_error("truncating after a failed write", w.file.path(), &te));
                }
            }
            return Err(io_error("writing", w.file.path(), &e));
        }
        if w.frame.capacity() > 1 << 20 {
            w.frame = Vec::new(); // do not keep a huge session's buffer forever
        }
        w.len += FRAME_LEN_OVERHEAD + payload.len() as u64;
        w.last_lsn += 1;
        self.shared.appended.store(w.last_lsn, Ordering::Release);
        Ok(w.last_lsn)
    }

    /// [`Journal::commit_gathering`] with nothing to gather.
    #[cfg(test)]
    pub fn commit(&self, lsn: u64) -> Result<()> {
        self.commit_gathering(lsn, || ())
    }

    /// Waits until the record `lsn` is durable under the sync policy. Call it after releasing the
    /// engine's lock, so that other writers append meanwhile and share the fsync: under `Always`, one
    /// committer fsyncs for everyone waiting (outside every lock appends need) while the others wait for
    /// it; a commit already covered by another's fsync returns at once. Under `Interval` and `Os` it
    /// returns at once. The committer that is about to fsync for everyone waiting first calls
    /// `gather`: the engine waits there for writers already on their way to an append, so that one
    /// fsync covers them too instead of the next one.
    pub fn commit_gathering(&self, lsn: u64, gather: impl FnOnce()) -> Result<()> {
        let shared = &*self.shared;
        let mut gather = Some(gather);
        if shared.policy != SyncPolicy::Always {
            return if shared.poisoned.load(Ordering::Acquire) { Err(poisoned_error()) } else { Ok(()) };
        }
        let mut s = lock(&shared.sync);
        loop {
            if s.durable >= lsn {
                return Ok(());
            }
            if shared.poisoned.load(Ordering::Acquire) {
                return Err(poisoned_error());
            }
            if s.syncing {
                s = shared.synced.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.syncing = true;
            let (before, want) = (s.durable, s.last_round);
            drop(s);
            if let Some(gather) = gather.take() {
                gather();
            }
            let started = Instant::now();
            while shared.appended.load(Ordering::Acquire) - before < want && started.elapsed() < GATHER_LIMIT
            {
                std::thread::yield_now();
            }
            let result = shared.sync_current();
            s = lock(&shared.sync);
            s.syncing = false;
            if let Ok(covered) = result {
                s.last_round = covered.saturating_sub(before).max(1);
            }
            shared.synced.notify_all();
            if result? < lsn {
                return Err(error(DurableErrorKind::Invalid, format!("commit of LSN {lsn}, never appended")));
            }
        }
    }

    /// What a rotation would fsync under the engine's lock, done before it: except under `Os`, the
    /// current journal is fsynced twice (appends go on during the first; under "interval" tens of
    /// milliseconds of them), so that [`Journal::rotate`]'s fsync of it finds little left to write. A
    /// failure poisons the journal, as any fsync's does.
    pub fn sync_ahead_of_rotation(&self) -> Result<()> {
        let shared = &*self.shared;
        if shared.policy == SyncPolicy::Os {
            return Ok(());
        }
        let current = Arc::clone(&lock(&shared.writer).file);
        for _ in 0..2 {
            if shared.poisoned.load(Ordering::Acquire) {
                return Err(poisoned_error());
            }
            if let Err(e) = current.sync() {
                shared.poisoned.store(true, Ordering::Release);
                return Err(io_error("syncing", current.path(), &e));
            }
        }
        Ok(())
    }

    /// Starts a new, empty journal and returns its generation, for a snapshot of the state as of now.
    /// Call it under the engine's write lock (the snapshot must hold exactly the mutations appended
    /// before it), then [`Journal::write_snapshot`] with the returned generation without the lock.
    /// Cheap: the old journal is fsynced (except under `Os`; [`Journal::sync_ahead_of_rotation`] leaves
    /// it little to write), and the new one is created, and fsynced with its directory.
    pub fn rotate(&self) -> Result<u64> {
        let shared = &*self.shared;
        if shared.poisoned.load(Ordering::Acquire) {
            return Err(poisoned_error());
        }
        let mut w = lock(&shared.writer);
        let durable = shared.policy != SyncPolicy::Os;
        if durable {
            if let Err(e) = w.file.sync() {
                shared.poisoned.store(true, Ordering::Release);
                return Err(io_error("syncing", w.file.path(), &e));
            }
        }
        let generation = w.generation + 1;
        let log = create_journal(&shared.dir, generation, &shared.faults)?;
        if durable {
            // The new file must exist after a power loss before records acknowledged in it do.
            let synced = log.sync().map_err(|e| io_error("syncing", log.path(), &e));
            let synced =
                synced.and_then(|_| sync_dir(&shared.dir).map_err(|e| io_error("syncing", &shared.dir, &e)));
            if let Err(e) = synced {
                let _ = fs::remove_file(log.path());
                return Err(e);
            }
        }
        let old = std::mem::replace(&mut w.file, Arc::new(log));
        let (old_gen, old_len) = (w.generation, w.len);
        w.older.insert(old_gen, old_len);
        if !durable {
            w.unsynced.push((old_gen, old));
        }
        w.generation = generation;
        w.len = HEADER_LEN;
        if durable {
            let last = w.last_lsn;
            drop(w);
            let mut s = lock(&shared.sync);
            s.durable = s.durable.max(last);
            shared.synced.notify_all();
        }
        Ok(generation)
    }

    /// Writes the snapshot of `generation` (from [`Journal::rotate`]): `fill` hands it the records.
    /// Call it without the engine's lock, from any thread; appends go on meanwhile. The records go to
    /// `snapshot-<generation>.tmp`, which is fsynced and renamed into place (then the directory is
    /// fsynced); only then are the journals and snapshots it supersedes deleted. If anything fails,
    /// the temporary file is removed and the old files still recover the same state.
    pub fn write_snapshot<F>(&self, generation: u64, fill: F) -> Result<SnapshotStats>
    where
        F: FnOnce(&mut dyn SnapshotWriter) -> std::io::Result<()>,
    {
        let shared = &*self.shared;
        let _one_at_a_time = lock(&shared.snapshotting);
        {
            let w = lock(&shared.writer);
            let stale = w.snapshot.is_some_and(|(g, _)| g >= generation);
            if generation > w.generation || stale {
                return Err(error(
                    DurableErrorKind::Invalid,
                    format!("snapshot generation {generation}: not a rotation newer than the last snapshot"),
                ));
            }
        }
        let dir = &shared.dir;
        let tmp = dir.join(format!("snapshot-{generation:016x}.tmp"));
        let path = dir.join(snapshot_name(generation));
        let written = write_snapshot_file(&tmp, generation, &shared.faults, fill);
        let stats = match written {
            Ok(stats) => stats,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(io_error("renaming", &tmp, &e));
        }
        sync_dir(dir).map_err(|e| io_error("syncing", dir, &e))?;

        // The snapshot is complete and durable: what it supersedes can go. A failure to delete loses
        // nothing (open deletes superseded files), so it is not reported.
        if let Ok(listing) = list(dir) {
            for &g in listing.journals.iter().filter(|&&g| g < generation) {
                let _ = fs::remove_file(dir.join(journal_name(g)));
            }
            for &g in listing.snapshots.iter().filter(|&&g| g < generation) {
                let _ = fs::remove_file(dir.join(snapshot_name(g)));
            }
            let _ = sync_dir(dir);
        }
        let superseded = {
            let mut w = lock(&shared.writer);
            w.older.retain(|&g, _| g >= generation);
            w.snapshot = Some((generation, stats.bytes));
            // Superseded files need no fsync.
            let (kept, superseded) =
                std::mem::take(&mut w.unsynced).into_iter().partition(|&(g, _)| g >= generation);
            w.unsynced = kept;
            superseded
        };
        // Closed without the append lock: closing the last handle of a journal deleted above frees its
        // page cache, which takes milliseconds for a large one, and appends would wait for it.
        drop::<Vec<(u64, Arc<LogFile>)>>(superseded);
        Ok(SnapshotStats { generation, ..stats })
    }

    /// The sizes of the files recovery would read, for the engine's compaction decision.
    pub fn sizes(&self) -> Sizes {
        let w = lock(&self.shared.writer);
        Sizes {
            generation: w.generation,
            journal_bytes: w.len + w.older.values().sum::<u64>(),
            snapshot_generation: w.snapshot.map(|(g, _)| g),
            snapshot_bytes: w.snapshot.map_or(0, |(_, b)| b),
        }
    }

    /// fsyncs everything appended so far, under every policy (the way to make an `Os` or `Interval`
    /// journal durable now). A failure poisons the journal.
    pub fn sync(&self) -> Result<()> {
        let shared = &*self.shared;
        if shared.poisoned.load(Ordering::Acquire) {
            return Err(poisoned_error());
        }
        let unsynced = std::mem::take(&mut lock(&shared.writer).unsynced);
        for (_, file) in &unsynced {
            if let Err(e) = file.sync() {
                shared.poisoned.store(true, Ordering::Release);
                return Err(io_error("syncing", file.path(), &e));
            }
        }
        shared.sync_current().map(|_| ())
    }

    /// Whether an fsync failed, so appends are refused.
    /// The directory's identity: the text of its file `IDENTITY`, written with `fresh()` the first
    /// time (to a temporary file, fsynced, then renamed into place, the directory fsynced), so that
    /// it names this directory's data for its whole life. It must be 32 hexadecimal digits.
    pub fn identity(&self, fresh: impl FnOnce() -> String) -> Result<String> {
        let dir = &self.shared.dir;
        let path = dir.join("IDENTITY");
        let valid = |id: &str| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim_end();
                if !valid(id) {
                    return Err(corrupt(&path, 0, "not a store identity (32 hexadecimal digits)"));
                }
                Ok(id.to_owned())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = fresh();
                debug_assert!(valid(&id));
                let tmp = dir.join("IDENTITY.tmp");
                let written = (|| {
                    let mut file = File::create(&tmp)?;
                    std::io::Write::write_all(&mut file, format!("{id}\n").as_bytes())?;
                    file.sync_all()?;
                    fs::rename(&tmp, &path)?;
                    sync_dir(dir)
                })();
                written.map_err(|e| io_error("writing", &path, &e))?;
                Ok(id)
            }
            Err(e) => Err(io_error("reading", &path, &e)),
        }
    }

    pub fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::Acquire)
    }

    /// Stops the interval thread, fsyncs (under every policy: a clean close is durable) and releases
    /// the directory. Dropping the journal does the same but cannot report an error.
    #[allow(dead_code)] // the store closes its journal by dropping it; the journal's tests call this
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let shared = &*self.shared;
        *lock(&shared.stop) = true;
        shared.stop_signal.notify_all();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        let mut result = Ok(());
        {
            let w = lock(&shared.writer);
            for f in w.unsynced.iter().map(|(_, f)| f).chain(std::iter::once(&w.file)) {
                if let Err(e) = f.sync() {
                    shared.poisoned.store(true, Ordering::Release);
                    result = Err(io_error("syncing", f.path(), &e));
                }
            }
        }
        if result.is_ok() && shared.poisoned.load(Ordering::Acquire) {
            result = Err(poisoned_error());
        }
        let _ = shared.lock_file.unlock();
        result
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Frame header bytes added to each payload.
const FRAME_LEN_OVERHEAD: u64 = frame::FRAME_HEADER;

impl Shared {
    /// fsyncs the current journal and marks every LSN appended before it as durable (returns the last
    /// of them). A failure poisons the journal.
    fn sync_current(&self) -> Result<u64> {
        let (file, target) = {
            let w = lock(&self.writer);
            (Arc::clone(&w.file), w.last_lsn)
        };
        if let Err(e) = file.sync() {
            self.poisoned.store(true, Ordering::Release);
            let _s = lock(&self.sync);
            self.synced.notify_all();
            return Err(io_error("syncing", file.path(), &e));
        }
        let mut s = lock(&self.sync);
        s.durable = s.durable.max(target);
        Ok(target)
    }

    /// The interval thread: fsyncs whatever was appended since the last fsync, every `every`, until
    /// close. Stops for good after a failure (the journal is poisoned).
    fn tick(&self, every: Duration) {
        let mut stop = lock(&self.stop);
        loop {
            let (guard, _) = self.stop_signal.wait_timeout(stop, every).unwrap_or_else(|e| e.into_inner());
            stop = guard;
            if *stop {
                return;
            }
            let last = lock(&self.writer).last_lsn;
            let dirty = last > lock(&self.sync).durable;
            if dirty && self.sync_current().is_err() {
                return;
            }
        }
    }
}

/// The buffered writer handed to the engine's snapshot closure.
struct SnapshotFile<'a> {
    out: BufWriter<&'a LogFile>,
    records: u64,
    bytes: u64,
}

impl SnapshotWriter for SnapshotFile<'_> {
    fn record(&mut self, payload: &[u8]) -> std::io::Result<()> {
        if payload.is_empty() || payload.len() > MAX_RECORD_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("snapshot record of {} bytes", payload.len()),
            ));
        }
        self.out.write_all(&frame_header(payload))?;
        self.out.write_all(payload)?;
        self.records += 1;
        self.bytes += FRAME_LEN_OVERHEAD + payload.len() as u64;
        Ok(())
    }
}

fn write_snapshot_file<F>(
    tmp: &Path,
    generation: u64,
    faults: &Option<Arc<FaultPlan>>,
    fill: F,
) -> Result<SnapshotStats>
where
    F: FnOnce(&mut dyn SnapshotWriter) -> std::io::Result<()>,
{
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| io_error("creating", tmp, &e))?;
    let log = LogFile::new(file, tmp, faults.clone());
    let write_err = |e: std::io::Error| io_error("writing", tmp, &e);
    let mut w = SnapshotFile { out: BufWriter::with_capacity(1 << 20, &log), records: 0, bytes: HEADER_LEN };
    w.out.write_all(&encode_header(FileKind::Snapshot, generation)).map_err(write_err)?;
    fill(&mut w).map_err(write_err)?;
    w.out.write_all(&encode_footer(w.records)).map_err(write_err)?;
    w.out.flush().map_err(write_err)?;
    let (records, bytes) = (w.records, w.bytes + FOOTER_LEN);
    drop(w);
    log.sync().map_err(|e| io_error("syncing", tmp, &e))?;
    Ok(SnapshotStats { generation, records, bytes })
}
