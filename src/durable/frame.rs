//! The on-disk format (described in the module doc of `durable`), the checks run on open (a scan of
//! every journal; a snapshot's header and footer), and the streaming reader that hands the records to
//! the engine afterwards, checking each frame of a snapshot as it goes.

use super::{DurableError, DurableErrorKind, Result};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// File header: magic (8) + format version (u32 LE) + generation (u64 LE) + CRC32 of those 20 bytes.
pub(super) const HEADER_LEN: u64 = 24;
/// Frame header: payload length (u32 LE) + CRC32 of the payload (u32 LE).
pub(super) const FRAME_HEADER: u64 = 8;
/// Snapshot footer: `FOOTER_MARK` (u32 LE) + record count (u64 LE) + CRC32 of those 12 bytes.
pub(super) const FOOTER_LEN: u64 = 16;
/// The format version written in every header; a file of another version is rejected.
pub(super) const VERSION: u32 = 1;
/// A frame length no record can have: it opens the snapshot footer.
const FOOTER_MARK: u32 = u32::MAX;
/// The largest payload a frame holds (`u32::MAX` is the footer mark).
pub const MAX_RECORD_BYTES: usize = u32::MAX as usize - 1;

const READ_BUFFER: usize = 1 << 20;

/// Which kind of file, for the magic and the rules a damaged end falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    Journal,
    Snapshot,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::Journal => b"SSJOURNL",
            FileKind::Snapshot => b"SSSNAPSH",
        }
    }
}

pub(super) fn encode_header(kind: FileKind, generation: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(kind.magic());
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&h[..20]);
    h[20..].copy_from_slice(&crc.to_le_bytes());
    h
}

pub(super) fn encode_footer(records: u64) -> [u8; FOOTER_LEN as usize] {
    let mut f = [0u8; FOOTER_LEN as usize];
    f[..4].copy_from_slice(&FOOTER_MARK.to_le_bytes());
    f[4..12].copy_from_slice(&records.to_le_bytes());
    let crc = crc32fast::hash(&f[..12]);
    f[12..].copy_from_slice(&crc.to_le_bytes());
    f
}

/// Appends the frame of `payload` to `out`.
pub(super) fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The frame header of `payload`, for writers that send the payload separately.
pub(super) fn frame_header(payload: &[u8]) -> [u8; FRAME_HEADER as usize] {
    let mut h = [0u8; FRAME_HEADER as usize];
    h[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    h
}

/// Whether `len` is a length a record can have (an empty payload would frame as eight zero bytes, which
/// is also what a file extended by a crash but never written holds).
fn valid_len(len: u32) -> bool {
    len != 0 && len as usize <= MAX_RECORD_BYTES
}

pub(super) fn corrupt(path: &Path, offset: u64, what: &str) -> DurableError {
    DurableError {
        kind: DurableErrorKind::Corrupt,
        message: format!("{}: {what} at byte {offset}", path.display()),
    }
}

pub(super) fn io_error(what: &str, path: &Path, e: &io::Error) -> DurableError {
    DurableError { kind: DurableErrorKind::Io, message: format!("{what} {}: {e}", path.display()) }
}

/// What the validating scan of one file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Scan {
    /// Where the last whole frame ends (where appends continue). Below `HEADER_LEN` when the file's
    /// header itself was torn (the header must be written again).
    pub end: u64,
    pub records: u64,
    /// Bytes at the end that are a torn append (only ever non-zero for the last journal).
    pub torn: u64,
}

/// Reads and checks all of the journal `path` (opened as `file`) of `generation`. `last` says it is the
/// newest journal, the only file where a damaged end may be a crash mid-append rather than corruption.
pub(super) fn scan_journal(file: &File, path: &Path, generation: u64, last: bool) -> Result<Scan> {
    let file_len = file.metadata().map_err(|e| io_error("reading", path, &e))?.len();
    let (kind, may_tear) = (FileKind::Journal, last);
    let mut r = BufReader::with_capacity(READ_BUFFER, file);
    r.seek(SeekFrom::Start(0)).map_err(|e| io_error("reading", path, &e))?;
    let read_err = |e: io::Error| io_error("reading", path, &e);

    if file_len < HEADER_LEN {
        // A journal created by a rotation that crashed before its header reached the disk.
        let expected = encode_header(kind, generation);
        let mut head = vec![0u8; file_len as usize];
        r.read_exact(&mut head).map_err(read_err)?;
        let torn_header = head.iter().zip(&expected).all(|(a, b)| a == b) || head.iter().all(|&b| b == 0);
        if may_tear && torn_header {
            return Ok(Scan { end: 0, records: 0, torn: file_len });
        }
        return Err(corrupt(path, 0, "truncated file header"));
    }
    check_header(&mut r, path, kind, generation)?;

    let mut pos = HEADER_LEN;
    let mut records = 0u64;
    let mut payload = Vec::new();
    loop {
        let remaining = file_len - pos;
        if remaining == 0 {
            return Ok(Scan { end: pos, records, torn: 0 });
        }
        let torn = Ok(Scan { end: pos, records, torn: remaining });
        if remaining < FRAME_HEADER {
            if may_tear {
                return torn;
            }
            return Err(corrupt(path, pos, "incomplete frame"));
        }
        let mut fh = [0u8; FRAME_HEADER as usize];
        r.read_exact(&mut fh).map_err(read_err)?;
        let len = u32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]);
        let crc = u32::from_le_bytes([fh[4], fh[5], fh[6], fh[7]]);
        if !valid_len(len) {
            if may_tear && tail(path, pos)?.iter().all(|&b| b == 0) {
                return torn; // the file was extended but the data never written
            }
            return Err(corrupt(path, pos, "impossible record length"));
        }
        let frame_end = pos + FRAME_HEADER + u64::from(len);
        if frame_end > file_len {
            // An incomplete last frame is a torn append, unless whole frames follow within what it
            // claims: then its length field is what was damaged.
            if may_tear && !frames_follow(&tail(path, pos)?) {
                return torn;
            }
            return Err(corrupt(path, pos, "record runs past the end of the file"));
        }
        payload.resize(len as usize, 0);
        r.read_exact(&mut payload).map_err(read_err)?;
        if crc32fast::hash(&payload) != crc {
            if may_tear && frame_end == file_len {
                return torn;
            }
            return Err(corrupt(path, pos, "record checksum mismatch"));
        }
        records += 1;
        pos = frame_end;
    }
}

/// Reads the header of `path` from `r` (at its start) and checks it is the header of a file of `kind`
/// and `generation`.
fn check_header(r: &mut impl Read, path: &Path, kind: FileKind, generation: u64) -> Result<()> {
    let mut head = [0u8; HEADER_LEN as usize];
    r.read_exact(&mut head).map_err(|e| io_error("reading", path, &e))?;
    if head == encode_header(kind, generation) {
        return Ok(());
    }
    let what = if &head[..8] != kind.magic() {
        "not a sessionstore file of this kind (bad magic)"
    } else if head[8..12] != VERSION.to_le_bytes() {
        "unsupported format version"
    } else if head[12..20] != generation.to_le_bytes() {
        "generation does not match the file name"
    } else {
        "header checksum mismatch"
    };
    Err(corrupt(path, 0, what))
}

/// Checks the header and the footer of the snapshot `path` (opened as `file`) of `generation`, and
/// returns the number of records its footer counts and its length. Its frames are checked as
/// [`Records`] reads them: a snapshot is read once on open, not once to check and once to load (an
/// error halfway fails the open all the same, before the store is used).
pub(super) fn check_snapshot(file: &File, path: &Path, generation: u64) -> Result<Scan> {
    let file_len = file.metadata().map_err(|e| io_error("reading", path, &e))?.len();
    if file_len < HEADER_LEN {
        return Err(corrupt(path, 0, "truncated file header"));
    }
    let mut r = file;
    r.seek(SeekFrom::Start(0)).map_err(|e| io_error("reading", path, &e))?;
    check_header(&mut r, path, FileKind::Snapshot, generation)?;
    if file_len < HEADER_LEN + FOOTER_LEN {
        return Err(corrupt(path, HEADER_LEN, "missing footer"));
    }
    let at = file_len - FOOTER_LEN;
    let mut footer = [0u8; FOOTER_LEN as usize];
    r.seek(SeekFrom::Start(at))
        .and_then(|_| r.read_exact(&mut footer))
        .map_err(|e| io_error("reading", path, &e))?;
    if footer[..4] != FOOTER_MARK.to_le_bytes() {
        return Err(corrupt(path, at, "missing footer"));
    }
    let records = u64::from_le_bytes(footer[4..12].try_into().expect("eight bytes"));
    if footer != encode_footer(records) {
        return Err(corrupt(path, at, "bad footer"));
    }
    // The count sizes the tables before the frames are read: it must be one the file can hold.
    if records > (at - HEADER_LEN) / (FRAME_HEADER + 1) {
        return Err(corrupt(path, at, "footer counts more records than the file can hold"));
    }
    Ok(Scan { end: file_len, records, torn: 0 })
}

/// The bytes of `path` from `offset` to its end (only read on the failure path: the remainder of a
/// damaged journal).
fn tail(path: &Path, offset: u64) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(|e| io_error("reading", path, &e))?;
    let mut out = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_to_end(&mut out))
        .map_err(|e| io_error("reading", path, &e))?;
    Ok(out)
}

/// Whether, at some offset after the first byte of `tail`, a chain of valid frames starts that ends
/// exactly at the end of `tail`: valid-looking data after a frame whose length cannot be right.
fn frames_follow(tail: &[u8]) -> bool {
    (1..tail.len()).any(|start| {
        let mut p = start;
        loop {
            if p == tail.len() {
                return true;
            }
            let Some(h) = tail.get(p..p + FRAME_HEADER as usize) else { return false };
            let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            if !valid_len(len) {
                return false;
            }
            let body = p + FRAME_HEADER as usize;
            let Some(payload) = tail.get(body..body + len as usize) else { return false };
            if crc32fast::hash(payload) != crc {
                return false;
            }
            p = body + len as usize;
        }
    })
}

/// One file the reader will read: its frames from `HEADER_LEN` to `end`, `records` of them (a journal's
/// as its scan counted them, a snapshot's as its footer does).
#[derive(Debug)]
pub(super) struct Segment {
    pub file: File,
    pub path: PathBuf,
    pub end: u64,
    pub records: u64,
}

/// The segment being read: where, and how many of its records are still to come.
#[derive(Debug)]
struct Reading {
    r: BufReader<File>,
    path: PathBuf,
    pos: u64,
    end: u64,
    left: u64,
}

/// The records of a snapshot, or of the journals after it, in order: a streaming reader holding its own
/// handles, so that a compaction deleting the files meanwhile does not matter. Journals were scanned on
/// open; a snapshot's frames are checked here (length, checksum, and their count against the footer),
/// and damage fails the read with the corrupt status, the file and the offset.
///
/// [`Records::next_record`] lends each payload without copying; the `Iterator` impl copies each into a
/// `Vec<u8>`.
#[derive(Debug)]
pub struct Records {
    segments: VecDeque<Segment>,
    current: Option<Reading>,
    buf: Vec<u8>,
    count: u64,
}

impl Records {
    pub(super) fn new(segments: Vec<Segment>) -> Self {
        let count = segments.iter().map(|s| s.records).sum();
        Records { segments: segments.into(), current: None, buf: Vec::new(), count }
    }

    /// How many records are left to read.
    pub fn remaining(&self) -> u64 {
        self.count
    }

    /// The next payload, borrowed until the next call; `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>> {
        loop {
            if self.current.is_none() {
                let Some(seg) = self.segments.pop_front() else { return Ok(None) };
                let mut r = BufReader::with_capacity(READ_BUFFER, seg.file);
                r.seek(SeekFrom::Start(HEADER_LEN)).map_err(|e| io_error("reading", &seg.path, &e))?;
                let (path, end, left) = (seg.path, seg.end, seg.records);
                self.current = Some(Reading { r, path, pos: HEADER_LEN, end, left });
            }
            let Some(at) = self.current.as_mut() else { continue };
            if at.pos == at.end {
                if at.left > 0 {
                    return Err(corrupt(
                        &at.path,
                        at.pos,
                        "fewer records than counted on open (a snapshot's footer)",
                    ));
                }
                self.current = None;
                continue;
            }
            let damage = |what| Err(corrupt(&at.path, at.pos, what));
            if at.left == 0 {
                return damage("more records than counted on open (a snapshot's footer)");
            }
            if at.end - at.pos < FRAME_HEADER {
                return damage("incomplete frame");
            }
            let mut fh = [0u8; FRAME_HEADER as usize];
            at.r.read_exact(&mut fh).map_err(|e| io_error("reading", &at.path, &e))?;
            let len = u32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]);
            let crc = u32::from_le_bytes([fh[4], fh[5], fh[6], fh[7]]);
            if !valid_len(len) {
                return damage("impossible record length");
            }
            if at.pos + FRAME_HEADER + u64::from(len) > at.end {
                return damage("record runs past the end of the file");
            }
            self.buf.resize(len as usize, 0);
            at.r.read_exact(&mut self.buf).map_err(|e| io_error("reading", &at.path, &e))?;
            if crc32fast::hash(&self.buf) != crc {
                return damage("record checksum mismatch");
            }
            at.pos += FRAME_HEADER + u64::from(len);
            at.left -= 1;
            self.count = self.count.saturating_sub(1);
            return Ok(Some(&self.buf));
        }
    }
}

impl Iterator for Records {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(p)) => Some(Ok(p.to_vec())),
            Ok(None) => None,
            Err(e) => {
                self.segments.clear();
                self.current = None;
                Some(Err(e))
            }
        }
    }
}
