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
	state := s.SessionData["session_state"].(map[string]any)
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
	sess.SetName("Canada, continued")
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
