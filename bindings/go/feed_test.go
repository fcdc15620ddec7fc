package sessionstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestChanges: the feed gives every change in order, with its number, kind,
// type and id, and the session as stored; IDsOnly leaves the sessions out;
// Next and Latest page through it.
func TestChanges(t *testing.T) {
	s := open(t)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()

	empty, err := s.Changes(0, 10)
	if err != nil || len(empty.Changes) != 0 || empty.Changes == nil || empty.Next != 0 || empty.Latest != 0 ||
		!isStoreID(empty.Store) {
		t.Fatalf("Changes on an empty store = %+v, %v", empty, err)
	}

	a := mustUpsert(t, s, "session_id", "a", "user_id", "u")
	tm := mustUpsert(t, team, "session_id", "t")
	renamed, err := s.RenameSession("a", "named")
	if err != nil {
		t.Fatal(err)
	}
	appended, err := s.AppendRunsJSON("a", []byte(`[{"input":"hi"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSession("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := team.Drop(); err != nil {
		t.Fatal(err)
	}

	type want struct {
		op      ChangeOp
		typ     Mode
		id      string
		session []byte
	}
	wants := []want{
		{ChangeUpsert, ModeAgent, "a", nil},
		{ChangeUpsert, ModeTeam, "t", nil},
		{ChangeUpsert, ModeAgent, "a", nil},
		{ChangeUpsert, ModeAgent, "a", appended},
		{ChangeDelete, ModeAgent, "a", nil},
		{ChangeDrop, ModeTeam, "", nil},
	}
	wants[0].session, _ = json.Marshal(a) // compared as values below
	wants[1].session, _ = json.Marshal(tm)
	wants[2].session, _ = json.Marshal(renamed)

	res, err := s.Changes(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != len(wants) || res.Next != a.Version+5 || res.Latest != res.Next || res.Store != empty.Store {
		t.Fatalf("Changes(0) = %+v", res)
	}
	for i, c := range res.Changes {
		w := wants[i]
		if c.Seq != a.Version+uint64(i) || c.Op != w.op || c.SessionType != w.typ || c.SessionID != w.id {
			t.Fatalf("change %d = %+v, want %+v", i, c, w)
		}
		if c.Op != ChangeUpsert {
			if c.Session != nil || c.Version != 0 {
				t.Fatalf("change %d (%s) carries a session or a version: %+v", i, c.Op, c)
			}
			continue
		}
		if c.Version != c.Seq {
			t.Fatalf("change %d: version %d, seq %d", i, c.Version, c.Seq)
		}
		if !reflect.DeepEqual(decodeMap(t, c.Session), decodeMap(t, w.session)) {
			t.Fatalf("change %d: session %s, want %s", i, c.Session, w.session)
		}
		sess, err := c.DecodeSession()
		if err != nil || sess.SessionID != w.id || sess.Version != c.Seq {
			t.Fatalf("change %d: DecodeSession = %+v, %v", i, sess, err)
		}
	}
	// The appended session is given byte for byte as stored.
	if !bytes.Equal(res.Changes[3].Session, appended) {
		t.Fatalf("feed session %s\nstored         %s", res.Changes[3].Session, appended)
	}

	// Paging: limit, Next, and an up-to-date reader.
	var seen []uint64
	for after := uint64(0); ; {
		page, err := s.Changes(after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 4 {
			t.Fatalf("limit 4 gave %d changes", len(page.Changes))
		}
		for _, c := range page.Changes {
			seen = append(seen, c.Seq)
		}
		if len(page.Changes) == 0 {
			if page.Next != after || page.Latest != res.Latest {
				t.Fatalf("up to date: %+v after %d", page, after)
			}
			break
		}
		after = page.Next
	}
	if len(seen) != 6 || seen[0] != a.Version || seen[5] != res.Latest {
		t.Fatalf("paged through %v", seen)
	}

	// IDsOnly, through both variants.
	ids, err := s.Changes(0, 100, IDsOnly())
	if err != nil || len(ids.Changes) != 6 {
		t.Fatalf("IDsOnly: %+v, %v", ids, err)
	}
	for i, c := range ids.Changes {
		if c.Session != nil || c.SessionID != res.Changes[i].SessionID || c.Seq != res.Changes[i].Seq {
			t.Fatalf("IDsOnly change %d = %+v", i, c)
		}
		if sess, err := c.DecodeSession(); sess != nil || err != nil {
			t.Fatalf("DecodeSession without a session = %+v, %v", sess, err)
		}
	}
	raw, err := s.ChangesJSON(res.Latest-1, 10, IDsOnly())
	wantJSON := fmt.Sprintf(`{"changes":[{"seq":%d,"op":"drop","session_type":"team"}],"next":%[1]d,"latest":%[1]d,"store":%q}`,
		res.Latest, res.Store)
	if err != nil || string(raw) != wantJSON {
		t.Fatalf("ChangesJSON = %s, %v; want %s", raw, err, wantJSON)
	}
	if raw, err := s.ChangesJSON(0, 1); err != nil || !strings.Contains(string(raw), `"session":{"session_id":"a"`) {
		t.Fatalf("ChangesJSON(0, 1) = %s, %v", raw, err)
	}

	// A limit above MaxChanges is capped, not refused; below 1 is refused.
	if res, err := s.Changes(0, 1<<40); err != nil || len(res.Changes) != 6 {
		t.Fatalf("Changes(0, huge) = %+v, %v", res, err)
	}
	for _, limit := range []int{0, -1, -1 << 62} {
		_, err := s.Changes(0, limit)
		wantErr(t, err, ErrInvalidArgument)
		_, err = s.ChangesJSON(0, limit)
		wantErr(t, err, ErrInvalidArgument)
	}
	if MaxChanges != 10000 {
		t.Fatalf("MaxChanges = %d", MaxChanges)
	}

	// A number this store never reached (another life of an in-memory store).
	_, err = s.Changes(res.Latest+1, 10)
	wantErr(t, err, ErrFeedTruncated)
	var e *Error
	if !errors.As(err, &e) || e.Op != "changes" || e.Status != StatusFeedTruncated {
		t.Fatalf("Changes(latest+1): %#v", err)
	}
}

// TestFeedTruncated: a small feed keeps only the latest changes; a reader
// that fell behind gets ErrFeedTruncated, and one within the window does not.
// Stats.Feed reports the window.
func TestFeedTruncated(t *testing.T) {
	const budget = 2048
	s := open(t, WithFeedBytes(budget))
	for i := range 50 {
		mustUpsert(t, s, "session_id", fmt.Sprintf("s%d", i), "memory", strings.Repeat("m", 100))
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	f := st.Feed
	if f.Latest != 50 || f.Budget != budget || f.Oldest <= 1 || f.Oldest > f.Latest ||
		f.Kept != int64(f.Latest-f.Oldest+1) || f.Bytes <= 0 || f.Bytes > budget {
		t.Fatalf("Stats().Feed = %+v", f)
	}
	_, err = s.Changes(0, 10)
	wantErr(t, err, ErrFeedTruncated)
	_, err = s.Changes(f.Oldest-2, 10)
	wantErr(t, err, ErrFeedTruncated)
	res, err := s.Changes(f.Oldest-1, 100) // the oldest kept change is the first given
	if err != nil || len(res.Changes) != int(f.Kept) || res.Changes[0].Seq != f.Oldest {
		t.Fatalf("Changes(oldest-1) = %+v, %v", res, err)
	}

	// feed_bytes 0 keeps nothing: only "nothing new" or ErrFeedTruncated.
	none := open(t, WithFeedBytes(0))
	mustUpsert(t, none, "session_id", "x")
	if res, err := none.Changes(1, 10); err != nil || len(res.Changes) != 0 || res.Latest != 1 {
		t.Fatalf("Changes(latest) with no feed = %+v, %v", res, err)
	}
	_, err = none.Changes(0, 10)
	wantErr(t, err, ErrFeedTruncated)
	if st, err := none.Stats(); err != nil || st.Feed.Kept != 0 || st.Feed.Budget != 0 || st.Feed.Oldest != 2 {
		t.Fatalf("Stats().Feed with no feed = %+v, %v", st.Feed, err)
	}

	// The default budget, and a bad one.
	if st, err := open(t).Stats(); err != nil || st.Feed.Budget != DefaultFeedBytes || DefaultFeedBytes != 16<<20 {
		t.Fatalf("default feed budget %d, DefaultFeedBytes %d, %v", st.Feed.Budget, DefaultFeedBytes, err)
	}
	_, err = Open(WithFeedBytes(-1))
	wantErr(t, err, ErrInvalidArgument)
	if got := string((&config{mode: ModeAgent, feedBytes: 7, feedBytesSet: true}).json()); got != `{"mode":"agent","feed_bytes":7}` {
		t.Fatalf("config JSON %s", got)
	}
}

// mirrorApply applies changes to a mirror of the store: session id to its
// stored JSON, plus the type of each.
func mirrorApply(t *testing.T, m map[string]json.RawMessage, types map[string]Mode, changes []Change) {
	t.Helper()
	for _, c := range changes {
		switch c.Op {
		case ChangeUpsert:
			m[c.SessionID] = c.Session
			types[c.SessionID] = c.SessionType
		case ChangeDelete, ChangeExpire, ChangeEvict:
			if !c.Removed() {
				t.Fatalf("%+v: Removed() is false", c)
			}
			delete(m, c.SessionID)
			delete(types, c.SessionID)
		case ChangeDrop:
			for id, typ := range types {
				if typ == c.SessionType {
					delete(m, id)
					delete(types, id)
				}
			}
		default:
			t.Fatalf("unknown change %+v", c)
		}
	}
}

// loadExport parses an export into a mirror.
func loadExport(t *testing.T, data []byte) (map[string]json.RawMessage, map[string]Mode) {
	t.Helper()
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	types := map[string]Mode{}
	for id, sess := range m {
		var head struct {
			SessionType Mode `json:"session_type"`
		}
		if err := json.Unmarshal(sess, &head); err != nil {
			t.Fatal(err)
		}
		types[id] = head.SessionType
	}
	return m, types
}

// TestExportWithSeqMirror: an export with its change number, then the feed
// after that number, rebuilds the store exactly (byte for byte per session),
// even when writers of every kind run while the export is taken.
func TestExportWithSeqMirror(t *testing.T) {
	s := open(t)
	handles := []*Store{s}
	for _, m := range []Mode{ModeTeam, ModeWorkflowV2} {
		h, err := s.Share(m)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		handles = append(handles, h)
	}
	for i := range 20 {
		mustUpsert(t, handles[i%3], "session_id", fmt.Sprintf("pre%d", i), "runs", []any{})
	}

	// Writers upsert, append, rename, delete and drop while the mirror
	// exports.
	const writers, rounds = 4, 60
	var wg, started sync.WaitGroup
	errs := make(chan error, writers)
	for k := range writers {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			h := handles[k%3]
			for r := range rounds {
				if r == 10 {
					started.Done() // the export starts once every writer is under way
				}
				id := fmt.Sprintf("w%d-%d", k, r%7)
				var err error
				switch r % 6 {
				case 0, 1:
					_, err = h.UpsertJSON(fmt.Appendf(nil, `{"session_id":%q,"round":%d,"memory":{"runs":[]}}`, id, r))
				case 2:
					_, err = h.AppendRunsJSON(id, fmt.Appendf(nil, `[{"r":%d}]`, r))
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				case 3:
					_, err = h.RenameSession(id, fmt.Sprintf("round %d", r))
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				case 4:
					_, err = h.DeleteSession(id)
				case 5:
					if k == 0 && r == 35 {
						_, err = handles[2].Drop()
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", k, r, err)
					if r < 10 {
						started.Done()
					}
					return
				}
			}
		}()
	}
	started.Wait()
	data, seq, err := s.ExportWithSeq()
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mirror, types := loadExport(t, data)
	for after := seq; ; {
		page, err := s.Changes(after, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 0 && page.Changes[0].Seq != after+1 {
			t.Fatalf("after %d the feed starts at %d", after, page.Changes[0].Seq)
		}
		mirrorApply(t, mirror, types, page.Changes)
		after = page.Next
		if after == page.Latest {
			break
		}
	}
	fresh, freshSeq, err := s.ExportWithSeq()
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(); freshSeq != st.Feed.Latest {
		t.Fatalf("ExportWithSeq of a quiet store: seq %d, latest %d", freshSeq, st.Feed.Latest)
	}
	want, _ := loadExport(t, fresh)
	if len(mirror) != len(want) {
		t.Fatalf("mirror has %d sessions, the store %d", len(mirror), len(want))
	}
	for id, sess := range want {
		if !bytes.Equal(mirror[id], sess) {
			t.Fatalf("session %q: mirror %s\nstore %s", id, mirror[id], sess)
		}
	}
	// The export itself matches Export.
	if plain, err := s.Export(); err != nil || !bytes.Equal(plain, fresh) {
		t.Fatalf("Export differs from ExportWithSeq: %v", err)
	}
}

// TestVersionsDurable: a durable store numbers on across reopens.
func TestVersionsDurable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(WithPath(dir), WithSync(SyncOS))
	if err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "session_id", "a")
	v := mustUpsert(t, s, "session_id", "a").Version
	s.Close()
	s = open(t, WithPath(dir))
	if got := mustRead(t, s, "a").Version; got != v {
		t.Fatalf("version after reopen %d, before %d", got, v)
	}
	if st, err := s.Stats(); err != nil || st.Feed.Latest != v {
		t.Fatalf("Stats().Feed after reopen = %+v, %v", st.Feed, err)
	}
	next, err := s.UpsertIf(&Session{SessionID: "a"}, v)
	if err != nil || next.Version != v+1 {
		t.Fatalf("UpsertIf after reopen = %+v, %v", next, err)
	}
	res, err := s.Changes(v, 10)
	if err != nil || len(res.Changes) != 1 || res.Changes[0].Seq != v+1 {
		t.Fatalf("Changes after reopen = %+v, %v", res, err)
	}
}

// isStoreID says whether id is a store identity: 32 hexadecimal digits.
func isStoreID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// storeID returns the identity of s, checking that Changes, ChangesJSON and
// Stats agree on it (and that it is 32 hexadecimal digits).
func storeID(t *testing.T, s *Store) string {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Changes(st.Feed.Latest, 1) // up to date: never truncated
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.ChangesJSON(st.Feed.Latest, 1, IDsOnly())
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON struct {
		Store string `json:"store"`
	}
	if err := json.Unmarshal(raw, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !isStoreID(res.Store) || st.Feed.Store != res.Store || fromJSON.Store != res.Store {
		t.Fatalf("store identity: Changes %q, Stats().Feed %q, ChangesJSON %q", res.Store, st.Feed.Store, fromJSON.Store)
	}
	return res.Store
}

// TestStoreIdentity: every handle on one store sees one identity; two stores
// made anew, in memory or durable in two directories, have two; a durable
// store keeps its identity across reopens, and a store in memory does not
// share it with a durable one loaded from its export.
func TestStoreIdentity(t *testing.T) {
	s := open(t)
	id := storeID(t, s)
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, team, "session_id", "t")
	if got := storeID(t, team); got != id {
		t.Fatalf("a shared handle's identity %s, the store's %s", got, id)
	}
	if got := storeID(t, s); got != id {
		t.Fatalf("the identity changed with a write: %s, then %s", id, got)
	}
	other := open(t)
	if got := storeID(t, other); got == id {
		t.Fatalf("two stores made anew have the same identity %s", id)
	}
	// A store made anew and loaded from an export: the same sessions, the
	// same numbers, but another store.
	data, _, err := s.ExportWithSeq()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Import(data); err != nil {
		t.Fatal(err)
	}
	if got := storeID(t, other); got == id {
		t.Fatalf("an imported copy has the identity %s of its source", id)
	}

	// Durable: the identity survives reopens; another directory has another.
	dir := filepath.Join(t.TempDir(), "store")
	d, err := Open(WithPath(dir), WithSync(SyncOS))
	if err != nil {
		t.Fatal(err)
	}
	did := storeID(t, d)
	mustUpsert(t, d, "session_id", "a")
	d.Close()
	if b, err := os.ReadFile(filepath.Join(dir, "IDENTITY")); err != nil || strings.TrimSpace(string(b)) != did {
		t.Fatalf("IDENTITY holds %q (%v), the store said %s", b, err, did)
	}
	for range 2 {
		d = open(t, WithPath(dir))
		if got := storeID(t, d); got != did {
			t.Fatalf("identity after reopen %s, before %s", got, did)
		}
		mustUpsert(t, d, "session_id", "a")
		d.Close()
	}
	if did == id || did == storeID(t, open(t, WithPath(filepath.Join(t.TempDir(), "other")))) {
		t.Fatalf("two stores share the identity %s", did)
	}
}
