package sessionstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := Open(opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// raw builds a session JSON object from key/value pairs.
func raw(t *testing.T, kv ...any) []byte {
	t.Helper()
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

func mustUpsert(t *testing.T, s *Store, kv ...any) *Session {
	t.Helper()
	out, err := s.UpsertJSON(raw(t, kv...))
	if err != nil {
		t.Fatalf("UpsertJSON: %v", err)
	}
	sess, err := decodeSession(out)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func ids(ss []*Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.SessionID
	}
	return out
}

// wantErr checks that err matches sentinel, is an *Error when it comes from
// the library, and matches no other sentinel.
func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
	for _, other := range allSentinels {
		if other != sentinel && errors.Is(err, other) {
			t.Fatalf("error %v also matches %v", err, other)
		}
	}
	if sentinel == ErrClosed {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Message == "" || e.Op == "" {
		t.Fatalf("error %#v lacks an op or a message", e)
	}
}

var allSentinels = []error{ErrNotFound, ErrInvalidArgument, ErrInvalidJSON, ErrInvalidSession,
	ErrConflict, ErrTooLarge, ErrInternal, ErrPermissionDenied, ErrIO, ErrLocked, ErrCorrupt, ErrPoisoned,
	ErrVersionMismatch, ErrFeedTruncated, ErrFull, ErrUnavailable, ErrClosed}

func TestVersion(t *testing.T) {
	v := Version()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q, not a semantic version", v)
	}
	// The linked library is the one the header describes (the Go code is
	// compiled against the header's signatures).
	if v != headerVersion {
		t.Fatalf("Version() = %q, the header is %q", v, headerVersion)
	}
}

func TestOpenDefaults(t *testing.T) {
	s := open(t)
	if s.Mode() != ModeAgent {
		t.Fatalf("Mode() = %q, want agent", s.Mode())
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != ModeAgent || st.Sessions != 0 {
		t.Fatalf("Stats() = %+v, want an empty agent store", st)
	}
}

func TestOpenOptions(t *testing.T) {
	for _, m := range []Mode{ModeAgent, ModeTeam, ModeWorkflow, ModeWorkflowV2} {
		s := open(t, WithMode(m))
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Mode() != m || st.Mode != m {
			t.Fatalf("mode %q: Mode() = %q, Stats().Mode = %q", m, s.Mode(), st.Mode)
		}
		sess := mustUpsert(t, s, "session_id", "x")
		if sess.SessionType != m {
			t.Fatalf("mode %q: stored session_type %q", m, sess.SessionType)
		}
	}
	for name, opts := range map[string][]Option{
		"unknown mode":   {WithMode("galaxy")},
		"empty mode":     {WithMode("")},
		"zero max bytes": {WithMaxSessionBytes(0)},
		"negative max":   {WithMaxSessionBytes(-5)},
		"bad non-finite": {WithNonFiniteNumbers("maybe")},
	} {
		s, err := Open(opts...)
		if s != nil {
			s.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		wantErr(t, err, ErrInvalidArgument)
		var e *Error
		errors.As(err, &e)
		if e.Op != "open" || e.Status != StatusInvalidArgument {
			t.Fatalf("%s: error %#v", name, e)
		}
	}
}

// TestNonFiniteNumbers: NaN, Infinity and -Infinity outside strings are
// ErrInvalidJSON by default and with NonFiniteReject, and stored as null with
// NonFiniteNull, in upserts, batches and imports alike.
func TestNonFiniteNumbers(t *testing.T) {
	const in = `{"session_id":"m","metrics":{"a":NaN,"b":Infinity,"c":-Infinity,"d":1.5,"s":"NaN Infinity"}}`
	for name, opts := range map[string][]Option{
		"default": nil,
		"reject":  {WithNonFiniteNumbers(NonFiniteReject)},
	} {
		s := open(t, opts...)
		_, err := s.UpsertJSON([]byte(in))
		wantErr(t, err, ErrInvalidJSON)
		if msg := err.Error(); !strings.Contains(msg, "NaN") || !strings.Contains(msg, "non_finite_numbers") {
			t.Fatalf("%s: the message names neither the word nor the option: %q", name, msg)
		}
		_, err = s.UpsertManyJSON([]byte("[" + in + "]"))
		wantErr(t, err, ErrInvalidJSON)
		_, err = s.Import([]byte(`{"m":` + in + `}`))
		wantErr(t, err, ErrInvalidJSON)
		if ids, _ := s.GetAllSessionIDs(Filter{}); len(ids) != 0 {
			t.Fatalf("%s: stored %v", name, ids)
		}
	}

	s := open(t, WithNonFiniteNumbers(NonFiniteNull), WithMode(ModeTeam))
	if s.Mode() != ModeTeam {
		t.Fatalf("Mode() = %q: WithNonFiniteNumbers lost the other options", s.Mode())
	}
	const want = `{"a":null,"b":null,"c":null,"d":1.5,"s":"NaN Infinity"}`
	sess, err := s.Upsert(&Session{SessionID: "typed", Extra: map[string]json.RawMessage{"metrics": json.RawMessage(`{"x":NaN}`)}})
	if err == nil {
		t.Fatalf("a Session with NaN in a raw field was encoded: %+v", sess)
	}
	out, err := s.UpsertJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := members(t, out)["metrics"]; string(got) != want {
		t.Fatalf("stored metrics %s, want %s", got, want)
	}
	if _, err := s.UpsertManyJSON([]byte(`[{"session_id":"m2","v":[NaN,-Infinity]}]`)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Import([]byte(`{"m3":{"session_id":"m3","v":Infinity}}`)); n != 1 || err != nil {
		t.Fatalf("Import = %d, %v", n, err)
	}
	for id, want := range map[string]string{"m2": `[null,null]`, "m3": `null`} {
		if got := members(t, mustReadJSON(t, s, id))["v"]; string(got) != want {
			t.Fatalf("%s: stored v = %s, want %s", id, got, want)
		}
	}
	export, err := s.Export()
	if err != nil || !json.Valid(export) {
		t.Fatalf("Export = %s, %v; want JSON", export, err)
	}
}

func TestUpsertAndRead(t *testing.T) {
	s := open(t)
	before := time.Now().Unix()
	out, err := s.UpsertJSON([]byte(`{"session_id":"s1","user_id":"u1","agent_id":"a1","memory":{"runs":[1,2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := decodeMap(t, out)
	if m["session_type"] != "agent" || m["session_id"] != "s1" || m["user_id"] != "u1" {
		t.Fatalf("stored %s", out)
	}
	for _, k := range []string{"created_at", "updated_at"} {
		n, err := m[k].(json.Number).Int64()
		if err != nil || n < before || n > time.Now().Unix()+1 {
			t.Fatalf("%s = %v, want about now (%d)", k, m[k], before)
		}
	}
	got, err := s.ReadJSON("s1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodeMap(t, got), m) {
		t.Fatalf("ReadJSON = %s, want %s", got, out)
	}
	if _, err := s.ReadJSON("s1", "u1"); err != nil {
		t.Fatalf("read with the right user: %v", err)
	}
	_, err = s.ReadJSON("s1", "u2")
	wantErr(t, err, ErrNotFound)
	_, err = s.Read("nope", "")
	wantErr(t, err, ErrNotFound)

	sess, err := s.Read("s1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.SessionID != "s1" || sess.UserID != "u1" || sess.AgentID != "a1" || sess.SessionType != ModeAgent {
		t.Fatalf("Read = %+v", sess)
	}
	if string(sess.Extra["memory"]) != `{"runs":[1,2]}` {
		t.Fatalf("memory = %s", sess.Extra["memory"])
	}
}

func TestUpsertKeepsCreatedAt(t *testing.T) {
	s := open(t)
	first := mustUpsert(t, s, "session_id", "s1", "created_at", 100)
	if first.CreatedAt != 100 {
		t.Fatalf("created_at = %d, want 100 as given", first.CreatedAt)
	}
	second := mustUpsert(t, s, "session_id", "s1", "user_id", "u")
	if second.CreatedAt != 100 {
		t.Fatalf("created_at = %d after an upsert without one, want 100 kept", second.CreatedAt)
	}
	if second.UpdatedAt < time.Now().Unix()-5 {
		t.Fatalf("updated_at = %d, want now", second.UpdatedAt)
	}
	if second.UserID != "u" {
		t.Fatalf("upsert did not replace the session: %+v", second)
	}
}

func TestUpsertTyped(t *testing.T) {
	s := open(t, WithMode(ModeTeam))
	in := &Session{SessionID: "t1", UserID: "u1", TeamID: "team-a", CreatedAt: 42,
		SessionData: json.RawMessage(`{"session_name":"Planning"}`)}
	if err := in.SetField("team_data", map[string]any{"members": []string{"x", "y"}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Upsert(in)
	if err != nil {
		t.Fatal(err)
	}
	if out.SessionType != ModeTeam || out.TeamID != "team-a" || out.CreatedAt != 42 || out.Name() != "Planning" {
		t.Fatalf("Upsert returned %+v", out)
	}
	var td struct{ Members []string }
	if ok, err := out.Field("team_data", &td); !ok || err != nil || !slices.Equal(td.Members, []string{"x", "y"}) {
		t.Fatalf("team_data = %+v (%v, %v)", td, ok, err)
	}
	// What Upsert returned must be what is stored.
	read, err := s.Read("t1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, out) {
		t.Fatalf("Read = %+v, Upsert returned %+v", read, out)
	}
}

func TestUpsertMany(t *testing.T) {
	s := open(t)
	in := []*Session{{SessionID: "b", UserID: "u"}, {SessionID: "a", UserID: "u"}, {SessionID: "c"}}
	out, err := s.UpsertMany(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(out); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("UpsertMany returned %v, want input order", got)
	}
	for _, o := range out {
		if o.SessionType != ModeAgent || o.CreatedAt == 0 {
			t.Fatalf("stored %+v", o)
		}
	}

	// Atomic: one bad session and nothing is stored; the message names it.
	_, err = s.UpsertManyJSON([]byte(`[{"session_id":"d"},{"user_id":"no id"},{"session_id":"e"}]`))
	wantErr(t, err, ErrInvalidSession)
	if !strings.Contains(err.Error(), "sessions[1]") {
		t.Fatalf("error %q does not name sessions[1]", err)
	}
	all, err := s.GetAllSessionIDs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, []string{"b", "a", "c"}) {
		t.Fatalf("after a failed UpsertMany the store holds %v", all)
	}

	empty, err := s.UpsertMany(nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("UpsertMany(nil) = %v, %v", empty, err)
	}
	_, err = s.UpsertMany([]*Session{{SessionID: "ok"}, nil})
	wantErr(t, err, ErrInvalidSession)
}

func TestListings(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, s, "session_id", "s1", "user_id", "u1", "agent_id", "a1")
	mustUpsert(t, s, "session_id", "s2", "user_id", "u2", "agent_id", "a1")
	mustUpsert(t, team, "session_id", "t1", "user_id", "u1", "team_id", "a1")
	mustUpsert(t, s, "session_id", "s3", "user_id", "u1", "agent_id", "a2")
	mustUpsert(t, s, "session_id", "s1", "user_id", "u1", "agent_id", "a1") // update keeps its place

	cases := []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"s1", "s2", "s3"}},
		{Filter{UserID: "u1"}, []string{"s1", "s3"}},
		{Filter{EntityID: "a1"}, []string{"s1", "s2"}},
		{Filter{UserID: "u1", EntityID: "a2"}, []string{"s3"}},
		{Filter{UserID: "nobody"}, []string{}},
	}
	for _, c := range cases {
		got, err := s.GetAllSessionIDs(c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("GetAllSessionIDs(%+v) = %v, want %v", c.f, got, c.want)
		}
		sessions, err := s.GetAllSessions(c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(sessions), c.want) {
			t.Errorf("GetAllSessions(%+v) = %v, want %v", c.f, ids(sessions), c.want)
		}
		raw, err := s.GetAllSessionsJSON(c.f)
		if err != nil {
			t.Fatal(err)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != len(c.want) {
			t.Errorf("GetAllSessionsJSON(%+v) = %s", c.f, raw)
		}
	}
	teamIDs, err := team.GetAllSessionIDs(Filter{EntityID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(teamIDs, []string{"t1"}) {
		t.Fatalf("team listing = %v, want [t1]", teamIDs)
	}
	// A team session is invisible to the agent handle, even by id.
	_, err = s.Read("t1", "")
	wantErr(t, err, ErrNotFound)
}

func TestGetRecentSessions(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "old", "user_id", "u", "created_at", 100)
	mustUpsert(t, s, "session_id", "new", "user_id", "u", "created_at", 300)
	mustUpsert(t, s, "session_id", "mid1", "user_id", "u", "created_at", 200)
	mustUpsert(t, s, "session_id", "mid2", "user_id", "u", "created_at", 200)
	mustUpsert(t, s, "session_id", "other", "user_id", "v", "created_at", 999)

	cases := []struct {
		f     Filter
		limit int
		want  []string
	}{
		{Filter{UserID: "u"}, 2, []string{"new", "mid2"}}, // tie: most recently inserted first
		{Filter{UserID: "u"}, -1, []string{"new", "mid2", "mid1", "old"}},
		{Filter{UserID: "u"}, 0, []string{}},
		{Filter{}, 1, []string{"other"}},
		{Filter{}, 100, []string{"other", "new", "mid2", "mid1", "old"}},
	}
	for _, c := range cases {
		got, err := s.GetRecentSessions(c.f, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("GetRecentSessions(%+v, %d) = %v, want %v", c.f, c.limit, ids(got), c.want)
		}
	}
	raw, err := s.GetRecentSessionsJSON(Filter{UserID: "v"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	var arr []map[string]any
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 1 || arr[0]["session_id"] != "other" {
		t.Fatalf("GetRecentSessionsJSON = %s (%v)", raw, err)
	}
}

func TestQuery(t *testing.T) {
	s := open(t, WithMode(ModeWorkflow))
	for i, name := range []string{"Daily Report", "weekly report", "Invoice", "REPORT archive"} {
		mustUpsert(t, s, "session_id", fmt.Sprintf("w%d", i), "user_id", "u", "workflow_id", fmt.Sprintf("wf%d", i%2),
			"created_at", 1000+i*10, "session_data", map[string]any{"session_name": name})
	}
	mustUpsert(t, s, "session_id", "w9", "user_id", "x", "created_at", 5000)

	cases := []struct {
		q     Query
		want  []string
		total int
	}{
		{Query{}, []string{"w9", "w3", "w2", "w1", "w0"}, 5},
		{Query{SessionName: "report"}, []string{"w3", "w1", "w0"}, 3},
		{Query{SessionName: "REPORT", SortBy: SortBySessionID, SortOrder: Asc}, []string{"w0", "w1", "w3"}, 3},
		{Query{UserID: "u", EntityID: "wf1"}, []string{"w3", "w1"}, 2},
		{Query{CreatedAfter: 1010, CreatedBefore: 1020}, []string{"w2", "w1"}, 2},
		{Query{UserID: "u", SortOrder: Asc, Limit: 2, Offset: 1}, []string{"w1", "w2"}, 4},
		{Query{UpdatedAfter: time.Now().Unix() + 3600}, []string{}, 0},
	}
	for _, c := range cases {
		r, err := s.Query(c.q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", c.q, err)
		}
		if !slices.Equal(ids(r.Sessions), c.want) || r.Total != c.total {
			t.Errorf("Query(%+v) = %v total %d, want %v total %d", c.q, ids(r.Sessions), r.Total, c.want, c.total)
		}
	}

	all, err := s.QueryJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Sessions []json.RawMessage
		Total    int
	}
	if err := json.Unmarshal(all, &r); err != nil || r.Total != 5 || len(r.Sessions) != 5 {
		t.Fatalf("QueryJSON(nil) = %s", all)
	}
	for _, bad := range []string{`{"colour":"red"}`, `{"sort_by":"colour"}`, `{"limit":-1}`, `{"sort_order":"up"}`} {
		_, err := s.QueryJSON([]byte(bad))
		wantErr(t, err, ErrInvalidArgument)
	}
	_, err = s.Query(Query{SortBy: "colour"})
	wantErr(t, err, ErrInvalidArgument)
	_, err = s.QueryJSON([]byte(`{"limit":`))
	wantErr(t, err, ErrInvalidJSON)
}

// TestQueryAcrossTypes: SessionTypes lists sessions of other types than
// the handle's, or of every type with AnySessionType.
func TestQueryAcrossTypes(t *testing.T) {
	agents := open(t)
	handles := map[Mode]*Store{ModeAgent: agents}
	for _, m := range []Mode{ModeTeam, ModeWorkflow, ModeWorkflowV2} {
		h, err := agents.Share(m)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		handles[m] = h
	}
	// One session of each type for user u, entity e, in the entity field of its type.
	for i, m := range []Mode{ModeAgent, ModeTeam, ModeWorkflow, ModeWorkflowV2} {
		mustUpsert(t, handles[m], "session_id", string(m), "user_id", "u", m.EntityField(), "e", "created_at", 100+i,
			"session_data", map[string]any{"session_name": "Run " + string(m)})
	}
	mustUpsert(t, agents, "session_id", "other", "user_id", "v", "created_at", 50)

	cases := []struct {
		q    Query
		want []string
	}{
		{Query{SortOrder: Asc}, []string{"other", "agent"}},
		{Query{SessionTypes: []Mode{}, SortOrder: Asc}, []string{"other", "agent"}},
		{Query{SessionTypes: []Mode{AnySessionType}, SortOrder: Asc}, []string{"other", "agent", "team", "workflow", "workflow_v2"}},
		{Query{SessionTypes: []Mode{ModeWorkflowV2, ModeTeam}, SortOrder: Asc}, []string{"team", "workflow_v2"}},
		{Query{SessionTypes: []Mode{ModeTeam}}, []string{"team"}},
		{Query{SessionTypes: []Mode{AnySessionType}, EntityID: "e", SortBy: SortBySessionID, SortOrder: Asc}, []string{"agent", "team", "workflow", "workflow_v2"}},
		{Query{SessionTypes: []Mode{AnySessionType}, UserID: "u", Limit: 2, Offset: 1}, []string{"workflow", "team"}},
		{Query{SessionTypes: []Mode{ModeAgent, AnySessionType}, SessionName: "RUN WORKFLOW"}, []string{"workflow_v2", "workflow"}},
	}
	for _, c := range cases {
		r, err := agents.Query(c.q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", c.q, err)
		}
		if !slices.Equal(ids(r.Sessions), c.want) {
			t.Errorf("Query(%+v) = %v, want %v", c.q, ids(r.Sessions), c.want)
		}
		for _, sess := range r.Sessions {
			if sess.SessionID != "other" && string(sess.SessionType) != sess.SessionID {
				t.Errorf("session %s has session_type %q", sess.SessionID, sess.SessionType)
			}
		}
	}
	// Every handle sees the same with AnySessionType.
	r, err := handles[ModeWorkflow].Query(Query{SessionTypes: []Mode{AnySessionType}})
	if err != nil || r.Total != 5 {
		t.Fatalf("Query from the workflow handle = %+v, %v", r, err)
	}
	_, err = agents.Query(Query{SessionTypes: []Mode{"robot"}})
	wantErr(t, err, ErrInvalidArgument)
	_, err = agents.Query(Query{SessionTypes: []Mode{"\xff"}})
	wantErr(t, err, ErrInvalidArgument)
	if b, _ := json.Marshal(Query{SessionTypes: []Mode{ModeTeam, AnySessionType}}); string(b) != `{"session_type":["team","any"]}` {
		t.Fatalf("json.Marshal(Query) = %s", b)
	}
}

// TestQueryNameCaseFolding: SessionName matches after full Unicode case
// folding of both sides.
func TestQueryNameCaseFolding(t *testing.T) {
	s := open(t)
	for id, name := range map[string]string{"greek": "Η ΟΔΟΣ", "german": "Die Straße", "plain": "road"} {
		mustUpsert(t, s, "session_id", id, "session_data", map[string]any{"session_name": name})
	}
	for needle, want := range map[string][]string{"οδος": {"greek"}, "STRASSE": {"german"}, "straße": {"german"}, "ROAD": {"plain"}} {
		r, err := s.Query(Query{SessionName: needle})
		if err != nil || !slices.Equal(ids(r.Sessions), want) {
			t.Errorf("Query(SessionName: %q) = %v, %v; want %v", needle, ids(r.Sessions), err, want)
		}
	}
}

// TestQueryProjection: Fields returns whole sessions (the zero Projection),
// the metadata of each, or the named top-level fields.
func TestQueryProjection(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	transcript := strings.Repeat("m", 10_000)
	mustUpsert(t, s, "session_id", "named", "user_id", "ava", "agent_id", "helper", "created_at", 2, "memory", transcript,
		"metadata", map[string]any{"tag": "x"}, "session_data", map[string]any{"session_name": "Trip", "session_state": 1})
	mustUpsert(t, s, "session_id", "unnamed", "created_at", 1, "runs", []int{1, 2})
	mustUpsert(t, team, "session_id", "t", "team_id", "crew", "created_at", 3)

	keys := func(b []byte) []string {
		ks := []string{}
		for k := range members(t, b) {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	sessionsOf := func(q Query) []json.RawMessage {
		t.Helper()
		in, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.QueryJSON(in)
		if err != nil {
			t.Fatalf("QueryJSON(%s): %v", in, err)
		}
		var r struct{ Sessions []json.RawMessage }
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		return r.Sessions
	}

	// Metadata, across types: each type's entity field, the name when there is one, no transcript.
	meta := sessionsOf(Query{SessionTypes: []Mode{AnySessionType}, Fields: MetadataFields(), SortOrder: Asc})
	want := [][]string{
		{"agent_id", "created_at", "session_id", "session_type", "updated_at", "user_id"},
		{"agent_id", "created_at", "session_data", "session_id", "session_type", "updated_at", "user_id"},
		{"created_at", "session_id", "session_type", "team_id", "updated_at", "user_id"},
	}
	if len(meta) != 3 {
		t.Fatalf("metadata query returned %d sessions", len(meta))
	}
	for i, m := range meta {
		if got := keys(m); !slices.Equal(got, want[i]) {
			t.Errorf("metadata of session %d has keys %v, want %v", i, got, want[i])
		}
	}
	if got := string(members(t, meta[1])["session_data"]); got != `{"session_name":"Trip"}` {
		t.Errorf("metadata session_data = %s", got)
	}

	// The typed API decodes the projected sessions; what was left out is zero.
	r, err := s.Query(Query{Fields: MetadataFields(), UserID: "ava"})
	if err != nil || r.Total != 1 || len(r.Sessions) != 1 {
		t.Fatalf("Query(metadata, ava) = %+v, %v", r, err)
	}
	if m := r.Sessions[0]; m.SessionID != "named" || m.UserID != "ava" || m.AgentID != "helper" || m.CreatedAt != 2 ||
		m.UpdatedAt == 0 || m.SessionType != ModeAgent || m.Name() != "Trip" || m.Extra != nil {
		t.Fatalf("metadata session = %+v", m)
	}

	// Named fields: only those present; "metadata" here is the field of that name.
	named := sessionsOf(Query{Fields: OnlyFields("session_id", "metadata", "runs", "absent"), SortOrder: Asc})
	if len(named) != 2 || !slices.Equal(keys(named[0]), []string{"runs", "session_id"}) ||
		!slices.Equal(keys(named[1]), []string{"metadata", "session_id"}) {
		t.Fatalf("OnlyFields sessions = %s", named)
	}
	r, err = s.Query(Query{Fields: OnlyFields("memory"), SessionName: "trip"})
	if err != nil || len(r.Sessions) != 1 || r.Sessions[0].SessionID != "" || len(r.Sessions[0].Extra["memory"]) != len(transcript)+2 {
		t.Fatalf("Query(OnlyFields(memory)) = %+v, %v", r, err)
	}
	if got := sessionsOf(Query{Fields: OnlyFields()}); len(got) != 2 || string(got[0]) != "{}" {
		t.Fatalf("OnlyFields() = %s", got)
	}

	// The zero Projection is whole sessions, and is not sent.
	if whole := sessionsOf(Query{UserID: "ava"}); len(whole) != 1 || !slices.Contains(keys(whole[0]), "memory") {
		t.Fatalf("default projection = %s", whole)
	}
	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{}, `{}`},
		{Query{Fields: Projection{}}, `{}`},
		{Query{Fields: MetadataFields()}, `{"fields":"metadata"}`},
		{Query{Fields: OnlyFields("a", "b")}, `{"fields":["a","b"]}`},
		{Query{Fields: OnlyFields()}, `{"fields":[]}`},
	} {
		if b, err := json.Marshal(c.q); err != nil || string(b) != c.want {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", c.q, b, err, c.want)
		}
	}
	for p, want := range map[string]Projection{"all": {}, "metadata": MetadataFields(), "[a b]": OnlyFields("a", "b")} {
		if p != want.String() {
			t.Errorf("Projection.String() = %q, want %q", want.String(), p)
		}
	}
	// OnlyFields copies its names.
	names := []string{"session_id"}
	p := OnlyFields(names...)
	names[0] = "memory"
	if p.String() != "[session_id]" {
		t.Fatalf("OnlyFields kept the caller's slice: %v", p)
	}

	tooMany := make([]string, 65)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("f%d", i)
	}
	_, err = s.Query(Query{Fields: OnlyFields(tooMany...)})
	wantErr(t, err, ErrInvalidArgument)
	if _, err := s.Query(Query{Fields: OnlyFields(tooMany[:64]...)}); err != nil {
		t.Fatalf("64 names: %v", err)
	}
	_, err = s.Query(Query{Fields: OnlyFields("\xff")})
	wantErr(t, err, ErrInvalidArgument)
}

func TestRenameSession(t *testing.T) {
	s := open(t)
	mustUpsert(t, s, "session_id", "s1", "created_at", 10, "updated_at", 10, "memory", []int{1},
		"session_data", map[string]any{"session_state": map[string]any{"k": 1}})
	out, err := s.RenameSession("s1", "Trip to Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	if out.Name() != "Trip to Lisbon" || out.UpdatedAt <= 10 || out.CreatedAt != 10 {
		t.Fatalf("RenameSession returned %+v", out)
	}
	if ok, _ := out.DataField("session_state", new(any)); string(out.Extra["memory"]) != "[1]" || !ok {
		t.Fatalf("rename lost data: %+v", out)
	}
	read, err := s.Read("s1", "")
	if err != nil || read.Name() != "Trip to Lisbon" {
		t.Fatalf("Read after rename = %+v, %v", read, err)
	}
	rawOut, err := s.RenameSessionJSON("s1", "Lisbon")
	if err != nil || decodeMap(t, rawOut)["session_data"].(map[string]any)["session_name"] != "Lisbon" {
		t.Fatalf("RenameSessionJSON = %s, %v", rawOut, err)
	}
	_, err = s.RenameSession("missing", "x")
	wantErr(t, err, ErrNotFound)
}

func TestDelete(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	for _, id := range []string{"a", "b", "c", "d"} {
		mustUpsert(t, s, "session_id", id)
	}
	mustUpsert(t, team, "session_id", "t")

	if ok, err := s.DeleteSession("a"); !ok || err != nil {
		t.Fatalf("DeleteSession(a) = %v, %v", ok, err)
	}
	if ok, err := s.DeleteSession("a"); ok || err != nil {
		t.Fatalf("second DeleteSession(a) = %v, %v", ok, err)
	}
	if ok, err := s.DeleteSession("t"); ok || err != nil {
		t.Fatalf("agent DeleteSession of a team session = %v, %v", ok, err)
	}
	if n, err := s.DeleteSessions([]string{"b", "c", "zzz", "t"}); n != 2 || err != nil {
		t.Fatalf("DeleteSessions = %d, %v; want 2", n, err)
	}
	if n, err := s.DeleteSessions(nil); n != 0 || err != nil {
		t.Fatalf("DeleteSessions(nil) = %d, %v", n, err)
	}
	mustUpsert(t, s, "session_id", "e")
	if n, err := s.Drop(); n != 2 || err != nil {
		t.Fatalf("Drop = %d, %v; want 2 (d, e)", n, err)
	}
	if got, _ := s.GetAllSessionIDs(Filter{}); len(got) != 0 {
		t.Fatalf("after Drop: %v", got)
	}
	if got, _ := team.GetAllSessionIDs(Filter{}); !slices.Equal(got, []string{"t"}) {
		t.Fatalf("agent Drop touched team sessions: %v", got)
	}
}

func TestStats(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, s, "session_id", "a1")
	mustUpsert(t, s, "session_id", "a2")
	mustUpsert(t, team, "session_id", "t1")
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != ModeAgent || st.ByType[ModeAgent] != 2 || st.ByType[ModeTeam] != 1 || st.ByType[ModeWorkflow] != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	if st.Bytes <= 0 {
		t.Fatalf("Stats.Bytes = %d", st.Bytes)
	}
	tst, err := team.Stats()
	if err != nil || tst.Mode != ModeTeam || !reflect.DeepEqual(tst.ByType, st.ByType) {
		t.Fatalf("team Stats = %+v, %v", tst, err)
	}
}

func TestExportImport(t *testing.T) {
	src := open(t)
	team, err := src.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, src, "session_id", "a1", "user_id", "u", "created_at", 100, "memory", map[string]any{"runs": []string{"hi"}})
	mustUpsert(t, team, "session_id", "t1", "created_at", 200)
	data, err := src.Export()
	if err != nil {
		t.Fatal(err)
	}
	exported := decodeMap(t, data)
	if len(exported) != 2 || exported["a1"] == nil || exported["t1"] == nil {
		t.Fatalf("Export = %s", data)
	}

	dst := open(t)
	n, err := dst.Import(data)
	if err != nil || n != 2 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	a1, err := dst.ReadJSON("a1", "u")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodeMap(t, a1), exported["a1"]) {
		t.Fatalf("imported a1 = %s, exported %v", a1, exported["a1"])
	}
	dstTeam, err := dst.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer dstTeam.Close()
	if got, _ := dstTeam.GetAllSessionIDs(Filter{}); !slices.Equal(got, []string{"t1"}) {
		t.Fatalf("imported team sessions = %v", got)
	}
	// The imported store continues: an upsert keeps the imported created_at.
	cont := mustUpsert(t, dst, "session_id", "a1", "user_id", "u", "memory", map[string]any{"runs": []string{"hi", "again"}})
	if cont.CreatedAt != 100 {
		t.Fatalf("created_at after continuing = %d, want 100", cont.CreatedAt)
	}

	// Records without session_type take the handle's mode.
	wf := open(t, WithMode(ModeWorkflow))
	if n, err := wf.Import([]byte(`{"w1":{"session_id":"w1"}}`)); n != 1 || err != nil {
		t.Fatalf("Import = %d, %v", n, err)
	}
	if w1, err := wf.Read("w1", ""); err != nil || w1.SessionType != ModeWorkflow || w1.CreatedAt == 0 {
		t.Fatalf("imported w1 = %+v, %v", w1, err)
	}

	// Atomic and checked: a bad record imports nothing.
	empty := open(t)
	_, err = empty.Import([]byte(`{"x":{"session_id":"x"},"y":{"session_id":"not y"}}`))
	var e *Error
	if !errors.As(err, &e) || e.Op != "import" {
		t.Fatalf("import with a mismatched key: %v", err)
	}
	if got, _ := empty.GetAllSessionIDs(Filter{}); len(got) != 0 {
		t.Fatalf("failed Import left %v", got)
	}
	_, err = empty.Import([]byte(`{"x":`))
	wantErr(t, err, ErrInvalidJSON)
}

func TestShare(t *testing.T) {
	a := open(t)
	b, err := a.Share("")
	if err != nil {
		t.Fatal(err)
	}
	if b.Mode() != ModeAgent {
		t.Fatalf("Share(\"\").Mode() = %q", b.Mode())
	}
	mustUpsert(t, a, "session_id", "s1")
	if _, err := b.Read("s1", ""); err != nil {
		t.Fatalf("the shared handle does not see s1: %v", err)
	}
	wf, err := b.Share(ModeWorkflowV2)
	if err != nil {
		t.Fatal(err)
	}
	if wf.Mode() != ModeWorkflowV2 {
		t.Fatalf("Mode() = %q", wf.Mode())
	}
	mustUpsert(t, wf, "session_id", "w1", "runs", []any{})
	// Closing handles does not free data others still use.
	a.Close()
	b.Close()
	w1, err := wf.Read("w1", "")
	if err != nil || w1.SessionType != ModeWorkflowV2 {
		t.Fatalf("after closing the other handles: %+v, %v", w1, err)
	}
	st, err := wf.Stats()
	if err != nil || st.ByType[ModeAgent] != 1 {
		t.Fatalf("agent session gone after closing the agent handles: %+v, %v", st, err)
	}
	wf.Close()

	c := open(t)
	_, err = c.Share("galaxy")
	wantErr(t, err, ErrInvalidArgument)
}

// TestErrorSentinels produces every sentinel through a real call, except
// ErrInternal, which only a bug can cause.
func TestErrorSentinels(t *testing.T) {
	s := open(t)
	small := open(t, WithMaxSessionBytes(200))
	mustUpsert(t, s, "session_id", "x")
	mustUpsert(t, s, "session_id", "owned", "user_id", "ava")
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	closed, _ := Open()
	closed.Close()

	cases := []struct {
		name string
		want error
		call func() error
	}{
		{"read missing", ErrNotFound, func() error { _, err := s.Read("missing", ""); return err }},
		{"bad mode", ErrInvalidArgument, func() error { _, err := Open(WithMode("x")); return err }},
		{"NUL in id", ErrInvalidArgument, func() error { _, err := s.ReadJSON("a\x00b", ""); return err }},
		{"id not UTF-8", ErrInvalidArgument, func() error { _, err := s.ReadJSON("\xff", ""); return err }},
		{"not an array", ErrInvalidArgument, func() error { _, err := s.UpsertManyJSON([]byte(`{"session_id":"a"}`)); return err }},
		{"syntax", ErrInvalidJSON, func() error { _, err := s.UpsertJSON([]byte(`{"session_id":`)); return err }},
		{"duplicate key", ErrInvalidJSON, func() error {
			_, err := s.UpsertJSON([]byte(`{"session_id":"d","session_id":"e"}`))
			return err
		}},
		{"invalid UTF-8", ErrInvalidJSON, func() error { _, err := s.UpsertJSON([]byte("{\"session_id\":\"\xff\"}")); return err }},
		{"empty payload", ErrInvalidJSON, func() error { _, err := s.UpsertJSON(nil); return err }},
		{"no id", ErrInvalidSession, func() error { _, err := s.UpsertJSON([]byte(`{"user_id":"u"}`)); return err }},
		{"empty id", ErrInvalidSession, func() error { _, err := s.UpsertJSON([]byte(`{"session_id":""}`)); return err }},
		{"not an object", ErrInvalidSession, func() error { _, err := s.UpsertJSON([]byte(`[1]`)); return err }},
		{"wrong type", ErrInvalidSession, func() error {
			_, err := s.UpsertJSON([]byte(`{"session_id":"y","session_type":"team"}`))
			return err
		}},
		{"bad created_at", ErrInvalidSession, func() error {
			_, err := s.UpsertJSON([]byte(`{"session_id":"y","created_at":"yesterday"}`))
			return err
		}},
		{"conflict", ErrConflict, func() error { _, err := team.UpsertJSON([]byte(`{"session_id":"x"}`)); return err }},
		{"too large", ErrTooLarge, func() error {
			_, err := small.UpsertJSON(raw(t, "session_id", "big", "memory", strings.Repeat("m", 300)))
			return err
		}},
		{"another user's", ErrPermissionDenied, func() error {
			_, err := s.UpsertJSON([]byte(`{"session_id":"owned","user_id":"bob"}`))
			return err
		}},
		{"stale version", ErrVersionMismatch, func() error {
			_, err := s.UpsertIfJSON([]byte(`{"session_id":"x"}`), 0)
			return err
		}},
		{"feed truncated", ErrFeedTruncated, func() error { _, err := s.Changes(1<<40, 1); return err }},
		{"closed", ErrClosed, func() error { _, err := closed.Read("x", ""); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.want) })
	}
	// The conflict changed nothing.
	if x, err := s.Read("x", ""); err != nil || x.SessionType != ModeAgent {
		t.Fatalf("after the conflict: %+v, %v", x, err)
	}
}

func TestErrorMapping(t *testing.T) {
	for st, want := range map[Status]error{
		StatusNotFound: ErrNotFound, StatusInvalidArgument: ErrInvalidArgument,
		StatusInvalidJSON: ErrInvalidJSON, StatusInvalidSession: ErrInvalidSession,
		StatusConflict: ErrConflict, StatusTooLarge: ErrTooLarge, StatusInternal: ErrInternal,
		StatusPermissionDenied: ErrPermissionDenied, StatusIO: ErrIO,
		StatusLocked: ErrLocked, StatusCorrupt: ErrCorrupt, StatusPoisoned: ErrPoisoned,
		StatusVersionMismatch: ErrVersionMismatch, StatusFeedTruncated: ErrFeedTruncated,
		StatusFull: ErrFull, StatusUnavailable: ErrUnavailable,
	} {
		err := error(&Error{Op: "op", Status: st, Message: "boom"})
		wrapped := fmt.Errorf("context: %w", err)
		if !errors.Is(wrapped, want) || errors.Is(wrapped, ErrClosed) {
			t.Errorf("status %d: errors.Is(%v, %v) is false", st, wrapped, want)
		}
		if got := err.Error(); got != "sessionstore: op: boom" {
			t.Errorf("Error() = %q", got)
		}
		if st.Sentinel() != want || st.String() == "" {
			t.Errorf("status %d: Sentinel() = %v, String() = %q", st, st.Sentinel(), st)
		}
	}
	for _, c := range []struct {
		e    *Error
		want string
	}{
		{&Error{Op: "query", Message: "query: unknown field"}, "sessionstore: query: unknown field"},
		{&Error{Op: "import", Message: `import["x"]: bad`}, `sessionstore: import["x"]: bad`},
		{&Error{Op: "upsert_many", Message: "sessions[1]: bad"}, "sessionstore: upsert_many: sessions[1]: bad"},
		{&Error{Op: "read", Status: StatusNotFound}, "sessionstore: read: not found"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	unknown := &Error{Status: 99}
	for _, s := range allSentinels {
		if errors.Is(unknown, s) {
			t.Errorf("unknown status matches %v", s)
		}
	}
	if unknown.Error() != "sessionstore: status 99" || StatusOK.Sentinel() != nil {
		t.Errorf("unknown.Error() = %q", unknown.Error())
	}
}

// TestClosed calls every method after Close.
func TestClosed(t *testing.T) {
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	var nilStore *Store
	for _, st := range []*Store{s, nilStore, {}} {
		calls := map[string]func() error{
			"Share":                 func() error { _, err := st.Share(""); return err },
			"Upsert":                func() error { _, err := st.Upsert(&Session{SessionID: "x"}); return err },
			"UpsertJSON":            func() error { _, err := st.UpsertJSON([]byte(`{"session_id":"x"}`)); return err },
			"UpsertMany":            func() error { _, err := st.UpsertMany([]*Session{{SessionID: "x"}}); return err },
			"UpsertManyJSON":        func() error { _, err := st.UpsertManyJSON([]byte(`[]`)); return err },
			"Read":                  func() error { _, err := st.Read("x", ""); return err },
			"ReadJSON":              func() error { _, err := st.ReadJSON("x", ""); return err },
			"GetAllSessionIDs":      func() error { _, err := st.GetAllSessionIDs(Filter{}); return err },
			"GetAllSessions":        func() error { _, err := st.GetAllSessions(Filter{}); return err },
			"GetAllSessionsJSON":    func() error { _, err := st.GetAllSessionsJSON(Filter{}); return err },
			"GetRecentSessions":     func() error { _, err := st.GetRecentSessions(Filter{}, 2); return err },
			"GetRecentSessionsJSON": func() error { _, err := st.GetRecentSessionsJSON(Filter{}, 2); return err },
			"Query":                 func() error { _, err := st.Query(Query{}); return err },
			"QueryJSON":             func() error { _, err := st.QueryJSON(nil); return err },
			"RenameSession":         func() error { _, err := st.RenameSession("x", "n"); return err },
			"RenameSessionJSON":     func() error { _, err := st.RenameSessionJSON("x", "n"); return err },
			"DeleteSession":         func() error { _, err := st.DeleteSession("x"); return err },
			"DeleteSessions":        func() error { _, err := st.DeleteSessions([]string{"x"}); return err },
			"RenameSession ForUser": func() error { _, err := st.RenameSession("x", "n", ForUser("u")); return err },
			"DeleteSession ForUser": func() error { _, err := st.DeleteSession("x", ForUser("u")); return err },
			"DeleteSessions ForUser": func() error {
				_, err := st.DeleteSessions([]string{"x"}, ForUser("u"))
				return err
			},
			"Drop":   func() error { _, err := st.Drop(); return err },
			"Stats":  func() error { _, err := st.Stats(); return err },
			"Export": func() error { _, err := st.Export(); return err },
			"Import": func() error { _, err := st.Import([]byte(`{}`)); return err },
			"Sync":   func() error { return st.Sync() },
			"UpsertIf": func() error {
				_, err := st.UpsertIf(&Session{SessionID: "x"}, 0)
				return err
			},
			"UpsertIfJSON": func() error { _, err := st.UpsertIfJSON([]byte(`{"session_id":"x"}`), 1); return err },
			"AppendUpsertIfJSON": func() error {
				_, err := st.AppendUpsertIfJSON(make([]byte, 0, 64), []byte(`{"session_id":"x"}`), 1)
				return err
			},
			"RenameSessionIf":         func() error { _, err := st.RenameSessionIf("x", "n", 1); return err },
			"RenameSessionIfJSON":     func() error { _, err := st.RenameSessionIfJSON("x", "n", 1, ForUser("u")); return err },
			"DeleteSessionIf":         func() error { _, err := st.DeleteSessionIf("x", 1); return err },
			"DeleteSessionIf ForUser": func() error { _, err := st.DeleteSessionIf("x", 0, ForUser("u")); return err },
			"AppendRuns":              func() error { _, err := st.AppendRuns("x", []any{1}); return err },
			"AppendRunsJSON":          func() error { _, err := st.AppendRunsJSON("x", []byte(`[1]`), ForUser("u")); return err },
			"Changes":                 func() error { _, err := st.Changes(0, 10); return err },
			"ChangesJSON":             func() error { _, err := st.ChangesJSON(5, 1, IDsOnly()); return err },
			"ExportWithSeq":           func() error { _, _, err := st.ExportWithSeq(); return err },
		}
		for name, call := range calls {
			if err := call(); err != ErrClosed {
				t.Errorf("%s on a closed store = %v, want ErrClosed", name, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
}

// TestLongStrings covers ids and names longer than the stack buffers.
func TestLongStrings(t *testing.T) {
	s := open(t)
	id := strings.Repeat("i", 300)
	user := strings.Repeat("u", 200)
	name := strings.Repeat("n", 500)
	mustUpsert(t, s, "session_id", id, "user_id", user, "agent_id", user)
	if _, err := s.Read(id, user); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAllSessionIDs(Filter{UserID: user, EntityID: user}); err != nil || !slices.Equal(got, []string{id}) {
		t.Fatalf("GetAllSessionIDs = %v, %v", got, err)
	}
	if r, err := s.RenameSession(id, name); err != nil || r.Name() != name {
		t.Fatalf("RenameSession = %v", err)
	}
	if ok, err := s.DeleteSession(id); !ok || err != nil {
		t.Fatalf("DeleteSession = %v, %v", ok, err)
	}
	// Unicode ids pass through unchanged.
	mustUpsert(t, s, "session_id", "séance-会话-🙂")
	if got, err := s.Read("séance-会话-🙂", ""); err != nil || got.SessionID != "séance-会话-🙂" {
		t.Fatalf("unicode id: %+v, %v", got, err)
	}
	for _, call := range []func() error{
		func() error { _, err := s.GetAllSessions(Filter{UserID: "a\x00"}); return err },
		func() error { _, err := s.RenameSession("x", "a\x00b"); return err },
		func() error { _, err := s.DeleteSession("\x00"); return err },
		func() error { _, err := s.Share("agent\x00"); return err },
	} {
		wantErr(t, call(), ErrInvalidArgument)
	}
}

// TestAppendVariants covers the buffer-reusing methods: with and without
// room in dst, keeping what dst already holds, and allocating nothing in a
// steady loop.
func TestAppendVariants(t *testing.T) {
	s := open(t)
	payload := raw(t, "session_id", "s1", "user_id", "u", "created_at", 5, "memory", strings.Repeat("x", 2000))
	want, err := s.UpsertJSON(payload)
	if err != nil {
		t.Fatal(err)
	}
	wantRecent, err := s.GetRecentSessionsJSON(Filter{UserID: "u"}, 5)
	if err != nil {
		t.Fatal(err)
	}

	for _, room := range []int{0, 10, 8192} { // none, too little, enough
		prefix := []byte("prefix:")
		dst := append(make([]byte, 0, len(prefix)+room), prefix...)
		got, err := s.AppendReadJSON(dst, "s1", "u")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix:"+string(want) {
			t.Fatalf("room %d: AppendReadJSON = %.40q...", room, got)
		}
		got, err = s.AppendRecentSessionsJSON(dst, Filter{UserID: "u"}, 5)
		if err != nil || string(got) != "prefix:"+string(wantRecent) {
			t.Fatalf("room %d: AppendRecentSessionsJSON = %.40q..., %v", room, got, err)
		}
		got, err = s.AppendUpsertJSON(dst, payload)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(got[len(prefix):], &m); err != nil || m["session_id"] != "s1" || string(got[:len(prefix)]) != "prefix:" {
			t.Fatalf("room %d: AppendUpsertJSON = %.40q..., %v", room, got, err)
		}
		// The upsert gave the session a new version (and maybe updated_at):
		// what the next round reads is what it stored.
		want = append([]byte(nil), got[len(prefix):]...)
		if wantRecent, err = s.GetRecentSessionsJSON(Filter{UserID: "u"}, 5); err != nil {
			t.Fatal(err)
		}
	}

	// Errors leave dst as it was.
	dst := []byte("keep")
	got, err := s.AppendReadJSON(dst, "missing", "")
	wantErr(t, err, ErrNotFound)
	if string(got) != "keep" {
		t.Fatalf("AppendReadJSON on error returned %q", got)
	}
	// The same with room (the read goes through ss_read_into), another
	// user's session included.
	roomy := append(make([]byte, 0, 8192), "keep"...)
	for _, user := range []string{"", "other"} {
		id := "missing"
		if user != "" {
			id = "s1"
		}
		got, err := s.AppendReadJSON(roomy, id, user)
		wantErr(t, err, ErrNotFound)
		if string(got) != "keep" {
			t.Fatalf("AppendReadJSON(%q, %q) with room on error returned %q", id, user, got)
		}
	}
	got, err = s.AppendUpsertJSON(dst, []byte(`{`))
	wantErr(t, err, ErrInvalidJSON)
	if string(got) != "keep" {
		t.Fatalf("AppendUpsertJSON on error returned %q", got)
	}

	buf := make([]byte, 0, 8192)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = s.AppendReadJSON(buf[:0], "s1", ""); err != nil {
			t.Fatal(err)
		}
		if buf, err = s.AppendRecentSessionsJSON(buf[:0], Filter{UserID: "u"}, 5); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendReadJSON into a large enough buffer allocates %v times per call", allocs)
	}
}

func TestModeEntityField(t *testing.T) {
	for m, want := range map[Mode]string{ModeAgent: "agent_id", ModeTeam: "team_id",
		ModeWorkflow: "workflow_id", ModeWorkflowV2: "workflow_id"} {
		if got := m.EntityField(); got != want {
			t.Errorf("%s.EntityField() = %q, want %q", m, got, want)
		}
		// The store filters by that field: a session whose field holds "e"
		// is found by EntityID "e".
		s := open(t, WithMode(m))
		mustUpsert(t, s, "session_id", "x", want, "e")
		mustUpsert(t, s, "session_id", "y")
		if got, err := s.GetAllSessionIDs(Filter{EntityID: "e"}); err != nil || !slices.Equal(got, []string{"x"}) {
			t.Errorf("mode %s: GetAllSessionIDs(EntityID e) = %v, %v", m, got, err)
		}
	}
	var nilStore *Store
	if nilStore.Mode() != "" {
		t.Error("nil Store has a mode")
	}
}
