package sessionstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const agnoAgentSession = `{
  "session_id": "s-1",
  "session_type": "agent",
  "user_id": "ava",
  "agent_id": "research-agent",
  "team_id": null,
  "workflow_id": null,
  "team_session_id": null,
  "workflow_session_id": null,
  "memory": {"runs": [{"input": "hi", "response": {"content": "hello", "metrics": {"tokens": [3, 5]}}}],
             "summary": null},
  "agent_data": {"name": "Researcher", "model": {"id": "gpt-4o", "temperature": 0.25}},
  "session_data": {"session_name": "Canada", "session_state": {"counter": 9007199254740993, "ratio": 1.5e-7}},
  "extra_data": {"tags": ["a", "b"], "nested": {"deep": [[[]]]}},
  "created_at": 1700000000,
  "updated_at": 1700000100
}`

func TestSessionUnmarshal(t *testing.T) {
	var s Session
	if err := json.Unmarshal([]byte(agnoAgentSession), &s); err != nil {
		t.Fatal(err)
	}
	if s.SessionID != "s-1" || s.SessionType != ModeAgent || s.UserID != "ava" || s.AgentID != "research-agent" ||
		s.TeamID != "" || s.WorkflowID != "" || s.CreatedAt != 1700000000 || s.UpdatedAt != 1700000100 {
		t.Fatalf("known fields: %+v", s)
	}
	if s.Name() != "Canada" {
		t.Fatalf("Name() = %q", s.Name())
	}
	wantExtra := []string{"agent_data", "extra_data", "memory", "team_session_id", "workflow_session_id"}
	var gotExtra []string
	for k := range s.Extra {
		gotExtra = append(gotExtra, k)
	}
	if !sameSet(gotExtra, wantExtra) {
		t.Fatalf("Extra keys = %v, want %v", gotExtra, wantExtra)
	}
	// Numbers in session_data are json.Number: the 2^53+1 counter is exact.
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	state := data["session_state"].(map[string]any)
	if state["counter"] != json.Number("9007199254740993") {
		t.Fatalf("counter = %#v", state["counter"])
	}
}

// TestSessionRoundTrip: decoding and re-encoding is the identity on the JSON
// value (key order and null-valued typed fields aside).
func TestSessionRoundTrip(t *testing.T) {
	var s Session
	if err := json.Unmarshal([]byte(agnoAgentSession), &s); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	want := decodeMap(t, []byte(agnoAgentSession))
	delete(want, "team_id") // null typed fields are omitted
	delete(want, "workflow_id")
	if got := decodeMap(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %s\nwant %v", out, want)
	}
	// A value receiver works too, and both encodings agree.
	out2, err := json.Marshal(s)
	if err != nil || string(out2) != string(out) {
		t.Fatalf("value encoding %s differs from pointer encoding %s (%v)", out2, out, err)
	}
}

// TestSessionRoundTripThroughStore: what Go reads, changes and upserts back
// keeps every field it does not model.
func TestSessionRoundTripThroughStore(t *testing.T) {
	s := open(t)
	if _, err := s.UpsertJSON([]byte(agnoAgentSession)); err != nil {
		t.Fatal(err)
	}
	sess, err := s.Read("s-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.SetName("Canada, continued"); err != nil {
		t.Fatal(err)
	}
	if err := sess.SetField("memory", map[string]any{"runs": []string{"one more"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upsert(sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadJSON("s-1", "")
	if err != nil {
		t.Fatal(err)
	}
	m := decodeMap(t, got)
	orig := decodeMap(t, []byte(agnoAgentSession))
	for _, k := range []string{"agent_data", "extra_data", "created_at", "team_session_id"} {
		if !reflect.DeepEqual(m[k], orig[k]) {
			t.Errorf("%s = %v, want %v", k, m[k], orig[k])
		}
	}
	sd := m["session_data"].(map[string]any)
	if sd["session_name"] != "Canada, continued" ||
		sd["session_state"].(map[string]any)["counter"] != json.Number("9007199254740993") {
		t.Errorf("session_data = %v", sd)
	}
	if !reflect.DeepEqual(m["memory"], map[string]any{"runs": []any{"one more"}}) {
		t.Errorf("memory = %v", m["memory"])
	}
}

func TestSessionMarshalEdges(t *testing.T) {
	// Zero fields are omitted, so an upsert does not overwrite stored times.
	b, err := json.Marshal(&Session{SessionID: "x"})
	if err != nil || string(b) != `{"session_id":"x"}` {
		t.Fatalf("minimal session = %s, %v", b, err)
	}
	// An empty session_data stays an empty object; only nil is omitted.
	var withEmpty Session
	if err := json.Unmarshal([]byte(`{"session_id":"x","session_data":{}}`), &withEmpty); err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(withEmpty)
	if err != nil || string(b) != `{"session_id":"x","session_data":{}}` {
		t.Fatalf("empty session_data = %s, %v", b, err)
	}
	// A key of Extra naming a typed field is ignored: the typed field wins.
	s := Session{SessionID: "x", UserID: "real", Extra: map[string]json.RawMessage{
		"user_id": json.RawMessage(`"shadow"`), "z": json.RawMessage(" [1, 2] "), "a": nil}}
	b, err = json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"session_id":"x","user_id":"real","a":null,"z":[1,2]}` {
		t.Fatalf("Marshal = %s", b)
	}
	// Invalid raw JSON in Extra fails with the key in the message.
	_, err = json.Marshal(Session{SessionID: "x", Extra: map[string]json.RawMessage{"bad": json.RawMessage(`{`)}})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("Marshal with a bad Extra value: %v", err)
	}
	// SetField refuses typed fields.
	if err := s.SetField("session_id", "y"); err == nil {
		t.Fatal("SetField(session_id) succeeded")
	}
	if ok, err := s.Field("missing", new(int)); ok || err != nil {
		t.Fatalf("Field(missing) = %v, %v", ok, err)
	}
	var z []int
	if ok, err := s.Field("z", &z); !ok || err != nil || !reflect.DeepEqual(z, []int{1, 2}) {
		t.Fatalf("Field(z) = %v, %v, %v", z, ok, err)
	}
}

func TestSessionUnmarshalErrors(t *testing.T) {
	for _, bad := range []string{`[]`, `{"session_id":1}`, `{"created_at":"soon"}`, `{"session_data":[1]}`, `{`} {
		var s Session
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %+v", bad, s)
		}
	}
	// Decoding resets the receiver: no field survives from a previous value.
	s := Session{UserID: "stale", Extra: map[string]json.RawMessage{"old": json.RawMessage("1")}}
	if err := json.Unmarshal([]byte(`{"session_id":"new"}`), &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Session{SessionID: "new"}) {
		t.Fatalf("after Unmarshal: %+v", s)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// members returns the top-level members of a JSON object as raw bytes.
func members(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// TestUpsertKeepsWhatGoCannotRepresent: the store keeps lone surrogate
// escapes, nested duplicate keys and 1e400 verbatim (docs/bad-input.md), and
// a read-upsert cycle through the typed API writes them back byte for byte,
// as does SetName, which touches only session_name.
func TestUpsertKeepsWhatGoCannotRepresent(t *testing.T) {
	const data = `{"s":"\ud800","n":{"k":1,"k":2},"h":"<&>\u2028 "}`
	const memory = `{"m":"\udfff","d":{"k":1,"k":2},"big":1e400}`
	s := open(t)
	if _, err := s.UpsertJSON([]byte(`{"session_id":"v","session_data":` + data + `,"memory":` + memory + `}`)); err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantData string) {
		t.Helper()
		got, err := s.ReadJSON("v", "")
		if err != nil {
			t.Fatal(err)
		}
		m := members(t, got)
		if string(m["session_data"]) != wantData || string(m["memory"]) != memory {
			t.Fatalf("after %s: session_data %s, memory %s; want %s, %s", step, m["session_data"], m["memory"], wantData, memory)
		}
	}
	sess, err := s.Read("v", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upsert(sess); err != nil {
		t.Fatal(err)
	}
	check("Upsert", data)

	if _, err := s.UpsertMany([]*Session{sess}); err != nil {
		t.Fatal(err)
	}
	check("UpsertMany", data)

	if err := sess.SetName("renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upsert(sess); err != nil {
		t.Fatal(err)
	}
	check("SetName", data[:len(data)-1]+`,"session_name":"renamed"}`)
	if sess.Name() != "renamed" {
		t.Fatalf("Name() = %q", sess.Name())
	}
}

// TestSessionStringFieldsAreExact: encoding/json would silently turn invalid
// UTF-8 in a Go string, or a lone surrogate escape in JSON, into U+FFFD. The
// typed fields refuse both instead.
func TestSessionStringFieldsAreExact(t *testing.T) {
	s := open(t)
	for _, sess := range []*Session{
		{SessionID: "a\xffb"},
		{SessionID: "ok", UserID: "\xed\xa0\x80"}, // an encoded surrogate
		{SessionID: "ok", WorkflowID: "x", AgentID: "\xc0\xaf"},
		{SessionID: "ok", Extra: map[string]json.RawMessage{"k\xff": json.RawMessage("1")}},
	} {
		_, err := s.Upsert(sess)
		wantErr(t, err, ErrInvalidArgument)
		_, err = s.UpsertMany([]*Session{{SessionID: "fine"}, sess})
		wantErr(t, err, ErrInvalidArgument)
	}
	var sess Session
	wantErr(t, sess.SetName("Lisbon \xff"), ErrInvalidArgument)
	if st, _ := s.Stats(); st.Sessions != 0 || sess.SessionData != nil {
		t.Fatalf("a refused session changed something: %d stored, session_data %s", st.Sessions, sess.SessionData)
	}

	// The store refuses lone surrogates in these fields, so Read cannot meet
	// them; JSON from elsewhere fails to decode.
	if _, err := s.UpsertJSON([]byte(`{"session_id":"x","user_id":"\ud800"}`)); err == nil {
		t.Fatal(`the store accepted "user_id":"\ud800"`)
	}
	for _, bad := range []string{`"\ud800"`, `"\udc00"`, `"a\ud800\u0041"`, `"\ud800\ud800"`, `"\ud83d"`, "\"\xff\""} {
		err := json.Unmarshal([]byte(`{"session_id":"x","agent_id":`+bad+`}`), &sess)
		wantErr(t, err, ErrInvalidJSON)
		if !strings.Contains(err.Error(), `"agent_id"`) {
			t.Errorf("error %q does not name the field", err)
		}
	}
	for in, want := range map[string]string{
		`"\ud83d\ude00"`:     "\U0001F600",
		`"\uD83D\uDE00!"`:    "\U0001F600!",
		`"\ufffd"`:           "\uFFFD",
		"\"\uFFFD\"":         "\uFFFD",
		`"\\ud800\ufffd"`:    `\ud800` + "\uFFFD",
		`"\u00e9\ufffd\\\\"`: "é\uFFFD\\\\",
	} {
		if err := json.Unmarshal([]byte(`{"session_id":`+in+`}`), &sess); err != nil || sess.SessionID != want {
			t.Errorf("session_id %s decoded as %q, %v; want %q", in, sess.SessionID, err, want)
		}
	}

	// Query and DeleteSessions encode their strings as JSON too.
	if _, err := s.UpsertJSON([]byte(`{"session_id":"a\ufffd"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := s.DeleteSessions([]string{"a\xff"})
	wantErr(t, err, ErrInvalidArgument)
	_, err = s.Query(Query{SessionName: "\xff"})
	wantErr(t, err, ErrInvalidArgument)
	if _, err := s.Read("a\uFFFD", ""); err != nil {
		t.Fatalf("DeleteSessions of a\\xff deleted a\\ufffd: %v", err)
	}
}

func TestSessionDataHelpers(t *testing.T) {
	var s Session
	if m, err := s.Data(); m != nil || err != nil || s.Name() != "" {
		t.Fatalf("empty session: Data() = %v, %v; Name() = %q", m, err, s.Name())
	}
	if err := s.SetDataField("n", 1); err != nil || string(s.SessionData) != `{"n":1}` {
		t.Fatalf("SetDataField on no session_data: %s, %v", s.SessionData, err)
	}
	// Other members keep their bytes and order; the member set moves last and
	// replaces every copy of itself.
	s.SessionData = json.RawMessage(`{ "a" : [1, 2],"session_name":"old", "b":"\u00e9","session_name":"dup" } `)
	if err := s.SetName("new"); err != nil {
		t.Fatal(err)
	}
	if want := `{"a" : [1, 2],"b":"\u00e9","session_name":"new"}`; string(s.SessionData) != want {
		t.Fatalf("SetName: session_data = %s, want %s", s.SessionData, want)
	}
	var n json.Number
	var big any
	s.SessionData = json.RawMessage(`{"n":12345678901234567890,"o":{"x":12345678901234567890}}`)
	if ok, err := s.DataField("n", &n); !ok || err != nil || n != "12345678901234567890" {
		t.Fatalf("DataField(n) = %v, %v, %v", n, ok, err)
	}
	if ok, err := s.DataField("o", &big); !ok || err != nil || big.(map[string]any)["x"] != json.Number("12345678901234567890") {
		t.Fatalf("DataField(o) = %v, %v, %v", big, ok, err)
	}
	if ok, err := s.DataField("missing", &n); ok || err != nil {
		t.Fatalf("DataField(missing) = %v, %v", ok, err)
	}
	if m, err := s.Data(); err != nil || m["n"] != json.Number("12345678901234567890") {
		t.Fatalf("Data() = %v, %v", m, err)
	}
	for _, bad := range []string{`[1]`, `{"a":}`, `{"a":1} x`, `"s"`} {
		s.SessionData = json.RawMessage(bad)
		if err := s.SetDataField("k", 1); err == nil || string(s.SessionData) != bad {
			t.Errorf("SetDataField on %s: %v, session_data now %s", bad, err, s.SessionData)
		}
		// Invalid JSON fails here; the store judges the rest (INVALID_SESSION).
		if _, err := json.Marshal(s); (err == nil) != json.Valid([]byte(bad)) {
			t.Errorf("Marshal with session_data %s: %v", bad, err)
		}
	}
	// null and absent session_data are omitted.
	for _, in := range []string{`{"session_id":"x","session_data":null}`, `{"session_id":"x"}`} {
		if err := json.Unmarshal([]byte(in), &s); err != nil || s.SessionData != nil {
			t.Fatalf("Unmarshal(%s): session_data %s, %v", in, s.SessionData, err)
		}
		s.SessionData = json.RawMessage(" null ")
		if b, err := json.Marshal(s); err != nil || string(b) != `{"session_id":"x"}` {
			t.Fatalf("Marshal with null session_data = %s, %v", b, err)
		}
	}
}
