package sessionstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Session is one stored session: the fields the store understands, plus every
// other field kept verbatim in Extra so that reading a session, changing it
// and upserting it back never loses data the Go program does not model
// (Agno's memory, agent_data, runs, extra_data, ...).
//
// Absent and null fields decode to zero values, and zero values are omitted
// when encoding. For upserts this is what one wants: a CreatedAt of 0 keeps
// the stored creation time (or fills it for a new session) and UpdatedAt is
// always set by the store.
type Session struct {
	SessionID   string `json:"session_id"`
	SessionType Mode   `json:"session_type,omitempty"` // set by the store to the handle's mode
	UserID      string `json:"user_id,omitempty"`
	AgentID     string `json:"agent_id,omitempty"`
	TeamID      string `json:"team_id,omitempty"`
	WorkflowID  string `json:"workflow_id,omitempty"`
	CreatedAt   int64  `json:"created_at,omitempty"` // unix seconds
	UpdatedAt   int64  `json:"updated_at,omitempty"` // unix seconds

	// SessionData holds session_data; its "session_name" is the session's
	// display name (see Name). Numbers decode as json.Number, not float64, so
	// that large integers survive a round trip unchanged.
	SessionData map[string]any `json:"session_data,omitzero"` // nil is omitted, empty is {}

	// Extra holds every other top-level field, as raw JSON. On encoding, a
	// key of Extra that names one of the fields above is ignored: the typed
	// field wins, since two values for one key would be invalid JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// sessionFields is Session without methods, so that encoding/json can do the
// escaping and omitting of the known fields.
type sessionFields Session

func isKnownField(k string) bool {
	switch k {
	case "session_id", "session_type", "user_id", "agent_id", "team_id",
		"workflow_id", "created_at", "updated_at", "session_data":
		return true
	}
	return false
}

// MarshalJSON encodes the known fields followed by the Extra fields, in
// sorted key order.
func (s Session) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal((*sessionFields)(&s))
	if err != nil {
		return nil, err
	}
	if len(s.Extra) == 0 {
		return known, nil
	}
	keys := make([]string, 0, len(s.Extra))
	for k := range s.Extra {
		if !isKnownField(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := known[:len(known)-1] // drop '}'
	for _, k := range keys {
		v := s.Extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		// Compact validates the raw value, so a bad Extra entry fails here
		// with its key instead of as invalid JSON in the store.
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, fmt.Errorf("sessionstore: session field %q: %w", k, err)
		}
		out = append(out, ',')
		out = appendJSONString(out, k)
		out = append(out, ':')
		out = append(out, c.Bytes()...)
	}
	return append(out, '}'), nil
}

// UnmarshalJSON decodes a session object, keeping unknown fields in Extra.
func (s *Session) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m == nil {
		return nil // null: a no-op, as encoding/json does for structs
	}
	// The store writes explicit nulls; json.Unmarshal leaves the zero value
	// for null, which is what the typed fields should hold.
	*s = Session{}
	for k, v := range m {
		var err error
		switch k {
		case "session_id":
			err = json.Unmarshal(v, &s.SessionID)
		case "session_type":
			err = json.Unmarshal(v, &s.SessionType)
		case "user_id":
			err = json.Unmarshal(v, &s.UserID)
		case "agent_id":
			err = json.Unmarshal(v, &s.AgentID)
		case "team_id":
			err = json.Unmarshal(v, &s.TeamID)
		case "workflow_id":
			err = json.Unmarshal(v, &s.WorkflowID)
		case "created_at":
			err = json.Unmarshal(v, &s.CreatedAt)
		case "updated_at":
			err = json.Unmarshal(v, &s.UpdatedAt)
		case "session_data":
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber()
			err = d.Decode(&s.SessionData)
		default:
			if s.Extra == nil {
				s.Extra = make(map[string]json.RawMessage)
			}
			s.Extra[k] = v
		}
		if err != nil {
			return fmt.Errorf("sessionstore: session field %q: %w", k, err)
		}
	}
	return nil
}

// Name returns session_data.session_name, or "" when there is none.
func (s *Session) Name() string {
	name, _ := s.SessionData["session_name"].(string)
	return name
}

// SetName sets session_data.session_name, creating session_data if needed.
func (s *Session) SetName(name string) {
	if s.SessionData == nil {
		s.SessionData = make(map[string]any)
	}
	s.SessionData["session_name"] = name
}

// Field decodes the extra field key into v. It reports false, and leaves v
// alone, when the session has no such field.
func (s *Session) Field(key string, v any) (bool, error) {
	raw, ok := s.Extra[key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// SetField encodes v as the extra field key.
func (s *Session) SetField(key string, v any) error {
	if isKnownField(key) {
		return fmt.Errorf("sessionstore: %q is a typed field of Session; set it directly", key)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if s.Extra == nil {
		s.Extra = make(map[string]json.RawMessage)
	}
	s.Extra[key] = raw
	return nil
}
