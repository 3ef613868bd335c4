package nimbus

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
)

// Storm's nimbus timer handler: "Error while processing event", then
// Utils.exitProcess(20). A library nimbus cannot exit: its Err() carries code
// 20 and its API stops serving (503 with the cause) instead of answering
// with a dead monitor.
func TestStormTimerFailureExits20AndStopsServing(t *testing.T) {
	e := newEnv(t, nil)
	e.n.timer.Schedule(0, func() error { return errors.New("disk on fire") })
	e.clock.Advance(time.Second)
	var err error
	select {
	case err = <-e.n.Err():
	case <-time.After(10 * time.Second):
		t.Fatal("no error on Err() after a failed timer task")
	}
	if code, ok := cluster.ExitCode(err); !ok || code != cluster.ExitTaskFailed {
		t.Errorf("Err() = %v with exit code %d (%v), want Storm's 20", err, code, ok)
	}
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Err() = %v, want the task's error", err)
	}
	rec := httptest.NewRecorder()
	e.n.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/cluster/summary", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET cluster/summary after the failure: %d %s, want 503", rec.Code, rec.Body)
	}
	var reply api.ErrorReply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || !strings.Contains(reply.ErrorMessage, "disk on fire") {
		t.Errorf("503 body %s (%v), want the cause in errorMessage", rec.Body, err)
	}
	// The Thrift port closes, as a dead Storm nimbus's does.
	thriftAddr := e.n.thriftListener.Addr().String()
	testutil.Eventually(t, 10*time.Second, "the Thrift port to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", thriftAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

// moveAfterLoss submits wc onto supervisor a, adds b, loses a (its node
// gone, the /supervisors watch fired) and reports where the executors are
// right after (no clock move) and after each of rounds monitor rounds.
func moveAfterLoss(t *testing.T, conf config.Conf, rounds int) (now string, later []string) {
	t.Helper()
	e := newEnv(t, conf)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	a, _ := e.state.AssignmentInfo(id, nil)
	if s := onlySlot(t, a); s.Node != "a" {
		t.Fatalf("submit assigned %v, want a", s)
	}
	e.addSupervisor("b", 6700)
	e.waitQuiet() // the monitor's first round (at start) is done
	e.state.loseSupervisor("a")
	e.waitQuiet()
	slot := func() cluster.NodePort {
		a, _ := e.state.AssignmentInfo(id, nil)
		return onlySlot(t, a)
	}
	now = slot().Node
	for range rounds {
		// b and the workers keep beating, so only a's loss can move anything.
		for range 5 {
			e.addSupervisor("b", 6700)
			e.beat(id, slot(), e.clock.Now().UnixMilli())
			e.advance(2 * time.Second)
		}
		later = append(later, slot().Node)
	}
	return now, later
}

// Storm's monitor (Nimbus.launchServer): mk-assignments runs in the monitor
// round only when nimbus.reassign is true; do-cleanup runs either way.
func TestStormNimbusReassignGatesTheMonitor(t *testing.T) {
	if now, later := moveAfterLoss(t, nil, 1); now != "b" || later[0] != "b" {
		t.Errorf("nimbus.reassign true: executors on %s, then %v; want moved to b", now, later)
	}
	if now, later := moveAfterLoss(t, config.Conf{config.NimbusReassign: false}, 3); now != "a" || !slices.Equal(later, []string{"a", "a", "a"}) {
		t.Errorf("nimbus.reassign false: executors on %s, then %v; want left on a", now, later)
	}
}

// localstorm's extension, switchable: with localstorm.nimbus.watch.supervisors
// (default true) a lost supervisor's executors move at once; false is
// Storm's timing exactly, nothing moves before the next monitor round.
func TestNimbusWatchOfSupervisorsIsSwitchable(t *testing.T) {
	if now, _ := moveAfterLoss(t, nil, 0); now != "b" {
		t.Errorf("watch on: executors on %s right after the loss, want b at once", now)
	}
	now, later := moveAfterLoss(t, config.Conf{config.LocalstormNimbusWatchSupervisors: false}, 1)
	if now != "a" || later[0] != "b" {
		t.Errorf("watch off: executors on %s right after the loss, then %v; want a until the monitor round, then b", now, later)
	}
}

// Storm logs and survives a failed teardown-heartbeats!, a failed
// teardown-topology-errors! (do-cleanup) and an expired upload it cannot
// delete (clean-inbox): none of them kills nimbus's timer.
func TestStormCleanupFailuresAreLoggedAndSurvived(t *testing.T) {
	e := newEnv(t, config.Conf{config.NimbusInboxJarExpirationSecs: 60, config.NimbusCleanupInboxFreqSecs: 30})
	e.waitQuiet()

	e.state.mu.Lock()
	e.state.hbStorms["gone-1-1"] = true
	e.state.errors["gone-1-1"] = map[string][]cluster.ErrorInfo{"spout": {{Error: "x"}}}
	e.state.failWrites = errors.New("zookeeper says no")
	e.state.mu.Unlock()
	if err := e.n.DoCleanup(); err != nil {
		t.Errorf("do-cleanup with failing teardowns: %v, want logged and survived", err)
	}
	e.state.mu.Lock()
	e.state.failWrites = nil
	e.state.mu.Unlock()
	if err := e.n.DoCleanup(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.state.HeartbeatStorms(); len(ids) != 0 {
		t.Errorf("heartbeats of %v left after the teardown could write again", ids)
	}

	req := e.upload("old", []byte("old"))
	inbox := filepath.Join(e.dir, "nimbus", "inbox")
	past := e.clock.Now().Add(-2 * time.Minute)
	for _, f := range []string{req.UploadID, req.UploadID + checksumSuffix} {
		if err := os.Chtimes(filepath.Join(inbox, f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	var tried atomic.Int32
	e.n.removeInboxEntry = func(string) error { tried.Add(1); return errors.New("device busy") }
	e.advance(30 * time.Second)
	e.advance(30 * time.Second)
	if tried.Load() < 2 {
		t.Errorf("the inbox cleaner tried %d deletes over two rounds, want it to go on after a failure", tried.Load())
	}
	select {
	case err := <-e.n.Err():
		t.Fatalf("nimbus failed: %v", err)
	default:
	}
}

// Storm's nimbus launch: cleanup-corrupt-topologies! runs before the
// startup transitions, and remove-storm! takes the assignment with the
// base. A topology whose code vanished from stormdist while nimbus was down
// is removed whole at start, before any storm base is read for a startup
// transition; a healthy killed topology gets its startup transition (its
// delayed removal is scheduled again).
func TestStormCleanupCorruptTopologiesRunsBeforeStartup(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	keep := e.submit("keep", nil)
	corrupt := e.submit("corrupt", nil)
	e.waitQuiet()
	for _, id := range []string{keep, corrupt} {
		if a, _ := e.state.AssignmentInfo(id, nil); a == nil {
			t.Fatalf("%s has no assignment after submit", id)
		}
		if err := e.n.Kill(t.Context(), id, 30); err != nil {
			t.Fatal(err)
		}
	}
	e.stop()
	if err := os.RemoveAll(filepath.Join(e.dir, "nimbus", "stormdist", corrupt)); err != nil {
		t.Fatal(err)
	}
	e.state.takeCalls()
	e.start()

	calls := e.state.takeCalls()
	removed := slices.Index(calls, "RemoveStorm "+corrupt)
	if removed < 0 {
		t.Fatalf("calls at start %v: the corrupt topology was not removed", calls)
	}
	if first := slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, "StormBase ") }); first >= 0 && first < removed {
		t.Errorf("calls at start %v: a storm base was read (startup transition) before the corrupt topology was removed", calls)
	}
	if b, _ := e.state.StormBase(corrupt, nil); b != nil {
		t.Errorf("storm base of the corrupt topology after start: %+v", b)
	}
	if a, _ := e.state.AssignmentInfo(corrupt, nil); a != nil {
		t.Errorf("assignment of the corrupt topology after start: %+v, want it removed with the base", a)
	}
	if s := e.state.status(keep); s != cluster.StatusKilled {
		t.Fatalf("healthy killed topology after restart: %q, want KILLED", s)
	}
	e.advance(31 * time.Second)
	if b, _ := e.state.StormBase(keep, nil); b != nil {
		t.Errorf("killed topology still there 31 s after restart: the startup transition did not reschedule its removal")
	}
}
