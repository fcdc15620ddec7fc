package sessionstore

// #include "sessionstore.h"
import "C"

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
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

// AnySessionType, in Query.SessionTypes, selects the sessions of every type
// (the query's "session_type": "any"). It is not a mode a handle can have.
const AnySessionType Mode = "any"

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

// The defaults of a durable store's options (the header's
// SS_DEFAULT_SYNC_INTERVAL_MS, SS_DEFAULT_COMPACT_FACTOR and
// SS_DEFAULT_COMPACT_MIN_BYTES).
const (
	DefaultSyncInterval    = C.SS_DEFAULT_SYNC_INTERVAL_MS * time.Millisecond
	DefaultCompactFactor   = C.SS_DEFAULT_COMPACT_FACTOR
	DefaultCompactMinBytes = C.SS_DEFAULT_COMPACT_MIN_BYTES
)

// DefaultFeedBytes is the default budget of the change feed (the header's
// SS_DEFAULT_FEED_BYTES, 16 MiB); see WithFeedBytes.
const DefaultFeedBytes = C.SS_DEFAULT_FEED_BYTES

// MaxChanges is the most changes one Changes call returns, whatever its limit
// (the header's SS_MAX_CHANGES).
const MaxChanges = C.SS_MAX_CHANGES

// Option configures Open.
type Option func(*config)

type config struct {
	mode            Mode
	maxSessionBytes int64
	set             bool             // whether maxSessionBytes was given
	nonFinite       NonFiniteNumbers // "" = the library's default
	feedBytes       int64
	feedBytesSet    bool
	// Durability: each field is sent only when its option was given.
	path               string
	pathSet            bool
	sync               SyncPolicy // "" = the library's default
	syncIntervalMS     int64
	syncIntervalSet    bool
	compactFactor      int64
	compactFactorSet   bool
	compactMinBytes    int64
	compactMinBytesSet bool
	// Bounds: each field is sent only when its option was given.
	idleExpiryS        int64
	idleExpirySet      bool
	maxAgeS            int64
	maxAgeSet          bool
	refreshOnRead      bool
	maxSessions        int64
	maxSessionsSet     bool
	maxBytes           int64
	maxBytesSet        bool
	userMaxSessions    int64
	userMaxSessionsSet bool
	userMaxBytes       int64
	userMaxBytesSet    bool
	whenFull           WhenFull // "" = the library's default
	// Redis: each field is sent only when its option was given.
	backend          string // "" = the library's default, "local"
	url              string
	namespace        string
	namespaceSet     bool
	connectTimeoutMS int64
	connectTimeout   bool // whether connectTimeoutMS was given
	commandTimeoutMS int64
	commandTimeout   bool // whether commandTimeoutMS was given
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

// NonFiniteNumbers says what a store does with NaN, Infinity and -Infinity
// outside strings in the JSON it is given (config key "non_finite_numbers").
// They are not JSON, but Python's json.dumps writes them (Agno's float
// metrics carry them), so sessions written by Python may hold them.
type NonFiniteNumbers string

// The policies of WithNonFiniteNumbers.
const (
	// NonFiniteReject, the default, refuses such input with ErrInvalidJSON;
	// the message names the word and the option.
	NonFiniteReject NonFiniteNumbers = "reject"
	// NonFiniteNull stores each NaN, Infinity and -Infinity of a session,
	// batch or import as null (and so exports it as null).
	NonFiniteNull NonFiniteNumbers = "null"
)

// WithNonFiniteNumbers sets what the store does with NaN, Infinity and
// -Infinity in its input (default NonFiniteReject). An unknown value fails
// Open with ErrInvalidArgument.
func WithNonFiniteNumbers(p NonFiniteNumbers) Option {
	return func(c *config) { c.nonFinite = p }
}

// WithFeedBytes sets how much the change feed keeps (config key
// "feed_bytes"; default DefaultFeedBytes): the latest changes whose stored
// sessions and removed ids, plus 48 bytes a change, fit in n bytes. A reader
// of Changes that falls further behind gets ErrFeedTruncated. The sessions
// the feed keeps are the store's own until replaced, so this bounds the
// memory the feed can hold on to. 0 keeps no change: Changes then only ever
// answers that there is nothing new, or ErrFeedTruncated. A negative n fails
// Open with ErrInvalidArgument.
func WithFeedBytes(n int64) Option {
	return func(c *config) { c.feedBytes, c.feedBytesSet = n, true }
}

// WithPath makes the store durable, kept in the directory dir (created if
// missing): Open loads what it holds (its latest snapshot, then the journal
// after it), and every mutation is written to the journal before it is
// applied and before the call returns. One open store owns a directory:
// opening it again, from this process or another, fails with ErrLocked until
// the last handle on the first store is closed (use Share for a second
// handle). Damaged files fail Open with ErrCorrupt, a directory that cannot be
// created, read or locked with ErrIO. Without WithPath the store lives in
// memory and the other durability options do nothing. dir must be valid
// UTF-8 (else ErrInvalidArgument, refused before C).
func WithPath(dir string) Option {
	return func(c *config) { c.path, c.pathSet = dir, true }
}

// SyncPolicy says when a durable store forces its journal to stable storage
// (fsync), and so what a crash loses (config key "sync").
type SyncPolicy string

// The policies of WithSync.
const (
	// SyncAlways, the default, fsyncs before each mutation returns
	// (goroutines writing at the same time share one fsync): neither a
	// process crash nor a power loss loses an acknowledged mutation, on a
	// disk that honours flushes.
	SyncAlways SyncPolicy = "always"
	// SyncInterval fsyncs from a background thread every WithSyncInterval
	// (default DefaultSyncInterval): a process crash loses nothing
	// acknowledged, a power loss about the last interval.
	SyncInterval SyncPolicy = "interval"
	// SyncOS fsyncs only on Close, compaction and Sync, and leaves the rest to
	// the kernel: a process crash loses nothing acknowledged, a power loss
	// possibly everything since the last sync.
	SyncOS SyncPolicy = "os"
)

// WithSync sets the sync policy of a durable store (default SyncAlways). An
// unknown policy fails Open with ErrInvalidArgument.
func WithSync(p SyncPolicy) Option {
	return func(c *config) { c.sync = p }
}

// WithSyncInterval sets how often SyncInterval fsyncs (default
// DefaultSyncInterval), rounded up to a whole millisecond. It must be
// positive, else Open fails with ErrInvalidArgument.
func WithSyncInterval(d time.Duration) Option {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond > 0 {
		ms++
	}
	return func(c *config) { c.syncIntervalMS, c.syncIntervalSet = ms, true }
}

// WithCompactFactor sets when a durable store writes a snapshot and starts a
// new journal, in a background thread: once the journal written since the
// last snapshot exceeds factor times the live sessions' bytes, and
// WithCompactMinBytes (default DefaultCompactFactor). It must be at least 1,
// else Open fails with ErrInvalidArgument.
func WithCompactFactor(factor int64) Option {
	return func(c *config) { c.compactFactor, c.compactFactorSet = factor, true }
}

// WithCompactMinBytes sets the journal size below which a durable store never
// compacts, whatever WithCompactFactor says (default DefaultCompactMinBytes).
// It must not be negative, else Open fails with ErrInvalidArgument.
func WithCompactMinBytes(n int64) Option {
	return func(c *config) { c.compactMinBytes, c.compactMinBytesSet = n, true }
}

// WithIdleExpiry bounds how long a session may go unwritten (config key
// "idle_expiry_s"): a session whose updated_at is d old expires, and is gone
// at once for every call (Read fails with ErrNotFound; listings, queries and
// exports leave it out) while a background thread of the store reclaims its
// memory within about a second (a ChangeExpire in the feed). With
// WithRefreshOnRead, reads count as activity too. d is rounded up to a whole
// second; 0, the default, is no expiry. A negative d fails Open with
// ErrInvalidArgument.
func WithIdleExpiry(d time.Duration) Option {
	s := durationSeconds(d)
	return func(c *config) { c.idleExpiryS, c.idleExpirySet = s, true }
}

// WithMaxAge bounds the age of a session (config key "max_age_s"): a session
// whose created_at is d old expires, however active, as with WithIdleExpiry.
// d is rounded up to a whole second; 0, the default, is no bound. A negative d
// fails Open with ErrInvalidArgument.
func WithMaxAge(d time.Duration) Option {
	s := durationSeconds(d)
	return func(c *config) { c.maxAgeS, c.maxAgeSet = s, true }
}

// durationSeconds is d in whole seconds, rounded away from zero, so that a
// positive duration never becomes 0 (no bound) and a negative one stays
// negative for the library to refuse.
func durationSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	switch r := d % time.Second; {
	case r > 0:
		s++
	case r < 0:
		s--
	}
	return s
}

// WithRefreshOnRead makes Read (and ReadJSON, AppendReadJSON) refresh a
// session's idle time, as a write does (config key "refresh_on_read"), and
// makes eviction spare, once, a session read since it was last written
// (second chance). Listings and queries do not refresh. It needs
// WithIdleExpiry, else Open fails with ErrInvalidArgument. Reads are
// remembered in memory only: after a durable store reopens, idle time counts
// from each session's updated_at.
func WithRefreshOnRead() Option {
	return func(c *config) { c.refreshOnRead = true }
}

// WithMaxSessions bounds the number of sessions the store holds, of every
// type (config key "max_sessions"). A write that would exceed it evicts the
// least recently written sessions first (ChangeEvict in the feed), or, with
// WithWhenFull(WhenFullRefuse), fails with ErrFull. 0, the default, is no
// bound; a negative n fails Open with ErrInvalidArgument.
func WithMaxSessions(n int64) Option {
	return func(c *config) { c.maxSessions, c.maxSessionsSet = n, true }
}

// WithMaxBytes bounds the stored JSON of all sessions, in bytes (config key
// "max_bytes"; the process holds about 1.3 times that), as WithMaxSessions
// bounds their number. A session that cannot fit even in an empty store fails
// with ErrFull under either policy. 0, the default, is no bound; a negative n
// fails Open with ErrInvalidArgument.
func WithMaxBytes(n int64) Option {
	return func(c *config) { c.maxBytes, c.maxBytesSet = n, true }
}

// WithUserMaxSessions bounds the number of sessions of each user_id (config
// key "user_max_sessions"; sessions without a user are not counted), so that
// one user cannot crowd out the others: a write over a user's quota evicts
// that user's own least recently written sessions, or, with
// WithWhenFull(WhenFullRefuse), fails with ErrFull. 0, the default, is no
// quota; a negative n fails Open with ErrInvalidArgument.
func WithUserMaxSessions(n int64) Option {
	return func(c *config) { c.userMaxSessions, c.userMaxSessionsSet = n, true }
}

// WithUserMaxBytes bounds the stored JSON of each user's sessions, in bytes
// (config key "user_max_bytes"), as WithUserMaxSessions bounds their number.
// 0, the default, is no quota; a negative n fails Open with
// ErrInvalidArgument.
func WithUserMaxBytes(n int64) Option {
	return func(c *config) { c.userMaxBytes, c.userMaxBytesSet = n, true }
}

// WhenFull says what a write that would exceed a bound or a quota does
// (config key "when_full").
type WhenFull string

// The policies of WithWhenFull.
const (
	// WhenFullEvict, the default, evicts the least recently written sessions
	// (of the user, for a quota) until the write fits; the session a write
	// replaces is never evicted to make room for it.
	WhenFullEvict WhenFull = "evict"
	// WhenFullRefuse fails the write with ErrFull and changes nothing.
	WhenFullRefuse WhenFull = "refuse"
)

// WithWhenFull sets what a write over a bound does (default WhenFullEvict).
// An unknown policy fails Open with ErrInvalidArgument.
func WithWhenFull(p WhenFull) Option {
	return func(c *config) { c.whenFull = p }
}

// WithRedis keeps the store on the Redis 7+ (or Valkey) server at url, e.g.
// "redis://127.0.0.1:6379/0" (config keys "backend": "redis" and "url"),
// instead of in this process: every process and machine that opens the same
// url and namespace (WithNamespace) shares the same sessions, and every
// method works as on a store in memory, each call one atomic step on the
// server. The server's own persistence (appendonly, save) is the store's
// durability. Open connects at once: a server that cannot be used fails it
// with ErrUnavailable, as it fails any later call, and the store reconnects
// by itself on a later call once the server is back.
//
// The options of a local store are refused with it (Open fails with
// ErrInvalidArgument): WithPath, WithSync, WithSyncInterval,
// WithCompactFactor, WithCompactMinBytes, WithMaxSessions, WithMaxBytes,
// WithUserMaxSessions, WithUserMaxBytes and WithWhenFull. Expiry
// (WithIdleExpiry, WithMaxAge, WithRefreshOnRead) works, and is the
// namespace's: other settings than the namespace's fail Open with
// ErrInvalidArgument while it holds sessions. url must be valid UTF-8 (else
// ErrInvalidArgument, refused before C); "rediss://" is TLS.
func WithRedis(url string) Option {
	return func(c *config) { c.backend, c.url = "redis", url }
}

// WithNamespace sets the namespace of a store opened with WithRedis (config
// key "namespace"; default "sessionstore"): the start of every key it uses on
// the server, so that stores of different namespaces on one server are
// apart. It must be 1 to 128 bytes of valid UTF-8 (else ErrInvalidArgument;
// invalid UTF-8 is refused before C). Without WithRedis, Open fails with
// ErrInvalidArgument.
func WithNamespace(ns string) Option {
	return func(c *config) { c.namespace, c.namespaceSet = ns, true }
}

// WithConnectTimeout sets how long a store opened with WithRedis waits to
// connect to its server (config key "connect_timeout_ms"; default 2 s, the
// header's SS_DEFAULT_CONNECT_TIMEOUT_MS) before the call fails with
// ErrUnavailable. d is rounded up to a whole millisecond; below one
// millisecond (zero, negative or a fraction of one) Open fails with
// ErrInvalidArgument. Without WithRedis, Open fails with ErrInvalidArgument.
func WithConnectTimeout(d time.Duration) Option {
	ms := timeoutMillis(d)
	return func(c *config) { c.connectTimeoutMS, c.connectTimeout = ms, true }
}

// WithCommandTimeout sets how long a store opened with WithRedis waits for
// one reply of its server (config key "command_timeout_ms"; default 10 s, the
// header's SS_DEFAULT_COMMAND_TIMEOUT_MS) before the call fails with
// ErrUnavailable, and the reply is lost: the change may have been applied. A
// listing of a whole large store is one reply. d is rounded up to a whole
// millisecond; below one millisecond (zero, negative or a fraction of one)
// Open fails with ErrInvalidArgument. Without WithRedis, Open fails with
// ErrInvalidArgument.
func WithCommandTimeout(d time.Duration) Option {
	ms := timeoutMillis(d)
	return func(c *config) { c.commandTimeoutMS, c.commandTimeout = ms, true }
}

// timeoutMillis is d in whole milliseconds, rounded up; a d below one
// millisecond gives 0 or less, for the library to refuse, so that a fraction
// of a millisecond is refused rather than stretched.
func timeoutMillis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d >= time.Millisecond && d%time.Millisecond > 0 {
		ms++
	}
	return ms
}

// json builds the config object by hand: its fields are strings and
// integers, validated by the library, so there is nothing for encoding/json
// to add.
func (c *config) json() []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"mode":`...)
	b = appendJSONString(b, string(c.mode))
	if c.set {
		b = append(b, `,"max_session_bytes":`...)
		b = strconv.AppendInt(b, c.maxSessionBytes, 10)
	}
	if c.nonFinite != "" {
		b = append(b, `,"non_finite_numbers":`...)
		b = appendJSONString(b, string(c.nonFinite))
	}
	if c.feedBytesSet {
		b = append(b, `,"feed_bytes":`...)
		b = strconv.AppendInt(b, c.feedBytes, 10)
	}
	if c.pathSet {
		b = append(b, `,"path":`...)
		b = appendJSONString(b, c.path)
	}
	if c.sync != "" {
		b = append(b, `,"sync":`...)
		b = appendJSONString(b, string(c.sync))
	}
	if c.syncIntervalSet {
		b = append(b, `,"sync_interval_ms":`...)
		b = strconv.AppendInt(b, c.syncIntervalMS, 10)
	}
	if c.compactFactorSet {
		b = append(b, `,"compact_factor":`...)
		b = strconv.AppendInt(b, c.compactFactor, 10)
	}
	if c.compactMinBytesSet {
		b = append(b, `,"compact_min_bytes":`...)
		b = strconv.AppendInt(b, c.compactMinBytes, 10)
	}
	if c.idleExpirySet {
		b = append(b, `,"idle_expiry_s":`...)
		b = strconv.AppendInt(b, c.idleExpiryS, 10)
	}
	if c.maxAgeSet {
		b = append(b, `,"max_age_s":`...)
		b = strconv.AppendInt(b, c.maxAgeS, 10)
	}
	if c.refreshOnRead {
		b = append(b, `,"refresh_on_read":true`...)
	}
	if c.maxSessionsSet {
		b = append(b, `,"max_sessions":`...)
		b = strconv.AppendInt(b, c.maxSessions, 10)
	}
	if c.maxBytesSet {
		b = append(b, `,"max_bytes":`...)
		b = strconv.AppendInt(b, c.maxBytes, 10)
	}
	if c.userMaxSessionsSet {
		b = append(b, `,"user_max_sessions":`...)
		b = strconv.AppendInt(b, c.userMaxSessions, 10)
	}
	if c.userMaxBytesSet {
		b = append(b, `,"user_max_bytes":`...)
		b = strconv.AppendInt(b, c.userMaxBytes, 10)
	}
	if c.whenFull != "" {
		b = append(b, `,"when_full":`...)
		b = appendJSONString(b, string(c.whenFull))
	}
	if c.backend != "" {
		b = append(b, `,"backend":`...)
		b = appendJSONString(b, c.backend)
		b = append(b, `,"url":`...)
		b = appendJSONString(b, c.url)
	}
	if c.namespaceSet {
		b = append(b, `,"namespace":`...)
		b = appendJSONString(b, c.namespace)
	}
	if c.connectTimeout {
		b = append(b, `,"connect_timeout_ms":`...)
		b = strconv.AppendInt(b, c.connectTimeoutMS, 10)
	}
	if c.commandTimeout {
		b = append(b, `,"command_timeout_ms":`...)
		b = strconv.AppendInt(b, c.commandTimeoutMS, 10)
	}
	return append(b, '}')
}

// A ScopeOption narrows the sessions that RenameSession, RenameSessionIf,
// AppendRuns, DeleteSession, DeleteSessionIf and DeleteSessions (and their
// JSON variants) may touch.
type ScopeOption func(*scope)

type scope struct {
	userID string
}

// ForUser limits a rename, append or delete to the sessions of userID, as
// Agno 2's rename_session(user_id=...) and delete_session(user_id=...): a
// rename or append of another user's session (or of one without a user)
// fails with ErrNotFound, a delete leaves it alone and does not count it. ForUser("") is no limit,
// the same as no option; when ForUser is given more than once, the last wins.
func ForUser(userID string) ScopeOption {
	return func(s *scope) { s.userID = userID }
}

func scopeOf(opts []ScopeOption) scope {
	var s scope
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
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

// Query selects, sorts and pages sessions (ss_query): by default those of
// the handle's mode, or of the types in SessionTypes. Zero fields do not
// constrain: time bounds of 0 are absent and a Limit of 0 means no limit.
// Time bounds are inclusive unix seconds.
type Query struct {
	// SessionTypes selects sessions of these types; empty means the handle's
	// mode. []Mode{AnySessionType} selects every type, as Agno 2's
	// get_sessions(session_type=None).
	SessionTypes  []Mode    `json:"session_type,omitempty"`
	UserID        string    `json:"user_id,omitempty"`
	EntityID      string    `json:"entity_id,omitempty"`    // matched against each session's type's entity field
	SessionName   string    `json:"session_name,omitempty"` // substring of session_data.session_name, with full Unicode case folding
	CreatedAfter  int64     `json:"created_after,omitempty"`
	CreatedBefore int64     `json:"created_before,omitempty"`
	UpdatedAfter  int64     `json:"updated_after,omitempty"`
	UpdatedBefore int64     `json:"updated_before,omitempty"`
	SortBy        SortField `json:"sort_by,omitempty"`    // default SortByCreatedAt
	SortOrder     SortOrder `json:"sort_order,omitempty"` // default Desc
	Limit         int       `json:"limit,omitempty"`
	Offset        int       `json:"offset,omitempty"`
	// Fields says what of each session to return: whole sessions (the zero
	// Projection), MetadataFields() or OnlyFields(names...).
	Fields Projection `json:"fields,omitzero"`
}

// Projection is what a Query returns of each session (the query's
// "fields"). The zero value returns each stored session whole.
type Projection struct {
	metadata bool
	names    []string // non-nil for OnlyFields
}

// MetadataFields returns, for list views, only "session_id",
// "session_type", "user_id", the type's entity field, "created_at",
// "updated_at" and, when the session has a name,
// "session_data":{"session_name":...}. The store builds it without reading
// the session, so its cost does not grow with the transcript.
func MetadataFields() Projection { return Projection{metadata: true} }

// OnlyFields returns the named top-level fields of each session, in the
// stored session's order; absent ones are left out. The store accepts at
// most 64 names.
func OnlyFields(names ...string) Projection {
	return Projection{names: append([]string{}, names...)}
}

// IsZero reports whether p is the default: whole sessions.
func (p Projection) IsZero() bool { return !p.metadata && p.names == nil }

// MarshalJSON encodes p as the query's "fields": "all", "metadata" or a
// list of names.
func (p Projection) MarshalJSON() ([]byte, error) {
	switch {
	case p.metadata:
		return []byte(`"metadata"`), nil
	case p.names != nil:
		return json.Marshal(p.names)
	}
	return []byte(`"all"`), nil
}

// String describes p: "all", "metadata" or the list of names.
func (p Projection) String() string {
	if p.names != nil {
		return "[" + strings.Join(p.names, " ") + "]"
	}
	b, _ := p.MarshalJSON()
	return string(b[1 : len(b)-1])
}

// QueryResult is one page of a Query. Total counts every matching session,
// before Offset and Limit.
type QueryResult struct {
	Sessions []*Session `json:"sessions"`
	Total    int        `json:"total"`
}

// Stats describes a store (ss_stats).
type Stats struct {
	Mode Mode `json:"mode"` // the handle's mode
	// Sessions counts the sessions of every type in the (shared) data,
	// expired ones not yet reclaimed included; Bytes is the size of their
	// stored JSON.
	Sessions int          `json:"sessions"`
	Bytes    int64        `json:"bytes"`
	ByType   map[Mode]int `json:"by_type"` // Sessions, per type
	// Feed is the change feed (see Changes).
	Feed FeedStats `json:"feed"`
	// Bounds is what the store holds against its bounds, and what they
	// removed (see WithMaxSessions and WithIdleExpiry).
	Bounds BoundsStats `json:"bounds"`
	// Durability is nil for a store in memory.
	Durability *DurabilityStats `json:"durability"`
}

// FeedStats describes the change feed (the "feed" member of ss_stats).
type FeedStats struct {
	// Store is the store's identity, 32 hexadecimal digits: the one
	// ChangesResult.Store gives (see there). A durable store keeps it across
	// reopens; a store made anew has another.
	Store  string `json:"store"`
	Latest uint64 `json:"latest"` // number of the store's last change
	Oldest uint64 `json:"oldest"` // number of the oldest change kept (Latest+1 when none is)
	Kept   int64  `json:"kept"`   // how many changes the feed keeps
	Bytes  int64  `json:"bytes"`  // what they cost against the budget
	Budget int64  `json:"budget"` // the budget, WithFeedBytes
}

// BoundsStats describes the bounds of a store and what it holds against them
// (the "bounds" member of ss_stats). A bound of 0 is none (the library's
// null).
type BoundsStats struct {
	// Sessions and Bytes are what the store holds against WithMaxSessions
	// and WithMaxBytes: every session of every type, and its stored JSON,
	// expired sessions not yet reclaimed included.
	Sessions int   `json:"sessions"`
	Bytes    int64 `json:"bytes"`
	// The bounds of the config (WithMaxSessions, WithMaxBytes,
	// WithUserMaxSessions, WithUserMaxBytes); 0 is none.
	MaxSessions     int64 `json:"max_sessions"`
	MaxBytes        int64 `json:"max_bytes"`
	UserMaxSessions int64 `json:"user_max_sessions"`
	UserMaxBytes    int64 `json:"user_max_bytes"`
	// IdleExpirySeconds and MaxAgeSeconds are WithIdleExpiry and WithMaxAge
	// in seconds; 0 is none. IdleExpiry and MaxAge give them as durations.
	IdleExpirySeconds int64    `json:"idle_expiry_s"`
	MaxAgeSeconds     int64    `json:"max_age_s"`
	RefreshOnRead     bool     `json:"refresh_on_read"` // WithRefreshOnRead
	WhenFull          WhenFull `json:"when_full"`       // WithWhenFull
	// Expired counts the sessions reclaimed after they expired, and Evicted
	// those evicted to keep a bound, since the store was opened.
	Expired int64 `json:"expired"`
	Evicted int64 `json:"evicted"`
}

// IdleExpiry is IdleExpirySeconds as a duration (0: no idle expiry).
func (b BoundsStats) IdleExpiry() time.Duration {
	return time.Duration(b.IdleExpirySeconds) * time.Second
}

// MaxAge is MaxAgeSeconds as a duration (0: no maximum age).
func (b BoundsStats) MaxAge() time.Duration {
	return time.Duration(b.MaxAgeSeconds) * time.Second
}

// DurabilityStats describes a durable store's files (the "durability" member
// of ss_stats).
type DurabilityStats struct {
	Path               string     `json:"path"`                // the directory, as given to WithPath
	Sync               SyncPolicy `json:"sync"`                // the sync policy
	JournalBytes       int64      `json:"journal_bytes"`       // journal a reopen would read
	SnapshotBytes      int64      `json:"snapshot_bytes"`      // snapshot a reopen would read
	Compactions        int64      `json:"compactions"`         // snapshots written since Open
	CompactionFailures int64      `json:"compaction_failures"` // snapshots that failed since Open
	LastCompactionMS   int64      `json:"last_compaction_ms"`  // duration of the last snapshot
	// LastCompactionError is the message of the last failed snapshot, "" if none.
	LastCompactionError string `json:"last_compaction_error"`
	// Poisoned: an fsync failed; writes fail with ErrPoisoned until reopened.
	Poisoned bool          `json:"poisoned"`
	Recovery RecoveryStats `json:"recovery"` // what Open found
}

// RecoveryStats is what opening a durable store found.
type RecoveryStats struct {
	SnapshotRecords  int64 `json:"snapshot_records"`   // records loaded from the snapshot
	JournalRecords   int64 `json:"journal_records"`    // records replayed from the journal
	TornBytesDropped int64 `json:"torn_bytes_dropped"` // bytes of a torn last append cut off
	FilesRemoved     int64 `json:"files_removed"`      // files of an interrupted compaction deleted
}
