package supervisor

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/event"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zktest"
	"github.com/localstorm/localstorm/procs"
)

// The test binary doubles as a fake worker and as a process that owns a
// supervisor; modeEnv selects the role.
const modeEnv = "LOCALSTORM_SUPERVISOR_TEST_MODE"

func TestMain(m *testing.M) {
	switch os.Getenv(modeEnv) {
	case "worker":
		os.Exit(runFakeWorker(os.Args[1:]))
	case "owner":
		os.Exit(runOwner())
	}
	os.Exit(m.Run())
}

// runFakeWorker behaves as docs/internals.md asks of a worker: it reads its
// executors (from the supervisor's local assignments, where the real worker
// reads ZooKeeper), writes its local heartbeat with package localstate
// before and after the ready line, and exits 0 on SIGTERM.
func runFakeWorker(args []string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if len(args) == 0 || args[0] != workercontract.Subcommand {
		fmt.Fprintln(os.Stderr, "fake worker: first argument must be worker, got", args)
		return 2
	}
	flux, rest := workercontract.SplitFlux(args[1:])
	w, err := workercontract.Parse(rest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 2
	}
	// The command line, for the test of the worker contract.
	cwd, _ := os.Getwd()
	if err := os.WriteFile(filepath.Join(cwd, "cmdline"), []byte(strings.Join(args, "\n")), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The conf it starts with, for the test of a conf changed on rebalance.
	conf, err := os.ReadFile(filepath.Join(w.CodeDir, workercontract.ConfFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker: no code:", err)
		return 1
	}
	if err := os.WriteFile(filepath.Join(cwd, "conf"), conf, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if flux != "" {
		if _, err := os.Stat(flux); err != nil {
			fmt.Fprintln(os.Stderr, "fake worker: no Flux definition:", err)
			return 1
		}
	}
	local := workercontract.LocalDir(w.LocalDir)
	sls, err := localstate.Open(local.SupervisorLocalState())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	assigned := map[int]LocalAssignment{}
	if _, err := sls.Get(keyLocalAssignments, &assigned); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hbs, err := localstate.Open(local.Heartbeats(w.WorkerID))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	beat := func() error {
		now := time.Now()
		return hbs.Put(cluster.LocalWorkerHeartbeatKey, cluster.LocalWorkerHeartbeat{
			V: 1, TimeSecs: now.Unix(), TimeMillis: now.UnixMilli(), TopologyID: w.TopologyID,
			Executors: assigned[w.Port].Executors, Port: w.Port,
		})
	}
	if err := beat(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(workercontract.Ready{Port: w.Port, Pid: os.Getpid()})
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var crash <-chan time.Time // FAKE_WORKER_CRASH_AFTER: exit 1 after that long
	if d, err := time.ParseDuration(os.Getenv("FAKE_WORKER_CRASH_AFTER")); err == nil {
		// FAKE_WORKER_CRASH_WHILE: only while that file exists.
		if f := os.Getenv("FAKE_WORKER_CRASH_WHILE"); f == "" || fileExists(f) {
			crash = time.After(d)
		}
	}
	for {
		select {
		case <-crash:
			fmt.Fprintln(os.Stderr, "fake worker: crashing as asked")
			return 1
		case <-term:
			return 0
		case <-tick.C:
			if err := beat(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// runOwner starts a supervisor against OWNER_ZK in OWNER_DIR, prints its id
// and blocks: the test SIGKILLs it.
func runOwner() int {
	ctx := context.Background()
	state, err := cluster.ConnectStorm(ctx, cluster.Options{Servers: []string{os.Getenv("OWNER_ZK")}, SessionTimeout: 4 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ports := []int{}
	for _, p := range strings.Split(os.Getenv("OWNER_PORTS"), ",") {
		n, _ := strconv.Atoi(p)
		ports = append(ports, n)
	}
	sup, err := Start(ctx, supervisorOptions(os.Getenv("OWNER_DIR"), state, &fakeCode{exe: os.Getenv("OWNER_EXE")}, ports, nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("supervisor-id=%s\n", sup.ID())
	select {}
}

// fakeCode is a CodeDownloader writing a stormcode that execs the test
// binary (as a fake worker, through WorkerEnv), with an empty conf and
// topology.
type fakeCode struct {
	exe string
	// fluxArchive, when set, is sent as stormcode.tgz instead of a stormcode.
	fluxArchive []byte
	downloads   atomic.Int32
	failures    atomic.Int32 // how many calls still fail
	// conf, when set, is the stormconf.json sent (a string).
	conf atomic.Value
}

// confJSON is the stormconf.json fakeCode sends.
func (f *fakeCode) confJSON() string {
	if c, ok := f.conf.Load().(string); ok {
		return c
	}
	return `{"topology.name":"fake"}`
}

func (f *fakeCode) DownloadCode(ctx context.Context, topologyID, destDir string) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("nimbus unreachable (injected)")
	}
	f.downloads.Add(1)
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		workercontract.CodeFile: fmt.Sprintf("#!/bin/sh\nexec '%s' \"$@\"\n", f.exe),
		workercontract.ConfFile: f.confJSON(),
		"stormtopology.json":    `{}`,
	}
	if f.fluxArchive != nil {
		delete(files, workercontract.CodeFile)
		files[workercontract.FluxCodeFile] = string(f.fluxArchive)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(destDir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func supervisorOptions(dir string, state cluster.StormClusterState, code CodeDownloader, ports []int, logger *slog.Logger) Options {
	portList := make([]any, len(ports))
	for i, p := range ports {
		portList[i] = p
	}
	conf := config.TestProfile().Merge(config.Conf{
		config.SupervisorSlotsPorts:          portList,
		config.SupervisorWorkerShutdownSleep: 1,
	})
	return Options{
		Conf:     conf,
		LocalDir: dir,
		State:    state,
		Code:     code,
		// The race detector sleeps 1 s at exit by default; a worker must
		// exit promptly on SIGTERM.
		WorkerEnv: []string{modeEnv + "=worker", "GORACE=atexit_sleep_ms=0"},
		Hostname:  "test-host",
		Logger:    logger,
		ZooKeeper: []string{"127.0.0.1:1"},
	}
}

// env is one test's ZooKeeper, connection and supervisor dir.
type env struct {
	t        testing.TB
	zk       string            // address
	embedded *zookeeper.Server // nil when the real ZooKeeper runs
	state    cluster.StormClusterState
	dir      string
	code     *fakeCode
	ports    []int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	zk, embedded := startZooKeeper(t)
	state, err := cluster.ConnectStorm(t.Context(), cluster.Options{Servers: []string{zk}, SessionTimeout: 4 * time.Second})
	if err != nil {
		t.Fatalf("connect to ZooKeeper: %v", err)
	}
	t.Cleanup(func() { state.Disconnect() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, zk: zk, embedded: embedded, state: state, dir: t.TempDir(), code: &fakeCode{exe: exe}, ports: freePorts(t, 2)}
}

// realZKEnv set to 1 runs the tests against a real ZooKeeper 3.8 instead of
// the embedded server.
const realZKEnv = "LOCALSTORM_TEST_REAL_ZK"

func startZooKeeper(t testing.TB) (string, *zookeeper.Server) {
	t.Helper()
	if os.Getenv(realZKEnv) == "1" {
		return zktest.StartReal(t, zktest.RealOptions{}).Addr, nil
	}
	srv, err := zookeeper.Start(t.Context(), zookeeper.Options{})
	if err != nil {
		t.Fatalf("start embedded ZooKeeper: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr(), srv
}

func freePorts(t testing.TB, n int) []int {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	return ports
}

func (e *env) start() *Supervisor {
	e.t.Helper()
	sup, err := Start(e.t.Context(), supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(e.t, slog.LevelDebug)))
	if err != nil {
		e.t.Fatalf("start supervisor: %v", err)
	}
	e.t.Cleanup(func() { sup.Close(context.Background()) })
	return sup
}

// assign puts topologyID's executors on the given ports of node: executor
// [i+1, i+1] on ports[i % len(ports)].
func (e *env) assign(topologyID, node string, executors int, ports ...int) {
	e.t.Helper()
	a := &cluster.Assignment{V: 1, NodeHost: map[string]string{node: "test-host"}}
	for i := range executors {
		a.Executors = append(a.Executors, cluster.ExecutorAssignment{
			Executor: cluster.ExecutorInfo{Start: i + 1, End: i + 1},
			Slot:     cluster.NodePort{Node: node, Port: ports[i%len(ports)]},
		})
	}
	e.write("write assignment", func() error { return e.state.SetAssignment(topologyID, a) })
}

// write retries a ZooKeeper write of the test itself for a while: a real
// ZooKeeper on a loaded machine may drop the test's connection for a moment.
func (e *env) write(what string, fn func() error) {
	e.t.Helper()
	testutil.Eventually(e.t, 15*time.Second, what, func() (bool, string) {
		err := fn()
		return err == nil, fmt.Sprint(err)
	})
}

func running(sup *Supervisor) map[int]WorkerInfo {
	out := map[int]WorkerInfo{}
	for _, w := range sup.Workers() {
		if w.State == "running" {
			out[w.Port] = w
		}
	}
	return out
}

func processGone(pid int) bool { return !procs.Running(pid) }

func readHeartbeat(t testing.TB, dir, wid string) *cluster.LocalWorkerHeartbeat {
	ls, err := localstate.Open(filepath.Join(dir, "workers", wid, "heartbeats"))
	if err != nil {
		t.Fatal(err)
	}
	var hb cluster.LocalWorkerHeartbeat
	if found, err := ls.Get(cluster.LocalWorkerHeartbeatKey, &hb); err != nil || !found {
		return nil
	}
	return &hb
}

func TestAssignmentLifecycle(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	const topo = "wc-1-1700000000"
	e.assign(topo, sup.ID(), 3, e.ports...)

	// Assignment appears → one worker per port, heartbeating with its executors.
	testutil.Eventually(t, 15*time.Second, "two running workers", func() bool { return len(running(sup)) == 2 })
	workers := running(sup)
	for i, port := range e.ports {
		w := workers[port]
		if w.TopologyID != topo || w.Pid == 0 || w.WorkerID == "" {
			t.Fatalf("worker on port %d = %+v", port, w)
		}
		hb := readHeartbeat(t, e.dir, w.WorkerID)
		if hb == nil || hb.TopologyID != topo || hb.Port != port {
			t.Fatalf("heartbeat of worker on port %d = %+v", port, hb)
		}
		cmdline, err := os.ReadFile(filepath.Join(e.dir, "workers", w.WorkerID, "cmdline"))
		if err != nil {
			t.Fatal(err)
		}
		wantCmdline := strings.Join([]string{"worker",
			"--topology-id", topo, "--supervisor-id", sup.ID(), "--port", strconv.Itoa(port), "--worker-id", w.WorkerID,
			"--zookeeper", "127.0.0.1:1", "--zookeeper-root", "/storm", "--local-dir", e.dir,
			"--code-dir", filepath.Join(e.dir, "supervisor", "stormdist", topo)}, "\n")
		if string(cmdline) != wantCmdline {
			t.Errorf("worker command line:\n%s\nwant (docs/internals.md):\n%s", cmdline, wantCmdline)
		}
		wantExecutors := map[int]int{0: 2, 1: 1}[i] // executors 1,3 on port 0; 2 on port 1
		if len(hb.Executors) != wantExecutors {
			t.Errorf("port %d heartbeat executors %v, want %d", port, hb.Executors, wantExecutors)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "logs", topo, strconv.Itoa(port), procs.OutLogName)); err != nil {
			t.Errorf("worker log: %v", err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "used ports in the supervisor heartbeat", func() bool {
		info, err := e.state.SupervisorInfo(sup.ID())
		return err == nil && info != nil && len(info.UsedPorts) == 2 && len(info.SlotPorts) == 2 && info.Hostname == "test-host"
	})
	if n := e.code.downloads.Load(); n != 1 {
		t.Errorf("code downloaded %d times, want 1", n)
	}

	// kill -9 a worker → noticed at once and relaunched with a new worker id.
	victim := workers[e.ports[0]]
	if err := syscall.Kill(victim.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, "the killed worker's replacement", func() bool {
		w, ok := running(sup)[e.ports[0]]
		return ok && w.WorkerID != victim.WorkerID
	})
	if _, err := os.Stat(filepath.Join(e.dir, "workers", victim.WorkerID)); !os.IsNotExist(err) {
		t.Errorf("dir of the killed worker still there: %v", err)
	}
	if other := running(sup)[e.ports[1]]; other.WorkerID != workers[e.ports[1]].WorkerID {
		t.Errorf("the healthy worker was replaced: %+v → %+v", workers[e.ports[1]], other)
	}

	// Assignment removed → workers shut down, code removed.
	pids := []int{}
	for _, w := range sup.Workers() {
		pids = append(pids, w.Pid)
	}
	e.write("remove assignment", func() error { return e.state.RemoveStorm(topo) })
	testutil.Eventually(t, 15*time.Second, "workers shut down", func() bool { return len(sup.Workers()) == 0 })
	for _, pid := range pids {
		testutil.Eventually(t, 5*time.Second, "worker process gone", func() bool { return processGone(pid) })
	}
	testutil.Eventually(t, 5*time.Second, "code removed", func() bool {
		_, err := os.Stat(filepath.Join(e.dir, "supervisor", "stormdist", topo))
		return os.IsNotExist(err)
	})
	testutil.Eventually(t, 5*time.Second, "worker dirs removed", func() bool {
		entries, _ := os.ReadDir(filepath.Join(e.dir, "workers"))
		return len(entries) == 0
	})
}

// TestStoppedWorkerTimesOut freezes a worker with SIGSTOP: its heartbeat
// ages past supervisor.worker.timeout.secs, so it is timed out, killed (a
// stopped process ignores SIGTERM until SIGKILL) and replaced.
func TestStoppedWorkerTimesOut(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	testutil.Eventually(t, 15*time.Second, "a running worker", func() bool { return len(running(sup)) == 1 })
	frozen := running(sup)[e.ports[0]]
	if err := syscall.Kill(frozen.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	testutil.Eventually(t, 20*time.Second, "the frozen worker's replacement", func() bool {
		w, ok := running(sup)[e.ports[0]]
		return ok && w.WorkerID != frozen.WorkerID
	})
	timeout, _ := config.TestProfile().Secs(config.SupervisorWorkerTimeoutSecs)
	if waited := time.Since(stopped); waited < timeout {
		t.Errorf("replaced after %s, before the worker timeout %s", waited, timeout)
	}
	testutil.Eventually(t, 5*time.Second, "the frozen worker to be killed", func() bool { return processGone(frozen.Pid) })
}

// TestCrashLoopingWorkerKeepsBeingRelaunched: a worker that dies soon after
// every start is relaunched again and again (at the monitor's pace once it
// loops), each time under a new worker id.
func TestCrashLoopingWorkerKeepsBeingRelaunched(t *testing.T) {
	e := newEnv(t)
	logger := testutil.Logger(t, slog.LevelInfo)
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, logger)
	opts.WorkerEnv = append(opts.WorkerEnv, "FAKE_WORKER_CRASH_AFTER=100ms")
	opts.Events = timeline.New(0)
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	seen := map[string]bool{}
	testutil.Eventually(t, 20*time.Second, "four generations of the crashing worker", func() bool {
		for _, w := range sup.Workers() {
			seen[w.WorkerID] = true
		}
		return len(seen) >= 4
	})

	// On the timeline: each exit with its code, the relaunches, and one
	// crash loop of the slot, an error of the topology until the slot is
	// no longer assigned it.
	events, _ := opts.Events.Since(0, timeline.Filter{Topology: "t-1-1"})
	count := map[timeline.Kind]int{}
	for _, ev := range events {
		count[ev.Kind]++
		if ev.Kind == timeline.WorkerExited && !strings.Contains(ev.Details, "exited with code 1") {
			t.Errorf("exit %+v does not say its code", ev)
		}
	}
	if count[timeline.WorkerLaunched] != 1 || count[timeline.WorkerRelaunched] < 3 || count[timeline.WorkerExited] < 3 || count[timeline.WorkerCrashLooping] != 1 {
		t.Fatalf("events of the crashing worker: %v", count)
	}
	loops := opts.Events.CrashLoops("t-1-1")
	if len(loops) != 1 || loops[0].Port != e.ports[0] || loops[0].Supervisor != sup.ID() {
		t.Fatalf("open crash loops %+v, want the one of port %d", loops, e.ports[0])
	}
	e.assign("t-1-1", sup.ID(), 1, e.ports[1])
	testutil.Eventually(t, 20*time.Second, "the first slot's crash loop closed", func() (bool, string) {
		for _, l := range opts.Events.CrashLoops("t-1-1") {
			if l.Port == e.ports[0] {
				return false, fmt.Sprint(l)
			}
		}
		return true, ""
	})
	events, _ = opts.Events.Since(0, timeline.Filter{Topology: "t-1-1"})
	if !slices.ContainsFunc(events, func(ev timeline.Event) bool {
		return ev.Kind == timeline.WorkerRecovered && ev.Port == e.ports[0] && strings.Contains(ev.Cause, "no longer assigned")
	}) {
		t.Errorf("no worker-recovered event for port %d", e.ports[0])
	}
}

// TestFluxTopology: stormcode.tgz is unpacked into resources/ and the worker
// is the localstorm executable run as `worker --flux <yaml>`.
func TestFluxTopology(t *testing.T) {
	e := newEnv(t)
	e.code.fluxArchive = makeTarGz(t, []tarEntry{
		{name: "wordcount.yaml", typeflag: tar.TypeReg, body: "name: wordcount"},
		{name: "multilang/resources/split.py", typeflag: tar.TypeReg, body: "import storm"},
	})
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(t, slog.LevelInfo))
	opts.LocalstormPath = e.code.exe
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	const topo = "flux-1-1"
	e.assign(topo, sup.ID(), 1, e.ports[0])
	testutil.Eventually(t, 15*time.Second, "the Flux worker", func() bool { return len(running(sup)) == 1 })
	codeDir := filepath.Join(e.dir, "supervisor", "stormdist", topo)
	if data, err := os.ReadFile(filepath.Join(codeDir, "resources", "multilang", "resources", "split.py")); err != nil || string(data) != "import storm" {
		t.Errorf("unpacked resource = %q, %v", data, err)
	}
	cmdline, err := os.ReadFile(filepath.Join(e.dir, "workers", running(sup)[e.ports[0]].WorkerID, "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := strings.Join([]string{"worker", "--flux", filepath.Join(codeDir, "resources", "wordcount.yaml"), "--topology-id", topo}, "\n")
	if !strings.HasPrefix(string(cmdline), wantPrefix) {
		t.Errorf("Flux worker command line:\n%s\nwant it to start with:\n%s", cmdline, wantPrefix)
	}
}

// TestWatchesSurviveSessionExpiry: after the ZooKeeper session is replaced
// every one-shot watch is gone; the pending callbacks fire (and OnReconnect
// runs), the supervisor re-reads and re-registers, so a new assignment is
// acted on well before the 10 s periodic sync.
func TestWatchesSurviveSessionExpiry(t *testing.T) {
	e := newEnv(t)
	if e.embedded == nil {
		t.Skip("session expiry is injected through the embedded server")
	}
	sup := e.start()
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	testutil.Eventually(t, 15*time.Second, "the first worker", func() bool { return len(running(sup)) == 1 })
	for _, session := range e.embedded.Sessions() {
		if err := e.embedded.ExpireSession(session.ID); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 15*time.Second, "the supervisor heartbeat on the new session", func() bool {
		info, err := e.state.SupervisorInfo(sup.ID())
		return err == nil && info != nil
	})
	assigned := time.Now()
	e.assign("u-1-1", sup.ID(), 1, e.ports[1])
	testutil.Eventually(t, 15*time.Second, "the second topology's worker", func() bool { return len(running(sup)) == 2 })
	if took := time.Since(assigned); took >= syncSupervisorPeriod {
		t.Errorf("new assignment acted on after %s: only by the periodic sync, the watch was lost", took)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	e.assign("t-1-1", sup.ID(), 2, e.ports...)
	testutil.Eventually(t, 15*time.Second, "two running workers", func() bool { return len(running(sup)) == 2 })
	workers := sup.Workers()
	if err := sup.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		if !processGone(w.Pid) {
			t.Errorf("worker %d still alive after Close", w.Pid)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "workers")); len(entries) != 0 {
		t.Errorf("worker dirs left after Close: %v", entries)
	}
	if err := sup.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRestartKeepsIDAndReapsOrphans(t *testing.T) {
	e := newEnv(t)
	first := e.start()
	e.assign("t-1-1", first.ID(), 1, e.ports[0])
	testutil.Eventually(t, 15*time.Second, "a running worker", func() bool { return len(running(first)) == 1 })
	orphan := running(first)[e.ports[0]]
	first.Kill()
	if processGone(orphan.Pid) {
		t.Fatal("Kill took the worker down; it must leave workers running")
	}

	second := e.start()
	if second.ID() != first.ID() {
		t.Fatalf("id after restart = %s, want %s", second.ID(), first.ID())
	}
	if !processGone(orphan.Pid) {
		t.Errorf("the previous supervisor's worker %d was not reaped at start", orphan.Pid)
	}
	testutil.Eventually(t, 15*time.Second, "a new worker", func() bool {
		w, ok := running(second)[e.ports[0]]
		return ok && w.WorkerID != orphan.WorkerID
	})
}

func TestDownloadFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	e.code.failures.Store(2)
	sup := e.start()
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	testutil.Eventually(t, 15*time.Second, "a running worker after failed downloads", func() bool { return len(running(sup)) == 1 })
	if n := e.code.failures.Load(); n >= 0 {
		t.Errorf("failures left %d: the injected failures were not all hit", n)
	}
}

func TestHealthCheckFailureStopsSupervisor(t *testing.T) {
	e := newEnv(t)
	logger := testutil.Logger(t, slog.LevelInfo)
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, logger)
	opts.HealthCheckInterval = 100 * time.Millisecond
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	e.assign("t-1-1", sup.ID(), 2, e.ports...)
	testutil.Eventually(t, 15*time.Second, "two running workers", func() bool { return len(running(sup)) == 2 })
	workers := sup.Workers()
	select {
	case err := <-sup.Err():
		t.Fatalf("stopped before any health check failed: %v", err)
	default:
	}

	healthDir := filepath.Join(e.dir, "healthchecks")
	os.MkdirAll(healthDir, 0o755)
	if err := os.WriteFile(filepath.Join(healthDir, "disk"), []byte("#!/bin/sh\necho 'ERROR disk full'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sup.Err():
		if !strings.Contains(err.Error(), "health check failed") || !strings.Contains(err.Error(), "disk") {
			t.Errorf("Err() = %v, want the failed health check named", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no error on Err() after a failing health check")
	}
	for _, w := range workers {
		if !processGone(w.Pid) {
			t.Errorf("worker %d alive after the failed health check", w.Pid)
		}
	}
	if len(sup.Workers()) != 0 {
		t.Errorf("workers listed after stop: %v", sup.Workers())
	}
}

func TestWorkersDieWithSIGKILLedOwner(t *testing.T) {
	e := newEnv(t)
	owner := exec.Command(e.code.exe)
	owner.Env = append(os.Environ(), modeEnv+"=owner", "OWNER_ZK="+e.zk, "OWNER_DIR="+e.dir,
		"OWNER_EXE="+e.code.exe, fmt.Sprintf("OWNER_PORTS=%d", e.ports[0]))
	owner.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	owner.Stderr = testutil.LogWriter(t)
	stdout, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		owner.Process.Kill()
		owner.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read supervisor id from its owner: %v", err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(line, "supervisor-id="))
	e.assign("t-1-1", id, 1, e.ports[0])

	var pid int
	testutil.Eventually(t, 15*time.Second, "the owner's worker to run", func() bool {
		records, _ := filepath.Glob(filepath.Join(e.dir, "workers", "*", "pids", "*"))
		for _, r := range records {
			if n, err := strconv.Atoi(filepath.Base(r)); err == nil && !processGone(n) {
				pid = n
				return true
			}
		}
		return false
	})
	if err := owner.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	testutil.Eventually(t, 5*time.Second, "the worker to die with its owner", func() bool { return processGone(pid) })
}

func TestClassifyWorker(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	assigned := map[int]LocalAssignment{6700: {TopologyID: "t", Executors: []cluster.ExecutorInfo{{Start: 1, End: 1}, {Start: 2, End: 3}}}}
	hb := func(topo string, port int, age time.Duration, executors ...cluster.ExecutorInfo) *cluster.LocalWorkerHeartbeat {
		return &cluster.LocalWorkerHeartbeat{TopologyID: topo, Port: port, TimeMillis: now.Add(-age).UnixMilli(), Executors: executors}
	}
	e1, e23 := cluster.ExecutorInfo{Start: 1, End: 1}, cluster.ExecutorInfo{Start: 2, End: 3}
	tests := []struct {
		name     string
		hb       *cluster.LocalWorkerHeartbeat
		approved bool
		running  bool
		want     workerState
	}{
		{"no heartbeat", nil, true, true, stateNotStarted},
		{"valid", hb("t", 6700, time.Second, e23, e1), true, true, stateValid},
		{"not approved", hb("t", 6700, time.Second, e1, e23), false, true, stateDisallowed},
		{"other topology", hb("u", 6700, time.Second, e1, e23), true, true, stateDisallowed},
		{"port not assigned", hb("t", 6701, time.Second, e1, e23), true, true, stateDisallowed},
		{"executors differ", hb("t", 6700, time.Second, e1), true, true, stateDisallowed},
		{"stale heartbeat", hb("t", 6700, 31*time.Second, e1, e23), true, true, stateTimedOut},
		{"process dead", hb("t", 6700, time.Second, e1, e23), true, false, stateTimedOut},
		{"seconds only", &cluster.LocalWorkerHeartbeat{TopologyID: "t", Port: 6700, TimeSecs: now.Unix() - 40, Executors: []cluster.ExecutorInfo{e1, e23}}, true, true, stateTimedOut},
	}
	for _, tc := range tests {
		if got := classifyWorker(tc.hb, tc.approved, assigned, tc.running, now, 30*time.Second); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAssignmentsForNode(t *testing.T) {
	ea := func(start int, node string, port int) cluster.ExecutorAssignment {
		return cluster.ExecutorAssignment{Executor: cluster.ExecutorInfo{Start: start, End: start}, Slot: cluster.NodePort{Node: node, Port: port}}
	}
	got, err := assignmentsForNode("me", map[string]*cluster.Assignment{
		"a": {Executors: []cluster.ExecutorAssignment{ea(3, "me", 1), ea(1, "me", 1), ea(2, "other", 1)}},
		"b": {Executors: []cluster.ExecutorAssignment{ea(1, "me", 2)}},
		"c": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]LocalAssignment{
		1: {TopologyID: "a", Executors: []cluster.ExecutorInfo{{Start: 1, End: 1}, {Start: 3, End: 3}}},
		2: {TopologyID: "b", Executors: []cluster.ExecutorInfo{{Start: 1, End: 1}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	_, err = assignmentsForNode("me", map[string]*cluster.Assignment{
		"a": {Executors: []cluster.ExecutorAssignment{ea(1, "me", 1)}},
		"b": {Executors: []cluster.ExecutorAssignment{ea(1, "me", 1)}},
	})
	if err == nil || !strings.Contains(err.Error(), "port 1") {
		t.Errorf("two topologies on one port: %v, want an error naming the port", err)
	}
}

func TestRunHealthChecks(t *testing.T) {
	dir := t.TempDir()
	scripts := map[string]struct {
		body string
		mode os.FileMode
		want string
	}{
		"ok":         {"#!/bin/sh\necho fine\n", 0o755, healthSuccess},
		"error-line": {"#!/bin/sh\necho starting\necho 'ERROR no disk'\n", 0o755, healthFailed},
		"exit-code":  {"#!/bin/sh\nexit 3\n", 0o755, healthFailed},
		"slow":       {"#!/bin/sh\nexec sleep 10\n", 0o755, healthTimeout},
		"not-exec":   {"#!/bin/sh\nexit 1\n", 0o644, ""},
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s.body), s.mode); err != nil {
			t.Fatal(err)
		}
	}
	results := runHealthChecks(t.Context(), dir, 500*time.Millisecond, slog.New(slog.DiscardHandler))
	for name, s := range scripts {
		if got := results[filepath.Join(dir, name)]; got != s.want {
			t.Errorf("%s: result %q, want %q", name, got, s.want)
		}
	}
	if r := runHealthChecks(t.Context(), filepath.Join(dir, "missing"), time.Second, slog.New(slog.DiscardHandler)); len(r) != 0 {
		t.Errorf("missing dir: %v, want no results", r)
	}
}

func TestDefaultWorkerLauncher(t *testing.T) {
	mk := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
			os.WriteFile(filepath.Join(dir, f), nil, 0o755)
		}
		return dir
	}
	goDir := mk(workercontract.CodeFile)
	fluxDir := mk("resources/topo.yaml", "resources/bolt.py")
	tests := []struct {
		name     string
		dir      string
		wantPath string
		wantArgs []string
		wantErr  string
	}{
		{"go binary", goDir, filepath.Join(goDir, workercontract.CodeFile), []string{"worker"}, ""},
		{"flux", fluxDir, "/usr/bin/localstorm", []string{"worker", "--flux", filepath.Join(fluxDir, "resources", "topo.yaml")}, ""},
		{"flux with two yaml", mk("resources/a.yaml", "resources/b.yml"), "", nil, "exactly one"},
		{"no code", mk(), "", nil, "neither"},
	}
	for _, tc := range tests {
		path, args, err := DefaultWorkerLauncher("/usr/bin/localstorm")(tc.dir, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || path != tc.wantPath || fmt.Sprint(args) != fmt.Sprint(tc.wantArgs) {
			t.Errorf("%s: %s %v %v; want %s %v", tc.name, path, args, err, tc.wantPath, tc.wantArgs)
		}
	}
}

// BenchmarkWorkerKillToReady measures a worker's kill -9 until its
// replacement has printed its ready line (and written its first local
// heartbeat) with testkit timings; it reports the median.
func BenchmarkWorkerKillToReady(b *testing.B) {
	e := newEnv(b)
	sup := e.start()
	e.assign("bench-1-1", sup.ID(), 1, e.ports[0])
	testutil.Eventually(b, 15*time.Second, "a running worker", func() bool { return len(running(sup)) == 1 })
	var durations []time.Duration
	b.ResetTimer()
	for b.Loop() {
		// Past the crash-loop window, so the exit is acted on at once.
		b.StopTimer()
		time.Sleep(crashLoopWindow)
		b.StartTimer()
		victim := running(sup)[e.ports[0]]
		start := time.Now()
		if err := syscall.Kill(victim.Pid, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		testutil.Eventually(b, 15*time.Second, "the replacement worker", func() bool {
			w, ok := running(sup)[e.ports[0]]
			return ok && w.WorkerID != victim.WorkerID
		})
		durations = append(durations, time.Since(start))
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "ms-median")
}

// BenchmarkAssignmentToReady measures the supervisor's share of a submit: an
// assignment written to ZooKeeper until its worker printed its ready line
// (watch event, code download from the fake downloader, local assignment,
// launch). Each topology is removed again, untimed, before the next.
func BenchmarkAssignmentToReady(b *testing.B) {
	e := newEnv(b)
	sup := e.start()
	var durations []time.Duration
	i := 0
	for b.Loop() {
		i++
		topo := fmt.Sprintf("bench-%d-1", i)
		start := time.Now()
		e.assign(topo, sup.ID(), 1, e.ports[0])
		testutil.Eventually(b, 15*time.Second, "the worker", func() bool {
			w, ok := running(sup)[e.ports[0]]
			return ok && w.TopologyID == topo
		})
		durations = append(durations, time.Since(start))
		b.StopTimer()
		e.write("remove assignment", func() error { return e.state.RemoveStorm(topo) })
		testutil.Eventually(b, 15*time.Second, "the worker to stop", func() bool { return len(sup.Workers()) == 0 })
		b.StartTimer()
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "ms-median")
}

// TestQueuedSynchronizeAbsorbsMoreEvents: watch events that arrive while a
// synchronize-supervisor is queued and not started queue no other run (it
// reads every assignment anyway); one arriving during a run queues one.
func TestQueuedSynchronizeAbsorbsMoreEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // each run returns at once, after counting itself
	s := &Supervisor{ctx: ctx, syncEvents: event.New("sync-supervisor", func(err error) { t.Error(err) })}
	defer s.syncEvents.Close()
	block := make(chan struct{})
	s.syncEvents.Add(func() error { <-block; return nil })
	for range 10 {
		s.queueSync()
	}
	close(block)
	testutil.Eventually(t, 10*time.Second, "the event manager idle", s.syncEvents.Waiting)
	if n := s.syncRuns.Load(); n != 1 {
		t.Fatalf("%d synchronize-supervisor runs for 10 events queued behind one event, want 1", n)
	}
	s.queueSync()
	testutil.Eventually(t, 10*time.Second, "a second run", func() bool { return s.syncRuns.Load() == 2 })
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestCrashLoopEndsWhenTheWorkerStaysUp: a crash loop closes once the
// slot's worker has run for the crash-loop span since its last exit.
func TestCrashLoopEndsWhenTheWorkerStaysUp(t *testing.T) {
	span := crashLoopSpan
	crashLoopSpan = 2 * time.Second
	t.Cleanup(func() { crashLoopSpan = span })
	e := newEnv(t)
	opts := supervisorOptions(e.dir, e.state, e.code, e.ports, testutil.Logger(t, slog.LevelInfo))
	crashing := filepath.Join(t.TempDir(), "crashing")
	if err := os.WriteFile(crashing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts.WorkerEnv = append(opts.WorkerEnv, "FAKE_WORKER_CRASH_AFTER=100ms", "FAKE_WORKER_CRASH_WHILE="+crashing)
	opts.Events = timeline.New(0)
	sup, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close(context.Background()) })
	e.assign("t-1-1", sup.ID(), 1, e.ports[0])
	testutil.Eventually(t, 20*time.Second, "the crash loop", func() bool { return len(opts.Events.CrashLoops("t-1-1")) == 1 })
	if err := os.Remove(crashing); err != nil { // the next worker stays up
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the crash loop closed", func() (bool, string) {
		return len(opts.Events.CrashLoops("t-1-1")) == 0, fmt.Sprint(opts.Events.CrashLoops("t-1-1"))
	})
	events, _ := opts.Events.Since(0, timeline.Filter{Topology: "t-1-1"})
	if !slices.ContainsFunc(events, func(ev timeline.Event) bool {
		return ev.Kind == timeline.WorkerRecovered && strings.Contains(ev.Cause, "has run for")
	}) {
		t.Errorf("no worker-recovered event saying the worker stayed up: %v", events)
	}
}
