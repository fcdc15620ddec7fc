package sessionstore

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/sessionstore/sessionstore/bindings/go/internal/cbench"
)

// The workload is the repository's one C baseline's (comparison/c/baseline.h
// through internal/cbench): 10,000 agent sessions of 1 KiB (ids "s<i>",
// user_id "u<i/10>", agent_id "a<i%10>") and the fixed random sequences of
// sessions and users that the Go loops and the C loops both follow, call k of
// every round using entry k % cbench.SeqLen, so that both touch the same
// sessions in the same order, in the same store (loaded through the binding).
type workload struct {
	*cbench.Workload
	goStore *Store
	cBench  *cbench.Bench
}

var (
	benchOnce sync.Once
	bench     *workload
	benchErr  error
)

func loadWorkload() (*workload, error) {
	benchOnce.Do(func() {
		cw, err := cbench.NewWorkload()
		if err != nil {
			benchErr = err
			return
		}
		w := &workload{Workload: cw}
		if w.goStore, benchErr = Open(); benchErr != nil {
			return
		}
		for _, js := range w.JSON {
			if _, benchErr = w.goStore.UpsertJSON(js); benchErr != nil {
				return
			}
		}
		// The C loops run on the binding's own handle (this file is in package
		// sessionstore for that): both sides measure the same store.
		w.cBench = w.On(unsafe.Pointer(w.goStore.h.ptr))
		// For internal/cbench/ratiojson (`make bench`): the conditions of the run.
		fmt.Printf("baseline: {\"cpu\":%q,\"loadavg\":%q,\"fingerprint\":\"%08x\"}\n",
			cbench.CPUModel(), cbench.LoadAvg(), w.Fingerprint)
		bench = w
	})
	return bench, benchErr
}

// BenchmarkOps measures each operation from Go through the binding and from
// C (the baseline's loop), in the same process; `make bench` runs it
// BENCH_COUNT (>= 5) times, so that Go and C rounds alternate, and
// internal/cbench/ratiojson turns the results into ratios to C with their spread.
// The "go" variants use the raw Append methods with a buffer kept across
// calls: the same library call as the C loop (call, take the bytes, free
// them), so the ratio is the cost of the binding; "go_alloc" returns a new
// slice per call.
func BenchmarkOps(b *testing.B) {
	w, err := loadWorkload()
	if err != nil {
		b.Fatal(err)
	}
	const mask = cbench.SeqLen - 1
	s := w.goStore
	b.Run("read", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			var buf []byte
			for i := range b.N {
				var err error
				if buf, err = s.AppendReadJSON(buf[:0], w.IDs[w.SeqSession[i&mask]], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				if _, err := s.ReadJSON(w.IDs[w.SeqSession[i&mask]], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			if err := w.cBench.Read(b.N); err != nil {
				b.Fatal(err)
			}
		})
		// The C read into a caller buffer (ss_read_into), what AppendReadJSON
		// does with a buffer that has room: the like-for-like C figure.
		b.Run("c_buf", func(b *testing.B) {
			defer reportCPU(b)()
			if err := w.cBench.ReadBuf(b.N); err != nil {
				b.Fatal(err)
			}
		})
	})
	// The floor of any binding call, in the same run: a C function that does
	// nothing, and ss_version (a real, trivial library call), each called once
	// per operation from Go through cgo ("go") and in a C loop ("c").
	b.Run("cgo_noop", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			for range b.N {
				cbench.Noop()
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			cbench.NoopLoop(b.N)
		})
	})
	b.Run("cgo_version", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			for range b.N {
				cbench.Version()
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			cbench.VersionLoop(b.N)
		})
	})
	b.Run("upsert", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			var buf []byte
			for i := range b.N {
				var err error
				if buf, err = s.AppendUpsertJSON(buf[:0], w.JSON[w.SeqSession[i&mask]]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				if _, err := s.UpsertJSON(w.JSON[w.SeqSession[i&mask]]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			if err := w.cBench.Upsert(b.N); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("get_recent_sessions", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			var buf []byte
			for i := range b.N {
				f := Filter{UserID: w.Users[w.SeqUser[i&mask]]}
				var err error
				if buf, err = s.AppendRecentSessionsJSON(buf[:0], f, cbench.RecentLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				f := Filter{UserID: w.Users[w.SeqUser[i&mask]]}
				if _, err := s.GetRecentSessionsJSON(f, cbench.RecentLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			if err := w.cBench.GetRecentSessions(b.N); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// reportCPU adds a cpu-ns/op metric: the process's CPU time per operation,
// GC work included. On a shared machine it is less disturbed than ns/op (wall
// time) by other processes taking the CPUs. Use: defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTyped measures the typed methods, which add encoding/json on top
// of the raw ones. Not part of `make bench`.
func BenchmarkTyped(b *testing.B) {
	w, err := loadWorkload()
	if err != nil {
		b.Fatal(err)
	}
	const mask = cbench.SeqLen - 1
	s := w.goStore
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := s.Read(w.IDs[w.SeqSession[i&mask]], ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get_recent_sessions", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			f := Filter{UserID: w.Users[w.SeqUser[i&mask]]}
			if _, err := s.GetRecentSessions(f, cbench.RecentLimit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParallelRead reads from all Ps at once, to show that the handle
// guard does not serialise readers.
func BenchmarkParallelRead(b *testing.B) {
	w, err := loadWorkload()
	if err != nil {
		b.Fatal(err)
	}
	var next sync.Mutex
	start := 0
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		i := start
		start += 997
		next.Unlock()
		for pb.Next() {
			if _, err := w.goStore.ReadJSON(w.IDs[w.SeqSession[i&(cbench.SeqLen-1)]], ""); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkGoAllocBaseline is pure Go: a fresh slice holding a copy of a
// read's (1 KiB) or a get_recent_sessions' (5 KiB) result, the cost that the
// allocating methods add to the Append ones. Not part of `make bench`.
func BenchmarkGoAllocBaseline(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			src := make([]byte, size)
			var sink []byte
			b.ReportAllocs()
			for range b.N {
				sink = make([]byte, len(src))
				copy(sink, src)
			}
			_ = sink
		})
	}
}
