package main

// End-to-end tests of what a CI job drives (issue 19): up --detach, wait,
// export logs, down, and the recipe under examples/ci.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/procs"
)

// stopRecorded stops, at cleanup, the clusters that this test's state dir
// records and that still run: only processes this test started.
func (e *env) stopRecorded() {
	e.t.Cleanup(func() {
		files, _ := filepath.Glob(filepath.Join(e.state, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			var r registry.Record
			if err != nil || json.Unmarshal(b, &r) != nil || !registry.Alive(r.PID, r.PIDStartTicks) {
				continue
			}
			e.t.Errorf("cluster %q (pid %d) still runs at the end of the test: stopping it", r.Name, r.PID)
			_ = procs.Signal(r.PID, syscall.SIGTERM)
			deadline := time.Now().Add(30 * time.Second)
			for registry.Alive(r.PID, r.PIDStartTicks) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			_ = procs.SignalGroup(r.PID, syscall.SIGKILL)
		}
	})
}

func TestEndToEndDetach(t *testing.T) {
	e := newEnv(t)
	e.stopRecorded()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Started from a shell that exits at once: the cluster outlives it.
	sh := exec.Command("sh", "-c", `"$0" up --detach --cluster det --supervisors 2 -o json`, exe)
	sh.Env = e.command().Env
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("up --detach from a shell: %v\n%s", err, out)
	}
	var d detachedCluster
	if err := json.Unmarshal(out, &d); err != nil || d.PID == 0 || d.API == "" || d.ZooKeeper == "" || d.LogFile == "" || d.DataDir == "" || d.ThriftPort == 0 {
		t.Fatalf("up --detach -o json: %v\n%s", err, out)
	}
	if pgid, err := syscall.Getpgid(d.PID); err != nil || pgid != d.PID {
		t.Errorf("detached up (pid %d): process group %d (%v), want a session and group of its own", d.PID, pgid, err)
	}
	if !strings.Contains(e.ok("status", "--cluster", "det"), strconv.Itoa(d.PID)) {
		t.Errorf("status does not name the detached pid %d", d.PID)
	}
	e.ok("wait", "cluster", "--cluster", "det", "--supervisors", "2", "--timeout", "30s")

	// A wait that cannot be met in time says so, with what it saw last.
	_, errs, code := e.run("wait", "topology", "nosuch", "--cluster", "det", "--timeout", "500ms")
	if code != 1 || !strings.Contains(errs, "not reached within") || !strings.Contains(errs, "no live topology") {
		t.Errorf("wait for a topology never submitted: exit %d, stderr %q", code, errs)
	}

	exported := filepath.Join(t.TempDir(), "logs")
	e.ok("export", "logs", exported, "--cluster", "det")
	for _, f := range []string{"cluster.log", "cluster.json", "api/cluster-summary.json", "api/supervisor-summary.json", "zookeeper.txt", "events.txt", "api/events.json"} {
		if _, err := os.Stat(filepath.Join(exported, f)); err != nil {
			t.Errorf("export of a running cluster: %v", err)
		}
	}
	if zk, _ := os.ReadFile(filepath.Join(exported, "zookeeper.txt")); !strings.Contains(string(zk), "/storm/supervisors/") {
		t.Errorf("ZooKeeper dump without supervisors:\n%s", zk)
	}
	if ev, _ := os.ReadFile(filepath.Join(exported, "events.txt")); !strings.Contains(string(ev), "nimbus-started") {
		t.Errorf("exported events without nimbus's start:\n%s", ev)
	}

	e.ok("down", "--cluster", "det")
	if registry.Alive(d.PID, 0) {
		t.Errorf("detached up (pid %d) still runs after down", d.PID)
	}
	stopped := filepath.Join(t.TempDir(), "stopped.tar.gz")
	e.ok("export", "logs", stopped, "--cluster", "det")
	if tz, err := exec.Command("tar", "tzf", stopped).Output(); err != nil || !strings.Contains(string(tz), "cluster.log") {
		t.Errorf("export of a stopped cluster: %v, archive holds %q", err, tz)
	}
}

// A detached start that fails exits 1 with the log's last lines, and
// leaves nothing running.
func TestEndToEndDetachFailure(t *testing.T) {
	e := newEnv(t)
	e.stopRecorded()
	noZooKeeper := "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, errs, code := e.run("up", "-d", "--cluster", "bad", "--zookeeper", noZooKeeper, "--wait-timeout", "2s")
	if code != 1 || !strings.Contains(errs, "--wait-timeout") || !strings.Contains(errs, "  | ") {
		t.Fatalf("up -d against no ZooKeeper: exit %d, stderr %q; want 1, the reason and the log's tail", code, errs)
	}
	m := regexp.MustCompile(`\(pid (\d+),`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no pid in %q", errs)
	}
	pid, _ := strconv.Atoi(m[1])
	if registry.Alive(pid, 0) {
		t.Errorf("the failed detached up (pid %d) still runs", pid)
	}
	if left := processesWithArg(noZooKeeper); len(left) > 0 {
		t.Errorf("processes of the failed cluster still run: %v", left)
	}
}

// The recipe of examples/ci runs as a CI job would run it: it passes, and
// when a step fails it exports the logs and stops the cluster.
func TestCIRecipe(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the Flux example's components need python3")
	}
	e := newEnv(t)
	e.stopRecorded()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../examples/ci/flux-wordcount.sh")
	if err != nil {
		t.Fatal(err)
	}
	recipe := func(env ...string) (string, int) {
		cmd := exec.Command("sh", script)
		cmd.Env = append(e.command().Env, append([]string{"LOCALSTORM=" + exe}, env...)...)
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := recipe("CLUSTER=recipe"); code != 0 {
		t.Fatalf("the recipe failed: exit %d\n%s", code, out)
	}
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	out, code := recipe("CLUSTER=recipe-fails", "ACKED=1000000000", "WAIT_TIMEOUT=3s", "ARTIFACTS="+artifacts)
	if code != 1 {
		t.Fatalf("a recipe whose wait cannot be met: exit %d, want 1\n%s", code, out)
	}
	testutil.Eventually(t, 5*time.Second, "exported worker logs", func() (bool, string) {
		logs, _ := filepath.Glob(filepath.Join(artifacts, "workers", "supervisor-*", "logs", "flux-wordcount-*", "*", "worker.err.log"))
		return len(logs) > 0, out
	})
	if _, err := os.Stat(filepath.Join(artifacts, "cluster.log")); err != nil {
		t.Errorf("no cluster log among the artifacts: %v", err)
	}
}
