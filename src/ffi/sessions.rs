//! Writing, reading, renaming and deleting individual sessions.

use super::panic::guard;
use super::ptr;
use super::status::ss_status;
use super::store::ss_store;
use std::ffi::{c_char, c_void};

/// Stores one session, replacing any session with the same id, and writes the stored JSON to
/// `*out_json`.
///
/// `session_json` (`session_len` bytes, no NUL needed) is a JSON object with a non-empty string
/// "session_id". Optional well-known fields: "user_id", "agent_id", "team_id", "workflow_id" (string or
/// null), "created_at", "updated_at" (integer unix seconds or null), "session_data" (object or null)
/// whose "session_name" (string or null) names the session. Every other field is stored verbatim.
/// The stored JSON is the input as sent (spacing and escapes included, surrounding whitespace dropped)
/// with "session_type" set to this handle's mode, "updated_at" set to now, "created_at" taken from the
/// input, else kept from the stored session, else set to now, and "version" set to the session's new
/// version: each replaced where it stands or, when absent, appended at the end of the object. A
/// "created_at" of 0 is a time like any other and is kept (Agno 1 would stamp it with now).
///
/// Versions: every change to a store has a number, one above the last (see ss_changes()), and a
/// session's "version" is the number of the change that last wrote it, so it grows with each write of
/// that session (and says nothing of how many writes there were). A "version" in the input (a session
/// read back and sent again) must be a non-negative integer or null, and is replaced; to make the
/// write depend on it, use ss_upsert_if().
///
/// A session belongs to its user: an upsert may replace a stored session only when the stored
/// "user_id" is null or absent, or equal to the input's. Another "user_id" (null or absent included)
/// is refused with SS_STATUS_PERMISSION_DENIED. ss_import(), an administrative load, is not bound by it.
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free(). Pass NULL
/// for `out_json` to skip producing it.
///
/// Returns SS_STATUS_OK; SS_STATUS_INVALID_ARGUMENT (store or session_json NULL);
/// SS_STATUS_INVALID_JSON; SS_STATUS_INVALID_SESSION (schema, a "session_type" other than this
/// handle's mode, a "version" that is not a non-negative integer); SS_STATUS_CONFLICT (the id is stored with another session type); SS_STATUS_TOO_LARGE
/// (over max_session_bytes); SS_STATUS_PERMISSION_DENIED (the session belongs to another user);
/// SS_STATUS_FULL (a bound of the store's config cannot be kept: see ss_store_open());
/// SS_STATUS_INTERNAL; for a durable store SS_STATUS_IO (the journal write failed) and
/// SS_STATUS_POISONED (see ss_store_open()). On failure nothing is changed, except after a failed
/// fsync (SS_STATUS_IO under "sync":"always"): the session is then stored in memory, but may not be on
/// disk, and the store refuses further writes. Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_upsert(
    store: *mut ss_store,
    session_json: *const c_char,
    session_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let json = ptr::bytes(session_json, session_len, "session_json")?;
            store.upsert_with(json, |stored| ptr::write_json(out_json, out_len, stored))
        })
    }
}

/// ss_upsert(), if the session's stored version is `expected_version`, where 0 means the session must
/// not exist yet (another type's session with the id is a conflict, as for ss_upsert()). Otherwise
/// nothing is changed and SS_STATUS_VERSION_MISMATCH is returned: another writer came first, so read
/// the session again, apply the change to what it holds, and retry. This is optimistic concurrency for
/// a read-modify-write; to add runs to a transcript, ss_append_runs() needs no retry.
///
/// Returns the statuses of ss_upsert() and SS_STATUS_VERSION_MISMATCH (checked after the type and
/// owner). Thread-safe and atomic: the check and the write are one step.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_upsert_if(
    store: *mut ss_store,
    session_json: *const c_char,
    session_len: usize,
    expected_version: u64,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let json = ptr::bytes(session_json, session_len, "session_json")?;
            store.upsert_if_with(json, Some(expected_version), |stored| {
                ptr::write_json(out_json, out_len, stored)
            })
        })
    }
}

/// Stores every session of a JSON array (`sessions_len` bytes), as ss_upsert() would, or none of them:
/// if any element is invalid or conflicts, nothing is stored and the message names the element's index
/// (`"sessions[3]: ..."`). Writes the stored sessions, as a JSON array in input order, to `*out_json`
/// (owned by the caller, free with ss_string_free(); pass NULL to skip producing it).
///
/// Returns the statuses of ss_upsert(); SS_STATUS_INVALID_ARGUMENT also when the payload is not an
/// array. Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_upsert_many(
    store: *mut ss_store,
    sessions_json: *const c_char,
    sessions_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let json = ptr::bytes(sessions_json, sessions_len, "sessions_json")?;
            ptr::write_json_owned(out_json, out_len, store.upsert_many(json)?);
            Ok(())
        })
    }
}

/// Reads one session: writes its stored JSON to `*out_json` when it exists, has this handle's type and,
/// when `user_id` is neither NULL nor empty, belongs to that user. In a store opened with
/// "refresh_on_read", the read refreshes the session's idle time (see ss_store_open()).
///
/// `session_id` is required; `user_id` may be NULL. Both are NUL-terminated UTF-8. `*out_json` (length in
/// `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_NOT_FOUND (absent, expired, another type or another user: nothing
/// is written to out_json), SS_STATUS_INVALID_ARGUMENT (store or session_id NULL, not UTF-8) or
/// SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_read(
    store: *const ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            store.read_with(id, user, |json| ptr::write_json(out_json, out_len, json))
        })
    }
}

/// Receives a session's JSON from ss_read_with(): `len` bytes at `json`, not NUL-terminated and valid
/// only until the sink returns; `context` is the pointer given to ss_read_with().
#[allow(non_camel_case_types)]
pub type ss_sink = Option<unsafe extern "C" fn(context: *mut c_void, json: *const c_char, len: usize)>;

/// Reads one session without copying it: calls `sink` once, on the calling thread, with the session's
/// stored JSON, then returns SS_STATUS_OK. Which sessions are visible is as for ss_read().
///
/// The bytes are the store's own and are lent while the store is locked for reading: the sink should be
/// brief, must not call sessionstore functions on any handle of this store (a write would deadlock),
/// and must not unwind or longjmp out (a C++ sink catches everything). `context` is passed to the sink
/// unchanged and may be NULL. `session_id` and `user_id` are as for ss_read().
///
/// Returns SS_STATUS_OK (the sink was called), SS_STATUS_NOT_FOUND (it was not),
/// SS_STATUS_INVALID_ARGUMENT (store, session_id or sink NULL, an id not UTF-8) or SS_STATUS_INTERNAL.
/// Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_read_with(
    store: *const ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    sink: ss_sink,
    context: *mut c_void,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            let sink = sink.ok_or_else(|| crate::Error::invalid_argument("sink is NULL"))?;
            store.read_with(id, user, |json| ptr::lend(sink, context, json))
        })
    }
}

/// Reads one session into the caller's buffer: when the session exists (as for ss_read()) and its JSON
/// fits in `cap` bytes, copies it to `buf` (not NUL-terminated); in every case of SS_STATUS_OK writes
/// the JSON's length to `*out_len`. A length above `cap` means nothing was copied: call again with a
/// buffer that large, or use ss_read() (the session may change in between). For callers that keep
/// one buffer for many reads, this allocates nothing.
///
/// `session_id` and `user_id` are as for ss_read(). `buf` may be NULL when `cap` is 0 (to ask for the
/// length). The buffer stays the caller's.
///
/// Returns SS_STATUS_OK, SS_STATUS_NOT_FOUND (nothing written), SS_STATUS_INVALID_ARGUMENT (store,
/// session_id or out_len NULL, buf NULL with a non-zero cap, an id not UTF-8) or SS_STATUS_INTERNAL.
/// Thread-safe (one buffer per thread).
///
/// # Safety
/// Every pointer argument is NULL or valid as described above (`buf` writable for `cap` bytes); a store
/// handle is one that ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_read_into(
    store: *const ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            if out_len.is_null() {
                return Err(crate::Error::invalid_argument("out_len is NULL"));
            }
            if buf.is_null() && cap > 0 {
                return Err(crate::Error::invalid_argument("buf is NULL with a capacity above 0"));
            }
            store.read_with(id, user, |json| ptr::copy_into(buf, cap, out_len, json))
        })
    }
}

/// Renames a session of this handle's type: sets "session_data"."session_name" to `session_name`
/// (creating "session_data" when it is null or absent), sets "updated_at" to now, and writes the stored
/// JSON to `*out_json` (owned by the caller, free with ss_string_free(); NULL to skip).
///
/// `user_id` may be NULL or empty: then any session of this handle's type is renamed. Given, only a
/// session of that user is (Agno 2's `rename_session(user_id=...)`); another user's is NOT_FOUND.
///
/// Returns SS_STATUS_OK, SS_STATUS_NOT_FOUND, SS_STATUS_INVALID_ARGUMENT (store, session_id or
/// session_name NULL, not UTF-8), SS_STATUS_TOO_LARGE (the renamed session would exceed
/// max_session_bytes; nothing is changed), SS_STATUS_FULL (as for ss_upsert()) or SS_STATUS_INTERNAL, and for a durable store the I/O
/// statuses of ss_upsert(). Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_rename_session(
    store: *mut ss_store,
    session_id: *const c_char,
    session_name: *const c_char,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let name = ptr::c_str(session_name, "session_name")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            store.rename_session_with(id, name, user, |json| ptr::write_json(out_json, out_len, json))
        })
    }
}

/// ss_rename_session(), if the session's version is `expected_version`; otherwise nothing is changed
/// and SS_STATUS_VERSION_MISMATCH is returned. A session that is not visible to the call (absent,
/// another type, another user) has version 0, so an expected version of 0 gives SS_STATUS_NOT_FOUND.
///
/// Returns the statuses of ss_rename_session() and SS_STATUS_VERSION_MISMATCH. Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_rename_session_if(
    store: *mut ss_store,
    session_id: *const c_char,
    session_name: *const c_char,
    user_id: *const c_char,
    expected_version: u64,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let name = ptr::c_str(session_name, "session_name")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            store.rename_session_if_with(id, name, user, Some(expected_version), |json| {
                ptr::write_json(out_json, out_len, json)
            })
        })
    }
}

/// Appends runs to a session's transcript, as one atomic step: `runs_json` (`runs_len` bytes) is a JSON
/// array of one or more runs (any JSON values; Agno's are objects), appended in order to the session's
/// "runs" array for a workflow_v2 handle, or to its "memory"."runs" for the other types (Agno's
/// layout); a missing or null "memory" or "runs" is created. "updated_at" is set to now and "version"
/// to the new version; every other byte of the session is kept. Writes the stored JSON to `*out_json`
/// (owned by the caller, free with ss_string_free(); NULL to skip).
///
/// Concurrent appends to one session, from any number of threads and handles, all land, in some order:
/// unlike a read, an append to the runs read and an ss_upsert(), which loses whatever another writer
/// stored in between. The caller sends only the new runs; the cost is a pass over the session, not a
/// function of how many runs it holds. Which sessions are visible is as for ss_rename_session().
///
/// Returns SS_STATUS_OK, SS_STATUS_NOT_FOUND, SS_STATUS_INVALID_ARGUMENT (NULL pointers, not UTF-8,
/// `runs_json` not an array or empty), SS_STATUS_INVALID_JSON (syntax, or runs nested deeper than the
/// session's limit allows), SS_STATUS_INVALID_SESSION ("memory", "memory"."runs" or "runs" exists but
/// is neither an array (or object) nor null), SS_STATUS_TOO_LARGE (the session would exceed
/// max_session_bytes; nothing is changed), SS_STATUS_FULL (as for ss_upsert()), SS_STATUS_INTERNAL, and for a durable store the I/O statuses
/// of ss_upsert(). Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_append_runs(
    store: *mut ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    runs_json: *const c_char,
    runs_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            let runs = ptr::bytes(runs_json, runs_len, "runs_json")?;
            store.append_runs_with(id, user, runs, |json| ptr::write_json(out_json, out_len, json))
        })
    }
}

/// Deletes the session `session_id` if it has this handle's type and, when `user_id` is neither NULL
/// nor empty, belongs to that user; writes how many sessions were removed (0 or 1) to `*out_removed`.
/// An absent id, or another user's session, is not an error: nothing is removed.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store or session_id NULL, not UTF-8) or
/// SS_STATUS_INTERNAL, and for a durable store the I/O statuses of ss_upsert(). Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_delete_session(
    store: *mut ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    out_removed: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let removed = store.delete_session(id, ptr::opt_c_str(user_id, "user_id")?)?;
            ptr::write(out_removed, removed);
            Ok(())
        })
    }
}

/// ss_delete_session(), if the session's version is `expected_version`, where 0 means the session
/// must not exist (nothing is removed, and `*out_removed` is 0). Otherwise nothing is changed and
/// SS_STATUS_VERSION_MISMATCH is returned. Which sessions are visible is as for ss_delete_session().
///
/// Returns the statuses of ss_delete_session() and SS_STATUS_VERSION_MISMATCH. Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_delete_session_if(
    store: *mut ss_store,
    session_id: *const c_char,
    user_id: *const c_char,
    expected_version: u64,
    out_removed: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let id = ptr::c_str(session_id, "session_id")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            ptr::write(out_removed, store.delete_session_if(id, user, Some(expected_version))?);
            Ok(())
        })
    }
}

/// Deletes the sessions named by a JSON array of id strings (`session_ids_len` bytes) that have this
/// handle's type and, when `user_id` is neither NULL nor empty, belong to that user; writes how many
/// were removed to `*out_removed`. Absent ids and other users' sessions are not errors.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (NULL pointers, not an array of strings),
/// SS_STATUS_INVALID_JSON or SS_STATUS_INTERNAL, and for a durable store the I/O statuses of ss_upsert().
/// Thread-safe and atomic.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_delete_sessions(
    store: *mut ss_store,
    session_ids_json: *const c_char,
    session_ids_len: usize,
    user_id: *const c_char,
    out_removed: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let ids = ptr::bytes(session_ids_json, session_ids_len, "session_ids_json")?;
            let user = ptr::opt_c_str(user_id, "user_id")?;
            ptr::write(out_removed, store.delete_sessions(ids, user)?);
            Ok(())
        })
    }
}
