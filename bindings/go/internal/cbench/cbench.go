// Package cbench runs the Go binding's benchmark workload from C, so that a
// Go benchmark can report the cost of the same calls without cgo and the
// binding's overhead can be read off the difference. It lives in a non-test
// file because cgo is not allowed in _test.go files.
//
// The whole timed loop runs in C: the Go benchmark makes one cgo call per
// b.N iterations, so its cost is not counted per operation.
package cbench

/*
#cgo CFLAGS: -O2

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sessionstore.h"

typedef struct {
	ss_store  *store;
	size_t     n;         // sessions
	char     **ids;       // NUL-terminated session ids
	char     **users;     // NUL-terminated user id of each session
	char     **payloads;  // session JSON
	size_t    *lens;
	uint32_t  *seq;       // session indexes to visit, cycled
	size_t     seq_mask;  // len(seq) - 1, a power of two minus one
} cb_bench;

static char *cb_dup(const char *s, size_t n) {
	char *d = malloc(n + 1);
	if (d) { memcpy(d, s, n); d[n] = 0; }
	return d;
}

static cb_bench *cb_new(const char *config, size_t config_len, size_t n,
                        const uint32_t *seq, size_t seq_len) {
	cb_bench *b = calloc(1, sizeof *b);
	if (!b) return NULL;
	if (ss_store_open(config, config_len, &b->store, NULL) != SS_STATUS_OK) { free(b); return NULL; }
	b->n = n;
	b->ids = calloc(n, sizeof *b->ids);
	b->users = calloc(n, sizeof *b->users);
	b->payloads = calloc(n, sizeof *b->payloads);
	b->lens = calloc(n, sizeof *b->lens);
	b->seq = malloc(seq_len * sizeof *b->seq);
	if (b->seq) memcpy(b->seq, seq, seq_len * sizeof *b->seq);
	b->seq_mask = seq_len - 1;
	return b;
}

// cb_add copies session i of the workload into C memory and stores it.
static ss_status cb_add(cb_bench *b, size_t i, const char *id, size_t id_len,
                        const char *user, size_t user_len, const char *json, size_t len) {
	b->ids[i] = cb_dup(id, id_len);
	b->users[i] = cb_dup(user, user_len);
	b->payloads[i] = cb_dup(json, len);
	b->lens[i] = len;
	return ss_upsert(b->store, b->payloads[i], len, NULL, NULL, NULL);
}

// The loops below do what a C caller of the library does: make the call,
// take the owned result and free it. They count failures so that a broken
// workload cannot pass for a fast one.

static int64_t cb_read(cb_bench *b, int64_t iters) {
	int64_t fails = 0;
	for (int64_t i = 0; i < iters; i++) {
		uint32_t k = b->seq[(size_t)i & b->seq_mask];
		char *out = NULL;
		size_t len = 0;
		if (ss_read(b->store, b->ids[k], NULL, &out, &len, NULL) != SS_STATUS_OK) fails++;
		ss_string_free(out);
	}
	return fails;
}

static int64_t cb_upsert(cb_bench *b, int64_t iters) {
	int64_t fails = 0;
	for (int64_t i = 0; i < iters; i++) {
		uint32_t k = b->seq[(size_t)i & b->seq_mask];
		char *out = NULL;
		size_t len = 0;
		if (ss_upsert(b->store, b->payloads[k], b->lens[k], &out, &len, NULL) != SS_STATUS_OK) fails++;
		ss_string_free(out);
	}
	return fails;
}

static int64_t cb_recent(cb_bench *b, int64_t iters, int64_t limit) {
	int64_t fails = 0;
	for (int64_t i = 0; i < iters; i++) {
		uint32_t k = b->seq[(size_t)i & b->seq_mask];
		char *out = NULL;
		size_t len = 0;
		if (ss_get_recent_sessions(b->store, b->users[k], "", limit, &out, &len, NULL) != SS_STATUS_OK) fails++;
		ss_string_free(out);
	}
	return fails;
}

static void cb_free(cb_bench *b) {
	if (!b) return;
	ss_store_close(b->store);
	for (size_t i = 0; i < b->n; i++) { free(b->ids[i]); free(b->users[i]); free(b->payloads[i]); }
	free(b->ids); free(b->users); free(b->payloads); free(b->lens); free(b->seq);
	free(b);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Session is one session of the workload.
type Session struct {
	ID, UserID string
	JSON       []byte
}

// Bench is a store loaded from C with the workload, plus the timed loops.
type Bench struct {
	b *C.cb_bench
}

// New opens a store with the given config JSON and stores every session from
// C. seq lists the session indexes the loops visit, cyclically; its length
// must be a power of two.
func New(config []byte, sessions []Session, seq []uint32) (*Bench, error) {
	if len(seq) == 0 || len(seq)&(len(seq)-1) != 0 {
		return nil, errors.New("cbench: len(seq) must be a power of two")
	}
	for _, k := range seq {
		if int(k) >= len(sessions) {
			return nil, fmt.Errorf("cbench: seq index %d out of range", k)
		}
	}
	b := C.cb_new(cptr(config), C.size_t(len(config)), C.size_t(len(sessions)),
		(*C.uint32_t)(unsafe.Pointer(&seq[0])), C.size_t(len(seq)))
	if b == nil {
		return nil, errors.New("cbench: cannot open the store")
	}
	for i, s := range sessions {
		st := C.cb_add(b, C.size_t(i), cptr([]byte(s.ID)), C.size_t(len(s.ID)),
			cptr([]byte(s.UserID)), C.size_t(len(s.UserID)), cptr(s.JSON), C.size_t(len(s.JSON)))
		if st != C.SS_STATUS_OK {
			C.cb_free(b)
			return nil, fmt.Errorf("cbench: upsert of session %d failed with status %d", i, st)
		}
	}
	return &Bench{b: b}, nil
}

func cptr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

func check(op string, fails C.int64_t) error {
	if fails != 0 {
		return fmt.Errorf("cbench: %d %s calls failed", int64(fails), op)
	}
	return nil
}

// Read reads n sessions by id.
func (b *Bench) Read(n int) error { return check("read", C.cb_read(b.b, C.int64_t(n))) }

// Upsert upserts n existing sessions.
func (b *Bench) Upsert(n int) error { return check("upsert", C.cb_upsert(b.b, C.int64_t(n))) }

// GetRecentSessions lists the limit most recent sessions of a user, n times.
func (b *Bench) GetRecentSessions(n, limit int) error {
	return check("get_recent_sessions", C.cb_recent(b.b, C.int64_t(n), C.int64_t(limit)))
}

// Close frees the store and the C copy of the workload.
func (b *Bench) Close() {
	C.cb_free(b.b)
	b.b = nil
}
