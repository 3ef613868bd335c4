package testkit

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
)

// Simulated time, as Storm's Time.startSimulating and LocalCluster's
// advanceClusterTime, reaching real worker processes: the test process
// holds the time (in the bridge); each worker of a topology submitted on a
// cluster with Options.SimulatedTime runs its components on a
// topology.SimulatedClock that follows it through a long poll (GET /time),
// runs the timers that fall due, then reports the time it reached (POST
// /time/seen). AdvanceTime returns once every worker of those topologies
// has reported the new time.

// simTimeKey marks a topology whose workers run on the test's simulated time.
const simTimeKey = "localstorm.testkit.simulated-time"

// SimulatedEpoch is where simulated time starts (the Unix epoch, as Storm's
// simulated time starts at 0): a window's timestamps are then milliseconds
// of simulated time. Read-only.
var SimulatedEpoch = time.UnixMilli(0)

// simTime is the bridge's answer to GET /time: simulated time since SimulatedEpoch.
type simTime struct {
	Elapsed time.Duration `json:"elapsed"`
}

// timePollWait is how long GET /time holds a request when the time does not change.
const timePollWait = 10 * time.Second

// handleTime answers the time as soon as it differs from ?after= (ns since
// SimulatedEpoch), or after timePollWait.
func (b *bridge) handleTime(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		after = -1
	}
	var now time.Duration
	b.longPoll(r, timePollWait, func() bool {
		now = b.simNow
		return int64(now) != after
	})
	if r.Context().Err() == nil {
		writeJSON(w, simTime{now})
	}
}

// handleTimeSeen records the time a worker reached, its due timers run.
func (b *bridge) handleTimeSeen(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	elapsed, err := strconv.ParseInt(q.Get("elapsed"), 10, 64)
	port, perr := strconv.Atoi(q.Get("port"))
	if err != nil || perr != nil {
		http.Error(w, "bad elapsed or port", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.simSeen[workerKey(q.Get("topology"), q.Get("node"), port)] = time.Duration(elapsed)
	b.notify()
}

func workerKey(topologyID, node string, port int) string {
	return fmt.Sprintf("%s %s:%d", topologyID, node, port)
}

// advanceTime moves simulated time d forward and returns the new time.
func (b *bridge) advanceTime(d time.Duration) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.simNow += d
	b.notify()
	return b.simNow
}

// startSimulatedClock makes the worker's clock: it starts at the test's
// current simulated time and follows it for the life of the worker process.
func startSimulatedClock(bridgeURL string, w workercontract.Worker) (*topology.SimulatedClock, error) {
	var now simTime
	if err := getJSON(bridgeURL+"/time", &now); err != nil {
		return nil, fmt.Errorf("testkit worker: simulated time: %w", err)
	}
	clock := topology.NewSimulatedClock(SimulatedEpoch.Add(now.Elapsed))
	seen := fmt.Sprintf("%s/time/seen?topology=%s&node=%s&port=%d", bridgeURL, url.QueryEscape(w.TopologyID), url.QueryEscape(w.SupervisorID), w.Port)
	go followTime(clock, bridgeURL+"/time", seen, now.Elapsed)
	return clock, nil
}

// followTime advances clock to each new time of the test (the clock runs
// the timers due on the way) and then reports that time as seen. It runs
// until the worker process exits.
func followTime(clock *topology.SimulatedClock, timeURL, seenURL string, at time.Duration) {
	for {
		if err := postJSON(fmt.Sprintf("%s&elapsed=%d", seenURL, at), nil); err != nil {
			time.Sleep(100 * time.Millisecond) // the test is ending: the worker is about to be stopped
		}
		var next simTime
		if err := getJSON(fmt.Sprintf("%s?after=%d", timeURL, at), &next); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if next.Elapsed > at {
			clock.AdvanceTo(SimulatedEpoch.Add(next.Elapsed))
			at = next.Elapsed
		}
	}
}

// Time is the cluster's simulated time (Options.SimulatedTime).
func (c *Cluster) Time() time.Time {
	c.bridge.mu.Lock()
	defer c.bridge.mu.Unlock()
	return SimulatedEpoch.Add(c.bridge.simNow)
}

// AdvanceTime moves the cluster's simulated time d forward (Storm's
// advanceClusterTime) and returns once every worker of every live topology
// this cluster submitted has reached the new time with the calls of its
// clock due by then run: a time-triggered window due by then has been
// executed, and what it emitted handed on (the test waits for what happens
// downstream, e.g. with a Sink); every tick tuple and message-timeout
// rotation due by then has been taken by its executor, which handles it
// before any later tuple. Timers fire in time order within a worker;
// across workers, advance in steps when their order matters. The cluster
// must have been started with Options.SimulatedTime. Advance once the
// topology is running (WaitTopologyActive; for a windowed bolt, WaitExecuted
// of what must be in the window): a task that prepares later takes its
// timers from the time at which it does.
func (c *Cluster) AdvanceTime(t testing.TB, d time.Duration) {
	t.Helper()
	if !c.simulated {
		t.Fatalf("testkit: AdvanceTime: the cluster is not on simulated time (Options.SimulatedTime)")
	}
	if d < 0 {
		t.Fatalf("testkit: AdvanceTime: negative duration %v", d)
	}
	to := c.bridge.advanceTime(d)
	// Workers report through the bridge; the poll catches assignments that
	// change (a killed topology's workers are not waited for).
	c.waitBridge(t, fmt.Sprintf("AdvanceTime to %v: every worker there", to), 100*time.Millisecond, func() (bool, string) {
		behind := c.workersBehind(to)
		return len(behind) == 0, fmt.Sprint("behind: ", behind)
	})
}

// workersBehind lists the workers of the live simulated-time topologies
// that have not reported reaching to.
func (c *Cluster) workersBehind(to time.Duration) []string {
	c.mu.Lock()
	ids := slices.Clone(c.simTopologies)
	c.mu.Unlock()
	var behind []string
	for _, id := range ids {
		a, err := c.lc.State().AssignmentInfo(id, nil)
		if err != nil || a == nil {
			continue // killed (or not assigned yet: its workers start at the new time)
		}
		seen := map[string]bool{}
		for _, e := range a.Executors {
			key := workerKey(id, e.Slot.Node, e.Slot.Port)
			if seen[key] {
				continue
			}
			seen[key] = true
			c.bridge.mu.Lock()
			at, ok := c.bridge.simSeen[key]
			c.bridge.mu.Unlock()
			if !ok || at < to {
				behind = append(behind, fmt.Sprintf("%s (at %v)", key, at))
			}
		}
	}
	return behind
}
