// Command consumer is what tests/consumers/go.sh builds in a module outside
// the repository, against an installed sessionstore found through pkg-config:
// it opens a store, upserts a session, reads it back, checks that the linked
// library's version is the one given as its argument, and that a closed store
// reports the binding-side closed status.
package main

import (
	"errors"
	"fmt"
	"os"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "consumer: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: consumer VERSION")
	}
	if v := sessionstore.Version(); v != os.Args[1] {
		fail("Version() = %q, want %q", v, os.Args[1])
	}
	store, err := sessionstore.Open(sessionstore.WithMode(sessionstore.ModeAgent))
	if err != nil {
		fail("open: %v", err)
	}
	sess := &sessionstore.Session{SessionID: "s1", UserID: "ava", AgentID: "helper"}
	if err := sess.SetName("installed"); err != nil {
		fail("set name: %v", err)
	}
	if _, err := store.Upsert(sess); err != nil {
		fail("upsert: %v", err)
	}
	got, err := store.Read("s1", "ava")
	if err != nil {
		fail("read: %v", err)
	}
	if got.SessionID != "s1" || got.SessionType != sessionstore.ModeAgent || got.Name() != "installed" || got.CreatedAt == 0 {
		fail("read back %+v", got)
	}
	if _, err := store.Read("s1", "bob"); !errors.Is(err, sessionstore.ErrNotFound) {
		fail("read as another user: %v, want ErrNotFound", err)
	}
	store.Close()
	_, err = store.Read("s1", "ava")
	var e *sessionstore.Error
	if !errors.Is(err, sessionstore.ErrClosed) || !errors.As(err, &e) || e.Status != sessionstore.StatusClosed {
		fail("read after Close: %v, want ErrClosed with StatusClosed", err)
	}
	fmt.Printf("sessionstore %s: upsert, read, ErrNotFound, ErrClosed (status %d, %q) ok\n",
		sessionstore.Version(), e.Status, e.Status)
}
