//! Every dereference of a caller's pointer happens here, and nowhere else.
//!
//! The C caller's side of the contract (documented in the header) is what makes these functions sound:
//! a non-NULL pointer points at what its type says, NUL-terminated strings are terminated, a (pointer,
//! length) pair is readable for `length` bytes, out-parameters are writable, and a store handle is one
//! returned by `ss_store_open`/`ss_store_share` that has not been closed. What C lets us check, we check:
//! NULL pointers, lengths, UTF-8.

use crate::error::{Error, Result};
use crate::store::Store;
use std::ffi::{c_char, c_void, CStr, CString};

pub(crate) fn store<'a>(handle: *const Store) -> Result<&'a Store> {
    // SAFETY: a non-NULL handle is a live `Box<Store>` from `into_handle` (caller's contract).
    unsafe { handle.as_ref() }.ok_or_else(|| Error::invalid_argument("store is NULL"))
}

pub(crate) fn into_handle(store: Store) -> *mut Store {
    Box::into_raw(Box::new(store))
}

pub(crate) fn close_handle(handle: *mut Store) {
    if !handle.is_null() {
        // SAFETY: the handle came from `into_handle` and is closed once (caller's contract).
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// A required NUL-terminated UTF-8 string.
pub(crate) fn c_str<'a>(s: *const c_char, what: &str) -> Result<&'a str> {
    opt_c_str(s, what)?.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

pub(crate) fn opt_c_str<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string argument is NUL-terminated (caller's contract).
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        Error::invalid_argument(format!("{what} is not valid UTF-8 (at byte {})", e.valid_up_to()))
    })
}

/// A required (pointer, length) payload.
pub(crate) fn bytes<'a>(data: *const c_char, len: usize, what: &str) -> Result<&'a [u8]> {
    opt_bytes(data, len, what)?.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

pub(crate) fn opt_bytes<'a>(data: *const c_char, len: usize, what: &str) -> Result<Option<&'a [u8]>> {
    if data.is_null() {
        return Ok(None);
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid_argument(format!("{what} length {len} is impossibly large")));
    }
    // SAFETY: `data` is readable for `len` bytes (caller's contract); the length fits an isize.
    Ok(Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }))
}

/// Writes `value` through `out` unless it is NULL.
pub(crate) fn write<T>(out: *mut T, value: T) {
    // SAFETY: a non-NULL out-parameter is writable (caller's contract).
    if let Some(slot) = unsafe { out.as_mut() } {
        *slot = value;
    }
}

/// Hands JSON text to the caller as a new NUL-terminated string, with its length, unless `out` is NULL.
pub(crate) fn write_json(out: *mut *mut c_char, out_len: *mut usize, json: &str) {
    if !out.is_null() {
        let mut bytes = Vec::with_capacity(json.len() + 1);
        bytes.extend_from_slice(json.as_bytes());
        hand_over(out, out_len, bytes);
    }
}

pub(crate) fn write_json_owned(out: *mut *mut c_char, out_len: *mut usize, json: String) {
    if !out.is_null() {
        hand_over(out, out_len, json.into_bytes());
    }
}

/// JSON text never holds a NUL byte: a raw control character is a syntax error, every input is validated,
/// and everything the engine writes itself is escaped. So JSON skips the scan `CString::new` would make.
fn hand_over(out: *mut *mut c_char, out_len: *mut usize, mut bytes: Vec<u8>) {
    debug_assert!(!bytes.contains(&0), "JSON output holds a NUL byte");
    let len = bytes.len();
    bytes.push(0);
    // SAFETY: no interior NUL (see above), and the terminator was just pushed.
    let c_string = unsafe { CString::from_vec_with_nul_unchecked(bytes) };
    write(out_len, len);
    write(out, c_string.into_raw());
}

/// Lends `json` to the caller's sink for the duration of one call.
pub(crate) fn lend(
    sink: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    context: *mut c_void,
    json: &str,
) {
    // SAFETY: `sink` is a function of this signature that accepts `context` and does not unwind (caller's
    // contract); `json` is valid for `json.len()` bytes until it returns.
    unsafe { sink(context, json.as_ptr().cast(), json.len()) }
}

/// Hands an error message to the caller. A message may echo a NUL byte from the caller's input (in a
/// JSON key, say); it is spelled out rather than allowed to truncate the message.
pub(crate) fn write_message(out: *mut *mut c_char, message: String) {
    if !out.is_null() {
        let c_string = CString::new(message).unwrap_or_else(|e| {
            let escaped = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\u0000");
            CString::new(escaped).expect("NUL bytes were replaced")
        });
        write(out, c_string.into_raw());
    }
}

pub(crate) fn free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `hand_over` or `write_message` (CString::into_raw) and is freed once (caller's contract).
        drop(unsafe { CString::from_raw(s) });
    }
}
