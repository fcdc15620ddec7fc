// Command feed_mirror keeps a directory of one JSON file per session up to
// date with a store, from the store's change feed: a backup, a search
// indexer or a cache would follow the store the same way.
//
// The mirror directory holds <session_type>/<session id>.json for every
// session, a file "seq" with the number of the last change applied, and a
// file "store" with the identity of the store those numbers belong to. On
// its first start (no "seq"), a mirror loads ExportWithSeq into the directory
// and remembers the number the export holds and the store's identity; after
// that, and after a restart, it reads them back and applies Changes from the
// number: upserts write the session's file, deletes remove it, drops remove
// that type's directory. It loads a fresh export again when it fell too far
// behind for the feed (ErrFeedTruncated), and when the store it follows is
// not the one it remembers (ChangesResult.Store differs): change numbers are
// a store's own and start again from 1 in a store made anew, so a remembered
// number says nothing about another store, even when that store has reached
// it.
//
// The program demonstrates it on an in-memory store with a small feed:
// changes, a first mirror, more changes, a "restart" (a new Mirror on the
// same directory, which continues from the remembered number), more changes;
// then a store made anew (a new in-memory store, numbered from 1 again, which
// has already gone past the remembered number) that a restarted mirror must
// notice and resynchronise from; then a burst larger than the feed keeps,
// which makes the mirror resynchronise again. After each step it checks that
// the directory equals a fresh export of the store it follows, byte for
// byte, and exits with status 1 if it does not.
//
//	go run ./examples/feed_mirror [DIR]   (default: a temporary directory, removed at the end)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	sessionstore "github.com/sessionstore/sessionstore/bindings/go"
)

// seqFile holds the number of the last change the directory reflects, and
// storeFile the identity of the store whose number it is.
const (
	seqFile   = "seq"
	storeFile = "store"
)

// Mirror keeps a directory up to date with a store.
type Mirror struct {
	store    *sessionstore.Store
	dir      string
	seq      uint64 // the last change applied
	storeID  string // the identity of the store seq belongs to
	started  bool   // whether dir holds a mirror (seqFile and storeFile were there)
	pageSize int
}

// NewMirror returns the mirror of store in dir, continuing from the number
// (and store identity) remembered in dir if there is one.
func NewMirror(store *sessionstore.Store, dir string) (*Mirror, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &Mirror{store: store, dir: dir, pageSize: 4} // small, to show the paging; take hundreds
	seq, err := os.ReadFile(filepath.Join(dir, seqFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	} else if err != nil {
		return nil, err
	}
	id, err := os.ReadFile(filepath.Join(dir, storeFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil // a number without its store (an older mirror): start again
	} else if err != nil {
		return nil, err
	}
	if m.seq, err = strconv.ParseUint(strings.TrimSpace(string(seq)), 10, 64); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, seqFile), err)
	}
	m.storeID = strings.TrimSpace(string(id))
	m.started = true
	return m, nil
}

// Report says what one Sync did.
type Report struct {
	Resync  string // why it loaded an export ("" if it followed the feed)
	Loaded  int    // sessions written from the export
	Applied int    // changes applied from the feed
	Seq     uint64 // the number the directory is at
}

func (r Report) String() string {
	s := fmt.Sprintf("applied %d changes", r.Applied)
	if r.Resync != "" {
		s = fmt.Sprintf("loaded an export of %d sessions (%s), then %s", r.Loaded, r.Resync, s)
	}
	return s + fmt.Sprintf(", now at change %d", r.Seq)
}

// Sync brings the directory up to date: from an export on the first start,
// then from the feed, page by page, until it has the store's latest change.
func (m *Mirror) Sync() (Report, error) {
	var rep Report
	if !m.started {
		if err := m.resync(&rep, "first start"); err != nil {
			return rep, err
		}
	}
	for {
		res, err := m.store.Changes(m.seq, m.pageSize)
		if errors.Is(err, sessionstore.ErrFeedTruncated) {
			// Fell behind what the feed keeps, or a store made anew has not
			// reached the number yet: start again from an export.
			why := fmt.Sprintf("feed truncated after change %d", m.seq)
			if st, err := m.store.Stats(); err == nil && st.Feed.Store != m.storeID {
				why = anotherStore(m.storeID, st.Feed.Store)
			}
			if err := m.resync(&rep, why); err != nil {
				return rep, err
			}
			continue
		}
		if err != nil {
			return rep, err
		}
		if res.Store != m.storeID {
			// Another store: its numbers are not the ones remembered, even
			// when it has reached them. Nothing of this page is applied.
			if err := m.resync(&rep, anotherStore(m.storeID, res.Store)); err != nil {
				return rep, err
			}
			continue
		}
		for _, c := range res.Changes {
			if err := m.apply(c); err != nil {
				return rep, err
			}
		}
		rep.Applied += len(res.Changes)
		// Remembered after the page is applied: a crash in between applies
		// the page again on restart, which leaves the same files.
		if err := m.saveSeq(res.Next); err != nil {
			return rep, err
		}
		if len(res.Changes) == 0 || res.Next >= res.Latest {
			rep.Seq = m.seq
			return rep, nil
		}
	}
}

func anotherStore(remembered, now string) string {
	return fmt.Sprintf("another store: identity %s, the mirror's is %s", now, remembered)
}

// resync replaces the directory's sessions with an export. The remembered
// number goes first, so that a resync interrupted by a crash is redone on
// restart rather than followed from a number the files do not match.
func (m *Mirror) resync(rep *Report, why string) error {
	if err := os.Remove(filepath.Join(m.dir, seqFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m.started = false
	// The identity of the store the export comes from: a handle's store
	// keeps one identity all its life.
	st, err := m.store.Stats()
	if err != nil {
		return err
	}
	data, seq, err := m.store.ExportWithSeq()
	if err != nil {
		return err
	}
	var sessions map[string]json.RawMessage
	if err := json.Unmarshal(data, &sessions); err != nil {
		return err
	}
	for _, t := range sessionTypes {
		if err := os.RemoveAll(filepath.Join(m.dir, string(t))); err != nil {
			return err
		}
	}
	for id, sess := range sessions {
		var head struct {
			SessionType sessionstore.Mode `json:"session_type"`
		}
		if err := json.Unmarshal(sess, &head); err != nil {
			return err
		}
		if err := m.write(head.SessionType, id, sess); err != nil {
			return err
		}
	}
	rep.Resync, rep.Loaded = why, len(sessions)
	// The identity before the number: the number is what marks the
	// directory as a mirror (see NewMirror).
	if err := writeAtomic(filepath.Join(m.dir, storeFile), []byte(st.Feed.Store)); err != nil {
		return err
	}
	m.storeID = st.Feed.Store
	m.started = true
	return m.saveSeq(seq)
}

var sessionTypes = []sessionstore.Mode{sessionstore.ModeAgent, sessionstore.ModeTeam,
	sessionstore.ModeWorkflow, sessionstore.ModeWorkflowV2}

// apply makes one change to the directory.
func (m *Mirror) apply(c sessionstore.Change) error {
	switch c.Op {
	case sessionstore.ChangeUpsert:
		return m.write(c.SessionType, c.SessionID, c.Session)
	case sessionstore.ChangeDelete, sessionstore.ChangeExpire, sessionstore.ChangeEvict:
		err := os.Remove(m.path(c.SessionType, c.SessionID))
		if errors.Is(err, os.ErrNotExist) {
			return nil // applied before a crash, or never mirrored
		}
		return err
	case sessionstore.ChangeDrop:
		return os.RemoveAll(filepath.Join(m.dir, string(c.SessionType)))
	}
	return fmt.Errorf("change %d: unknown op %q", c.Seq, c.Op)
}

// path is the file of a session: ids may hold any character, so they are
// escaped (a '/' becomes %2F). A real mirror would also bound the length of
// the name, which file systems limit to 255 bytes.
func (m *Mirror) path(t sessionstore.Mode, id string) string {
	return filepath.Join(m.dir, string(t), url.PathEscape(id)+".json")
}

func (m *Mirror) write(t sessionstore.Mode, id string, session []byte) error {
	if !slices.Contains(sessionTypes, t) {
		return fmt.Errorf("session %q: unknown type %q", id, t)
	}
	if err := os.MkdirAll(filepath.Join(m.dir, string(t)), 0o755); err != nil {
		return err
	}
	return writeAtomic(m.path(t, id), session)
}

func (m *Mirror) saveSeq(seq uint64) error {
	if err := writeAtomic(filepath.Join(m.dir, seqFile), strconv.AppendUint(nil, seq, 10)); err != nil {
		return err
	}
	m.seq = seq
	return nil
}

// writeAtomic replaces a file with data, through a temporary file and a
// rename, so that a reader (or a crash) never sees half of it.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// verify checks that dir holds exactly the sessions of a fresh export, byte
// for byte, each under its type, and remembers the export's number and the
// store's identity.
func verify(store *sessionstore.Store, dir string) error {
	data, seq, err := store.ExportWithSeq()
	if err != nil {
		return err
	}
	st, err := store.Stats()
	if err != nil {
		return err
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(data, &want); err != nil {
		return err
	}
	got := map[string]json.RawMessage{}
	for _, t := range sessionTypes {
		files, err := filepath.Glob(filepath.Join(dir, string(t), "*.json"))
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			var head struct {
				SessionID   string            `json:"session_id"`
				SessionType sessionstore.Mode `json:"session_type"`
			}
			if err := json.Unmarshal(b, &head); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if head.SessionType != t || filepath.Base(f) != url.PathEscape(head.SessionID)+".json" {
				return fmt.Errorf("%s holds session %q of type %s", f, head.SessionID, head.SessionType)
			}
			got[head.SessionID] = b
		}
	}
	for id, sess := range want {
		if !bytes.Equal(got[id], sess) {
			return fmt.Errorf("session %q: the mirror has %.60q, the store %.60q", id, got[id], sess)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			return fmt.Errorf("the mirror has session %q, which the store does not", id)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, seqFile))
	if err != nil {
		return err
	}
	if string(b) != strconv.FormatUint(seq, 10) {
		return fmt.Errorf("the mirror remembers change %s, the export holds %d", b, seq)
	}
	if b, err = os.ReadFile(filepath.Join(dir, storeFile)); err != nil {
		return err
	}
	if string(b) != st.Feed.Store {
		return fmt.Errorf("the mirror remembers store %s, the store is %s", b, st.Feed.Store)
	}
	fmt.Printf("  verified: the directory equals a fresh export (%d sessions, change %d of store %s)\n",
		len(want), seq, st.Feed.Store)
	return nil
}

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// syncAndCheck runs one Sync, checks how it went (resync says whether an
// export had to be loaded) and verifies the directory. It returns the
// report.
func syncAndCheck(m *Mirror, store *sessionstore.Store, step string, resync bool) Report {
	rep, err := m.Sync()
	if err != nil {
		fail("%s: %v", step, err)
	}
	fmt.Printf("%s: %s\n", step, rep)
	if (rep.Resync != "") != resync {
		fail("%s: resynchronised %v, expected %v", step, rep.Resync != "", resync)
	}
	if err := verify(store, m.dir); err != nil {
		fail("%s: %v", step, err)
	}
	return rep
}

func main() {
	dir := ""
	if len(os.Args) > 1 {
		// The directory is new, or a mirror left by an earlier run: the
		// demo's store is in memory, new on every run, so the mirror finds
		// another store there and starts again from an export (the first
		// step resynchronises either way). Anything else is refused, since
		// a resync replaces the directory's type subdirectories.
		dir = os.Args[1]
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(dir, seqFile)); err != nil {
				fail("%s is neither empty nor a mirror: give a new directory", dir)
			}
		}
	} else {
		dir = must(os.MkdirTemp("", "sessionstore-feed-mirror-"))
		defer os.RemoveAll(dir)
	}
	fmt.Println("mirror directory:", dir)

	// A small feed (64 KiB), so that the burst below outruns it.
	agents := must(sessionstore.Open(sessionstore.WithFeedBytes(64 << 10)))
	defer agents.Close()
	teams := must(agents.Share(sessionstore.ModeTeam))
	defer teams.Close()

	// 1. Some sessions, then the first mirror: it loads an export.
	for i := range 5 {
		sess := &sessionstore.Session{SessionID: fmt.Sprintf("chat/%d", i), UserID: "ava", AgentID: "helper"}
		check(sess.SetName(fmt.Sprintf("Chat %d", i)))
		must(agents.Upsert(sess))
	}
	must(teams.Upsert(&sessionstore.Session{SessionID: "standup", TeamID: "research"}))
	mirror := must(NewMirror(agents, dir))
	syncAndCheck(mirror, agents, "first start", true)

	// 2. Appends, a rename, a delete, team changes; the mirror follows the feed.
	must(agents.AppendRuns("chat/0", []any{map[string]string{"input": "Hi", "response": "Hello!"}}))
	must(agents.AppendRunsJSON("chat/1", []byte(`[{"input":"2+2?","response":"4"},{"input":"3+3?","response":"6"}]`)))
	must(agents.RenameSession("chat/2", "Renamed"))
	must(agents.DeleteSession("chat/3"))
	must(teams.Upsert(&sessionstore.Session{SessionID: "retro", TeamID: "research"}))
	must(teams.AppendRuns("standup", []any{map[string]string{"input": "status?", "response": "on track"}}))
	syncAndCheck(mirror, agents, "after more changes", false)

	// 3. "Restart": a new Mirror on the same directory continues from the
	// number it remembered, without loading an export.
	mirror = must(NewMirror(agents, dir))
	fmt.Printf("restarted: the directory remembers change %d\n", mirror.seq)
	for i := 5; i < 8; i++ {
		must(agents.Upsert(&sessionstore.Session{SessionID: fmt.Sprintf("chat/%d", i), UserID: "bob"}))
	}
	must(agents.AppendRuns("chat/0", []any{map[string]string{"input": "Bye", "response": "See you"}}))
	must(teams.Drop()) // every team session
	must(agents.DeleteSession("chat/4"))
	syncAndCheck(mirror, agents, "after the restart", false)

	// 4. The store is made anew (say its service restarted, in memory): its
	// changes are numbered from 1 again, and it has already gone past the
	// number the mirror remembers, so the numbers alone cannot tell;
	// Changes(seq) would give its changes after seq and the mirror would miss
	// the ones before. A restarted mirror sees another identity in the
	// feed, and starts again from an export of the new store.
	remembered := mirror.seq
	agents.Close()
	teams.Close()
	agents = must(sessionstore.Open(sessionstore.WithFeedBytes(64 << 10)))
	defer agents.Close()
	for i := uint64(0); i < remembered+3; i++ {
		sess := &sessionstore.Session{SessionID: fmt.Sprintf("new/%d", i%6), UserID: "cy"}
		check(sess.SetName(fmt.Sprintf("New %d", i)))
		must(agents.Upsert(sess))
	}
	if st := must(agents.Stats()); st.Feed.Latest <= remembered {
		fail("the new store is at change %d, not past the remembered %d", st.Feed.Latest, remembered)
	}
	mirror = must(NewMirror(agents, dir))
	fmt.Printf("restarted on a store made anew: the directory remembers change %d of store %s\n",
		mirror.seq, mirror.storeID)
	rep := syncAndCheck(mirror, agents, "on the store made anew", true)
	if !strings.HasPrefix(rep.Resync, "another store") {
		fail("on the store made anew: resynchronised for %q, not for the store's identity", rep.Resync)
	}

	// 5. A burst of about 300 KiB of writes, more than the 64 KiB feed keeps:
	// the mirror gets ErrFeedTruncated and loads an export again.
	filler := strings.Repeat("x", 1000)
	for i := range 300 {
		sess := &sessionstore.Session{SessionID: fmt.Sprintf("bulk/%d", i%40)}
		check(sess.SetField("notes", filler))
		must(agents.Upsert(sess))
	}
	syncAndCheck(mirror, agents, "after a burst larger than the feed", true)

	// 6. And follows the feed again from there.
	must(agents.DeleteSession("bulk/0"))
	must(agents.AppendRuns("new/5", []any{"one more"}))
	syncAndCheck(mirror, agents, "after the resync", false)
	fmt.Println("ok: the mirror matched the store after every step")
}
