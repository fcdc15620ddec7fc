package sessionstore

import (
	"errors"
	"strconv"
	"testing"
)

// TestStatusesMatchLibrary walks the library's statuses (ss_status_str from 0
// up to the first "unknown status") and fails when the library has one this
// binding does not know, or the binding one the library does not: the Status
// constants come from the header, but each needs a sentinel here.
func TestStatusesMatchLibrary(t *testing.T) {
	known := []Status{StatusOK, StatusNotFound, StatusInvalidArgument, StatusInvalidJSON,
		StatusInvalidSession, StatusConflict, StatusTooLarge, StatusInternal, StatusPermissionDenied,
		StatusIO, StatusLocked, StatusCorrupt, StatusPoisoned, StatusVersionMismatch, StatusFeedTruncated, StatusFull,
		StatusUnavailable}
	seen := map[error]Status{}
	n := 0
	for ; n < int(StatusClosed); n++ {
		st := Status(n)
		text, ok := statusText(st)
		if !ok {
			break
		}
		if st.String() != text {
			t.Errorf("status %d: String() = %q, library says %q", n, st, text)
		}
		if st == StatusOK {
			if st.Sentinel() != nil {
				t.Errorf("StatusOK has a sentinel: %v", st.Sentinel())
			}
			continue
		}
		sentinel := st.Sentinel()
		if sentinel == nil {
			t.Errorf("the library has status %d (%q), which this binding does not know: add its sentinel", n, text)
			continue
		}
		if other, dup := seen[sentinel]; dup {
			t.Errorf("statuses %d and %d share the sentinel %v", other, n, sentinel)
		}
		seen[sentinel] = st
		if err := error(&Error{Op: "op", Status: st}); !errors.Is(err, sentinel) || errors.Is(err, ErrClosed) {
			t.Errorf("status %d: errors.Is does not match %v alone", n, sentinel)
		}
	}
	if n != len(known) {
		t.Errorf("the library has %d statuses, the binding %d: %v", n, len(known), known)
	}
	for _, st := range known {
		if _, ok := statusText(st); !ok {
			t.Errorf("status %d (%s) is unknown to the library", st, st)
		}
	}
	if got := Status(n).String(); got != "status "+strconv.Itoa(n) {
		t.Errorf("Status(%d).String() = %q", n, got)
	}
}

// TestClosedStatus checks the binding-side status of a closed Store: the
// header's SS_BINDING_STATUS_CLOSED, shared by every binding and never
// returned by the C library.
func TestClosedStatus(t *testing.T) {
	// The number is part of the convention between the bindings (and
	// documented in README.md): checked deliberately.
	if StatusClosed != 65536 {
		t.Fatalf("StatusClosed = %d, want 65536", StatusClosed)
	}
	if text, ok := statusText(StatusClosed); !ok || text != "closed" || StatusClosed.String() != "closed" {
		t.Fatalf("ss_status_str(StatusClosed) = %q, String() = %q", text, StatusClosed)
	}
	if StatusClosed.Sentinel() != ErrClosed {
		t.Fatalf("StatusClosed.Sentinel() = %v", StatusClosed.Sentinel())
	}
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.ReadJSON("x", "")
	var e *Error
	if err != ErrClosed || !errors.As(err, &e) || e.Status != StatusClosed || e.Message == "" {
		t.Fatalf("read on a closed store: %#v", err)
	}
	if !errors.Is(&Error{Op: "read", Status: StatusClosed}, ErrClosed) {
		t.Fatal("an *Error with StatusClosed does not match ErrClosed")
	}
	if got := ErrClosed.Error(); got != "sessionstore: store is closed" {
		t.Fatalf("ErrClosed.Error() = %q", got)
	}
	for _, other := range []error{ErrNotFound, ErrInvalidArgument, ErrInvalidJSON, ErrInvalidSession,
		ErrConflict, ErrTooLarge, ErrInternal, ErrPermissionDenied, ErrIO, ErrLocked, ErrCorrupt, ErrPoisoned,
		ErrVersionMismatch, ErrFeedTruncated, ErrFull, ErrUnavailable} {
		if errors.Is(ErrClosed, other) {
			t.Fatalf("ErrClosed matches %v", other)
		}
	}
}
