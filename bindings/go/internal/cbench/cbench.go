// Package cbench gives the Go benchmark the repository's one C baseline,
// comparison/c/baseline.h: its workload (10,000 agent sessions of 1 KiB and
// the random sequences every loop follows) and its C loops, run in this
// process through cgo. TestRatios runs the binding's loops and these, so
// each binding figure is a ratio to C measured in the same run. It lives in a
// non-test file because cgo is not allowed in _test.go files.
//
// A whole timed loop runs in C: the Go benchmark makes one cgo call per round
// of calls, so that call's cost is not counted per operation. The C loops
// run on the Go binding's own store (Workload.On), as in the C++ benchmark.
package cbench

/*
#cgo CFLAGS: -O2 -I${SRCDIR}/../../../../comparison/c

#include "baseline.h"

// The floor of a binding call (TestRatios' cgo_noop, cgo_version): a C
// function that does nothing and a trivial library call, each called once per
// operation through cgo from Go, and n times from a C loop for comparison.
// Declared like the binding's own calls (noescape, nocallback), so that the
// Go side pays exactly the cgo transition.
#cgo noescape cbench_noop
#cgo nocallback cbench_noop
#cgo noescape cbench_version
#cgo nocallback cbench_version
#cgo nocallback cbench_loop
#cgo noescape cbench_read_buf_at
#cgo nocallback cbench_read_buf_at

__attribute__((noinline)) static void cbench_noop(void) { __asm__ volatile(""); }
static const char *cbench_version(void) { return ss_version(); }

// cbench_loop calls the no-op (op 0) or ss_version (op 1) n times, through a
// volatile function pointer so that the C compiler keeps every call.
static uintptr_t cbench_loop(int op, uint64_t n) {
	void (*volatile noop)(void) = cbench_noop;
	const char *(*volatile version)(void) = ss_version;
	uintptr_t sink = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (op == 0) noop();
		else sink += (uintptr_t)version();
	}
	return sink;
}

// The floor of a read through cgo (TestRatios' read/floor_cgo): call k of
// the read_buf loop of baseline.h, alone, made once per operation from Go.
// Nothing of the binding runs: the id is the workload's C string and the
// length goes to C memory. The store and the workload are passed as integers,
// as the binding passes its handle, so that cgo does not check them.
static int cbench_read_buf_at(uintptr_t store, uintptr_t workload, uint64_t k) {
	ssb_workload *w = (ssb_workload *)workload;
	size_t len = 0;
	char *err = NULL;
	if (ss_read_into((ss_store *)store, w->id[w->seq_session[k & (SSB_SEQ_LEN - 1)]], NULL, w->buf, SSB_BUF_CAP,
	                 &len, &err) != SS_STATUS_OK || len > SSB_BUF_CAP) {
		ss_string_free(err);
		return -1;
	}
	w->sink += len;
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Workload constants, from baseline.h.
const (
	Sessions     = C.SSB_SESSIONS
	SessionBytes = C.SSB_SESSION_BYTES
	SeqLen       = C.SSB_SEQ_LEN // a power of two
	RecentLimit  = C.SSB_RECENT_LIMIT
	MinReps      = C.SSB_MIN_REPS
)

// Workload is the baseline's workload, in C memory, with Go copies of what
// the Go loops use: call k of a round uses entry k % SeqLen of the sequences
// (read and upsert: session SeqSession[j]; get_recent_sessions: user
// SeqUser[j], limit RecentLimit).
type Workload struct {
	w           *C.ssb_workload
	IDs         []string
	Users       []string
	JSON        [][]byte
	SeqSession  []uint32
	SeqUser     []uint32
	Fingerprint uint32
}

// NewWorkload builds the workload (ssb_workload_new). Free it with Close.
func NewWorkload() (*Workload, error) {
	w := C.ssb_workload_new()
	if w == nil {
		return nil, errors.New("cbench: out of memory")
	}
	out := &Workload{w: w, Fingerprint: uint32(C.ssb_fingerprint(w))}
	for i := range Sessions {
		out.IDs = append(out.IDs, C.GoString(&w.id[i][0]))
		out.JSON = append(out.JSON, C.GoBytes(unsafe.Pointer(w.json[i]), C.int(w.json_len[i])))
	}
	for u := range C.SSB_USERS {
		out.Users = append(out.Users, C.GoString(&w.user[u][0]))
	}
	for j := range SeqLen {
		out.SeqSession = append(out.SeqSession, uint32(w.seq_session[j]))
		out.SeqUser = append(out.SeqUser, uint32(w.seq_user[j]))
	}
	return out, nil
}

// Close frees the C workload.
func (w *Workload) Close() {
	C.ssb_workload_free(w.w)
	w.w = nil
}

// Bench runs the baseline's C loops on a store handle.
type Bench struct {
	w     *Workload
	store *C.ss_store
}

// On returns the C loops on store, an ss_store* given as an unsafe.Pointer:
// the Go binding's own handle, so that Go and C measure the same store (two
// stores loaded one after the other can differ in speed by their memory
// layout alone). The handle must stay open while the Bench is used.
func (w *Workload) On(store unsafe.Pointer) *Bench {
	return &Bench{w: w, store: (*C.ss_store)(store)}
}

func (b *Bench) run(op C.ssb_op, n int) error {
	if fails := C.ssb_run(op, b.store, b.w.w, C.uint64_t(n)); fails != 0 {
		return fmt.Errorf("cbench: %d %s calls failed", int64(fails), C.GoString(C.ssb_op_name(op)))
	}
	return nil
}

// Read makes calls 0..n-1 of the baseline's read loop (ss_read, free).
func (b *Bench) Read(n int) error { return b.run(C.SSB_READ, n) }

// ReadBuf makes calls 0..n-1 of the read into a caller buffer (ss_read_into).
func (b *Bench) ReadBuf(n int) error { return b.run(C.SSB_READ_BUF, n) }

// Upsert makes calls 0..n-1 of the upsert loop (stored JSON returned, freed).
func (b *Bench) Upsert(n int) error { return b.run(C.SSB_UPSERT, n) }

// GetRecentSessions makes calls 0..n-1 of the get_recent_sessions loop.
func (b *Bench) GetRecentSessions(n int) error { return b.run(C.SSB_RECENT, n) }

// ReadBufAt makes call k of the read_buf loop, alone, through one cgo call:
// what a binding's read could cost if it did nothing but call ss_read_into.
func (b *Bench) ReadBufAt(k int) error {
	if C.cbench_read_buf_at(C.uintptr_t(uintptr(unsafe.Pointer(b.store))), C.uintptr_t(uintptr(unsafe.Pointer(b.w.w))),
		C.uint64_t(k)) != 0 {
		return errors.New("cbench: read_buf call failed")
	}
	return nil
}

// Noop calls a C function that does nothing, once, through cgo: the cost of
// a bare cgo call (TestRatios' cgo_noop/go).
func Noop() { C.cbench_noop() }

// Version calls ss_version, once, through cgo (TestRatios' cgo_version/go).
func Version() uintptr { return uintptr(unsafe.Pointer(C.cbench_version())) }

// NoopLoop calls the no-op n times from C, in one cgo call.
func NoopLoop(n int) { C.cbench_loop(0, C.uint64_t(n)) }

// VersionLoop calls ss_version n times from C, in one cgo call.
func VersionLoop(n int) { C.cbench_loop(1, C.uint64_t(n)) }

// CPUModel is lscpu's "Model name" (ssb_cpu_model).
func CPUModel() string {
	var buf [256]C.char
	C.ssb_cpu_model(&buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}

// LoadAvg is the first three fields of /proc/loadavg (ssb_loadavg).
func LoadAvg() string {
	var buf [64]C.char
	C.ssb_loadavg(&buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}
