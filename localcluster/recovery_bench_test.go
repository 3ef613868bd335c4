package localcluster_test

// Benchmarks of issue 4's recovery targets, with local-mode timings
// (config.LocalProfile, as `localstorm up` runs) on the 2-core CI machine:
//   - submit of a 3-worker topology → all executors heartbeating, median < 1 s;
//   - worker kill -9 → replacement worker heartbeating, median < 1 s;
//   - supervisor loss → its executors running elsewhere within the ZooKeeper
//     session timeout + 2 s.
//
//	go test -run '^$' -bench 'Submit3Workers|WorkerKill|SupervisorLoss' -count 3 ./localcluster/

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// testBinaries are the topology binaries tests and benchmarks build, once
// per test binary each, into ../bin: path → its build.
var (
	testBinariesMu sync.Mutex
	testBinaries   = map[string]*testBinary{}
)

type testBinary struct {
	once sync.Once
	err  error
}

// buildTestBinary builds package pkg (relative to this package) as
// ../bin/name once per test binary and returns its path.
func buildTestBinary(tb testing.TB, pkg, name string) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "bin"))
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, name)
	testBinariesMu.Lock()
	b := testBinaries[path]
	if b == nil {
		b = &testBinary{}
		testBinaries[path] = b
	}
	testBinariesMu.Unlock()
	b.once.Do(func() {
		// Static, as the README builds topology binaries (no glibc mapped
		// into every worker).
		build := exec.Command("go", "build", "-o", path, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return path
}

// wordcountBinary builds examples/wordcount once per test binary.
// LOCALSTORM_BENCH_WORDCOUNT names a word count binary to use instead, for
// comparing the workers of two commits on the same cluster.
func wordcountBinary(tb testing.TB) string {
	if p := os.Getenv("LOCALSTORM_BENCH_WORDCOUNT"); p != "" {
		return p
	}
	return buildTestBinary(tb, "../examples/wordcount/cmd/wordcount", "bench-wordcount")
}

func startBenchCluster(b *testing.B, supervisors int) *localcluster.Cluster {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench-recovery", Supervisors: supervisors, Slots: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func submitWordcount(b *testing.B, c *localcluster.Cluster, name string, workers int, wait bool) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	id, err := submit.Binary(ctx, c.Client(), wordcountBinary(b), submit.Options{
		Name: name, Wait: wait, Conf: map[string]any{"topology.workers": workers},
	})
	if err != nil {
		b.Fatal(err)
	}
	return id
}

func killAndForget(b *testing.B, c *localcluster.Cluster, id string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	if err := c.Client().Kill(ctx, id, 0); err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := c.Client().Topology(ctx, id); api.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("topology %s not removed after kill", id)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// BenchmarkSubmit3WorkersToAllHeartbeating: submit (upload, describe,
// schedule) of word count on 3 workers until nimbus sees every executor's
// heartbeat.
func BenchmarkSubmit3WorkersToAllHeartbeating(b *testing.B) {
	c := startBenchCluster(b, 3)
	wordcountBinary(b)
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id := submitWordcount(b, c, fmt.Sprintf("wc%d", i), 3, true)
		took = append(took, time.Since(start))
		b.StopTimer()
		killAndForget(b, c, id)
		b.StartTimer()
	}
	reportMedian(b, took, "ms-median/all-heartbeating")
}

// heartbeatAfter waits until the worker heartbeat of node:port in ZooKeeper
// was written after t.
func heartbeatAfter(ctx context.Context, st cluster.StormClusterState, id, node string, port int, t time.Time) error {
	for {
		hb, err := st.WorkerHeartbeat(id, node, port)
		if err == nil && hb != nil && hb.TimeMillis > t.UnixMilli() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no heartbeat of %s:%d after the kill: %w", node, port, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// BenchmarkWorkerKillToReplacementHeartbeating: SIGKILL one worker; the
// timer stops when a new worker process on its slot has written a ZooKeeper
// heartbeat.
func BenchmarkWorkerKillToReplacementHeartbeating(b *testing.B) {
	c := startBenchCluster(b, 2)
	id := submitWordcount(b, c, "wc-kill", 2, true)
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var node string
		var port, pid int
		for _, sup := range c.Supervisors() {
			for _, w := range sup.Workers() {
				if w.TopologyID == id && w.State == "running" && pid == 0 {
					node, port, pid = sup.ID(), w.Port, w.Pid
				}
			}
		}
		if pid == 0 {
			b.Fatal("no running worker to kill")
		}
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		b.StartTimer()
		start := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		if err := heartbeatAfter(ctx, c.State(), id, node, port, start); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		cancel()
	}
	reportMedian(b, took, "ms-median/replacement-heartbeating")
}

// BenchmarkSupervisorLossToRescheduled: a supervisor running workers of the
// topology crashes (its workers are SIGKILLed, the daemon stops); after the
// ZooKeeper session timeout its session expires, and the timer stops when
// nimbus sees every executor heartbeating on the other supervisors. The
// session timeout is inside the measured time: the target is that timeout + 2 s.
func BenchmarkSupervisorLossToRescheduled(b *testing.B) {
	c := startBenchCluster(b, 3)
	sessionTimeout, err := c.Conf().Millis("storm.zookeeper.session.timeout")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(sessionTimeout.Milliseconds()), "ms-session-timeout")
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := submitWordcount(b, c, fmt.Sprintf("wc-loss%d", i), 2, true)
		victim := -1
		for j, sup := range c.Supervisors() {
			if sup == nil {
				continue
			}
			for _, w := range sup.Workers() {
				if w.TopologyID == id && victim < 0 {
					victim = j
				}
			}
		}
		if victim < 0 {
			b.Fatal("no supervisor runs the topology")
		}
		ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
		b.StartTimer()
		start := time.Now()
		if err := c.CrashSupervisor(victim); err != nil {
			b.Fatal(err)
		}
		time.Sleep(sessionTimeout) // the session timeout runs out on a lost machine
		if err := c.ExpireSupervisorSession(victim); err != nil {
			b.Fatal(err)
		}
		if err := submit.WaitRunning(ctx, c.Client(), id); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		cancel()
		if err := c.StartSupervisor(b.Context(), victim); err != nil {
			b.Fatal(err)
		}
		killAndForget(b, c, id)
		b.StartTimer()
	}
	reportMedian(b, took, "ms-median/rescheduled")
}
