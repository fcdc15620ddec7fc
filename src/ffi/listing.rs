//! Listings: by user and entity, most recent, and Agno 2-style queries.

use super::panic::guard;
use super::ptr;
use super::status::ss_status;
use super::store::ss_store;
use crate::tables::Filter;
use std::ffi::c_char;

/// Writes to `*out_json` a JSON array of the ids of this handle's sessions, in first-insertion order,
/// filtered by `user_id` and by `entity_id` (matched against agent_id, team_id or workflow_id according
/// to the handle's mode). A NULL or empty filter matches everything. Each id is the JSON string of the
/// session's "session_id", spelled as the session spells it (escapes as sent).
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL, a filter not UTF-8) or
/// SS_STATUS_INTERNAL. Thread-safe; the listing reflects one consistent state of the store.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_get_all_session_ids(
    store: *const ss_store,
    user_id: *const c_char,
    entity_id: *const c_char,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let filter = filter(user_id, entity_id)?;
            ptr::write_json_owned(out_json, out_len, store.get_all_session_ids(filter)?);
            Ok(())
        })
    }
}

/// As ss_get_all_session_ids(), but writes a JSON array of the sessions themselves.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_get_all_sessions(
    store: *const ss_store,
    user_id: *const c_char,
    entity_id: *const c_char,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let filter = filter(user_id, entity_id)?;
            ptr::write_json_owned(out_json, out_len, store.get_all_sessions(filter)?);
            Ok(())
        })
    }
}

/// Writes to `*out_json` a JSON array of at most `limit` of this handle's sessions matching the filters
/// (as in ss_get_all_session_ids()), newest "created_at" first; sessions created in the same second come
/// most recently inserted first. A negative `limit` means no limit. The cost grows with `limit` and the
/// filtered index, not with the size of the store.
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT or SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_get_recent_sessions(
    store: *const ss_store,
    user_id: *const c_char,
    entity_id: *const c_char,
    limit: i64,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let filter = filter(user_id, entity_id)?;
            ptr::write_json_owned(out_json, out_len, store.get_recent_sessions(filter, limit)?);
            Ok(())
        })
    }
}

/// Lists sessions by a JSON query (`query_len` bytes; NULL means `{}`) with optional keys:
///  - "session_type": "agent", "team", "workflow", "workflow_v2", "any", or a non-empty list of types
///    (default: this handle's mode), as Agno 2's `get_sessions(session_type=...)`;
///  - "user_id", "entity_id" (strings; entity_id is matched against the entity field of each session's
///    type). An empty string, like null, means no filter: Agno 2 would match only sessions whose field
///    is "", but an empty id names no one, and the C listings treat "" as no filter too;
///  - "session_name": a substring of session_data.session_name, compared after full Unicode case
///    folding of both (Python's str.casefold: "ΟΔΟΣ" and "οδος" match, "ß" matches "ss"); unnamed
///    sessions never match;
///  - "created_after", "created_before", "updated_after", "updated_before" (inclusive unix seconds);
///  - "sort_by": "created_at" (default), "updated_at" or "session_id"; "sort_order": "desc" (default) or
///    "asc"; ties go by first insertion;
///  - "limit" (page size, default all) and "offset" (default 0);
///  - "fields": "all" (default: each stored session), "metadata" (for list views: "session_id",
///    "session_type", "user_id", the type's entity field, "created_at", "updated_at" and, when the
///    session has a name, "session_data":{"session_name":...}; built without reading the session, so
///    its cost does not grow with the transcript), or a list of at most 64 top-level field names (each
///    session is scanned; absent fields are left out).
///
/// Null values mean the default. Unknown keys are rejected.
///
/// Writes `{"sessions":[...],"total":N}` to `*out_json`, where "total" counts every match before paging.
/// `*out_json` is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL, unknown key, bad value),
/// SS_STATUS_INVALID_JSON or SS_STATUS_INTERNAL. Thread-safe; one consistent state.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_query(
    store: *const ss_store,
    query_json: *const c_char,
    query_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let query = ptr::opt_bytes(query_json, query_len, "query_json")?;
            ptr::write_json_owned(out_json, out_len, store.query_json(query)?);
            Ok(())
        })
    }
}

/// # Safety
/// As [`ptr::opt_c_str`], for both filters.
unsafe fn filter<'a>(user_id: *const c_char, entity_id: *const c_char) -> crate::Result<Filter<'a>> {
    // SAFETY: forwarded contract.
    unsafe { Ok(Filter::new(ptr::opt_c_str(user_id, "user_id")?, ptr::opt_c_str(entity_id, "entity_id")?)) }
}
