package sessionstore

import "encoding/json"

// ChangeOp is the kind of a Change in the change feed.
type ChangeOp string

// The kinds of changes.
const (
	// ChangeUpsert: a session was stored (by an upsert, a batch, a rename, an
	// append or an import); Change.Session holds it as stored.
	ChangeUpsert ChangeOp = "upsert"
	// ChangeDelete: the session Change.SessionID was removed by a delete
	// (DeleteSession, DeleteSessionIf, DeleteSessions).
	ChangeDelete ChangeOp = "delete"
	// ChangeExpire: the session Change.SessionID expired (WithIdleExpiry,
	// WithMaxAge) and the store reclaimed it. It was already gone for every
	// call from the moment it expired, before this change.
	ChangeExpire ChangeOp = "expire"
	// ChangeEvict: the session Change.SessionID was evicted to keep a bound
	// or a quota (WithMaxSessions, WithMaxBytes, WithUserMaxSessions,
	// WithUserMaxBytes); it comes right after the changes of the write that
	// made room.
	ChangeEvict ChangeOp = "evict"
	// ChangeDrop: every session of Change.SessionType was removed (Drop).
	ChangeDrop ChangeOp = "drop"
)

// Change is one change of the feed (an element of ss_changes' "changes").
type Change struct {
	// Seq is the change's number: every change to a store is numbered, one
	// above the last, from 1.
	Seq         uint64   `json:"seq"`
	Op          ChangeOp `json:"op"`
	SessionType Mode     `json:"session_type"`
	// SessionID is the session stored or removed; "" for ChangeDrop.
	SessionID string `json:"session_id,omitempty"`
	// Version is the session's version after a ChangeUpsert (equal to Seq);
	// 0 for the other kinds.
	Version uint64 `json:"version,omitempty"`
	// Session is the session as this change stored it, byte for byte, for a
	// ChangeUpsert read without IDsOnly; nil otherwise. DecodeSession decodes
	// it.
	Session json.RawMessage `json:"session,omitempty"`
}

// Removed reports whether c removed one session: a ChangeDelete,
// ChangeExpire or ChangeEvict, which a mirror applies alike.
func (c *Change) Removed() bool {
	return c.Op == ChangeDelete || c.Op == ChangeExpire || c.Op == ChangeEvict
}

// DecodeSession decodes c.Session. It returns nil, nil when the change
// carries no session (a removal, a drop, or a feed read with IDsOnly).
func (c *Change) DecodeSession() (*Session, error) {
	if len(c.Session) == 0 {
		return nil, nil
	}
	return decodeSession(c.Session)
}

// ChangesResult is one page of the change feed (ss_changes).
type ChangesResult struct {
	// Changes are the changes after the requested number, oldest first.
	Changes []Change `json:"changes"`
	// Next is the number to pass as after to the next call: the number of
	// the last change given, or after itself when there were none.
	Next uint64 `json:"next"`
	// Latest is the number of the store's last change; Next == Latest means
	// the reader is up to date.
	Latest uint64 `json:"latest"`
	// Store is the store's identity, 32 hexadecimal digits. Change numbers
	// are a store's own and start again from 1 in a store made anew (an
	// in-memory store, or a durable store in another directory); a durable
	// store keeps its identity across reopens (the file IDENTITY in its
	// directory). A follower keeps Store with the number it remembers, and
	// starts again from ExportWithSeq when the Store it sees differs.
	Store string `json:"store"`
}

// ChangesOption configures Changes and ChangesJSON.
type ChangesOption func(*changesConfig)

type changesConfig struct {
	idsOnly bool
}

// IDsOnly leaves the sessions out of the changes (Change.Session is nil), for
// a reader that only needs to know what changed ({"ids_only":true}).
func IDsOnly() ChangesOption {
	return func(c *changesConfig) { c.idsOnly = true }
}

// Changes returns the store's changes numbered above after, oldest first, at
// most limit of them (and at most MaxChanges): the change feed, which covers
// the sessions of every type, whatever this handle's mode. Pass 0 to start
// from the first change the feed holds, then Next of each result.
//
// To mirror a store: ExportWithSeq gives every session and the number of the
// last change the export holds; apply it, then follow Changes from that
// number, applying the changes in order. Nothing is missed and nothing is
// seen twice. Keep ChangesResult.Store (or Stats().Feed.Store) with the
// number: numbers are the store's own, so a follower that finds another
// identity (a store made anew, whose numbers start again from 1) must start
// again from ExportWithSeq, whatever the numbers say.
//
// The feed keeps the latest changes up to the store's feed budget (see
// WithFeedBytes). A reader that fell further behind, or that asks with a
// number above Latest (from before an in-memory store was made anew), gets
// ErrFeedTruncated and must start again from ExportWithSeq. A limit below 1
// fails with ErrInvalidArgument.
func (s *Store) Changes(after uint64, limit int, opts ...ChangesOption) (*ChangesResult, error) {
	out, err := s.ChangesJSON(after, limit, opts...)
	if err != nil {
		return nil, err
	}
	var r ChangesResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, err
	}
	if r.Changes == nil {
		r.Changes = []Change{}
	}
	return &r, nil
}

// ChangesJSON is Changes returning the library's JSON:
// {"changes":[...],"next":N,"latest":L,"store":"<32 hex digits>"}.
func (s *Store) ChangesJSON(after uint64, limit int, opts ...ChangesOption) ([]byte, error) {
	if limit < 1 {
		return nil, argError(opChanges.name, "limit must be at least 1")
	}
	var c changesConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	in := args{limit: int64(min(limit, MaxChanges)), num: after} // NULL options
	if c.idsOnly {
		in.a, in.n = bytesPtr(idsOnlyJSON), len(idsOnlyJSON)
	}
	return s.callJSON(nil, opChanges, in)
}

var idsOnlyJSON = []byte(`{"ids_only":true}`)

// ExportWithSeq is Export, and the number of the last change the export
// holds: follow the store from there with Changes(seq, ...). The export is
// one consistent state of the store, the one right after change seq.
func (s *Store) ExportWithSeq() (data []byte, seq uint64, err error) {
	r, err := s.call(opExportWithSeq, args{}, nil)
	if err != nil {
		return nil, 0, err
	}
	return takeBytes(r.json, r.len), uint64(r.seq), nil
}
