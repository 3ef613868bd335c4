package main

// End-to-end tests of the localstorm command: the test binary is the
// localstorm binary (TestMain runs Run when LOCALSTORM_E2E_MAIN is set, also
// in the worker processes supervisors start from it), so the tests drive real
// `up` processes, real supervisors and real worker subprocesses.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/version"
	"github.com/localstorm/localstorm/topology"
)

func TestMain(m *testing.M) {
	if os.Getenv("LOCALSTORM_E2E_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// env is one test's world: its own state dir, so clusters of other tests and
// of the user are invisible.
type env struct {
	t     *testing.T
	state string
}

func newEnv(t *testing.T) *env {
	return &env{t: t, state: t.TempDir()}
}

func (e *env) command(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "LOCALSTORM_E2E_MAIN=1", "LOCALSTORM_STATE_DIR="+e.state)
	return cmd
}

// run runs a localstorm command to completion.
func (e *env) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	cmd := e.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		e.t.Fatalf("localstorm %v: still running after 2 minutes", args)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// ok runs a command that must succeed and returns its stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("localstorm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (e *env) jsonOf(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("localstorm %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// upProc is a running `localstorm up`.
type upProc struct {
	cmd  *exec.Cmd
	out  *testutil.Buffer
	err  *testutil.Buffer
	done chan struct{}
	pid  int
}

// up starts `localstorm up ARGS` and waits for its banner.
func (e *env) up(args ...string) *upProc {
	e.t.Helper()
	return e.background("Stop with Ctrl-C", append([]string{"up"}, args...)...)
}

// stopped waits for the up process to exit.
func (p *upProc) stopped(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("up (pid %d) still running after %s", p.pid, within)
	}
}

func spoutTotals(info *api.TopologyInfo) (emitted, acked, failed int64) {
	for _, s := range info.Spouts {
		emitted += s.Emitted
		acked += s.Acked
		failed += s.Failed
	}
	return
}

// descendants lists the processes under pid (children, grandchildren, ...).
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 2 {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(pid)
	return out
}

// workerPid finds the worker process of a topology on a port among pids.
func workerPid(pids []int, topologyID string, port int) int {
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if slices.Contains(args, topologyID) && slices.Contains(args, strconv.Itoa(port)) {
			return p
		}
	}
	return 0
}

// processesWithArg lists live processes whose command line has arg.
func processesWithArg(arg string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), arg) {
			out = append(out, p)
		}
	}
	return out
}

// The whole life of a cluster: up → word count acks grow → kill -9 a worker →
// every sentence still acked → rebalance → deactivate/activate → kill → down
// → nothing of the cluster left.
func TestEndToEndLifecycle(t *testing.T) {
	e := newEnv(t)
	const limit = 1500
	dir := t.TempDir()
	up := e.up("--cluster", "life", "--supervisors", "2", "--slots", "2", "--dir", dir, "--demo",
		"-c", fmt.Sprintf("wordcount.sentences.limit=%d", limit), "-c", "topology.message.timeout.secs=3",
		"-c", "topology.max.spout.pending=50")

	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "word count acks tuples", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "life")
		_, acked, _ := spoutTotals(&info)
		return acked > 0, fmt.Sprintf("acked %d", acked)
	})
	spoutPort := info.Spouts[0].ExecutorStats[0].Port
	victimPort := 0
	for _, w := range info.Workers {
		if w.Port != spoutPort {
			victimPort = w.Port
		}
	}
	if victimPort == 0 {
		t.Fatalf("word count runs on one worker only: %+v", info.Workers)
	}
	victim := workerPid(descendants(up.pid), info.ID, victimPort)
	if victim == 0 {
		t.Fatalf("no worker process for port %d under pid %d", victimPort, up.pid)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "killed worker relaunched", func() (bool, string) {
		p := workerPid(descendants(up.pid), info.ID, victimPort)
		return p != 0 && p != victim, fmt.Sprintf("pid on port %d: %d", victimPort, p)
	})
	testutil.Eventually(t, 90*time.Second, "every sentence acked despite the kill", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "life")
		_, acked, failed := spoutTotals(&info)
		return acked == limit, fmt.Sprintf("acked %d of %d, failed %d", acked, limit, failed)
	})

	e.ok("rebalance", "wordcount", "--cluster", "life", "-w", "0", "-n", "3")
	testutil.Eventually(t, 30*time.Second, "rebalanced to 3 workers", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "life")
		return info.Status == "ACTIVE" && info.WorkersTotal == 3, fmt.Sprintf("status %s, workers %d", info.Status, info.WorkersTotal)
	})
	// --sys lists the acker among the bolts; without it, as in Storm UI, not.
	hasAcker := func(info *api.TopologyInfo) bool {
		return slices.ContainsFunc(info.Bolts, func(b api.BoltSummary) bool { return b.BoltID == topology.AckerComponent })
	}
	var sysInfo api.TopologyInfo
	e.jsonOf(&sysInfo, "topology", "wordcount", "--cluster", "life", "--sys")
	if hasAcker(&info) || !hasAcker(&sysInfo) {
		t.Errorf("acker among the bolts: %v without --sys, %v with; want only with", hasAcker(&info), hasAcker(&sysInfo))
	}
	e.ok("deactivate", "wordcount", "--cluster", "life")
	e.jsonOf(&info, "topology", "wordcount", "--cluster", "life")
	if info.Status != "INACTIVE" {
		t.Errorf("after deactivate: status %s", info.Status)
	}
	e.ok("activate", "wordcount", "--cluster", "life")
	e.jsonOf(&info, "topology", "wordcount", "--cluster", "life")
	if info.Status != "ACTIVE" {
		t.Errorf("after activate: status %s", info.Status)
	}
	e.ok("kill", "wordcount", "--cluster", "life", "-w", "5")
	if _, errs, code := e.run("activate", "wordcount", "--cluster", "life"); code != 1 || !strings.Contains(errs, "KILLED") {
		t.Errorf("activate of a KILLED topology: exit %d, stderr %q; want 1 and an error naming the state", code, errs)
	}
	testutil.Eventually(t, 30*time.Second, "killed topology removed", func() (bool, string) {
		var sum api.TopologySummary
		e.jsonOf(&sum, "list", "--cluster", "life")
		return len(sum.Topologies) == 0, fmt.Sprintf("%d topologies", len(sum.Topologies))
	})
	children := descendants(up.pid)
	e.ok("down", "--cluster", "life")
	up.stopped(t, 30*time.Second)
	for _, p := range children {
		if syscall.Kill(p, 0) == nil {
			t.Errorf("process %d of the cluster still runs after down", p)
		}
	}
	if left := processesWithArg(dir); len(left) > 0 {
		t.Errorf("processes using the data dir still run after down: %v", left)
	}
}

// A cluster with a data dir comes back after kill -9 of its up process with
// the same topologies, whose workers are relaunched.
func TestEndToEndPersistence(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	up := e.up("--cluster", "keep", "--supervisors", "1", "--slots", "2", "--dir", dir, "--demo")
	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "word count acks tuples", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "keep")
		_, acked, _ := spoutTotals(&info)
		return acked > 0, fmt.Sprintf("acked %d", acked)
	})
	id := info.ID
	workers := descendants(up.pid)
	if err := up.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	up.stopped(t, 10*time.Second)
	testutil.Eventually(t, 20*time.Second, "workers die with their up process", func() (bool, string) {
		var alive []int
		for _, p := range workers {
			if syscall.Kill(p, 0) == nil {
				alive = append(alive, p)
			}
		}
		return len(alive) == 0, fmt.Sprintf("alive %v", alive)
	})
	if _, errs, code := e.run("status", "--cluster", "keep"); code != 1 || !strings.Contains(errs, "stale") {
		t.Errorf("status of a SIGKILLed cluster: exit %d, stderr %q; want 1 and a stale state file message", code, errs)
	}

	again := e.up("--cluster", "keep", "--supervisors", "1", "--slots", "2", "--dir", dir)
	// Totals carry over the restart (nimbus saved them): growing means the
	// relaunched workers run.
	var first int64 = -1
	testutil.Eventually(t, 60*time.Second, "the topology resumes with acks growing", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "keep")
		_, acked, _ := spoutTotals(&info)
		if first < 0 && info.ID == id {
			first = acked
		}
		return info.ID == id && info.Status == "ACTIVE" && first >= 0 && acked > first,
			fmt.Sprintf("id %s status %s acked %d, at first sight %d", info.ID, info.Status, acked, first)
	})
	// The restored ZooKeeper still holds the dead run's session, which owned
	// the supervisor's ephemeral node. Once that session expires (within
	// ZooKeeper's maximum session timeout, 20 ticks = 10 s), the node must
	// still be there, taken over by the new session: otherwise nimbus sees
	// no supervisor, unschedules every worker and reschedules them.
	restarted := descendants(again.pid)
	if len(restarted) == 0 {
		t.Fatal("no worker process under the restarted up")
	}
	cmdlines := map[int]string{}
	for _, p := range restarted {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		cmdlines[p] = strings.ReplaceAll(string(b), "\x00", " ")
	}
	watchUntil := time.Now().Add(12 * time.Second)
	for time.Now().Before(watchUntil) && !t.Failed() {
		for _, p := range restarted {
			if syscall.Kill(p, 0) != nil {
				t.Errorf("process %d (%s) of the restarted cluster stopped within 12 s of the restart: the dead run's session took the supervisor with it", p, cmdlines[p])
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	e.ok("down", "--cluster", "keep")

	// --fresh starts empty.
	e.up("--cluster", "keep", "--supervisors", "1", "--dir", dir, "--fresh")
	var sum api.TopologySummary
	e.jsonOf(&sum, "list", "--cluster", "keep")
	if len(sum.Topologies) != 0 {
		t.Errorf("after --fresh: %d topologies, want none", len(sum.Topologies))
	}
	e.ok("down", "--cluster", "keep")
}

// Two named clusters run side by side and each command reaches the one it names.
func TestEndToEndTwoClusters(t *testing.T) {
	e := newEnv(t)
	e.up("--cluster", "alpha", "--supervisors", "1")
	e.up("--cluster", "beta", "--supervisors", "2")
	var a, b api.ClusterSummary
	e.jsonOf(&a, "status", "--cluster", "alpha")
	e.jsonOf(&b, "status", "--cluster", "beta")
	if a.Supervisors != 1 || b.Supervisors != 2 {
		t.Errorf("supervisors: alpha %d, beta %d; want 1 and 2", a.Supervisors, b.Supervisors)
	}
	if _, errs, code := e.run("status", "--cluster", "gamma"); code != 1 || !strings.Contains(errs, "alpha, beta") {
		t.Errorf("status of an unknown cluster: exit %d, stderr %q; want 1 naming the running ones", code, errs)
	}
	e.ok("down", "--cluster", "alpha")
	e.ok("down", "--cluster", "beta")
}

// Bad input gets one error line that says what to do, and the exit code says
// whose fault it was.
func TestCLIErrors(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.up("--cluster", "held", "--supervisors", "1", "--dir", dir, "--api-host", "storm.test")
	notTopology := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notTopology, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"bad flag", []string{"list", "--nope"}, 2, "unknown flag"},
		{"cluster not running", []string{"list", "--cluster", "nothere"}, 1, "no running cluster"},
		{"bad cluster name", []string{"up", "--cluster", "a/b"}, 2, "cluster name"},
		{"data dir held", []string{"up", "--cluster", "other", "--dir", dir}, 1, "held by another running cluster"},
		{"port in use", []string{"up", "--cluster", "other2", "--api-addr", apiAddrOf(t, e, "held")}, 1, "in use"},
		{"not a topology", []string{"submit", notTopology, "--cluster", "held"}, 1, "neither a topology binary nor a Flux"},
		{"unknown topology", []string{"kill", "nosuch", "--cluster", "held"}, 1, "nosuch"},
		{"bad rebalance", []string{"rebalance", "x", "-e", "count", "--cluster", "held"}, 2, "COMPONENT=N"},
		{"bad api host", []string{"up", "--cluster", "other3", "--api-host", "http://storm.test"}, 1, "without scheme or port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := e.run(tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errs)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			var errLines []string
			for _, l := range lines {
				if strings.HasPrefix(l, "error: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], tc.want) {
				t.Errorf("stderr %q: want one `error:` line containing %q", errs, tc.want)
			}
		})
	}
	// One version string: the CLI prints it, nimbus and every supervisor report it.
	want := version.String()
	if out, _, code := e.run("version"); code != 0 || out != "localstorm "+want+"\n" {
		t.Errorf("version: exit %d, %q, want %q", code, out, "localstorm "+want)
	}
	c := api.NewClient("http://" + apiAddrOf(t, e, "held"))
	if sum, err := c.ClusterSummary(context.Background()); err != nil || sum.StormVersion != want {
		t.Errorf("cluster summary: stormVersion %v (err %v), want %q", sum, err, want)
	}
	if sups, err := c.SupervisorSummary(context.Background()); err != nil || len(sups.Supervisors) == 0 {
		t.Errorf("supervisor summary: %v, %v", sups, err)
	} else {
		for _, sv := range sups.Supervisors {
			if sv.Version != want {
				t.Errorf("supervisor %s reports version %q, want %q", sv.ID, sv.Version, want)
			}
		}
	}
	// The API answers its loopback names and --api-host, nothing else.
	for host, want := range map[string]int{"storm.test": 200, "localhost": 200, "evil.example": 403} {
		req, _ := http.NewRequest("GET", "http://"+apiAddrOf(t, e, "held")+api.PathClusterSummary, nil)
		req.Host = host
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != want {
			t.Errorf("GET with Host %s: %v %v, want %d", host, resp, err, want)
		} else {
			resp.Body.Close()
		}
	}
	if _, _, code := e.run("up", "--help"); code != 0 {
		t.Errorf("up --help: exit %d, want 0", code)
	}
	e.ok("down", "--cluster", "held")
}

func apiAddrOf(t *testing.T, e *env, cluster string) string {
	t.Helper()
	out := e.ok("status", "--cluster", cluster)
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "api" {
			return strings.TrimPrefix(f[1], "http://")
		}
	}
	t.Fatalf("no api line in status: %s", out)
	return ""
}

// The same life with a real ZooKeeper 3.8 in a container (the image is built
// from Debian's packages by scripts/build-zk-image.sh, which CI runs first; the
// test runs the script itself when the image is missing): the cluster works on
// it, and down removes the container.
func TestEndToEndContainerZooKeeper(t *testing.T) {
	const image = "localstorm/zookeeper:3.8"
	script, _ := filepath.Abs("../../scripts/build-zk-image.sh")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", script).CombinedOutput(); err != nil {
		t.Fatalf("build the ZooKeeper image with %s: %v\n%s", script, err, out)
	}
	// The cluster name is the container's label, and an up reaps the
	// containers of its name as a crashed run's leftovers: unique per test
	// process, so that two runs of this test side by side leave each other be.
	name := fmt.Sprintf("boxed-%d", os.Getpid())
	e := newEnv(t)
	up := e.up("--cluster", name, "--supervisors", "2", "--zookeeper", "container="+image, "--demo")
	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "word count acks tuples on the container's ZooKeeper", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", name)
		_, acked, _ := spoutTotals(&info)
		return acked > 0, fmt.Sprintf("acked %d", acked)
	})
	if !strings.Contains(up.out.String(), "(container)") {
		t.Errorf("banner does not say the ZooKeeper is a container:\n%s", up.out.String())
	}
	e.ok("down", "--cluster", name)
	up.stopped(t, 60*time.Second)
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=io.localstorm.cluster="+name).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("container of cluster %s still exists after down: %s", name, out)
	}
}

// background starts a long-running localstorm command (up, or a standalone
// daemon), waits for want on its stdout, and stops it with SIGTERM at cleanup
// (SIGKILL after 30 s) unless it already exited.
func (e *env) background(want string, args ...string) *upProc {
	e.t.Helper()
	cmd := e.command(args...)
	p := &upProc{cmd: cmd, out: &testutil.Buffer{}, err: &testutil.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.err
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(p.done) }()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if e.t.Failed() {
			e.t.Logf("%v stdout:\n%s\nstderr:\n%s", args, p.out.String(), tail(p.err.String(), 3000))
		}
	})
	testutil.Eventually(e.t, 60*time.Second, fmt.Sprintf("%v prints %q", args, want), func() (bool, string) {
		select {
		case <-p.done:
			e.t.Fatalf("%v exited: %s\n%s", args, p.out.String(), p.err.String())
		default:
		}
		return strings.Contains(p.out.String(), want), p.out.String()
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The daemons run as separate processes, as on several machines: a
// standalone ZooKeeper, nimbus and a supervisor, each its own localstorm
// command; a Flux topology submitted by API URL runs on them.
func TestEndToEndStandaloneDaemons(t *testing.T) {
	e := newEnv(t)
	zkPort, apiPort := freePort(t), freePort(t)
	zk := fmt.Sprintf("127.0.0.1:%d", zkPort)
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	e.background("", "zookeeper", "--port", strconv.Itoa(zkPort), "--data-dir", t.TempDir(), "--tick-time", "200")
	testutil.Eventually(t, 30*time.Second, "standalone zookeeper answers", func() (bool, string) {
		c, err := net.Dial("tcp", zk)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	// The configuration comes as Storm's daemons read it: a storm.yaml
	// (nimbus's named by storm.conf.file, the supervisor's by --config),
	// whose storm.local.dir is the local dir and ui.port nimbus's API's
	// port, with -c on top.
	fast := "nimbus.monitor.freq.secs: 0.2\nsupervisor.monitor.frequency.secs: 0.2\n" +
		"supervisor.heartbeat.frequency.secs: 0.2\ntask.heartbeat.frequency.secs: 0.2\n"
	nimbusDir, supDir := t.TempDir(), t.TempDir()
	nimbusYAML := writeFile(t, filepath.Join(t.TempDir(), "nimbus.yaml"), fast+"storm.local.dir: "+nimbusDir+"\nui.port: "+strconv.Itoa(apiPort)+"\n")
	supYAML := writeFile(t, filepath.Join(t.TempDir(), "supervisor.yaml"), fast+"storm.local.dir: "+supDir+"\nsupervisor.slots.ports: [1]\n")
	e.background("nimbus serving", "nimbus", "--zookeeper", zk, "-c", "storm.conf.file="+nimbusYAML) // its API on ui.port
	slots := fmt.Sprintf("supervisor.slots.ports=[%d,%d]", freePort(t), freePort(t))
	e.background("running", "supervisor", "--zookeeper", zk, "--nimbus", apiURL,
		"--config", supYAML, "--hostname", "localhost", "-c", slots)

	var sum api.ClusterSummary
	testutil.Eventually(t, 30*time.Second, "the supervisor registers with nimbus", func() (bool, string) {
		e.jsonOf(&sum, "status", "--api", apiURL)
		return sum.Supervisors == 1 && sum.SlotsTotal == 2, fmt.Sprintf("%+v", sum)
	})
	yaml, _ := filepath.Abs("../../examples/flux/wordcount.yaml")
	e.ok("submit", yaml, "--api", apiURL, "--wait", "--timeout", "60s")
	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "the Flux word count acks tuples on the standalone daemons", func() (bool, string) {
		e.jsonOf(&info, "topology", "flux-wordcount", "--api", apiURL)
		_, acked, _ := spoutTotals(&info)
		return acked > 0, fmt.Sprintf("acked %d, status %s", acked, info.Status)
	})
	// Each daemon's local dir is its storm.local.dir, in Storm's shape.
	if _, err := os.Stat(filepath.Join(nimbusDir, "nimbus", "stormdist", info.ID)); err != nil {
		t.Errorf("nimbus's code is not under its storm.local.dir: %v", err)
	}
	sups, err := api.NewClient(apiURL).SupervisorSummary(t.Context())
	if err != nil || len(sups.Supervisors) != 1 {
		t.Fatalf("supervisor summary: %v %+v", err, sups)
	}
	var id string
	if ls, err := localstate.Open(filepath.Join(supDir, "supervisor", "isupervisor")); err != nil {
		t.Error(err)
	} else if _, err := ls.Get("supervisor-id", &id); err != nil || id != sups.Supervisors[0].ID {
		t.Errorf("isupervisor under storm.local.dir holds id %q (%v); the supervisor is %s", id, err, sups.Supervisors[0].ID)
	}
	e.ok("kill", "flux-wordcount", "--api", apiURL, "-w", "0")
	// Each daemon writes Storm's log file into its local dir's logs.
	for path, who := range map[string]string{filepath.Join(nimbusDir, "logs", "nimbus.log"): "nimbus serving", filepath.Join(supDir, "logs", "supervisor.log"): "supervisor"} {
		if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "level=INFO") {
			t.Errorf("%s (%s): %v\n%s", path, who, err, b)
		}
	}
}
