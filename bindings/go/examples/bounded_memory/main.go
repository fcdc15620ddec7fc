// Command bounded_memory keeps a store's memory bounded, as a long-running
// agent server must: sessions nobody has written for a while expire, the
// store holds at most a few sessions and evicts the least recently written
// one to make room, and each user has a quota that a store opened with
// WhenFullRefuse enforces by refusing the write (ErrFull) instead.
//
// The first part waits for an idle session to expire (about 2 s). The program
// checks what it shows and exits with status 1 when the store does not
// behave as described.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func main() {
	idleExpiry()
	eviction()
	quota()
}

// idleExpiry: a session not written for a second is gone.
func idleExpiry() {
	store, err := sessionstore.Open(sessionstore.WithIdleExpiry(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if _, err := store.Upsert(&sessionstore.Session{SessionID: "chat", UserID: "ava"}); err != nil {
		log.Fatal(err)
	}
	if _, err := store.Read("chat", "ava"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("idle expiry 1s: read chat right after writing it: found")

	time.Sleep(2200 * time.Millisecond)
	_, err = store.Read("chat", "ava")
	if !errors.Is(err, sessionstore.ErrNotFound) {
		fail("read chat after 2.2s: %v, want ErrNotFound", err)
	}
	fmt.Println("idle expiry 1s: read chat 2.2s later:", err)
	printBounds(store)
}

// eviction: at most 3 sessions; the least recently written one makes room.
func eviction() {
	store, err := sessionstore.Open(sessionstore.WithMaxSessions(3))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	for _, id := range []string{"a", "b", "c", "a", "d"} { // a is written again before d
		if _, err := store.Upsert(&sessionstore.Session{SessionID: id}); err != nil {
			log.Fatal(err)
		}
	}
	ids, err := store.GetAllSessionIDs(sessionstore.Filter{})
	if err != nil {
		log.Fatal(err)
	}
	slices.Sort(ids)
	fmt.Println("\nmax 3 sessions: wrote a, b, c, a, d; the store holds", ids)
	if !slices.Equal(ids, []string{"a", "c", "d"}) {
		fail("sessions %v, want [a c d]", ids)
	}
	res, err := store.Changes(0, 100, sessionstore.IDsOnly())
	if err != nil {
		log.Fatal(err)
	}
	evicted := false
	for _, c := range res.Changes {
		fmt.Printf("  change %d: %-6s %s\n", c.Seq, c.Op, c.SessionID)
		evicted = evicted || c.Op == sessionstore.ChangeEvict && c.SessionID == "b"
	}
	if !evicted {
		fail("the feed has no eviction of b")
	}
	printBounds(store)
}

// quota: one session per user, refused beyond it.
func quota() {
	store, err := sessionstore.Open(sessionstore.WithUserMaxSessions(1),
		sessionstore.WithWhenFull(sessionstore.WhenFullRefuse))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if _, err := store.Upsert(&sessionstore.Session{SessionID: "ava-1", UserID: "ava"}); err != nil {
		log.Fatal(err)
	}
	_, err = store.Upsert(&sessionstore.Session{SessionID: "ava-2", UserID: "ava"})
	if !errors.Is(err, sessionstore.ErrFull) {
		fail("a second session of ava: %v, want ErrFull", err)
	}
	fmt.Println("\none session per user, refuse: a second session of ava:", err)
	if _, err := store.Upsert(&sessionstore.Session{SessionID: "bob-1", UserID: "bob"}); err != nil {
		fail("bob's first session: %v", err)
	}
	fmt.Println("one session per user, refuse: bob's first session: stored")
	printBounds(store)
}

func printBounds(store *sessionstore.Store) {
	st, err := store.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("  stats bounds: %+v\n", st.Bounds)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bounded_memory: "+format+"\n", args...)
	os.Exit(1)
}
