package sessionstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Expiry is tested through timestamps, not by waiting: a store with an idle
// expiry of an hour is given sessions written in 1970 (Import keeps
// updated_at; an upsert keeps created_at).

// sortedIDs returns the ids of the handle's sessions, sorted.
func sortedIDs(t *testing.T, s *Store) []string {
	t.Helper()
	got, err := s.GetAllSessionIDs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func mustStats(t *testing.T, s *Store) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestBoundsOptions: each option becomes its config key; the bounds come
// back in Stats().Bounds; bad values fail Open with ErrInvalidArgument.
func TestBoundsOptions(t *testing.T) {
	for name, c := range map[string]struct {
		opts []Option
		want string
	}{
		"idle":          {[]Option{WithIdleExpiry(time.Hour)}, `{"mode":"agent","idle_expiry_s":3600}`},
		"idle ceil":     {[]Option{WithIdleExpiry(1500 * time.Millisecond)}, `{"mode":"agent","idle_expiry_s":2}`},
		"idle tiny":     {[]Option{WithIdleExpiry(1)}, `{"mode":"agent","idle_expiry_s":1}`},
		"idle zero":     {[]Option{WithIdleExpiry(0)}, `{"mode":"agent","idle_expiry_s":0}`},
		"idle negative": {[]Option{WithIdleExpiry(-time.Millisecond)}, `{"mode":"agent","idle_expiry_s":-1}`},
		"age":           {[]Option{WithMaxAge(24 * time.Hour)}, `{"mode":"agent","max_age_s":86400}`},
		"refresh":       {[]Option{WithRefreshOnRead()}, `{"mode":"agent","refresh_on_read":true}`},
		"sizes": {[]Option{WithMaxSessions(1), WithMaxBytes(2), WithUserMaxSessions(3), WithUserMaxBytes(4)},
			`{"mode":"agent","max_sessions":1,"max_bytes":2,"user_max_sessions":3,"user_max_bytes":4}`},
		"refuse": {[]Option{WithWhenFull(WhenFullRefuse)}, `{"mode":"agent","when_full":"refuse"}`},
	} {
		cfg := config{mode: ModeAgent}
		for _, o := range c.opts {
			o(&cfg)
		}
		if got := string(cfg.json()); got != c.want {
			t.Errorf("%s: config %s, want %s", name, got, c.want)
		}
	}

	// No bounds: the zero BoundsStats but for the policy.
	st := mustStats(t, open(t))
	if want := (BoundsStats{WhenFull: WhenFullEvict}); st.Bounds != want {
		t.Fatalf("Stats().Bounds of an unbounded store = %+v", st.Bounds)
	}

	s := open(t, WithIdleExpiry(2*time.Hour), WithMaxAge(48*time.Hour), WithRefreshOnRead(),
		WithMaxSessions(100), WithMaxBytes(1<<20), WithUserMaxSessions(10), WithUserMaxBytes(64<<10),
		WithWhenFull(WhenFullRefuse))
	mustUpsert(t, s, "session_id", "a", "user_id", "u")
	st = mustStats(t, s)
	want := BoundsStats{Sessions: 1, Bytes: st.Bytes, MaxSessions: 100, MaxBytes: 1 << 20, UserMaxSessions: 10,
		UserMaxBytes: 64 << 10, IdleExpirySeconds: 7200, MaxAgeSeconds: 172800, RefreshOnRead: true,
		WhenFull: WhenFullRefuse}
	if st.Bounds != want || st.Bytes <= 0 {
		t.Fatalf("Stats().Bounds = %+v, want %+v", st.Bounds, want)
	}
	if st.Bounds.IdleExpiry() != 2*time.Hour || st.Bounds.MaxAge() != 48*time.Hour {
		t.Fatalf("IdleExpiry() = %v, MaxAge() = %v", st.Bounds.IdleExpiry(), st.Bounds.MaxAge())
	}
	// The raw JSON: "bounds" between "feed" and "durability", null for no bound.
	statsJSON, err := open(t, WithMaxSessions(5)).callJSON(nil, opStats, args{})
	if err != nil {
		t.Fatal(err)
	}
	feed, bounds, dur := bytes.Index(statsJSON, []byte(`"feed":`)), bytes.Index(statsJSON, []byte(`"bounds":`)), bytes.Index(statsJSON, []byte(`"durability":`))
	if !(0 < feed && feed < bounds && bounds < dur) || !bytes.Contains(statsJSON, []byte(`"max_sessions":5,"max_bytes":null`)) {
		t.Fatalf("stats JSON %s", statsJSON)
	}

	for name, opts := range map[string][]Option{
		"negative idle expiry":       {WithIdleExpiry(-time.Second)},
		"negative sub-second expiry": {WithIdleExpiry(-time.Nanosecond)},
		"negative max age":           {WithMaxAge(-time.Hour)},
		"negative max sessions":      {WithMaxSessions(-1)},
		"negative max bytes":         {WithMaxBytes(-1)},
		"negative user max sessions": {WithUserMaxSessions(-1)},
		"negative user max bytes":    {WithUserMaxBytes(-1)},
		"refresh without expiry":     {WithRefreshOnRead()},
		"refresh with max age only":  {WithRefreshOnRead(), WithMaxAge(time.Hour)},
		"refresh with a zero expiry": {WithRefreshOnRead(), WithIdleExpiry(0)},
		"unknown when_full":          {WithWhenFull("drop")},
		"capitalised when_full":      {WithWhenFull("Evict")},
	} {
		s, err := Open(opts...)
		if s != nil {
			s.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		wantErr(t, err, ErrInvalidArgument)
	}
	if _, err := Open(WithWhenFull("drop")); !strings.Contains(err.Error(), `"drop"`) {
		t.Fatalf("the message does not name the value: %v", err)
	}
	if _, err := Open(WithRefreshOnRead()); !strings.Contains(err.Error(), "idle_expiry_s") {
		t.Fatalf("the message does not name idle_expiry_s: %v", err)
	}
}

// TestBoundsExpiry: a session not written for longer than the idle expiry is
// gone for every call at once (reads, listings, queries, exports, renames,
// deletes), counted by Stats until reclaimed; a write stores a new session
// in its place. A session older than the maximum age likewise.
func TestBoundsExpiry(t *testing.T) {
	s := open(t, WithIdleExpiry(time.Hour))
	now := time.Now().Unix()
	data := []byte(`{"old":{"session_id":"old","session_type":"agent","user_id":"u","created_at":1000,"updated_at":1000},` +
		`"new":{"session_id":"new","session_type":"agent","user_id":"u","created_at":1000,"updated_at":` +
		jsonInt(now) + `}}`)
	if n, err := s.Import(data); err != nil || n != 2 {
		t.Fatalf("Import = %d, %v", n, err)
	}

	_, err := s.Read("old", "")
	wantErr(t, err, ErrNotFound)
	_, err = s.ReadJSON("old", "u")
	wantErr(t, err, ErrNotFound)
	_, err = s.AppendReadJSON(make([]byte, 0, 4096), "old", "") // through ss_read_into
	wantErr(t, err, ErrNotFound)
	_, err = s.AppendReadJSON(nil, "old", "") // through ss_read
	wantErr(t, err, ErrNotFound)
	if got := mustRead(t, s, "new"); got.UpdatedAt != now {
		t.Fatalf("new = %+v", got)
	}
	if got := sortedIDs(t, s); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("GetAllSessionIDs = %v", got)
	}
	if all, err := s.GetAllSessions(Filter{UserID: "u"}); err != nil || !slices.Equal(ids(all), []string{"new"}) {
		t.Fatalf("GetAllSessions = %v, %v", ids(all), err)
	}
	if recent, err := s.GetRecentSessions(Filter{}, 10); err != nil || !slices.Equal(ids(recent), []string{"new"}) {
		t.Fatalf("GetRecentSessions = %v, %v", ids(recent), err)
	}
	if res, err := s.Query(Query{SessionTypes: []Mode{AnySessionType}, Fields: MetadataFields()}); err != nil ||
		res.Total != 1 || !slices.Equal(ids(res.Sessions), []string{"new"}) {
		t.Fatalf("Query = %+v, %v", res, err)
	}
	for _, export := range []func() ([]byte, error){s.Export, func() ([]byte, error) {
		b, _, err := s.ExportWithSeq()
		return b, err
	}} {
		out, err := export()
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := loadExport(t, out); len(m) != 1 || m["new"] == nil {
			t.Fatalf("export %s", out)
		}
	}
	// Held until the reclaimer (about a second) frees it, then counted as
	// expired: one or the other, whenever this runs.
	if b := mustStats(t, s).Bounds; b.Sessions+int(b.Expired) != 2 || b.Sessions < 1 || b.IdleExpirySeconds != 3600 {
		t.Fatalf("Stats().Bounds = %+v", b)
	}
	_, err = s.RenameSession("old", "x")
	wantErr(t, err, ErrNotFound)
	if ok, err := s.DeleteSession("old"); ok || err != nil {
		t.Fatalf("DeleteSession of an expired session = %v, %v", ok, err)
	}

	// A write stores a new session in its place: another user's, created now.
	fresh := mustUpsert(t, s, "session_id", "old", "user_id", "v")
	if fresh.CreatedAt < now || fresh.UserID != "v" {
		t.Fatalf("upsert over an expired session = %+v", fresh)
	}
	if got := mustRead(t, s, "old"); got.UserID != "v" {
		t.Fatalf("old = %+v", got)
	}
	// The feed has the expiry, once, before the new session.
	res, err := s.Changes(0, 100, IDsOnly())
	if err != nil {
		t.Fatal(err)
	}
	var ops []ChangeOp
	for _, c := range res.Changes {
		if c.SessionID == "old" {
			ops = append(ops, c.Op)
		}
	}
	if !slices.Equal(ops, []ChangeOp{ChangeUpsert, ChangeExpire, ChangeUpsert}) {
		t.Fatalf("changes of old: %v (%+v)", ops, res.Changes)
	}

	// Maximum age: created_at is kept from the upsert, so a session created in
	// 1970 is too old at once.
	aged := open(t, WithMaxAge(time.Hour))
	out, err := aged.UpsertJSON([]byte(`{"session_id":"s","created_at":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := decodeMap(t, out); m["created_at"] != json.Number("1000") {
		t.Fatalf("upsert returned %s", out)
	}
	_, err = aged.Read("s", "")
	wantErr(t, err, ErrNotFound)
	mustUpsert(t, aged, "session_id", "young")
	if got := sortedIDs(t, aged); !slices.Equal(got, []string{"young"}) {
		t.Fatalf("GetAllSessionIDs = %v", got)
	}

	// refresh_on_read leaves reads as they are (the idle time itself cannot
	// be observed without waiting: the example bounded_memory shows it).
	refreshed := open(t, WithIdleExpiry(time.Hour), WithRefreshOnRead())
	mustUpsert(t, refreshed, "session_id", "r")
	if got := mustRead(t, refreshed, "r"); got.SessionID != "r" || !mustStats(t, refreshed).Bounds.RefreshOnRead {
		t.Fatalf("read with refresh_on_read = %+v", got)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestBoundsEviction: with max_sessions 3, writing a, b, c, a again and d
// evicts b, the least recently written; the feed says so right after d's
// upsert, a mirror following the feed stays equal to the store, and Stats
// counts the eviction. Bounds hold across types; a session larger than
// max_bytes is ErrFull even when the store evicts.
func TestBoundsEviction(t *testing.T) {
	s := open(t, WithMaxSessions(3))
	for _, id := range []string{"a", "b", "c", "a"} {
		mustUpsert(t, s, "session_id", id)
	}
	d := mustUpsert(t, s, "session_id", "d")
	if got := sortedIDs(t, s); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("after eviction: %v", got)
	}
	_, err := s.Read("b", "")
	wantErr(t, err, ErrNotFound)
	res, err := s.Changes(0, 100, IDsOnly())
	if err != nil {
		t.Fatal(err)
	}
	last := res.Changes[len(res.Changes)-1]
	if want := (Change{Seq: d.Version + 1, Op: ChangeEvict, SessionType: ModeAgent, SessionID: "b"}); !reflect.DeepEqual(last, want) ||
		len(res.Changes) != 6 || !last.Removed() {
		t.Fatalf("changes %+v, want the last %+v", res.Changes, want)
	}
	feedJSON, err := s.ChangesJSON(d.Version, 10, IDsOnly())
	if err != nil || !bytes.Contains(feedJSON, []byte(`{"seq":`+jsonInt(int64(d.Version+1))+`,"op":"evict","session_type":"agent","session_id":"b"}`)) {
		t.Fatalf("ChangesJSON = %s, %v", feedJSON, err)
	}
	b := mustStats(t, s).Bounds
	if b.Evicted != 1 || b.Sessions != 3 || b.MaxSessions != 3 || b.Expired != 0 {
		t.Fatalf("Stats().Bounds = %+v", b)
	}

	// Every type counts: a team session evicts c, now the least recent.
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	mustUpsert(t, team, "session_id", "t")
	if got := sortedIDs(t, s); !slices.Equal(got, []string{"a", "d"}) {
		t.Fatalf("after a team session: %v", got)
	}

	// A mirror that follows the feed (with the sessions) equals the store.
	full, err := s.Changes(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	m, types := map[string]json.RawMessage{}, map[string]Mode{}
	mirrorApply(t, m, types, full.Changes)
	export, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := loadExport(t, export); !reflect.DeepEqual(m, want) {
		t.Fatalf("mirror %v, export %s", m, export)
	}

	// A user's quota evicts that user's own sessions only.
	q := open(t, WithUserMaxSessions(2))
	mustUpsert(t, q, "session_id", "v1", "user_id", "v")
	for _, id := range []string{"u1", "u2", "u3"} {
		mustUpsert(t, q, "session_id", id, "user_id", "u")
	}
	mustUpsert(t, q, "session_id", "anon")
	if got := sortedIDs(t, q); !slices.Equal(got, []string{"anon", "u2", "u3", "v1"}) {
		t.Fatalf("after a quota eviction: %v", got)
	}

	// Too large for the bound itself: ErrFull under "evict" too, nothing
	// evicted.
	small := open(t, WithMaxBytes(200))
	mustUpsert(t, small, "session_id", "x")
	_, err = small.UpsertJSON(raw(t, "session_id", "big", "memory", strings.Repeat("m", 300)))
	wantErr(t, err, ErrFull)
	if got := sortedIDs(t, small); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("after a refused large session: %v", got)
	}
}

// TestBoundsRefuse: with when_full "refuse", a write over a user's quota
// fails with ErrFull (StatusFull) and changes nothing; another user's
// session, or a rewrite of the user's own, still fits.
func TestBoundsRefuse(t *testing.T) {
	s := open(t, WithWhenFull(WhenFullRefuse), WithUserMaxSessions(1))
	mustUpsert(t, s, "session_id", "s1", "user_id", "u")
	before := mustStats(t, s)

	_, err := s.UpsertJSON(raw(t, "session_id", "s2", "user_id", "u"))
	wantErr(t, err, ErrFull)
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusFull || e.Status.String() != "full" || e.Op != "upsert" {
		t.Fatalf("error %#v", err)
	}
	_, err = s.Upsert(&Session{SessionID: "s2", UserID: "u"})
	wantErr(t, err, ErrFull)
	_, err = s.UpsertMany([]*Session{{SessionID: "w1", UserID: "w"}, {SessionID: "s2", UserID: "u"}})
	wantErr(t, err, ErrFull)
	_, err = s.Import([]byte(`{"s2":{"session_id":"s2","session_type":"agent","user_id":"u"}}`))
	wantErr(t, err, ErrFull)
	_, err = s.Read("s2", "")
	wantErr(t, err, ErrNotFound)
	if got := sortedIDs(t, s); !slices.Equal(got, []string{"s1"}) {
		t.Fatalf("after refusals: %v", got)
	}
	if after := mustStats(t, s); after.Feed.Latest != before.Feed.Latest || after.Bounds != before.Bounds {
		t.Fatalf("refusals changed the store: %+v, then %+v", before, after)
	}

	// The session a write replaces does not count against it.
	if _, err := s.RenameSession("s1", "renamed"); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "session_id", "s1", "user_id", "u")
	// Another user, and a session without a user, still fit.
	mustUpsert(t, s, "session_id", "s3", "user_id", "other")
	mustUpsert(t, s, "session_id", "anon")
	if got := sortedIDs(t, s); !slices.Equal(got, []string{"anon", "s1", "s3"}) {
		t.Fatalf("sessions %v", got)
	}
	if b := mustStats(t, s).Bounds; b.Evicted != 0 || b.WhenFull != WhenFullRefuse || b.UserMaxSessions != 1 {
		t.Fatalf("Stats().Bounds = %+v", b)
	}

	// A store bound refuses likewise, and a byte bound refuses a write
	// that grows a session (an append, a rename).
	total := open(t, WithWhenFull(WhenFullRefuse), WithMaxSessions(1))
	mustUpsert(t, total, "session_id", "a")
	_, err = total.UpsertJSON(raw(t, "session_id", "b"))
	wantErr(t, err, ErrFull)
	sized := open(t, WithWhenFull(WhenFullRefuse), WithMaxBytes(300))
	a := mustUpsert(t, sized, "session_id", "a")
	_, err = sized.AppendRuns("a", []any{strings.Repeat("r", 300)})
	wantErr(t, err, ErrFull)
	_, err = sized.RenameSession("a", strings.Repeat("n", 300))
	wantErr(t, err, ErrFull)
	if got := mustRead(t, sized, "a"); got.Version != a.Version {
		t.Fatalf("a refused append or rename changed the session: %+v", got)
	}
}

// TestBoundsDurable: evictions are journaled, so a reopened durable store
// does not bring back what it evicted, with or without its bounds.
func TestBoundsDurable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(WithPath(dir), WithMaxSessions(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		mustUpsert(t, s, "session_id", id)
	}
	s.Close()
	for _, opts := range [][]Option{{WithPath(dir), WithMaxSessions(2)}, {WithPath(dir)}} {
		again, err := Open(opts...)
		if err != nil {
			t.Fatal(err)
		}
		got := sortedIDs(t, again)
		again.Close()
		if !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("reopened with %d options: %v", len(opts), got)
		}
	}
}
