//! The change feed, and the export a mirror starts from.

use super::panic::guard;
use super::ptr;
use super::status::ss_status;
use super::store::ss_store;
use std::ffi::c_char;

/// Writes the store's changes numbered above `after` (at most `limit`, and at most SS_MAX_CHANGES),
/// oldest first, to `*out_json`:
/// {"changes":[C,...],"next":N,"latest":L,"store":S}, where each C is one of
///   {"seq":S,"op":"upsert","session_type":"agent","session_id":"...","version":S,"session":{...}}
///   {"seq":S,"op":"delete","session_type":"agent","session_id":"..."}   (also "expire", "evict":
///                                                  the store's bounds removed it; see ss_store_open())
///   {"seq":S,"op":"drop","session_type":"agent"}             (every session of that type removed)
/// "next" is the number to pass as `after` next time (the last change given, or `after` when there
/// were none), "latest" the number of the store's last change, and "store" the store's identity (32
/// hexadecimal digits): change numbers are a store's own, and start again from 1 in a store made anew
/// (an in-memory store, or a durable store in another directory), so a follower keeps the identity
/// with its number and starts again from an export when it changes. A durable store keeps its
/// identity in its directory (the file IDENTITY), and its numbers across reopens. A bulk write (ss_upsert_many(),
/// ss_import(), ss_delete_sessions()) is one change per session. "session" is the session as stored
/// by that change; `options_json` (`options_len` bytes, or NULL) may be {"ids_only":true} to leave it
/// out. The feed covers every type, whatever this handle's mode.
///
/// Every change to a store is numbered, one above the last, from 1; a session's "version" is the
/// number of the change that last stored it. The feed keeps the latest changes up to the store's
/// "feed_bytes" (see ss_store_open()): a follower that falls further behind, or asks with a number from
/// another life of the store (above "latest": an in-memory store made anew), gets
/// SS_STATUS_FEED_TRUNCATED and must start again from ss_export_with_seq(). A durable store numbers on
/// across reopens, and its feed holds the changes replayed from the journal since the last snapshot.
///
/// To mirror a store: ss_export_with_seq() gives every session and the number N of the last change
/// it holds; apply it, then call ss_changes() with `after` = N, apply the changes in order, and go on
/// with "next" (keeping "store"). Nothing is missed and nothing is seen twice.
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_FEED_TRUNCATED, SS_STATUS_INVALID_ARGUMENT (store NULL, `limit`
/// 0, an unknown option), SS_STATUS_INVALID_JSON (options) or SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_changes(
    store: *const ss_store,
    after: u64,
    limit: usize,
    options_json: *const c_char,
    options_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let store = ptr::store(store)?;
            let options = ptr::opt_bytes(options_json, options_len, "options_json")?;
            ptr::write_json_owned(out_json, out_len, store.changes_json(after, limit, options)?);
            Ok(())
        })
    }
}

/// ss_export(), and the number of the last change the export holds, written to `*out_seq`: follow
/// the store from there with ss_changes(`after` = that number).
///
/// `*out_json` (length in `*out_len`) is owned by the caller: free it with ss_string_free().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL) or SS_STATUS_INTERNAL. Thread-safe;
/// the export reflects one consistent state, the one after change `*out_seq`.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_export_with_seq(
    store: *const ss_store,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    out_seq: *mut u64,
    out_error: *mut *mut c_char,
) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        guard(out_error, || {
            let (json, seq) = ptr::store(store)?.export_with_seq()?;
            ptr::write_json_owned(out_json, out_len, json);
            ptr::write(out_seq, seq);
            Ok(())
        })
    }
}
