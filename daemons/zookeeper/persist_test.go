package zookeeper

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
)

// restart closes s and starts a server on the same address and data dir.
func restart(t *testing.T, s *Server, opts Options) *Server {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close before restart: %v", err)
	}
	opts.Addr = s.Addr()
	opts.DataDir = s.Options().DataDir
	return startServer(t, opts)
}

func TestRestartRecoversTreeZxidAndSessions(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Options{DataDir: dir})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/p", "/p/a", "/p/b"} {
		if _, err := c.Create(p, []byte(p), 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Set("/p/a", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/p/b", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	_, before, err := c.Get("/p")
	if err != nil {
		t.Fatal(err)
	}
	zxid := s.lastZxid()
	id := c.SessionID()

	s2 := restart(t, s, Options{})
	if got := s2.lastZxid(); got != zxid {
		t.Fatalf("zxid after restart = %#x, want %#x", got, zxid)
	}
	// The client reconnects within its timeout: same session, ephemeral kept.
	testutil.Eventually(t, 10*time.Second, "client reconnect", func() bool {
		_, _, err := c.Get("/p")
		return err == nil
	})
	if c.SessionID() != id {
		t.Fatalf("session after restart = %#x, want %#x", c.SessionID(), id)
	}
	data, st, err := c.Get("/p/a")
	if err != nil || string(data) != "v2" || st.Version != 1 {
		t.Fatalf("/p/a after restart = %q %+v %v", data, st, err)
	}
	_, after, _ := c.Get("/p")
	if *after != *before {
		t.Fatalf("stat of /p changed across restart:\n%+v\n%+v", before, after)
	}
	if ok, _, _ := c.Exists("/p/b"); ok {
		t.Fatalf("deleted node came back")
	}
	_, est, err := c.Get("/eph")
	if err != nil || est.EphemeralOwner != id {
		t.Fatalf("ephemeral after restart: %+v %v", est, err)
	}
	p, err := c.Create("/after", nil, 0, acl)
	if err != nil {
		t.Fatal(err)
	}
	_, ast, _ := c.Get(p)
	if ast.Czxid != zxid+1 {
		t.Fatalf("first zxid after restart = %#x, want %#x", ast.Czxid, zxid+1)
	}
}

func TestSessionExpiresAfterRestartWithoutReconnect(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, TickTime: 100 * time.Millisecond}
	s := startServer(t, opts)
	c := connect(t, s.Addr())
	if _, err := c.Create("/gone", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	id := c.SessionID()
	// Stop the server first so the client's close never reaches it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s2 := startServer(t, Options{DataDir: dir, TickTime: 100 * time.Millisecond})
	if infos := s2.Sessions(); len(infos) != 1 || infos[0].ID != id || infos[0].Remote != "" {
		t.Fatalf("recovered sessions = %+v, want %#x disconnected", infos, id)
	}
	testutil.Eventually(t, 10*time.Second, "recovered session to expire", func() bool { return len(s2.Sessions()) == 0 })
	c2 := connect(t, s2.Addr())
	if ok, _, err := c2.Exists("/gone"); err != nil || ok {
		t.Fatalf("ephemeral of an expired session survived: %v %v", ok, err)
	}
}

// A torn tail of the newest log (an append a crash interrupted) is cut
// back, and the server starts with everything before it. A whole record
// with a wrong checksum is not a torn write: recover_test.go.
func TestTornLogTailIsCutBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(size int64) []byte // given the log's size before it
	}{
		{"half a header", func(int64) []byte { return []byte{0, 0} }},
		{"a header promising more than there is", func(int64) []byte { return []byte{0, 0, 0, 40, 1, 2, 3, 4, 9} }},
		{"zeros", func(int64) []byte { return make([]byte, 700) }},
		{"a record whose last sectors are zeros", func(size int64) []byte {
			return zeroedRecord(size, 1100)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, Options{DataDir: dir})
			c := connect(t, s.Addr())
			for i := range 5 {
				if _, err := c.Create(fmt.Sprintf("/n%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
			}
			zxid := s.lastZxid()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			logs, _ := dataFiles(dir, "log")
			last := filepath.Join(dir, logName(logs[len(logs)-1]))
			whole, err := os.ReadFile(last)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(last, append(whole, tc.tail(int64(len(whole)))...), 0o644); err != nil {
				t.Fatal(err)
			}
			var logBuf testutil.Buffer
			s2 := startServer(t, Options{DataDir: dir, Addr: s.Addr(), Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
			if !strings.Contains(logBuf.String(), "torn tail") {
				t.Fatalf("no torn-tail warning in the log:\n%s", logBuf.String())
			}
			if got := s2.lastZxid(); got != zxid {
				t.Fatalf("zxid after recovery = %#x, want %#x", got, zxid)
			}
			if cut, err := os.ReadFile(last); err != nil || !bytes.Equal(cut, whole) {
				t.Fatalf("the log after recovery is %d bytes, want the %d before the torn tail (%v)", len(cut), len(whole), err)
			}
			c2 := connect(t, s2.Addr())
			if kids, _, err := c2.Children("/"); err != nil || len(kids) != 6 {
				t.Fatalf("children after recovery = %v, %v", kids, err)
			}
			if _, err := c2.Create("/again", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSnapshotsAndLogsReplay(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, SnapCount: 10}
	s := startServer(t, opts)
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	for i := range 45 {
		if _, err := c.Create(fmt.Sprintf("/s%02d", i), []byte{byte(i)}, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Multi(&zk.SetDataRequest{Path: "/s00", Data: []byte("m"), Version: -1}, &zk.DeleteRequest{Path: "/s01", Version: -1}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "a snapshot file", func() bool {
		snaps, _ := dataFiles(dir, "snapshot")
		return len(snaps) > 0
	})
	zxid := s.lastZxid()
	s2 := restart(t, s, opts)
	if got := s2.lastZxid(); got != zxid {
		t.Fatalf("zxid after restart = %#x, want %#x", got, zxid)
	}
	c2 := connect(t, s2.Addr())
	kids, _, err := c2.Children("/")
	if err != nil || len(kids) != 45 { // 45 created + zookeeper - s01
		t.Fatalf("children after restart = %d %v", len(kids), err)
	}
	if d, _, err := c2.Get("/s00"); err != nil || string(d) != "m" {
		t.Fatalf("/s00 = %q %v", d, err)
	}
	snaps, _ := dataFiles(dir, "snapshot")
	if len(snaps) > 2 {
		t.Fatalf("%d snapshots kept, want at most 2", len(snaps))
	}
}
