package sessionstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

func Example() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if _, err := store.Upsert(&sessionstore.Session{SessionID: "s1", UserID: "ava", AgentID: "helper"}); err != nil {
		log.Fatal(err)
	}
	sess, err := store.Read("s1", "ava")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.SessionID, sess.SessionType, sess.UserID, sess.AgentID, sess.CreatedAt > 0)
	// Output: s1 agent ava helper true
}

func ExampleOpen() {
	store, err := sessionstore.Open(
		sessionstore.WithMode(sessionstore.ModeWorkflowV2),
		sessionstore.WithMaxSessionBytes(1<<20),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	fmt.Println(store.Mode())

	_, err = sessionstore.Open(sessionstore.WithMode("robot"))
	fmt.Println(errors.Is(err, sessionstore.ErrInvalidArgument))
	// Output:
	// workflow_v2
	// true
}

// Unknown errors are reported, never swallowed: every error of the library
// matches one sentinel with errors.Is and carries the library's message.
func Example_errors() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	_, err = store.UpsertJSON([]byte(`{"user_id":"ava"}`))
	fmt.Println(errors.Is(err, sessionstore.ErrInvalidSession))
	var e *sessionstore.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, e.Status)
	}

	_, err = store.Read("nope", "")
	fmt.Println(errors.Is(err, sessionstore.ErrNotFound))

	store.Close()
	_, err = store.Read("nope", "")
	fmt.Println(errors.Is(err, sessionstore.ErrClosed))
	// Output:
	// true
	// upsert invalid session
	// true
	// true
}

func ExampleStore_Share() {
	agents, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer agents.Close()
	teams, err := agents.Share(sessionstore.ModeTeam)
	if err != nil {
		log.Fatal(err)
	}
	defer teams.Close()

	if _, err := agents.UpsertJSON([]byte(`{"session_id":"a1"}`)); err != nil {
		log.Fatal(err)
	}
	if _, err := teams.UpsertJSON([]byte(`{"session_id":"t1"}`)); err != nil {
		log.Fatal(err)
	}
	agentIDs, _ := agents.GetAllSessionIDs(sessionstore.Filter{})
	teamIDs, _ := teams.GetAllSessionIDs(sessionstore.Filter{})
	stats, _ := teams.Stats()
	fmt.Println(agentIDs, teamIDs, stats.Sessions)
	// Output: [a1] [t1] 2
}

func ExampleStore_GetRecentSessions() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for i, id := range []string{"monday", "tuesday", "wednesday"} {
		s := &sessionstore.Session{SessionID: id, UserID: "ava", CreatedAt: int64(1000 + i)}
		if _, err := store.Upsert(s); err != nil {
			log.Fatal(err)
		}
	}
	recent, err := store.GetRecentSessions(sessionstore.Filter{UserID: "ava"}, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range recent {
		fmt.Println(s.SessionID)
	}
	// Output:
	// wednesday
	// tuesday
}

func ExampleStore_Query() {
	store, err := sessionstore.Open(sessionstore.WithMode(sessionstore.ModeTeam))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for i, name := range []string{"Weekly report", "Lisbon trip", "Monthly REPORT", "Budget"} {
		s := &sessionstore.Session{SessionID: fmt.Sprintf("t%d", i), TeamID: "office", CreatedAt: int64(100 * (i + 1))}
		if err := s.SetName(name); err != nil {
			log.Fatal(err)
		}
		if _, err := store.Upsert(s); err != nil {
			log.Fatal(err)
		}
	}
	res, err := store.Query(sessionstore.Query{
		EntityID:    "office",
		SessionName: "report", // substring, compared after Unicode case folding
		SortBy:      sessionstore.SortByCreatedAt,
		SortOrder:   sessionstore.Asc,
		Limit:       1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Total, res.Sessions[0].Name())
	// Output: 2 Weekly report
}

// Reading into a buffer kept from call to call allocates nothing.
func ExampleStore_AppendReadJSON() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for _, id := range []string{"a", "b"} {
		if _, err := store.UpsertJSON([]byte(`{"session_id":"` + id + `","created_at":1,"updated_at":1}`)); err != nil {
			log.Fatal(err)
		}
	}
	buf := make([]byte, 0, 4096)
	for _, id := range []string{"a", "b"} {
		buf, err = store.AppendReadJSON(buf[:0], id, "")
		if err != nil {
			log.Fatal(err)
		}
		var s struct {
			ID   string `json:"session_id"`
			Type string `json:"session_type"`
		}
		if err := json.Unmarshal(buf, &s); err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID, s.Type)
	}
	// Output:
	// a agent
	// b agent
}

func ExampleStore_Export() {
	old, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := old.UpsertJSON([]byte(`{"session_id":"s1","created_at":1700000000,"memory":{"runs":["hi"]}}`)); err != nil {
		log.Fatal(err)
	}
	data, err := old.Export() // save it anywhere: a file, S3, Redis...
	old.Close()
	if err != nil {
		log.Fatal(err)
	}

	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	n, err := store.Import(data)
	if err != nil {
		log.Fatal(err)
	}
	s, err := store.Read("s1", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, s.CreatedAt, string(s.Extra["memory"]))
	// Output: 1 1700000000 {"runs":["hi"]}
}

// Fields the Session type does not model survive a read-modify-write.
func ExampleSession() {
	var s sessionstore.Session
	in := `{"session_id":"s1","agent_data":{"model":"gpt-4o"},"session_data":{"session_name":"Plans","n":12345678901234567890}}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		log.Fatal(err)
	}
	if err := s.SetName("Holiday plans"); err != nil {
		log.Fatal(err)
	}
	out, err := json.Marshal(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output: {"session_id":"s1","session_data":{"n":12345678901234567890,"session_name":"Holiday plans"},"agent_data":{"model":"gpt-4o"}}
}

// A session belongs to its user: an upsert may not give it to another, and
// renames and deletes made on behalf of a user (ForUser) touch only that
// user's sessions.
func ExampleForUser() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Upsert(&sessionstore.Session{SessionID: "s1", UserID: "ava"}); err != nil {
		log.Fatal(err)
	}

	_, err = store.Upsert(&sessionstore.Session{SessionID: "s1", UserID: "bob"})
	fmt.Println(errors.Is(err, sessionstore.ErrPermissionDenied))

	_, err = store.RenameSession("s1", "Mine now", sessionstore.ForUser("bob"))
	fmt.Println(errors.Is(err, sessionstore.ErrNotFound))
	removed, _ := store.DeleteSession("s1", sessionstore.ForUser("bob"))
	fmt.Println(removed)

	renamed, _ := store.RenameSession("s1", "Trip", sessionstore.ForUser("ava"))
	fmt.Println(renamed.Name())
	removed, _ = store.DeleteSession("s1", sessionstore.ForUser("ava"))
	fmt.Println(removed)
	// Output:
	// true
	// true
	// false
	// Trip
	// true
}

// A list view of every session of every type: the metadata projection leaves
// the transcripts out.
func ExampleMetadataFields() {
	agents, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer agents.Close()
	teams, err := agents.Share(sessionstore.ModeTeam)
	if err != nil {
		log.Fatal(err)
	}
	defer teams.Close()
	if _, err := agents.UpsertJSON([]byte(`{"session_id":"a1","user_id":"ava","created_at":1,"runs":["a long transcript"]}`)); err != nil {
		log.Fatal(err)
	}
	if _, err := teams.UpsertJSON([]byte(`{"session_id":"t1","user_id":"ava","created_at":2,"runs":["another one"]}`)); err != nil {
		log.Fatal(err)
	}
	res, err := agents.Query(sessionstore.Query{
		SessionTypes: []sessionstore.Mode{sessionstore.AnySessionType},
		UserID:       "ava",
		Fields:       sessionstore.MetadataFields(),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Sessions {
		fmt.Println(s.SessionID, s.SessionType, s.CreatedAt, s.Extra["runs"] == nil)
	}
	// Output:
	// t1 team 2 true
	// a1 agent 1 true
}

// Sessions written by Python's json.dumps may hold NaN or Infinity, which
// are not JSON; a store can take them as null.
func ExampleWithNonFiniteNumbers() {
	store, err := sessionstore.Open(sessionstore.WithNonFiniteNumbers(sessionstore.NonFiniteNull))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	out, err := store.UpsertJSON([]byte(`{"session_id":"s1","created_at":1,"updated_at":1,"metrics":{"time":NaN}}`))
	if err != nil {
		log.Fatal(err)
	}
	var s sessionstore.Session
	if err := json.Unmarshal(out, &s); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(s.Extra["metrics"]))

	strict, err := sessionstore.Open() // NonFiniteReject, the default
	if err != nil {
		log.Fatal(err)
	}
	defer strict.Close()
	_, err = strict.UpsertJSON([]byte(`{"session_id":"s1","metrics":{"time":NaN}}`))
	fmt.Println(errors.Is(err, sessionstore.ErrInvalidJSON))
	// Output:
	// {"time":null}
	// true
}

// A durable store keeps its sessions in a directory: a store opened on it
// later (here in the same program, usually after a restart) has them back.
func ExampleWithPath() {
	dir, err := os.MkdirTemp("", "sessionstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sessionstore.Open(sessionstore.WithPath(dir), sessionstore.WithSync(sessionstore.SyncAlways))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.UpsertJSON([]byte(`{"session_id":"s1","user_id":"ava","memory":{"runs":["hi"]}}`)); err != nil {
		log.Fatal(err)
	}
	// The directory belongs to this store until its last handle is closed.
	_, err = sessionstore.Open(sessionstore.WithPath(dir))
	fmt.Println(errors.Is(err, sessionstore.ErrLocked))
	store.Close() // fsyncs the journal and releases the directory

	reopened, err := sessionstore.Open(sessionstore.WithPath(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer reopened.Close()
	sess, err := reopened.Read("s1", "ava")
	if err != nil {
		log.Fatal(err)
	}
	stats, err := reopened.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sess.Extra["memory"]), stats.Durability.Sync, stats.Durability.Recovery.JournalRecords)
	// Output:
	// true
	// {"runs":["hi"]} always 1
}

// A read-modify-write that loses no concurrent writer's change: write with
// UpsertIf on the version read, and on ErrVersionMismatch read again and
// retry.
func ExampleStore_UpsertIf() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.UpsertIf(&sessionstore.Session{SessionID: "s1"}, 0); err != nil { // 0: create only
		log.Fatal(err)
	}
	_, err = store.UpsertIf(&sessionstore.Session{SessionID: "s1"}, 0)
	fmt.Println("create again:", errors.Is(err, sessionstore.ErrVersionMismatch))

	addTag := func(tag string) error {
		for {
			sess, err := store.Read("s1", "")
			if err != nil {
				return err
			}
			var tags []string
			if _, err := sess.Field("tags", &tags); err != nil {
				return err
			}
			if err := sess.SetField("tags", append(tags, tag)); err != nil {
				return err
			}
			_, err = store.UpsertIf(sess, sess.Version)
			if !errors.Is(err, sessionstore.ErrVersionMismatch) {
				return err // nil: stored
			}
			// another writer came first: read its version and retry
		}
	}
	for _, tag := range []string{"travel", "canada"} {
		if err := addTag(tag); err != nil {
			log.Fatal(err)
		}
	}
	sess, err := store.Read("s1", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sess.Extra["tags"]))
	// Output:
	// create again: true
	// ["travel","canada"]
}

// Agents add their runs to one session concurrently: AppendRuns sends only
// the new runs, and every call's runs land.
func ExampleStore_AppendRuns() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Upsert(&sessionstore.Session{SessionID: "chat", UserID: "ava"}); err != nil {
		log.Fatal(err)
	}
	type Run struct {
		Input    string `json:"input"`
		Response string `json:"response"`
	}
	sess, err := store.AppendRuns("chat", []any{Run{"Hi", "Hello!"}}, sessionstore.ForUser("ava"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sess.Extra["memory"]))
	out, err := store.AppendRunsJSON("chat", []byte(`[{"input":"Bye","response":"See you"}]`))
	if err != nil {
		log.Fatal(err)
	}
	var stored struct {
		Memory struct {
			Runs []Run `json:"runs"`
		} `json:"memory"`
	}
	if err := json.Unmarshal(out, &stored); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(stored.Memory.Runs), stored.Memory.Runs[1].Input)
	// Output:
	// {"runs":[{"input":"Hi","response":"Hello!"}]}
	// 2 Bye
}

// A follower of the store: an export with its change number, then the
// changes after it.
func ExampleStore_Changes() {
	store, err := sessionstore.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Upsert(&sessionstore.Session{SessionID: "a"}); err != nil {
		log.Fatal(err)
	}
	data, seq, err := store.ExportWithSeq()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(data) > 2, seq)

	if _, err := store.Upsert(&sessionstore.Session{SessionID: "b"}); err != nil {
		log.Fatal(err)
	}
	if _, err := store.DeleteSession("a"); err != nil {
		log.Fatal(err)
	}
	res, err := store.Changes(seq, 100)
	if errors.Is(err, sessionstore.ErrFeedTruncated) {
		log.Fatal("fell behind the feed: start again from ExportWithSeq")
	}
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Changes {
		fmt.Println(c.Seq, c.Op, c.SessionType, c.SessionID, len(c.Session) > 0)
	}
	fmt.Println("next", res.Next, "latest", res.Latest)
	// Keep the store's identity with the number: a store made anew numbers
	// from 1 again, and has another identity.
	st, err := store.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Store), res.Store == st.Feed.Store)
	// Output:
	// true 1
	// 2 upsert agent b true
	// 3 delete agent a false
	// next 3 latest 3
	// 32 true
}

// A store that holds at most two sessions evicts the least recently written
// one to make room; with WhenFullRefuse, a user over a quota is refused.
func ExampleWithMaxSessions() {
	store, err := sessionstore.Open(sessionstore.WithMaxSessions(2), sessionstore.WithIdleExpiry(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for _, id := range []string{"a", "b", "a", "c"} {
		if _, err := store.Upsert(&sessionstore.Session{SessionID: id}); err != nil {
			log.Fatal(err)
		}
	}
	_, err = store.Read("b", "")
	fmt.Println("b:", errors.Is(err, sessionstore.ErrNotFound))
	res, err := store.Changes(4, 10, sessionstore.IDsOnly())
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Changes {
		fmt.Println(c.Seq, c.Op, c.SessionID)
	}
	st, err := store.Stats()
	if err != nil {
		log.Fatal(err)
	}
	b := st.Bounds
	fmt.Println(b.Sessions, b.MaxSessions, b.IdleExpiry(), b.WhenFull, b.Evicted)

	quota, err := sessionstore.Open(sessionstore.WithUserMaxSessions(1),
		sessionstore.WithWhenFull(sessionstore.WhenFullRefuse))
	if err != nil {
		log.Fatal(err)
	}
	defer quota.Close()
	if _, err := quota.Upsert(&sessionstore.Session{SessionID: "s1", UserID: "ava"}); err != nil {
		log.Fatal(err)
	}
	_, err = quota.Upsert(&sessionstore.Session{SessionID: "s2", UserID: "ava"})
	fmt.Println("s2:", errors.Is(err, sessionstore.ErrFull))
	// Output:
	// b: true
	// 5 evict b
	// 2 2 1h0m0s evict 1
	// s2: true
}
