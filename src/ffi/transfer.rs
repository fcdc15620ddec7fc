//! Export and import: "bring your own dictionary" across the C ABI.

use super::panic::guard;
use super::ptr;
use super::status::ss_status;
use super::store::ss_store;
use std::ffi::c_char;

/// Writes every session in the store, of every type, to `*out_json` as one JSON object
/// {"<session_id>": session, ...} in first-insertion order: the shape of Agno's `storage_dict`, so it
/// can be saved anywhere and loaded later with ss_import() (or by Agno itself). Keys are spelled as the
/// sessions spell their "session_id".
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL) or SS_STATUS_INTERNAL. Thread-safe;
/// the export reflects one consistent state.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_export(
    store: *const ss_store,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            ptr::write_json_owned(out_json, out_len, ptr::store(store)?.export()?);
            Ok(())
        })
    }
}

/// Merges an export (`data_len` bytes: a JSON object mapping each session_id to its session) into the
/// store, replacing sessions with the same ids, and writes the number of records to `*out_count`.
/// Timestamps are kept as given. A missing "updated_at" is now; a missing "created_at" is kept from the
/// session the record replaces, else taken from the record's "updated_at", else now. A record's
/// "session_type" says its type; records without one take this handle's mode. Each key must equal its
/// record's "session_id". All or nothing: on any error nothing is stored and the message names the
/// record ("import[\"id\"]: ..."). An import is an administrative load: it replaces stored sessions
/// whatever their "user_id" (ss_upsert()'s ownership rule does not apply). An import of thousands of
/// records parses and checks them on up to four threads (this one and short-lived helpers, as many as
/// the machine has cores) before it takes the store's lock.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (NULL pointers, not an object), SS_STATUS_INVALID_JSON,
/// SS_STATUS_INVALID_SESSION, SS_STATUS_CONFLICT (an id stored with another type), SS_STATUS_TOO_LARGE,
/// SS_STATUS_FULL (the store's bounds cannot hold the import even after evicting every other session)
/// or SS_STATUS_INTERNAL, and for a durable store the I/O statuses of ss_upsert(). Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_import(
    store: *mut ss_store,
    data_json: *const c_char,
    data_len: usize,
    out_count: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let data = ptr::bytes(data_json, data_len, "data_json")?;
            ptr::write(out_count, store.import(data)?);
            Ok(())
        })
    }
}
