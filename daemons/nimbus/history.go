package nimbus

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// The live history. Once a second (historyStep) nimbus reads every
// topology's heartbeats and appends one sample of each figure of the
// topology, of each of its components and of each of its workers to rings of
// localstorm.nimbus.history.secs entries: a fixed amount of memory per
// figure, allocated when the topology, component or worker first appears.
//
// Workers write their heartbeats every task.heartbeat.frequency.secs (3 s),
// so a rate is measured between an executor's last two heartbeats, in the
// heartbeats' own time: it changes when a heartbeat arrives and holds in
// between, with no aliasing between the two clocks.

// historyStep is the sampling period.
const historyStep = time.Second

// historyMaxWorkers bounds the workers with a history per topology; a
// worker beyond it (many relaunches on new ports) replaces the one heard of
// least recently.
const historyMaxWorkers = 64

// Figure names, as the API gives them.
const (
	figEmitted         = "emitted"
	figAcked           = "acked"
	figFailed          = "failed"
	figCompleteLatency = "completeLatencyMs"
	figProcessLatency  = "processLatencyMs"
	figCapacity        = "capacity"
	figRSS             = "rssBytes"
	figCPU             = "cpuPercent"
)

var (
	topologyFigures  = []string{figEmitted, figAcked, figFailed, figCompleteLatency}
	componentFigures = []string{figEmitted, figAcked, figFailed, figCompleteLatency, figProcessLatency, figCapacity}
	workerFigures    = []string{figRSS, figCPU}
)

var unknown = float32(math.NaN())

// rings are named figures, each a ring of one point per sample.
type rings map[string][]float32

func newRings(names []string, n int) rings {
	r := make(rings, len(names))
	for _, name := range names {
		s := make([]float32, n)
		for i := range s {
			s[i] = unknown
		}
		r[name] = s
	}
	return r
}

// execRate tracks an executor's last two heartbeats: their times (ms) and
// its cumulative counts then (monotonic: statsStore carries counts over a
// restart).
type execRate struct {
	prevMs, curMs int64
	prev, cur     totals
	capacity      float64
}

// observe takes the executor's counts as of its heartbeat at beatMs.
func (r *execRate) observe(beatMs int64, cum totals, capacity float64) {
	if beatMs <= 0 || beatMs == r.curMs {
		return
	}
	r.prevMs, r.prev = r.curMs, r.cur
	r.curMs, r.cur, r.capacity = beatMs, cum, capacity
}

// perSec returns the counts per second between the last two heartbeats;
// false when there are not two, or the last is stale (the executor stopped
// heartbeating for more than three of its periods).
func (r *execRate) perSec(nowMs int64) (totals, float64, bool) {
	dt := r.curMs - r.prevMs
	if r.prevMs == 0 || dt <= 0 || nowMs-r.curMs > max(3*dt, 5000) {
		return totals{}, 0, false
	}
	return r.cur.sub(r.prev), float64(dt) / 1000, true
}

// workerUsage tracks a worker's process figures from its heartbeats.
type workerUsage struct {
	figs          rings
	prevMs, curMs int64
	prevCPU, cpu  int64 // CPU time used (ms)
	rss           int64
	lastSample    int // the sample count when it was last heard of
}

// topologyHistory is one topology's rings. Times is the ring of sample
// times; next is where the next sample goes; count the samples taken.
type topologyHistory struct {
	times       []int64
	next, count int
	topology    rings
	components  map[string]rings
	workers     map[cluster.NodePort]*workerUsage
	execs       map[cluster.ExecutorInfo]*execRate
	streams     []api.StreamRate
}

// historyStore is every topology's history, under its own lock.
type historyStore struct {
	mu         sync.Mutex
	n          int // samples kept per figure
	topologies map[string]*topologyHistory
}

// newHistoryStore keeps n samples per figure; n == 0 is no history (every
// method is then a no-op, as on a nil store).
func newHistoryStore(n int) *historyStore {
	if n <= 0 {
		return nil
	}
	return &historyStore{n: n, topologies: map[string]*topologyHistory{}}
}

// execObservation is one executor as of a sample: its component, its last
// heartbeat time (0: none) and its cumulative counts then.
type execObservation struct {
	component string
	exec      cluster.ExecutorInfo
	beatMs    int64
	cum       totals
	capacity  float64
}

func (s *historyStore) topology(id string) *topologyHistory {
	th := s.topologies[id]
	if th == nil {
		th = &topologyHistory{
			times: make([]int64, s.n), topology: newRings(topologyFigures, s.n),
			components: map[string]rings{}, workers: map[cluster.NodePort]*workerUsage{},
			execs: map[cluster.ExecutorInfo]*execRate{},
		}
		s.topologies[id] = th
	}
	return th
}

// observeWorker takes a worker heartbeat's process figures.
func (s *historyStore) observeWorker(id string, slot cluster.NodePort, hb *cluster.WorkerHeartbeat) {
	if s == nil || hb == nil || hb.TimeMillis <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	th := s.topology(id)
	w := th.workers[slot]
	if w == nil {
		if len(th.workers) >= historyMaxWorkers {
			th.dropStalestWorker()
		}
		w = &workerUsage{figs: newRings(workerFigures, s.n)}
		th.workers[slot] = w
	}
	w.lastSample = th.count
	if hb.TimeMillis == w.curMs {
		return
	}
	w.prevMs, w.prevCPU = w.curMs, w.cpu
	w.curMs, w.cpu, w.rss = hb.TimeMillis, hb.CPUMillis, hb.RSSBytes
}

func (th *topologyHistory) dropStalestWorker() {
	var stalest cluster.NodePort
	first := true
	for slot, w := range th.workers {
		if first || w.lastSample < th.workers[stalest].lastSample {
			stalest, first = slot, false
		}
	}
	delete(th.workers, stalest)
}

// sample appends one sample of topology id taken at now from obs (every
// executor of the topology); spouts names its spouts.
func (s *historyStore) sample(id string, obs []execObservation, spouts map[string]bool, now time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	th := s.topology(id)
	nowMs := now.UnixMilli()
	seen := make(map[cluster.ExecutorInfo]bool, len(obs))
	comps := map[string]*componentRates{}
	for _, o := range obs {
		seen[o.exec] = true
		r := th.execs[o.exec]
		if r == nil {
			r = &execRate{}
			th.execs[o.exec] = r
		}
		r.observe(o.beatMs, o.cum, o.capacity)
		c := comps[o.component]
		if c == nil {
			c = &componentRates{}
			comps[o.component] = c
		}
		c.add(r, nowMs)
	}
	for e := range th.execs {
		if !seen[e] {
			delete(th.execs, e) // rebalanced away
		}
	}
	th.write(s.n, now, comps, spouts)
}

// componentRates sums a component's executors' rates at one sample.
type componentRates struct {
	known                  bool
	emitted, acked, failed float64
	completeMs, processMs  float64 // latency sums per second
	capacity               float64
	streams                map[string]float64 // emitted per second by stream
}

func (c *componentRates) add(r *execRate, nowMs int64) {
	d, secs, ok := r.perSec(nowMs)
	if !ok {
		return
	}
	c.known = true
	c.emitted += float64(d.Emitted) / secs
	c.acked += float64(d.Acked) / secs
	c.failed += float64(d.Failed) / secs
	c.completeMs += d.CompleteLatencyMs / secs
	c.processMs += d.ProcessLatencyMs / secs
	c.capacity = max(c.capacity, r.capacity)
	for key, v := range d.Streams {
		if stream, ok := strings.CutPrefix(key, statEmitted+"/"); ok {
			if c.streams == nil {
				c.streams = map[string]float64{}
			}
			c.streams[stream] += float64(v) / secs
		}
	}
}

// mean is sum/count, unknown without a count.
func mean(sum, count float64) float32 {
	if count <= 0 {
		return unknown
	}
	return float32(sum / count)
}

// orUnknown is v when known.
func orUnknown(known bool, v float64) float32 {
	if !known {
		return unknown
	}
	return float32(v)
}

// write stores the sample at th.next and advances the ring.
func (th *topologyHistory) write(n int, now time.Time, comps map[string]*componentRates, spouts map[string]bool) {
	i := th.next
	th.times[i] = now.Unix()
	var topo componentRates
	th.streams = th.streams[:0]
	for id, c := range comps {
		figs := th.components[id]
		if figs == nil {
			figs = newRings(componentFigures, n)
			th.components[id] = figs
		}
		figs[figEmitted][i] = orUnknown(c.known, c.emitted)
		figs[figAcked][i] = orUnknown(c.known, c.acked)
		figs[figFailed][i] = orUnknown(c.known, c.failed)
		figs[figCompleteLatency][i], figs[figProcessLatency][i], figs[figCapacity][i] = unknown, unknown, unknown
		if spouts[id] {
			figs[figCompleteLatency][i] = mean(c.completeMs, c.acked)
		} else if c.known {
			figs[figProcessLatency][i] = mean(c.processMs, c.acked)
			figs[figCapacity][i] = float32(c.capacity)
		}
		topo.known = topo.known || c.known
		if id != topology.AckerComponent {
			topo.emitted += c.emitted
		}
		if spouts[id] {
			topo.acked += c.acked
			topo.failed += c.failed
			topo.completeMs += c.completeMs
		}
		for stream, v := range c.streams {
			th.streams = append(th.streams, api.StreamRate{From: id, Stream: stream, PerSec: v})
		}
	}
	for id, figs := range th.components {
		if comps[id] == nil {
			for _, ring := range figs {
				ring[i] = unknown
			}
		}
	}
	th.topology[figEmitted][i] = orUnknown(topo.known, topo.emitted)
	th.topology[figAcked][i] = orUnknown(topo.known, topo.acked)
	th.topology[figFailed][i] = orUnknown(topo.known, topo.failed)
	th.topology[figCompleteLatency][i] = mean(topo.completeMs, topo.acked)
	th.writeWorkers(i, now.UnixMilli(), n)
	slices.SortFunc(th.streams, func(a, b api.StreamRate) int {
		return strings.Compare(a.From+"\x00"+a.Stream, b.From+"\x00"+b.Stream)
	})
	th.next = (i + 1) % n
	th.count++
}

// writeWorkers stores each worker's figures at ring index i; a worker not
// heard of for a whole ring is forgotten.
func (th *topologyHistory) writeWorkers(i int, nowMs int64, n int) {
	for slot, w := range th.workers {
		if th.count-w.lastSample >= n {
			delete(th.workers, slot)
			continue
		}
		w.figs[figRSS][i], w.figs[figCPU][i] = unknown, unknown
		dt := w.curMs - w.prevMs
		if nowMs-w.curMs > max(3*dt, 5000) {
			continue // stopped heartbeating: dead or paused
		}
		if w.rss > 0 {
			w.figs[figRSS][i] = float32(w.rss)
		}
		if w.prevMs > 0 && dt > 0 && w.cpu > 0 {
			w.figs[figCPU][i] = float32(float64(w.cpu-w.prevCPU) / float64(dt) * 100)
		}
	}
}

// retain forgets the topologies not in ids (killed).
func (s *historyStore) retain(ids map[string]bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.topologies {
		if !ids[id] {
			delete(s.topologies, id)
		}
	}
}

// snapshot returns topology id's newest secs samples (0: all), of one
// component only when component is set; hostOf names a worker's host.
func (s *historyStore) snapshot(id, component string, secs int, hostOf func(cluster.NodePort) string) *api.History {
	h := &api.History{TopologyID: id, StepSecs: int(historyStep / time.Second), Times: []int64{},
		Topology: api.Series{}, Components: map[string]api.Series{}, Workers: map[string]api.Series{}, Streams: []api.StreamRate{}}
	if s == nil {
		return h
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	th := s.topologies[id]
	if th == nil {
		return h
	}
	k := min(th.count, s.n)
	if secs > 0 {
		k = min(k, secs)
	}
	start := (th.next - k + s.n) % s.n
	unroll := func(ring []float32) api.Points {
		out := make(api.Points, k)
		for j := range k {
			out[j] = ring[(start+j)%s.n]
		}
		return out
	}
	series := func(r rings) api.Series {
		out := make(api.Series, len(r))
		for name, ring := range r {
			out[name] = unroll(ring)
		}
		return out
	}
	for j := range k {
		h.Times = append(h.Times, th.times[(start+j)%s.n])
	}
	for cid, figs := range th.components {
		if component == "" || cid == component {
			h.Components[cid] = series(figs)
		}
	}
	for _, sr := range th.streams {
		if component == "" || sr.From == component {
			h.Streams = append(h.Streams, sr)
		}
	}
	if component == "" {
		h.Topology = series(th.topology)
		for slot, w := range th.workers {
			h.Workers[hostOf(slot)] = series(w.figs)
		}
	}
	return h
}

// bytes is the memory the rings of topology id hold (the figures, not the
// small per-executor trackers): what the history's bound is about.
func (s *historyStore) bytes(id string) int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	th := s.topologies[id]
	if th == nil {
		return 0
	}
	size := func(r rings) int {
		b := 0
		for _, ring := range r {
			b += 4 * cap(ring)
		}
		return b
	}
	b := 8*cap(th.times) + size(th.topology)
	for _, figs := range th.components {
		b += size(figs)
	}
	for _, w := range th.workers {
		b += size(w.figs)
	}
	return b
}
