package sessionstore

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRedisOptions checks the config the Redis options write, and that Open
// refuses them with ErrInvalidArgument, before any connection, where they
// mean nothing: a local store's options with WithRedis, the Redis options
// without it, and bad values.
func TestRedisOptions(t *testing.T) {
	const url = "redis://127.0.0.1:6379/0"
	for name, c := range map[string]struct {
		opts []Option
		want string
	}{
		"redis":            {[]Option{WithRedis(url)}, `{"mode":"agent","backend":"redis","url":"redis://127.0.0.1:6379/0"}`},
		"namespace":        {[]Option{WithRedis(url), WithNamespace(`a"b`)}, `{"mode":"agent","backend":"redis","url":"redis://127.0.0.1:6379/0","namespace":"a\"b"}`},
		"timeouts":         {[]Option{WithConnectTimeout(3 * time.Second), WithCommandTimeout(250 * time.Millisecond)}, `{"mode":"agent","connect_timeout_ms":3000,"command_timeout_ms":250}`},
		"timeout ceil":     {[]Option{WithConnectTimeout(1500 * time.Microsecond)}, `{"mode":"agent","connect_timeout_ms":2}`},
		"timeout 1ms":      {[]Option{WithCommandTimeout(time.Millisecond)}, `{"mode":"agent","command_timeout_ms":1}`},
		"timeout sub-ms":   {[]Option{WithCommandTimeout(999 * time.Microsecond)}, `{"mode":"agent","command_timeout_ms":0}`},
		"timeout zero":     {[]Option{WithConnectTimeout(0)}, `{"mode":"agent","connect_timeout_ms":0}`},
		"timeout negative": {[]Option{WithConnectTimeout(-2 * time.Millisecond)}, `{"mode":"agent","connect_timeout_ms":-2}`},
	} {
		cfg := config{mode: ModeAgent}
		for _, o := range c.opts {
			o(&cfg)
		}
		if got := string(cfg.json()); got != c.want {
			t.Errorf("%s: config %s, want %s", name, got, c.want)
		}
	}

	// Nothing listens on port 1: each case must be refused before Open
	// tries to connect (which would give ErrUnavailable).
	const nowhere = "redis://127.0.0.1:1/0"
	dir := t.TempDir()
	for name, opts := range map[string][]Option{
		"redis with path":            {WithRedis(nowhere), WithPath(dir)},
		"path with redis":            {WithPath(dir), WithRedis(nowhere)},
		"redis with sync":            {WithRedis(nowhere), WithSync(SyncOS)},
		"redis with sync interval":   {WithRedis(nowhere), WithSyncInterval(2 * time.Second)},
		"redis with compact factor":  {WithRedis(nowhere), WithCompactFactor(4)},
		"redis with compact min":     {WithRedis(nowhere), WithCompactMinBytes(1)},
		"redis with max sessions":    {WithRedis(nowhere), WithMaxSessions(10)},
		"redis with max bytes":       {WithRedis(nowhere), WithMaxBytes(1 << 20)},
		"redis with user sessions":   {WithRedis(nowhere), WithUserMaxSessions(10)},
		"redis with user bytes":      {WithRedis(nowhere), WithUserMaxBytes(1 << 20)},
		"redis with when full":       {WithRedis(nowhere), WithWhenFull(WhenFullRefuse)},
		"redis with default sync":    {WithRedis(nowhere), WithSync(SyncInterval)},
		"namespace without redis":    {WithNamespace("ns")},
		"connect without redis":      {WithConnectTimeout(3 * time.Second)},
		"command without redis":      {WithCommandTimeout(3 * time.Second)},
		"empty namespace":            {WithRedis(nowhere), WithNamespace("")},
		"long namespace":             {WithRedis(nowhere), WithNamespace(string(bytes.Repeat([]byte("n"), 129)))},
		"namespace not UTF-8":        {WithRedis(nowhere), WithNamespace("\xff")},
		"url not UTF-8":              {WithRedis("redis://127.0.0.1:1/\xff")},
		"zero connect timeout":       {WithRedis(nowhere), WithConnectTimeout(0)},
		"negative connect timeout":   {WithRedis(nowhere), WithConnectTimeout(-time.Second)},
		"sub-ms connect timeout":     {WithRedis(nowhere), WithConnectTimeout(500 * time.Microsecond)},
		"zero command timeout":       {WithRedis(nowhere), WithCommandTimeout(0)},
		"negative command timeout":   {WithRedis(nowhere), WithCommandTimeout(-time.Nanosecond)},
		"sub-ms command timeout":     {WithRedis(nowhere), WithCommandTimeout(time.Microsecond)},
		"redis without a url scheme": {WithRedis("127.0.0.1:1")},
	} {
		s, err := Open(opts...)
		if s != nil {
			s.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		var e *Error
		if !errors.As(err, &e) || e.Op != "open" || e.Status != StatusInvalidArgument {
			t.Fatalf("%s: error %v, want ErrInvalidArgument", name, err)
		}
		wantErr(t, err, ErrInvalidArgument)
	}
	// The library names the key it refuses.
	if _, err := Open(WithRedis(nowhere), WithPath(dir)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("path")) {
		t.Fatalf("the message does not name the key: %v", err)
	}
	// A server that cannot be reached fails Open with ErrUnavailable.
	s, err := Open(WithRedis(nowhere), WithConnectTimeout(500*time.Millisecond))
	if s != nil {
		s.Close()
		t.Fatal("Open of a Redis store with no server succeeded")
	}
	wantErr(t, err, ErrUnavailable)
}

// redisServer is a redis-server the test started on a free loopback port.
type redisServer struct {
	t    *testing.T
	port int
	url  string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	once sync.Once
}

// startRedis starts redis-server (without persistence) on a free loopback
// port, waits until it accepts connections, and kills it when the test ends.
// redis-server must be on PATH (`make test` installs it): its absence fails
// the test rather than skipping it.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH (the top-level `make test-deps` installs it): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{t: t, port: port, url: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	r.start(bin)
	t.Cleanup(r.kill)
	return r
}

func (r *redisServer) start(bin string) {
	r.t.Helper()
	r.out = &bytes.Buffer{}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	cmd, exited := r.cmd, make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.once = sync.Once{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			r.t.Fatalf("redis-server exited before accepting connections: %s", r.out)
		default:
		}
		if time.Now().After(deadline) {
			r.kill()
			r.t.Fatalf("redis-server does not accept connections on port %d: %v\n%s", r.port, err, r.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server and waits until its port is closed.
func (r *redisServer) kill() {
	r.once.Do(func() {
		r.cmd.Process.Kill()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)), 100*time.Millisecond)
			if err != nil {
				return
			}
			c.Close()
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestRedisRoundTrip opens two stores on one server and namespace (as two
// processes would), writes through one and reads through the other, checks
// that another namespace is apart, then kills the server: calls fail with
// ErrUnavailable, and the store reconnects by itself once a server is back.
func TestRedisRoundTrip(t *testing.T) {
	srv := startRedis(t)
	const ns = "gotest"
	writer := open(t, WithRedis(srv.url), WithNamespace(ns))
	reader := open(t, WithRedis(srv.url), WithNamespace(ns), WithConnectTimeout(time.Second),
		WithCommandTimeout(5*time.Second))
	other := open(t, WithRedis(srv.url), WithNamespace(ns+"-other"))

	a := mustUpsert(t, writer, "session_id", "a", "user_id", "ava", "agent_id", "bot",
		"session_data", map[string]any{"session_name": "first"})
	b := mustUpsert(t, writer, "session_id", "b", "user_id", "bob", "agent_id", "bot")
	if a.Version == 0 || b.Version <= a.Version {
		t.Fatalf("versions %d, %d", a.Version, b.Version)
	}

	got, err := reader.Read("a", "ava")
	if err != nil {
		t.Fatalf("Read through the other store: %v", err)
	}
	if got.SessionID != "a" || got.UserID != "ava" || got.Version != a.Version ||
		got.CreatedAt != a.CreatedAt || got.UpdatedAt != a.UpdatedAt {
		t.Fatalf("read %+v, upserted %+v", got, a)
	}
	if data := decodeMap(t, got.SessionData); data["session_name"] != "first" {
		t.Fatalf("session_data %s", got.SessionData)
	}
	_, err = reader.Read("a", "bob")
	wantErr(t, err, ErrNotFound)

	all, err := reader.GetAllSessionIDs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	if !slices.Equal(all, []string{"a", "b"}) {
		t.Fatalf("GetAllSessionIDs = %v", all)
	}
	bobs, err := reader.GetAllSessions(Filter{UserID: "bob"})
	if err != nil || len(bobs) != 1 || bobs[0].SessionID != "b" {
		t.Fatalf("GetAllSessions(bob) = %v, %v", ids(bobs), err)
	}
	page, err := reader.Query(Query{UserID: "ava", Fields: MetadataFields()})
	if err != nil || page.Total != 1 || len(page.Sessions) != 1 || page.Sessions[0].SessionID != "a" {
		t.Fatalf("Query = %+v, %v", page, err)
	}

	// A write through the reader is seen by the writer, and a conditional
	// write with a stale version is refused across stores.
	if _, err := reader.RenameSession("a", "renamed", ForUser("ava")); err != nil {
		t.Fatal(err)
	}
	if got, err := writer.Read("a", ""); err != nil || decodeMap(t, got.SessionData)["session_name"] != "renamed" {
		t.Fatalf("the writer reads %+v, %v", got, err)
	}
	_, err = writer.UpsertIf(a, a.Version)
	wantErr(t, err, ErrVersionMismatch)

	// Another namespace on the same server holds nothing of it.
	if others, err := other.GetAllSessionIDs(Filter{}); err != nil || len(others) != 0 {
		t.Fatalf("the other namespace lists %v, %v", others, err)
	}
	st, err := reader.Stats()
	if err != nil || st.Sessions != 2 || st.Durability != nil {
		t.Fatalf("Stats() = %+v, %v", st, err)
	}

	// The server goes away: reads and writes fail with ErrUnavailable, and
	// so does Open.
	srv.kill()
	_, err = reader.Read("a", "")
	wantErr(t, err, ErrUnavailable)
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusUnavailable || e.Status.String() != "unavailable" {
		t.Fatalf("error %#v", err)
	}
	_, err = writer.UpsertJSON([]byte(`{"session_id":"c"}`))
	wantErr(t, err, ErrUnavailable)
	_, err = reader.GetAllSessionIDs(Filter{})
	wantErr(t, err, ErrUnavailable)
	s, err := Open(WithRedis(srv.url), WithNamespace(ns), WithConnectTimeout(500*time.Millisecond))
	if s != nil {
		s.Close()
		t.Fatal("Open succeeded with the server down")
	}
	wantErr(t, err, ErrUnavailable)

	// A server back on the same port (empty: it kept nothing) is used again
	// without reopening the store.
	bin, _ := exec.LookPath("redis-server")
	srv.start(bin)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = writer.UpsertJSON([]byte(`{"session_id":"c"}`))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("upsert after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := reader.Read("c", ""); err != nil || got.SessionID != "c" {
		t.Fatalf("read after the server came back: %+v, %v", got, err)
	}
}

// Expiry on Redis is the namespace's: the first store records its settings,
// and a store with others fails to open while the namespace holds sessions.
func TestRedisExpiryIsTheNamespaces(t *testing.T) {
	srv := startRedis(t)
	const ns = "goexpiry"
	store := open(t, WithRedis(srv.url), WithNamespace(ns), WithIdleExpiry(time.Minute), WithRefreshOnRead())
	mustUpsert(t, store, "session_id", "s1", "user_id", "ava")
	if _, err := store.Read("s1", ""); err != nil {
		t.Fatalf("Read: %v", err)
	}
	st, err := store.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Bounds.IdleExpiry() != time.Minute || !st.Bounds.RefreshOnRead {
		t.Fatalf("Stats().Bounds = %+v", st.Bounds)
	}
	other, err := Open(WithRedis(srv.url), WithNamespace(ns), WithIdleExpiry(30*time.Second))
	if other != nil {
		other.Close()
	}
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "idle_expiry_s=60") {
		t.Fatalf("Open with other expiry settings: %v, want ErrInvalidArgument naming the namespace's", err)
	}
}
