// Command concurrent_append has several agents, each a goroutine, record
// their runs in one shared team session at the same time. Each run is added
// with AppendRuns, which sends only the new run and appends it atomically to
// the session's memory.runs, so no agent's run overwrites another's. At the
// end the program counts the runs, checks that every agent's runs are all
// there and in the agent's order, and exits with status 1 if any was lost.
//
// For comparison it then does the same with the naive way, a plain Read,
// append in Go, Upsert, which loses the runs other agents stored in between
// (how many depends on the scheduler), and with the compare-and-set way,
// UpsertIf on the version read plus a retry on ErrVersionMismatch, which
// loses none but has to retry.
//
// The model calls are replaced by canned replies.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

const (
	agents       = 6  // goroutines writing at once
	runsPerAgent = 50 // runs each records
	userID       = "ava"
)

// Run is one exchange of an agent, as kept in the session's memory.runs.
type Run struct {
	Agent    string `json:"agent"`
	N        int    `json:"n"` // the agent's own count, 0, 1, 2, ...
	Input    string `json:"input"`
	Response string `json:"response"`
}

// Memory is the session's "memory" field.
type Memory struct {
	Runs []Run `json:"runs"`
}

func agentName(k int) string { return fmt.Sprintf("agent-%d", k) }

func newRun(k, n int) Run {
	return Run{Agent: agentName(k), N: n, Input: fmt.Sprintf("task %d", n), Response: fmt.Sprintf("done by %s", agentName(k))}
}

// runAgents starts the agents together, each calling record for its runs in
// order, and waits for them.
func runAgents(record func(k, n int) error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for k := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for n := range runsPerAgent {
				if err := record(k, n); err != nil {
					log.Fatalf("%s, run %d: %v", agentName(k), n, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
}

// check reports how many runs the session holds and whether each agent's
// runs are all there, in its order.
func check(store *sessionstore.Store, sessionID string) (int, error) {
	sess, err := store.Read(sessionID, userID)
	if err != nil {
		return 0, err
	}
	var mem Memory
	if _, err := sess.Field("memory", &mem); err != nil {
		return 0, err
	}
	next := map[string]int{}
	for i, r := range mem.Runs {
		if r.N != next[r.Agent] {
			return len(mem.Runs), fmt.Errorf("run %d is %s's run %d, expected its run %d", i, r.Agent, r.N, next[r.Agent])
		}
		next[r.Agent]++
	}
	for k := range agents {
		if got := next[agentName(k)]; got != runsPerAgent {
			return len(mem.Runs), fmt.Errorf("%s has %d runs in the session, it recorded %d", agentName(k), got, runsPerAgent)
		}
	}
	return len(mem.Runs), nil
}

func newSession(store *sessionstore.Store, id string) {
	sess := &sessionstore.Session{SessionID: id, UserID: userID, TeamID: "research-team"}
	if err := sess.SetName("Research, all hands"); err != nil {
		log.Fatal(err)
	}
	if _, err := store.Upsert(sess); err != nil {
		log.Fatal(err)
	}
}

func main() {
	store, err := sessionstore.Open(sessionstore.WithMode(sessionstore.ModeTeam))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	want := agents * runsPerAgent

	// AppendRuns: one atomic append per run, no retry.
	newSession(store, "team-chat")
	runAgents(func(k, n int) error {
		_, err := store.AppendRuns("team-chat", []any{newRun(k, n)}, sessionstore.ForUser(userID))
		return err
	})
	got, err := check(store, "team-chat")
	fmt.Printf("AppendRuns: %d agents x %d runs = %d expected, %d in the session\n", agents, runsPerAgent, want, got)
	if err != nil {
		fmt.Println("FAIL: runs were lost:", err)
		os.Exit(1)
	}
	fmt.Println("no run was lost, every agent's runs are in its order")

	// Compare-and-set: Read, append in Go, UpsertIf on the version read;
	// retry when another agent wrote in between.
	newSession(store, "team-chat-cas")
	var retries atomic.Int64
	runAgents(func(k, n int) error {
		for {
			sess, err := store.Read("team-chat-cas", userID)
			if err != nil {
				return err
			}
			var mem Memory
			if _, err := sess.Field("memory", &mem); err != nil {
				return err
			}
			mem.Runs = append(mem.Runs, newRun(k, n))
			if err := sess.SetField("memory", mem); err != nil {
				return err
			}
			_, err = store.UpsertIf(sess, sess.Version)
			if !errors.Is(err, sessionstore.ErrVersionMismatch) {
				return err
			}
			retries.Add(1)
		}
	})
	got, err = check(store, "team-chat-cas")
	fmt.Printf("UpsertIf with retries: %d in the session, %d retries\n", got, retries.Load())
	if err != nil {
		fmt.Println("FAIL: runs were lost:", err)
		os.Exit(1)
	}

	// The naive read-modify-write, for comparison only: its losses are
	// expected, and depend on how the goroutines interleave.
	newSession(store, "team-chat-naive")
	runAgents(func(k, n int) error {
		sess, err := store.Read("team-chat-naive", userID)
		if err != nil {
			return err
		}
		var mem Memory
		if _, err := sess.Field("memory", &mem); err != nil {
			return err
		}
		mem.Runs = append(mem.Runs, newRun(k, n))
		if err := sess.SetField("memory", mem); err != nil {
			return err
		}
		_, err = store.Upsert(sess)
		return err
	})
	got, _ = check(store, "team-chat-naive")
	fmt.Printf("plain Read + Upsert (for comparison): %d of %d runs kept\n", got, want)
}
