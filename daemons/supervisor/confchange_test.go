package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/internal/testutil"
)

// assignConf is assign with the checksum of the topology's conf.
func (e *env) assignConf(topologyID, node, confSHA256 string, ports ...int) {
	e.t.Helper()
	a := &cluster.Assignment{V: 1, NodeHost: map[string]string{node: "test-host"}, ConfSHA256: confSHA256}
	for i, port := range ports {
		a.Executors = append(a.Executors, cluster.ExecutorAssignment{
			Executor: cluster.ExecutorInfo{Start: i + 1, End: i + 1},
			Slot:     cluster.NodePort{Node: node, Port: port},
		})
	}
	e.write("write assignment", func() error { return e.state.SetAssignment(topologyID, a) })
}

// workerConf is the conf the worker read when it started.
func (e *env) workerConf(wid string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "workers", wid, "conf"))
	return string(b)
}

// TestChangedConfIsDownloadedAndWorkersRestart: an assignment whose conf
// checksum differs from the downloaded conf's (nimbus changed the conf on
// rebalance) makes the supervisor download it again and restart the
// topology's workers, which start with the new conf; the same checksum
// again changes nothing.
func TestChangedConfIsDownloadedAndWorkersRestart(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	const topo = "wc-1-1700000000"
	oldConf, newConf := `{"topology.max.spout.pending":3}`, `{"topology.max.spout.pending":7}`
	e.code.conf.Store(oldConf)
	e.assignConf(topo, sup.ID(), sha256Hex([]byte(oldConf)), e.ports...)
	testutil.Eventually(t, 15*time.Second, "two running workers", func() bool { return len(running(sup)) == 2 })
	before := running(sup)
	for _, w := range before {
		if got := e.workerConf(w.WorkerID); got != oldConf {
			t.Fatalf("worker %s started with conf %q, want %q", w.WorkerID, got, oldConf)
		}
	}

	e.code.conf.Store(newConf)
	e.assignConf(topo, sup.ID(), sha256Hex([]byte(newConf)), e.ports...)
	testutil.Eventually(t, 15*time.Second, "both workers replaced", func() (bool, string) {
		now := running(sup)
		for _, port := range e.ports {
			if w, ok := now[port]; !ok || w.WorkerID == before[port].WorkerID {
				return false, fmt.Sprintf("port %d not yet", port)
			}
		}
		return true, ""
	})
	for _, w := range running(sup) {
		if got := e.workerConf(w.WorkerID); got != newConf {
			t.Errorf("worker %s restarted with conf %q, want %q", w.WorkerID, got, newConf)
		}
	}
	local, _ := os.ReadFile(filepath.Join(e.dir, "supervisor", "stormdist", topo, "stormconf.json"))
	if string(local) != newConf {
		t.Errorf("downloaded conf %q, want %q", local, newConf)
	}
	if n := e.code.downloads.Load(); n != 2 {
		t.Errorf("code downloaded %d times, want 2 (once, then the changed conf)", n)
	}

	// The same checksum read again: no download, no restart.
	after := running(sup)
	synced := make(chan struct{})
	sup.syncEvents.Add(func() error {
		err := sup.synchronizeSupervisor()
		sup.procEvents.Add(func() error { close(synced); return nil })
		return err
	})
	select {
	case <-synced:
	case <-time.After(15 * time.Second):
		t.Fatal("synchronize-supervisor and sync-processes did not run")
	}
	if n := e.code.downloads.Load(); n != 2 {
		t.Errorf("code downloaded %d times after an unchanged conf, want 2", n)
	}
	for port, w := range running(sup) {
		if w.WorkerID != after[port].WorkerID {
			t.Errorf("worker on port %d restarted with an unchanged conf", port)
		}
	}
}
