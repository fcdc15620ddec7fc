// Command workflow_sessions mirrors Agno's cookbook example of a workflow
// with in-memory storage: each run of a "blog post generator" workflow is
// appended to its session's "runs", and sessions are then listed, paged,
// searched by time and cleaned up.
package main

import (
	"errors"
	"fmt"
	"log"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

// WorkflowRun is one entry of a workflow_v2 session's "runs".
type WorkflowRun struct {
	RunID  string   `json:"run_id"`
	Topic  string   `json:"topic"`
	Steps  []string `json:"steps"`
	Status string   `json:"status"`
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// runWorkflow records one workflow run in its session, creating the session
// on the first run.
func runWorkflow(store *sessionstore.Store, sessionID, userID, topic string, createdAt int64) {
	sess, err := store.Read(sessionID, userID)
	if err != nil && !errors.Is(err, sessionstore.ErrNotFound) {
		log.Fatal(err)
	}
	if sess == nil {
		sess = &sessionstore.Session{SessionID: sessionID, UserID: userID, WorkflowID: "blog-post-generator", CreatedAt: createdAt}
		if err := sess.SetName("Blog: " + topic); err != nil {
			log.Fatal(err)
		}
		if err := sess.SetField("workflow_name", "Blog Post Generator"); err != nil {
			log.Fatal(err)
		}
	}
	var runs []WorkflowRun
	if _, err := sess.Field("runs", &runs); err != nil {
		log.Fatal(err)
	}
	runs = append(runs, WorkflowRun{
		RunID: fmt.Sprintf("%s-run-%d", sessionID, len(runs)+1), Topic: topic,
		Steps: []string{"research", "outline", "write"}, Status: "completed",
	})
	if err := sess.SetField("runs", runs); err != nil {
		log.Fatal(err)
	}
	must(store.Upsert(sess))
	fmt.Printf("workflow session %s: run %d on %q completed\n", sessionID, len(runs), topic)
}

func main() {
	store := must(sessionstore.Open(sessionstore.WithMode(sessionstore.ModeWorkflowV2)))
	defer store.Close()

	topics := []string{"Rust FFI", "Go cgo", "Agent memory", "Vector search", "Session stores", "Prompt caching"}
	for i, topic := range topics {
		// Explicit creation times (one hour apart) keep the output stable.
		runWorkflow(store, fmt.Sprintf("wf-%d", i+1), "ava", topic, int64(1_700_000_000+3600*i))
	}
	runWorkflow(store, "wf-3", "ava", "Agent memory, part 2", 0) // a second run of an existing session

	// Page through the sessions, oldest first, two at a time.
	for page := 0; ; page++ {
		res := must(store.Query(sessionstore.Query{
			UserID: "ava", EntityID: "blog-post-generator", SortOrder: sessionstore.Asc, Limit: 2, Offset: 2 * page,
		}))
		if len(res.Sessions) == 0 {
			break
		}
		fmt.Printf("page %d of %d sessions:", page+1, res.Total)
		for _, s := range res.Sessions {
			fmt.Printf(" %s", s.SessionID)
		}
		fmt.Println()
	}

	// Sessions created in the first three hours.
	early := must(store.Query(sessionstore.Query{CreatedBefore: 1_700_000_000 + 2*3600, SortBy: sessionstore.SortBySessionID, SortOrder: sessionstore.Asc}))
	fmt.Printf("created in the first three hours: %d:", early.Total)
	for _, s := range early.Sessions {
		fmt.Printf(" %s", s.SessionID)
	}
	fmt.Println()

	// The session with two runs.
	var runs []WorkflowRun
	sess := must(store.Read("wf-3", ""))
	must(sess.Field("runs", &runs))
	fmt.Printf("wf-3 %q has %d runs, the last: %s\n", sess.Name(), len(runs), runs[len(runs)-1].RunID)

	// Clean up the early sessions in one atomic call.
	ids := make([]string, 0, len(early.Sessions))
	for _, s := range early.Sessions {
		ids = append(ids, s.SessionID)
	}
	fmt.Println("deleted:", must(store.DeleteSessions(ids)))
	fmt.Println("remaining:", must(store.GetAllSessionIDs(sessionstore.Filter{})))
}
