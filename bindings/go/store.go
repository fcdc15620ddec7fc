package sessionstore

/*
// Every C function called from Go is declared noescape (it keeps no pointer it
// was given, so the compiler may leave the buffers and out-parameters we pass
// on the goroutine stack) and nocallback (it never calls back into Go, so cgo
// skips the callback bookkeeping). Both cut the cost of a call, which matters
// for sub-microsecond operations. The library calls of the Store methods all
// go through ssgo_call, the others are made directly.
#cgo noescape ss_store_open
#cgo nocallback ss_store_open
#cgo noescape ss_store_share
#cgo nocallback ss_store_share
#cgo nocallback ss_store_close
#cgo nocallback ss_string_free
#cgo nocallback ss_version
#cgo noescape ssgo_call
#cgo nocallback ssgo_call
#cgo noescape ssgo_read
#cgo nocallback ssgo_read

#include <string.h>
#include "sessionstore.h"

// The library calls ssgo_call makes; see the op variables in store.go.
enum ssgo_op {
	SSGO_UPSERT,
	SSGO_UPSERT_MANY,
	SSGO_GET_ALL_SESSION_IDS,
	SSGO_GET_ALL_SESSIONS,
	SSGO_GET_RECENT_SESSIONS,
	SSGO_QUERY,
	SSGO_RENAME_SESSION,
	SSGO_STATS,
	SSGO_EXPORT,
	SSGO_DELETE_SESSION,
	SSGO_DELETE_SESSIONS,
	SSGO_DROP,
	SSGO_IMPORT,
	SSGO_SYNC,
	SSGO_UPSERT_IF,
	SSGO_RENAME_SESSION_IF,
	SSGO_DELETE_SESSION_IF,
	SSGO_APPEND_RUNS,
	SSGO_CHANGES,
	SSGO_EXPORT_WITH_SEQ,
};

// The results of a call, returned by value: an out-parameter pointing into
// Go memory would make cgo check it on every call (cgoCheckPointer), and so
// would a store pointer, which ssgo_call therefore takes as a uintptr_t. json
// is NULL when the JSON result was written into the caller's buffer (or the
// call has none); len is the length of the JSON or, for the calls that count,
// the count; seq is the change number of SSGO_EXPORT_WITH_SEQ; error is the
// library's message on failure.
typedef struct {
	char *json;
	size_t len;
	uint64_t seq;
	char *error;
	ss_status status;
} ssgo_result;

// ssgo_take completes a successful call's JSON result: copied into dst and
// freed when it fits, else left in r.json for the caller.
static void ssgo_take(ssgo_result *r, char *json, char *dst, size_t cap) {
	if (dst != NULL && r->len <= cap) {
		memcpy(dst, json, r->len);
		ss_string_free(json);
	} else {
		r->json = json;
	}
}

// ssgo_call makes the library call op on store, with the arguments that call
// takes among: a, b and c, NUL-terminated strings (c and, for calls with a
// payload, b may be NULL), or a payload of len bytes at a (then b and c are
// the call's strings); limit; and num, an expected version or, for
// SSGO_CHANGES, the change number to follow from. When a
// JSON result fits in the caller's spare buffer capacity (dst, cap bytes of
// Go memory) it is copied there and freed at once: one cgo call instead of
// two, and no Go allocation. Otherwise r.json is the library's string, for
// the caller to copy and free.
static ssgo_result ssgo_call(int op, uintptr_t handle, const char *a, const char *b, const char *c,
                             size_t len, int64_t limit, uint64_t num, char *dst, size_t cap) {
	ss_store *store = (ss_store *)handle;
	ssgo_result r = {NULL, 0, 0, NULL, SS_STATUS_OK};
	char *json = NULL;
	ss_status st;
	switch (op) {
	case SSGO_UPSERT:              st = ss_upsert(store, a, len, &json, &r.len, &r.error); break;
	case SSGO_UPSERT_MANY:         st = ss_upsert_many(store, a, len, &json, &r.len, &r.error); break;
	case SSGO_GET_ALL_SESSION_IDS: st = ss_get_all_session_ids(store, a, b, &json, &r.len, &r.error); break;
	case SSGO_GET_ALL_SESSIONS:    st = ss_get_all_sessions(store, a, b, &json, &r.len, &r.error); break;
	case SSGO_GET_RECENT_SESSIONS: st = ss_get_recent_sessions(store, a, b, limit, &json, &r.len, &r.error); break;
	case SSGO_QUERY:               st = ss_query(store, a, len, &json, &r.len, &r.error); break;
	case SSGO_RENAME_SESSION:      st = ss_rename_session(store, a, b, c, &json, &r.len, &r.error); break;
	case SSGO_STATS:               st = ss_stats(store, &json, &r.len, &r.error); break;
	case SSGO_EXPORT:              st = ss_export(store, &json, &r.len, &r.error); break;
	case SSGO_DELETE_SESSION:      st = ss_delete_session(store, a, b, &r.len, &r.error); break;
	case SSGO_DELETE_SESSIONS:     st = ss_delete_sessions(store, a, len, b, &r.len, &r.error); break;
	case SSGO_DROP:                st = ss_drop(store, &r.len, &r.error); break;
	case SSGO_IMPORT:              st = ss_import(store, a, len, &r.len, &r.error); break;
	case SSGO_SYNC:                st = ss_store_sync(store, &r.error); break;
	case SSGO_UPSERT_IF:           st = ss_upsert_if(store, a, len, num, &json, &r.len, &r.error); break;
	case SSGO_RENAME_SESSION_IF:   st = ss_rename_session_if(store, a, b, c, num, &json, &r.len, &r.error); break;
	case SSGO_DELETE_SESSION_IF:   st = ss_delete_session_if(store, a, b, num, &r.len, &r.error); break;
	case SSGO_APPEND_RUNS:         st = ss_append_runs(store, b, c, a, len, &json, &r.len, &r.error); break;
	// limit is at least 1 (the Go side checks it), so the conversion keeps it.
	case SSGO_CHANGES:             st = ss_changes(store, num, (size_t)limit, a, len, &json, &r.len, &r.error); break;
	case SSGO_EXPORT_WITH_SEQ:     st = ss_export_with_seq(store, &json, &r.len, &r.seq, &r.error); break;
	default:                       st = SS_STATUS_INTERNAL; break; // not reached: op is one of the above
	}
	r.status = st;
	if (st == SS_STATUS_OK && json != NULL) ssgo_take(&r, json, dst, cap);
	return r;
}

// ssgo_read is ssgo_call for a read, the most frequent call, with only the
// arguments a read takes: cgo copies each argument and the result through
// the goroutine's stack, and ssgo_call's ten (and call's frames) cost a
// read 5-8% over these five. With room in dst the read goes through ss_read_into: one copy,
// straight into dst, and no allocation by the library either; only when the
// session does not fit is it read again with ss_read.
static ssgo_result ssgo_read(uintptr_t handle, const char *id, const char *user, char *dst, size_t cap) {
	ss_store *store = (ss_store *)handle;
	ssgo_result r = {NULL, 0, 0, NULL, SS_STATUS_OK};
	if (dst != NULL) {
		r.status = ss_read_into(store, id, user, dst, cap, &r.len, &r.error);
		if (r.status != SS_STATUS_OK || r.len <= cap) return r;
	}
	char *json = NULL;
	r.status = ss_read(store, id, user, &json, &r.len, &r.error);
	if (r.status == SS_STATUS_OK) ssgo_take(&r, json, dst, cap);
	return r;
}

*/
import "C"

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Store is a handle on a session store, in memory or, opened WithPath,
// durable. All methods are safe for concurrent use by many goroutines.
// Several handles can share one store's data (see Share); the data lives
// until the last of them is closed.
//
// Close a Store when done with it. A Store that becomes unreachable without
// Close is closed by the garbage collector eventually, but that is only a
// safety net: memory held by the C library is invisible to the Go GC, which
// therefore feels no pressure to collect it.
type Store struct {
	h       *handle
	mode    Mode
	cleanup runtime.Cleanup
}

// handle owns the C pointer. It is a separate allocation so that the GC
// cleanup of the Store can reach it without keeping the Store alive.
//
// The read lock is held for the duration of every C call and the write lock
// only by close, so close waits for calls in flight and no call can start on
// a freed handle. The read path costs two uncontended atomic adds.
type handle struct {
	mu  sync.RWMutex
	ptr *C.ss_store // nil once closed
}

// cleanupsRun counts stores closed by the GC cleanup, for tests.
var cleanupsRun atomic.Int64

func (h *handle) close() {
	h.mu.Lock()
	p := h.ptr
	h.ptr = nil
	h.mu.Unlock()
	// No call can be using p now: they all hold the read lock while in C.
	C.ss_store_close(p) // NULL is a no-op
}

func newStore(p *C.ss_store, mode Mode) *Store {
	s := &Store{h: &handle{ptr: p}, mode: mode}
	s.cleanup = runtime.AddCleanup(s, func(h *handle) {
		h.close()
		cleanupsRun.Add(1)
	}, s.h)
	return s
}

// Open creates a new, empty store and returns a handle on it. Without options
// the handle is in ModeAgent with the default session size limit, and the
// store lives in memory. With WithPath it is durable, and Open loads what the
// directory holds; it then fails with ErrLocked when another open store owns
// the directory, ErrCorrupt when its files are damaged and ErrIO when it
// cannot be created, read or locked.
func Open(opts ...Option) (*Store, error) {
	c := config{mode: ModeAgent}
	for _, o := range opts {
		o(&c)
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD: another
	// directory, server or namespace.
	if err := checkUTF8("open", c.path, c.url, c.namespace); err != nil {
		return nil, err
	}
	cfg := c.json()
	var p *C.ss_store
	var cerr *C.char
	st := C.ss_store_open(bytesPtr(cfg), C.size_t(len(cfg)), &p, &cerr)
	if st != C.SS_STATUS_OK {
		return nil, failure("open", st, cerr)
	}
	return newStore(p, c.mode), nil
}

// Share returns a new handle on the same data, in the given mode ("" keeps
// this handle's mode). Each handle must be closed on its own; closing one
// does not affect the others.
func (s *Store) Share(mode Mode) (*Store, error) {
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var cmode *C.char
	var buf [32]byte
	if mode != "" {
		if cmode, err = cstr(buf[:], "share", string(mode)); err != nil {
			return nil, err
		}
	} else {
		mode = s.mode
	}
	var p *C.ss_store
	var cerr *C.char
	if st := C.ss_store_share(h.ptr, cmode, &p, &cerr); st != C.SS_STATUS_OK {
		return nil, failure("share", st, cerr)
	}
	return newStore(p, mode), nil
}

// Close releases the handle. It is idempotent and safe to call while other
// goroutines use the Store: it waits for calls in flight, and every later
// call returns ErrClosed. It always returns nil; the error is there to
// satisfy io.Closer.
//
// Closing the last handle on a durable store fsyncs its journal (whatever
// the sync policy) and releases the directory, so that it can be opened
// again. A failure there cannot be reported: call Sync first when the caller
// must know that everything is on disk.
func (s *Store) Close() error {
	if s == nil || s.h == nil {
		return nil
	}
	s.cleanup.Stop()
	s.h.close()
	runtime.KeepAlive(s) // s must stay reachable across Stop, see runtime.Cleanup.Stop
	return nil
}

// Mode returns the handle's mode ("" for a nil Store).
func (s *Store) Mode() Mode {
	if s == nil {
		return ""
	}
	return s.mode
}

// Version returns the version of the linked C library, e.g. "0.4.0".
func Version() string { return C.GoString(C.ss_version()) }

// headerVersion is the version of the header the package was compiled with
// (SS_VERSION_STRING); a test checks that the linked library is the same.
const headerVersion = C.SS_VERSION_STRING

// acquire returns the handle with its read lock held, or ErrClosed.
func (s *Store) acquire() (*handle, error) {
	if s == nil || s.h == nil {
		return nil, ErrClosed
	}
	h := s.h
	h.mu.RLock()
	if h.ptr == nil {
		h.mu.RUnlock()
		return nil, ErrClosed
	}
	return h, nil
}

// An op is a library call made through ssgo_call: its number in the C enum
// ssgo_op and its name in errors (Error.Op).
type op struct {
	code C.int
	name string
}

// readName is the read's name in errors (Error.Op); reads go through
// ssgo_read, not ssgo_call.
const readName = "read"

var (
	opUpsert            = op{C.SSGO_UPSERT, "upsert"}
	opUpsertMany        = op{C.SSGO_UPSERT_MANY, "upsert_many"}
	opGetAllSessionIDs  = op{C.SSGO_GET_ALL_SESSION_IDS, "get_all_session_ids"}
	opGetAllSessions    = op{C.SSGO_GET_ALL_SESSIONS, "get_all_sessions"}
	opGetRecentSessions = op{C.SSGO_GET_RECENT_SESSIONS, "get_recent_sessions"}
	opQuery             = op{C.SSGO_QUERY, "query"}
	opRenameSession     = op{C.SSGO_RENAME_SESSION, "rename_session"}
	opStats             = op{C.SSGO_STATS, "stats"}
	opExport            = op{C.SSGO_EXPORT, "export"}
	opDeleteSession     = op{C.SSGO_DELETE_SESSION, "delete_session"}
	opDeleteSessions    = op{C.SSGO_DELETE_SESSIONS, "delete_sessions"}
	opDrop              = op{C.SSGO_DROP, "drop"}
	opImport            = op{C.SSGO_IMPORT, "import"}
	opSync              = op{C.SSGO_SYNC, "sync"}
	opUpsertIf          = op{C.SSGO_UPSERT_IF, "upsert_if"}
	opRenameSessionIf   = op{C.SSGO_RENAME_SESSION_IF, "rename_session_if"}
	opDeleteSessionIf   = op{C.SSGO_DELETE_SESSION_IF, "delete_session_if"}
	opAppendRuns        = op{C.SSGO_APPEND_RUNS, "append_runs"}
	opChanges           = op{C.SSGO_CHANGES, "changes"}
	opExportWithSeq     = op{C.SSGO_EXPORT_WITH_SEQ, "export_with_seq"}
)

// args are the inputs of an op, as ssgo_call takes them: a, b and c are
// NUL-terminated strings (see cstr), or NULL where the call allows it, or a
// is a payload of n bytes (see payload); limit is for opGetRecentSessions and
// opChanges; num is the expected version of the conditional ops and the
// change number opChanges follows from.
type args struct {
	a, b, c *C.char
	n       int
	limit   int64
	num     uint64
}

// payload returns the args of an op that takes JSON input, passed to C
// without a copy.
func payload(b []byte) args { return args{a: bytesPtr(b), n: len(b)} }

// call is the way of the Store methods into C (but for reads, which
// AppendReadJSON makes the same way with ssgo_read): it makes the library call
// o on the handle, under its read lock, so that Close waits for it and no call
// starts on a freed handle (a nil or closed Store gives ErrClosed before C is
// reached), and turns a failure into an *Error. A JSON result is in dst's
// spare capacity when r.json is NULL, and otherwise is r.json, the library's
// string, which the caller must take (appendTaken).
func (s *Store) call(o op, in args, dst []byte) (r C.ssgo_result, err error) {
	h, err := s.acquire()
	if err != nil {
		return r, err
	}
	spare, room := spareOf(dst)
	r = C.ssgo_call(o.code, C.uintptr_t(uintptr(unsafe.Pointer(h.ptr))), in.a, in.b, in.c,
		C.size_t(in.n), C.int64_t(in.limit), C.uint64_t(in.num), spare, room)
	h.mu.RUnlock()
	if r.status != C.SS_STATUS_OK {
		return r, failure(o.name, r.status, r.error)
	}
	return r, nil
}

// callJSON is call for the ops that return JSON: it appends the result to dst
// and returns the extended slice, or dst unchanged with the error.
func (s *Store) callJSON(dst []byte, o op, in args) ([]byte, error) {
	r, err := s.call(o, in, dst)
	if err != nil {
		return dst, err
	}
	return appendTaken(dst, r.json, r.len), nil
}

// callCount is call for the ops that return a count.
func (s *Store) callCount(o op, in args) (int, error) {
	r, err := s.call(o, in, nil)
	if err != nil {
		return 0, err
	}
	return int(r.len), nil
}

// Upsert stores a session and returns it as stored (with session_type,
// created_at and updated_at filled in).
//
// A session belongs to its user: Upsert may replace a stored session only
// when the stored user_id is unset (null or absent) or equal to sess.UserID.
// Otherwise, an empty UserID included, it fails with ErrPermissionDenied and
// nothing changes. Import is not bound by this rule.
func (s *Store) Upsert(sess *Session) (*Session, error) {
	in, err := encodeSession(nil, sess)
	if err != nil {
		return nil, err
	}
	out, err := s.UpsertJSON(in)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// UpsertJSON stores a session given as a JSON object and returns the stored
// JSON. The input is passed to C without a copy. Another user's session is
// ErrPermissionDenied, as for Upsert.
func (s *Store) UpsertJSON(session []byte) ([]byte, error) {
	return s.AppendUpsertJSON(nil, session)
}

// AppendUpsertJSON is UpsertJSON appending the stored JSON to dst, which
// avoids an allocation when dst has room (see AppendReadJSON).
func (s *Store) AppendUpsertJSON(dst, session []byte) ([]byte, error) {
	return s.callJSON(dst, opUpsert, payload(session))
}

// UpsertIf is Upsert, made only if the stored session's version is expected:
// its Version as last read, or 0 for a session that must not exist yet. When
// another writer came first, it fails with ErrVersionMismatch and nothing
// changes: read the session again, apply the change to what it holds, and
// retry. The check and the write are one atomic step, and the ownership rule
// of Upsert (ErrPermissionDenied) and its conflict (ErrConflict) come first.
//
// A read-modify-write that must not lose a concurrent writer's change is
//
//	for {
//		sess, err := store.Read(id, user)
//		if err != nil { ... }
//		... change sess ...
//		_, err = store.UpsertIf(sess, sess.Version)
//		if !errors.Is(err, sessionstore.ErrVersionMismatch) {
//			break // stored, or another error
//		}
//	}
//
// To add runs to a transcript, AppendRuns needs no retry.
func (s *Store) UpsertIf(sess *Session, expected uint64) (*Session, error) {
	in, err := encodeSession(nil, sess)
	if err != nil {
		return nil, err
	}
	out, err := s.UpsertIfJSON(in, expected)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// UpsertIfJSON is UpsertIf on a session given as a JSON object; it returns
// the stored JSON. The input is passed to C without a copy.
func (s *Store) UpsertIfJSON(session []byte, expected uint64) ([]byte, error) {
	return s.AppendUpsertIfJSON(nil, session, expected)
}

// AppendUpsertIfJSON is UpsertIfJSON appending the stored JSON to dst, which
// avoids an allocation when dst has room (see AppendReadJSON). On error dst
// is returned unchanged.
func (s *Store) AppendUpsertIfJSON(dst, session []byte, expected uint64) ([]byte, error) {
	in := payload(session)
	in.num = expected
	return s.callJSON(dst, opUpsertIf, in)
}

// UpsertMany stores several sessions atomically: if one is rejected, none is
// stored, and the error message names its index ("sessions[3]: ..."). Each
// element follows Upsert's ownership rule, checked against the owner that the
// earlier elements gave the session; one that would take another user's
// session makes the batch fail with ErrPermissionDenied.
func (s *Store) UpsertMany(sessions []*Session) ([]*Session, error) {
	in := []byte{'['}
	for i, sess := range sessions {
		if i > 0 {
			in = append(in, ',')
		}
		var err error
		if in, err = encodeSession(in, sess); err != nil {
			return nil, err
		}
	}
	in = append(in, ']')
	out, err := s.UpsertManyJSON(in)
	if err != nil {
		return nil, err
	}
	return decodeSessions(out)
}

// UpsertManyJSON is UpsertMany on a JSON array; it returns the JSON array of
// the stored sessions in input order.
func (s *Store) UpsertManyJSON(sessions []byte) ([]byte, error) {
	return s.callJSON(nil, opUpsertMany, payload(sessions))
}

// Read returns the session with the given id. It fails with ErrNotFound when
// there is none of this handle's mode, or when userID is not empty and
// differs from the session's user.
func (s *Store) Read(sessionID, userID string) (*Session, error) {
	out, err := s.ReadJSON(sessionID, userID)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// ReadJSON is Read returning the stored JSON.
func (s *Store) ReadJSON(sessionID, userID string) ([]byte, error) {
	// Read into a buffer on the stack and copy out exactly: for a session that
	// fits, one cgo call and no allocation in C, where reading with no room
	// costs ss_read's allocation and a second cgo call to free it. A larger
	// session is read again with ss_read (see ssgo_read).
	var buf [4096]byte
	out, err := s.AppendReadJSON(buf[:0], sessionID, userID)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(out), nil
}

// AppendReadJSON is ReadJSON appending the session's JSON to dst and
// returning the extended slice, like the strconv Append functions. When dst
// has the room (pass buf[:0] of a buffer kept from call to call), the call
// allocates nothing and crosses into C once, which makes it the fastest way
// to read in a loop. On error dst is returned unchanged.
func (s *Store) AppendReadJSON(dst []byte, sessionID, userID string) ([]byte, error) {
	// The two NUL-terminated strings are built in one stack buffer: no
	// allocation for ids of ordinary length.
	var buf [128]byte
	cid, cuser, err := cstr2(buf[:], readName, sessionID, userID)
	if err != nil {
		return dst, err
	}
	// call, spelled out for the most frequent call, with ssgo_read's five
	// arguments: passing ssgo_call's ten and its result through call and
	// callJSON cost a 1 KiB read 5-8%.
	h, err := s.acquire()
	if err != nil {
		return dst, err
	}
	spare, room := spareOf(dst)
	r := C.ssgo_read(C.uintptr_t(uintptr(unsafe.Pointer(h.ptr))), cid, cuser, spare, room)
	h.mu.RUnlock()
	if r.status != C.SS_STATUS_OK {
		return dst, failure(readName, r.status, r.error)
	}
	return appendTaken(dst, r.json, r.len), nil
}

// GetAllSessionIDs returns the ids of the sessions of this handle's mode that
// match f, in first-insertion order.
func (s *Store) GetAllSessionIDs(f Filter) ([]string, error) {
	var buf [128]byte
	cuser, centity, err := cstr2(buf[:], opGetAllSessionIDs.name, f.UserID, f.EntityID)
	if err != nil {
		return nil, err
	}
	out, err := s.callJSON(nil, opGetAllSessionIDs, args{a: cuser, b: centity})
	if err != nil {
		return nil, err
	}
	ids := []string{}
	if err := json.Unmarshal(out, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// GetAllSessions returns the sessions of this handle's mode that match f, in
// first-insertion order.
func (s *Store) GetAllSessions(f Filter) ([]*Session, error) {
	out, err := s.GetAllSessionsJSON(f)
	if err != nil {
		return nil, err
	}
	return decodeSessions(out)
}

// GetAllSessionsJSON is GetAllSessions returning a JSON array.
func (s *Store) GetAllSessionsJSON(f Filter) ([]byte, error) {
	var buf [128]byte
	cuser, centity, err := cstr2(buf[:], opGetAllSessions.name, f.UserID, f.EntityID)
	if err != nil {
		return nil, err
	}
	return s.callJSON(nil, opGetAllSessions, args{a: cuser, b: centity})
}

// GetRecentSessions returns up to limit sessions of this handle's mode that
// match f, newest created_at first (ties: most recently inserted first). A
// negative limit returns them all.
func (s *Store) GetRecentSessions(f Filter, limit int) ([]*Session, error) {
	out, err := s.GetRecentSessionsJSON(f, limit)
	if err != nil {
		return nil, err
	}
	return decodeSessions(out)
}

// GetRecentSessionsJSON is GetRecentSessions returning a JSON array.
func (s *Store) GetRecentSessionsJSON(f Filter, limit int) ([]byte, error) {
	return s.AppendRecentSessionsJSON(nil, f, limit)
}

// AppendRecentSessionsJSON is GetRecentSessionsJSON appending the JSON array
// to dst, which avoids an allocation when dst has room (see AppendReadJSON).
func (s *Store) AppendRecentSessionsJSON(dst []byte, f Filter, limit int) ([]byte, error) {
	var buf [128]byte
	cuser, centity, err := cstr2(buf[:], opGetRecentSessions.name, f.UserID, f.EntityID)
	if err != nil {
		return dst, err
	}
	return s.callJSON(dst, opGetRecentSessions, args{a: cuser, b: centity, limit: int64(limit)})
}

// Query selects, sorts and pages the sessions of this handle's mode, or of
// the types in q.SessionTypes. With a projection (q.Fields), each Session
// holds only the fields returned; the others are zero.
func (s *Store) Query(q Query) (*QueryResult, error) {
	if err := checkUTF8(opQuery.name, q.UserID, q.EntityID, q.SessionName); err != nil {
		return nil, err
	}
	for _, m := range q.SessionTypes {
		if err := checkUTF8(opQuery.name, string(m)); err != nil {
			return nil, err
		}
	}
	if err := checkUTF8(opQuery.name, q.Fields.names...); err != nil {
		return nil, err
	}
	in, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	out, err := s.QueryJSON(in)
	if err != nil {
		return nil, err
	}
	var r QueryResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, err
	}
	if r.Sessions == nil {
		r.Sessions = []*Session{}
	}
	return &r, nil
}

// QueryJSON runs a query given as JSON (nil means the empty query) and returns
// {"sessions":[...],"total":N}. Unknown keys fail with ErrInvalidArgument.
func (s *Store) QueryJSON(query []byte) ([]byte, error) {
	in := payload(query)
	if query == nil {
		in.a = nil // NULL asks for the empty query
	}
	return s.callJSON(nil, opQuery, in)
}

// RenameSession sets session_data.session_name of a session of this handle's
// mode, touches updated_at and returns the stored session. It fails with
// ErrNotFound when there is no such session. With ForUser, only that user's
// session is renamed: another user's (or one without a user) is ErrNotFound.
//
// The options are variadic so that calls without them read as before:
// s.RenameSession(id, name) renames any session of the mode, as an
// administrator would; s.RenameSession(id, name, ForUser(u)) is the call to
// make on behalf of user u.
func (s *Store) RenameSession(sessionID, name string, opts ...ScopeOption) (*Session, error) {
	out, err := s.RenameSessionJSON(sessionID, name, opts...)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// RenameSessionJSON is RenameSession returning the stored JSON.
func (s *Store) RenameSessionJSON(sessionID, name string, opts ...ScopeOption) ([]byte, error) {
	user := scopeOf(opts).userID
	var buf [256]byte
	cid, cname, cuser, err := cstr3(buf[:], opRenameSession.name, sessionID, name, user)
	if err != nil {
		return nil, err
	}
	if user == "" {
		cuser = nil // any user's session
	}
	return s.callJSON(nil, opRenameSession, args{a: cid, b: cname, c: cuser})
}

// RenameSessionIf is RenameSession, made only if the session's version is
// expected; otherwise it fails with ErrVersionMismatch and nothing changes.
// A session the call cannot see (absent, of another mode, or with ForUser
// another user's) has version 0: an expected version of 0 fails with
// ErrNotFound, any other with ErrVersionMismatch.
func (s *Store) RenameSessionIf(sessionID, name string, expected uint64, opts ...ScopeOption) (*Session, error) {
	out, err := s.RenameSessionIfJSON(sessionID, name, expected, opts...)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// RenameSessionIfJSON is RenameSessionIf returning the stored JSON.
func (s *Store) RenameSessionIfJSON(sessionID, name string, expected uint64, opts ...ScopeOption) ([]byte, error) {
	user := scopeOf(opts).userID
	var buf [256]byte
	cid, cname, cuser, err := cstr3(buf[:], opRenameSessionIf.name, sessionID, name, user)
	if err != nil {
		return nil, err
	}
	if user == "" {
		cuser = nil // any user's session
	}
	return s.callJSON(nil, opRenameSessionIf, args{a: cid, b: cname, c: cuser, num: expected})
}

// AppendRuns appends runs to the transcript of a session of this handle's
// mode, as one atomic step, and returns the stored session: to its "runs"
// for a ModeWorkflowV2 handle, else to its "memory"."runs" (Agno's layout),
// creating a missing or null "memory" or "runs". Each run is encoded with
// encoding/json (without its HTML escaping; a json.RawMessage is copied as
// it is); Agno's runs are objects. updated_at and the version are set; every
// other byte of the session is kept.
//
// Concurrent appends to one session, from any number of goroutines and
// handles, all land, each call's runs together and in order: unlike Read,
// append and Upsert, which loses whatever another writer stored in between.
// Only the new runs cross into C, and the cost does not grow with the number
// of runs the session holds (but the returned session is the whole of it).
//
// It fails with ErrInvalidArgument when runs is empty, ErrNotFound when
// there is no such session (with ForUser, none of that user's),
// ErrInvalidSession when "memory", its "runs" or "runs" exists but has the
// wrong JSON type, and ErrTooLarge when the session would exceed the size
// limit (nothing is changed).
func (s *Store) AppendRuns(sessionID string, runs []any, opts ...ScopeOption) (*Session, error) {
	if len(runs) == 0 {
		return nil, argError(opAppendRuns.name, "runs is empty")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(runs); err != nil {
		return nil, err
	}
	out, err := s.AppendRunsJSON(sessionID, bytes.TrimRight(b.Bytes(), "\n"), opts...)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// AppendRunsJSON is AppendRuns on runs given as a JSON array of one or more
// values, passed to C without a copy; it returns the stored JSON. An empty
// array, or JSON that is not an array, fails with ErrInvalidArgument.
// (Unlike the Append...JSON methods, it does not append to a buffer: its
// name is the library's ss_append_runs.)
func (s *Store) AppendRunsJSON(sessionID string, runs []byte, opts ...ScopeOption) ([]byte, error) {
	user := scopeOf(opts).userID
	var buf [128]byte
	cid, cuser, err := cstr2(buf[:], opAppendRuns.name, sessionID, user)
	if err != nil {
		return nil, err
	}
	if user == "" {
		cuser = nil // any user's session
	}
	in := payload(runs)
	in.b, in.c = cid, cuser
	return s.callJSON(nil, opAppendRuns, in)
}

// DeleteSession removes a session of this handle's mode and reports whether
// there was one. A missing id is not an error. With ForUser, only that
// user's session is removed: another user's is left alone and reported as
// not there (false, nil).
func (s *Store) DeleteSession(sessionID string, opts ...ScopeOption) (bool, error) {
	user := scopeOf(opts).userID
	var buf [128]byte
	cid, cuser, err := cstr2(buf[:], opDeleteSession.name, sessionID, user)
	if err != nil {
		return false, err
	}
	if user == "" {
		cuser = nil
	}
	removed, err := s.callCount(opDeleteSession, args{a: cid, b: cuser})
	return removed > 0, err
}

// DeleteSessionIf is DeleteSession, made only if the session's version is
// expected; otherwise it fails with ErrVersionMismatch and nothing changes.
// An expected version of 0 means the session must not exist: then nothing is
// removed (false, nil). A session the call cannot see (of another mode, or
// with ForUser another user's) counts as absent, with version 0.
func (s *Store) DeleteSessionIf(sessionID string, expected uint64, opts ...ScopeOption) (bool, error) {
	user := scopeOf(opts).userID
	var buf [128]byte
	cid, cuser, err := cstr2(buf[:], opDeleteSessionIf.name, sessionID, user)
	if err != nil {
		return false, err
	}
	if user == "" {
		cuser = nil
	}
	removed, err := s.callCount(opDeleteSessionIf, args{a: cid, b: cuser, num: expected})
	return removed > 0, err
}

// DeleteSessions removes the sessions of this handle's mode with the given
// ids, atomically, and returns how many there were. With ForUser, only that
// user's sessions among them are removed; the others, like missing ids, are
// not errors and are not counted.
func (s *Store) DeleteSessions(sessionIDs []string, opts ...ScopeOption) (int, error) {
	user := scopeOf(opts).userID
	if sessionIDs == nil {
		sessionIDs = []string{}
	}
	if err := checkUTF8(opDeleteSessions.name, sessionIDs...); err != nil {
		return 0, err
	}
	in, err := json.Marshal(sessionIDs)
	if err != nil {
		return 0, err
	}
	a := payload(in)
	if user != "" {
		var buf [64]byte
		if a.b, err = cstr(buf[:], opDeleteSessions.name, user); err != nil {
			return 0, err
		}
	}
	return s.callCount(opDeleteSessions, a)
}

// Drop removes every session of this handle's mode and returns how many
// there were. Sessions of other modes in shared data are kept.
func (s *Store) Drop() (int, error) {
	return s.callCount(opDrop, args{})
}

// Stats describes the store.
func (s *Store) Stats() (Stats, error) {
	out, err := s.callJSON(nil, opStats, args{})
	if err != nil {
		return Stats{}, err
	}
	var stats Stats
	err = json.Unmarshal(out, &stats)
	return stats, err
}

// Export returns every session of every type as one JSON object keyed by
// session id, the shape of Agno's storage_dict. Write it wherever sessions
// should survive the process, and give it to Import later.
func (s *Store) Export() ([]byte, error) {
	return s.callJSON(nil, opExport, args{})
}

// Import merges sessions exported by Export, atomically, keeping their
// timestamps; records without session_type take this handle's mode. It
// returns the number of records. Import is an administrative load: it
// replaces stored sessions whatever their user_id (Upsert's ownership rule,
// ErrPermissionDenied, does not apply).
func (s *Store) Import(data []byte) (int, error) {
	return s.callCount(opImport, payload(data))
}

// Sync forces a durable store's journal to stable storage now, whatever its
// sync policy: when it returns nil, every mutation acknowledged before the
// call survives a power loss. It is a no-op for a store in memory. It fails
// with ErrIO when the fsync fails (the store is poisoned from then on) and
// ErrPoisoned when an earlier one did.
func (s *Store) Sync() error {
	_, err := s.call(opSync, args{}, nil)
	return err
}

// emptyPayload gives empty inputs a non-NULL address: the library reads a
// NULL payload as a missing argument, but an empty one as (invalid) JSON.
var emptyPayload [1]byte

// bytesPtr returns the address of b's data for C, without copying. The cgo
// rules allow it: the bytes hold no Go pointers and C does not keep them.
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return (*C.char)(unsafe.Pointer(&emptyPayload[0]))
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

// takeBytes copies a string returned by the library into Go memory, once,
// and frees it with the library's allocator.
func takeBytes(p *C.char, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	src := unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
	b := make([]byte, len(src)) // make+copy: the compiler skips zeroing
	copy(b, src)
	C.ss_string_free(p)
	return b
}

// spareOf returns the spare capacity of dst for C to fill, or NULL when
// there is none (a pointer one past the end of a Go object must not reach C).
func spareOf(dst []byte) (*C.char, C.size_t) {
	room := cap(dst) - len(dst)
	if room == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(&dst[:cap(dst)][len(dst)])), C.size_t(room)
}

// appendTaken completes a JSON result of ssgo_call: it is already in dst's
// spare capacity (out == NULL), or it is the library's string, appended to dst
// and freed.
func appendTaken(dst []byte, out *C.char, n C.size_t) []byte {
	if out == nil {
		return dst[:len(dst)+int(n)]
	}
	if dst == nil {
		return takeBytes(out, n) // exact size
	}
	dst = append(dst, unsafe.Slice((*byte)(unsafe.Pointer(out)), int(n))...)
	C.ss_string_free(out)
	return dst
}

// failure turns a status and the library's message into an *Error, freeing
// the message.
func failure(op string, st C.ss_status, msg *C.char) error {
	e := &Error{Op: op, Status: Status(st)}
	if msg != nil {
		e.Message = C.GoString(msg)
		C.ss_string_free(msg)
	}
	return e
}

// cstr writes s, NUL-terminated, into buf (or a new buffer if it is too
// small) and returns its address for C. A string with a NUL byte would be
// cut short silently by C, so it is refused.
func cstr(buf []byte, op, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, argError(op, "string contains a NUL byte")
	}
	if len(s)+1 > len(buf) {
		buf = make([]byte, len(s)+1)
	}
	n := copy(buf, s)
	buf[n] = 0
	return (*C.char)(unsafe.Pointer(&buf[0])), nil
}

// cstr2 is cstr for two strings sharing one buffer.
func cstr2(buf []byte, op, a, b string) (*C.char, *C.char, error) {
	if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 {
		return nil, nil, argError(op, "string contains a NUL byte")
	}
	if need := len(a) + len(b) + 2; need > len(buf) {
		buf = make([]byte, need)
	}
	n := copy(buf, a)
	buf[n] = 0
	m := copy(buf[n+1:], b)
	buf[n+1+m] = 0
	return (*C.char)(unsafe.Pointer(&buf[0])), (*C.char)(unsafe.Pointer(&buf[n+1])), nil
}

// cstr3 is cstr for three strings sharing one buffer.
func cstr3(buf []byte, op, a, b, c string) (*C.char, *C.char, *C.char, error) {
	if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 || strings.IndexByte(c, 0) >= 0 {
		return nil, nil, nil, argError(op, "string contains a NUL byte")
	}
	if need := len(a) + len(b) + len(c) + 3; need > len(buf) {
		buf = make([]byte, need)
	}
	var p [3]*C.char
	n := 0
	for i, str := range [3]string{a, b, c} {
		p[i] = (*C.char)(unsafe.Pointer(&buf[n]))
		n += copy(buf[n:], str)
		buf[n] = 0
		n++
	}
	return p[0], p[1], p[2], nil
}

// encodeSession appends sess to dst. It calls MarshalJSON directly because
// json.Marshal would compact its output again, rewriting <, > and & in the
// raw members as \u003c and the like.
func encodeSession(dst []byte, sess *Session) ([]byte, error) {
	if sess == nil {
		return append(dst, "null"...), nil // refused by the store
	}
	b, err := sess.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if dst == nil {
		return b, nil
	}
	return append(dst, b...), nil
}

// checkUTF8 refuses strings that encoding/json would change (invalid UTF-8
// becomes U+FFFD), as the library refuses them where they go to C directly.
func checkUTF8(op string, ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return argError(op, "string is not valid UTF-8")
		}
	}
	return nil
}

func decodeSession(data []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func decodeSessions(data []byte) ([]*Session, error) {
	ss := []*Session{}
	if err := json.Unmarshal(data, &ss); err != nil {
		return nil, err
	}
	return ss, nil
}
