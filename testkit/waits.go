package testkit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
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
