package worker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// execStats are an executor's cumulative counters for its ZooKeeper
// heartbeat. Counts are exact, kept per stream in atomic counters the
// executor finds without locking (emitting routes hold theirs); latencies are
// sampled (one in sampleEvery, topology.stats.sample.rate as Storm) and
// scaled up. The heartbeat reads a snapshot.
type execStats struct {
	kind        executorKind
	sampleEvery int
	countdown   int // executor goroutine only
	ackCount    int // guarded by the executor's lock
	started     time.Time

	// streams is copy-on-write: readers load it, writers (a stream seen
	// the first time) copy it under mu.
	streams atomic.Pointer[map[statKey]*streamCounters]
	// The last stream counted, per writer: the executor goroutine
	// (executed, spout acks; published by the executor after each round)
	// and collector calls under the executor's lock (bolt acks and fails;
	// published by executor.flush).
	execCache, ackCache streamCache

	mu            sync.Mutex // guards the latency sums and the copy of streams
	executeMsSum  float64
	processMsSum  float64
	completeMsSum float64
	lastBusyMs    float64 // executeMsSum at the previous snapshot
	lastAt        time.Time
}

// streamCounters are the counts of one stream of one executor: emitted and
// transferred for an output stream; executed, acked and failed for an input
// stream of a bolt; acked and failed for a spout's output stream. Writers
// count in plain fields of their own (streamCache, streamRoute) and publish
// the sums after each round of work (a batch, a spout's round of
// NextTuple): an atomic store per counter and round, not per tuple. Each
// counter has one writer at a time (the executor goroutine, or collector
// calls serialised by the executor's lock), so it is bumped with a load and
// a store; the heartbeat only loads.
type streamCounters struct {
	emitted, transferred, acked, failed, executed atomic.Int64
	// Sampled latency sums (scaled up) of this stream, guarded by
	// execStats.mu: what the built-in latency metrics average.
	executeMs, processMs, completeMs float64
}

// statKey names the counters of an input stream of a bolt by its source
// component and stream (Storm's GlobalStreamId), and those of an output
// stream (or a spout's acked stream) by the stream alone. The heartbeat sums
// them by stream; the built-in metrics key them "component:stream" as Storm.
type statKey struct {
	component, stream string
}

func bump(c *atomic.Int64, n int64) {
	if n != 0 {
		c.Store(c.Load() + n)
	}
}

// streamCache is one writer's counters of the stream it counted last, and
// its counts not yet published.
type streamCache struct {
	key                     statKey
	counters                *streamCounters
	acked, failed, executed int64
	// onFirstAck, when set, is called once, after the first acks this
	// writer publishes (then cleared): the worker writes its ZooKeeper
	// heartbeat at once, so the first acked count is seen without waiting
	// for task.heartbeat.frequency.secs.
	onFirstAck func()
}

func (st *execStats) cached(c *streamCache, component, stream string) *streamCache {
	if c.counters == nil || c.key.stream != stream || c.key.component != component {
		c.publish()
		c.key = statKey{component, stream}
		c.counters = st.counters(c.key)
	}
	return c
}

// publish adds the counts of c to its stream's counters.
func (c *streamCache) publish() {
	if c.counters == nil {
		return
	}
	bump(&c.counters.acked, c.acked)
	bump(&c.counters.failed, c.failed)
	bump(&c.counters.executed, c.executed)
	if c.acked != 0 && c.onFirstAck != nil {
		first := c.onFirstAck
		c.onFirstAck = nil
		first()
	}
	c.acked, c.failed, c.executed = 0, 0, 0
}

// newExecStats makes an executor's counters; onFirstAck (nil: none) is
// called after the executor's first acks are published.
func newExecStats(kind executorKind, sampleEvery int, onFirstAck func()) *execStats {
	now := time.Now()
	st := &execStats{kind: kind, sampleEvery: max(sampleEvery, 1), started: now, lastAt: now}
	st.execCache.onFirstAck, st.ackCache.onFirstAck = onFirstAck, onFirstAck
	st.streams.Store(&map[statKey]*streamCounters{})
	return st
}

// stream returns the counters of output stream stream.
func (st *execStats) stream(stream string) *streamCounters {
	return st.counters(statKey{stream: stream})
}

// counters returns the counters of key, creating them the first time.
func (st *execStats) counters(key statKey) *streamCounters {
	if c := (*st.streams.Load())[key]; c != nil {
		return c
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	old := *st.streams.Load()
	if c := old[key]; c != nil {
		return c
	}
	next := make(map[statKey]*streamCounters, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	c := &streamCounters{}
	next[key] = c
	st.streams.Store(&next)
	return c
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

func (st *execStats) executed(component, stream string, sampled bool, start time.Time) {
	c := st.cached(&st.execCache, component, stream)
	c.executed++
	if sampled {
		ms := float64(time.Since(start)) / float64(time.Millisecond) * float64(st.sampleEvery)
		st.mu.Lock()
		st.executeMsSum += ms
		c.counters.executeMs += ms
		st.mu.Unlock()
	}
}

func (st *execStats) boltAcked(component, stream string, latency time.Duration) {
	c := st.cached(&st.ackCache, component, stream)
	c.acked++
	if latency > 0 {
		ms := float64(latency) / float64(time.Millisecond) * float64(st.sampleEvery)
		st.mu.Lock()
		st.processMsSum += ms
		c.counters.processMs += ms
		st.mu.Unlock()
	}
}

func (st *execStats) boltFailed(component, stream string) {
	st.cached(&st.ackCache, component, stream).failed++
}

func (st *execStats) spoutAcked(stream string, complete time.Duration) {
	c := st.cached(&st.execCache, "", stream)
	c.acked++
	if complete > 0 {
		ms := float64(complete) / float64(time.Millisecond)
		st.mu.Lock()
		st.completeMsSum += ms
		c.counters.completeMs += ms
		st.mu.Unlock()
	}
}

func (st *execStats) spoutFailed(stream string) { st.cached(&st.execCache, "", stream).failed++ }

// snapshot returns the counters and the capacity of the interval since the
// previous snapshot (Storm's: time spent executing / wall time).
func (st *execStats) snapshot(now time.Time) cluster.ExecutorStats {
	out := cluster.ExecutorStats{
		Type: st.kind.statsType(), Emitted: map[string]int64{}, Transferred: map[string]int64{},
		Acked: map[string]int64{}, Failed: map[string]int64{}, Executed: map[string]int64{},
	}
	for k, c := range *st.streams.Load() {
		put := func(m map[string]int64, v int64) {
			if v != 0 {
				m[k.stream] += v
			}
		}
		put(out.Emitted, c.emitted.Load())
		put(out.Transferred, c.transferred.Load())
		put(out.Acked, c.acked.Load())
		put(out.Failed, c.failed.Load())
		put(out.Executed, c.executed.Load())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out.ExecuteLatencyMsSum = st.executeMsSum
	out.ProcessLatencyMsSum = st.processMsSum
	out.CompleteLatencyMsSum = st.completeMsSum
	if st.kind != kindSpout {
		if window := float64(now.Sub(st.lastAt)) / float64(time.Millisecond); window > 0 {
			out.Capacity = min((st.executeMsSum-st.lastBusyMs)/window, 1)
		}
		st.lastBusyMs, st.lastAt = st.executeMsSum, now
	}
	return out
}
