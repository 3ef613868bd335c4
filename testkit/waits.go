package testkit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// WaitFor polls cond every few milliseconds until it holds; on timeout the
// test fails with what cond last said and the cluster's state.
func (c *Cluster) WaitFor(t testing.TB, what string, cond func() (bool, string), topologyID string) {
	t.Helper()
	deadline := time.Now().Add(c.timeout)
	var last string
	for {
		ok, status := cond()
		if ok {
			return
		}
		last = status
		if time.Now().After(deadline) {
			t.Fatalf("testkit: %s: not reached within %s (last: %s)\n%s", what, c.timeout, last, c.StateReport(topologyID))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitBridge is WaitFor for what the bridge learns: cond is checked again
// at every change of the bridge, and every poll too when poll > 0 (for
// what cond also reads elsewhere).
func (c *Cluster) waitBridge(t testing.TB, what string, poll time.Duration, cond func() (bool, string)) {
	t.Helper()
	c.waitBridgeFor(t, what, c.timeout, poll, "", cond)
}

// waitBridgeFor is waitBridge with its own timeout; a failure's state
// report puts topology id first.
func (c *Cluster) waitBridgeFor(t testing.TB, what string, timeout, poll time.Duration, id string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var tick <-chan time.Time
	if poll > 0 {
		tk := time.NewTicker(poll)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		changed := c.bridge.wait()
		ok, status := cond()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-tick:
		case <-deadline.C:
			t.Fatalf("testkit: %s: not reached within %s (last: %s)\n%s", what, timeout, status, c.StateReport(id))
		}
	}
}

func (c *Cluster) info(id string) (*api.TopologyInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Client().TopologyView(ctx, id, "", true) // every executor, ackers too
}

// WaitTopologyActive waits until the topology is ACTIVE and every one of its
// executors heartbeats.
func (c *Cluster) WaitTopologyActive(t testing.TB, id string) {
	t.Helper()
	c.WaitFor(t, "topology "+id+" active with all executors up", func() (bool, string) {
		info, err := c.info(id)
		if err != nil {
			return false, err.Error()
		}
		alive, total := info.ExecutorsAlive()
		return info.Status == "ACTIVE" && total > 0 && alive == total,
			fmt.Sprintf("status %s, %d of %d executors up", info.Status, alive, total)
	}, id)
}

// WaitAcked waits until the topology's spouts have acked at least n tuples
// (all-time, as nimbus aggregates the executors' heartbeats).
func (c *Cluster) WaitAcked(t testing.TB, id string, n int64) {
	t.Helper()
	c.WaitFor(t, fmt.Sprintf("topology %s acked %d tuples", id, n), func() (bool, string) {
		acked, err := c.Acked(id)
		if err != nil {
			return false, err.Error()
		}
		return acked >= n, fmt.Sprintf("%d acked", acked)
	}, id)
}

// WaitExecuted waits until the tasks of bolt component have executed at
// least n tuples (all-time, as nimbus aggregates the executors'
// heartbeats): for instance, until fed tuples are in a windowed bolt's
// window, before the test advances simulated time.
func (c *Cluster) WaitExecuted(t testing.TB, id, component string, n int64) {
	t.Helper()
	c.WaitFor(t, fmt.Sprintf("bolt %s of %s executed %d tuples", component, id, n), func() (bool, string) {
		info, err := c.info(id)
		if err != nil {
			return false, err.Error()
		}
		for _, b := range info.Bolts {
			if b.BoltID == component {
				return b.Executed >= n, fmt.Sprintf("%d executed", b.Executed)
			}
		}
		return false, "no such bolt in the topology's stats yet"
	}, id)
}

// Acked returns the number of tuples the topology's spouts have acked.
func (c *Cluster) Acked(id string) (int64, error) {
	info, err := c.info(id)
	if err != nil {
		return 0, err
	}
	return info.SpoutsAcked(), nil
}

// StateReport describes the cluster for a failure message: the topology's
// status and executors, the workers of every supervisor, and last errors.
func (c *Cluster) StateReport(topologyID string) string {
	if c.lc == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("cluster state:\n")
	writeEvents(&b, c.lc.Events(), topologyID)
	for i, sup := range c.lc.Supervisors() {
		if sup == nil {
			fmt.Fprintf(&b, "  supervisor %d: stopped\n", i)
			continue
		}
		ws := sup.Workers()
		sort.Slice(ws, func(i, j int) bool { return ws[i].Port < ws[j].Port })
		fmt.Fprintf(&b, "  supervisor %d (%s): %d workers\n", i, sup.ID(), len(ws))
		for _, w := range ws {
			fmt.Fprintf(&b, "    port %d: %s pid %d %s\n", w.Port, w.TopologyID, w.Pid, w.State)
		}
	}
	if topologyID == "" {
		return b.String()
	}
	if a, err := c.lc.State().AssignmentInfo(topologyID, nil); err == nil && a != nil {
		fmt.Fprintf(&b, "  assignment of %s:\n", topologyID)
		for _, e := range a.Executors {
			fmt.Fprintf(&b, "    executor [%d-%d] → %s:%d\n", e.Executor.Start, e.Executor.End, e.Slot.Node, e.Slot.Port)
		}
	} else {
		fmt.Fprintf(&b, "  no assignment for %s (err %v)\n", topologyID, err)
	}
	info, err := c.info(topologyID)
	if err != nil {
		fmt.Fprintf(&b, "  topology info: %v\n", err)
		return b.String()
	}
	alive, total := info.ExecutorsAlive()
	fmt.Fprintf(&b, "  topology %s: status %s, %d of %d executors up %s\n", info.Name, info.Status, alive, total, info.SchedulerInfo)
	for _, s := range info.Spouts {
		fmt.Fprintf(&b, "    spout %s: emitted %d acked %d failed %d %s\n", s.SpoutID, s.Emitted, s.Acked, s.Failed, lastError(s.LastError))
	}
	for _, bo := range info.Bolts {
		fmt.Fprintf(&b, "    bolt %s: executed %d emitted %d acked %d failed %d %s\n", bo.BoltID, bo.Executed, bo.Emitted, bo.Acked, bo.Failed, lastError(bo.LastError))
	}
	return b.String()
}

func lastError(e string) string {
	if e == "" {
		return ""
	}
	return "last error: " + e
}

// stateReportEvents is how many of the newest events StateReport shows.
const stateReportEvents = 30

// writeEvents writes the newest events of the timeline (of topologyID and
// the cluster-wide ones, or all when it is ""), oldest first.
func writeEvents(b *strings.Builder, log *timeline.Log, topologyID string) {
	all, _ := log.Since(0, timeline.Filter{})
	var events []timeline.Event
	for _, e := range all {
		if topologyID == "" || e.Topology == "" || e.Topology == topologyID {
			events = append(events, e)
		}
	}
	events = events[max(0, len(events)-stateReportEvents):]
	fmt.Fprintf(b, "  the last %d events:\n", len(events))
	for _, e := range events {
		fmt.Fprintf(b, "    %s %-27s %s\n", e.Time.Format("15:04:05.000"), e.Kind, e.Details)
	}
}
