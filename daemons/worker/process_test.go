package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// Tests with real worker subprocesses: the test binary re-executes itself in
// worker mode (TestMain) with the worker command line of docs/internals.md.

const (
	envWorkerMode = "LOCALSTORM_WORKER_TEST_MODE" // set: run as a worker
	envOutDir     = "LOCALSTORM_WORKER_TEST_OUT"  // where test components write
	envSentences  = "LOCALSTORM_WORKER_TEST_N"    // sentences the spout emits
	envTopology   = "LOCALSTORM_WORKER_TEST_TOPO" // "bench": benchTopology
	envValueSize  = "LOCALSTORM_WORKER_TEST_SIZE" // bytes of benchTopology's tuple value
)

func TestMain(m *testing.M) {
	if os.Getenv(envWorkerMode) != "" {
		os.Exit(workerMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// workerMain is the worker subprocess: the topology of processTopology.
func workerMain(args []string) int {
	opts, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	n, _ := strconv.Atoi(os.Getenv(envSentences))
	topo, err := testTopology(os.Getenv(envTopology), n, os.Getenv(envOutDir)).Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	opts.Topology = topo
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	TuneGC()
	opts.Ready = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

func testTopology(name string, n int, outDir string) *topology.Builder {
	switch name {
	case "bench":
		size, _ := strconv.Atoi(os.Getenv(envValueSize))
		return benchTopology(n, size, outDir)
	case "multilang":
		return multilangTopology(n, outDir)
	}
	return processTopology(n, outDir)
}

// processTopology: a replaying spout of sentences, a splitter and a
// fields-grouped word "counter" that logs every word with its unique id.
func processTopology(n int, outDir string) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &replaySpout{n: n, dir: outDir} }, 1)
	b.SetBolt("split", func() topology.Bolt { return &splitIDBolt{} }, 2).ShuffleGrouping("sentences")
	b.SetBolt("count", func() topology.Bolt { return &logBolt{dir: outDir} }, 4).FieldsGrouping("split", topology.Fields{"word"})
	return b
}

// replaySpout emits sentences 0..n-1 with their number as message id,
// paced (one per 200µs) so a test can act mid-run, re-emits failed ones
// and logs acked ids.
type replaySpout struct {
	n      int
	dir    string
	queue  []int
	last   time.Time
	out    topology.SpoutCollector
	acked  *os.File
	events *os.File // activate, deactivate, and "violation" for NextTuple while inactive
	active bool
}

func (s *replaySpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"sentence", "id"})
}
func (s *replaySpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	for i := 0; i < s.n; i++ {
		s.queue = append(s.queue, i)
	}
	var err error
	s.acked, err = os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("acked-%d.log", ctx.TaskID)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	s.events, err = os.OpenFile(filepath.Join(s.dir, "events.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	return err
}
func (s *replaySpout) Close() {
	s.acked.Close()
	s.events.Close()
}
func (s *replaySpout) Activate() {
	s.active = true
	fmt.Fprintln(s.events, "activate")
}
func (s *replaySpout) Deactivate() {
	s.active = false
	fmt.Fprintln(s.events, "deactivate")
}
func (s *replaySpout) NextTuple() {
	if !s.active {
		fmt.Fprintln(s.events, "violation: NextTuple while inactive")
	}
	if len(s.queue) == 0 || time.Since(s.last) < 200*time.Microsecond {
		return
	}
	s.last = time.Now()
	i := s.queue[0]
	s.queue = s.queue[1:]
	s.out.Emit(topology.Values{sentence(i), i}, i)
}
func (s *replaySpout) Ack(id any) { fmt.Fprintf(s.acked, "%d\n", id) }
func (s *replaySpout) Fail(id any) {
	s.queue = append(s.queue, id.(int))
}

type splitIDBolt struct{ out topology.BoltCollector }

func (b *splitIDBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word", "uid"})
}
func (b *splitIDBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *splitIDBolt) Execute(t *topology.Tuple) {
	for i, w := range strings.Fields(t.String(0)) {
		b.out.Emit([]*topology.Tuple{t}, topology.Values{w, fmt.Sprintf("%v.%d", t.Value("id"), i)})
	}
	b.out.Ack(t)
}
func (b *splitIDBolt) Cleanup() {}

// logBolt writes "word uid task" per tuple, unbuffered (a killed worker
// loses nothing it logged).
type logBolt struct {
	dir  string
	f    *os.File
	task int
	out  topology.BoltCollector
}

func (b *logBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *logBolt) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	b.out, b.task = out, ctx.TaskID
	var err error
	b.f, err = os.OpenFile(filepath.Join(b.dir, fmt.Sprintf("count-%d.log", ctx.TaskID)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	return err
}
func (b *logBolt) Execute(t *topology.Tuple) {
	fmt.Fprintf(b.f, "%s %s %d\n", t.String(0), t.String(1), b.task)
	b.out.Ack(t)
}
func (b *logBolt) Cleanup() { b.f.Close() }

// procCluster is ZooKeeper, a code dir and the hand-written assignment of
// a topology over worker subprocesses.
type procCluster struct {
	t          testing.TB
	zk         cluster.StormClusterState
	zkAddr     string
	sup        cluster.StormClusterState // the supervisor's session (its ephemeral node)
	topologyID string
	codeDir    string
	localDir   string
	outDir     string
	n          int
	topo       string
	slots      []cluster.NodePort
	assignment *cluster.Assignment
}

const testSupervisor = "sup-1"

func newProcCluster(t testing.TB, topo string, n int, conf config.Conf, numSlots int) *procCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv, err := zookeeper.Start(ctx, zookeeper.Options{TickTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("start embedded ZooKeeper: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	zk, err := cluster.ConnectStorm(ctx, cluster.Options{Servers: []string{srv.Addr()}, Root: "/storm"})
	if err != nil {
		t.Fatalf("connect to ZooKeeper: %v", err)
	}
	t.Cleanup(func() { zk.Disconnect() })
	c := &procCluster{t: t, zk: zk, zkAddr: srv.Addr(), topologyID: "wc-1-1", n: n, topo: topo,
		codeDir: t.TempDir(), localDir: t.TempDir(), outDir: t.TempDir()}
	built, err := testTopology(topo, n, c.outDir).Build()
	if err != nil {
		t.Fatal(err)
	}
	def := built.Definition
	for i := 0; i < numSlots; i++ {
		c.slots = append(c.slots, cluster.NodePort{Node: testSupervisor, Port: freePort(t)})
	}
	conf = config.Conf{
		config.WorkerHeartbeatFreqSecs: 0.2, config.TaskHeartbeatFreqSecs: 0.5,
		config.SupervisorWorkerTimeoutSecs: 30,
	}.Merge(conf)
	writeJSON(t, filepath.Join(c.codeDir, "stormconf.json"), conf)
	writeJSON(t, filepath.Join(c.codeDir, "stormtopology.json"), def)
	c.assignment = assignmentFor(def, topology.NumAckers(conf, numSlots), c.slots)
	ports := []int{}
	for _, s := range c.slots {
		ports = append(ports, s.Port)
	}
	c.sup, err = cluster.ConnectStorm(ctx, cluster.Options{Servers: []string{srv.Addr()}, Root: "/storm"})
	if err != nil {
		t.Fatalf("connect to ZooKeeper: %v", err)
	}
	t.Cleanup(func() { c.sup.Disconnect() })
	must(t, c.sup.SupervisorHeartbeat(testSupervisor, &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: "localhost", SlotPorts: ports}))
	c.setStatus(cluster.StatusActive)
	must(t, zk.SetAssignment(c.topologyID, c.assignment))
	return c
}

func (c *procCluster) setStatus(status cluster.TopologyStatus) {
	must(c.t, c.zk.ActivateStorm(c.topologyID, &cluster.StormBase{V: 1, Name: "wc", Status: status, NumWorkers: len(c.slots), LaunchTimeSecs: time.Now().Unix()}))
}

// workerProc is one worker subprocess.
type workerProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// start launches the worker of slot i and waits for its ready line.
func (c *procCluster) start(i int) *workerProc { return c.startWith(i, nil) }

// startWith is start with a last change to the worker's command (extra
// descriptors, environment) by with, when it is not nil.
func (c *procCluster) startWith(i int, with func(*exec.Cmd)) *workerProc {
	t := c.t
	t.Helper()
	slot := c.slots[i]
	cmd := exec.Command(os.Args[0], workercontract.Worker{TopologyID: c.topologyID, SupervisorID: slot.Node,
		Port: slot.Port, WorkerID: fmt.Sprintf("w-%d", i),
		ZooKeeper: []string{c.zkAddr}, ZKRoot: "/storm", LocalDir: c.localDir, CodeDir: c.codeDir}.Args()...)
	cmd.Env = append(os.Environ(), envWorkerMode+"=1", envOutDir+"="+c.outDir, envSentences+"="+strconv.Itoa(c.n), envTopology+"="+c.topo)
	logf, err := os.OpenFile(filepath.Join(c.outDir, fmt.Sprintf("worker-%d.err.log", slot.Port)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	must(t, err)
	defer logf.Close()
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	if with != nil {
		with(cmd)
	}
	must(t, cmd.Start())
	p := &workerProc{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case ready <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case line := <-ready:
		want := workercontract.Ready{Port: slot.Port, Pid: cmd.Process.Pid}
		if got, err := workercontract.ParseReady(line); err != nil || got != want {
			t.Fatalf("worker printed %q, want the ready line %q", line, want)
		}
	case <-p.exited:
		t.Fatalf("worker on port %d exited before its ready line: %v\n%s", slot.Port, p.err, c.workerLog(slot.Port))
	case <-time.After(30 * time.Second):
		t.Fatalf("worker on port %d printed no ready line within 30s\n%s", slot.Port, c.workerLog(slot.Port))
	}
	return p
}

func (c *procCluster) workerLog(port int) string {
	b, _ := os.ReadFile(filepath.Join(c.outDir, fmt.Sprintf("worker-%d.err.log", port)))
	return string(b)
}

func (p *workerProc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// wait waits for the worker to exit and returns its exit code.
func (p *workerProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("worker pid %d did not exit within %v", p.cmd.Process.Pid, timeout)
		return -1
	}
}

// counted reads every count-*.log line: uid → occurrences, word → tasks.
func (c *procCluster) counted() (uids map[string]int, wordTasks map[string]map[string]bool) {
	uids, wordTasks = map[string]int{}, map[string]map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(c.outDir, "count-*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.Fields(line)
			if len(parts) != 3 {
				continue
			}
			uids[parts[1]]++
			if wordTasks[parts[0]] == nil {
				wordTasks[parts[0]] = map[string]bool{}
			}
			wordTasks[parts[0]][parts[2]] = true
		}
	}
	return uids, wordTasks
}

// ackedIDs reads the spout's acked log.
func (c *procCluster) ackedIDs() map[int]int {
	out := map[int]int{}
	files, _ := filepath.Glob(filepath.Join(c.outDir, "acked-*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Fields(string(b)) {
			if i, err := strconv.Atoi(line); err == nil {
				out[i]++
			}
		}
	}
	return out
}

func TestWorkersExactlyOnceAckingOff(t *testing.T) {
	const n = 1000
	c := newProcCluster(t, "wordcount", n, config.Conf{config.TopologyAckerExecutors: 0}, 2)
	// The second worker starts late: the first one's tuples for it wait.
	w0 := c.start(0)
	// The ready line comes after the first local heartbeat.
	ls, err := localstate.Open(workercontract.LocalDir(c.localDir).Heartbeats("w-0"))
	must(t, err)
	var hb cluster.LocalWorkerHeartbeat
	found, err := ls.Get(cluster.LocalWorkerHeartbeatKey, &hb)
	must(t, err)
	if want := slotExecutors(c.assignment, c.slots[0].Node, c.slots[0].Port); !found || hb.TopologyID != c.topologyID ||
		hb.Port != c.slots[0].Port || !slices.Equal(hb.Executors, want) || hb.TimeMillis == 0 {
		t.Fatalf("local heartbeat %+v (found %v), want topology %s port %d executors %v", hb, found, c.topologyID, c.slots[0].Port, want)
	}
	w1 := c.start(1)
	testutil.Eventually(t, 60*time.Second, "every word logged", func() bool {
		uids, _ := c.counted()
		return len(uids) == 3*n
	})
	uids, wordTasks := c.counted()
	for i := 0; i < n; i++ {
		for pos := 0; pos < 3; pos++ {
			if k := uids[fmt.Sprintf("%d.%d", i, pos)]; k != 1 {
				t.Errorf("word %d of sentence %d arrived %d times, want exactly once", pos, i, k)
			}
		}
	}
	for w, tasks := range wordTasks {
		if len(tasks) != 1 {
			t.Errorf("word %q went to tasks %v: fields grouping must send it to one task", w, tasks)
		}
	}
	if acked := c.ackedIDs(); len(acked) != n {
		t.Errorf("spout saw %d acks with acking off, want %d (acked on emit)", len(acked), n)
	}
	// Both workers sent ZooKeeper heartbeats with stats.
	for _, s := range c.slots {
		testutil.Eventually(t, 10*time.Second, "a ZooKeeper heartbeat", func() bool {
			hb, err := c.zk.WorkerHeartbeat(c.topologyID, s.Node, s.Port)
			return err == nil && hb != nil && len(hb.Executors) > 0
		})
	}
	// Taking worker 1's slot out of the assignment ends it with exit 0.
	a := *c.assignment
	a.Executors = nil
	for _, ea := range c.assignment.Executors {
		if ea.Slot == c.slots[0] {
			a.Executors = append(a.Executors, ea)
		}
	}
	must(t, c.zk.SetAssignment(c.topologyID, &a))
	if code := w1.wait(t, 20*time.Second); code != 0 {
		t.Errorf("worker with an unassigned slot exited %d, want 0\n%s", code, c.workerLog(c.slots[1].Port))
	}
	// SIGTERM is a graceful shutdown with exit 0.
	must(t, w0.cmd.Process.Signal(syscall.SIGTERM))
	if code := w0.wait(t, 20*time.Second); code != 0 {
		t.Errorf("worker exited %d on SIGTERM, want 0\n%s", code, c.workerLog(c.slots[0].Port))
	}
}

func TestWorkersAtLeastOnceWithKilledWorker(t *testing.T) {
	const n = 3000
	c := newProcCluster(t, "wordcount", n, config.Conf{
		config.TopologyAckerExecutors: 2, config.TopologyMessageTimeoutSecs: 2, config.TopologyMaxSpoutPending: 200,
	}, 2)
	spoutSlot := -1
	tasks := c.assignmentTasks()
	for i, s := range c.slots {
		if tasks[s]["sentences"] {
			spoutSlot = i
		}
	}
	victim := 1 - spoutSlot
	c.start(spoutSlot)
	v := c.start(victim)
	testutil.Eventually(t, 60*time.Second, "a quarter of the tuples acked", func() bool { return len(c.ackedIDs()) >= n/4 })
	v.kill()
	if done := len(c.ackedIDs()); done == n {
		t.Fatalf("the run finished before the worker was killed; nothing was tested")
	}
	c.start(victim)
	testutil.Eventually(t, 120*time.Second, "every tuple acked", func() bool { return len(c.ackedIDs()) == n })
}

// assignmentTasks tells which components run on each slot.
func (c *procCluster) assignmentTasks() map[cluster.NodePort]map[string]bool {
	topo, _ := testTopology(c.topo, c.n, c.outDir).Build()
	var conf config.Conf
	b, _ := os.ReadFile(filepath.Join(c.codeDir, "stormconf.json"))
	_ = json.Unmarshal(b, &conf)
	t2c := topo.Definition.TaskToComponent(topology.NumAckers(conf, len(c.slots)))
	out := map[cluster.NodePort]map[string]bool{}
	for _, ea := range c.assignment.Executors {
		if out[ea.Slot] == nil {
			out[ea.Slot] = map[string]bool{}
		}
		out[ea.Slot][t2c[ea.Executor.Start]] = true
	}
	return out
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeJSON(t testing.TB, path string, v any) {
	b, err := json.Marshal(v)
	must(t, err)
	must(t, os.WriteFile(path, b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// benchTopology: a spout emitting n tuples of one string of size bytes as
// fast as it can, unacked, and a sink that creates the file "done" after n
// tuples.
func benchTopology(n, size int, outDir string) *topology.Builder {
	b := topology.NewBuilder()
	v := topology.Values{strings.Repeat("x", size)}
	b.SetSpout("s", func() topology.Spout {
		return &fastSpout{n: int64(n), values: func(int64) topology.Values { return v }}
	}, 1)
	b.SetBolt("sink", func() topology.Bolt {
		count := 0
		return &funcBolt{fn: func(*topology.Tuple, topology.BoltCollector) {
			if count++; count == n {
				_ = os.WriteFile(filepath.Join(outDir, "done"), nil, 0o644)
			}
		}}
	}, 1).ShuffleGrouping("s")
	return b
}

// BenchmarkInterWorker: spout in one worker process, bolt in another, over
// loopback TCP, unacked. Timing starts when the topology is activated (both
// workers ready) and ends when the sink has seen every tuple.
func BenchmarkInterWorker(b *testing.B) {
	for _, size := range benchValueSizes {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) { benchInterWorker(b, size) })
	}
}

func benchInterWorker(b *testing.B, size int) {
	b.Setenv(envValueSize, strconv.Itoa(size))
	c := newProcCluster(b, "bench", b.N, config.Conf{config.TopologyAckerExecutors: 0}, 2)
	c.setStatus(cluster.StatusInactive)
	c.start(0)
	c.start(1)
	done := filepath.Join(c.outDir, "done")
	b.ResetTimer()
	start := time.Now()
	c.setStatus(cluster.StatusActive)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatal("the sink did not see every tuple within 10 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "tuples/s")
}

// BenchmarkIdleWorkerRSS: the resident memory of a worker running a small
// topology with nothing to do, once it heartbeats.
func BenchmarkIdleWorkerRSS(b *testing.B) {
	c := newProcCluster(b, "wordcount", 0, config.Conf{config.TopologyAckerExecutors: 1}, 1)
	p := c.start(0)
	s := c.slots[0]
	testutil.Eventually(b, 30*time.Second, "a ZooKeeper heartbeat", func() bool {
		hb, err := c.zk.WorkerHeartbeat(c.topologyID, s.Node, s.Port)
		return err == nil && hb != nil && hb.UptimeSecs >= 2
	})
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	must(b, err)
	var kb float64
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%f", &kb)
		}
	}
	if kb == 0 {
		b.Fatalf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	for b.Loop() {
	}
	b.ReportMetric(kb/1024, "RSS-MB")
}

func (c *procCluster) events() string {
	b, _ := os.ReadFile(filepath.Join(c.outDir, "events.log"))
	return string(b)
}

func TestWorkerFollowsTopologyStatus(t *testing.T) {
	const n = 5000
	c := newProcCluster(t, "wordcount", n, config.Conf{config.TopologyAckerExecutors: 1}, 1)
	c.setStatus(cluster.StatusInactive)
	c.start(0)
	if len(c.ackedIDs()) != 0 || strings.Contains(c.events(), "activate") {
		t.Fatalf("an inactive topology's spout ran: events %q", c.events())
	}
	c.setStatus(cluster.StatusActive)
	testutil.Eventually(t, 20*time.Second, "the spout activated", func() bool { return strings.Contains(c.events(), "activate") })
	testutil.Eventually(t, 20*time.Second, "some tuples acked", func() bool { return len(c.ackedIDs()) > 100 })
	c.setStatus(cluster.StatusInactive)
	testutil.Eventually(t, 20*time.Second, "the spout deactivated", func() bool { return strings.Contains(c.events(), "deactivate") })
	c.setStatus(cluster.StatusActive)
	testutil.Eventually(t, 60*time.Second, "every tuple acked", func() bool { return len(c.ackedIDs()) == n })
	ev := c.events()
	lines := strings.Fields(strings.ReplaceAll(ev, "violation: NextTuple while inactive", "violation"))
	if !slices.Equal(lines, []string{"activate", "deactivate", "activate"}) {
		t.Fatalf("events %q: want activate, deactivate, activate and no NextTuple while inactive", ev)
	}
}

func TestWorkerExitsWhenSupervisorGone(t *testing.T) {
	c := newProcCluster(t, "wordcount", 0, config.Conf{config.SupervisorWorkerTimeoutSecs: 1}, 1)
	w := c.start(0)
	// Closing the supervisor's session removes its ephemeral node.
	must(t, c.sup.Disconnect())
	if code := w.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("worker exited %d when its supervisor was gone, want 0\n%s", code, c.workerLog(c.slots[0].Port))
	}
	if log := c.workerLog(c.slots[0].Port); !strings.Contains(log, "is gone") {
		t.Fatalf("worker log does not say why it exited:\n%s", log)
	}
}

// TestWorkerFollowsReassignment: the executors of one worker move to a new
// slot; the worker left in place picks the new peer up from its assignment
// watch without a restart, the moved-from worker exits 0, and every tuple is
// acked.
func TestWorkerFollowsReassignment(t *testing.T) {
	const n = 4000
	conf := config.Conf{config.TopologyAckerExecutors: 2, config.TopologyMessageTimeoutSecs: 2}
	c := newProcCluster(t, "wordcount", n, conf, 3)
	built, err := testTopology(c.topo, n, c.outDir).Build()
	must(t, err)
	c.assignment = assignmentFor(built.Definition, 2, c.slots[:2])
	must(t, c.zk.SetAssignment(c.topologyID, c.assignment))
	stay := c.start(0)
	moved := c.start(1)
	testutil.Eventually(t, 60*time.Second, "some tuples acked", func() bool { return len(c.ackedIDs()) > n/5 })
	next := *c.assignment
	next.Executors = nil
	for _, ea := range c.assignment.Executors {
		if ea.Slot == c.slots[1] {
			ea.Slot = c.slots[2]
		}
		next.Executors = append(next.Executors, ea)
	}
	must(t, c.zk.SetAssignment(c.topologyID, &next))
	if code := moved.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("moved-from worker exited %d, want 0", code)
	}
	c.start(2)
	testutil.Eventually(t, 120*time.Second, "every tuple acked", func() bool { return len(c.ackedIDs()) == n })
	select {
	case <-stay.exited:
		t.Fatalf("the worker that kept its slot exited: %v\n%s", stay.err, c.workerLog(c.slots[0].Port))
	default:
	}
}

// TestFirstAckHeartbeatCarriesAcks: with task.heartbeat.frequency.secs at an
// hour, the worker's periodic ZooKeeper heartbeat never comes again after
// the one it writes at start (no stats yet); the heartbeat written at its
// executors' first acks is what brings nimbus a non-zero acked count.
func TestFirstAckHeartbeatCarriesAcks(t *testing.T) {
	c := newProcCluster(t, "wordcount", 200, config.Conf{
		config.TopologyAckerExecutors: 1, config.TaskHeartbeatFreqSecs: 3600,
	}, 1)
	c.start(0)
	s := c.slots[0]
	testutil.Eventually(t, 60*time.Second, "a ZooKeeper heartbeat with the spout's acked count", func() bool {
		hb, err := c.zk.WorkerHeartbeat(c.topologyID, s.Node, s.Port)
		if err != nil || hb == nil {
			return false
		}
		for _, e := range hb.Executors {
			if e.Component == "sentences" && e.Stats.Acked["default"] > 0 {
				return true
			}
		}
		return false
	})
}
