package localcluster_test

// Benchmarks of what a user sees (issue 18), measured from outside as a user
// would, on a cluster with `localstorm up`'s timings (config.LocalProfile):
//   - `localstorm submit --wait` returns → the first acked count is visible
//     through the API and through the CLI (`localstorm topology NAME`),
//     target < 1 s;
//   - a worker is SIGKILLed → its replacement on the same slot is
//     processing tuples (its heartbeat in ZooKeeper carries non-zero
//     executed or acked counts), target < 250 ms.
//
//	go test -run '^$' -bench 'AckedVisible|ReplacementProcessing' -count 5 ./localcluster/

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// pollUntil calls check every few ms until it says yes, and returns how long
// after start that was; ctx bounds it.
func pollUntil(ctx context.Context, start time.Time, check func() bool) (time.Duration, error) {
	for !check() {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return time.Since(start), nil
}

// BenchmarkSubmitWaitToAckedVisible: `localstorm submit --wait` of word
// count on 2 workers (the CLI binary against an in-process cluster's API);
// from its return, the API (GET /api/v1/topology/ID) and the CLI
// (`localstorm topology NAME -o json`, one process per poll) are polled side
// by side until the spout's acked count is non-zero.
func BenchmarkSubmitWaitToAckedVisible(b *testing.B) {
	bins := buildBinaries(b)
	wc := wordcountBinary(b)
	c := startBenchCluster(b, 3)
	var submitted, viaAPI, viaCLI []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("seen%d", i)
		start := time.Now()
		out, err := bins.cli(nil, "submit", wc, "--wait", "--api", c.APIURL(), "--topology-name", name,
			"-c", "topology.workers=2").CombinedOutput()
		if err != nil {
			b.Fatalf("submit --wait: %v\n%s", err, out)
		}
		returned := time.Now()
		submitted = append(submitted, returned.Sub(start))
		id, err := c.Client().TopologyIDByName(b.Context(), name)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		var wg sync.WaitGroup
		var apiTook, cliTook time.Duration
		var apiErr, cliErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			apiTook, apiErr = pollUntil(ctx, returned, func() bool {
				info, err := c.Client().Topology(ctx, id)
				return err == nil && info.SpoutsAcked() > 0
			})
		}()
		go func() {
			defer wg.Done()
			cliTook, cliErr = pollUntil(ctx, returned, func() bool {
				out, err := bins.cli(nil, "topology", name, "--api", c.APIURL(), "-o", "json").Output()
				var info api.TopologyInfo
				return err == nil && json.Unmarshal(out, &info) == nil && info.SpoutsAcked() > 0
			})
		}()
		wg.Wait()
		cancel()
		if apiErr != nil || cliErr != nil {
			b.Fatalf("no acked count visible within a minute of submit --wait: API %v, CLI %v", apiErr, cliErr)
		}
		viaAPI, viaCLI = append(viaAPI, apiTook), append(viaCLI, cliTook)
		b.StopTimer()
		killAndForget(b, c, id)
		b.StartTimer()
	}
	reportMedian(b, submitted, "ms-median/submit-wait")
	reportMedian(b, viaAPI, "ms-median/api-acked")
	reportMedian(b, viaCLI, "ms-median/cli-acked")
}

// processing tells whether a worker heartbeat shows its executors at work.
func processing(hb *cluster.WorkerHeartbeat) bool {
	for _, e := range hb.Executors {
		for _, m := range []map[string]int64{e.Stats.Executed, e.Stats.Acked} {
			for _, n := range m {
				if n > 0 {
					return true
				}
			}
		}
	}
	return false
}

// crashLoopGap keeps two kills of one slot further apart than the
// supervisor's crash-loop window (1 s), within which a second exit is
// relaunched at the monitor's pace instead of at once: the benchmark
// measures the recovery from one kill, not a crash loop.
const crashLoopGap = 1200 * time.Millisecond

// BenchmarkWorkerKillToReplacementProcessing: SIGKILL one of word count's
// two workers (alternating); the timer stops at the first ZooKeeper
// heartbeat of its slot written after the kill (the replacement is up,
// "heartbeating") and at the first one whose counts are non-zero (the
// replacement is processing tuples: a new process starts from zero, so any
// count is its own). topology.max.spout.pending is unlimited here: with word
// count's own 1000, a spout that survives the kill stops emitting while its
// pending tuple trees that died with the worker wait out
// topology.message.timeout.secs (30 s), as in Storm, and the replacement
// has nothing to process until they are replayed.
func BenchmarkWorkerKillToReplacementProcessing(b *testing.B) {
	c := startBenchCluster(b, 2)
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	id, err := submit.Binary(ctx, c.Client(), wordcountBinary(b), submit.Options{
		Name: "wc-kill", Wait: true, Conf: map[string]any{"topology.workers": 2, "topology.max.spout.pending": nil},
	})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	var beating, working []time.Duration
	lastKill := map[int]time.Time{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		node, port, pid := runningWorker(b, c, id, i)
		time.Sleep(time.Until(lastKill[port].Add(crashLoopGap)))
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		b.StartTimer()
		start := time.Now()
		lastKill[port] = start
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		var sawBeat time.Duration
		took, err := pollUntil(ctx, start, func() bool {
			hb, err := c.State().WorkerHeartbeat(id, node, port)
			if err != nil || hb == nil || hb.TimeMillis <= start.UnixMilli() {
				return false
			}
			if sawBeat == 0 {
				sawBeat = time.Since(start)
			}
			return processing(hb)
		})
		cancel()
		if err != nil {
			b.Fatalf("the replacement of %s:%d is not processing a minute after the kill", node, port)
		}
		beating, working = append(beating, sawBeat), append(working, took)
	}
	reportMedian(b, beating, "ms-median/replacement-heartbeating")
	reportMedian(b, working, "ms-median/replacement-processing")
}

// runningWorker returns the i-th (mod their number) running worker of
// topology id, once every assigned slot has one.
func runningWorker(b *testing.B, c *localcluster.Cluster, id string, i int) (node string, port, pid int) {
	b.Helper()
	type slot struct {
		node      string
		port, pid int
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var running []slot
		for _, sup := range c.Supervisors() {
			for _, w := range sup.Workers() {
				if w.TopologyID == id && w.State == "running" {
					running = append(running, slot{sup.ID(), w.Port, w.Pid})
				}
			}
		}
		if len(running) >= 2 {
			slices.SortFunc(running, func(a, b slot) int { return a.port - b.port })
			s := running[i%len(running)]
			return s.node, s.port, s.pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("the topology's two workers are not running")
	return "", 0, 0
}
