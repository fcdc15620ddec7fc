package sessionstore

// #include "sessionstore.h"
import "C"

import (
	"encoding/json"
	"strconv"
)

// Mode is the kind of session a Store handle reads and writes. Every stored
// session carries its type in "session_type"; a handle only sees sessions of
// its own mode, even when several handles of different modes share the data.
type Mode string

// The session types known to the library.
const (
	ModeAgent      Mode = "agent"
	ModeTeam       Mode = "team"
	ModeWorkflow   Mode = "workflow"
	ModeWorkflowV2 Mode = "workflow_v2"
)

// EntityField returns the session field that filters by entity in this mode:
// agent_id, team_id or workflow_id.
func (m Mode) EntityField() string {
	switch m {
	case ModeTeam:
		return "team_id"
	case ModeWorkflow, ModeWorkflowV2:
		return "workflow_id"
	default:
		return "agent_id"
	}
}

// DefaultMaxSessionBytes is the library's default limit on one session's JSON
// (the header's SS_DEFAULT_MAX_SESSION_BYTES).
const DefaultMaxSessionBytes = C.SS_DEFAULT_MAX_SESSION_BYTES

// Option configures Open.
type Option func(*config)

type config struct {
	mode            Mode
	maxSessionBytes int64
	set             bool // whether maxSessionBytes was given
}

// WithMode sets the session type of the handle (default ModeAgent).
func WithMode(m Mode) Option {
	return func(c *config) { c.mode = m }
}

// WithMaxSessionBytes sets the largest session, in bytes of JSON, that the
// store accepts (default DefaultMaxSessionBytes); larger ones fail with
// ErrTooLarge. It must be positive.
func WithMaxSessionBytes(n int64) Option {
	return func(c *config) { c.maxSessionBytes, c.set = n, true }
}

// json builds the config object by hand: it has two fields and the mode is
// validated by the library, so there is nothing for encoding/json to add.
func (c *config) json() []byte {
	b := make([]byte, 0, 64)
	b = append(b, `{"mode":`...)
	b = appendJSONString(b, string(c.mode))
	if c.set {
		b = append(b, `,"max_session_bytes":`...)
		b = strconv.AppendInt(b, c.maxSessionBytes, 10)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// Filter narrows listings. Empty fields do not filter. EntityID is matched
// against the mode's entity field (see Mode.EntityField).
type Filter struct {
	UserID   string
	EntityID string
}

// SortField is a field Query can sort by.
type SortField string

// Sort fields of Query.
const (
	SortByCreatedAt SortField = "created_at"
	SortByUpdatedAt SortField = "updated_at"
	SortBySessionID SortField = "session_id"
)

// SortOrder is ascending or descending.
type SortOrder string

// Sort orders of Query.
const (
	Asc  SortOrder = "asc"
	Desc SortOrder = "desc"
)

// Query selects, sorts and pages sessions of the handle's mode (ss_query).
// Zero fields do not constrain: time bounds of 0 are absent and a Limit of 0
// means no limit. Time bounds are inclusive unix seconds.
type Query struct {
	UserID        string    `json:"user_id,omitempty"`
	EntityID      string    `json:"entity_id,omitempty"`
	SessionName   string    `json:"session_name,omitempty"` // case-insensitive substring of session_data.session_name
	CreatedAfter  int64     `json:"created_after,omitempty"`
	CreatedBefore int64     `json:"created_before,omitempty"`
	UpdatedAfter  int64     `json:"updated_after,omitempty"`
	UpdatedBefore int64     `json:"updated_before,omitempty"`
	SortBy        SortField `json:"sort_by,omitempty"`    // default SortByCreatedAt
	SortOrder     SortOrder `json:"sort_order,omitempty"` // default Desc
	Limit         int       `json:"limit,omitempty"`
	Offset        int       `json:"offset,omitempty"`
}

// QueryResult is one page of a Query. Total counts every matching session,
// before Offset and Limit.
type QueryResult struct {
	Sessions []*Session `json:"sessions"`
	Total    int        `json:"total"`
}

// Stats describes a store (ss_stats).
type Stats struct {
	Mode     Mode         `json:"mode"`     // the handle's mode
	Sessions int          `json:"sessions"` // sessions of every type in the (shared) data
	Bytes    int64        `json:"bytes"`    // size of their stored JSON
	ByType   map[Mode]int `json:"by_type"`  // Sessions, per type
}
