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

// A write whose transaction log append fails is not acknowledged, the
// server stops serving and says why on Err, and the write is not there
// after a restart.
func TestLogFailureIsFatalAndNotAcknowledged(t *testing.T) {
	dir := t.TempDir()
	var armed atomic.Bool
	opts := Options{DataDir: dir, TickTime: 200 * time.Millisecond, Logger: testutil.Logger(t, slog.LevelDebug),
		openLogFile: func(path string) (logFile, error) {
			f, err := openLogFile(path)
			return failingLogFile{logFile: f, armed: &armed}, err
		}}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
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
	closed = true
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
