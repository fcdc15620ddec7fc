//! The I/O seam: every write, truncation and fsync of a journal or snapshot goes through [`LogFile`], so
//! that tests (ours and the engine's) can make the disk fill up, writes come back short, or fsync fail,
//! at run time, without a special file system.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Faults to inject into a journal's file I/O, changed at run time through atomics.
///
/// Not part of the supported API: it exists so that fault-injection tests can prove that a full disk
/// leaves the journal as it was and that a failed fsync poisons it.
#[doc(hidden)]
#[derive(Debug)]
pub struct FaultPlan {
    /// Bytes that writes may still store before they fail with "no space"; `u64::MAX` = no limit. A
    /// write that straddles the limit stores the bytes that fit and reports a short write, as a disk
    /// that fills up does.
    write_budget: AtomicU64,
    /// Every write stores at most half of what it was given (a short write the caller must complete).
    short_writes: AtomicBool,
    /// How many of the next fsyncs fail.
    failing_fsyncs: AtomicU64,
    /// fsyncs attempted, failed ones included.
    fsyncs: AtomicU64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            write_budget: AtomicU64::new(u64::MAX),
            short_writes: AtomicBool::new(false),
            failing_fsyncs: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
        }
    }
}

impl FaultPlan {
    /// A plan that injects nothing (it only counts fsyncs).
    pub fn new() -> Arc<Self> {
        Arc::new(FaultPlan::default())
    }

    /// Writes store `bytes` more bytes, then fail with `StorageFull` (ENOSPC) until cleared.
    pub fn fail_writes_after(&self, bytes: u64) {
        self.write_budget.store(bytes, Ordering::SeqCst);
    }

    /// Writes succeed again (the disk was cleaned up).
    pub fn clear_write_faults(&self) {
        self.write_budget.store(u64::MAX, Ordering::SeqCst);
    }

    /// Every write stores at most half its buffer (at least one byte), or all of it again.
    pub fn set_short_writes(&self, on: bool) {
        self.short_writes.store(on, Ordering::SeqCst);
    }

    /// The next fsync fails with an I/O error.
    pub fn fail_next_fsync(&self) {
        self.failing_fsyncs.fetch_add(1, Ordering::SeqCst);
    }

    /// How many fsyncs of journal and snapshot files were attempted.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::SeqCst)
    }

    /// How many of `wanted` bytes the next write may store, or the injected error.
    fn allow_write(&self, wanted: usize) -> io::Result<usize> {
        let mut n = wanted;
        if self.short_writes.load(Ordering::SeqCst) && n > 1 {
            n /= 2;
        }
        let budget = self.write_budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
            if b == u64::MAX || b == 0 {
                None
            } else {
                Some(b - (n as u64).min(b))
            }
        });
        match budget {
            Ok(b) => Ok(n.min(usize::try_from(b).unwrap_or(usize::MAX))),
            Err(u64::MAX) => Ok(n),
            Err(_) => Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device (injected)")),
        }
    }

    fn allow_fsync(&self) -> io::Result<()> {
        self.fsyncs.fetch_add(1, Ordering::SeqCst);
        let failing =
            self.failing_fsyncs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match failing {
            Ok(_) => Err(io::Error::other("input/output error (injected fsync failure)")),
            Err(_) => Ok(()),
        }
    }
}

/// A journal or snapshot file opened for writing, with its path (for error messages) and the faults to
/// inject, if any. Methods take `&self` so that one thread can fsync a journal while another appends.
#[derive(Debug)]
pub(super) struct LogFile {
    file: File,
    path: PathBuf,
    faults: Option<Arc<FaultPlan>>,
}

impl LogFile {
    pub(super) fn new(file: File, path: &Path, faults: Option<Arc<FaultPlan>>) -> Self {
        LogFile { file, path: path.to_path_buf(), faults }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// One write(2) at the file's cursor; may be short.
    pub(super) fn write_once(&self, buf: &[u8]) -> io::Result<usize> {
        let n = match &self.faults {
            Some(plan) => plan.allow_write(buf.len())?,
            None => buf.len(),
        };
        (&self.file).write(&buf[..n])
    }

    /// Writes all of `buf`, completing short writes. On failure, returns how many bytes were stored
    /// before it, so the caller can cut them off again.
    pub(super) fn write_all(&self, mut buf: &[u8]) -> Result<(), (usize, io::Error)> {
        let mut done = 0;
        while !buf.is_empty() {
            match self.write_once(buf) {
                Ok(0) => return Err((done, io::Error::from(io::ErrorKind::WriteZero))),
                Ok(n) => {
                    done += n;
                    buf = &buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((done, e)),
            }
        }
        Ok(())
    }

    /// fsync (fdatasync: the data and the length, which is what reading it back needs).
    pub(super) fn sync(&self) -> io::Result<()> {
        if let Some(plan) = &self.faults {
            plan.allow_fsync()?;
        }
        self.file.sync_data()
    }

    /// Cuts the file to `len` bytes and puts the cursor there, so the next write lands at `len`.
    pub(super) fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        (&self.file).seek(SeekFrom::Start(len)).map(|_| ())
    }
}

/// Buffered snapshot writing goes through the same seam.
impl Write for &LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_once(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// fsyncs a directory, so that a file created, renamed or deleted in it stays so after a power loss.
/// Windows cannot open a directory as a file; there the rename itself is durable enough for us.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
