// Command quickstart stores a session, reads it back and lists a user's
// recent sessions.
package main

import (
	"errors"
	"fmt"
	"log"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func main() {
	store, err := sessionstore.Open(sessionstore.WithMode(sessionstore.ModeAgent))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	sess := &sessionstore.Session{SessionID: "s1", UserID: "ava", AgentID: "helper"}
	if err := sess.SetName("First steps"); err != nil {
		log.Fatal(err)
	}
	// Fields the Session type does not model are kept as raw JSON.
	if err := sess.SetField("memory", map[string]any{"runs": []string{"hello"}}); err != nil {
		log.Fatal(err)
	}
	if _, err := store.Upsert(sess); err != nil {
		log.Fatal(err)
	}

	got, err := store.Read("s1", "ava")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %s (%s session %q), memory %s\n", got.SessionID, got.SessionType, got.Name(), got.Extra["memory"])

	recent, err := store.GetRecentSessions(sessionstore.Filter{UserID: "ava"}, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("recent sessions of ava:", len(recent))

	if _, err := store.Read("s1", "bob"); errors.Is(err, sessionstore.ErrNotFound) {
		fmt.Println("bob cannot read ava's session:", err)
	}
}
