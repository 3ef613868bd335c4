package nimbus

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Workers report cumulative counters per executor. Storm UI shows them over
// windows of 10 minutes, 3 hours, 1 day and all time; nimbus derives those from
// a short history of samples per executor: the count over a window is the
// newest total minus the total at the window's start.

// totals are the cumulative counters of one executor (system streams, whose
// ids start with "__", left out of emitted and transferred as Storm UI does).
type totals struct {
	Emitted, Transferred, Acked, Failed, Executed int64
	CompleteLatencyMs, ExecuteLatencyMs           float64
	ProcessLatencyMs                              float64
	// Streams are the counts per stream (system streams included), keyed
	// by streamKey, for the component page.
	Streams map[string]int64 `json:",omitempty"`
}

func (a totals) sub(b totals) totals {
	return totals{
		Emitted: a.Emitted - b.Emitted, Transferred: a.Transferred - b.Transferred,
		Acked: a.Acked - b.Acked, Failed: a.Failed - b.Failed, Executed: a.Executed - b.Executed,
		CompleteLatencyMs: a.CompleteLatencyMs - b.CompleteLatencyMs,
		ExecuteLatencyMs:  a.ExecuteLatencyMs - b.ExecuteLatencyMs,
		ProcessLatencyMs:  a.ProcessLatencyMs - b.ProcessLatencyMs,
		Streams:           mergeStreams(a.Streams, b.Streams, -1),
	}
}

func (a totals) equal(b totals) bool {
	return a.Emitted == b.Emitted && a.Transferred == b.Transferred && a.Acked == b.Acked &&
		a.Failed == b.Failed && a.Executed == b.Executed && a.CompleteLatencyMs == b.CompleteLatencyMs &&
		a.ExecuteLatencyMs == b.ExecuteLatencyMs && a.ProcessLatencyMs == b.ProcessLatencyMs &&
		maps.Equal(a.Streams, b.Streams)
}

func (a totals) add(b totals) totals {
	return totals{
		Emitted: a.Emitted + b.Emitted, Transferred: a.Transferred + b.Transferred,
		Acked: a.Acked + b.Acked, Failed: a.Failed + b.Failed, Executed: a.Executed + b.Executed,
		CompleteLatencyMs: a.CompleteLatencyMs + b.CompleteLatencyMs,
		ExecuteLatencyMs:  a.ExecuteLatencyMs + b.ExecuteLatencyMs,
		ProcessLatencyMs:  a.ProcessLatencyMs + b.ProcessLatencyMs,
		Streams:           mergeStreams(a.Streams, b.Streams, 1),
	}
}

func sumStreams(m map[string]int64, skipSystem bool) int64 {
	var n int64
	for stream, v := range m {
		if skipSystem && strings.HasPrefix(stream, "__") {
			continue
		}
		n += v
	}
	return n
}

func totalsOf(s cluster.ExecutorStats) totals {
	return totals{
		Emitted:           sumStreams(s.Emitted, true),
		Transferred:       sumStreams(s.Transferred, true),
		Acked:             sumStreams(s.Acked, false),
		Failed:            sumStreams(s.Failed, false),
		Executed:          sumStreams(s.Executed, false),
		CompleteLatencyMs: s.CompleteLatencyMsSum,
		ExecuteLatencyMs:  s.ExecuteLatencyMsSum,
		ProcessLatencyMs:  s.ProcessLatencyMsSum,
		Streams:           streamCounts(s),
	}
}

// windowSecs maps a window name to its length; 0 is all time.
func windowSecs(w string) (time.Duration, bool) {
	if w == "" || w == ":all-time" {
		return 0, true
	}
	n, err := strconv.Atoi(w)
	if err != nil || n <= 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

type sample struct {
	at time.Time
	t  totals
}

// executorHistory is the sample history of one executor. Counters restart at
// zero when a worker restarts; the history keeps them monotonic by carrying
// the last total over (offset).
type executorHistory struct {
	samples   []sample // oldest first; the last is the newest
	lastRaw   totals
	lastUp    int64
	offset    totals
	uptime    int64 // executor uptime from the newest heartbeat
	capacity  float64
	startedAt time.Time // nimbus time of the first sample of the current run
	inserts   int
	// beat tracks the worker heartbeat time, so the API can say whether the
	// executor is heartbeating now (the scheduler's liveness also counts the
	// launch grace).
	beat freshness
}

// maxHistoryAge bounds the history: the longest window plus a margin.
const maxHistoryAge = 24*time.Hour + 10*time.Minute

// granularity is how close two kept samples of the given age may be: fine for
// the 10-minute window, coarse for the day.
func granularity(age time.Duration) time.Duration {
	switch {
	case age < 10*time.Minute:
		return time.Second
	case age < 3*time.Hour:
		return 30 * time.Second
	default:
		return 5 * time.Minute
	}
}

// record adds a heartbeat's stats taken at now.
func (h *executorHistory) record(hb cluster.ExecutorHeartbeat, now time.Time) {
	raw := totalsOf(hb.Stats)
	if len(h.samples) > 0 && (hb.UptimeSecs < h.lastUp || raw.Emitted < h.lastRaw.Emitted || raw.Acked < h.lastRaw.Acked || raw.Executed < h.lastRaw.Executed) {
		// A new incarnation of the executor: carry the old run's totals.
		h.offset = h.offset.add(h.lastRaw)
		h.startedAt = now
	}
	if len(h.samples) == 0 {
		h.startedAt = now.Add(-time.Duration(hb.UptimeSecs) * time.Second)
	}
	h.lastRaw, h.lastUp = raw, hb.UptimeSecs
	h.uptime, h.capacity = hb.UptimeSecs, hb.Stats.Capacity
	s := sample{at: now, t: h.offset.add(raw)}
	switch n := len(h.samples); {
	case n > 0 && !now.After(h.samples[n-1].at):
		h.samples[n-1] = s
	case n > 0 && h.samples[n-1].t.equal(s.t):
		// Unchanged counts (an idle executor): a window's baseline found
		// at the last sample has the same counts, so no window changes
		// without this one, and an idle topology's history stays small.
	default:
		h.samples = append(h.samples, s)
	}
	h.inserts++
	if h.inserts%64 == 0 {
		h.thin(now)
	}
}

// thin drops samples older than the longest window and samples closer to
// their newer neighbour than their age's granularity.
func (h *executorHistory) thin(now time.Time) {
	kept := make([]sample, 0, len(h.samples))
	var last time.Time
	for i := len(h.samples) - 1; i >= 0; i-- {
		s := h.samples[i]
		age := now.Sub(s.at)
		if i == len(h.samples)-1 || last.Sub(s.at) >= granularity(age) {
			kept = append(kept, s)
			last = s.at
		}
		if age > maxHistoryAge {
			break // one sample older than every window is enough
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	h.samples = kept
}

// window returns the counts over the last w before now (w == 0: all time).
func (h *executorHistory) window(w time.Duration, now time.Time) totals {
	if len(h.samples) == 0 {
		return totals{}
	}
	newest := h.samples[len(h.samples)-1].t
	if w == 0 {
		return newest
	}
	from := now.Add(-w)
	// The newest sample at or before the window's start is the baseline.
	for i := len(h.samples) - 1; i >= 0; i-- {
		if !h.samples[i].at.After(from) {
			return newest.sub(h.samples[i].t)
		}
	}
	// No sample that old: if the executor started within the window, all of
	// its counts fall in it; otherwise the oldest sample is the best baseline.
	if !h.startedAt.Before(from) {
		return newest
	}
	return newest.sub(h.samples[0].t)
}

// statsStore holds the histories of every executor, per topology. It is used
// under Nimbus.statsMu.
type statsStore struct {
	topologies map[string]map[cluster.ExecutorInfo]*executorHistory
}

func newStatsStore() *statsStore {
	return &statsStore{topologies: map[string]map[cluster.ExecutorInfo]*executorHistory{}}
}

// record adds the heartbeats of one topology read at now; times are the
// worker heartbeat times (ms) of each executor.
func (s *statsStore) record(topologyID string, beats map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat, times map[cluster.ExecutorInfo]int64, now time.Time) {
	hs := s.topologies[topologyID]
	if hs == nil {
		hs = map[cluster.ExecutorInfo]*executorHistory{}
		s.topologies[topologyID] = hs
	}
	for e, hb := range beats {
		h := hs[e]
		if h == nil {
			h = &executorHistory{}
			hs[e] = h
		}
		if len(h.samples) > 0 && times[e] > 0 && times[e] == h.beat.value {
			// The heartbeat was recorded already: nimbus reads them every
			// second (the history) and workers write them every 3 s. A
			// sample of it again would repeat the last one's counts (no
			// window changes without it), and an idle topology's histories
			// grew by a sample per executor per second (issue 18).
			continue
		}
		h.record(hb, now)
		h.beat = h.beat.observe(times[e], now)
	}
}

func (s *statsStore) history(topologyID string, e cluster.ExecutorInfo) *executorHistory {
	return s.topologies[topologyID][e]
}

func (s *statsStore) forget(topologyID string) { delete(s.topologies, topologyID) }

// latency formats a mean latency in ms as Storm UI does ("0.000" when no count).
func latency(sumMs float64, count int64) string {
	if count <= 0 {
		return "0.000"
	}
	return strconv.FormatFloat(sumMs/float64(count), 'f', 3, 64)
}
