package zookeeper

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// failingLogFile is a transaction log file whose writes fail once armed.
type failingLogFile struct {
	logFile
	armed *atomic.Bool
}

var errInjected = errors.New("injected: disk full")

func (f failingLogFile) Write(p []byte) (int, error) {
	if f.armed.Load() {
		return 0, errInjected
	}
	return f.logFile.Write(p)
}

func waitErr(t *testing.T, s *Server) error {
	t.Helper()
	select {
	case err := <-s.Err():
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Err() delivered nothing within 5s")
		return nil
	}
}

// startFailingServer starts a server on a new data dir whose log writes
// fail once armed is set. The test closes it (Close returns the failure).
func startFailingServer(t *testing.T) (s *Server, dir string, armed *atomic.Bool) {
	t.Helper()
	dir, armed = t.TempDir(), new(atomic.Bool)
	opts := Options{DataDir: dir, TickTime: 200 * time.Millisecond, Logger: testutil.Logger(t, slog.LevelDebug),
		openLogFile: func(path string) (logFile, error) {
			f, err := openLogFile(path)
			return failingLogFile{logFile: f, armed: armed}, err
		}}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir, armed
}

// A write whose transaction log append fails is not acknowledged, the
// server stops serving and says why on Err, and the write is not there
// after a restart.
func TestLogFailureIsFatalAndNotAcknowledged(t *testing.T) {
	s, dir, armed := startFailingServer(t)
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	if r := c.call(opCreate, createBody("/kept", nil, 0)); r.hdr.Err != errOK {
		t.Fatalf("create /kept: err %d", r.hdr.Err)
	}
	armed.Store(true)
	c.xid++
	c.send(append(enc(func(e *encoder) { e.int32(c.xid); e.int32(opCreate) }), createBody("/lost", nil, 0)...))
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r, err := c.next(); err == nil {
		t.Fatalf("the write whose log append failed was answered: %+v", r.hdr)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection stayed open without an answer: the client cannot tell its write failed")
	}
	if err := waitErr(t, s); !errors.Is(err, errInjected) {
		t.Fatalf("Err() = %v, want the log failure", err)
	}
	if nc, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		nc.Close()
		t.Error("the failed server still accepts connections")
	}
	if err := s.Close(); !errors.Is(err, errInjected) {
		t.Errorf("Close() = %v, want the log failure", err)
	}

	s2 := startServer(t, Options{DataDir: dir})
	c2 := dialRaw(t, s2.Addr())
	c2.mustConnect()
	if r := c2.call(opExists, enc(func(e *encoder) { e.string("/kept"); e.bool(false) })); r.hdr.Err != errOK {
		t.Errorf("/kept after restart: err %d", r.hdr.Err)
	}
	if r := c2.call(opExists, enc(func(e *encoder) { e.string("/lost"); e.bool(false) })); r.hdr.Err != errNoNode {
		t.Errorf("/lost after restart: err %d, want no node", r.hdr.Err)
	}
}

// An accept loop that dies is fatal: Err says so.
func TestDeadAcceptLoopIsFatal(t *testing.T) {
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	_ = s.ln.Close() // not through Close: the loop sees an error it did not expect
	if err := waitErr(t, s); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Err() = %v, want the accept error", err)
	}
	if !c.closed() {
		t.Error("a connection stays open on a server that no longer serves")
	}
}

// A server that runs and closes normally reports nothing, and Close closes Err.
func TestErrQuietOnClose(t *testing.T) {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err, ok := <-s.Err(); ok {
		t.Fatalf("Err() after a clean Close: %v", err)
	}
}

// pipeline sends requests on c without waiting for replies and returns
// their xids.
func (c *rawClient) pipeline(reqs ...rawRequest) []int32 {
	c.t.Helper()
	var xids []int32
	for _, r := range reqs {
		c.xid++
		xids = append(xids, c.xid)
		c.send(append(enc(func(e *encoder) { e.int32(c.xid); e.int32(r.op) }), r.body...))
	}
	return xids
}

type rawRequest struct {
	op   int32
	body []byte
}

// drain reads c until the server closes it; it fails the test if the
// connection stays open without an answer.
func (c *rawClient) drain() []rawReply {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []rawReply
	for {
		r, err := c.next()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("a connection stayed open without an answer after the log failed")
			}
			return out
		}
		out = append(out, r)
	}
}

// No write whose log append failed is acknowledged, whatever it is (a
// create, a set, a delete, a multi, a write that fails its checks and so
// is an error txn, a close-session), on whichever connection and however
// many share the failed group commit; no other client sees it either,
// neither in a watch event nor in a read's reply; and none is there after
// a restart.
func TestNoFailedAppendIsAcknowledged(t *testing.T) {
	s, dir, armed := startFailingServer(t)
	conns := make([]*rawClient, 4)
	for i := range conns {
		conns[i] = dialRaw(t, s.Addr())
		conns[i].mustConnect()
	}
	writer, other, watcher, closer := conns[0], conns[1], conns[2], conns[3]
	for _, p := range []string{"/kept", "/doomed"} {
		if r := writer.call(opCreate, createBody(p, []byte("v1"), 0)); r.hdr.Err != errOK {
			t.Fatalf("create %s: err %d", p, r.hdr.Err)
		}
	}
	watch := func(p string) []byte { return enc(func(e *encoder) { e.string(p); e.bool(true) }) }
	if r := watcher.call(opExists, watch("/lost")); r.hdr.Err != errNoNode {
		t.Fatalf("exists /lost: err %d", r.hdr.Err)
	}
	if r := watcher.call(opGetData, watch("/kept")); r.hdr.Err != errOK {
		t.Fatalf("get /kept: err %d", r.hdr.Err)
	}
	lastDurable := s.lastZxid()

	armed.Store(true)
	multi := enc(func(e *encoder) {
		e.int32(opCreate)
		e.bool(false)
		e.int32(-1)
		(&createRequest{Path: "/lost-multi", ACL: openACL}).encode(e, opCreate)
		e.int32(-1)
		e.bool(true)
		e.int32(-1)
	})
	writer.pipeline(
		rawRequest{opCreate, createBody("/lost", nil, 0)},
		rawRequest{opSetData, enc(func(e *encoder) { e.string("/kept"); e.buffer([]byte("v2")); e.int32(-1) })},
		rawRequest{opDelete, enc(func(e *encoder) { e.string("/doomed"); e.int32(-1) })},
		rawRequest{opMulti, multi},
		rawRequest{opCreate, createBody("/kept", nil, 0)}, // NodeExists: an error txn
	)
	other.pipeline(rawRequest{opCreate, createBody("/lost-other", nil, 0)})
	closer.pipeline(rawRequest{opCloseSession, nil})
	watcher.pipeline(
		rawRequest{opExists, watch("/lost")},
		rawRequest{opGetData, watch("/kept")},
		rawRequest{opExists, watch("/doomed")},
	)

	for i, c := range []*rawClient{writer, other, closer} {
		if got := c.drain(); len(got) > 0 {
			t.Errorf("client %d: %d replies after its log append failed, the first %+v", i, len(got), got[0].hdr)
		}
	}
	for _, r := range watcher.drain() {
		switch {
		case r.hdr.Xid == xidNotification:
			t.Errorf("a watch event of a write that is not in the log: %x", r.body)
		case r.hdr.Zxid > lastDurable:
			t.Errorf("a read answered at zxid %#x, past the last one in the log %#x", r.hdr.Zxid, lastDurable)
		}
	}
	if err := waitErr(t, s); !errors.Is(err, errInjected) {
		t.Fatalf("Err() = %v, want the log failure", err)
	}
	if err := s.Close(); !errors.Is(err, errInjected) {
		t.Errorf("Close() = %v, want the log failure", err)
	}

	s2 := startServer(t, Options{DataDir: dir})
	if got := s2.lastZxid(); got != lastDurable {
		t.Errorf("zxid after restart = %#x, want the last durable %#x", got, lastDurable)
	}
	c := dialRaw(t, s2.Addr())
	c.mustConnect()
	for p, want := range map[string]int32{"/kept": errOK, "/doomed": errOK, "/lost": errNoNode, "/lost-multi": errNoNode, "/lost-other": errNoNode} {
		if r := c.call(opExists, enc(func(e *encoder) { e.string(p); e.bool(false) })); r.hdr.Err != want {
			t.Errorf("%s after restart: err %d, want %d", p, r.hdr.Err, want)
		}
	}
	if r := c.call(opGetData, enc(func(e *encoder) { e.string("/kept"); e.bool(false) })); r.hdr.Err != errOK {
		t.Errorf("get /kept after restart: err %d", r.hdr.Err)
	} else if d := (decoder{buf: r.body}); string(d.buffer()) != "v1" {
		t.Errorf("/kept after restart holds a set that was not in the log")
	}
}
