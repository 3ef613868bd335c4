package zookeeper

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zkguard"
)

// startServer starts an embedded server for one test and stops it (checking
// that its goroutines are gone) at cleanup.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testutil.Logger(t, slog.LevelDebug)
	}
	if opts.TickTime == 0 {
		opts.TickTime = 200 * time.Millisecond
	}
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	liveServers.Add(1)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		// The check is process-wide, so it runs when the test's last server
		// is closed.
		if liveServers.Add(-1) == 0 {
			checkNoServerGoroutines(t)
		}
	})
	return s
}

// liveServers counts the servers startServer started and did not yet close.
var liveServers atomic.Int32

// checkNoServerGoroutines waits (bounded) until no goroutine of this package's
// server code is left.
func checkNoServerGoroutines(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := serverGoroutines()
		if leaked == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("server goroutines still running after Close:\n%s", leaked)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serverGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "zookeeper.(*Server)") || strings.Contains(g, "zookeeper.(*conn)") || strings.Contains(g, "zookeeper.(*txnLog)") {
			if !strings.Contains(g, "_test.go") {
				out = append(out, g)
			}
		}
	}
	return strings.Join(out, "\n\n")
}

// connect opens a go-zookeeper client to addr and waits for its session.
// It is opened through package zkguard, as localstorm's daemons open theirs,
// so that go-zookeeper's lastZxid race cannot fail a -race run.
func connect(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := zkguard.Connect(ctx, []string{addr}, 4*time.Second, zkguard.Options{})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitEvent waits for one watch event, bounded.
func waitEvent(t testing.TB, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatalf("no watch event within 5s")
		return zk.Event{}
	}
}
