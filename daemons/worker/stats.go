package worker

import (
	"maps"
	"sync"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// execStats are an executor's cumulative counters for its ZooKeeper
// heartbeat. Counts are exact; latencies are sampled (one execute in
// sampleEvery, topology.stats.sample.rate as Storm) and scaled up. The
// executor goroutine writes, the heartbeat reads a snapshot: a mutex that is
// almost never contended.
type execStats struct {
	mu          sync.Mutex
	s           cluster.ExecutorStats
	sampleEvery int
	countdown   int
	ackCount    int // guarded by the executor's lock, not mu
	started     time.Time
	// For capacity: the execute latency sum at the previous snapshot.
	lastBusyMs float64
	lastAt     time.Time
}

func newExecStats(kind executorKind, sampleEvery int) *execStats {
	now := time.Now()
	return &execStats{
		s: cluster.ExecutorStats{
			Type: kind.String(), Emitted: map[string]int64{}, Transferred: map[string]int64{},
			Acked: map[string]int64{}, Failed: map[string]int64{}, Executed: map[string]int64{},
		},
		sampleEvery: max(sampleEvery, 1),
		started:     now,
		lastAt:      now,
	}
}

// sample tells whether this execute's latency is measured. Only the
// executor goroutine calls it.
func (st *execStats) sample() bool {
	if st.countdown--; st.countdown <= 0 {
		st.countdown = st.sampleEvery
		return true
	}
	return false
}

// sampleAck tells whether this ack's process latency is measured.
func (st *execStats) sampleAck() bool {
	st.ackCount++
	return st.ackCount%st.sampleEvery == 0
}

// emit counts a tuple emitted on stream and sent to n tasks.
func (st *execStats) emit(stream string, n int) {
	st.mu.Lock()
	st.s.Emitted[stream]++
	st.s.Transferred[stream] += int64(n)
	st.mu.Unlock()
}

func (st *execStats) executed(stream string, sampled bool, start time.Time) {
	var ms float64
	if sampled {
		ms = float64(time.Since(start)) / float64(time.Millisecond) * float64(st.sampleEvery)
	}
	st.mu.Lock()
	st.s.Executed[stream]++
	st.s.ExecuteLatencyMsSum += ms
	st.mu.Unlock()
}

func (st *execStats) boltAcked(stream string, latency time.Duration) {
	st.mu.Lock()
	st.s.Acked[stream]++
	if latency > 0 {
		st.s.ProcessLatencyMsSum += float64(latency) / float64(time.Millisecond) * float64(st.sampleEvery)
	}
	st.mu.Unlock()
}

func (st *execStats) boltFailed(stream string) {
	st.mu.Lock()
	st.s.Failed[stream]++
	st.mu.Unlock()
}

func (st *execStats) spoutAcked(stream string, complete time.Duration) {
	st.mu.Lock()
	st.s.Acked[stream]++
	st.s.CompleteLatencyMsSum += float64(complete) / float64(time.Millisecond)
	st.mu.Unlock()
}

func (st *execStats) spoutFailed(stream string) {
	st.mu.Lock()
	st.s.Failed[stream]++
	st.mu.Unlock()
}

// snapshot copies the counters and computes the capacity of the interval
// since the previous snapshot (Storm's: time spent executing / wall time).
func (st *execStats) snapshot(now time.Time) cluster.ExecutorStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.s
	out.Emitted = maps.Clone(st.s.Emitted)
	out.Transferred = maps.Clone(st.s.Transferred)
	out.Acked = maps.Clone(st.s.Acked)
	out.Failed = maps.Clone(st.s.Failed)
	out.Executed = maps.Clone(st.s.Executed)
	if out.Type == "bolt" {
		if window := float64(now.Sub(st.lastAt)) / float64(time.Millisecond); window > 0 {
			out.Capacity = min((st.s.ExecuteLatencyMsSum-st.lastBusyMs)/window, 1)
		}
		st.lastBusyMs, st.lastAt = st.s.ExecuteLatencyMsSum, now
	}
	st.s.Capacity = out.Capacity
	return out
}
