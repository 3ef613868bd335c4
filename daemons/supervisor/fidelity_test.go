package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/timer"
	"github.com/localstorm/localstorm/daemons/timer/timertest"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/testutil"
)

// Storm's EventManagerImp: a failing event is "Error when processing an
// event", then Utils.exitProcess(20). Ours stops the supervisor and reports
// the error with code 20 on Err().
func TestStormEventManagerFailureExits20(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	sup.syncEvents.Add(func() error { return errors.New("cannot write local state") })
	select {
	case err := <-sup.Err():
		if code, ok := cluster.ExitCode(err); !ok || code != cluster.ExitTaskFailed {
			t.Errorf("Err() = %v with exit code %d (%v), want Storm's 20", err, code, ok)
		}
		if !strings.Contains(err.Error(), "cannot write local state") {
			t.Errorf("Err() = %v, want the event's error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no error on Err() after a failed event")
	}
}

// Storm's Supervisor.launch: the heartbeat is scheduled always;
// synchronize-supervisor, sync-processes and the health checks only when
// supervisor.enable is true. A disabled supervisor heartbeats and launches
// nothing for its assignment.
func TestStormSupervisorEnableGatesItsTimers(t *testing.T) {
	e := newEnv(t)
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(t, slog.LevelDebug))
	opts.Conf[config.SupervisorEnable] = false
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	first, err := e.state.SupervisorInfo(sup.ID())
	if err != nil || first == nil {
		t.Fatalf("no heartbeat of a disabled supervisor: %v, %v", first, err)
	}
	testutil.Eventually(t, 10*time.Second, "a later heartbeat", func() bool {
		info, err := e.state.SupervisorInfo(sup.ID())
		return err == nil && info != nil && info.UptimeSecs > first.UptimeSecs
	})
	if w := sup.Workers(); len(w) != 0 {
		t.Errorf("a disabled supervisor launched %v", w)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "supervisor", "stormdist", "t-1-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a disabled supervisor downloaded code: %v", err)
	}
}

// Storm's supervisor schedules its heartbeat on a heartbeat timer of its own
// (Supervisor.launch: heartbeatTimer), apart from the event timer that runs
// the health checks: a slow health-check script cannot delay it.
func TestStormSupervisorHeartbeatHasItsOwnTimer(t *testing.T) {
	e := newEnv(t)
	healthDir := filepath.Join(e.dir, "healthchecks")
	if err := os.MkdirAll(healthDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(healthDir, "slow"), []byte("#!/bin/sh\nsleep 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(t, slog.LevelInfo))
	opts.HealthCheckInterval = 100 * time.Millisecond
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	// The heartbeat (every 0.1 s) carries whole seconds: while the slow
	// script runs its time must still move on every second.
	time.Sleep(300 * time.Millisecond) // the first health check is running
	var last int64
	lastChange, longest := time.Now(), time.Duration(0)
	for end := time.Now().Add(3500 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		info, err := e.state.SupervisorInfo(sup.ID())
		if err != nil || info == nil {
			continue
		}
		if info.TimeSecs != last {
			longest = max(longest, time.Since(lastChange))
			last, lastChange = info.TimeSecs, time.Now()
		}
	}
	longest = max(longest, time.Since(lastChange))
	if longest > 2500*time.Millisecond {
		t.Errorf("the heartbeat time stood still for %s while a health check ran, want it to move every second", longest)
	}
}

// Storm's Supervisor.launch schedules, on a simulated clock as on a real
// one: the heartbeat every supervisor.heartbeat.frequency.secs on its own
// timer, synchronize-supervisor every 10 s, and sync-processes every
// supervisor.monitor.frequency.secs (Storm's defaults, 5 s and 3 s).
func TestStormSupervisorTimerCadence(t *testing.T) {
	e := newEnv(t)
	clock := timer.NewSimClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(t, slog.LevelInfo))
	opts.Conf[config.SupervisorHeartbeatFreqSecs] = 5
	opts.Conf[config.SupervisorMonitorFreqSecs] = 3
	opts.Clock = clock
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	for range 30 {
		timertest.Advance(t, clock, time.Second, sup.hbTimer, sup.timer)
	}
	got := [3]int64{sup.rounds.heartbeat.Load(), sup.rounds.syncSupervisor.Load(), sup.rounds.syncProcesses.Load()}
	if want := [3]int64{6, 3, 10}; got != want {
		t.Errorf("after 30 simulated seconds: heartbeats, synchronize-supervisor, sync-processes = %v, want %v", got, want)
	}
}

// Storm's supervisor start: the tmp dir ({local}/supervisor/tmp) is emptied,
// and a supervisor without a stored id takes a new random UUID.
func TestStormSupervisorStartEmptiesTmpAndTakesAUUID(t *testing.T) {
	e := newEnv(t)
	stale := filepath.Join(workercontract.LocalDir(e.dir).SupervisorTmp(), "half-downloaded", "stormcode")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	sup := e.start()
	entries, err := os.ReadDir(workercontract.LocalDir(e.dir).SupervisorTmp())
	if err != nil || len(entries) != 0 {
		t.Errorf("tmp dir after start: %v, %v; want it present and empty", entries, err)
	}
	id, err := uuid.Parse(sup.ID())
	if err != nil || id.Version() != 4 {
		t.Errorf("new supervisor id %q (%v): want a random (version 4) UUID", sup.ID(), err)
	}
}
