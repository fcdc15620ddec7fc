//! Every dereference of a caller's pointer happens here, and nowhere else.
//!
//! Each function states what its pointer arguments must be; those promises are the C caller's side of
//! the contract in the header. What C lets us check, we check: NULL pointers, lengths, UTF-8. The
//! lifetimes these functions return are unbounded: the caller ties them to one call into the library.

use super::store::ss_store;
use crate::error::{Error, Result};
use crate::store::Store;
use std::ffi::{c_char, c_void, CStr, CString};

/// The store behind a handle.
///
/// # Safety
/// `handle` is NULL or a handle from [`into_handle`] that is not closed, for all of `'a`.
pub(crate) unsafe fn store<'a>(handle: *const ss_store) -> Result<&'a Store> {
    // SAFETY: a non-NULL handle is a live `Box<ss_store>` (this function's contract).
    let handle = unsafe { handle.as_ref() };
    handle.map(ss_store::store).ok_or_else(|| Error::invalid_argument("store is NULL"))
}

pub(crate) fn into_handle(store: Store) -> *mut ss_store {
    Box::into_raw(Box::new(ss_store::new(store)))
}

/// # Safety
/// `handle` is NULL or a handle from [`into_handle`], closed only once and not in use elsewhere.
pub(crate) unsafe fn close_handle(handle: *mut ss_store) {
    if !handle.is_null() {
        // SAFETY: the handle came from `into_handle` and is closed once (this function's contract).
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// As [`opt_c_str`].
pub(crate) unsafe fn c_str<'a>(s: *const c_char, what: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    unsafe { opt_c_str(s, what) }?.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

/// # Safety
/// `s` is NULL or a NUL-terminated string that stays valid and unchanged for all of `'a`.
pub(crate) unsafe fn opt_c_str<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string argument is NUL-terminated (this function's contract).
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        Error::invalid_argument(format!("{what} is not valid UTF-8 (at byte {})", e.valid_up_to()))
    })
}

/// A required (pointer, length) payload.
///
/// # Safety
/// As [`opt_bytes`].
pub(crate) unsafe fn bytes<'a>(data: *const c_char, len: usize, what: &str) -> Result<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { opt_bytes(data, len, what) }?.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

/// # Safety
/// `data` is NULL or readable for `len` bytes that stay unchanged for all of `'a`.
pub(crate) unsafe fn opt_bytes<'a>(data: *const c_char, len: usize, what: &str) -> Result<Option<&'a [u8]>> {
    if data.is_null() {
        return Ok(None);
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid_argument(format!("{what} length {len} is impossibly large")));
    }
    // SAFETY: `data` is readable for `len` bytes (this function's contract); the length fits an isize.
    Ok(Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }))
}

/// Writes `value` through `out` unless it is NULL.
///
/// # Safety
/// `out` is NULL or valid for writing a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) {
    // SAFETY: a non-NULL out-parameter is writable (this function's contract).
    if let Some(slot) = unsafe { out.as_mut() } {
        *slot = value;
    }
}

/// Hands JSON text to the caller as a new NUL-terminated string, with its length, unless `out` is NULL.
///
/// # Safety
/// `out` and `out_len` are each NULL or writable.
pub(crate) unsafe fn write_json(out: *mut *mut c_char, out_len: *mut usize, json: &str) {
    if !out.is_null() {
        let mut bytes = Vec::with_capacity(json.len() + 1);
        bytes.extend_from_slice(json.as_bytes());
        // SAFETY: forwarded contract.
        unsafe { hand_over(out, out_len, bytes) };
    }
}

/// [`write_json`] for a string the caller no longer needs (no copy).
///
/// # Safety
/// As [`write_json`].
pub(crate) unsafe fn write_json_owned(out: *mut *mut c_char, out_len: *mut usize, json: String) {
    if !out.is_null() {
        // SAFETY: forwarded contract.
        unsafe { hand_over(out, out_len, json.into_bytes()) };
    }
}

/// JSON text never holds a NUL byte: a raw control character is a syntax error, every input is validated,
/// and everything the engine writes itself is escaped. So JSON skips the scan `CString::new` would make.
///
/// # Safety
/// As [`write_json`].
unsafe fn hand_over(out: *mut *mut c_char, out_len: *mut usize, mut bytes: Vec<u8>) {
    debug_assert!(!bytes.contains(&0), "JSON output holds a NUL byte");
    let len = bytes.len();
    bytes.push(0);
    // SAFETY: no interior NUL (see above), and the terminator was just pushed.
    let c_string = unsafe { CString::from_vec_with_nul_unchecked(bytes) };
    // SAFETY: forwarded contract.
    unsafe {
        write(out_len, len);
        write(out, c_string.into_raw());
    }
}

/// Copies `json` into the caller's buffer of `cap` bytes when it fits (no terminator), and writes its
/// length to `*out_len` whether it fits or not, as snprintf does.
///
/// # Safety
/// `out_len` is writable; `buf` is writable for `cap` bytes (it may be NULL when `cap` is 0).
pub(crate) unsafe fn copy_into(buf: *mut c_char, cap: usize, out_len: *mut usize, json: &str) {
    if json.len() <= cap && !json.is_empty() {
        // SAFETY: `buf` is writable for `cap` >= `json.len()` bytes (this function's contract), and the
        // store's bytes cannot overlap a buffer the caller owns.
        unsafe { std::ptr::copy_nonoverlapping(json.as_ptr(), buf.cast::<u8>(), json.len()) };
    }
    // SAFETY: forwarded contract.
    unsafe { write(out_len, json.len()) };
}

/// Lends `json` to the caller's sink for the duration of one call.
///
/// # Safety
/// `sink` accepts `context` and does not unwind.
pub(crate) unsafe fn lend(
    sink: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    context: *mut c_void,
    json: &str,
) {
    // SAFETY: `sink` accepts `context` and does not unwind (this function's contract); `json` is valid
    // for `json.len()` bytes until it returns.
    unsafe { sink(context, json.as_ptr().cast(), json.len()) }
}

/// Hands an error message to the caller. A message may echo a NUL byte from the caller's input (in a
/// JSON key, say); it is spelled out rather than allowed to truncate the message.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write_message(out: *mut *mut c_char, message: String) {
    if !out.is_null() {
        let c_string = CString::new(message).unwrap_or_else(|e| {
            let escaped = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\u0000");
            CString::new(escaped).expect("NUL bytes were replaced")
        });
        // SAFETY: forwarded contract.
        unsafe { write(out, c_string.into_raw()) };
    }
}

/// # Safety
/// `s` is NULL or a string this module handed out, freed only once.
pub(crate) unsafe fn free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `hand_over` or `write_message` (CString::into_raw) and is freed once
        // (this function's contract).
        drop(unsafe { CString::from_raw(s) });
    }
}
