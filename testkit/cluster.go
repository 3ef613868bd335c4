package testkit

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/topology"
)

// Cluster is a running test cluster (or, inside a worker process, a stand-in
// that only knows how to become the worker). Its methods take the test and
// fail it when they cannot do what they say; LocalCluster gives the rest.
type Cluster struct {
	lc      *localcluster.Cluster
	t       testing.TB
	logs    *logBuffer
	bridge  *bridge
	mu      sync.Mutex
	seq     map[string]int // per-name submit counters
	timeout time.Duration  // of semantic waits
	// simulated: topologies run on the bridge's simulated time;
	// simTopologies are those submitted (AdvanceTime waits for their workers).
	simulated     bool
	simTopologies []string
}

// Options tune Start. The zero value is the default test cluster.
type Options struct {
	// Supervisors is the number of supervisors (0 = 2).
	Supervisors int
	// Slots is the number of worker slots per supervisor (0 = 2).
	Slots int
	// ZooKeeper chooses the ZooKeeper (default: embedded). Container mode
	// needs `import _ "github.com/localstorm/localstorm/localcluster/zkcontainer"`
	// in the test package; testkit does not import it, so that a test binary,
	// which is also its topologies' worker binary, does not link the Docker
	// client.
	ZooKeeper localcluster.ZooKeeperOptions
	// Conf is Storm configuration for the whole cluster, over
	// config.TestProfile.
	Conf map[string]any
	// NoLeakCheck turns the goroutine-leak check of the test process off.
	NoLeakCheck bool
	// Timeout is how long semantic waits wait (0 = 30 s).
	Timeout time.Duration
	// ServeFaults serves the fault endpoints (POST /api/v1/faults/<fault>)
	// as `localstorm up` does, for tests of what uses them (the web UI's
	// fault buttons).
	ServeFaults bool
	// SimulatedTime runs every topology the test submits on simulated time,
	// as Storm's LocalCluster withSimulatedTime: the clock of their workers
	// (topology.Context.Clock: windowed bolts' processing time, time
	// triggers and watermark intervals; tick tuples; message timeouts)
	// starts at SimulatedEpoch and moves only with AdvanceTime. The daemons
	// and heartbeats stay on real time. As in Storm, a lost tuple then times
	// out (and a CompleteTopology run replays it) only once the test has
	// advanced the time past its message timeout.
	SimulatedTime bool
}

// LocalCluster is the cluster under test, for what testkit does not wrap:
// its API client, addresses, data dir, nimbus, state and faults that take a
// context. Nil inside a worker process.
func (c *Cluster) LocalCluster() *localcluster.Cluster { return c.lc }

// Client is the cluster's nimbus API client.
func (c *Cluster) Client() *api.Client { return c.lc.Client() }

// Start boots a cluster for the test with fast timings (heartbeats and
// monitors every 100 ms), its data dir in memory (/dev/shm when it is a
// tmpfs, else t.TempDir()) and removed when the test ends. Cleanup is registered
// before any error check; daemon and worker logs reach t.Log only if the test
// fails (a worker that outlives its shutdown grace at the end is sent SIGQUIT
// before SIGKILL, so that its goroutine dump is in them); goroutines the test
// process leaks are an error unless Options.NoLeakCheck (the check is skipped,
// with a log line, when another test's cluster ran at the same time: parallel
// tests cannot be told apart).
func Start(t testing.TB, options ...Options) *Cluster {
	t.Helper()
	var o Options
	if len(options) > 0 {
		o = options[0]
	}
	c := &Cluster{t: t, logs: &logBuffer{}, seq: map[string]int{}, timeout: cmp.Or(o.Timeout, 30*time.Second), simulated: o.SimulatedTime}
	if inWorker() {
		return c
	}
	opts := localcluster.Options{
		Name: "testkit", Supervisors: cmp.Or(o.Supervisors, 2), Slots: cmp.Or(o.Slots, 2),
		ZooKeeper: o.ZooKeeper, Conf: config.TestProfile().Merge(o.Conf), ServeFaults: o.ServeFaults,
		DataDir: filepath.Join(clusterBaseDir(t), "cluster"),
		Logger:  slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	opts.ZooKeeper.TickTime = cmp.Or(opts.ZooKeeper.TickTime, 100*time.Millisecond)
	// The data dir is removed with the test: fsyncs would only cost time
	// (measured: 50-100 ms of a cluster's start on the 2-core machine).
	opts.ZooKeeper.NoFsync = true
	leakCheck := !o.NoLeakCheck
	var before map[string]bool
	var alone *leakScope
	if leakCheck {
		alone = enterLeakScope()
		before = goroutineSet()
	}
	c.bridge = newBridge()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if c.lc != nil {
			// A worker that outlives its SIGTERM's grace writes its goroutines
			// to its log before the SIGKILL; dumpLogs shows them if the test
			// failed. Only at Close: a worker the test paused (SIGSTOP) and its
			// supervisor kills cannot answer, and would cost the wait.
			stopDumps := procs.DumpBeforeKill(5 * time.Second)
			if err := c.lc.Close(ctx); err != nil {
				t.Errorf("testkit: close cluster: %v", err)
			}
			stopDumps()
		}
		c.bridge.close()
		if t.Failed() {
			c.dumpLogs()
		}
		if leakCheck {
			if alone.exit() {
				checkLeaks(t, before)
			} else {
				t.Logf("testkit: goroutine-leak check skipped: another testkit cluster ran in this process at the same time (parallel tests), so new goroutines cannot be attributed")
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := localcluster.Start(ctx, opts)
	if err != nil {
		c.dumpLogs()
		t.Fatalf("testkit: start cluster: %v", err)
	}
	c.lc = cl
	return c
}

// Submit submits the topology built by b under name and returns its id. In a
// worker process started for this topology, Submit becomes the worker and
// does not return.
func (c *Cluster) Submit(t testing.TB, name string, b *topology.Builder, conf map[string]any) string {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("testkit: build topology %q: %v", name, err)
	}
	return c.submitBuilt(t, c.uniqueName(t, name), topo, conf)
}

// submitBuilt submits topo under name (already unique), or becomes its worker.
func (c *Cluster) submitBuilt(t testing.TB, name string, topo *topology.Topology, conf map[string]any) string {
	t.Helper()
	serveAsWorker(name, topo)
	if inWorker() {
		t.SkipNow() // another topology of this test is the worker's
	}
	// The test binary is the worker: it re-runs this test (ConfTestRun).
	all := map[string]any{submit.ConfTestRun: runPattern(t.Name()), bridgeKey: c.bridge.url}
	if c.simulated {
		all[simTimeKey] = true
	}
	maps.Copy(all, conf)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	warn := func(msg string) { t.Logf("testkit: submit %s: %s", name, msg) }
	id, err := submit.Topology(ctx, c.Client(), topo, submit.Options{Name: name, Conf: all, Upload: c.lc.ImportCode, Warn: warn})
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if c.simulated {
		c.mu.Lock()
		c.simTopologies = append(c.simTopologies, id)
		c.mu.Unlock()
	}
	return id
}

// uniqueName derives a topology name from the test's name, the same in the
// test and in its worker re-run.
func (c *Cluster) uniqueName(t testing.TB, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := sanitize(name)
	c.seq[base]++
	if c.seq[base] > 1 {
		return fmt.Sprintf("%s-%d", base, c.seq[base])
	}
	return base
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() > 100 {
		return b.String()[:100]
	}
	return b.String()
}

// logBuffer keeps the cluster's log lines for a failing test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 8<<20 { // keep memory bounded: drop the oldest half
		rest := append([]byte(nil), l.buf.Bytes()[l.buf.Len()/2:]...)
		l.buf.Reset()
		l.buf.WriteString("... (older log lines dropped)\n")
		l.buf.Write(rest)
	}
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// dumpLogs sends the daemons' logs and the tail of every worker log to t.Log.
func (c *Cluster) dumpLogs() {
	c.t.Helper()
	c.t.Logf("testkit: cluster logs:\n%s", tail(c.logs.String(), 200))
	if c.lc == nil {
		return
	}
	files, _ := filepath.Glob(workercontract.DataDir(c.lc.DataDir()).WorkerLogs("", 0))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && len(b) > 0 {
			rel, _ := filepath.Rel(c.lc.DataDir(), f)
			c.t.Logf("testkit: %s:\n%s", rel, logTail(string(b)))
		}
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d earlier lines)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// logTail is the end of a worker log: its last 60 lines, or, when the worker
// was SIGQUIT at Close, the 20 lines before the goroutine dump and the whole
// dump.
func logTail(log string) string {
	i := strings.LastIndex(log, "SIGQUIT: quit")
	if i < 0 {
		return tail(log, 60)
	}
	return tail(log[:i], 20) + "\n" + log[i:]
}
