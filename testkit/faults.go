package testkit

import (
	"context"
	"sort"
	"syscall"
	"testing"

	"github.com/localstorm/localstorm/daemons/supervisor"
)

// Fault injection on the running cluster, as etcd's integration members offer
// Stop/Restart: each call fails the test if it cannot do what it says.

// Workers returns the running workers of a topology over all supervisors,
// sorted by port.
func (c *Cluster) Workers(topologyID string) []supervisor.WorkerInfo {
	var out []supervisor.WorkerInfo
	for _, sup := range c.Supervisors() {
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

func (c *Cluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// StopSupervisor stops supervisor i and its workers.
func (c *Cluster) StopSupervisor(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.Cluster.StopSupervisor(ctx, i); err != nil {
		t.Fatalf("testkit: stop supervisor %d: %v", i, err)
	}
}

// StartSupervisor starts supervisor i again (same id and slots).
func (c *Cluster) StartSupervisor(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.Cluster.StartSupervisor(ctx, i); err != nil {
		t.Fatalf("testkit: start supervisor %d: %v", i, err)
	}
}

// AddSupervisor starts one more supervisor and returns its index.
func (c *Cluster) AddSupervisor(t testing.TB) int {
	t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	i, err := c.Cluster.AddSupervisor(ctx)
	if err != nil {
		t.Fatalf("testkit: add supervisor: %v", err)
	}
	return i
}

// RestartNimbus stops nimbus and starts it again on the same dir and address.
func (c *Cluster) RestartNimbus(t testing.TB) {
	t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.Cluster.RestartNimbus(ctx); err != nil {
		t.Fatalf("testkit: restart nimbus: %v", err)
	}
}

// RestartZooKeeper restarts the embedded ZooKeeper on its data dir.
func (c *Cluster) RestartZooKeeper(t testing.TB) {
	t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.Cluster.RestartZooKeeper(ctx); err != nil {
		t.Fatalf("testkit: restart zookeeper: %v", err)
	}
}

// ExpireSession expires the ZooKeeper session of a daemon on the embedded
// server: "nimbus" or "supervisor-<i>". The daemon must notice, open a new
// session, re-create its ephemeral nodes and re-register its watches.
func (c *Cluster) ExpireSession(t testing.TB, daemon string) {
	t.Helper()
	srv := c.ZooKeeperServer()
	if srv == nil {
		t.Fatalf("testkit: ExpireSession needs the embedded ZooKeeper")
	}
	id, err := c.SessionID(daemon)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if err := srv.ExpireSession(id); err != nil {
		t.Fatalf("testkit: expire session 0x%x of %s: %v", id, daemon, err)
	}
}
