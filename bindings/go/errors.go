package sessionstore

import (
	"errors"
	"strconv"
	"strings"
)

// Status is a status code of the C library (ss_status). The numbers are part of
// the C ABI and never change meaning; new codes may be added.
type Status uint32

// The status codes of the C library.
const (
	StatusOK              Status = 0
	StatusNotFound        Status = 1
	StatusInvalidArgument Status = 2
	StatusInvalidJSON     Status = 3
	StatusInvalidSession  Status = 4
	StatusConflict        Status = 5
	StatusTooLarge        Status = 6
	StatusInternal        Status = 7
)

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
	// ErrClosed is returned by every method of a Store after Close (or after
	// the Store was never opened). It has no C counterpart: C cannot detect a
	// closed handle, so the binding refuses the call before it reaches C.
	ErrClosed = errors.New("sessionstore: store is closed")
)

var statusNames = [...]string{
	StatusOK:              "ok",
	StatusNotFound:        "not found",
	StatusInvalidArgument: "invalid argument",
	StatusInvalidJSON:     "invalid JSON",
	StatusInvalidSession:  "invalid session",
	StatusConflict:        "conflict",
	StatusTooLarge:        "too large",
	StatusInternal:        "internal error",
}

var statusSentinels = [...]error{
	StatusNotFound:        ErrNotFound,
	StatusInvalidArgument: ErrInvalidArgument,
	StatusInvalidJSON:     ErrInvalidJSON,
	StatusInvalidSession:  ErrInvalidSession,
	StatusConflict:        ErrConflict,
	StatusTooLarge:        ErrTooLarge,
	StatusInternal:        ErrInternal,
}

// String returns a short description of the status.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status " + strconv.FormatUint(uint64(s), 10)
}

// Sentinel returns the sentinel error of the status, or nil for StatusOK and
// for codes this version of the binding does not know.
func (s Status) Sentinel() error {
	if int(s) < len(statusSentinels) {
		return statusSentinels[s]
	}
	return nil
}

// Error is a failure reported by the library (or refused by the binding
// before the call, with the status the library would have given).
type Error struct {
	Op      string // the operation, e.g. "upsert"
	Status  Status // the library's status code
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
