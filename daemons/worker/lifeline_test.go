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
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer lifeW.Close()
	c, w, shellPid := startMultilangWorker(t, func(cmd *exec.Cmd) {
		cmd.ExtraFiles = []*os.File{lifeR}
		cmd.Env = append(cmd.Env, procs.LifelineEnv+"=3")
	})
	lifeR.Close()
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

// startMultilangWorker starts the multilang topology's worker (changed by
// with) and returns it with the pid of its running multilang subprocess.
func startMultilangWorker(t *testing.T, with func(*exec.Cmd)) (*procCluster, *workerProc, int) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed by the multilang worker tests and is not on PATH")
	}
	c := newProcCluster(t, "multilang", 1_000_000, nil, 1)
	resources := filepath.Join(c.codeDir, "resources")
	if err := os.CopyFS(resources, os.DirFS("../../topology/shell/testdata")); err != nil {
		t.Fatal(err)
	}
	w := c.startWith(0, with)
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
	return c, w, shellPid
}

// A worker killed with -9 cannot stop its multilang subprocess, which here
// ignores the end of its stdin; the worker recorded it in its pid dir, and
// the supervisor's ReapOrphans of that dir (as after every worker's end)
// kills it, as Storm's supervisor kills every pid of a dead worker.
func TestKilledWorkersMultilangSubprocessIsReaped(t *testing.T) {
	c, w, shellPid := startMultilangWorker(t, nil)
	w.kill()
	time.Sleep(100 * time.Millisecond)
	if !procs.Running(shellPid) {
		t.Fatal("the multilang subprocess died with its worker on its own: this test needs one that outlives it")
	}
	n, err := procs.ReapOrphans(workercontract.LocalDir(c.localDir).Pids("w-0"), nil)
	if err != nil || n != 1 {
		t.Fatalf("ReapOrphans of the worker's pid dir = %d, %v; want the multilang subprocess killed", n, err)
	}
	if procs.Running(shellPid) {
		t.Fatalf("multilang subprocess %d still runs after the reap", shellPid)
	}
}
