package zookeeper

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// A connection that never completes its connect request is closed after the
// connect timeout (NIOServerCnxnFactory's sessionlessCnxnTimeout), so that a
// local process cannot hold the server's descriptors; a client with a
// session is not.
func TestConnectionWithoutConnectRequestIsClosed(t *testing.T) {
	s := startServer(t, Options{TickTime: 50 * time.Millisecond})
	bound := s.connectTimeout()
	if bound != 250*time.Millisecond {
		t.Fatalf("connect timeout at a 50ms tick = %v, want 5 ticks", bound)
	}
	good := connect(t, s.Addr())
	goodConns := s.connections()
	if len(goodConns) != 1 {
		t.Fatalf("%d server connections for one client", len(goodConns))
	}

	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"nothing", nil},
		{"half a connect frame", []byte{0, 0, 0, 45, 0, 0, 0, 0, 0, 0}},
		{"half a four-letter word", []byte("sr")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			start := time.Now()
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			_ = nc.SetReadDeadline(time.Now().Add(bound + 5*time.Second))
			n, err := io.Copy(io.Discard, nc)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("the server did not close the connection within %v after its connect timeout %v: %v", 5*time.Second, bound, err)
			}
			if n != 0 || elapsed < bound*8/10 {
				t.Fatalf("closed after %v with %d bytes answered; want nothing, and no sooner than the %v timeout", elapsed, n, bound)
			}
			testutil.Eventually(t, 5*time.Second, "the server to forget the connection", func() bool { return len(s.connections()) == 1 })
		})
	}

	// The client with a session kept its connection and its session
	// through many connect timeouts.
	time.Sleep(3 * bound)
	if conns := s.connections(); len(conns) != 1 || conns[0] != goodConns[0] {
		t.Fatalf("the client's connection was replaced: %v", conns)
	}
	if _, _, err := good.Get("/"); err != nil {
		t.Fatalf("the client with a session: %v", err)
	}
}
