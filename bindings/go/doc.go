// Package sessionstore is the Go binding of sessionstore, a fast, thread-safe
// session store for AI-agent frameworks (agent, team and workflow sessions, as
// in Agno), in memory or durable on disk, implemented in Rust behind a C ABI.
//
// # Linking
//
// The package links target/release/libsessionstore.a of the checkout it lives
// in, so binaries need nothing at run time; build the library first with
// `make lib` at the top of the repository. With -tags sessionstore_shared it
// links libsessionstore.so instead, with an rpath to the same directory. With
// -tags sessionstore_pkgconfig it uses an installed library found through
// pkg-config (sessionstore.pc) instead of the checkout's, statically, or
// shared when combined with sessionstore_shared. Use the module from another
// module through a replace directive pointing at the checkout (see README.md).
//
// # Handles
//
// Open returns a *Store: a handle in one mode (ModeAgent, ModeTeam,
// ModeWorkflow or ModeWorkflowV2) that reads and writes sessions of that type.
// Share returns another handle on the same data, possibly in another mode.
// Every method is safe for concurrent use. Close is idempotent and may run
// while other goroutines use the Store: it waits for calls in flight, and
// every later call returns ErrClosed.
//
// # Durable stores
//
// Without options a store lives in memory. WithPath(dir) makes it durable:
// Open loads what the directory holds, every mutation is journaled before it
// returns, and WithSync chooses when the journal is fsynced (SyncAlways, the
// default, SyncInterval or SyncOS). One open store owns a directory: a second
// Open of it fails with ErrLocked until the last handle on the first is
// closed (use Share instead). Sync forces the journal to disk; closing the
// last handle fsyncs it and releases the directory. Stats reports the journal,
// snapshot and recovery in Stats.Durability.
//
// # Redis stores
//
// WithRedis(url) keeps the store on a Redis 7+ (or Valkey) server instead:
// every process that opens the same url and namespace (WithNamespace) shares
// its sessions, and every method works as on a store in memory.
// WithConnectTimeout and WithCommandTimeout bound the waits for the server. A
// server that cannot be used fails a call (Open included) with ErrUnavailable;
// the store reconnects by itself on a later call. The options of a local
// store (WithPath and the durability options, the capacity bounds and
// quotas) are refused with it, and the Redis options without it, with
// ErrInvalidArgument. Expiry works, and is the namespace's: Open with other
// expiry options than the namespace's, while it holds sessions, fails with
// ErrInvalidArgument.
//
// # Sessions
//
// Session models the fields the store understands and keeps session_data and
// every other field as raw JSON, so read-modify-write cycles never lose or
// change data, even values encoding/json cannot represent. Methods with a
// JSON suffix take and return raw JSON for callers that only pass it through;
// the Append methods reuse the caller's buffer and are the fastest way to
// read in a loop.
//
// # Ownership
//
// A session belongs to its user. An upsert (Upsert, UpsertMany and their JSON
// and Append variants) may replace a stored session only when its stored
// user_id is unset or equal to the input's; otherwise it fails with
// ErrPermissionDenied and nothing changes (a batch is refused whole, and the
// message names the element). Import, an administrative load, is exempt.
// RenameSession, AppendRuns, DeleteSession and DeleteSessions (and their
// conditional variants) touch any session of the handle's mode, or, given
// ForUser(u), only the sessions of user u.
//
// # Versions, compare-and-set and appends
//
// Every change to a store is numbered, one above the last, and every stored
// session carries the number of the change that last wrote it in "version"
// (Session.Version), set by the store like updated_at. UpsertIf,
// RenameSessionIf and DeleteSessionIf write only if the session is still at
// the version the caller read (0: it must not exist), else they fail with
// ErrVersionMismatch and change nothing: read again and retry. AppendRuns
// adds runs to a session's transcript atomically, with no retry: concurrent
// appends from any number of goroutines all land.
//
// # Change feed
//
// Changes returns the changes after a number, oldest first (upserts with the
// session as stored, deletes, expiries and evictions, drops), for every type.
// ExportWithSeq returns an export and the number of the last change it
// holds: load it, then follow
// Changes from that number, and nothing is missed or seen twice. The feed
// keeps the latest changes up to WithFeedBytes; a reader that falls further
// behind gets ErrFeedTruncated and starts again from ExportWithSeq.
// Change numbers are a store's own, and start again from 1 in a store made
// anew: ChangesResult.Store and Stats.Feed.Store give the store's identity
// (32 hexadecimal digits, kept by a durable store across reopens), which a
// follower keeps with its number, starting again from ExportWithSeq when it
// differs. Stats.Feed describes the feed.
//
// # Bounded memory
//
// A store may bound what it holds: WithIdleExpiry expires sessions not
// written for a while (WithRefreshOnRead: nor read), WithMaxAge sessions
// created long ago; WithMaxSessions and WithMaxBytes bound the sessions of
// every type and their bytes, WithUserMaxSessions and WithUserMaxBytes those
// of each user. An expired session is gone at once for every call (Read
// fails with ErrNotFound) and its memory is reclaimed within about a second;
// a write over a bound evicts the least recently written sessions, or, with
// WithWhenFull(WhenFullRefuse), fails with ErrFull. Expiries and evictions
// are changes of the feed (ChangeExpire, ChangeEvict); Stats.Bounds counts
// them and what the store holds.
//
// # Queries
//
// Query lists the handle's mode by default, other types or every type
// (AnySessionType) with Query.SessionTypes, and whole sessions, their
// metadata (MetadataFields) or named fields (OnlyFields) with Query.Fields.
//
// # Errors
//
// Failures are *Error values carrying the library's status and message.
// Test them with errors.Is against ErrNotFound, ErrInvalidArgument,
// ErrInvalidJSON, ErrInvalidSession, ErrConflict, ErrTooLarge, ErrInternal,
// ErrPermissionDenied, ErrIO, ErrLocked, ErrCorrupt, ErrPoisoned,
// ErrVersionMismatch, ErrFeedTruncated, ErrFull, ErrUnavailable and ErrClosed. The Status numbers are the C header's; ErrClosed has
// StatusClosed, the binding-side status (SS_BINDING_STATUS_CLOSED) that every
// binding reports for a closed handle and the C library never returns.
package sessionstore
