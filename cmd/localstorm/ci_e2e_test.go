package main

// End-to-end tests of what a CI job drives (issue 19): up --detach, wait,
// export logs, down, and the recipe under examples/ci.

import (
	"context"
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
		for _, r := range e.running() {
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

// running are the clusters that this test's state dir records and whose
// process still runs.
func (e *env) running() []registry.Record {
	var alive []registry.Record
	files, _ := filepath.Glob(filepath.Join(e.state, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		var r registry.Record
		if err == nil && json.Unmarshal(b, &r) == nil && registry.Alive(r.PID, r.PIDStartTicks) {
			alive = append(alive, r)
		}
	}
	return alive
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
	for _, f := range []string{"cluster.log", "cluster.json", "api/cluster-summary.json", "api/supervisor-summary.json", "zookeeper.txt"} {
		if _, err := os.Stat(filepath.Join(exported, f)); err != nil {
			t.Errorf("export of a running cluster: %v", err)
		}
	}
	if zk, _ := os.ReadFile(filepath.Join(exported, "zookeeper.txt")); !strings.Contains(string(zk), "/storm/supervisors/") {
		t.Errorf("ZooKeeper dump without supervisors:\n%s", zk)
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

// With --dir, a detached cluster logs in its data dir, not in the state
// dir; the record names the log, and export finds it there, running and
// stopped.
func TestEndToEndDetachLogInDir(t *testing.T) {
	e := newEnv(t)
	e.stopRecorded()
	dir := t.TempDir()
	var d detachedCluster
	e.jsonOf(&d, "up", "-d", "--cluster", "indir", "--supervisors", "1", "--dir", dir)
	want := filepath.Join(dir, detachedLog)
	if d.LogFile != want {
		t.Errorf("up -d --dir %s: log file %q, want %q", dir, d.LogFile, want)
	}
	if b, err := os.ReadFile(want); err != nil || !strings.Contains(string(b), "starting cluster") {
		t.Errorf("log in --dir: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(e.state, "indir.log")); err == nil {
		t.Errorf("up -d --dir still writes its log in the state dir")
	}
	// Another cluster on the same dir is refused, and the log stays whole.
	before, _ := os.ReadFile(want)
	if _, errs, code := e.run("up", "-d", "--cluster", "indir2", "--supervisors", "1", "--dir", dir); code == 0 || !strings.Contains(errs, "held by another running cluster") {
		t.Errorf("a second detached cluster on the same --dir: exit %d, stderr %q", code, errs)
	}
	if after, _ := os.ReadFile(want); len(after) < len(before) {
		t.Errorf("the refused start truncated the running cluster's log (%d bytes, was %d)", len(after), len(before))
	}
	running := filepath.Join(t.TempDir(), "running")
	e.ok("export", "logs", running, "--cluster", "indir")
	e.ok("down", "--cluster", "indir")
	stopped := filepath.Join(t.TempDir(), "stopped")
	e.ok("export", "logs", stopped, "--cluster", "indir", "--dir", dir)
	for _, out := range []string{running, stopped} {
		if b, err := os.ReadFile(filepath.Join(out, "cluster.log")); err != nil || !strings.Contains(string(b), "starting cluster") {
			t.Errorf("export to %s: cluster log %v\n%s", out, err, b)
		}
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

// recipe runs a CI recipe (argv, a script or a test suite that drives
// localstorm through $LOCALSTORM) as a CI job would, in a fresh dir, with
// env added; it is killed, with everything it started, after 4 minutes.
// Whether it passed or failed, it must leave no cluster running.
func (e *env) recipe(argv []string, env ...string) (string, int) {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(e.command().Env, append([]string{"LOCALSTORM=" + exe, "PYTHONDONTWRITEBYTECODE=1"}, env...)...)
	cmd.Dir = e.t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, _ := cmd.CombinedOutput()
	if left := e.running(); len(left) > 0 {
		e.t.Errorf("%s (exit %d) left clusters running: %+v", strings.Join(argv, " "), cmd.ProcessState.ExitCode(), left)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// The recipe of examples/ci runs as a CI job would run it: it passes, and
// when a step fails it exports the logs and stops the cluster.
func TestCIRecipe(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testutil.MissingTool(t, "the Flux example's components need python3")
	}
	e := newEnv(t)
	e.stopRecorded()
	script, err := filepath.Abs("../../examples/ci/flux-wordcount.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Installed from a release archive (as docs/ci.md's workflow may), the
	// archive made of this binary: LOCALSTORM unset, nothing on PATH.
	archive := releaseArchive(t)
	out, code := e.recipe([]string{"sh", script}, "CLUSTER=recipe", "LOCALSTORM=", "LOCALSTORM_ARCHIVE="+archive)
	if code != 0 || !strings.Contains(out, "localstorm ") {
		t.Fatalf("the recipe, installing from %s, failed: exit %d\n%s", archive, code, out)
	}
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	out, code = e.recipe([]string{"sh", script}, "CLUSTER=recipe-fails", "ACKED=1000000000", "WAIT_TIMEOUT=3s", "ARTIFACTS="+artifacts)
	if code != 1 {
		t.Fatalf("a recipe whose wait cannot be met: exit %d, want 1\n%s", code, out)
	}
	checkExported(t, artifacts, "flux-wordcount")
}

// releaseArchive is a release archive as scripts/release.sh lays it out
// (localstorm_VERSION_OS_ARCH/localstorm), of this test binary.
func releaseArchive(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stage := t.TempDir()
	base := filepath.Join(stage, "localstorm_test_linux_amd64")
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "localstorm"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "localstorm_test_linux_amd64.tar.gz")
	if err := tarGz(stage, archive); err != nil {
		t.Fatal(err)
	}
	return archive
}

// checkExported checks that artifacts holds what `export logs` keeps of a
// cluster that ran the topology called name.
func checkExported(t *testing.T, artifacts, name string) {
	t.Helper()
	for _, f := range []string{"cluster.log", "api/cluster-summary.json"} {
		if _, err := os.Stat(filepath.Join(artifacts, f)); err != nil {
			t.Errorf("no %s among the artifacts: %v", f, err)
		}
	}
	if logs, _ := filepath.Glob(filepath.Join(artifacts, "workers", "supervisor-*", "logs", name+"-*", "*", "worker.err.log")); len(logs) == 0 {
		t.Errorf("no worker log of %s among the artifacts", name)
	}
}

// The pytest recipe of examples/ci-pytest, run by Debian's python3-pytest as
// a CI job runs it: its session fixture starts a detached cluster, submits
// the Flux topology, waits on acks and the tests read the REST API; it
// passes and leaves nothing running. With a wait that cannot be met, pytest
// fails, the logs are exported and, again, nothing is left running.
func TestCIPytest(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import pytest").Run(); err != nil {
		testutil.MissingTool(t, "Debian's python3-pytest (%s -m pytest): %v", python, err)
	}
	e := newEnv(t)
	e.stopRecorded()
	suite, err := filepath.Abs("../../examples/ci-pytest")
	if err != nil {
		t.Fatal(err)
	}
	pytest := []string{python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--basetemp", filepath.Join(t.TempDir(), "pytest"), suite}
	out, code := e.recipe(pytest, "CLUSTER=pytest")
	if code != 0 || !strings.Contains(out, "5 passed") {
		t.Fatalf("the pytest recipe failed: exit %d\n%s", code, out)
	}
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	out, code = e.recipe(pytest, "CLUSTER=pytest-fails", "ACKED=1000000000", "WAIT_TIMEOUT=3s", "ARTIFACTS="+artifacts)
	if code != 1 || !strings.Contains(out, "not reached within") {
		t.Fatalf("a pytest session whose wait cannot be met: exit %d, want 1 and the wait's message\n%s", code, out)
	}
	checkExported(t, artifacts, "ci-pytest-words")
}
