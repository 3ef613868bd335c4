package nimbus

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// historyFeed drives a historyStore as the sampler does: one spout executor
// acking ackedPerSec and one bolt executor, heartbeating every beatEvery.
type historyFeed struct {
	s         *historyStore
	now       time.Time
	beatMs    int64
	emitted   int64
	acked     int64
	latencyMs float64
}

func (f *historyFeed) tick(t *testing.T, ackedPerSec int64, beat bool) {
	t.Helper()
	f.now = f.now.Add(historyStep)
	if beat {
		f.beatMs = f.now.UnixMilli()
		f.emitted += 2 * ackedPerSec
		f.acked += ackedPerSec
		f.latencyMs += float64(ackedPerSec) * 4 // 4 ms each
	}
	spout := totals{Emitted: f.emitted, Acked: f.acked, CompleteLatencyMs: f.latencyMs,
		Streams: map[string]int64{streamKey(statEmitted, "default"): f.emitted}}
	bolt := totals{Emitted: f.emitted, Executed: f.emitted, Acked: f.emitted, ProcessLatencyMs: float64(f.emitted)}
	obs := []execObservation{
		{component: "spout", exec: cluster.ExecutorInfo{Start: 1, End: 1}, beatMs: f.beatMs, cum: spout},
		{component: "bolt", exec: cluster.ExecutorInfo{Start: 2, End: 2}, beatMs: f.beatMs, cum: bolt, capacity: 0.25},
		{component: topology.AckerComponent, exec: cluster.ExecutorInfo{Start: 3, End: 3}},
	}
	f.s.sample("t1", obs, map[string]bool{"spout": true}, f.now)
}

func last(p []float32) float32 { return p[len(p)-1] }

func TestHistoryRatesFromHeartbeats(t *testing.T) {
	f := &historyFeed{s: newHistoryStore(60), now: time.Unix(1_000_000, 0)}
	// Heartbeats every 3 samples (task.heartbeat.frequency.secs = 3), 100
	// acks a second: 300 between two heartbeats.
	for i := range 12 {
		f.tick(t, 300, i%3 == 0)
	}
	h := f.s.snapshot("t1", "", 0, func(s cluster.NodePort) string { return "h" })
	if len(h.Times) != 12 || h.Times[11]-h.Times[0] != 11 {
		t.Fatalf("times = %v, want 12 one second apart", h.Times)
	}
	if got := last(h.Topology[figAcked]); got != 100 {
		t.Errorf("topology acked/s = %v, want 100", got)
	}
	if got := last(h.Topology[figEmitted]); got != 400 { // spout 200 + bolt 200 (emitted counts), acker left out
		t.Errorf("topology emitted/s = %v, want 400", got)
	}
	if got := last(h.Topology[figCompleteLatency]); got != 4 {
		t.Errorf("complete latency = %v ms, want 4", got)
	}
	if got := last(h.Components["bolt"][figCapacity]); got != 0.25 {
		t.Errorf("bolt capacity = %v, want 0.25", got)
	}
	if got := last(h.Components["bolt"][figProcessLatency]); got != 1 {
		t.Errorf("bolt process latency = %v, want 1", got)
	}
	if !math.IsNaN(float64(h.Topology[figAcked][0])) {
		t.Errorf("first sample acked = %v, want unknown (one heartbeat only)", h.Topology[figAcked][0])
	}
	if len(h.Streams) != 1 || h.Streams[0].From != "spout" || h.Streams[0].PerSec != 200 {
		t.Errorf("streams = %+v, want spout default at 200/s", h.Streams)
	}
	// The executors stop heartbeating: after three of their periods the
	// rates are unknown, not the last value held forever.
	for range 12 {
		f.tick(t, 0, false)
	}
	h = f.s.snapshot("t1", "bolt", 5, nil)
	if len(h.Times) != 5 || len(h.Components) != 1 || len(h.Topology) != 0 {
		t.Fatalf("component snapshot: %d times, components %v, topology %v; want 5 times of the bolt only", len(h.Times), h.Components, h.Topology)
	}
	if got := last(h.Components["bolt"][figEmitted]); !math.IsNaN(float64(got)) {
		t.Errorf("emitted/s of a silent bolt = %v, want unknown", got)
	}
}

// TestHistoryMemoryBound: the rings take a fixed amount of memory, however
// long the history runs and however many workers come and go.
func TestHistoryMemoryBound(t *testing.T) {
	const n = 90
	f := &historyFeed{s: newHistoryStore(n), now: time.Unix(1_000_000, 0)}
	const perComponent = 4 * n * 6 // six float32 figures
	const perWorker = 4 * n * 2
	bound := 8*n + 4*n*4 + 3*perComponent + historyMaxWorkers*perWorker
	var first int
	for i := range 20 * n {
		// A new worker (a new port) every sample: relaunches on new ports.
		slot := cluster.NodePort{Node: "sup", Port: 6700 + i}
		f.s.observeWorker("t1", slot, &cluster.WorkerHeartbeat{TimeMillis: f.now.UnixMilli() + 1, RSSBytes: 1 << 20, CPUMillis: int64(i)})
		f.tick(t, 10, i%3 == 0)
		b := f.s.bytes("t1")
		if b > bound {
			t.Fatalf("after %d samples the history holds %d bytes, over its bound %d", i+1, b, bound)
		}
		if i == 2*n {
			first = b
		}
		if i > 2*n && b != first {
			t.Fatalf("after %d samples the history holds %d bytes, %d once the rings were full: it grows", i+1, b, first)
		}
	}
	th := f.s.topologies["t1"]
	if len(th.workers) > historyMaxWorkers || len(th.times) != n {
		t.Fatalf("%d workers (max %d), %d times (want %d)", len(th.workers), historyMaxWorkers, len(th.times), n)
	}
	h := f.s.snapshot("t1", "", 0, func(s cluster.NodePort) string { return s.Node })
	if len(h.Times) != n || len(h.Topology[figAcked]) != n {
		t.Fatalf("snapshot of a full ring: %d times, %d points; want %d", len(h.Times), len(h.Topology[figAcked]), n)
	}
	f.s.retain(map[string]bool{})
	if f.s.bytes("t1") != 0 {
		t.Fatal("a killed topology's history is kept")
	}
}

func TestHistoryOff(t *testing.T) {
	s := newHistoryStore(0)
	s.sample("t1", nil, nil, time.Now())
	s.observeWorker("t1", cluster.NodePort{}, &cluster.WorkerHeartbeat{TimeMillis: 1})
	if h := s.snapshot("t1", "", 0, nil); len(h.Times) != 0 {
		t.Fatalf("history off: %d samples", len(h.Times))
	}
}

// BenchmarkHistorySample is one sample of a word-count-sized topology (five
// components, seven executors, two workers heartbeating), and reports the
// memory its history holds once full (default length, 900 samples).
func BenchmarkHistorySample(b *testing.B) {
	s := newHistoryStore(defaultHistorySecs)
	now := time.Unix(1_000_000, 0)
	comps := []string{"sentences", "split", "split", "count", "count", topology.AckerComponent, "__system"}
	spouts := map[string]bool{"sentences": true}
	obs := make([]execObservation, len(comps))
	for i := range b.N + defaultHistorySecs {
		if i == defaultHistorySecs {
			b.ResetTimer()
		}
		now = now.Add(historyStep)
		for k, c := range comps {
			n := int64(i * 100)
			obs[k] = execObservation{component: c, exec: cluster.ExecutorInfo{Start: k + 1, End: k + 1}, beatMs: now.UnixMilli(),
				cum: totals{Emitted: n, Acked: n, Executed: n, CompleteLatencyMs: float64(n), ProcessLatencyMs: float64(n),
					Streams: map[string]int64{streamKey(statEmitted, "default"): n}}, capacity: 0.1}
		}
		for port := range 2 {
			s.observeWorker("t1", cluster.NodePort{Node: "s", Port: 6700 + port}, &cluster.WorkerHeartbeat{TimeMillis: now.UnixMilli(), RSSBytes: 9 << 20, CPUMillis: int64(i)})
		}
		s.sample("t1", obs, spouts, now)
	}
	b.ReportMetric(float64(s.bytes("t1")), "history-bytes/topology")
}

func TestHistorySecsSetting(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want int
		err  bool
	}{{nil, defaultHistorySecs, false}, {0, 0, false}, {60, 60, false}, {-1, 0, true}, {maxHistorySecs + 1, 0, true}, {"x", 0, true}} {
		c := withDefaults(nil)
		if tc.v != nil {
			c[HistorySecs] = tc.v
		}
		s, err := readSettings(c)
		if (err != nil) != tc.err || (!tc.err && s.historySecs != tc.want) {
			t.Errorf("%s=%v: %d, %v; want %d (error %v)", HistorySecs, tc.v, s.historySecs, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), HistorySecs) {
			t.Errorf("%s=%v: the error %q does not name the key", HistorySecs, tc.v, err)
		}
	}
	if newHistoryStore(0) != nil {
		t.Error("history 0 s: a store is kept")
	}
}
