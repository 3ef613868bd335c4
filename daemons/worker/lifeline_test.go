package worker

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/topology"
	_ "github.com/localstorm/localstorm/topology/shell" // links in multilang support
)

// multilangTopology: the replaying spout into a Python multilang bolt that
// answers the handshake and then never reads again, so the end of its stdin
// does not end it: only its worker can.
func multilangTopology(n int, outDir string) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &replaySpout{n: n, dir: outDir} }, 1)
	b.SetShellBolt("split", []string{"python3", "silent_bolt.py"},
		map[string]topology.StreamDef{topology.DefaultStream: {Fields: topology.Fields{"word"}}}, 1).
		ShuffleGrouping("sentences")
	return b
}

// A worker dies with its lifeline, and takes its multilang subprocess with
// it, within 1 s: the portable mechanism macOS relies on. The test plays the
// owner's side of the contract (procs.Launch's): the worker gets the read end
// of a pipe as descriptor 3, named by procs.LifelineEnv; closing the write
// end is what the kernel does when the owner dies, however it dies.
func TestWorkerDiesWithItsLifeline(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed by the multilang worker test and is not on PATH")
	}
	c := newProcCluster(t, "multilang", 1_000_000, nil, 1)
	resources := filepath.Join(c.codeDir, "resources")
	if err := os.CopyFS(resources, os.DirFS("../../topology/shell/testdata")); err != nil {
		t.Fatal(err)
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer lifeW.Close()
	w := c.startWith(0, func(cmd *exec.Cmd) {
		cmd.ExtraFiles = []*os.File{lifeR}
		cmd.Env = append(cmd.Env, procs.LifelineEnv+"=3")
	})
	lifeR.Close()

	// The multilang subprocess writes its pid file in the handshake.
	pidDir := workercontract.LocalDir(c.localDir).MultilangPids("w-0")
	var shellPid int
	deadline := time.Now().Add(30 * time.Second)
	for shellPid == 0 && time.Now().Before(deadline) {
		entries, _ := os.ReadDir(pidDir)
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && procs.Running(pid) {
				shellPid = pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if shellPid == 0 {
		t.Fatalf("no running multilang subprocess recorded in %s within 30s\n%s", pidDir, c.workerLog(c.slots[0].Port))
	}
	// Should the test fail, the subprocess must not outlive it.
	t.Cleanup(func() { _ = procs.SignalGroup(shellPid, syscall.SIGKILL) })
	select {
	case <-w.exited:
		t.Fatalf("worker exited while its lifeline held: %v\n%s", w.err, c.workerLog(c.slots[0].Port))
	case <-time.After(200 * time.Millisecond):
	}

	lifeW.Close()
	cut := time.Now()
	w.wait(t, time.Second)
	for procs.Running(shellPid) {
		if time.Since(cut) > time.Second {
			t.Fatalf("multilang subprocess %d still runs 1s after its worker's lifeline broke", shellPid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("worker and multilang subprocess gone %v after the lifeline broke", time.Since(cut).Round(time.Millisecond))
}
