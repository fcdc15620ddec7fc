package sessionstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// mustRead reads a session (of any user) or fails the test.
func mustRead(t *testing.T, s *Store, id string) *Session {
	t.Helper()
	sess, err := s.Read(id, "")
	if err != nil {
		t.Fatalf("Read(%q): %v", id, err)
	}
	return sess
}

// TestVersions: every write of a session gives it a higher version, equal to
// the number of the store's last change; the stored JSON carries it as
// "version", replaced where it stands; an input version must be null or a
// non-negative integer.
func TestVersions(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()

	a := mustUpsert(t, s, "session_id", "a")
	if a.Version == 0 {
		t.Fatalf("a new session has version 0: %+v", a)
	}
	last := a.Version
	step := func(what string, v uint64) {
		t.Helper()
		if v <= last {
			t.Fatalf("%s: version %d, not above %d", what, v, last)
		}
		st, err := s.Stats()
		if err != nil || st.Feed.Latest != v {
			t.Fatalf("%s: version %d, Stats().Feed.Latest %d (%v)", what, v, st.Feed.Latest, err)
		}
		last = v
	}
	step("upsert", mustUpsert(t, s, "session_id", "a", "user_id", "u").Version)
	renamed, err := s.RenameSession("a", "named")
	if err != nil {
		t.Fatal(err)
	}
	step("rename", renamed.Version)
	appended, err := s.AppendRuns("a", []any{map[string]any{"input": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	step("append", appended.Version)
	// A write of another session (of another type) is a change too, and
	// leaves a's version alone.
	step("other session", mustUpsert(t, team, "session_id", "t").Version)
	if got := mustRead(t, s, "a").Version; got != appended.Version {
		t.Fatalf("a's version moved to %d on another session's write", got)
	}
	batch, err := s.UpsertMany([]*Session{{SessionID: "b1"}, {SessionID: "b2"}})
	if err != nil {
		t.Fatal(err)
	}
	if batch[1].Version != batch[0].Version+1 {
		t.Fatalf("a batch numbers each session: %d then %d", batch[0].Version, batch[1].Version)
	}
	step("batch", batch[1].Version)

	// The stored JSON: "version" appended after updated_at when absent, and
	// replaced where it stands when present (a session read and sent back).
	out, err := s.UpsertJSON([]byte(`{"session_id":"j","x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), fmt.Sprintf(`,"version":%d}`, last+1)) {
		t.Fatalf("stored JSON %s does not end with its version", out)
	}
	out, err = s.UpsertJSON([]byte(`{"session_id":"j","version":1,"x":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"session_id":"j","version":%d,"x":2,`, last+2); !strings.HasPrefix(string(out), want) {
		t.Fatalf("stored JSON %s, want it to start %s", out, want)
	}
	if _, err := s.UpsertJSON([]byte(`{"session_id":"j","version":null}`)); err != nil {
		t.Fatalf("a null version: %v", err)
	}
	for _, bad := range []string{`-1`, `1.5`, `"7"`, `true`, `[]`, `18446744073709551616`} {
		_, err := s.UpsertJSON([]byte(`{"session_id":"j","version":` + bad + `}`))
		wantErr(t, err, ErrInvalidSession)
	}

	// The typed Session carries Version both ways; an upsert replaces it.
	j := mustRead(t, s, "j")
	if _, ok := j.Extra["version"]; ok || j.Version != last+3 {
		t.Fatalf("Read: Version %d, Extra %v", j.Version, j.Extra)
	}
	enc, err := json.Marshal(j)
	if err != nil || !strings.Contains(string(enc), fmt.Sprintf(`"version":%d`, j.Version)) {
		t.Fatalf("Marshal: %s, %v", enc, err)
	}
	j.Version = 12345
	back, err := s.Upsert(j)
	if err != nil || back.Version != last+4 {
		t.Fatalf("Upsert of a session with a stale version: %+v, %v", back, err)
	}
}

// TestUpsertIf: 0 creates only, the current version replaces, a stale one
// is ErrVersionMismatch and changes nothing; type and owner are checked first.
func TestUpsertIf(t *testing.T) {
	s := open(t)
	created, err := s.UpsertIf(&Session{SessionID: "c", UserID: "u"}, 0)
	if err != nil || created.Version == 0 || created.SessionType != ModeAgent {
		t.Fatalf("UpsertIf(new, 0) = %+v, %v", created, err)
	}
	_, err = s.UpsertIf(&Session{SessionID: "c", UserID: "u"}, 0)
	wantErr(t, err, ErrVersionMismatch)

	before, err := s.ReadJSON("c", "")
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := s.Stats()
	for _, stale := range []uint64{created.Version - 1, created.Version + 1, 1 << 63, ^uint64(0)} {
		sess := &Session{SessionID: "c", UserID: "u"}
		if err := sess.SetField("x", "lost"); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpsertIf(sess, stale)
		wantErr(t, err, ErrVersionMismatch)
		var e *Error
		if !errors.As(err, &e) || e.Op != "upsert_if" || e.Status != StatusVersionMismatch {
			t.Fatalf("stale %d: %#v", stale, err)
		}
	}
	after, err := s.ReadJSON("c", "")
	if err != nil || string(after) != string(before) {
		t.Fatalf("a refused UpsertIf changed the session:\n%s\n%s", before, after)
	}
	if st, _ := s.Stats(); st.Feed.Latest != stats.Feed.Latest {
		t.Fatalf("a refused UpsertIf was numbered: %d -> %d", stats.Feed.Latest, st.Feed.Latest)
	}

	// The current version: stored, with a new version.
	cur := mustRead(t, s, "c")
	if err := cur.SetField("x", "kept"); err != nil {
		t.Fatal(err)
	}
	next, err := s.UpsertIf(cur, cur.Version)
	if err != nil || next.Version <= cur.Version {
		t.Fatalf("UpsertIf(current) = %+v, %v", next, err)
	}
	// ... after which the version read before is stale.
	_, err = s.UpsertIf(cur, cur.Version)
	wantErr(t, err, ErrVersionMismatch)

	// The JSON variants.
	out, err := s.UpsertIfJSON([]byte(`{"session_id":"d"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeMap(t, out)
	dv, _ := d["version"].(json.Number).Int64()
	_, err = s.UpsertIfJSON([]byte(`{"session_id":"d"}`), uint64(dv)+1)
	wantErr(t, err, ErrVersionMismatch)
	dst := append(make([]byte, 0, 256), "keep:"...)
	got, err := s.AppendUpsertIfJSON(dst, []byte(`{"session_id":"d","n":1}`), uint64(dv))
	if err != nil || !strings.HasPrefix(string(got), `keep:{"session_id":"d","n":1,`) {
		t.Fatalf("AppendUpsertIfJSON = %s, %v", got, err)
	}
	got, err = s.AppendUpsertIfJSON(dst, []byte(`{"session_id":"d","n":2}`), uint64(dv))
	wantErr(t, err, ErrVersionMismatch)
	if string(got) != "keep:" {
		t.Fatalf("a failed AppendUpsertIfJSON changed dst: %q", got)
	}

	// Type, owner and input are checked before the version.
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	_, err = team.UpsertIfJSON([]byte(`{"session_id":"c"}`), 0)
	wantErr(t, err, ErrConflict)
	_, err = s.UpsertIfJSON([]byte(`{"session_id":"c","user_id":"bob"}`), 1)
	wantErr(t, err, ErrPermissionDenied)
	_, err = s.UpsertIfJSON([]byte(`{"session_id":`), 0)
	wantErr(t, err, ErrInvalidJSON)
	_, err = s.UpsertIf(&Session{SessionID: "\xff"}, 0)
	wantErr(t, err, ErrInvalidArgument)
}

// TestRenameAndDeleteIf: the conditional rename and delete, with and without
// ForUser.
func TestRenameAndDeleteIf(t *testing.T) {
	s := open(t)
	v := mustUpsert(t, s, "session_id", "r", "user_id", "ava").Version

	_, err := s.RenameSessionIf("r", "stale", v+1)
	wantErr(t, err, ErrVersionMismatch)
	_, err = s.RenameSessionIf("r", "absent?", 0) // it exists
	wantErr(t, err, ErrVersionMismatch)
	// A session the call cannot see has version 0: 0 is ErrNotFound, any
	// other version a mismatch (the header's rule).
	_, err = s.RenameSessionIf("missing", "x", 0)
	wantErr(t, err, ErrNotFound)
	_, err = s.RenameSessionIf("missing", "x", 7)
	wantErr(t, err, ErrVersionMismatch)
	_, err = s.RenameSessionIf("r", "bob's", 0, ForUser("bob")) // not bob's: not visible
	wantErr(t, err, ErrNotFound)
	_, err = s.RenameSessionIf("r", "bob's", v, ForUser("bob"))
	wantErr(t, err, ErrVersionMismatch)
	if got := mustRead(t, s, "r"); got.Name() != "" || got.Version != v {
		t.Fatalf("refused renames changed the session: %+v", got)
	}
	renamed, err := s.RenameSessionIf("r", "first", v, ForUser("ava"))
	if err != nil || renamed.Name() != "first" || renamed.Version <= v {
		t.Fatalf("RenameSessionIf = %+v, %v", renamed, err)
	}
	out, err := s.RenameSessionIfJSON("r", "second", renamed.Version)
	if err != nil || decodeMap(t, out)["session_data"].(map[string]any)["session_name"] != "second" {
		t.Fatalf("RenameSessionIfJSON = %s, %v", out, err)
	}
	_, err = s.RenameSessionIfJSON("r", "third", renamed.Version)
	wantErr(t, err, ErrVersionMismatch)
	_, err = s.RenameSessionIf("r\x00", "x", 1)
	wantErr(t, err, ErrInvalidArgument)

	cur := mustRead(t, s, "r")
	for _, c := range []struct {
		expected uint64
		opts     []ScopeOption
		want     error
	}{
		{cur.Version - 1, nil, ErrVersionMismatch},
		{0, nil, ErrVersionMismatch}, // it exists
		{cur.Version + 1, []ScopeOption{ForUser("ava")}, ErrVersionMismatch},
	} {
		removed, err := s.DeleteSessionIf("r", c.expected, c.opts...)
		if removed {
			t.Fatalf("DeleteSessionIf(%d) removed it", c.expected)
		}
		wantErr(t, err, c.want)
	}
	// Another user's session is not visible to ForUser("bob"): absent, with
	// version 0.
	if removed, err := s.DeleteSessionIf("r", 0, ForUser("bob")); removed || err != nil {
		t.Fatalf("DeleteSessionIf(0, bob) = %v, %v", removed, err)
	}
	removed, err := s.DeleteSessionIf("r", cur.Version, ForUser("bob"))
	if removed {
		t.Fatal("bob deleted ava's session")
	}
	wantErr(t, err, ErrVersionMismatch)
	if got := mustRead(t, s, "r"); got.Version != cur.Version {
		t.Fatalf("refused deletes changed the session: %+v", got)
	}
	// 0 on an absent session: nothing to remove, no error.
	if removed, err := s.DeleteSessionIf("missing", 0); removed || err != nil {
		t.Fatalf("DeleteSessionIf(missing, 0) = %v, %v", removed, err)
	}
	if removed, err := s.DeleteSessionIf("r", cur.Version, ForUser("ava")); !removed || err != nil {
		t.Fatalf("DeleteSessionIf(current) = %v, %v", removed, err)
	}
	if _, err := s.Read("r", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after DeleteSessionIf: %v", err)
	}
	_, err = s.DeleteSessionIf("\xff", 0)
	wantErr(t, err, ErrInvalidArgument)
}

// TestAppendRuns: the layouts of each mode, what is kept, and the errors.
func TestAppendRuns(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "a", "user_id", "ava", "agent_data", map[string]any{"name": "helper"})
	first, err := s.AppendRuns("a", []any{map[string]any{"input": "hi"}, json.RawMessage(`{"input":"<b>&"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var mem struct {
		Runs []json.RawMessage `json:"runs"`
	}
	if ok, err := first.Field("memory", &mem); !ok || err != nil || len(mem.Runs) != 2 ||
		string(mem.Runs[0]) != `{"input":"hi"}` || string(mem.Runs[1]) != `{"input":"<b>&"}` {
		t.Fatalf("memory after the first append: %s, %v", first.Extra["memory"], err)
	}
	if string(first.Extra["agent_data"]) != `{"name":"helper"}` || first.UserID != "ava" {
		t.Fatalf("the append changed other fields: %+v", first)
	}
	out, err := s.AppendRunsJSON("a", []byte(` [3, "four", null] `), ForUser("ava"))
	if err != nil {
		t.Fatal(err)
	}
	m := decodeMap(t, out)
	runs := m["memory"].(map[string]any)["runs"].([]any)
	if len(runs) != 5 || runs[2] != json.Number("3") || runs[3] != "four" || runs[4] != nil {
		t.Fatalf("runs after the second append: %v", runs)
	}
	v, _ := m["version"].(json.Number).Int64()
	if uint64(v) <= first.Version {
		t.Fatalf("version after the append %d, before %d", v, first.Version)
	}

	// workflow_v2 appends to "runs"; the other modes create memory.runs.
	wf, err := s.Share(ModeWorkflowV2)
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	mustUpsert(t, wf, "session_id", "w")
	if out, err := wf.AppendRunsJSON("w", []byte(`[{"step":1}]`)); err != nil ||
		!strings.Contains(string(out), `"runs":[{"step":1}]`) || strings.Contains(string(out), `"memory"`) {
		t.Fatalf("workflow_v2 append = %s, %v", out, err)
	}
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, team, "session_id", "t", "memory", nil)
	if out, err := team.AppendRunsJSON("t", []byte(`[1]`)); err != nil || !strings.Contains(string(out), `"memory":{"runs":[1]}`) {
		t.Fatalf("team append = %s, %v", out, err)
	}

	// Errors; none changes the session.
	mustUpsert(t, s, "session_id", "bad", "memory", "text")
	small := open(t, WithMaxSessionBytes(120))
	mustUpsert(t, small, "session_id", "s")
	before := mustRead(t, s, "a")
	for _, c := range []struct {
		name string
		want error
		call func() error
	}{
		{"nil runs", ErrInvalidArgument, func() error { _, err := s.AppendRuns("a", nil); return err }},
		{"empty array", ErrInvalidArgument, func() error { _, err := s.AppendRunsJSON("a", []byte(`[]`)); return err }},
		{"not an array", ErrInvalidArgument, func() error { _, err := s.AppendRunsJSON("a", []byte(`{"input":1}`)); return err }},
		{"empty payload", ErrInvalidJSON, func() error { _, err := s.AppendRunsJSON("a", nil); return err }},
		{"syntax", ErrInvalidJSON, func() error { _, err := s.AppendRunsJSON("a", []byte(`[1,`)); return err }},
		{"unencodable run", nil, func() error { _, err := s.AppendRuns("a", []any{func() {}}); return err }},
		{"missing", ErrNotFound, func() error { _, err := s.AppendRuns("missing", []any{1}); return err }},
		{"another user's", ErrNotFound, func() error { _, err := s.AppendRuns("a", []any{1}, ForUser("bob")); return err }},
		{"another type's", ErrNotFound, func() error { _, err := team.AppendRuns("a", []any{1}); return err }},
		{"memory not an object", ErrInvalidSession, func() error { _, err := s.AppendRuns("bad", []any{1}); return err }},
		{"too large", ErrTooLarge, func() error {
			_, err := small.AppendRuns("s", []any{strings.Repeat("x", 200)})
			return err
		}},
		{"NUL in id", ErrInvalidArgument, func() error { _, err := s.AppendRunsJSON("a\x00", []byte(`[1]`)); return err }},
		{"user not UTF-8", ErrInvalidArgument, func() error { _, err := s.AppendRuns("a", []any{1}, ForUser("\xff")); return err }},
	} {
		err := c.call()
		if c.want == nil {
			if err == nil {
				t.Fatalf("%s: no error", c.name)
			}
			continue
		}
		wantErr(t, err, c.want)
	}
	if after := mustRead(t, s, "a"); after.Version != before.Version {
		t.Fatalf("failed appends changed the session: version %d -> %d", before.Version, after.Version)
	}
}

// runsOf returns the "runs" of a session's memory, each decoded as a
// {"agent":k,"n":i} run.
type testRun struct {
	Agent int `json:"agent"`
	N     int `json:"n"`
}

func runsOf(t *testing.T, sess *Session) []testRun {
	t.Helper()
	var mem struct {
		Runs []testRun `json:"runs"`
	}
	if _, err := sess.Field("memory", &mem); err != nil {
		t.Fatal(err)
	}
	return mem.Runs
}

// checkAllRuns checks that runs holds exactly agents*perAgent runs, and each
// agent's runs 0..perAgent-1 in its order.
func checkAllRuns(t *testing.T, runs []testRun, agents, perAgent int) {
	t.Helper()
	if len(runs) != agents*perAgent {
		t.Fatalf("%d runs, want %d x %d = %d", len(runs), agents, perAgent, agents*perAgent)
	}
	next := make([]int, agents)
	for i, r := range runs {
		if r.Agent < 0 || r.Agent >= agents || r.N != next[r.Agent] {
			t.Fatalf("run %d is %+v; agent %d's next run should be %d", i, r, r.Agent, next[r.Agent])
		}
		next[r.Agent]++
	}
}

// TestConcurrentAppendRuns: goroutines append to one session at once, on two
// handles sharing the store. Each cgo call runs on its goroutine's own OS
// thread and the library does not serialize calls per handle, so the
// appends really meet in the library. Every run lands, in each goroutine's
// order.
func TestConcurrentAppendRuns(t *testing.T) {
	const agents, perAgent = 8, 60
	s := open(t)
	other, err := s.Share("")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustUpsert(t, s, "session_id", "shared", "user_id", "team")

	var wg sync.WaitGroup
	var start sync.WaitGroup
	start.Add(1)
	errs := make(chan error, agents)
	for k := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := []*Store{s, other}[k%2]
			start.Wait()
			for i := range perAgent {
				var err error
				if i%2 == 0 {
					_, err = h.AppendRuns("shared", []any{testRun{Agent: k, N: i}}, ForUser("team"))
				} else {
					_, err = h.AppendRunsJSON("shared", fmt.Appendf(nil, `[{"agent":%d,"n":%d}]`, k, i))
				}
				if err != nil {
					errs <- fmt.Errorf("agent %d run %d: %w", k, i, err)
					return
				}
			}
		}()
	}
	start.Done()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkAllRuns(t, runsOf(t, mustRead(t, s, "shared")), agents, perAgent)
}

// TestConcurrentUpsertIfRetry: the read-modify-write loop of the conditional
// upsert. Goroutines each add their runs to memory.runs by reading the
// session, appending in Go and writing it back with UpsertIf on the version
// read, retrying on ErrVersionMismatch. No write is lost.
func TestConcurrentUpsertIfRetry(t *testing.T) {
	const agents, perAgent = 6, 50
	s := open(t)
	if _, err := s.UpsertIf(&Session{SessionID: "cas"}, 0); err != nil {
		t.Fatal(err)
	}
	var retries atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for k := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perAgent {
				for {
					sess, err := s.Read("cas", "")
					if err != nil {
						errs <- err
						return
					}
					var mem struct {
						Runs []json.RawMessage `json:"runs"`
					}
					if _, err := sess.Field("memory", &mem); err != nil {
						errs <- err
						return
					}
					run, _ := json.Marshal(testRun{Agent: k, N: i})
					mem.Runs = append(mem.Runs, run)
					if err := sess.SetField("memory", mem); err != nil {
						errs <- err
						return
					}
					_, err = s.UpsertIf(sess, sess.Version)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrVersionMismatch) {
						errs <- fmt.Errorf("agent %d run %d: %w", k, i, err)
						return
					}
					retries.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkAllRuns(t, runsOf(t, mustRead(t, s, "cas")), agents, perAgent)
	t.Logf("%d x %d writes, %d retries after a version mismatch", agents, perAgent, retries.Load())
}

// TestPlainUpsertLosesWrites shows what UpsertIf and AppendRuns are for:
// the same loop with a plain Upsert overwrites concurrent writers' runs.
// Informational only (the interleaving is up to the scheduler).
func TestPlainUpsertLosesWrites(t *testing.T) {
	const agents, perAgent = 4, 50
	s := open(t)
	mustUpsert(t, s, "session_id", "plain")
	var wg sync.WaitGroup
	for k := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perAgent {
				sess, err := s.Read("plain", "")
				if err != nil {
					t.Error(err)
					return
				}
				var mem struct {
					Runs []testRun `json:"runs"`
				}
				_, _ = sess.Field("memory", &mem)
				mem.Runs = append(mem.Runs, testRun{Agent: k, N: i})
				_ = sess.SetField("memory", mem)
				if _, err := s.Upsert(sess); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := len(runsOf(t, mustRead(t, s, "plain")))
	t.Logf("plain read-modify-write kept %d of %d runs", n, agents*perAgent)
	if n > agents*perAgent {
		t.Fatalf("%d runs, more than were written", n)
	}
}

// TestSessionVersionField: Session.Version decodes from and encodes to
// "version", exactly up to 2^64-1, and is omitted when 0.
func TestSessionVersionField(t *testing.T) {
	var s Session
	if err := json.Unmarshal([]byte(`{"session_id":"a","version":18446744073709551615}`), &s); err != nil || s.Version != ^uint64(0) {
		t.Fatalf("Unmarshal: %+v, %v", s, err)
	}
	out, err := json.Marshal(s)
	if err != nil || string(out) != `{"session_id":"a","version":18446744073709551615}` {
		t.Fatalf("Marshal: %s, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"session_id":"a","version":null}`), &s); err != nil || s.Version != 0 {
		t.Fatalf("null version: %+v, %v", s, err)
	}
	if out, _ := json.Marshal(s); string(out) != `{"session_id":"a"}` {
		t.Fatalf("Marshal of version 0: %s", out)
	}
	for _, bad := range []string{`-1`, `"1"`, `1.5`} {
		if err := json.Unmarshal([]byte(`{"session_id":"a","version":`+bad+`}`), &s); err == nil {
			t.Fatalf("version %s decoded", bad)
		}
	}
	// Extra cannot smuggle a second "version" member.
	s = Session{SessionID: "a", Version: 3, Extra: map[string]json.RawMessage{"version": json.RawMessage(`9`)}}
	if out, _ := json.Marshal(s); string(out) != `{"session_id":"a","version":3}` {
		t.Fatalf("Marshal with Extra[version]: %s", out)
	}
}
