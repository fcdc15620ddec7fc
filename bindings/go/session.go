package sessionstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Session is one stored session: the fields the store understands, plus
// session_data and every other field kept as raw JSON (SessionData, Extra),
// so that reading a session, changing it and upserting it back never loses or
// changes data the Go program does not model (Agno's memory, agent_data,
// runs, extra_data, ...).
//
// Absent and null fields decode to zero values, and zero values are omitted
// when encoding. For upserts this is what one wants: a CreatedAt of 0 keeps
// the stored creation time (or fills it for a new session), and UpdatedAt
// and Version are always set by the store.
//
// The string fields must hold valid UTF-8: encoding fails with
// ErrInvalidArgument otherwise, and decoding a string that a Go string cannot
// hold exactly (a lone surrogate escape such as "\ud800", or invalid UTF-8)
// fails with ErrInvalidJSON, where encoding/json would silently substitute
// U+FFFD. The store refuses both in these fields, so Read never meets them.
type Session struct {
	SessionID   string `json:"session_id"`
	SessionType Mode   `json:"session_type,omitempty"` // set by the store to the handle's mode
	UserID      string `json:"user_id,omitempty"`
	AgentID     string `json:"agent_id,omitempty"`
	TeamID      string `json:"team_id,omitempty"`
	WorkflowID  string `json:"workflow_id,omitempty"`
	CreatedAt   int64  `json:"created_at,omitempty"` // unix seconds
	UpdatedAt   int64  `json:"updated_at,omitempty"` // unix seconds
	// Version is set by the store on every write: the number of the change
	// that last wrote the session, so it grows with each write of it. Pass it
	// to UpsertIf (or RenameSessionIf, DeleteSessionIf) to write only if no
	// one else has since. Its value in an upsert is ignored (replaced), so a
	// session read and sent back keeps working; 0 is omitted.
	Version uint64 `json:"version,omitempty"`

	// SessionData holds session_data as raw JSON (empty or null is omitted);
	// its "session_name" is the session's display name (see Name). It is raw
	// because the store keeps values that no Go value reproduces (a lone
	// surrogate escape, nested duplicate keys, 1e400), and an upsert must
	// write them back unchanged. Data, DataField and SetDataField decode and
	// encode it.
	SessionData json.RawMessage `json:"-"`

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
		"workflow_id", "created_at", "updated_at", "version", "session_data":
		return true
	}
	return false
}

// MarshalJSON encodes the known fields, then session_data, then the Extra
// fields in sorted key order. Raw values are copied as they are, apart from
// insignificant whitespace.
func (s Session) MarshalJSON() ([]byte, error) {
	for _, f := range [...]struct{ key, val string }{
		{"session_id", s.SessionID}, {"session_type", string(s.SessionType)}, {"user_id", s.UserID},
		{"agent_id", s.AgentID}, {"team_id", s.TeamID}, {"workflow_id", s.WorkflowID},
	} {
		if !utf8.ValidString(f.val) {
			return nil, notUTF8("encode", f.key)
		}
	}
	known, err := json.Marshal((*sessionFields)(&s))
	if err != nil {
		return nil, err
	}
	out := known[:len(known)-1] // drop '}'
	if len(s.SessionData) > 0 && !isNull(s.SessionData) {
		if out, err = appendMember(out, "session_data", s.SessionData); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(s.Extra))
	for k := range s.Extra {
		if !isKnownField(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return nil, notUTF8("encode", k)
		}
		v := s.Extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		if out, err = appendMember(out, k, v); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// appendMember appends ,"key":value to an object missing its closing brace.
// Compact validates the raw value, so a bad one fails here with its key
// instead of as invalid JSON in the store; unlike json.Marshal it does not
// rewrite <, > and & in strings, so the bytes stay as they were.
func appendMember(out []byte, key string, value []byte) ([]byte, error) {
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = appendJSONString(out, key)
	out = append(out, ':')
	b := bytes.NewBuffer(out)
	if err := json.Compact(b, value); err != nil {
		return nil, fmt.Errorf("sessionstore: session field %q: %w", key, err)
	}
	return b.Bytes(), nil
}

func notUTF8(op, field string) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: fmt.Sprintf("session field %q is not valid UTF-8", field)}
}

func isNull(raw []byte) bool {
	return string(bytes.TrimSpace(raw)) == "null"
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
			err = unmarshalString(k, v, &s.SessionID)
		case "session_type":
			err = unmarshalString(k, v, (*string)(&s.SessionType))
		case "user_id":
			err = unmarshalString(k, v, &s.UserID)
		case "agent_id":
			err = unmarshalString(k, v, &s.AgentID)
		case "team_id":
			err = unmarshalString(k, v, &s.TeamID)
		case "workflow_id":
			err = unmarshalString(k, v, &s.WorkflowID)
		case "created_at":
			err = json.Unmarshal(v, &s.CreatedAt)
		case "updated_at":
			err = json.Unmarshal(v, &s.UpdatedAt)
		case "version":
			err = json.Unmarshal(v, &s.Version)
		case "session_data":
			switch {
			case isNull(v):
			case v[0] != '{':
				err = errors.New("not a JSON object")
			default:
				s.SessionData = v
			}
		default:
			if s.Extra == nil {
				s.Extra = make(map[string]json.RawMessage)
			}
			s.Extra[k] = v
		}
		if err != nil {
			if _, ok := err.(*Error); ok {
				return err
			}
			return fmt.Errorf("sessionstore: session field %q: %w", k, err)
		}
	}
	return nil
}

// unmarshalString decodes the JSON string (or null) of field key into dst,
// failing where encoding/json would silently substitute U+FFFD.
func unmarshalString(key string, raw []byte, dst *string) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return err
	}
	if strings.ContainsRune(*dst, utf8.RuneError) && !exactString(raw) {
		return &Error{Op: "decode", Status: StatusInvalidJSON, Message: fmt.Sprintf(
			"session field %q holds a lone surrogate escape or invalid UTF-8, which a Go string cannot hold exactly", key)}
	}
	return nil
}

// exactString reports whether the JSON string literal q decodes without a
// substitution: it is valid UTF-8 and every surrogate escape is half of a pair.
func exactString(q []byte) bool {
	if !utf8.Valid(q) {
		return false
	}
	for i := 0; i+5 < len(q); i++ {
		if q[i] != '\\' {
			continue
		}
		if q[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r := hex4(q[i+2:])
		i += 5
		switch {
		case !utf16.IsSurrogate(r):
		case r < 0xdc00 && i+6 < len(q) && q[i+1] == '\\' && q[i+2] == 'u' && isLowSurrogate(hex4(q[i+3:])):
			i += 6
		default:
			return false
		}
	}
	return true
}

func isLowSurrogate(r rune) bool { return r >= 0xdc00 && r <= 0xdfff }

// hex4 decodes the four hex digits of a \u escape that encoding/json has
// already validated.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n)
}

// Name returns session_data.session_name, or "" when there is none.
func (s *Session) Name() string {
	var name string
	_, _ = s.DataField("session_name", &name)
	return name
}

// SetName sets session_data.session_name (see SetDataField). It fails with
// ErrInvalidArgument when name is not valid UTF-8.
func (s *Session) SetName(name string) error {
	if !utf8.ValidString(name) {
		return notUTF8("set_name", "session_data.session_name")
	}
	return s.SetDataField("session_name", name)
}

// Data decodes session_data into a map, with numbers as json.Number so that
// large integers stay exact; it is nil when there is no session_data. The
// map is a copy: what encoding/json cannot represent (a lone surrogate
// escape, nested duplicate keys) differs from SessionData, which is what an
// upsert writes. Change session_data with SetDataField, or assign SessionData.
func (s *Session) Data() (map[string]any, error) {
	if len(s.SessionData) == 0 {
		return nil, nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(s.SessionData))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("sessionstore: session_data: %w", err)
	}
	return m, nil
}

// DataField decodes the member key of session_data into v, decoding numbers
// into an interface value as json.Number. It reports false, and leaves v
// alone, when there is no such member.
func (s *Session) DataField(key string, v any) (bool, error) {
	var m map[string]json.RawMessage
	if len(s.SessionData) > 0 {
		if err := json.Unmarshal(s.SessionData, &m); err != nil {
			return false, fmt.Errorf("sessionstore: session_data: %w", err)
		}
	}
	raw, ok := m[key]
	if !ok {
		return false, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return true, d.Decode(v)
}

// SetDataField encodes v as the member key of session_data, creating
// session_data if needed. The member moves to the end; the other members are
// kept byte for byte.
func (s *Session) SetDataField(key string, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data, err := setMember(s.SessionData, key, val)
	if err != nil {
		return fmt.Errorf("sessionstore: session_data: %w", err)
	}
	s.SessionData = data
	return nil
}

// setMember returns the JSON object obj (empty or null: {}) without its
// members named key, followed by "key":val. It copies the other members from
// obj rather than re-encoding them, which would lose what encoding/json
// cannot represent.
func setMember(obj []byte, key string, val []byte) ([]byte, error) {
	out := []byte{'{'}
	if len(obj) > 0 && !isNull(obj) {
		d := json.NewDecoder(bytes.NewReader(obj))
		if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
			return nil, errors.New("not a JSON object")
		}
		for d.More() {
			start := d.InputOffset()
			k, err := d.Token()
			var v json.RawMessage
			if err == nil {
				err = d.Decode(&v)
			}
			if err != nil {
				return nil, err
			}
			if k != key {
				if len(out) > 1 {
					out = append(out, ',')
				}
				out = append(out, bytes.TrimLeft(obj[start:d.InputOffset()], " \t\r\n,")...)
			}
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(obj[d.InputOffset():])) > 0 {
			return nil, errors.New("text after the JSON object")
		}
	}
	out, err := appendMember(out, key, val)
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
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
