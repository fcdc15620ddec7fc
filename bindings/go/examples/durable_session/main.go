// Command durable_session continues one conversation across runs of the
// program: the agent's session lives in a durable store, in the directory
// given as the first argument (default: sessionstore-durable-session in the
// system's temporary directory). Each run opens the store, which loads what
// earlier runs wrote, appends one exchange to the session's memory, saves it
// and exits; the next run continues from there.
//
//	go run ./examples/durable_session /tmp/chat   # ... runs so far: 1
//	go run ./examples/durable_session /tmp/chat   # ... runs so far: 2
//
// The model calls are replaced by canned replies, as in agent_session.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

// Run is one exchange, as kept in the session's "memory" field.
type Run struct {
	Input    string `json:"input"`
	Response string `json:"response"`
}

// Memory is the agent's "memory" field, kept verbatim by the store.
type Memory struct {
	Runs []Run `json:"runs"`
}

// The conversation, one exchange per run of the program (then it repeats).
var script = []Run{
	{"How many people live in Canada?", "About 41 million."},
	{"What is their national anthem called?", "\"O Canada\"."},
	{"Who wrote its music?", "Calixa Lavallée, in 1880."},
}

func main() {
	dir := filepath.Join(os.TempDir(), "sessionstore-durable-session")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	// Durable: every upsert is in the journal, fsynced, before it returns.
	storage, err := sessionstore.Open(sessionstore.WithPath(dir), sessionstore.WithSync(sessionstore.SyncAlways))
	if errors.Is(err, sessionstore.ErrLocked) {
		log.Fatalf("another program has %s open: %v", dir, err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer storage.Close() // fsyncs and releases the directory for the next run

	const sessionID, userID = "canada-chat", "ava"
	sess, err := storage.Read(sessionID, userID)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		fmt.Printf("new session %q in %s\n", sessionID, dir)
		sess = &sessionstore.Session{SessionID: sessionID, UserID: userID, AgentID: "geo-agent"}
		if err := sess.SetName("Questions about Canada"); err != nil {
			log.Fatal(err)
		}
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("continuing session %q from %s\n", sessionID, dir)
	}
	var mem Memory
	if _, err := sess.Field("memory", &mem); err != nil {
		log.Fatal(err)
	}
	run := script[len(mem.Runs)%len(script)]
	fmt.Printf("ava asks: %s\n  (history: %d earlier runs) answer: %s\n", run.Input, len(mem.Runs), run.Response)
	mem.Runs = append(mem.Runs, run)
	if err := sess.SetField("memory", mem); err != nil {
		log.Fatal(err)
	}
	if _, err := storage.Upsert(sess); err != nil {
		log.Fatal(err)
	}
	// Close cannot report a failed fsync; Sync can (a no-op here under
	// SyncAlways, where the upsert was already on disk).
	if err := storage.Sync(); err != nil {
		log.Fatal(err)
	}
	stats, err := storage.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("journal: %d bytes, sync %s\n", stats.Durability.JournalBytes, stats.Durability.Sync)
	fmt.Printf("runs so far: %d\n", len(mem.Runs))
}
