package nimbus

import (
	"errors"
	"fmt"
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

// forceStatus rewrites a topology's storm base into status, as a previous
// nimbus would have left it.
func (e *testEnv) forceStatus(id string, status cluster.TopologyStatus) {
	e.t.Helper()
	base, _ := e.state.StormBase(id, nil)
	base.Status = status
	switch status {
	case cluster.StatusKilled:
		base.TopologyActionOptions = &cluster.TopologyActionOptions{Action: EventKill, WaitSecs: 50}
	case cluster.StatusRebalancing:
		base.TopologyActionOptions = &cluster.TopologyActionOptions{Action: EventRebalance, WaitSecs: 50, NumWorkers: 2}
		base.PrevStatus = cluster.StatusInactive
	}
	if err := e.state.ActivateStorm(id, base); err != nil {
		e.t.Fatal(err)
	}
}

func TestTransitions(t *testing.T) {
	const gone cluster.TopologyStatus = "(removed)"
	const refused cluster.TopologyStatus = "(refused)"
	want := map[cluster.TopologyStatus]map[string]cluster.TopologyStatus{
		cluster.StatusActive: {
			EventActivate: cluster.StatusActive, EventDeactivate: cluster.StatusInactive, EventKill: cluster.StatusKilled,
			EventRebalance: cluster.StatusRebalancing, EventStartup: cluster.StatusActive, EventRemove: refused, EventDoRebalance: refused,
		},
		cluster.StatusInactive: {
			EventActivate: cluster.StatusActive, EventDeactivate: cluster.StatusInactive, EventKill: cluster.StatusKilled,
			EventRebalance: cluster.StatusRebalancing, EventStartup: cluster.StatusInactive, EventRemove: refused, EventDoRebalance: refused,
		},
		cluster.StatusKilled: {
			EventActivate: refused, EventDeactivate: refused, EventKill: cluster.StatusKilled,
			EventRebalance: refused, EventStartup: cluster.StatusKilled, EventRemove: gone, EventDoRebalance: refused,
		},
		cluster.StatusRebalancing: {
			EventActivate: refused, EventDeactivate: refused, EventKill: cluster.StatusKilled,
			EventRebalance: refused, EventStartup: cluster.StatusRebalancing, EventRemove: refused,
			EventDoRebalance: cluster.StatusInactive, // its previous status
		},
	}
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701, 6702)
	ctx := t.Context()
	i := 0
	for from, events := range want {
		for ev, to := range events {
			t.Run(string(from)+"/"+ev, func(t *testing.T) {
				i++
				id := e.submit(fmt.Sprintf("t%d", i), nil)
				e.forceStatus(id, from)
				var err error
				switch ev {
				case EventActivate:
					err = e.n.Activate(ctx, id)
				case EventDeactivate:
					err = e.n.Deactivate(ctx, id)
				case EventKill:
					err = e.n.Kill(ctx, id, 100)
				case EventRebalance:
					err = e.n.Rebalance(ctx, id, 100, api.RebalanceOptions{NumWorkers: 2})
				default: // internal events
					e.n.mu.Lock()
					err = e.n.transition(id, event{name: ev})
					e.n.mu.Unlock()
				}
				status := e.state.status(id)
				switch to {
				case refused:
					var te *TransitionError
					if !errors.As(err, &te) || !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "not possible") {
						t.Fatalf("error %v, want a refused transition (409)", err)
					}
					if status != from {
						t.Errorf("status %s after a refused event, want %s unchanged", status, from)
					}
				case gone:
					if err != nil || status != "" {
						t.Errorf("err %v, status %q: want the topology removed", err, status)
					}
				default:
					if err != nil || status != to {
						t.Errorf("err %v, status %s; want %s", err, status, to)
					}
				}
				if ev == EventKill && to == cluster.StatusKilled {
					base, _ := e.state.StormBase(id, nil)
					if o := base.TopologyActionOptions; o == nil || o.Action != EventKill || o.WaitSecs != 100 {
						t.Errorf("kill options %+v, want kill with wait 100", o)
					}
				}
			})
		}
	}
}

func TestTransitionUnknownTopology(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.n.Activate(t.Context(), "nope-1-1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("activate of an unknown topology: %v, want not found", err)
	}
	// A timed event whose topology went away is dropped with a log line, not a fatal error.
	if err := e.n.timedTransition("nope-1-1", event{name: EventRemove}); err != nil {
		t.Errorf("timed event on a missing topology: %v", err)
	}
}

func TestTimedEventRefusedIsLogged(t *testing.T) {
	e := newEnv(t, nil)
	id := e.submit("wc", nil)
	if err := e.n.timedTransition(id, event{name: EventDoRebalance}); err != nil {
		t.Errorf("refused timed event returned %v; it should only be logged", err)
	}
	if s := e.state.status(id); s != cluster.StatusActive {
		t.Errorf("status %s after a refused timed event", s)
	}
}

func TestKillRemovesAfterWaitDefaultingToMessageTimeout(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", map[string]any{config.TopologyMessageTimeoutSecs: 7})
	if err := e.n.Kill(t.Context(), id, -1); err != nil {
		t.Fatal(err)
	}
	base, _ := e.state.StormBase(id, nil)
	if base.TopologyActionOptions.WaitSecs != 7 {
		t.Errorf("kill wait %d, want the message timeout 7", base.TopologyActionOptions.WaitSecs)
	}
	e.advance(6 * time.Second)
	if s := e.state.status(id); s != cluster.StatusKilled {
		t.Fatalf("status %q after 6 s, want still KILLED", s)
	}
	e.advance(2 * time.Second)
	testutil.Eventually(t, 10*time.Second, "removal", func() bool { return e.state.status(id) == "" })
	if a, _ := e.state.AssignmentInfo(id, nil); a != nil {
		t.Error("assignment still present after removal")
	}
	// do-cleanup (next monitor round) tears down heartbeats and code, and
	// what an interrupted submit left.
	leftover := filepath.Join(e.dir, "nimbus", "stormdist", ".submit-123")
	if err := os.MkdirAll(leftover, 0o755); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Second)
	testutil.Eventually(t, 10*time.Second, "cleanup", func() bool {
		_, err := os.Stat(filepath.Join(e.dir, "nimbus", "stormdist", id))
		e.state.mu.Lock()
		defer e.state.mu.Unlock()
		_, errLeft := os.Stat(leftover)
		return os.IsNotExist(err) && os.IsNotExist(errLeft) && !e.state.hbStorms[id]
	})
}

func TestRestartWhileKilledStillRemoves(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	if err := e.n.Kill(t.Context(), id, 30); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Second)
	e.stop()
	e.start() // a new nimbus over the same ZooKeeper state and local dir
	if s := e.state.status(id); s != cluster.StatusKilled {
		t.Fatalf("status %q after restart, want KILLED", s)
	}
	e.advance(29 * time.Second)
	if s := e.state.status(id); s != cluster.StatusKilled {
		t.Fatalf("removed %q before the stored wait passed again", s)
	}
	e.advance(2 * time.Second)
	testutil.Eventually(t, 10*time.Second, "removal after restart", func() bool { return e.state.status(id) == "" })
}

func TestRestartWhileRebalancingResumes(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701, 6702)
	id := e.submit("wc", nil)
	if err := e.n.Rebalance(t.Context(), id, 20, api.RebalanceOptions{NumWorkers: 3, Executors: map[string]int{"count": 1}}); err != nil {
		t.Fatal(err)
	}
	e.stop()
	e.start()
	e.advance(21 * time.Second)
	testutil.Eventually(t, 10*time.Second, "rebalance after restart", func() bool { return e.state.status(id) == cluster.StatusActive })
	base, _ := e.state.StormBase(id, nil)
	if base.NumWorkers != 3 || base.ComponentExecutors["count"] != 1 || base.TopologyActionOptions != nil || base.PrevStatus != "" {
		t.Errorf("storm base after rebalance %+v", base)
	}
}

func TestRebalanceSpreadsOverMoreWorkers(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	e.addSupervisor("b", 6700, 6701)
	id := e.submit("wc", nil)
	a, _ := e.state.AssignmentInfo(id, nil)
	if got := len(slotsOf(a)); got != 1 {
		t.Fatalf("%d slots before rebalance, want 1", got)
	}
	if err := e.n.Deactivate(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Rebalance(t.Context(), id, 0, api.RebalanceOptions{NumWorkers: 3, Executors: map[string]int{"count": 2}}); err != nil {
		t.Fatal(err)
	}
	e.waitQuiet()
	testutil.Eventually(t, 10*time.Second, "rebalance", func() bool { return e.state.status(id) == cluster.StatusInactive })
	a, _ = e.state.AssignmentInfo(id, nil)
	// 1 acker per worker is fixed at submit (explicit): executors 2 words + 2 count + 1 acker.
	if got := len(slotsOf(a)); got != 3 || len(a.Executors) != 5 {
		t.Errorf("after rebalance: %d executors on %d slots, want 5 on 3", len(a.Executors), got)
	}
	for _, bad := range []struct {
		workers int
		execs   map[string]int
		msg     string
	}{
		{-1, nil, "workers"},
		{0, map[string]int{"nope": 2}, `no component "nope"`},
		{0, map[string]int{"count": 0}, "Number of executors must be greater than 0"},
		{0, map[string]int{"count": 4}, "4 executors for 3 tasks"},
	} {
		if err := e.n.Rebalance(t.Context(), id, 0, api.RebalanceOptions{NumWorkers: bad.workers, Executors: bad.execs}); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("rebalance %d %v: %v, want invalid naming %q", bad.workers, bad.execs, err, bad.msg)
		}
	}
}
