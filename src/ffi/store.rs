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

    /// A C handle on `store`, which Rust code opened (the crate's own tests, with test hooks), to
    /// call the C ABI with; release it with ss_store_close().
    #[doc(hidden)]
    pub fn into_raw(store: Store) -> *mut ss_store {
        super::ptr::into_handle(store)
    }
}

/// Opens a new, empty store and returns a handle to it in `*out_store`.
///
/// `config_json` (`config_len` bytes, no NUL needed) is a JSON object with optional keys:
///  - "mode": "agent" (default), "team", "workflow" or "workflow_v2": the type of the sessions this
///    handle reads and writes, and the entity field its filters use (agent_id, team_id, workflow_id);
///  - "max_session_bytes": the largest session accepted, in bytes, not counting the "session_type",
///    "created_at", "updated_at" and "version" members, which the store sets (default 33554432, i.e. 32 MiB;
///    larger values than the hard limit 4293918719, 4 GiB - 1 MiB - 1, are lowered to it). A session
///    so counted has the same size as sent, as stored and as exported, so an export always imports
///    again into a store with the same limit;
///  - "non_finite_numbers": "reject" (default) or "null". NaN, Infinity and -Infinity are not JSON, but
///    Python's json.dumps writes them (Agno's float metrics carry them). With "null", each of these
///    words outside a string in a session, batch or import is stored as null (and so exported as null);
///    with "reject", such input is SS_STATUS_INVALID_JSON with a message naming the word and this key;
///  - "feed_bytes": how much the change feed keeps (see ss_changes()), counted as the stored JSON of
///    the sessions its changes stored and the ids they removed, plus 48 bytes a change (default
///    16777216, i.e. 16 MiB: the last 16,000 writes of 1 KiB sessions). The sessions it keeps are the
///    store's own until they are replaced, so this bounds the memory the feed can hold on to; 0 keeps no
///    change (ss_changes() then only ever answers that there is nothing new, or
///    SS_STATUS_FEED_TRUNCATED).
///
/// Durability (all optional; without "path" the store lives in memory and the other keys do nothing):
///  - "path": a directory (created if missing) that makes the store durable. Opening loads what the
///    directory holds: its latest snapshot, then the journal after it. Every mutation (upsert, batch,
///    rename, append, delete, bulk delete, drop, import) is written to the journal before it is applied and
///    before the call returns; a batch or an import is one journal record, so it survives a crash
///    whole or not at all. One open store owns a directory: opening it again, from this process or
///    another, is SS_STATUS_LOCKED until the last handle on the first is closed (share a handle with
///    ss_store_share() instead);
///  - "sync": when the journal is forced to stable storage (fsync), and so what a crash loses:
///     - "always" (default): before the mutation returns; threads writing at the same time share one
///       fsync. A process crash (kill -9) loses nothing acknowledged; a power loss or OS crash loses
///       nothing acknowledged, on a disk that honours flushes.
///     - "interval": every "sync_interval_ms" (default 1000), by a background thread. A process crash
///       loses nothing acknowledged; a power loss loses at most the mutations of about the last
///       interval (plus the fsync in progress).
///     - "os": only on close, compaction and ss_store_sync(); the kernel writes back when it chooses
///       (about 30 s on Linux by default). A process crash loses nothing acknowledged; a power loss
///       loses what the kernel had not written back, possibly everything since the last sync.
///
///    After a power loss under "interval" or "os", the unsynced end of the journal may also be
///    damaged in a way that is not a clean cut; the open then fails with SS_STATUS_CORRUPT rather
///    than load a journal with a hole in it;
///  - "compact_factor" (default 2) and "compact_min_bytes" (default 67108864, i.e. 64 MiB): when the
///    journal written since the last snapshot exceeds both the live sessions' bytes times the factor
///    and the minimum, a background thread writes a new snapshot (temporary file, fsync, rename, fsync
///    of the directory) and starts a new journal. Reads and writes go on meanwhile; writers wait only
///    while the journal is switched (one fsync under "always" and "interval").
///
/// On open, a record torn at the end of the journal (a crash in the middle of an append) is cut off
/// and the store opens with everything before it; damage anywhere else, or files that are not a
/// store's, fail the open with SS_STATUS_CORRUPT, naming the file and byte offset. ss_stats() reports
/// the journal and snapshot sizes and what the open recovered.
///
/// Bounds (all optional; 0, the default, is no bound):
///  - "idle_expiry_s": a session not written for more than this many seconds (by its "updated_at",
///    or by the time of the write when that is earlier: an "updated_at" in the future, which an
///    import may carry, does not keep a session) expires. Times are whole seconds, so a session lives at least this long and less than a second
///    more; values above 2^63 - 1 (here and for "max_age_s") are lowered to it;
///  - "refresh_on_read": true to have ss_read(), ss_read_with() and ss_read_into() refresh the idle time too (needs
///    "idle_expiry_s"; listings and queries do not refresh). Reads are remembered in memory only: after
///    a durable store reopens, a session's idle time counts from its "updated_at";
///  - "max_age_s": a session whose "created_at" is more than this many seconds old expires, however
///    active;
///  - "max_sessions", "max_bytes": bounds on the sessions held, of every type, and on their stored
///    JSON's bytes (the process holds about 1.3 times that);
///  - "user_max_sessions", "user_max_bytes": the same bounds for the sessions of each "user_id"
///    (sessions without one are not counted): one user cannot crowd out the others;
///  - "when_full": "evict" (default) or "refuse". A write that would exceed a bound evicts the least
///    recently written sessions first, by their "updated_at" (an import places a session written long
///    ago where its time says); with "refresh_on_read", reads count too: a session read since it was
///    last written or passed over goes to the back of the line once, as the CLOCK algorithm
///    approximates least recently used. For a user over a quota, that user's own go first. Expired
///    sessions not yet reclaimed still count, and go first where they are found. With "refuse", such
///    a write fails with SS_STATUS_FULL and nothing changes. A write that cannot fit even in an empty
///    store (or an empty quota) is SS_STATUS_FULL under either policy. The session a write replaces is
///    never evicted to make room for it. Bounds are kept by writes: a durable store reopened with
///    tighter bounds than what it holds stays above them until writes make room.
///
/// An expired session is gone for every call from the moment it expires (reads, listings, queries,
/// exports, deletes, and writes, which store a new session in its place). Its memory is reclaimed
/// by a thread the store starts and stops with its last handle: it looks every second, and reclaims
/// in small batches, standing aside between them, so that calls meanwhile wait for one batch at most
/// (usually well under a millisecond; when a million sessions expire at once, a few batches take a few
/// milliseconds, and reclaiming them all takes seconds). Expiries and evictions
/// appear in the change feed ("expire", "evict"; evictions right after the write that caused them)
/// and, in a durable store, are journaled: a reopened store does not bring back what was evicted.
/// ss_stats() counts both.
///
/// On a Redis server ("backend": "redis"): the store's data lives on a Redis 7+ (or Valkey) server,
/// and every process, on any machine, that opens the same "namespace" at the same "url" shares it:
/// every function below works on it with the same semantics, statuses and JSON, each call atomic (one
/// server-side script per call: its checks, the write, the indexes and the change feed together).
///  - "url" (required): "redis://host:port/db", with "user:password@" before the host when the
///    server wants them; "rediss://" for TLS, the server's certificate checked against the system's
///    trusted roots (or those of the file SSL_CERT_FILE names);
///  - "namespace" (default "sessionstore", 1 to 128 bytes): the prefix of every key, "ss:{namespace}:",
///    so that several stores share one server (and, by its hash tag, one Redis Cluster slot);
///  - "connect_timeout_ms" (default SS_DEFAULT_CONNECT_TIMEOUT_MS), "command_timeout_ms" (default
///    SS_DEFAULT_COMMAND_TIMEOUT_MS): how long a call waits to connect and for a reply; a listing or an
///    export of a whole large store is one reply. A call past either fails with SS_STATUS_UNAVAILABLE.
///
/// A Redis store's durability is the server's (its appendonly and save settings): the durable-store
/// keys above are refused with SS_STATUS_INVALID_ARGUMENT, even with their default values, and so are
/// the capacity bounds, quotas and "when_full" (which many processes sharing one store cannot keep
/// exactly without a server-wide lock). Expiry ("idle_expiry_s", "max_age_s", "refresh_on_read") works
/// as above, by the clock of the process that calls, and is the namespace's: the first store to open
/// a namespace records its expiry settings there, and a store opened with others fails with
/// SS_STATUS_INVALID_ARGUMENT while the namespace holds sessions. Each store reclaims expired sessions
/// every second (a process crash loses nothing: they are invisible already and another store, or the
/// next one, reclaims them); Redis itself drops a session a minute after it expired if no store of its
/// namespace is open by then, and nothing of it is ever shown again; ss_stats()'s "expired" counts the
/// namespace's reclaimed sessions, since it was first used. "feed_bytes" is the budget of
/// the feed on the server; each handle trims the feed to its own budget when it writes. A server that
/// is unreachable, too slow, loading, out of memory or read-only gives SS_STATUS_UNAVAILABLE; the store
/// reconnects by itself on a later call once the server is back. A server restarted empty is a new
/// store to feed followers (ss_changes() tells them by a new "store" identity). Listings, queries and
/// exports each run as one script, which the server runs alone: their cost, in proportion to the
/// sessions they select (a query: to the sessions of its types and user), holds other clients of that
/// server back meanwhile.
///
/// Pass NULL for the defaults. Unknown keys, and keys of another backend, are rejected so that a typo
/// cannot go unnoticed.
///
/// `out_store` is required. The handle is owned by the caller: release it with ss_store_close().
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (out_store NULL, unknown key, bad mode, size, sync,
/// path, bound, backend, url or namespace), SS_STATUS_INVALID_JSON, SS_STATUS_IO (the directory cannot be
/// created, read or locked), SS_STATUS_LOCKED, SS_STATUS_CORRUPT, SS_STATUS_UNAVAILABLE (the Redis server
/// cannot be reached, or is older than 7), or SS_STATUS_INTERNAL. Thread-safe.
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
/// Closing the last handle on a durable store waits for a snapshot in progress to stop, fsyncs the
/// journal (under every sync policy) and releases the directory. It cannot report a failure: call
/// ss_store_sync() first when the caller must know that everything is on disk.
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

/// Forces a durable store's journal to stable storage now, whatever its "sync" policy: when it returns
/// SS_STATUS_OK, every mutation acknowledged before the call survives a power loss. A no-op for a
/// store in memory.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL), SS_STATUS_IO (the fsync failed: the
/// store is poisoned from then on), SS_STATUS_POISONED (an earlier fsync failed), or
/// SS_STATUS_INTERNAL. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_store_sync(store: *const ss_store, out_error: *mut *mut c_char) -> ss_status {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe { guard(out_error, || ptr::store(store)?.sync()) }
}

/// Writes a JSON object of counts to `*out_json`:
/// {"mode":"agent","sessions":N,"bytes":B,"by_type":{"agent":a,"team":t,"workflow":w,"workflow_v2":v},
/// "feed":{"store":S,"latest":L,"oldest":O,"kept":K,"bytes":F,"budget":G},"bounds":{...},"durability":D}
/// where "sessions" and "by_type" count every session the store holds (all types; sessions expired
/// but not yet reclaimed included), and "bytes" is the size of their stored JSON. "feed" is the
/// change feed (see ss_changes()): the store's identity, the number of the last change, of the
/// oldest change it keeps (L + 1 when it keeps none), how many it keeps, what they cost against the
/// budget and the budget ("feed_bytes"). "bounds" is {"sessions":N,"bytes":B,"max_sessions":M,
/// "max_bytes":M,"user_max_sessions":M,"user_max_bytes":M,"idle_expiry_s":S,"max_age_s":S,
/// "refresh_on_read":false,"when_full":"evict","expired":E,"evicted":V}: what is held against each
/// bound of the config (null: none), and how many sessions were reclaimed after they expired and
/// evicted since the store was opened. D is null for a store in memory; for a durable store it is
/// {"path":P,"sync":"always","journal_bytes":J,"snapshot_bytes":S,"compactions":C,
/// "compaction_failures":F,"last_compaction_ms":M,"last_compaction_error":null or a message,
/// "poisoned":false,"recovery":{"snapshot_records":R,"journal_records":Q,"torn_bytes_dropped":T,
/// "files_removed":X}}: the bytes of journal and snapshot a reopen would read, the snapshots written
/// since the open, and what the open found (records loaded from the snapshot and replayed from the
/// journal, bytes of a torn last append cut off, files of an interrupted compaction deleted).
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
            let stats = ptr::store(store)?.stats()?;
            ptr::write_json_owned(out_json, out_len, stats.to_json());
            Ok(())
        })
    }
}

/// Removes every session of this handle's type (sessions of other types stay) and writes how many were
/// removed to `*out_removed`.
///
/// Returns SS_STATUS_OK, SS_STATUS_INVALID_ARGUMENT (store NULL) or SS_STATUS_INTERNAL, and for a
/// durable store the I/O statuses of ss_upsert(). Thread-safe and atomic.
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
