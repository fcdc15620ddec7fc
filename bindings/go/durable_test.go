package sessionstore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDurableReopen writes sessions of two types to a durable store, closes
// it and reads them back from a new store on the same directory, in the same
// order.
func TestDurableReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store") // created by Open
	s, err := Open(WithPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	team, err := s.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	// Ids out of lexical order: the listing must keep first-insertion order.
	for _, id := range []string{"s3", "s1", "s2", "gone"} {
		mustUpsert(t, s, "session_id", id, "user_id", "ava", "memory", map[string]any{"runs": []string{"hello " + id}})
	}
	mustUpsert(t, s, "session_id", "s1", "user_id", "ava", "memory", map[string]any{"runs": []string{"hello s1", "again"}})
	if _, err := s.RenameSession("s2", "Second"); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.DeleteSession("gone"); err != nil || !removed {
		t.Fatalf("DeleteSession = %v, %v", removed, err)
	}
	mustUpsert(t, team, "session_id", "t1", "team_id", "crew")
	before, err := s.ReadJSON("s1", "ava")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	team.Close()

	again, err := Open(WithPath(dir))
	if err != nil {
		t.Fatalf("reopening %s: %v", dir, err)
	}
	defer again.Close()
	got, err := again.GetAllSessionIDs(Filter{})
	if err != nil || !slices.Equal(got, []string{"s3", "s1", "s2"}) {
		t.Fatalf("after reopening: ids %v, %v", got, err)
	}
	after, err := again.ReadJSON("s1", "ava")
	if err != nil || string(after) != string(before) {
		t.Fatalf("s1 after reopening = %s, %v; before %s", after, err, before)
	}
	if s2, err := again.Read("s2", ""); err != nil || s2.Name() != "Second" {
		t.Fatalf("s2 after reopening: %+v, %v", s2, err)
	}
	if _, err := again.Read("gone", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted session came back: %v", err)
	}
	againTeam, err := again.Share(ModeTeam)
	if err != nil {
		t.Fatal(err)
	}
	defer againTeam.Close()
	if got, _ := againTeam.GetAllSessionIDs(Filter{}); !slices.Equal(got, []string{"t1"}) {
		t.Fatalf("team sessions after reopening: %v", got)
	}
	st, err := again.Stats()
	if err != nil || st.Durability == nil || st.Durability.Recovery.JournalRecords+st.Durability.Recovery.SnapshotRecords == 0 {
		t.Fatalf("Stats after reopening = %+v, %v", st, err)
	}
}

// TestDurableLocked: one open store owns its directory, through all its
// handles, until the last one is closed.
func TestDurableLocked(t *testing.T) {
	dir := t.TempDir()
	first := open(t, WithPath(dir))
	second, err := Open(WithPath(dir))
	if second != nil {
		second.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	wantErr(t, err, ErrLocked)
	var e *Error
	if !errors.As(err, &e) || e.Op != "open" || e.Status != StatusLocked || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %#v (%v)", e, err)
	}
	if e.Status.String() != "locked" {
		t.Fatalf("StatusLocked.String() = %q", e.Status)
	}
	shared, err := first.Share("")
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	_, err = Open(WithPath(dir))
	wantErr(t, err, ErrLocked) // the shared handle still holds the store
	shared.Close()
	third, err := Open(WithPath(dir))
	if err != nil {
		t.Fatalf("after the last handle closed: %v", err)
	}
	third.Close()
}

// TestDurableSyncAndStats: Sync succeeds on durable and in-memory stores;
// Stats.Durability names the directory and the policy, and is nil in memory.
func TestDurableSyncAndStats(t *testing.T) {
	for _, p := range []SyncPolicy{"", SyncAlways, SyncInterval, SyncOS} {
		dir := t.TempDir()
		opts := []Option{WithPath(dir), WithMode(ModeWorkflowV2)}
		if p != "" {
			opts = append(opts, WithSync(p))
		}
		s := open(t, opts...)
		mustUpsert(t, s, "session_id", "w1", "runs", []any{})
		if err := s.Sync(); err != nil {
			t.Fatalf("sync %q: Sync() = %v", p, err)
		}
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		want := p
		if want == "" {
			want = SyncAlways
		}
		d := st.Durability
		if d == nil || d.Path != dir || d.Sync != want || d.Poisoned || d.JournalBytes <= 0 || d.LastCompactionError != "" {
			t.Fatalf("sync %q: Stats().Durability = %+v", p, d)
		}
		if st.Mode != ModeWorkflowV2 || st.Sessions != 1 {
			t.Fatalf("sync %q: Stats() = %+v", p, st)
		}
		s.Close()
	}

	mem := open(t)
	if err := mem.Sync(); err != nil {
		t.Fatalf("Sync in memory = %v", err)
	}
	if st, err := mem.Stats(); err != nil || st.Durability != nil {
		t.Fatalf("in-memory Stats().Durability = %+v, %v", st.Durability, err)
	}

	// The other options reach the library and are used.
	dir := t.TempDir()
	s := open(t, WithPath(dir), WithSync(SyncInterval), WithSyncInterval(20*time.Millisecond),
		WithCompactFactor(3), WithCompactMinBytes(1<<20))
	mustUpsert(t, s, "session_id", "a")
	if st, err := s.Stats(); err != nil || st.Durability == nil || st.Durability.Sync != SyncInterval {
		t.Fatalf("Stats() = %+v, %v", st, err)
	}
}

func TestDurableOptions(t *testing.T) {
	for name, c := range map[string]struct {
		opts []Option
		want string
	}{
		"path":            {[]Option{WithPath("/d/x")}, `{"mode":"agent","path":"/d/x"}`},
		"sync":            {[]Option{WithSync(SyncOS)}, `{"mode":"agent","sync":"os"}`},
		"interval":        {[]Option{WithSyncInterval(2 * time.Second)}, `{"mode":"agent","sync_interval_ms":2000}`},
		"interval ceil":   {[]Option{WithSyncInterval(1500 * time.Microsecond)}, `{"mode":"agent","sync_interval_ms":2}`},
		"interval tiny":   {[]Option{WithSyncInterval(1)}, `{"mode":"agent","sync_interval_ms":1}`},
		"interval zero":   {[]Option{WithSyncInterval(0)}, `{"mode":"agent","sync_interval_ms":0}`},
		"compact":         {[]Option{WithCompactFactor(4), WithCompactMinBytes(0)}, `{"mode":"agent","compact_factor":4,"compact_min_bytes":0}`},
		"path with quote": {[]Option{WithPath(`a"b`)}, `{"mode":"agent","path":"a\"b"}`},
	} {
		cfg := config{mode: ModeAgent}
		for _, o := range c.opts {
			o(&cfg)
		}
		if got := string(cfg.json()); got != c.want {
			t.Errorf("%s: config %s, want %s", name, got, c.want)
		}
	}
	if DefaultSyncInterval != time.Second || DefaultCompactFactor != 2 || DefaultCompactMinBytes != 64<<20 {
		t.Fatalf("defaults %v %v %v", DefaultSyncInterval, DefaultCompactFactor, DefaultCompactMinBytes)
	}

	dir := t.TempDir()
	for name, opts := range map[string][]Option{
		"unknown sync":      {WithPath(dir), WithSync("sometimes")},
		"zero interval":     {WithPath(dir), WithSyncInterval(0)},
		"negative interval": {WithPath(dir), WithSyncInterval(-time.Second)},
		"zero factor":       {WithPath(dir), WithCompactFactor(0)},
		"negative min":      {WithPath(dir), WithCompactMinBytes(-1)},
		"empty path":        {WithPath("")},
		"path not UTF-8":    {WithPath("\xff")},
		"NUL in path":       {WithPath("a\x00b")},
	} {
		s, err := Open(opts...)
		if s != nil {
			s.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		wantErr(t, err, ErrInvalidArgument)
	}
	if _, err := Open(WithSync("sometimes")); !strings.Contains(err.Error(), `"sometimes"`) {
		t.Fatalf("the message does not name the value: %v", err)
	}
}

// TestDurableErrors produces ErrIO and ErrCorrupt through real opens; a
// poisoned store needs a failing fsync, so ErrPoisoned is checked through
// its status only (TestErrorMapping, TestStatusesMatchLibrary).
func TestDurableErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(WithPath(file))
	wantErr(t, err, ErrIO)

	damaged := filepath.Join(dir, "damaged")
	if err := os.Mkdir(damaged, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(damaged, "journal-0000000000000000.log"), []byte(strings.Repeat("garbage ", 8)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(WithPath(damaged))
	wantErr(t, err, ErrCorrupt)
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusCorrupt || !strings.Contains(e.Message, "journal-") {
		t.Fatalf("corrupt store: %#v", err)
	}
}
