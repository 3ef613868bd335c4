package nimbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/timer"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// testEnv is a nimbus over an in-memory cluster state and a simulated clock.
type testEnv struct {
	t     testing.TB
	n     *Nimbus
	state *memState
	clock *timer.SimClock
	dir   string
	conf  config.Conf
}

var testStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newEnv(t testing.TB, overrides config.Conf) *testEnv {
	t.Helper()
	e := &testEnv{t: t, state: newMemState(), clock: timer.NewSimClock(testStart), dir: t.TempDir()}
	e.conf = config.Conf{
		config.NimbusMonitorFreqSecs:       10,
		config.NimbusTaskTimeoutSecs:       3,
		config.NimbusTaskLaunchSecs:        5,
		config.NimbusSupervisorTimeoutSecs: 4,
		config.TaskHeartbeatFreqSecs:       1,
		config.SupervisorHeartbeatFreqSecs: 1,
	}.Merge(overrides)
	e.start()
	return e
}

// start starts (or restarts) nimbus over the env's state, dir and clock.
func (e *testEnv) start() {
	e.t.Helper()
	n, err := Start(e.t.Context(), Options{Conf: e.conf, LocalDir: e.dir, State: e.state, Logger: testutil.Logger(e.t, slog.LevelDebug), Clock: e.clock})
	if err != nil {
		e.t.Fatalf("start nimbus: %v", err)
	}
	e.n = n
	e.t.Cleanup(func() { e.stop() })
}

func (e *testEnv) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.n.Close(ctx); err != nil {
		e.t.Errorf("close nimbus: %v", err)
	}
	select {
	case err := <-e.n.Err():
		e.t.Errorf("nimbus reported a fatal error: %v", err)
	default:
	}
}

// addSupervisor registers a supervisor heartbeat with the given ports.
func (e *testEnv) addSupervisor(id string, ports ...int) {
	e.t.Helper()
	if err := e.state.SupervisorHeartbeat(id, &cluster.SupervisorInfo{V: 1, TimeSecs: e.clock.Now().Unix(), Hostname: "host-" + id, SlotPorts: ports, Version: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

// wordCount is a small valid definition: a spout of 2 executors feeding a
// bolt of 3.
func wordCount() *topology.Definition {
	return &topology.Definition{
		V: topology.DefinitionVersion,
		Spouts: map[string]*topology.ComponentDef{
			"words": {ID: "words", Parallelism: 2, Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word"}}}},
		},
		Bolts: map[string]*topology.ComponentDef{
			"count": {ID: "count", Parallelism: 3, Inputs: []topology.InputDef{{Component: "words", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"word"}}}},
				Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word", "count"}}}},
		},
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// upload puts code into the inbox and returns a submit request for it.
func (e *testEnv) upload(name string, code []byte) api.SubmitRequest {
	e.t.Helper()
	r, err := e.n.Upload(e.t.Context(), bytes.NewReader(code), sum(code))
	if err != nil {
		e.t.Fatalf("upload: %v", err)
	}
	return api.SubmitRequest{Name: name, UploadID: r.UploadID, SHA256: r.SHA256, Kind: api.KindBinary, Definition: wordCount()}
}

// submit uploads code and submits wordCount as name.
func (e *testEnv) submit(name string, conf map[string]any) string {
	e.t.Helper()
	req := e.upload(name, []byte("#!/bin/true\n"+name))
	req.Conf = conf
	id, err := e.n.Submit(e.t.Context(), req)
	if err != nil {
		e.t.Fatalf("submit %s: %v", name, err)
	}
	return id
}

// advance moves the simulated clock and waits until the timer has run what
// is due.
func (e *testEnv) advance(d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	e.waitQuiet()
}

// waitQuiet waits until the nimbus timer sleeps with nothing due.
func (e *testEnv) waitQuiet() {
	e.t.Helper()
	testutil.Eventually(e.t, 10*time.Second, "the nimbus timer to sleep with nothing due", e.n.timer.Waiting)
}
