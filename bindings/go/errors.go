package sessionstore

// #include "sessionstore.h"
//
// #cgo nocallback ss_status_str
import "C"

import (
	"errors"
	"strconv"
	"strings"
)

// Status is a status code of the C library (ss_status). The numbers are part of
// the C ABI and never change meaning; new codes may be added. The constants
// below are the header's (include/sessionstore.h), taken through cgo, so they
// cannot drift from the library.
type Status uint32

// The status codes of the C library.
const (
	StatusOK              Status = C.SS_STATUS_OK
	StatusNotFound        Status = C.SS_STATUS_NOT_FOUND
	StatusInvalidArgument Status = C.SS_STATUS_INVALID_ARGUMENT
	StatusInvalidJSON     Status = C.SS_STATUS_INVALID_JSON
	StatusInvalidSession  Status = C.SS_STATUS_INVALID_SESSION
	StatusConflict        Status = C.SS_STATUS_CONFLICT
	StatusTooLarge        Status = C.SS_STATUS_TOO_LARGE
	StatusInternal        Status = C.SS_STATUS_INTERNAL
	// StatusPermissionDenied: an upsert of a session that belongs to another
	// user (its stored user_id is set and differs from the input's).
	StatusPermissionDenied Status = C.SS_STATUS_PERMISSION_DENIED
	// StatusIO: a durable store's disk I/O failed (a full disk, a failed
	// write or fsync).
	StatusIO Status = C.SS_STATUS_IO
	// StatusLocked: the directory of a durable store is in use by another
	// open store, in this process or another.
	StatusLocked Status = C.SS_STATUS_LOCKED
	// StatusCorrupt: a durable store's files are damaged or are not a
	// store's files.
	StatusCorrupt Status = C.SS_STATUS_CORRUPT
	// StatusPoisoned: an earlier fsync of a durable store failed; it refuses
	// writes, reads go on.
	StatusPoisoned Status = C.SS_STATUS_POISONED
	// StatusVersionMismatch: a conditional write (UpsertIf, RenameSessionIf,
	// DeleteSessionIf) expected another version of the session than the one
	// stored.
	StatusVersionMismatch Status = C.SS_STATUS_VERSION_MISMATCH
	// StatusFeedTruncated: Changes was asked for changes after a number the
	// feed no longer holds, or one this store never reached.
	StatusFeedTruncated Status = C.SS_STATUS_FEED_TRUNCATED
	// StatusFull: a write would take the store past a bound (WithMaxSessions,
	// WithMaxBytes) or a user past a quota (WithUserMaxSessions,
	// WithUserMaxBytes) of a store opened with WithWhenFull(WhenFullRefuse),
	// or the write alone cannot fit under the bound.
	StatusFull Status = C.SS_STATUS_FULL
	// StatusUnavailable: a Redis store's server cannot be used (unreachable,
	// no reply within WithCommandTimeout, loading, out of memory, read-only).
	StatusUnavailable Status = C.SS_STATUS_UNAVAILABLE
)

// StatusClosed is the status of ErrClosed: a call on a closed (or nil) Store.
// The C library never returns it, since C cannot detect a closed handle; it is
// the header's SS_BINDING_STATUS_CLOSED, the one number every binding (Go,
// C++, Node) reports in that case, so a status means the same in every
// language.
const StatusClosed Status = C.SS_BINDING_STATUS_CLOSED

// Sentinel errors, for use with errors.Is. Every error coming from the library
// is an *Error whose Is method matches the sentinel of its Status, so the
// library's own message is kept while callers test the category.
var (
	ErrNotFound        = errors.New("sessionstore: not found")
	ErrInvalidArgument = errors.New("sessionstore: invalid argument")
	ErrInvalidJSON     = errors.New("sessionstore: invalid JSON")
	ErrInvalidSession  = errors.New("sessionstore: invalid session")
	ErrConflict        = errors.New("sessionstore: conflict")
	ErrTooLarge        = errors.New("sessionstore: too large")
	// ErrInternal means the library caught a panic: a bug in sessionstore.
	ErrInternal = errors.New("sessionstore: internal error")
	// ErrPermissionDenied means an upsert (Upsert, UpsertMany and their JSON
	// and Append variants) would replace a session that belongs to another
	// user: its stored user_id is set and differs from the input's, an absent
	// or empty one included. Nothing was changed. Import is not bound by it.
	ErrPermissionDenied = errors.New("sessionstore: permission denied")
	// ErrIO means a durable store's disk I/O failed: a full disk, a failed
	// write or fsync, or (from Open) a directory that cannot be created, read
	// or locked. A mutation that fails with it was not applied, except when
	// its fsync failed: then the store is poisoned (see ErrPoisoned) and the
	// change is in memory but may not be on disk.
	ErrIO = errors.New("sessionstore: I/O error")
	// ErrLocked is returned by Open when the directory of WithPath is in use
	// by another open store, in this process or another, until the last
	// handle on that store is closed. Use Share for a second handle.
	ErrLocked = errors.New("sessionstore: locked")
	// ErrCorrupt is returned by Open when a durable store's files are
	// damaged (anything but a torn last append, which is cut off) or are not
	// a store's files; the message names the file and the byte offset.
	// Nothing was loaded.
	ErrCorrupt = errors.New("sessionstore: corrupt")
	// ErrPoisoned means an earlier fsync of this durable store failed, so the
	// kernel may have dropped data it had acknowledged: every write is
	// refused, reads go on. Reopen the store to reload what is on disk.
	ErrPoisoned = errors.New("sessionstore: poisoned")
	// ErrVersionMismatch is returned by a conditional write (UpsertIf,
	// RenameSessionIf, DeleteSessionIf and their variants) when the stored
	// session's version is not the expected one (0 standing for "no such
	// session"): another writer came first. Nothing was changed; read the
	// session again, apply the change to what it holds, and retry.
	ErrVersionMismatch = errors.New("sessionstore: version mismatch")
	// ErrFeedTruncated is returned by Changes when the reader fell behind
	// what the feed keeps (see WithFeedBytes), or asked with a number this
	// store never reached (above ChangesResult.Latest: an in-memory store
	// made anew). Start again from ExportWithSeq, then follow Changes from
	// the number it returns. A store made anew that has already reached the
	// number is not caught here: compare ChangesResult.Store with the
	// identity kept with the number.
	ErrFeedTruncated = errors.New("sessionstore: feed truncated")
	// ErrFull is returned by a write (an upsert, a batch, a rename, an
	// append or an import) that would take the store past a capacity bound
	// (WithMaxSessions, WithMaxBytes) or a user past a quota
	// (WithUserMaxSessions, WithUserMaxBytes) of a store opened with
	// WithWhenFull(WhenFullRefuse); and, under either policy, by a write that
	// cannot fit even in an empty store (or an empty quota). Nothing was
	// changed; the message names the bound.
	ErrFull = errors.New("sessionstore: full")
	// ErrUnavailable means the server of a store opened with WithRedis cannot
	// be used: it is unreachable, did not answer within WithCommandTimeout
	// (or accept a connection within WithConnectTimeout), is loading or
	// restarting, is out of memory (maxmemory) or is a read-only replica.
	// Nothing was changed, unless the message says the reply was lost (a
	// timeout or a dropped connection after the command was sent): then the
	// change may have been applied, and a conditional write (UpsertIf,
	// RenameSessionIf, DeleteSessionIf) is the way to retry safely. The store
	// reconnects by itself on a later call once the server is back; Open
	// fails with it when the server cannot be reached.
	ErrUnavailable = errors.New("sessionstore: unavailable")
	// ErrClosed is returned by every method of a Store after Close (or after
	// the Store was never opened). C cannot detect a closed handle, so the
	// binding refuses the call before it reaches C. It is an *Error with
	// Status StatusClosed, and every method returns this very value.
	ErrClosed error = &Error{Status: StatusClosed, Message: "store is closed"}
)

// String returns a short description of the status: the library's text
// (ss_status_str), e.g. "not found", or "status N" for a number it does not
// know.
func (s Status) String() string {
	if text, ok := statusText(s); ok {
		return text
	}
	return "status " + strconv.FormatUint(uint64(s), 10)
}

// statusText is ss_status_str(s), and whether the library knows s.
func statusText(s Status) (string, bool) {
	text := C.GoString(C.ss_status_str(C.uint32_t(s)))
	return text, text != unknownStatusText
}

// unknownStatusText is what ss_status_str gives for a number it does not know.
const unknownStatusText = "unknown status"

// Sentinel returns the sentinel error of the status, or nil for StatusOK and
// for codes this version of the binding does not know.
func (s Status) Sentinel() error {
	switch s {
	case StatusNotFound:
		return ErrNotFound
	case StatusInvalidArgument:
		return ErrInvalidArgument
	case StatusInvalidJSON:
		return ErrInvalidJSON
	case StatusInvalidSession:
		return ErrInvalidSession
	case StatusConflict:
		return ErrConflict
	case StatusTooLarge:
		return ErrTooLarge
	case StatusInternal:
		return ErrInternal
	case StatusPermissionDenied:
		return ErrPermissionDenied
	case StatusIO:
		return ErrIO
	case StatusLocked:
		return ErrLocked
	case StatusCorrupt:
		return ErrCorrupt
	case StatusPoisoned:
		return ErrPoisoned
	case StatusVersionMismatch:
		return ErrVersionMismatch
	case StatusFeedTruncated:
		return ErrFeedTruncated
	case StatusFull:
		return ErrFull
	case StatusUnavailable:
		return ErrUnavailable
	case StatusClosed:
		return ErrClosed
	}
	return nil
}

// Error is a failure reported by the library (or refused by the binding
// before the call, with the status the library would have given, or
// StatusClosed).
type Error struct {
	Op      string // the operation, e.g. "upsert"
	Status  Status // the library's status code, or StatusClosed
	Message string // the library's message, e.g. "sessions[3]: missing session_id"
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Status.String()
	}
	// The library prefixes some messages with their context ("query: ...",
	// `import["id"]: ...`); do not repeat it when it is the operation.
	if e.Op == "" || strings.HasPrefix(msg, e.Op+":") || strings.HasPrefix(msg, e.Op+"[") {
		return "sessionstore: " + msg
	}
	return "sessionstore: " + e.Op + ": " + msg
}

// Is reports whether target is the sentinel of e's status, so that
// errors.Is(err, ErrNotFound) works on every error of this package.
func (e *Error) Is(target error) bool {
	s := e.Status.Sentinel()
	return s != nil && target == s
}

func argError(op, msg string) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: msg}
}
