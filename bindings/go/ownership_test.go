package sessionstore

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// mustReadJSON returns the stored JSON of id, whoever owns it.
func mustReadJSON(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	out, err := s.ReadJSON(id, "")
	if err != nil {
		t.Fatalf("ReadJSON(%s): %v", id, err)
	}
	return out
}

// wantDenied checks that err is ErrPermissionDenied from op, with a message
// that starts with prefix.
func wantDenied(t *testing.T, err error, op, prefix string) {
	t.Helper()
	wantErr(t, err, ErrPermissionDenied)
	var e *Error
	errors.As(err, &e)
	if e.Status != StatusPermissionDenied || e.Op != op || !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("error %#v: want op %q, StatusPermissionDenied and a message starting %q", e, op, prefix)
	}
}

// TestOwnershipUpsert: an upsert may replace a session only when its stored
// user_id is unset or equal to the input's; otherwise ErrPermissionDenied,
// and nothing changes.
func TestOwnershipUpsert(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "s1", "user_id", "ava", "memory", "ava's", "created_at", 10)
	before := mustReadJSON(t, s, "s1")

	for name, in := range map[string]string{
		"another user": `{"session_id":"s1","user_id":"bob","memory":"bob's"}`,
		"no user_id":   `{"session_id":"s1","memory":"anonymous"}`,
		"null user_id": `{"session_id":"s1","user_id":null,"memory":"anonymous"}`,
		"empty":        `{"session_id":"s1","user_id":"","memory":"anonymous"}`,
	} {
		_, err := s.UpsertJSON([]byte(in))
		wantDenied(t, err, "upsert", `session "s1"`)
		if after := mustReadJSON(t, s, "s1"); !bytes.Equal(after, before) {
			t.Fatalf("%s: the refused upsert changed the session: %s, was %s", name, after, before)
		}
	}

	// The typed and Append variants report the same, and leave dst alone.
	_, err := s.Upsert(&Session{SessionID: "s1", UserID: "bob"})
	wantDenied(t, err, "upsert", `session "s1"`)
	dst := []byte("keep")
	got, err := s.AppendUpsertJSON(dst, []byte(`{"session_id":"s1","user_id":"bob"}`))
	wantDenied(t, err, "upsert", `session "s1"`)
	if string(got) != "keep" {
		t.Fatalf("AppendUpsertJSON on refusal returned %q", got)
	}

	// The owner may write, from any handle on the data.
	other, err := s.Share("")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if sess := mustUpsert(t, other, "session_id", "s1", "user_id", "ava", "memory", "ava again"); string(sess.Extra["memory"]) != `"ava again"` {
		t.Fatalf("the owner's upsert stored %+v", sess)
	}

	// A session without a user belongs to no one: the first upsert with a user
	// claims it, and then it is that user's.
	mustUpsert(t, s, "session_id", "free")
	mustUpsert(t, s, "session_id", "free", "memory", "still free")
	mustUpsert(t, s, "session_id", "free", "user_id", "bob")
	_, err = s.UpsertJSON([]byte(`{"session_id":"free","user_id":"ava"}`))
	wantDenied(t, err, "upsert", `session "free"`)
	if got, err := s.Read("free", "bob"); err != nil || got.UserID != "bob" {
		t.Fatalf("Read(free, bob) = %+v, %v", got, err)
	}
}

// TestOwnershipUpsertMany: a batch with one element that would take another
// user's session is refused whole; the error names the element.
func TestOwnershipUpsertMany(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "s1", "user_id", "ava", "memory", 1)
	before := mustReadJSON(t, s, "s1")

	_, err := s.UpsertMany([]*Session{
		{SessionID: "new", UserID: "bob"},
		{SessionID: "s1", UserID: "bob"},
	})
	wantDenied(t, err, "upsert_many", `sessions[1]: session "s1"`)
	if !strings.Contains(err.Error(), "sessions[1]") {
		t.Fatalf("Error() = %q does not name the element", err)
	}
	if _, err := s.Read("new", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused batch stored its first element: %v", err)
	}
	if after := mustReadJSON(t, s, "s1"); !bytes.Equal(after, before) {
		t.Fatalf("the refused batch changed s1: %s, was %s", after, before)
	}

	// Each element is checked against the owner the earlier ones gave the
	// session: a new session is its first element's user's.
	_, err = s.UpsertManyJSON([]byte(`[{"session_id":"n","user_id":"ava"},{"session_id":"n","user_id":"ava"},{"session_id":"n","user_id":"bob"}]`))
	wantDenied(t, err, "upsert_many", `sessions[2]: session "n"`)
	if ids, _ := s.GetAllSessionIDs(Filter{}); !slices.Equal(ids, []string{"s1"}) {
		t.Fatalf("after the refused batches: %v", ids)
	}

	// The owner's batch goes through.
	if out, err := s.UpsertMany([]*Session{{SessionID: "s1", UserID: "ava"}, {SessionID: "new", UserID: "bob"}}); err != nil || len(out) != 2 {
		t.Fatalf("UpsertMany by the owners = %v, %v", out, err)
	}
}

// TestOwnershipImport: Import, an administrative load, replaces sessions
// whatever their user.
func TestOwnershipImport(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "s1", "user_id", "ava")
	if n, err := s.Import([]byte(`{"s1":{"session_id":"s1","user_id":"bob","created_at":1,"updated_at":2}}`)); n != 1 || err != nil {
		t.Fatalf("Import over ava's session = %d, %v", n, err)
	}
	if got, err := s.Read("s1", "bob"); err != nil || got.UserID != "bob" || got.UpdatedAt != 2 {
		t.Fatalf("after Import: %+v, %v", got, err)
	}
	_, err := s.UpsertJSON([]byte(`{"session_id":"s1","user_id":"ava"}`))
	wantDenied(t, err, "upsert", `session "s1"`)
}

// TestRenameForUser: with ForUser, only that user's session is renamed;
// another user's, or one without a user, is ErrNotFound and unchanged.
func TestRenameForUser(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "s1", "user_id", "ava", "session_data", map[string]any{"session_name": "Old"})
	mustUpsert(t, s, "session_id", "free")
	before := mustReadJSON(t, s, "s1")

	_, err := s.RenameSession("s1", "Bob's now", ForUser("bob"))
	wantErr(t, err, ErrNotFound)
	_, err = s.RenameSessionJSON("s1", "Bob's now", ForUser("bob"))
	wantErr(t, err, ErrNotFound)
	_, err = s.RenameSession("free", "Bob's now", ForUser("bob"))
	wantErr(t, err, ErrNotFound)
	if after := mustReadJSON(t, s, "s1"); !bytes.Equal(after, before) {
		t.Fatalf("a refused rename changed the session: %s, was %s", after, before)
	}

	if got, err := s.RenameSession("s1", "Ava's", ForUser("ava")); err != nil || got.Name() != "Ava's" || got.UserID != "ava" {
		t.Fatalf("RenameSession as the owner = %+v, %v", got, err)
	}
	if out, err := s.RenameSessionJSON("s1", "Ava's 2", ForUser("bob"), ForUser("ava")); err != nil || !strings.Contains(string(out), `"Ava's 2"`) {
		t.Fatalf("RenameSessionJSON, the last ForUser wins = %s, %v", out, err)
	}
	// No option, ForUser(""), and a nil option rename any session of the mode.
	for i, opts := range [][]ScopeOption{nil, {ForUser("")}, {nil}} {
		name := strings.Repeat("x", i+1)
		if got, err := s.RenameSession("free", name, opts...); err != nil || got.Name() != name {
			t.Fatalf("RenameSession(free, %v) = %+v, %v", opts, got, err)
		}
	}
	if got, err := s.RenameSession("s1", "Admin", ForUser("")); err != nil || got.Name() != "Admin" {
		t.Fatalf("RenameSession of ava's session without a user = %+v, %v", got, err)
	}
	_, err = s.RenameSession("s1", "x", ForUser("a\x00b"))
	wantErr(t, err, ErrInvalidArgument)
	_, err = s.RenameSession("s1", "x", ForUser("\xff"))
	wantErr(t, err, ErrInvalidArgument)
}

// TestDeleteForUser: with ForUser, DeleteSession and DeleteSessions remove
// only that user's sessions; the others are not errors and are not counted.
func TestDeleteForUser(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	for _, kv := range [][2]string{{"a1", "ava"}, {"a2", "ava"}, {"a3", "ava"}, {"b1", "bob"}, {"b2", "bob"}, {"free", ""}} {
		if kv[1] == "" {
			mustUpsert(t, s, "session_id", kv[0])
		} else {
			mustUpsert(t, s, "session_id", kv[0], "user_id", kv[1])
		}
	}
	mustUpsert(t, team, "session_id", "t1", "user_id", "ava")
	remaining := func() []string {
		t.Helper()
		got, err := s.GetAllSessionIDs(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	if ok, err := s.DeleteSession("b1", ForUser("ava")); ok || err != nil {
		t.Fatalf("DeleteSession of bob's session as ava = %v, %v", ok, err)
	}
	if ok, err := s.DeleteSession("free", ForUser("ava")); ok || err != nil {
		t.Fatalf("DeleteSession of a session without a user as ava = %v, %v", ok, err)
	}
	if ok, err := s.DeleteSession("a1", ForUser("ava")); !ok || err != nil {
		t.Fatalf("DeleteSession of ava's session as ava = %v, %v", ok, err)
	}
	if got := remaining(); !slices.Equal(got, []string{"a2", "a3", "b1", "b2", "free"}) {
		t.Fatalf("after DeleteSession: %v", got)
	}

	// Only ava's agent sessions among the ids go; bob's, the unowned one, the
	// team session and a missing id stay or are ignored.
	if n, err := s.DeleteSessions([]string{"a2", "b1", "free", "t1", "missing"}, ForUser("ava")); n != 1 || err != nil {
		t.Fatalf("DeleteSessions as ava = %d, %v; want 1", n, err)
	}
	if got := remaining(); !slices.Equal(got, []string{"a3", "b1", "b2", "free"}) {
		t.Fatalf("after DeleteSessions as ava: %v", got)
	}
	if _, err := team.Read("t1", "ava"); err != nil {
		t.Fatalf("the team session was deleted: %v", err)
	}
	if n, err := s.DeleteSessions(nil, ForUser("ava")); n != 0 || err != nil {
		t.Fatalf("DeleteSessions(nil, ava) = %d, %v", n, err)
	}

	// Without a user (no option or ForUser("")), any session of the mode goes.
	if ok, err := s.DeleteSession("b1", ForUser("")); !ok || err != nil {
		t.Fatalf("DeleteSession(b1, ForUser(\"\")) = %v, %v", ok, err)
	}
	if n, err := s.DeleteSessions([]string{"a3", "b2", "free"}); n != 3 || err != nil {
		t.Fatalf("DeleteSessions without a user = %d, %v", n, err)
	}

	long := strings.Repeat("u", 300) // longer than the stack buffers
	mustUpsert(t, s, "session_id", "l1", "user_id", long)
	mustUpsert(t, s, "session_id", "l2", "user_id", long)
	if ok, err := s.DeleteSession("l1", ForUser(long)); !ok || err != nil {
		t.Fatalf("DeleteSession with a long user = %v, %v", ok, err)
	}
	if n, err := s.DeleteSessions([]string{"l2"}, ForUser(long)); n != 1 || err != nil {
		t.Fatalf("DeleteSessions with a long user = %d, %v", n, err)
	}

	for _, call := range []func() error{
		func() error { _, err := s.DeleteSession("a", ForUser("a\x00")); return err },
		func() error { _, err := s.DeleteSessions([]string{"a"}, ForUser("a\x00")); return err },
		func() error { _, err := s.DeleteSession("a", ForUser("\xff")); return err },
		func() error { _, err := s.DeleteSessions([]string{"a"}, ForUser("\xff")); return err },
	} {
		wantErr(t, call(), ErrInvalidArgument)
	}
}
