package nimbus

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
)

// beat writes a worker heartbeat for every executor assigned to slot.
func (e *testEnv) beat(id string, slot cluster.NodePort, millis int64) {
	e.t.Helper()
	a, _ := e.state.AssignmentInfo(id, nil)
	hb := &cluster.WorkerHeartbeat{V: 1, TopologyID: id, TimeMillis: millis, TimeSecs: millis / 1000}
	for _, ea := range a.Executors {
		if ea.Slot == slot {
			hb.Executors = append(hb.Executors, cluster.ExecutorHeartbeat{Executor: ea.Executor})
		}
	}
	if err := e.state.SetWorkerHeartbeat(id, slot.Node, slot.Port, hb); err != nil {
		e.t.Fatal(err)
	}
}

func onlySlot(t *testing.T, a *cluster.Assignment) cluster.NodePort {
	t.Helper()
	slots := sortedSlots(slotsOf(a))
	if len(slots) != 1 {
		t.Fatalf("%d slots, want 1", len(slots))
	}
	return slots[0]
}

func TestDeadSupervisorExecutorsMove(t *testing.T) {
	// task launch 5 s, task timeout 3 s, supervisor timeout 4 s (newEnv).
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	a, _ := e.state.AssignmentInfo(id, nil)
	if onlySlot(t, a).Node != "a" {
		t.Fatalf("assigned to %v", a)
	}
	e.addSupervisor("b", 6700)
	// a's ephemeral node vanishes (its session ended).
	e.state.mu.Lock()
	delete(e.state.supervisors, "a")
	e.state.mu.Unlock()
	if err := e.n.MkAssignments(""); err != nil {
		t.Fatal(err)
	}
	a, _ = e.state.AssignmentInfo(id, nil)
	if s := onlySlot(t, a); s.Node != "b" {
		t.Errorf("executors on %v after supervisor a died, want b", s)
	}
}

func TestStaleSupervisorHeartbeatCountsAsDead(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	e.addSupervisor("b", 6700)
	// Both keep their nodes; only b's time advances.
	for i := 0; i < 3; i++ {
		e.clock.Advance(2 * time.Second)
		e.addSupervisor("b", 6700)
		if err := e.n.MkAssignments(""); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := e.state.AssignmentInfo(id, nil)
	if s := onlySlot(t, a); s.Node != "b" {
		t.Errorf("executors on %v, want moved to b (a's heartbeat stale > 4 s)", s)
	}
}

func TestExecutorLivenessFollowsHeartbeats(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	a, _ := e.state.AssignmentInfo(id, nil)
	slot := onlySlot(t, a)
	aliveCount := func() int {
		e.n.infoMu.Lock()
		defer e.n.infoMu.Unlock()
		n := 0
		for _, ok := range e.n.alive[id] {
			if ok {
				n++
			}
		}
		return n
	}
	round := func(d time.Duration) {
		t.Helper()
		e.clock.Advance(d)
		e.addSupervisor("a", 6700) // the supervisor stays alive
		if err := e.n.MkAssignments(""); err != nil {
			t.Fatal(err)
		}
	}
	total := len(a.Executors)
	round(time.Second)
	if got := aliveCount(); got != total {
		t.Fatalf("%d of %d alive within the launch grace, want all", got, total)
	}
	// Past the 5 s launch grace with a heartbeat that keeps advancing: alive.
	ms := int64(1)
	for i := 0; i < 4; i++ {
		ms += 1000
		e.beat(id, slot, ms)
		round(2 * time.Second)
	}
	if got := aliveCount(); got != total {
		t.Fatalf("%d of %d alive while heartbeating, want all", got, total)
	}
	// The heartbeat stops advancing: dead after the 3 s task timeout.
	round(2 * time.Second)
	if got := aliveCount(); got != total {
		t.Fatalf("%d alive 2 s after the last heartbeat change, want all (timeout 3 s)", got)
	}
	round(2 * time.Second)
	if got := aliveCount(); got != 0 {
		t.Errorf("%d alive 4 s after the last heartbeat change, want none", got)
	}
	// Rescheduled (onto the only slot there is): a new start gives a new grace.
	a2, _ := e.state.AssignmentInfo(id, nil)
	if len(a2.Executors) != total {
		t.Errorf("dead executors were dropped instead of rescheduled: %d", len(a2.Executors))
	}
}

func TestStartupRemovesCorruptTopologies(t *testing.T) {
	e := newEnv(t, nil)
	id := e.submit("ok", nil)
	e.stop()
	// One topology lost its code, one never had any.
	if err := os.RemoveAll(filepath.Join(e.dir, "nimbus", "stormdist", id)); err != nil {
		t.Fatal(err)
	}
	if err := e.state.ActivateStorm("ghost-1-1", &cluster.StormBase{Name: "ghost", Status: cluster.StatusActive, NumWorkers: 1}); err != nil {
		t.Fatal(err)
	}
	e.start()
	if ids, _ := e.state.ActiveStorms(); len(ids) != 0 {
		t.Errorf("storms %v survive without code", ids)
	}
}

func TestStartErrorsNameTheCause(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		msg  string
	}{
		{"no state", Options{LocalDir: dir}, "State is nil"},
		{"empty local dir", Options{State: newMemState(), Conf: config.Conf{config.StormLocalDir: ""}}, config.StormLocalDir},
		{"timeout shorter than its heartbeat", Options{State: newMemState(), LocalDir: dir, Conf: config.Conf{config.NimbusTaskTimeoutSecs: 2, config.TaskHeartbeatFreqSecs: 3}}, config.NimbusTaskTimeoutSecs},
		{"bad monitor freq", Options{State: newMemState(), LocalDir: dir, Conf: config.Conf{config.NimbusMonitorFreqSecs: -1}}, config.NimbusMonitorFreqSecs},
		{"zero inbox expiry", Options{State: newMemState(), LocalDir: dir, Conf: config.Conf{config.NimbusInboxJarExpirationSecs: 0}}, config.NimbusInboxJarExpirationSecs},
		{"bad upload limit", Options{State: newMemState(), LocalDir: dir, Conf: config.Conf{MaxUploadBytes: "big"}}, MaxUploadBytes},
		{"bad API address", Options{State: newMemState(), LocalDir: dir, APIAddr: "256.0.0.1:1"}, "listen for the API"},
		{"unwritable local dir", Options{State: newMemState(), LocalDir: "/proc/nimbus-test"}, "prepare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Start(t.Context(), tt.opts)
			if err == nil {
				n.Close(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "start nimbus: ") {
				t.Errorf("error %q does not name %q", err, tt.msg)
			}
		})
	}
}

func TestInboxCleanerDeletesExpiredUploads(t *testing.T) {
	e := newEnv(t, config.Conf{config.NimbusInboxJarExpirationSecs: 60, config.NimbusCleanupInboxFreqSecs: 30})
	oldReq := e.upload("old", []byte("old"))
	newReq := e.upload("new", []byte("new"))
	inbox := filepath.Join(e.dir, "nimbus", "inbox")
	// The old upload was made 2 minutes before the simulated now.
	past := e.clock.Now().Add(-2 * time.Minute)
	for _, f := range []string{oldReq.UploadID, oldReq.UploadID + checksumSuffix} {
		if err := os.Chtimes(filepath.Join(inbox, f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	// Fresh uploads carry the wall clock's mtime; keep them within the window.
	now := e.clock.Now()
	for _, f := range []string{newReq.UploadID, newReq.UploadID + checksumSuffix} {
		if err := os.Chtimes(filepath.Join(inbox, f), now, now); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(30 * time.Second)
	testutil.Eventually(t, 10*time.Second, "the old upload deleted", func() bool {
		_, err := os.Stat(filepath.Join(inbox, oldReq.UploadID))
		return errors.Is(err, os.ErrNotExist)
	})
	if _, err := os.Stat(filepath.Join(inbox, newReq.UploadID)); err != nil {
		t.Errorf("a fresh upload was deleted: %v", err)
	}
	if _, err := e.n.Submit(t.Context(), oldReq); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("submit of an expired upload: %v", err)
	}
}

// An imported binary keeps the mtime of its build, which may be hours old:
// the cleaner goes by when it was imported.
func TestInboxCleanerKeepsAFreshImportOfAnOldBinary(t *testing.T) {
	e := newEnv(t, config.Conf{config.NimbusInboxJarExpirationSecs: 60, config.NimbusCleanupInboxFreqSecs: 30})
	code := []byte("#!/bin/true\nbuilt long ago")
	path, f := codeFile(t, code, 0o755)
	built := e.clock.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, built, built); err != nil {
		t.Fatal(err)
	}
	r, err := e.n.ImportCode(t.Context(), f, sum(code))
	if err != nil {
		t.Fatal(err)
	}
	inbox := filepath.Join(e.dir, "nimbus", "inbox")
	now := e.clock.Now()
	if err := os.Chtimes(filepath.Join(inbox, r.UploadID+checksumSuffix), now, now); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second)
	if _, err := os.Stat(filepath.Join(inbox, r.UploadID)); err != nil {
		t.Fatalf("a fresh import of an old binary was deleted: %v", err)
	}
	old := now.Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(inbox, r.UploadID+checksumSuffix), old, old); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second)
	testutil.Eventually(t, 10*time.Second, "the expired import deleted", func() bool {
		_, err := os.Stat(filepath.Join(inbox, r.UploadID))
		return errors.Is(err, os.ErrNotExist)
	})
	if _, err := os.Stat(path); err != nil {
		t.Errorf("deleting the import removed the caller's file: %v", err)
	}
}

func TestCloseStopsServingAndIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	url := e.n.APIURL()
	c := api.NewClient(url)
	if _, err := c.ClusterSummary(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.ClusterSummary(t.Context()); err == nil {
		t.Error("the API still answers after Close")
	}
	if _, err := e.n.Submit(t.Context(), api.SubmitRequest{Name: "late"}); !errors.Is(err, api.ErrShutdown) {
		t.Errorf("submit after Close: %v, want ErrShutdown", err)
	}
	if !e.n.timer.Waiting() {
		t.Error("timer still running after Close")
	}
}

// A nimbus that cannot bind its API leaves ZooKeeper as it found it: the
// start-up clean-up of corrupt topologies runs only once the port is held.
func TestStartBindsBeforeChangingZooKeeper(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	state := newMemState()
	if err := state.ActivateStorm("ghost-1-1", &cluster.StormBase{Name: "ghost", Status: cluster.StatusActive, NumWorkers: 1}); err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), Options{State: state, LocalDir: t.TempDir(), APIAddr: taken.Addr().String()})
	if err == nil {
		n.Close(context.Background())
		t.Fatal("started on a taken port")
	}
	if ids, _ := state.ActiveStorms(); len(ids) != 1 {
		t.Errorf("a nimbus that failed to bind changed ZooKeeper: storms now %v", ids)
	}
}
