//! The boundary every export runs behind: errors become a status plus an owned message, and a panic
//! becomes `SS_STATUS_INTERNAL` instead of unwinding into the caller.

use super::ptr;
use super::status::ss_status;
use crate::error::Result;
use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; on failure writes the message to `out_error` (when it is not NULL).
///
/// # Safety
/// `out_error` is NULL or writable.
///
/// Catching a panic is sound here because the engine validates before it mutates, so a panic cannot
/// leave the tables half-changed (and the store ignores the lock poisoning such a panic would cause).
pub(crate) unsafe fn guard(out_error: *mut *mut c_char, body: impl FnOnce() -> Result<()>) -> ss_status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return ss_status::Ok,
        Ok(Err(error)) => (ss_status::from(error.kind), error.message),
        Err(payload) => (ss_status::Internal, format!("internal error: {}", panic_message(&*payload))),
    };
    // SAFETY: forwarded contract.
    unsafe { ptr::write_message(out_error, message) };
    status
}

/// Runs `body` for the functions that return nothing; a panic is swallowed rather than crossing over.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::ffi::CStr;

    fn message(ptr: *mut c_char) -> String {
        // SAFETY: `ptr` is a message `guard` wrote; it is freed once, here.
        unsafe {
            let text = CStr::from_ptr(ptr).to_str().unwrap().to_owned();
            ptr::free_string(ptr);
            text
        }
    }

    /// [`guard`] writing to a local (or nowhere, for NULL).
    fn guard(out_error: *mut *mut c_char, body: impl FnOnce() -> Result<()>) -> ss_status {
        // SAFETY: every caller passes NULL or the address of a local.
        unsafe { super::guard(out_error, body) }
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let mut err = std::ptr::null_mut();
        let status = guard(&mut err, || panic!("boom {}", 42));
        assert_eq!(status, ss_status::Internal);
        assert_eq!(message(err), "internal error: boom 42");
        let status = guard(&mut err, || std::panic::panic_any(7u8));
        assert_eq!(status, ss_status::Internal);
        assert_eq!(message(err), "internal error: a panic without a message");
        guard_void(|| panic!("swallowed"));
    }

    #[test]
    fn errors_become_their_status_and_success_writes_no_message() {
        let mut err = std::ptr::null_mut();
        assert_eq!(guard(&mut err, || Ok(())), ss_status::Ok);
        assert!(err.is_null());
        assert_eq!(guard(&mut err, || Err(Error::conflict("taken"))), ss_status::Conflict);
        assert_eq!(message(err), "taken");
        assert_eq!(guard(std::ptr::null_mut(), || Err(Error::not_found("x"))), ss_status::NotFound);
    }

    #[test]
    fn a_message_with_a_nul_byte_is_spelled_out_not_truncated() {
        let mut err = std::ptr::null_mut();
        guard(&mut err, || Err(Error::invalid_argument("a\0b")));
        assert_eq!(message(err), "a\\u0000b");
    }
}
