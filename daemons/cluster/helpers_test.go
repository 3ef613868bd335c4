package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zktest"
)

// waitFor bounds every wait of these tests.
const waitFor = 15 * time.Second

// target is one ZooKeeper server the suite runs against.
type target struct {
	name string
	addr string
	// expire expires a session on the server; nil when the server cannot.
	expire func(sessionID int64) error
}

// startTargets starts every ZooKeeper the suite compares: the real 3.8 and
// (when it is in) the embedded server. Each is started once per top-level
// test and shared by its subtests, which isolate themselves by root.
func startTargets(t testing.TB) []target {
	t.Helper()
	real := zktest.StartReal(t, zktest.RealOptions{})
	return []target{
		startEmbedded(t, "embedded", zookeeper.Options{}),
		{name: "real", addr: real.Addr},
	}
}

// startEmbedded starts the embedded ZooKeeper with opts, closed when t ends.
func startEmbedded(t testing.TB, name string, opts zookeeper.Options) target {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	embedded, err := zookeeper.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start the embedded ZooKeeper: %v", err)
	}
	t.Cleanup(func() { _ = embedded.Close() })
	return target{name: name, addr: embedded.Addr(), expire: embedded.ExpireSession}
}

var rootSeq atomic.Int64

// options returns Options for a fresh root on tg.
func (tg target) options(t testing.TB) Options {
	return Options{
		Servers:        []string{tg.addr},
		Root:           fmt.Sprintf("/test-%d/storm", rootSeq.Add(1)),
		SessionTimeout: 6 * time.Second,
		Logger:         testutil.Logger(t, slog.LevelDebug),
	}
}

// connectState opens a ClusterState with opts, closed when the test ends.
func connectState(t testing.TB, opts Options) *zkState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	s, err := connect(ctx, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawConn is a plain go-zookeeper client (no chroot) to inspect what the
// states wrote, as any other ZooKeeper client would see it.
func rawConn(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 6*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatalf("raw connect: %v", err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(waitFor)
	for conn.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-deadline:
			t.Fatalf("raw connection to %s: no session within %s", addr, waitFor)
		}
	}
	return conn
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// recorder collects the events given to a registered callback.
type recorder struct{ ch chan Event }

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 1000)} }

func (r *recorder) record(ev Event) { r.ch <- ev }

// next returns the next event or fails the test after waitFor.
func (r *recorder) next(t testing.TB) Event {
	t.Helper()
	select {
	case ev := <-r.ch:
		return ev
	case <-time.After(waitFor):
		t.Fatalf("no event within %s", waitFor)
		return Event{}
	}
}

// receive returns the next value on ch, the result of a call made in a
// goroutine, or fails the test after waitFor.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("%s did not return within %s", what, waitFor)
		var zero T
		return zero
	}
}

// counter counts the runs of a one-shot callback.
type counter struct {
	n    atomic.Int32
	runs chan struct{}
}

func newCounter() *counter { return &counter{runs: make(chan struct{}, 100)} }

func (c *counter) callback() Callback {
	return func() {
		c.n.Add(1)
		c.runs <- struct{}{}
	}
}

func (c *counter) wait(t testing.TB, what string) {
	t.Helper()
	select {
	case <-c.runs:
	case <-time.After(waitFor):
		t.Fatalf("%s: callback did not run within %s", what, waitFor)
	}
}
