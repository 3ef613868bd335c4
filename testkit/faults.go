package testkit

import (
	"context"
	"fmt"
	"sort"
	"syscall"
	"testing"

	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// Fault injection on the running cluster, as etcd's integration members offer
// Stop/Restart: each call fails the test if it cannot do what it says.

// Workers returns the running workers of a topology over all supervisors,
// sorted by port.
func (c *Cluster) Workers(topologyID string) []supervisor.WorkerInfo {
	var out []supervisor.WorkerInfo
	for _, sup := range c.lc.Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.TopologyID == topologyID && w.Pid > 0 && w.State == "running" {
				out = append(out, w)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

func (c *Cluster) signalWorker(t testing.TB, topologyID string, sig syscall.Signal) supervisor.WorkerInfo {
	t.Helper()
	ws := c.Workers(topologyID)
	if len(ws) == 0 {
		t.Fatalf("testkit: topology %s has no running worker to signal\n%s", topologyID, c.StateReport(topologyID))
	}
	c.recordFault(topologyID, fmt.Sprintf("signal %s to the worker of %s on port %d (pid %d)", sig, topologyID, ws[0].Port, ws[0].Pid))
	if err := syscall.Kill(ws[0].Pid, sig); err != nil {
		t.Fatalf("testkit: signal worker pid %d: %v", ws[0].Pid, err)
	}
	return ws[0]
}

// KillWorker kills one worker of the topology with SIGKILL (kill -9) and
// returns it; its supervisor should relaunch it.
func (c *Cluster) KillWorker(t testing.TB, topologyID string) supervisor.WorkerInfo {
	t.Helper()
	return c.signalWorker(t, topologyID, syscall.SIGKILL)
}

// PauseWorker stops one worker with SIGSTOP, so that its heartbeats stop and
// the timeouts trip; ResumeWorker continues it. A paused worker is continued
// at cleanup so that it can be shut down.
func (c *Cluster) PauseWorker(t testing.TB, topologyID string) supervisor.WorkerInfo {
	t.Helper()
	w := c.signalWorker(t, topologyID, syscall.SIGSTOP)
	t.Cleanup(func() { _ = syscall.Kill(w.Pid, syscall.SIGCONT) })
	return w
}

// ResumeWorker continues a paused worker.
func (c *Cluster) ResumeWorker(t testing.TB, w supervisor.WorkerInfo) {
	t.Helper()
	if err := syscall.Kill(w.Pid, syscall.SIGCONT); err != nil {
		t.Fatalf("testkit: resume worker pid %d: %v", w.Pid, err)
	}
}

// fault runs one fault of the cluster within the waits' timeout and fails
// the test if it fails.
func (c *Cluster) fault(t testing.TB, what string, do func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.recordFault("", what)
	if err := do(ctx); err != nil {
		t.Fatalf("testkit: %s: %v", what, err)
	}
}

// recordFault puts a fault on the cluster's timeline before it happens, so
// that StateReport shows it before what followed it.
func (c *Cluster) recordFault(topologyID, what string) {
	c.lc.Events().Record(timeline.Event{Kind: timeline.FaultInjected, Daemon: "testkit", Topology: topologyID, Cause: "testkit", Details: what})
}

// StopSupervisor stops supervisor i and its workers.
func (c *Cluster) StopSupervisor(t testing.TB, i int) {
	t.Helper()
	c.fault(t, fmt.Sprintf("stop supervisor %d", i), func(ctx context.Context) error { return c.lc.StopSupervisor(ctx, i) })
}

// StartSupervisor starts supervisor i again (same id and slots).
func (c *Cluster) StartSupervisor(t testing.TB, i int) {
	t.Helper()
	c.fault(t, fmt.Sprintf("start supervisor %d", i), func(ctx context.Context) error { return c.lc.StartSupervisor(ctx, i) })
}

// AddSupervisor starts one more supervisor and returns its index.
func (c *Cluster) AddSupervisor(t testing.TB) int {
	t.Helper()
	var i int
	c.fault(t, "add supervisor", func(ctx context.Context) (err error) {
		i, err = c.lc.AddSupervisor(ctx)
		return err
	})
	return i
}

// RestartNimbus stops nimbus and starts it again on the same dir and address.
func (c *Cluster) RestartNimbus(t testing.TB) {
	t.Helper()
	c.fault(t, "restart nimbus", c.lc.RestartNimbus)
}

// RestartZooKeeper restarts the embedded ZooKeeper on its data dir.
func (c *Cluster) RestartZooKeeper(t testing.TB) {
	t.Helper()
	c.fault(t, "restart zookeeper", c.lc.RestartZooKeeper)
}

// ExpireSession expires the ZooKeeper session of a daemon on the embedded
// server: "nimbus" or "supervisor-<i>". The daemon must notice, open a new
// session, re-create its ephemeral nodes and re-register its watches.
func (c *Cluster) ExpireSession(t testing.TB, daemon string) {
	t.Helper()
	srv := c.lc.ZooKeeperServer()
	if srv == nil {
		t.Fatalf("testkit: ExpireSession needs the embedded ZooKeeper")
	}
	id, err := c.lc.SessionID(daemon)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if err := srv.ExpireSession(id); err != nil {
		t.Fatalf("testkit: expire session 0x%x of %s: %v", id, daemon, err)
	}
}
