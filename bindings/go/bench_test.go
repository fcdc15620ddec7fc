package sessionstore

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
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

// TestRatios is `make bench`'s measurement (skipped unless SSGO_BENCH_ROUNDS
// is set): each operation from Go through the binding and from C (the
// baseline's loop), in the same process, on the same store. A round makes
// every variant of an operation in turn, each a few milliseconds of calls, so
// that a slower or faster phase of a shared machine falls on all of them
// alike; the order rotates from round to round, so that no variant always
// follows the same one, and a garbage collection starts each round. It
// prints one line per variant and round:
//
//	round: {"op":"read","variant":"go","round":3,"calls":20000,"ns_per_op":301.2}
//
// which internal/cbench/ratiojson turns into ratios to C with their spread
// over the rounds. The "go" variants use the raw Append methods with a buffer
// kept across calls: the same library call as the C loop, so the ratio is the
// cost of the binding; "go_alloc" returns a new slice per call.
func TestRatios(t *testing.T) {
	rounds, err := strconv.Atoi(os.Getenv("SSGO_BENCH_ROUNDS"))
	if err != nil || rounds < 1 {
		t.Skip("set SSGO_BENCH_ROUNDS to the number of rounds (`make bench`)")
	}
	w, err := loadWorkload()
	if err != nil {
		t.Fatal(err)
	}
	const mask = cbench.SeqLen - 1
	s := w.goStore
	var buf []byte
	// loop makes calls 0 .. n-1 of an op's sequence, one per call of call.
	loop := func(call func(i int) error) func(n int) error {
		return func(n int) error {
			for i := range n {
				if err := call(i); err != nil {
					return err
				}
			}
			return nil
		}
	}
	type variant struct {
		name string
		run  func(n int) error
	}
	ops := []struct {
		name     string
		calls    int // per variant and round: a few milliseconds
		variants []variant
	}{
		{"read", 20000, []variant{
			{"go", loop(func(i int) (err error) {
				buf, err = s.AppendReadJSON(buf[:0], w.IDs[w.SeqSession[i&mask]], "")
				return err
			})},
			{"go_alloc", loop(func(i int) error {
				_, err := s.ReadJSON(w.IDs[w.SeqSession[i&mask]], "")
				return err
			})},
			{"c", w.cBench.Read},
			// The C read into a caller buffer (ss_read_into), what
			// AppendReadJSON does with a buffer that has room.
			{"c_buf", w.cBench.ReadBuf},
			// The same C call made once per operation through cgo, with
			// nothing of the binding around it: the floor of a Go read.
			{"floor_cgo", loop(w.cBench.ReadBufAt)},
		}},
		// A bare cgo call: a C function that does nothing, and ss_version (a
		// real, trivial library call), each called once per operation from Go
		// through cgo ("go") and in a C loop ("c").
		{"cgo_noop", 100000, []variant{
			{"go", loop(func(int) error { cbench.Noop(); return nil })},
			{"c", func(n int) error { cbench.NoopLoop(n); return nil }},
		}},
		{"cgo_version", 100000, []variant{
			{"go", loop(func(int) error { cbench.Version(); return nil })},
			{"c", func(n int) error { cbench.VersionLoop(n); return nil }},
		}},
		{"upsert", 2000, []variant{
			{"go", loop(func(i int) (err error) {
				buf, err = s.AppendUpsertJSON(buf[:0], w.JSON[w.SeqSession[i&mask]])
				return err
			})},
			{"go_alloc", loop(func(i int) error {
				_, err := s.UpsertJSON(w.JSON[w.SeqSession[i&mask]])
				return err
			})},
			{"c", w.cBench.Upsert},
		}},
		{"get_recent_sessions", 5000, []variant{
			{"go", loop(func(i int) (err error) {
				f := Filter{UserID: w.Users[w.SeqUser[i&mask]]}
				buf, err = s.AppendRecentSessionsJSON(buf[:0], f, cbench.RecentLimit)
				return err
			})},
			{"go_alloc", loop(func(i int) error {
				_, err := s.GetRecentSessionsJSON(Filter{UserID: w.Users[w.SeqUser[i&mask]]}, cbench.RecentLimit)
				return err
			})},
			{"c", w.cBench.GetRecentSessions},
		}},
	}
	for _, op := range ops {
		for round := -1; round < rounds; round++ { // round -1 warms up, untimed
			runtime.GC()
			for k := range op.variants {
				v := op.variants[(k+max(round, 0))%len(op.variants)]
				start := time.Now()
				if err := v.run(op.calls); err != nil {
					t.Fatalf("%s/%s: %v", op.name, v.name, err)
				}
				ns := float64(time.Since(start).Nanoseconds()) / float64(op.calls)
				if round >= 0 {
					fmt.Printf("round: {\"op\":%q,\"variant\":%q,\"round\":%d,\"calls\":%d,\"ns_per_op\":%.1f}\n",
						op.name, v.name, round, op.calls, ns)
				}
			}
		}
	}
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
