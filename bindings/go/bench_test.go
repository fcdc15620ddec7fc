package sessionstore_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
	"github.com/sessionstore/sessionstore/bindings/go/internal/cbench"
)

// The workload: 10,000 agent sessions of about 1 KiB (ids "s<i>", user_id
// "u<i/10>", agent_id "a<i%10>", a memory field padding them to 1 KiB), and
// one fixed random sequence of session indexes that the Go and the C loops
// both follow, so that both touch the same sessions in the same order.
const (
	benchSessions = 10_000
	sessionBytes  = 1024
	seqLen        = 1 << 14
	recentLimit   = 5
)

type workload struct {
	sessions []cbench.Session
	seq      []uint32
	goStore  *sessionstore.Store
	cBench   *cbench.Bench
}

var (
	benchOnce sync.Once
	bench     *workload
	benchErr  error
)

func sessionJSON(i int) []byte {
	head := fmt.Sprintf(`{"session_id":"s%d","user_id":"u%d","agent_id":"a%d","session_data":{"session_name":"session %d"},"memory":{"summary":"`,
		i, i/10, i%10, i)
	const tail = `"}}`
	return []byte(head + strings.Repeat("m", sessionBytes-len(head)-len(tail)) + tail)
}

func loadWorkload() (*workload, error) {
	benchOnce.Do(func() {
		w := &workload{}
		for i := range benchSessions {
			w.sessions = append(w.sessions, cbench.Session{
				ID: fmt.Sprintf("s%d", i), UserID: fmt.Sprintf("u%d", i/10), JSON: sessionJSON(i)})
		}
		rng := rand.New(rand.NewPCG(2024, 11))
		for range seqLen {
			w.seq = append(w.seq, uint32(rng.IntN(benchSessions)))
		}
		if w.goStore, benchErr = sessionstore.Open(); benchErr != nil {
			return
		}
		for _, s := range w.sessions {
			if _, benchErr = w.goStore.UpsertJSON(s.JSON); benchErr != nil {
				return
			}
		}
		if w.cBench, benchErr = cbench.New([]byte(`{"mode":"agent"}`), w.sessions, w.seq); benchErr != nil {
			return
		}
		bench = w
	})
	return bench, benchErr
}

// BenchmarkOps measures each operation from Go through the binding and from
// C directly, in the same process; `make bench` turns the results into JSON
// lines. The Go side uses the raw JSON methods, which do what the C loop
// does (call, copy the result out, free it), so the difference is the cost
// of the binding.
func BenchmarkOps(b *testing.B) {
	w, err := loadWorkload()
	if err != nil {
		b.Fatal(err)
	}
	const mask = seqLen - 1
	s := w.goStore
	b.Run("read", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			var buf []byte
			for i := range b.N {
				var err error
				if buf, err = s.AppendReadJSON(buf[:0], w.sessions[w.seq[i&mask]].ID, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				if _, err := s.ReadJSON(w.sessions[w.seq[i&mask]].ID, ""); err != nil {
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
	})
	b.Run("upsert", func(b *testing.B) {
		b.Run("go", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			var buf []byte
			for i := range b.N {
				var err error
				if buf, err = s.AppendUpsertJSON(buf[:0], w.sessions[w.seq[i&mask]].JSON); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				if _, err := s.UpsertJSON(w.sessions[w.seq[i&mask]].JSON); err != nil {
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
				f := sessionstore.Filter{UserID: w.sessions[w.seq[i&mask]].UserID}
				var err error
				if buf, err = s.AppendRecentSessionsJSON(buf[:0], f, recentLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("go_alloc", func(b *testing.B) {
			defer reportCPU(b)()
			b.ReportAllocs()
			for i := range b.N {
				f := sessionstore.Filter{UserID: w.sessions[w.seq[i&mask]].UserID}
				if _, err := s.GetRecentSessionsJSON(f, recentLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("c", func(b *testing.B) {
			defer reportCPU(b)()
			if err := w.cBench.GetRecentSessions(b.N, recentLimit); err != nil {
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
	const mask = seqLen - 1
	s := w.goStore
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := s.Read(w.sessions[w.seq[i&mask]].ID, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get_recent_sessions", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			f := sessionstore.Filter{UserID: w.sessions[w.seq[i&mask]].UserID}
			if _, err := s.GetRecentSessions(f, recentLimit); err != nil {
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
			if _, err := w.goStore.ReadJSON(w.sessions[w.seq[i&(seqLen-1)]].ID, ""); err != nil {
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
