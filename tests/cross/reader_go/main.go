// Command reader_go is the Go reader of the cross-language test (tests/cross/run.sh): it reads, through
// the Go binding, the Redis store that the C writer (tests/cross/writer.c) fills at the same time.
//
// It announces itself with the session "ready-go", then reads "shared" over and over until "done"
// exists, checking that what it sees only moves forward (version and runs never decrease) and is always
// whole (the runs are exactly {"i":0}..{"i":k-1}). Then it checks every session the writer wrote, the
// listing of one user, and the final "shared", writes "from-go" with the number of distinct versions
// of "shared" it saw, and prints a one-line summary. Any failure exits non-zero.
//
// Usage: reader_go REDIS_URL NAMESPACE
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

const (
	sessions = 200
	users    = 7
	runs     = 100
	// How long the reader waits for the writer's "done"; run.sh's own timeout is longer.
	waitDone = 60 * time.Second
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: reader_go REDIS_URL NAMESPACE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "reader-go: FAIL: %v\n", err)
		os.Exit(1)
	}
}

func run(url, namespace string) error {
	store, err := sessionstore.Open(sessionstore.WithRedis(url), sessionstore.WithNamespace(namespace))
	if err != nil {
		return err
	}
	defer store.Close()

	if _, err := store.Upsert(&sessionstore.Session{SessionID: "ready-go", AgentID: "a1"}); err != nil {
		return fmt.Errorf("upsert ready-go: %w", err)
	}
	f, err := follow(store)
	if err != nil {
		return err
	}
	if err := verify(store); err != nil {
		return err
	}
	data := fmt.Appendf(nil, `{"seen_versions":%d}`, f.versions)
	if _, err := store.Upsert(&sessionstore.Session{SessionID: "from-go", AgentID: "a1", SessionData: data}); err != nil {
		return fmt.Errorf("upsert from-go: %w", err)
	}
	fmt.Printf("reader-go: ok seen_versions=%d reads=%d runs_seen=%d..%d; %d sessions, the u-3 listing and %d runs exact\n",
		f.versions, f.reads, f.minRuns, f.maxRuns, sessions, runs)
	return nil
}

// shared is what the reader decodes of the session "shared".
type shared struct {
	SessionID string `json:"session_id"`
	Version   uint64 `json:"version"`
	Memory    *struct {
		Runs []map[string]int `json:"runs"`
	} `json:"memory"`
}

// readShared reads "shared" and checks that it is whole: valid JSON, its own id, a version, and runs
// that are exactly {"i":0}..{"i":k-1}, in order (appends land whole and in order, or not at all). It
// returns (nil, nil) while the writer has not created it.
func readShared(store *sessionstore.Store) (*shared, error) {
	raw, err := store.ReadJSON("shared", "")
	if errors.Is(err, sessionstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read shared: %w", err)
	}
	var s shared
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("shared is not a whole session (%v): %s", err, raw)
	}
	if s.SessionID != "shared" || s.Version == 0 {
		return nil, fmt.Errorf("shared: bad session_id or version: %s", raw)
	}
	if s.Memory != nil {
		for i, r := range s.Memory.Runs {
			if len(r) != 1 || r["i"] != i {
				return nil, fmt.Errorf("shared: run %d is %v, want {\"i\":%d}: %s", i, r, i, raw)
			}
		}
	}
	return &s, nil
}

func (s *shared) runs() int {
	if s.Memory == nil {
		return 0
	}
	return len(s.Memory.Runs)
}

// followed is what follow saw of "shared".
type followed struct {
	versions, reads  int
	minRuns, maxRuns int
}

// follow reads "shared" as fast as it can until "done" exists, and checks that no read goes back in
// time: its version and its number of runs never decrease, and one version always has the same runs.
func follow(store *sessionstore.Store) (followed, error) {
	f := followed{minRuns: -1}
	var last *shared
	deadline := time.Now().Add(waitDone)
	for {
		// "done" is looked at before "shared": once it exists, the read of "shared" that follows sees
		// the writer's last append too.
		_, err := store.ReadJSON("done", "")
		done := err == nil
		if err != nil && !errors.Is(err, sessionstore.ErrNotFound) {
			return f, fmt.Errorf("read done: %w", err)
		}
		s, err := readShared(store)
		if err != nil {
			return f, err
		}
		f.reads++
		switch {
		case s == nil && last != nil:
			return f, fmt.Errorf("shared disappeared after version %d", last.Version)
		case s == nil:
		case last != nil && s.Version < last.Version:
			return f, fmt.Errorf("shared went back from version %d to %d", last.Version, s.Version)
		case last != nil && s.runs() < last.runs():
			return f, fmt.Errorf("shared went back from %d runs to %d", last.runs(), s.runs())
		case last != nil && s.Version == last.Version && s.runs() != last.runs():
			return f, fmt.Errorf("shared version %d was seen with %d and with %d runs", s.Version, last.runs(), s.runs())
		default:
			if last == nil || s.Version > last.Version {
				f.versions++
			}
			if f.minRuns < 0 {
				f.minRuns = s.runs()
			}
			f.maxRuns = s.runs()
			last = s
		}
		if done {
			return f, nil
		}
		if time.Now().After(deadline) {
			return f, fmt.Errorf("\"done\" did not appear within %v (see the writer's output)", waitDone)
		}
	}
}

// verify checks the writer's final state: every c-* session exactly, the listing of user u-3, and the
// 100 runs of "shared".
func verify(store *sessionstore.Store) error {
	for i := range sessions {
		id := "c-" + strconv.Itoa(i)
		raw, err := store.ReadJSON(id, "")
		if err != nil {
			return fmt.Errorf("read %s: %w", id, err)
		}
		var s sessionstore.Session
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%s: %w: %s", id, err, raw)
		}
		if s.SessionID != id || s.SessionType != sessionstore.ModeAgent || s.UserID != "u-"+strconv.Itoa(i%users) ||
			s.AgentID != "a1" || s.Version == 0 {
			return fmt.Errorf("%s: unexpected fields: %s", id, raw)
		}
		// UseNumber: n must be the integer the writer wrote, not a float near it.
		dec := json.NewDecoder(bytes.NewReader(s.SessionData))
		dec.UseNumber()
		var data map[string]any
		if err := dec.Decode(&data); err != nil {
			return fmt.Errorf("%s: session_data %s: %w", id, s.SessionData, err)
		}
		if len(data) != 1 || data["n"] != json.Number(strconv.Itoa(i)) {
			return fmt.Errorf("%s: session_data is %s, want {\"n\":%d}", id, s.SessionData, i)
		}
	}

	var want []string
	for i := 3; i < sessions; i += users {
		want = append(want, "c-"+strconv.Itoa(i))
	}
	ids, err := store.GetAllSessionIDs(sessionstore.Filter{UserID: "u-3"})
	if err != nil {
		return fmt.Errorf("ids of u-3: %w", err)
	}
	if !slices.Equal(ids, want) {
		return fmt.Errorf("ids of u-3 are %q, want %q", ids, want)
	}

	s, err := readShared(store)
	if err != nil {
		return err
	}
	if s == nil {
		return errors.New("shared is gone at the end")
	}
	if s.runs() != runs {
		return fmt.Errorf("shared has %d runs at the end, want %d", s.runs(), runs)
	}
	return nil
}
