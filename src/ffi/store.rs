//! Opening, sharing and closing store handles, and store-wide operations.

use super::panic::{guard, guard_void};
use super::ptr;
use super::status::ss_status;
use crate::session_type::SessionType;
use crate::store::Store;
use std::ffi::c_char;

/// A handle on a session store: what ss_store_open() and ss_store_share() return and every other
/// function takes. Opaque: C code holds pointers to it and never looks inside.
///
/// Several handles may share one store's data (ss_store_share()), each with its own mode; the data
/// lives until the last of them is closed with ss_store_close(). A handle may be used from any thread,
/// by several threads at once.
#[allow(non_camel_case_types)]
pub struct ss_store {
    store: Store,
}

impl ss_store {
    pub(super) fn new(store: Store) -> Self {
        ss_store { store }
    }

    /// The engine's handle, for Rust code that also calls the C ABI (the crate's own tests).
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Opens a new, empty store and returns a handle to it in `*out_store`.
///
/// `config_json` (`config_len` bytes, no NUL needed) is a JSON object with optional keys:
///  - "mode": "agent" (default), "team", "workflow" or "workflow_v2": the type of the sessions this
///    handle reads and writes, and the entity field its filters use (agent_id, team_id, workflow_id);
///  - "max_session_bytes": the largest session accepted, in bytes, not counting the "session_type",
///    "created_at" and "updated_at" members, which the store sets (default 33554432, i.e. 32 MiB;
///    larger values than the hard limit 4293918719, 4 GiB - 1 MiB - 1, are lowered to it). A session
///    so counted has the same size as sent, as stored and as exported, so an export always imports
///    again into a store with the same limit;
///  - "non_finite_numbers": "reject" (default) or "null". NaN, Infinity and -Infinity are not JSON, but
///    Python's json.dumps writes them (Agno's float metrics carry them). With "null", each of these
///    words outside a string in a session, batch or import is stored as null (and so exported as null);
///    with "reject", such input is SS_STATUS_INVALID_JSON with a message naming the word and this key.
///
/// Pass NULL for the defaults. Unknown keys are rejected so that a typo cannot go unnoticed.
///
/// `out_store` is required. The handle is owned by the caller: release it with ss_store_close().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (out_store NULL, unknown key, bad mode or size),
/// SS_STATUS_INVALID_JSON, or SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_store_open(
    config_json: *const c_char,
    config_len: usize,
    out_store: *mut *mut ss_store,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            if out_store.is_null() {
                return Err(crate::Error::invalid_argument("out_store is NULL"));
            }
            let config = ptr::opt_bytes(config_json, config_len, "config_json")?;
            let store = Store::open_json(config)?;
            ptr::write(out_store, ptr::into_handle(store));
            Ok(())
        })
    }
}

/// Returns in `*out_store` a second handle on the data of `store`, with its own mode: `mode` is
/// "agent", "team", "workflow" or "workflow_v2", or NULL for the mode of `store`. This is how several
/// agents, teams and workflows share one storage. Both handles see every change made through either;
/// the data lives until the last handle sharing it is closed.
///
/// `out_store` is required; the new handle is owned by the caller (release it with ss_store_close()).
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store or out_store NULL, unknown mode), or
/// SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_store_share(
    store: *const ss_store,
    mode: *const c_char,
    out_store: *mut *mut ss_store,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            if out_store.is_null() {
                return Err(crate::Error::invalid_argument("out_store is NULL"));
            }
            let mode = ptr::opt_c_str(mode, "mode")?.map(SessionType::parse).transpose()?;
            ptr::write(out_store, ptr::into_handle(store.share(mode)));
            Ok(())
        })
    }
}

/// Closes a handle. The sessions stay available to other handles sharing the store; the memory is
/// released with the last handle. NULL is a no-op.
///
/// The handle must not be used afterwards, nor while this call runs (from another thread); C cannot
/// detect that, so it is undefined behaviour, as with free(). The bindings turn it into an error.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_store_close(store: *mut ss_store) {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard_void(|| ptr::close_handle(store));
    }
}

/// Writes a JSON object of counts to `*out_json`:
/// {"mode":"agent","sessions":N,"bytes":B,"by_type":{"agent":a,"team":t,"workflow":w,"workflow_v2":v}}
/// where "sessions" and "by_type" count every session in the store (all types), and "bytes" is the
/// size of their stored JSON.
///
/// `*out_json` (with its length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL) or SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_stats(
    store: *const ss_store,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let stats = ptr::store(store)?.stats();
            ptr::write_json_owned(out_json, out_len, stats.to_json());
            Ok(())
        })
    }
}

/// Removes every session of this handle's type (sessions of other types stay) and writes how many were
/// removed to `*out_removed`.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL) or SS_STATUS_INTERNAL. Thread-safe
/// and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_drop(
    store: *mut ss_store,
    out_removed: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let removed = ptr::store(store)?.drop_sessions()?;
            ptr::write(out_removed, removed);
            Ok(())
        })
    }
}
