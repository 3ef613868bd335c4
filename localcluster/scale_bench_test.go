package localcluster_test

// Benchmarks of how localstorm's cost grows (issue 18), on the 2-core
// machine, as curves:
//   - `localstorm up --supervisors N` → ready, N = 1, 4, 16, 64 (target:
//     64 < 1 s);
//   - N topologies of 2 workers (N = 1, 10, 50, 100) submitted at once → every
//     executor heartbeating (target: 100 < 30 s); then the idle cost of the
//     whole cluster: CPU of the cluster's process and of all workers, RSS,
//     ZooKeeper requests/s and znodes (targets: ≤ 0.2 % of a core and
//     ≤ 10 MB RSS per worker);
//   - one of 10 supervisors, running 10 % of the workers, is lost → every
//     moved executor heartbeating on its new slot.
//
//	go test -run '^$' -bench 'UpSupervisors|TopologiesScale|SupervisorLossTenPercent' -benchtime 1x -count 3 ./localcluster/

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// BenchmarkUpSupervisors: `localstorm up --supervisors N` from exec to its
// banner (ready), as BenchmarkUpReady at 3.
func BenchmarkUpSupervisors(b *testing.B) {
	bins := buildBinaries(b)
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("supervisors=%d", n), func(b *testing.B) {
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				up := startUp(b, bins, fmt.Sprintf("sups%d-%d", n, i), "--supervisors", strconv.Itoa(n))
				took = append(took, time.Since(start))
				b.StopTimer()
				up.stop(b)
				b.StartTimer()
			}
			reportMedian(b, took, "ms-median/ready")
		})
	}
}

// scaleSupervisors and scaleSlots are the cluster of BenchmarkTopologiesScale:
// 256 slots, room for 100 topologies of 2 workers.
const (
	scaleSupervisors = 64
	scaleSlots       = 4
	scaleIdleSettle  = 3 * time.Second
	scaleIdleWindow  = 10 * time.Second
)

// submitAll submits n word counts of 2 workers, each stopping after 20
// sentences per spout (then idle), 8 submits in flight, and returns their ids.
func submitAll(b *testing.B, c *localcluster.Cluster, prefix string, n int) []string {
	b.Helper()
	bin := wordcountBinary(b)
	ids, errs := make([]string, n), make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ids[i], errs[i] = submit.Binary(b.Context(), c.Client(), bin, submit.Options{
				Name: fmt.Sprintf("%s%03d", prefix, i),
				Conf: map[string]any{"topology.workers": 2, "wordcount.sentences.limit": 20},
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// allHeartbeating waits until every executor of every topology has a
// heartbeat from the slot it is assigned to, written after since.
func allHeartbeating(ctx context.Context, st cluster.StormClusterState, ids []string, since time.Time) error {
	for _, id := range ids {
		for {
			ok, err := slotsBeating(st, id, since, nil, "")
			if err != nil {
				return err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: not every executor heartbeating: %w", id, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// slotsBeating tells whether topology id is assigned, to no slot of node
// lost, and every slot of its assignment (but those in skip) has a
// heartbeat written after since that names every executor assigned there.
func slotsBeating(st cluster.StormClusterState, id string, since time.Time, skip map[cluster.NodePort]bool, lost string) (bool, error) {
	a, err := st.AssignmentInfo(id, nil)
	if err != nil || a == nil || len(a.Executors) == 0 {
		return false, err
	}
	want := map[cluster.NodePort]int{}
	for _, ea := range a.Executors {
		if ea.Slot.Node == lost {
			return false, nil
		}
		if !skip[ea.Slot] {
			want[ea.Slot]++
		}
	}
	for slot, n := range want {
		hb, err := st.WorkerHeartbeat(id, slot.Node, slot.Port)
		if err != nil {
			return false, err
		}
		if hb == nil || hb.TimeMillis <= since.UnixMilli() || len(hb.Executors) < n {
			return false, nil
		}
	}
	return true, nil
}

// zkStats are the embedded ZooKeeper's request count and znodes, from its
// srvr four-letter word.
func zkStats(b *testing.B, addr string) (received, znodes int64) {
	b.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("srvr")); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Received: "); ok {
			received, _ = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "Node count: "); ok {
			znodes, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return received, znodes
}

// allWorkerPids lists the pids of every running worker of c.
func allWorkerPids(c *localcluster.Cluster) []int {
	var pids []int
	for _, sup := range c.Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.State == "running" {
				pids = append(pids, w.Pid)
			}
		}
	}
	return pids
}

// BenchmarkTopologiesScale: on a cluster of 64 supervisors of 4 slots (in
// this process, as `up` runs it), N word counts of 2 workers are submitted
// at once; the timer stops when every executor of every topology has
// heartbeated from its slot. Then, once the topologies have acked their
// sentences and idle, the cost over 10 s: CPU of this process (the cluster:
// ZooKeeper, nimbus, supervisors) and of all workers, in % of one core;
// RSS; ZooKeeper requests/s and znodes.
func BenchmarkTopologiesScale(b *testing.B) {
	wordcountBinary(b)
	for _, n := range []int{1, 10, 50, 100} {
		b.Run(fmt.Sprintf("topologies=%d", n), func(b *testing.B) {
			var took []time.Duration
			var m idleCost
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				c := startScaleCluster(b, scaleSupervisors, scaleSlots)
				ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
				b.StartTimer()
				start := time.Now()
				ids := submitAll(b, c, fmt.Sprintf("t%d-", i), n)
				if err := allHeartbeating(ctx, c.State(), ids, start); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				b.StopTimer()
				cancel()
				m.add(measureIdle(b, c, 2*n))
				closeCluster(b, c)
				b.StartTimer()
			}
			reportMedian(b, took, "ms-median/all-heartbeating")
			m.report(b)
		})
	}
}

func startScaleCluster(b *testing.B, supervisors, slots int) *localcluster.Cluster {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench-scale", Supervisors: supervisors, Slots: slots})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func closeCluster(b *testing.B, c *localcluster.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		b.Errorf("close: %v", err)
	}
}

// idleCost collects the idle measurements of several runs.
type idleCost struct {
	clusterCPU, workersCPU, perWorkerCPU, clusterRSS, perWorkerRSS, perWorkerPSS, perWorkerAnon, zkReqs, znodes []float64
}

func (m *idleCost) add(o idleCost) {
	m.clusterCPU = append(m.clusterCPU, o.clusterCPU...)
	m.workersCPU = append(m.workersCPU, o.workersCPU...)
	m.perWorkerCPU = append(m.perWorkerCPU, o.perWorkerCPU...)
	m.clusterRSS = append(m.clusterRSS, o.clusterRSS...)
	m.perWorkerRSS = append(m.perWorkerRSS, o.perWorkerRSS...)
	m.perWorkerPSS = append(m.perWorkerPSS, o.perWorkerPSS...)
	m.perWorkerAnon = append(m.perWorkerAnon, o.perWorkerAnon...)
	m.zkReqs = append(m.zkReqs, o.zkReqs...)
	m.znodes = append(m.znodes, o.znodes...)
}

func (m *idleCost) report(b *testing.B) {
	b.ReportMetric(testutil.Median(m.clusterCPU), "idle-cluster-cpu-%")
	b.ReportMetric(testutil.Median(m.workersCPU), "idle-workers-cpu-%")
	b.ReportMetric(testutil.Median(m.perWorkerCPU), "idle-cpu-%/worker")
	b.ReportMetric(testutil.Median(m.clusterRSS), "cluster-rss-MB")
	b.ReportMetric(testutil.Median(m.perWorkerRSS), "rss-MB/worker")
	b.ReportMetric(testutil.Median(m.perWorkerPSS), "pss-MB/worker")
	b.ReportMetric(testutil.Median(m.perWorkerAnon), "anon-MB/worker")
	b.ReportMetric(testutil.Median(m.zkReqs), "zk-req/s")
	b.ReportMetric(testutil.Median(m.znodes), "znodes")
}

// measureIdle waits for the workers to be running and idle, then measures
// the cost over scaleIdleWindow.
func measureIdle(b *testing.B, c *localcluster.Cluster, workers int) idleCost {
	b.Helper()
	var pids []int
	deadline := time.Now().Add(time.Minute)
	for pids = allWorkerPids(c); len(pids) < workers && time.Now().Before(deadline); pids = allWorkerPids(c) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(pids) != workers {
		b.Fatalf("%d workers running, want %d", len(pids), workers)
	}
	time.Sleep(idleSettle(b)) // the spouts' 20 sentences are acked by then
	self := os.Getpid()
	ticks := func() (cl, ws int64) {
		for _, pid := range pids {
			ws += cpuTicks(b, pid)
		}
		return cpuTicks(b, self), ws
	}
	r0, _ := zkStats(b, c.ZooKeeperAddr())
	t0 := time.Now()
	cl0, ws0 := ticks()
	stopProfile := profileIdle(b)
	time.Sleep(scaleIdleWindow)
	stopProfile()
	cl1, ws1 := ticks()
	secs := time.Since(t0).Seconds()
	r1, znodes := zkStats(b, c.ZooKeeperAddr())
	var rss, pss, anon float64
	for _, pid := range pids {
		rss += rssMB(b, pid)
		pss += smapsMB(b, pid, "Pss:")
		anon += smapsMB(b, pid, "Anonymous:")
	}
	pct := func(t int64) float64 { return float64(t) / clockTicksPerSec / secs * 100 }
	defer heapIdle(b) // after the measurement: it collects
	return idleCost{
		clusterCPU: []float64{pct(cl1 - cl0)}, workersCPU: []float64{pct(ws1 - ws0)},
		perWorkerCPU: []float64{pct(ws1-ws0) / float64(workers)},
		clusterRSS:   []float64{rssMB(b, self)}, perWorkerRSS: []float64{rss / float64(workers)},
		perWorkerPSS: []float64{pss / float64(workers)}, perWorkerAnon: []float64{anon / float64(workers)},
		zkReqs: []float64{float64(r1-r0-1) / secs}, znodes: []float64{float64(znodes)},
	}
}

// BenchmarkSupervisorLossTenPercent: 12 supervisors of 4 slots run 20 word
// counts of 2 workers (the scheduler fills supervisors in id order, as
// Storm's even scheduler: 10 run 4 workers each, 10 % of the workers, and 2
// are spare); the one running the most workers crashes (its workers SIGKILLed, its daemon stopped) and its ZooKeeper
// session is expired at once (the session timeout, a constant, is
// BenchmarkSupervisorLossToRescheduled's subject). The timer stops when
// every executor it ran heartbeats from its new slot.
func BenchmarkSupervisorLossTenPercent(b *testing.B) {
	wordcountBinary(b)
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := startScaleCluster(b, 12, 4)
		ids := submitAll(b, c, fmt.Sprintf("loss%d-", i), 20)
		ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
		if err := allHeartbeating(ctx, c.State(), ids, time.Time{}); err != nil {
			b.Fatal(err)
		}
		victimIndex, victim := 0, c.Supervisors()[0]
		for i, sup := range c.Supervisors() {
			if len(sup.Workers()) > len(victim.Workers()) {
				victimIndex, victim = i, sup
			}
		}
		before := map[string]map[cluster.NodePort]bool{}
		for _, id := range ids {
			a, err := c.State().AssignmentInfo(id, nil)
			if err != nil {
				b.Fatal(err)
			}
			before[id] = slotsOfAssignment(a)
		}
		lost := len(victim.Workers())
		b.StartTimer()
		start := time.Now()
		if err := c.CrashSupervisor(victimIndex); err != nil {
			b.Fatal(err)
		}
		if err := c.ExpireSupervisorSession(victimIndex); err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			for {
				ok, err := slotsBeating(c.State(), id, start, before[id], victim.ID())
				if err != nil {
					b.Fatal(err)
				}
				if ok {
					break
				}
				select {
				case <-ctx.Done():
					b.Fatalf("%s not rescheduled: %v", id, ctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		cancel()
		b.ReportMetric(float64(lost), "workers-lost")
		closeCluster(b, c)
		b.StartTimer()
	}
	reportMedian(b, took, "ms-median/moved-heartbeating")
}

func slotsOfAssignment(a *cluster.Assignment) map[cluster.NodePort]bool {
	out := map[cluster.NodePort]bool{}
	if a != nil {
		for _, ea := range a.Executors {
			out[ea.Slot] = true
		}
	}
	return out
}

// smapsMB is a field of /proc/PID/smaps_rollup in MB: Pss (the process's
// share of its pages: a page mapped by k processes counts 1/k, so the
// executable's pages shared by every worker of a topology binary are not
// counted once per worker as in RSS) or Anonymous (its heap and stacks).
func smapsMB(b *testing.B, pid int, field string) float64 {
	return procFieldMB(b, fmt.Sprintf("/proc/%d/smaps_rollup", pid), field)
}

// profileIdle writes a CPU profile of this process (the cluster: nimbus,
// supervisors, ZooKeeper) over the idle window to the file named by
// LOCALSTORM_BENCH_IDLE_PROFILE, when it is set (the last run's wins).
func profileIdle(b *testing.B) (stop func()) {
	path := os.Getenv("LOCALSTORM_BENCH_IDLE_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// idleSettle is how long the workers idle before the measurement:
// scaleIdleSettle, or LOCALSTORM_BENCH_IDLE_SETTLE (a duration) to see
// their memory after minutes of idling (past the runtime's 2-minute forced
// collection) rather than just after their start.
func idleSettle(b *testing.B) time.Duration {
	v := os.Getenv("LOCALSTORM_BENCH_IDLE_SETTLE")
	if v == "" {
		return scaleIdleSettle
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("LOCALSTORM_BENCH_IDLE_SETTLE=%q: %v", v, err)
	}
	return d
}

// heapIdle writes a heap profile of this process (the cluster) at the end
// of the idle window, after a collection, to the file named by
// LOCALSTORM_BENCH_IDLE_HEAP when it is set (the last run's wins), with a
// goroutine profile next to it (<file>.goroutines), and logs where the
// process's memory is: heap in use, heap freed but kept, stacks and
// goroutines.
func heapIdle(b *testing.B) {
	path := os.Getenv("LOCALSTORM_BENCH_IDLE_HEAP")
	if path == "" {
		return
	}
	runtime.GC()
	for name, file := range map[string]string{"heap": path, "goroutine": path + ".goroutines"} {
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		debug := 0
		if name == "goroutine" {
			debug = 1
		}
		if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mb = 1 << 20
	b.Logf("idle memory: heap in use %d MB, heap idle %d MB (released %d MB), stacks %d MB, other runtime %d MB, sys %d MB, %d goroutines, rss %.0f MB",
		ms.HeapInuse/mb, ms.HeapIdle/mb, ms.HeapReleased/mb, ms.StackSys/mb,
		(ms.MSpanSys+ms.MCacheSys+ms.BuckHashSys+ms.GCSys+ms.OtherSys)/mb, ms.Sys/mb,
		runtime.NumGoroutine(), rssMB(b, os.Getpid()))
}
