package sessionstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentReadersWriters runs writers, readers, listers and a deleter
// on two handles sharing one store, checks what every goroutine sees while
// they run, and checks the final state.
func TestConcurrentReadersWriters(t *testing.T) {
	const (
		writers   = 4
		perWriter = 40
		rounds    = 15
		readers   = 6
	)
	s := open(t)
	other, err := s.Share("")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	handles := []*Store{s, other}

	var wg, readersWG sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 100)
	report := func(format string, args ...any) {
		select {
		case errs <- fmt.Errorf(format, args...):
		default:
		}
	}

	// Writers: writer k owns sessions w<k>-<j> of user u<k> and rewrites
	// them round after round, each time with the round number. Upserts go
	// one by one and in batches, through both handles.
	for k := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := handles[k%2]
			for r := 1; r <= rounds; r++ {
				batch := []*Session{}
				for j := range perWriter {
					sess := &Session{SessionID: fmt.Sprintf("w%d-%d", k, j), UserID: fmt.Sprintf("u%d", k), AgentID: "agent"}
					if err := sess.SetName(fmt.Sprintf("round %d", r)); err != nil {
						report("SetName: %v", err)
						return
					}
					if err := sess.SetField("round", r); err != nil {
						report("SetField: %v", err)
						return
					}
					if j%2 == 0 {
						batch = append(batch, sess)
						continue
					}
					if _, err := h.Upsert(sess); err != nil {
						report("writer %d: Upsert: %v", k, err)
						return
					}
				}
				if _, err := h.UpsertMany(batch); err != nil {
					report("writer %d: UpsertMany: %v", k, err)
					return
				}
			}
		}()
	}

	// Readers: a session is absent (not written yet) or well-formed, and the
	// round a reader sees for a session never goes backwards.
	for i := range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			seen := map[string]int{}
			h := handles[i%2]
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				k, j := rng.IntN(writers), rng.IntN(perWriter)
				id, user := fmt.Sprintf("w%d-%d", k, j), fmt.Sprintf("u%d", k)
				switch n % 4 {
				case 0, 1:
					sess, err := h.Read(id, user)
					if errors.Is(err, ErrNotFound) {
						if seen[id] > 0 {
							report("reader: %s vanished after round %d", id, seen[id])
						}
						continue
					}
					if err != nil {
						report("reader: Read(%s): %v", id, err)
						continue
					}
					var r int
					if ok, err := sess.Field("round", &r); !ok || err != nil || sess.SessionID != id || sess.UserID != user ||
						sess.Name() != fmt.Sprintf("round %d", r) {
						report("reader: inconsistent session %+v (round %d)", sess, r)
						continue
					}
					if r < seen[id] {
						report("reader: %s went back from round %d to %d", id, seen[id], r)
					}
					seen[id] = r
				case 2:
					recent, err := h.GetRecentSessions(Filter{UserID: user}, 5)
					if err != nil || len(recent) > 5 {
						report("reader: GetRecentSessions: %d sessions, %v", len(recent), err)
						continue
					}
					for _, r := range recent {
						if r.UserID != user {
							report("reader: GetRecentSessions(%s) returned user %s", user, r.UserID)
						}
					}
				case 3:
					q, err := h.Query(Query{UserID: user, SessionName: "ROUND", Limit: 3})
					if err != nil || q.Total > perWriter || len(q.Sessions) > 3 {
						report("reader: Query: total %v, %v", q, err)
					}
				}
			}
		}()
	}

	// A deleter works on its own sessions: each one it inserts it must be
	// able to delete exactly once.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 300 {
			id := fmt.Sprintf("tmp-%d", i)
			if _, err := other.UpsertJSON([]byte(`{"session_id":"` + id + `"}`)); err != nil {
				report("deleter: upsert: %v", err)
				return
			}
			if i%3 == 0 {
				if n, err := s.DeleteSessions([]string{id, "tmp-none"}); n != 1 || err != nil {
					report("deleter: DeleteSessions(%s) = %d, %v", id, n, err)
				}
			} else if ok, err := s.DeleteSession(id); !ok || err != nil {
				report("deleter: DeleteSession(%s) = %v, %v", id, ok, err)
			}
		}
	}()

	wg.Wait()
	close(done)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	all, err := s.GetAllSessions(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*perWriter {
		t.Fatalf("%d sessions at the end, want %d", len(all), writers*perWriter)
	}
	for _, sess := range all {
		var r int
		if ok, _ := sess.Field("round", &r); !ok || r != rounds || sess.Name() != fmt.Sprintf("round %d", rounds) {
			t.Errorf("session %s ended at round %d (%q), want %d", sess.SessionID, r, sess.Name(), rounds)
		}
	}
	for k := range writers {
		q, err := other.Query(Query{UserID: fmt.Sprintf("u%d", k), Limit: 1})
		if err != nil || q.Total != perWriter {
			t.Errorf("user u%d: total %v, %v; want %d", k, q, err, perWriter)
		}
	}
	st, err := s.Stats()
	if err != nil || st.Sessions != writers*perWriter {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

// TestCloseWhileInUse closes a store, from several goroutines at once, while
// others keep calling it. No call may crash, every error must be ErrClosed,
// and every call that starts after a Close has returned must fail.
func TestCloseWhileInUse(t *testing.T) {
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.UpsertJSON(fmt.Appendf(nil, `{"session_id":"s%d","user_id":"u%d"}`, i, i%7)); err != nil {
			t.Fatal(err)
		}
	}
	var closed atomic.Bool
	var succeeded, refused atomic.Int64
	var wg sync.WaitGroup
	ops := []func(int) error{
		func(i int) error { _, err := s.ReadJSON(fmt.Sprintf("s%d", i%100), ""); return err },
		func(i int) error { // as its owner: another user_id, or none, would be ErrPermissionDenied
			_, err := s.UpsertJSON(fmt.Appendf(nil, `{"session_id":"s%d","user_id":"u%d"}`, i%100, i%100%7))
			return err
		},
		func(i int) error { _, err := s.GetRecentSessions(Filter{UserID: "u3"}, 3); return err },
		func(i int) error { _, err := s.Query(Query{Limit: 5}); return err },
		func(i int) error { _, err := s.Export(); return err },
		func(i int) error { _, err := s.RenameSession(fmt.Sprintf("s%d", i%100), "n"); return err },
		func(i int) error {
			h, err := s.Share(ModeTeam)
			if err == nil {
				h.Close()
			}
			return err
		},
	}
	for g := range 14 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				wasClosed := closed.Load()
				err := ops[(g+i)%len(ops)](i)
				switch {
				case err == nil && wasClosed:
					t.Errorf("a call that started after Close succeeded")
					return
				case err == nil:
					succeeded.Add(1)
				case errors.Is(err, ErrClosed):
					refused.Add(1)
					if i%5 == 4 { // keep going a little after the close
						return
					}
				default:
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	var closers sync.WaitGroup
	for range 3 {
		closers.Add(1)
		go func() {
			defer closers.Done()
			if err := s.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
			closed.Store(true)
		}()
	}
	closers.Wait()
	wg.Wait()
	if succeeded.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("%d calls succeeded and %d were refused; want some of each", succeeded.Load(), refused.Load())
	}
}

// TestCleanup checks the GC safety net: a store dropped without Close is
// closed, data shared with a live handle survives, and a closed store's
// cleanup is cancelled.
func TestCleanup(t *testing.T) {
	gcUntil := func(cond func() bool) bool {
		for range 100 {
			if cond() {
				return true
			}
			runtime.GC()
			time.Sleep(5 * time.Millisecond)
		}
		return cond()
	}

	before := cleanupsRun.Load()
	for range 10 {
		s, err := Open()
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	gcUntil(func() bool { return false }) // give cancelled cleanups every chance to run
	if n := cleanupsRun.Load() - before; n != 0 {
		t.Fatalf("%d cleanups ran for stores that were closed", n)
	}

	survivor := func() *Store {
		s, err := Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertJSON([]byte(`{"session_id":"kept"}`)); err != nil {
			t.Fatal(err)
		}
		shared, err := s.Share("")
		if err != nil {
			t.Fatal(err)
		}
		return shared // s itself is dropped without Close
	}()
	defer survivor.Close()
	if !gcUntil(func() bool { return cleanupsRun.Load() > before }) {
		t.Fatal("the cleanup of an unreachable store never ran")
	}
	if _, err := survivor.Read("kept", ""); err != nil {
		t.Fatalf("data shared with a live handle was lost: %v", err)
	}
}
