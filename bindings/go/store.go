package sessionstore

/*
#cgo CFLAGS: -I${SRCDIR}/../../include

// None of these functions calls back into Go or keeps a pointer it was given,
// so the compiler may leave the buffers and out-parameters we pass on the
// goroutine stack (noescape) and skip the callback bookkeeping (nocallback).
// Both cut the cost of a call, which matters for sub-microsecond operations.
#cgo noescape ss_store_open
#cgo nocallback ss_store_open
#cgo noescape ss_store_share
#cgo nocallback ss_store_share
#cgo nocallback ss_store_close
#cgo noescape ss_upsert_many
#cgo nocallback ss_upsert_many
#cgo noescape ss_get_all_session_ids
#cgo nocallback ss_get_all_session_ids
#cgo noescape ss_get_all_sessions
#cgo nocallback ss_get_all_sessions
#cgo noescape ss_query
#cgo nocallback ss_query
#cgo noescape ss_rename_session
#cgo nocallback ss_rename_session
#cgo noescape ss_delete_session
#cgo nocallback ss_delete_session
#cgo noescape ss_delete_sessions
#cgo nocallback ss_delete_sessions
#cgo noescape ss_drop
#cgo nocallback ss_drop
#cgo noescape ss_stats
#cgo nocallback ss_stats
#cgo noescape ss_export
#cgo nocallback ss_export
#cgo noescape ss_import
#cgo nocallback ss_import
#cgo nocallback ss_string_free
#cgo nocallback ss_version
#cgo noescape ssgo_read
#cgo nocallback ssgo_read
#cgo noescape ssgo_upsert
#cgo nocallback ssgo_upsert
#cgo noescape ssgo_get_recent_sessions
#cgo nocallback ssgo_get_recent_sessions

#include <string.h>
#include "sessionstore.h"

// The ssgo_ functions serve the Append methods. Each makes its library call
// and, when the result fits in the caller's spare buffer capacity (dst, cap
// bytes of Go memory), copies it there and frees it at once: one cgo call
// instead of two, and no Go allocation. Otherwise *out_json is the library's
// string, for the caller to copy and free. *out_len is the length either way.
static void ssgo_take(char *json, size_t len, char *dst, size_t cap, char **out_json) {
	if (dst != NULL && len <= cap) {
		memcpy(dst, json, len);
		ss_string_free(json);
		*out_json = NULL;
	} else {
		*out_json = json;
	}
}

static ss_status ssgo_read(const ss_store *store, const char *session_id, const char *user_id,
                           char *dst, size_t cap, char **out_json, size_t *out_len, char **out_error) {
	char *json = NULL;
	ss_status st = ss_read(store, session_id, user_id, &json, out_len, out_error);
	if (st == SS_STATUS_OK) ssgo_take(json, *out_len, dst, cap, out_json);
	return st;
}

static ss_status ssgo_upsert(ss_store *store, const char *session_json, size_t session_len,
                             char *dst, size_t cap, char **out_json, size_t *out_len, char **out_error) {
	char *json = NULL;
	ss_status st = ss_upsert(store, session_json, session_len, &json, out_len, out_error);
	if (st == SS_STATUS_OK) ssgo_take(json, *out_len, dst, cap, out_json);
	return st;
}

static ss_status ssgo_get_recent_sessions(const ss_store *store, const char *user_id, const char *entity_id,
                                          int64_t limit, char *dst, size_t cap,
                                          char **out_json, size_t *out_len, char **out_error) {
	char *json = NULL;
	ss_status st = ss_get_recent_sessions(store, user_id, entity_id, limit, &json, out_len, out_error);
	if (st == SS_STATUS_OK) ssgo_take(json, *out_len, dst, cap, out_json);
	return st;
}
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Store is a handle on an in-memory session store. All methods are safe for
// concurrent use by many goroutines. Several handles can share one store's
// data (see Share); the data lives until the last of them is closed.
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
// the handle is in ModeAgent with the default session size limit.
func Open(opts ...Option) (*Store, error) {
	c := config{mode: ModeAgent}
	for _, o := range opts {
		o(&c)
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

// Version returns the version of the linked C library, e.g. "0.1.0".
func Version() string { return C.GoString(C.ss_version()) }

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

// Upsert stores a session and returns it as stored (with session_type,
// created_at and updated_at filled in).
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
// JSON. The input is passed to C without a copy.
func (s *Store) UpsertJSON(session []byte) ([]byte, error) {
	return s.AppendUpsertJSON(nil, session)
}

// AppendUpsertJSON is UpsertJSON appending the stored JSON to dst, which
// avoids an allocation when dst has room (see AppendReadJSON).
func (s *Store) AppendUpsertJSON(dst, session []byte) ([]byte, error) {
	h, err := s.acquire()
	if err != nil {
		return dst, err
	}
	defer h.mu.RUnlock()
	spare, room := spareOf(dst)
	var out, cerr *C.char
	var n C.size_t
	st := C.ssgo_upsert(h.ptr, bytesPtr(session), C.size_t(len(session)), spare, room, &out, &n, &cerr)
	if st != C.SS_STATUS_OK {
		return dst, failure("upsert", st, cerr)
	}
	return appendTaken(dst, out, n), nil
}

// UpsertMany stores several sessions atomically: if one is rejected, none is
// stored, and the error message names its index ("sessions[3]: ...").
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
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var out, cerr *C.char
	var n C.size_t
	st := C.ss_upsert_many(h.ptr, bytesPtr(sessions), C.size_t(len(sessions)), &out, &n, &cerr)
	if st != C.SS_STATUS_OK {
		return nil, failure("upsert_many", st, cerr)
	}
	return takeBytes(out, n), nil
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
	return s.AppendReadJSON(nil, sessionID, userID)
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
	cid, cuser, err := cstr2(buf[:], "read", sessionID, userID)
	if err != nil {
		return dst, err
	}
	h, err := s.acquire()
	if err != nil {
		return dst, err
	}
	defer h.mu.RUnlock()
	spare, room := spareOf(dst)
	var out, cerr *C.char
	var n C.size_t
	if st := C.ssgo_read(h.ptr, cid, cuser, spare, room, &out, &n, &cerr); st != C.SS_STATUS_OK {
		return dst, failure("read", st, cerr)
	}
	return appendTaken(dst, out, n), nil
}

// GetAllSessionIDs returns the ids of the sessions of this handle's mode that
// match f, in first-insertion order.
func (s *Store) GetAllSessionIDs(f Filter) ([]string, error) {
	var buf [128]byte
	cuser, centity, err := cstr2(buf[:], "get_all_session_ids", f.UserID, f.EntityID)
	if err != nil {
		return nil, err
	}
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	var out, cerr *C.char
	var n C.size_t
	st := C.ss_get_all_session_ids(h.ptr, cuser, centity, &out, &n, &cerr)
	h.mu.RUnlock()
	if st != C.SS_STATUS_OK {
		return nil, failure("get_all_session_ids", st, cerr)
	}
	ids := []string{}
	if err := json.Unmarshal(takeBytes(out, n), &ids); err != nil {
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
	cuser, centity, err := cstr2(buf[:], "get_all_sessions", f.UserID, f.EntityID)
	if err != nil {
		return nil, err
	}
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var out, cerr *C.char
	var n C.size_t
	if st := C.ss_get_all_sessions(h.ptr, cuser, centity, &out, &n, &cerr); st != C.SS_STATUS_OK {
		return nil, failure("get_all_sessions", st, cerr)
	}
	return takeBytes(out, n), nil
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
	cuser, centity, err := cstr2(buf[:], "get_recent_sessions", f.UserID, f.EntityID)
	if err != nil {
		return dst, err
	}
	h, err := s.acquire()
	if err != nil {
		return dst, err
	}
	defer h.mu.RUnlock()
	spare, room := spareOf(dst)
	var out, cerr *C.char
	var n C.size_t
	st := C.ssgo_get_recent_sessions(h.ptr, cuser, centity, C.int64_t(limit), spare, room, &out, &n, &cerr)
	if st != C.SS_STATUS_OK {
		return dst, failure("get_recent_sessions", st, cerr)
	}
	return appendTaken(dst, out, n), nil
}

// Query selects, sorts and pages the sessions of this handle's mode.
func (s *Store) Query(q Query) (*QueryResult, error) {
	if err := checkUTF8("query", q.UserID, q.EntityID, q.SessionName); err != nil {
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
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var qp *C.char // NULL asks for the empty query
	if query != nil {
		qp = bytesPtr(query)
	}
	var out, cerr *C.char
	var n C.size_t
	if st := C.ss_query(h.ptr, qp, C.size_t(len(query)), &out, &n, &cerr); st != C.SS_STATUS_OK {
		return nil, failure("query", st, cerr)
	}
	return takeBytes(out, n), nil
}

// RenameSession sets session_data.session_name of a session of this handle's
// mode, touches updated_at and returns the stored session. It fails with
// ErrNotFound when there is no such session.
func (s *Store) RenameSession(sessionID, name string) (*Session, error) {
	out, err := s.RenameSessionJSON(sessionID, name)
	if err != nil {
		return nil, err
	}
	return decodeSession(out)
}

// RenameSessionJSON is RenameSession returning the stored JSON.
func (s *Store) RenameSessionJSON(sessionID, name string) ([]byte, error) {
	var buf [256]byte
	cid, cname, err := cstr2(buf[:], "rename_session", sessionID, name)
	if err != nil {
		return nil, err
	}
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var out, cerr *C.char
	var n C.size_t
	if st := C.ss_rename_session(h.ptr, cid, cname, &out, &n, &cerr); st != C.SS_STATUS_OK {
		return nil, failure("rename_session", st, cerr)
	}
	return takeBytes(out, n), nil
}

// DeleteSession removes a session of this handle's mode and reports whether
// there was one. A missing id is not an error.
func (s *Store) DeleteSession(sessionID string) (bool, error) {
	var buf [128]byte
	cid, err := cstr(buf[:], "delete_session", sessionID)
	if err != nil {
		return false, err
	}
	h, err := s.acquire()
	if err != nil {
		return false, err
	}
	defer h.mu.RUnlock()
	var removed C.size_t
	var cerr *C.char
	if st := C.ss_delete_session(h.ptr, cid, &removed, &cerr); st != C.SS_STATUS_OK {
		return false, failure("delete_session", st, cerr)
	}
	return removed > 0, nil
}

// DeleteSessions removes the sessions of this handle's mode with the given
// ids, atomically, and returns how many there were.
func (s *Store) DeleteSessions(sessionIDs []string) (int, error) {
	if sessionIDs == nil {
		sessionIDs = []string{}
	}
	if err := checkUTF8("delete_sessions", sessionIDs...); err != nil {
		return 0, err
	}
	in, err := json.Marshal(sessionIDs)
	if err != nil {
		return 0, err
	}
	h, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer h.mu.RUnlock()
	var removed C.size_t
	var cerr *C.char
	if st := C.ss_delete_sessions(h.ptr, bytesPtr(in), C.size_t(len(in)), &removed, &cerr); st != C.SS_STATUS_OK {
		return 0, failure("delete_sessions", st, cerr)
	}
	return int(removed), nil
}

// Drop removes every session of this handle's mode and returns how many
// there were. Sessions of other modes in shared data are kept.
func (s *Store) Drop() (int, error) {
	h, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer h.mu.RUnlock()
	var removed C.size_t
	var cerr *C.char
	if st := C.ss_drop(h.ptr, &removed, &cerr); st != C.SS_STATUS_OK {
		return 0, failure("drop", st, cerr)
	}
	return int(removed), nil
}

// Stats describes the store.
func (s *Store) Stats() (Stats, error) {
	h, err := s.acquire()
	if err != nil {
		return Stats{}, err
	}
	var out, cerr *C.char
	var n C.size_t
	st := C.ss_stats(h.ptr, &out, &n, &cerr)
	h.mu.RUnlock()
	if st != C.SS_STATUS_OK {
		return Stats{}, failure("stats", st, cerr)
	}
	var stats Stats
	err = json.Unmarshal(takeBytes(out, n), &stats)
	return stats, err
}

// Export returns every session of every type as one JSON object keyed by
// session id, the shape of Agno's storage_dict. Write it wherever sessions
// should survive the process, and give it to Import later.
func (s *Store) Export() ([]byte, error) {
	h, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer h.mu.RUnlock()
	var out, cerr *C.char
	var n C.size_t
	if st := C.ss_export(h.ptr, &out, &n, &cerr); st != C.SS_STATUS_OK {
		return nil, failure("export", st, cerr)
	}
	return takeBytes(out, n), nil
}

// Import merges sessions exported by Export, atomically, keeping their
// timestamps; records without session_type take this handle's mode. It
// returns the number of records.
func (s *Store) Import(data []byte) (int, error) {
	h, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer h.mu.RUnlock()
	var count C.size_t
	var cerr *C.char
	if st := C.ss_import(h.ptr, bytesPtr(data), C.size_t(len(data)), &count, &cerr); st != C.SS_STATUS_OK {
		return 0, failure("import", st, cerr)
	}
	return int(count), nil
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

// appendTaken completes an ssgo_ call: the result is already in dst's spare
// capacity (out == NULL), or it is the library's string, appended to dst and
// freed.
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
