//! Calling the C ABI from Rust, checking its conventions on every call:
//!  - the status is one of the defined ones, and never SS_STATUS_INTERNAL (a caught panic is a bug);
//!  - `out_error` is written exactly on failure, with a NUL-terminated UTF-8 message that is not empty;
//!  - `out_json` / `out_len` / counts are written exactly on success, `*out_len == strlen(*out_json)`,
//!    and the JSON is UTF-8;
//!  - every returned string is released with `ss_string_free` (leaks show up under LeakSanitizer).

use sessionstore::ffi::{self, ss_status};
use sessionstore::{ErrorKind, Store};
use std::ffi::{c_char, CStr, CString};
use std::ptr;

/// A status, as the tests compare them: the engine's kinds plus the two the C ABI adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    NotFound,
    InvalidArgument,
    InvalidJson,
    InvalidSession,
    Conflict,
    TooLarge,
    Internal,
    PermissionDenied,
    Io,
    Locked,
    Corrupt,
    Poisoned,
    VersionMismatch,
    FeedTruncated,
    Full,
    Unavailable,
}

impl From<ErrorKind> for Kind {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NotFound => Kind::NotFound,
            ErrorKind::InvalidArgument => Kind::InvalidArgument,
            ErrorKind::InvalidJson => Kind::InvalidJson,
            ErrorKind::InvalidSession => Kind::InvalidSession,
            ErrorKind::Conflict => Kind::Conflict,
            ErrorKind::TooLarge => Kind::TooLarge,
            ErrorKind::PermissionDenied => Kind::PermissionDenied,
            ErrorKind::Io => Kind::Io,
            ErrorKind::Locked => Kind::Locked,
            ErrorKind::Corrupt => Kind::Corrupt,
            ErrorKind::Poisoned => Kind::Poisoned,
            ErrorKind::VersionMismatch => Kind::VersionMismatch,
            ErrorKind::FeedTruncated => Kind::FeedTruncated,
            ErrorKind::Full => Kind::Full,
            ErrorKind::Unavailable => Kind::Unavailable,
        }
    }
}

/// Each failure status with its kind; the numbers are the library's (`ss_status`).
const KINDS: [(ss_status, Kind); 16] = [
    (ss_status::NotFound, Kind::NotFound),
    (ss_status::InvalidArgument, Kind::InvalidArgument),
    (ss_status::InvalidJson, Kind::InvalidJson),
    (ss_status::InvalidSession, Kind::InvalidSession),
    (ss_status::Conflict, Kind::Conflict),
    (ss_status::TooLarge, Kind::TooLarge),
    (ss_status::Internal, Kind::Internal),
    (ss_status::PermissionDenied, Kind::PermissionDenied),
    (ss_status::Io, Kind::Io),
    (ss_status::Locked, Kind::Locked),
    (ss_status::Corrupt, Kind::Corrupt),
    (ss_status::Poisoned, Kind::Poisoned),
    (ss_status::VersionMismatch, Kind::VersionMismatch),
    (ss_status::FeedTruncated, Kind::FeedTruncated),
    (ss_status::Full, Kind::Full),
    (ss_status::Unavailable, Kind::Unavailable),
];

impl Kind {
    pub fn status(self) -> u32 {
        KINDS.iter().find(|(_, kind)| *kind == self).expect("every kind is listed").0 as u32
    }

    /// `None` for OK; panics on a number outside the documented set.
    pub fn from_status(status: u32) -> Option<Kind> {
        if status == ss_status::Ok as u32 {
            return None;
        }
        let found = KINDS.iter().find(|(s, _)| *s as u32 == status);
        Some(found.unwrap_or_else(|| panic!("undefined status {status}")).1)
    }
}

/// A failed call: its kind and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl From<sessionstore::Error> for Failure {
    fn from(e: sessionstore::Error) -> Self {
        Failure { kind: e.kind.into(), message: e.message }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// An owned C string for an optional argument (`None` is NULL).
pub struct CArg(Option<CString>);

impl CArg {
    pub fn new(s: Option<&str>) -> CArg {
        CArg(s.map(|s| CString::new(s).expect("test strings hold no NUL")))
    }
    pub fn bytes(b: &[u8]) -> CArg {
        CArg(Some(CString::new(b).expect("test strings hold no NUL")))
    }
    pub fn ptr(&self) -> *const c_char {
        self.0.as_ref().map_or(ptr::null(), |c| c.as_ptr())
    }
}

const SENTINEL: *mut c_char = std::ptr::dangling_mut::<c_char>();
const COUNT_SENTINEL: usize = usize::MAX - 7;

/// Takes (and frees) a string returned by the library.
pub fn take_string(s: *mut c_char) -> String {
    assert!(!s.is_null());
    let text = unsafe { CStr::from_ptr(s) }.to_str().expect("the library returns UTF-8").to_owned();
    unsafe { ffi::ss_string_free(s) };
    text
}

/// Checks the status/out_error convention; returns the failure, if any.
fn check_status(status: ss_status, err: *mut c_char) -> Option<Failure> {
    let kind = Kind::from_status(status as u32);
    match kind {
        None => {
            assert!(err.is_null(), "out_error written on success");
            None
        }
        Some(kind) => {
            assert!(!err.is_null() && err != SENTINEL, "out_error not written on failure ({kind:?})");
            let message = take_string(err);
            assert!(!message.is_empty(), "empty error message for {kind:?}");
            assert_ne!(kind, Kind::Internal, "SS_STATUS_INTERNAL (a caught panic): {message}");
            Some(Failure { kind, message })
        }
    }
}

/// Calls a function that returns a string through `out_json`/`out_len`.
pub fn call_json(
    f: impl FnOnce(*mut *mut c_char, *mut usize, *mut *mut c_char) -> ss_status,
) -> Outcome<String> {
    let mut out: *mut c_char = SENTINEL;
    let mut len: usize = COUNT_SENTINEL;
    let mut err: *mut c_char = ptr::null_mut();
    let status = f(&mut out, &mut len, &mut err);
    match check_status(status, err) {
        None => {
            assert!(out != SENTINEL && !out.is_null(), "out_json not written on success");
            let text = take_string(out);
            assert_eq!(len, text.len(), "out_len differs from strlen(out_json)");
            Ok(text)
        }
        Some(failure) => {
            assert!(out == SENTINEL, "out_json written on failure");
            assert!(len == COUNT_SENTINEL, "out_len written on failure");
            Err(failure)
        }
    }
}

/// Calls a function that returns a count through an out-parameter.
pub fn call_count(f: impl FnOnce(*mut usize, *mut *mut c_char) -> ss_status) -> Outcome<usize> {
    let mut count: usize = COUNT_SENTINEL;
    let mut err: *mut c_char = ptr::null_mut();
    let status = f(&mut count, &mut err);
    match check_status(status, err) {
        None => {
            assert_ne!(count, COUNT_SENTINEL, "count not written on success");
            Ok(count)
        }
        Some(failure) => {
            assert_eq!(count, COUNT_SENTINEL, "count written on failure");
            Err(failure)
        }
    }
}

/// A store handle made through the C ABI. The Rust API can be used on it too (`store()`).
pub struct Handle {
    pub ptr: *mut ffi::ss_store,
}

unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Handle {
    pub fn open(config: Option<&[u8]>) -> Outcome<Handle> {
        let mut out: *mut ffi::ss_store = ptr::null_mut();
        let mut err: *mut c_char = ptr::null_mut();
        let (p, n) = config.map_or((ptr::null(), 0), |c| (c.as_ptr().cast(), c.len()));
        let status = unsafe { ffi::ss_store_open(p, n, &mut out, &mut err) };
        match check_status(status, err) {
            None => {
                assert!(!out.is_null());
                Ok(Handle { ptr: out })
            }
            Some(f) => {
                assert!(out.is_null(), "out_store written on failure");
                Err(f)
            }
        }
    }

    pub fn share(&self, mode: Option<&str>) -> Outcome<Handle> {
        let mode = CArg::new(mode);
        let mut out: *mut ffi::ss_store = ptr::null_mut();
        let mut err: *mut c_char = ptr::null_mut();
        let status = unsafe { ffi::ss_store_share(self.ptr, mode.ptr(), &mut out, &mut err) };
        match check_status(status, err) {
            None => {
                assert!(!out.is_null());
                Ok(Handle { ptr: out })
            }
            Some(f) => {
                assert!(out.is_null(), "out_store written on failure");
                Err(f)
            }
        }
    }

    pub fn store(&self) -> &Store {
        // SAFETY: the handle is open until drop.
        unsafe { &*self.ptr }.store()
    }

    pub fn upsert(&self, data: &[u8]) -> Outcome<String> {
        call_json(|o, l, e| unsafe { ffi::ss_upsert(self.ptr, data.as_ptr().cast(), data.len(), o, l, e) })
    }

    pub fn upsert_many(&self, data: &[u8]) -> Outcome<String> {
        call_json(|o, l, e| unsafe {
            ffi::ss_upsert_many(self.ptr, data.as_ptr().cast(), data.len(), o, l, e)
        })
    }

    pub fn read(&self, id: &str, user: Option<&str>) -> Outcome<String> {
        let (id, user) = (CArg::new(Some(id)), CArg::new(user));
        call_json(|o, l, e| unsafe { ffi::ss_read(self.ptr, id.ptr(), user.ptr(), o, l, e) })
    }

    pub fn ids(&self, user: Option<&str>, entity: Option<&str>) -> Outcome<String> {
        let (u, en) = (CArg::new(user), CArg::new(entity));
        call_json(|o, l, e| unsafe { ffi::ss_get_all_session_ids(self.ptr, u.ptr(), en.ptr(), o, l, e) })
    }

    pub fn all(&self, user: Option<&str>, entity: Option<&str>) -> Outcome<String> {
        let (u, en) = (CArg::new(user), CArg::new(entity));
        call_json(|o, l, e| unsafe { ffi::ss_get_all_sessions(self.ptr, u.ptr(), en.ptr(), o, l, e) })
    }

    pub fn recent(&self, user: Option<&str>, entity: Option<&str>, limit: i64) -> Outcome<String> {
        let (u, en) = (CArg::new(user), CArg::new(entity));
        call_json(|o, l, e| unsafe {
            ffi::ss_get_recent_sessions(self.ptr, u.ptr(), en.ptr(), limit, o, l, e)
        })
    }

    pub fn query(&self, q: Option<&[u8]>) -> Outcome<String> {
        let (p, n) = q.map_or((ptr::null(), 0), |q| (q.as_ptr().cast(), q.len()));
        call_json(|o, l, e| unsafe { ffi::ss_query(self.ptr, p, n, o, l, e) })
    }

    pub fn rename(&self, id: &str, name: &str) -> Outcome<String> {
        self.rename_as(id, name, None)
    }

    /// Renames only a session of `user` (any session when `None`).
    pub fn rename_as(&self, id: &str, name: &str, user: Option<&str>) -> Outcome<String> {
        let (id, name, user) = (CArg::new(Some(id)), CArg::new(Some(name)), CArg::new(user));
        call_json(|o, l, e| unsafe {
            ffi::ss_rename_session(self.ptr, id.ptr(), name.ptr(), user.ptr(), o, l, e)
        })
    }

    pub fn delete(&self, id: &str) -> Outcome<usize> {
        self.delete_as(id, None)
    }

    /// Deletes only a session of `user` (any session when `None`).
    pub fn delete_as(&self, id: &str, user: Option<&str>) -> Outcome<usize> {
        let (id, user) = (CArg::new(Some(id)), CArg::new(user));
        call_count(|c, e| unsafe { ffi::ss_delete_session(self.ptr, id.ptr(), user.ptr(), c, e) })
    }

    pub fn delete_many(&self, data: &[u8]) -> Outcome<usize> {
        self.delete_many_as(data, None)
    }

    pub fn delete_many_as(&self, data: &[u8], user: Option<&str>) -> Outcome<usize> {
        let user = CArg::new(user);
        call_count(|c, e| unsafe {
            ffi::ss_delete_sessions(self.ptr, data.as_ptr().cast(), data.len(), user.ptr(), c, e)
        })
    }

    pub fn drop_all(&self) -> Outcome<usize> {
        call_count(|c, e| unsafe { ffi::ss_drop(self.ptr, c, e) })
    }

    pub fn stats(&self) -> Outcome<String> {
        call_json(|o, l, e| unsafe { ffi::ss_stats(self.ptr, o, l, e) })
    }

    pub fn export(&self) -> Outcome<String> {
        call_json(|o, l, e| unsafe { ffi::ss_export(self.ptr, o, l, e) })
    }

    pub fn import(&self, data: &[u8]) -> Outcome<usize> {
        call_count(|c, e| unsafe { ffi::ss_import(self.ptr, data.as_ptr().cast(), data.len(), c, e) })
    }

    pub fn upsert_if(&self, data: &[u8], expected: u64) -> Outcome<String> {
        call_json(|o, l, e| unsafe {
            ffi::ss_upsert_if(self.ptr, data.as_ptr().cast(), data.len(), expected, o, l, e)
        })
    }

    pub fn rename_if(&self, id: &str, name: &str, user: Option<&str>, expected: u64) -> Outcome<String> {
        let (id, name, user) = (CArg::new(Some(id)), CArg::new(Some(name)), CArg::new(user));
        call_json(|o, l, e| unsafe {
            ffi::ss_rename_session_if(self.ptr, id.ptr(), name.ptr(), user.ptr(), expected, o, l, e)
        })
    }

    pub fn delete_if(&self, id: &str, user: Option<&str>, expected: u64) -> Outcome<usize> {
        let (id, user) = (CArg::new(Some(id)), CArg::new(user));
        call_count(|c, e| unsafe {
            ffi::ss_delete_session_if(self.ptr, id.ptr(), user.ptr(), expected, c, e)
        })
    }

    pub fn append_runs(&self, id: &str, user: Option<&str>, runs: &[u8]) -> Outcome<String> {
        let (id, user) = (CArg::new(Some(id)), CArg::new(user));
        call_json(|o, l, e| unsafe {
            ffi::ss_append_runs(self.ptr, id.ptr(), user.ptr(), runs.as_ptr().cast(), runs.len(), o, l, e)
        })
    }

    pub fn changes(&self, after: u64, limit: usize, options: Option<&[u8]>) -> Outcome<String> {
        let (p, n) = options.map_or((ptr::null(), 0), |o| (o.as_ptr().cast(), o.len()));
        call_json(|o, l, e| unsafe { ffi::ss_changes(self.ptr, after, limit, p, n, o, l, e) })
    }

    /// The export and its sequence number (checked to be written exactly on success).
    pub fn export_with_seq(&self) -> Outcome<(String, u64)> {
        let mut seq = u64::MAX - 3;
        let json = call_json(|o, l, e| unsafe { ffi::ss_export_with_seq(self.ptr, o, l, &mut seq, e) })?;
        assert_ne!(seq, u64::MAX - 3, "out_seq not written on success");
        Ok((json, seq))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { ffi::ss_store_close(self.ptr) };
    }
}
