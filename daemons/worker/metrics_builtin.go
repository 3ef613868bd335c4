package worker

import (
	"time"

	"github.com/localstorm/localstorm/topology"
)

// Storm's built-in executor metrics (1.x BuiltinBoltMetrics and
// BuiltinSpoutMetrics, kept under the same names by 2.x's TaskMetrics),
// each a map from key to the bucket's figure: counts and mean latencies in
// milliseconds. A bolt's input figures (acks, fails, executes, latencies)
// are keyed "component:stream" of the input; emits and transfers by output
// stream; a spout's by stream. Keys once seen stay with 0, as Storm's.
//
// __receive is the executor's inbox (Storm's receive queue): its capacity
// and population in batches of up to localstorm.worker.batch.size tuples,
// and the tuples that arrived per second in the bucket. localstorm has no
// executor send queue (Storm's __sendqueue): an executor hands its batches
// straight to the receiving inbox or the connection to the receiving worker.

// builtinCounts are the cumulative figures of one statKey at the previous
// bucket's end.
type builtinCounts struct {
	emitted, transferred, acked, failed, executed int64
	executeMs, processMs, completeMs              float64
}

func (st *execStats) readCounts() map[statKey]builtinCounts {
	out := map[statKey]builtinCounts{}
	streams := *st.streams.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, c := range streams {
		out[k] = builtinCounts{
			emitted: c.emitted.Load(), transferred: c.transferred.Load(), acked: c.acked.Load(),
			failed: c.failed.Load(), executed: c.executed.Load(),
			executeMs: c.executeMs, processMs: c.processMs, completeMs: c.completeMs,
		}
	}
	return out
}

// builtinMetrics returns the built-in data points of the bucket ending now.
func (e *executor) builtinMetrics(now time.Time) []topology.DataPoint {
	cur := e.stats.readCounts()
	prev := e.builtinPrev
	e.builtinPrev = cur
	since := e.builtinAt
	if since.IsZero() {
		since = e.stats.started
	}
	e.builtinAt = now
	m := map[string]map[string]any{}
	put := func(name, key string, v any) {
		if m[name] == nil {
			m[name] = map[string]any{}
		}
		m[name][key] = v
	}
	mean := func(sum float64, n int64) float64 {
		if n <= 0 {
			return 0
		}
		return sum / float64(n)
	}
	var arrived int64
	for k, c := range cur {
		p := prev[k]
		d := builtinCounts{
			emitted: c.emitted - p.emitted, transferred: c.transferred - p.transferred, acked: c.acked - p.acked,
			failed: c.failed - p.failed, executed: c.executed - p.executed,
			executeMs: c.executeMs - p.executeMs, processMs: c.processMs - p.processMs, completeMs: c.completeMs - p.completeMs,
		}
		if k.component == "" && (c.emitted > 0 || c.transferred > 0) {
			put("__emit-count", k.stream, d.emitted)
			put("__transfer-count", k.stream, d.transferred)
		}
		if e.kind == kindSpout {
			if c.acked > 0 || c.failed > 0 {
				put("__ack-count", k.stream, d.acked)
				put("__fail-count", k.stream, d.failed)
				put("__complete-latency", k.stream, mean(d.completeMs, d.acked))
			}
			arrived += d.acked + d.failed
			continue
		}
		if k.component == "" {
			continue
		}
		key := k.component + ":" + k.stream
		put("__ack-count", key, d.acked)
		put("__fail-count", key, d.failed)
		put("__execute-count", key, d.executed)
		put("__execute-latency", key, mean(d.executeMs, d.executed))
		put("__process-latency", key, mean(d.processMs, d.acked))
		arrived += d.executed
	}
	out := make([]topology.DataPoint, 0, len(m)+1)
	for _, name := range builtinNames {
		if v, ok := m[name]; ok {
			out = append(out, topology.DataPoint{Name: name, Value: map[string]any(v)})
		}
	}
	rate := 0.0
	if secs := now.Sub(since).Seconds(); secs > 0 {
		rate = float64(arrived) / secs
	}
	out = append(out, topology.DataPoint{Name: "__receive", Value: map[string]any{
		"capacity": int64(cap(e.inbox)), "population": int64(len(e.inbox)), "arrival_rate_secs": rate,
	}})
	return out
}

// builtinNames orders the built-in metrics in the log.
var builtinNames = []string{
	"__ack-count", "__fail-count", "__emit-count", "__execute-count", "__transfer-count",
	"__complete-latency", "__execute-latency", "__process-latency",
}
