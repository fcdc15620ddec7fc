package sessionstore

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// rss returns the resident set size in bytes (Linux).
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestNoLeak repeats calls whose results (out_json) and failures (out_error)
// are strings owned by the caller: if the binding failed to free either, the
// process would grow by the 640 MB they add up to.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s := open(t)
	big := raw(t, "session_id", "s", "user_id", "u", "memory", strings.Repeat("x", 4000))
	if _, err := s.UpsertJSON(big); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", 8000) // a long id makes a long error message
	cycle := func() {
		if _, err := s.ReadJSON("s", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertJSON(big); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Read(long, ""); err == nil {
			t.Fatal("read of a missing session succeeded")
		}
	}
	for range 2000 { // warm up the allocators
		cycle()
	}
	runtime.GC()
	before := rss(t)
	const n = 40_000 // 4 KB + 4 KB + 8 KB owned by the caller per cycle
	for range n {
		cycle()
	}
	runtime.GC()
	if grew := rss(t) - before; grew > 64<<20 {
		t.Fatalf("RSS grew by %d MB over %d cycles: a returned string is not freed", grew>>20, n)
	}
}
