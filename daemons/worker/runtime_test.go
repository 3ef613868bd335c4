package worker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

func wordCount(rec *record, n int, tracked bool) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", wordSpout(rec, n, tracked), 1)
	b.SetBolt("split", func() topology.Bolt { return &splitBolt{} }, 2).ShuffleGrouping("sentences")
	b.SetBolt("count", func() topology.Bolt { return &countBolt{rec: rec} }, 3).FieldsGrouping("split", topology.Fields{"word"})
	return b
}

func TestWordCountInProcess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ackers int
	}{{"acking off", 0}, {"acking on", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 5000
			rec := newRecord()
			startInProcess(t, wordCount(rec, n, true), config.Conf{config.TopologyAckerExecutors: tc.ackers})
			testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
				_, acked, _ := rec.snapshot()
				return acked == n
			})
			want := wantCounts(n)
			testutil.Eventually(t, 10*time.Second, "every word counted", func() bool {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				return maps.Equal(rec.counts, want)
			})
			_, _, failed := rec.snapshot()
			if failed != 0 {
				t.Errorf("%d tuples failed", failed)
			}
			for id, k := range rec.acked {
				if k != 1 {
					t.Errorf("message %v acked %d times", id, k)
				}
			}
		})
	}
}

func TestMaxSpoutPending(t *testing.T) {
	const maxPending, n = 3, 60
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", func() topology.Spout {
		return &seqSpout{rec: rec, n: n, tracked: true, maxPending: maxPending, fields: topology.Fields{"v"},
			make: func(i int) topology.Values { return topology.Values{i} }}
	}, 1)
	// The bolt holds tuples until it has maxPending of them, then acks them
	// all: the spout must reach the cap and never pass it.
	var held []*topology.Tuple
	b.SetBolt("hold", func() topology.Bolt {
		return &funcBolt{fn: func(t *topology.Tuple, out topology.BoltCollector) {
			held = append(held, t)
			if len(held) == maxPending {
				for _, h := range held {
					out.Ack(h)
				}
				held = held[:0]
			}
		}}
	}, 1).ShuffleGrouping("s")
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1, config.TopologyMaxSpoutPending: maxPending})
	testutil.Eventually(t, 20*time.Second, "every tuple acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.violation != "" {
		t.Fatal(rec.violation)
	}
	if rec.maxSeen != maxPending-1 {
		// NextTuple sees at most maxPending-1 pending (it emits the last one).
		t.Fatalf("at most %d tuples were pending when NextTuple was called, want %d", rec.maxSeen, maxPending-1)
	}
}

func TestMessageTimeoutFailsSpoutTuples(t *testing.T) {
	const n = 20
	const timeout = 300 * time.Millisecond
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", func() topology.Spout {
		return &seqSpout{rec: rec, n: n, tracked: true, fields: topology.Fields{"v"},
			make: func(i int) topology.Values { return topology.Values{i} }}
	}, 1)
	b.SetBolt("drop", func() topology.Bolt {
		return &funcBolt{fn: func(*topology.Tuple, topology.BoltCollector) {}} // never acks
	}, 1).ShuffleGrouping("s")
	start := time.Now()
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1, config.TopologyMessageTimeoutSecs: timeout.Seconds()})
	testutil.Eventually(t, 10*time.Second, "every tuple failed by timeout", func() bool {
		_, _, failed := rec.snapshot()
		return failed == n
	})
	if el := time.Since(start); el < timeout {
		t.Errorf("tuples failed after %v, before the message timeout %v", el, timeout)
	}
	if _, acked, _ := rec.snapshot(); acked != 0 {
		t.Errorf("%d unacked tuples were acked", acked)
	}
}

func TestBoltFailReachesSpout(t *testing.T) {
	const n = 50
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(rec, n, true), 1)
	b.SetBolt("split", func() topology.Bolt { return &splitBolt{} }, 1).ShuffleGrouping("s")
	// Failing one word of a sentence fails the whole tree.
	b.SetBolt("judge", func() topology.Bolt {
		return &funcBolt{fn: func(t *topology.Tuple, out topology.BoltCollector) {
			if strings.HasPrefix(t.String(0), "x") {
				out.Fail(t)
			} else {
				out.Ack(t)
			}
		}}
	}, 2).FieldsGrouping("split", topology.Fields{"word"})
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1, config.TopologyMessageTimeoutSecs: 60})
	testutil.Eventually(t, 10*time.Second, "every tuple failed", func() bool {
		_, _, failed := rec.snapshot()
		return failed == n
	})
	if _, acked, _ := rec.snapshot(); acked != 0 {
		t.Errorf("%d failed trees were acked", acked)
	}
}

func TestAckingOffAcksOnEmit(t *testing.T) {
	const n = 100
	rec := newRecord()
	var received atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(rec, n, true), 1)
	b.SetBolt("sink", func() topology.Bolt {
		return &funcBolt{fn: func(t *topology.Tuple, out topology.BoltCollector) {
			if len(t.Anchors) != 0 {
				panic("tuple anchored while acking is off")
			}
			received.Add(1)
		}}
	}, 1).ShuffleGrouping("s")
	p := startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 0})
	testutil.Eventually(t, 10*time.Second, "every tuple acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	testutil.Eventually(t, 10*time.Second, "every tuple received", func() bool { return received.Load() == n })
	if err := p.fatal(); err != nil {
		t.Fatal(err)
	}
}

func TestBackpressureBlocksSpout(t *testing.T) {
	const bufSize, batch = 256, 16
	rec := newRecord()
	gate := make(chan struct{})
	var received atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("s", func() topology.Spout {
		return &seqSpout{rec: rec, n: 1 << 30, fields: topology.Fields{"v"},
			make: func(i int) topology.Values { return topology.Values{i} }}
	}, 1)
	b.SetBolt("slow", func() topology.Bolt {
		return &funcBolt{fn: func(*topology.Tuple, topology.BoltCollector) {
			<-gate
			received.Add(1)
		}}
	}, 1).ShuffleGrouping("s")
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 0,
		config.TopologyExecutorReceiveBufSize: bufSize, BatchSizeKey: batch})
	// Wait until the spout is blocked: its emit count stops moving.
	last := -1
	testutil.Eventually(t, 10*time.Second, "the spout to block", func() bool {
		e, _, _ := rec.snapshot()
		stable := e == last
		last = e
		time.Sleep(50 * time.Millisecond)
		return stable && e > 0
	})
	// Queue capacity, one batch in the bolt, one being built by the spout.
	bound := bufSize + 2*batch
	if last > bound {
		t.Fatalf("spout emitted %d tuples into a blocked bolt, want at most %d (memory must stay bounded)", last, bound)
	}
	// Letting the bolt go lets the spout go.
	close(gate)
	testutil.Eventually(t, 10*time.Second, "the spout to resume", func() bool {
		e, _, _ := rec.snapshot()
		return e > 4*bound && received.Load() > int64(2*bound)
	})
}

func TestTickTuples(t *testing.T) {
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(rec, 0, false), 1)
	b.SetBolt("count", func() topology.Bolt { return &countBolt{rec: rec} }, 1).
		ShuffleGrouping("s").AddConfig(config.TopologyTickTupleFreqSecs, 0.02)
	startInProcess(t, b, nil)
	testutil.Eventually(t, 10*time.Second, "3 tick tuples", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.ticks >= 3
	})
}

func TestComponentPanicIsFatal(t *testing.T) {
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(rec, 10, false), 1)
	b.SetBolt("boom", func() topology.Bolt {
		return &funcBolt{fn: func(*topology.Tuple, topology.BoltCollector) { panic("kaboom") }}
	}, 1).ShuffleGrouping("s")
	p := startInProcess(t, b, nil)
	var err error
	testutil.Eventually(t, 10*time.Second, "a fatal error", func() bool { err = p.fatal(); return err != nil })
	if !strings.Contains(err.Error(), `"boom"`) || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("fatal error %q does not name the component and the panic", err)
	}
	select {
	case ce := <-p.w.rt.errors:
		if ce.component != "boom" {
			t.Fatalf("error reported for %q, want boom", ce.component)
		}
	default:
		t.Fatal("the panic was not reported")
	}
}

func TestStatsCount(t *testing.T) {
	const n = 200
	rec := newRecord()
	p := startInProcess(t, wordCount(rec, n, true), config.Conf{config.TopologyAckerExecutors: 1})
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	var spoutEmitted, spoutAcked, countExecuted int64
	for _, e := range p.w.executors {
		s := e.stats.snapshot(time.Now())
		switch e.component {
		case "sentences":
			spoutEmitted += s.Emitted["default"]
			spoutAcked += s.Acked["default"]
		case "count":
			countExecuted += s.Executed["default"]
		}
	}
	if spoutEmitted != n || spoutAcked != n || countExecuted != 3*n {
		t.Fatalf("stats: spout emitted %d acked %d, count executed %d; want %d %d %d", spoutEmitted, spoutAcked, countExecuted, n, n, 3*n)
	}
}

// asyncBolt hands its tuples to a goroutine of its own that emits and acks
// them, as a shell bolt does with its subprocess's answers.
type asyncBolt struct {
	in   chan *topology.Tuple
	done chan struct{}
}

func (b *asyncBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}
func (b *asyncBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.in, b.done = make(chan *topology.Tuple, 16), make(chan struct{})
	go func() {
		defer close(b.done)
		for t := range b.in {
			for _, w := range strings.Fields(t.String(0)) {
				out.Emit([]*topology.Tuple{t}, topology.Values{w})
			}
			out.Ack(t)
		}
	}()
	return nil
}
func (b *asyncBolt) Execute(t *topology.Tuple) { b.in <- t }
func (b *asyncBolt) Cleanup() {
	close(b.in)
	<-b.done
}

func TestBoltCollectorFromOwnGoroutine(t *testing.T) {
	const n = 2000
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("sentences", wordSpout(rec, n, true), 1)
	b.SetBolt("split", func() topology.Bolt { return &asyncBolt{} }, 2).ShuffleGrouping("sentences")
	b.SetBolt("count", func() topology.Bolt { return &countBolt{rec: rec} }, 2).FieldsGrouping("split", topology.Fields{"word"})
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1})
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	want := wantCounts(n)
	testutil.Eventually(t, 10*time.Second, "every word counted", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return maps.Equal(rec.counts, want)
	})
}

func TestReportErrorStopsNothing(t *testing.T) {
	const n = 50
	rec := newRecord()
	var seen atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(rec, n, true), 1)
	b.SetBolt("complain", func() topology.Bolt {
		return &funcBolt{fn: func(t *topology.Tuple, out topology.BoltCollector) {
			out.ReportError(errors.New("not my kind of sentence"))
			seen.Add(1)
			out.Ack(t)
		}}
	}, 1).ShuffleGrouping("s")
	p := startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1})
	testutil.Eventually(t, 10*time.Second, "every tuple acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	if err := p.fatal(); err != nil {
		t.Fatalf("ReportError stopped the worker: %v", err)
	}
	select {
	case ce := <-p.w.rt.errors:
		if ce.component != "complain" || !strings.Contains(ce.err.Error(), "not my kind") {
			t.Fatalf("reported %q for %q", ce.err, ce.component)
		}
	default:
		t.Fatal("no error was queued for ZooKeeper")
	}
}

// TestFirstAckHookOnceAfterPublish: the first-ack hook runs once per
// writer, after the acks it reports are visible to the heartbeat's snapshot.
func TestFirstAckHookOnceAfterPublish(t *testing.T) {
	var st *execStats
	calls, seen := 0, int64(0)
	st = newExecStats(kindSpout, 1, func() {
		calls++
		seen = st.snapshot(time.Now()).Acked["default"]
	})
	st.spoutFailed("default")
	st.execCache.publish()
	if calls != 0 {
		t.Fatalf("hook ran %d times on a fail, want 0 before any ack", calls)
	}
	st.spoutAcked("default", 0)
	st.spoutAcked("default", 0)
	st.execCache.publish()
	st.spoutAcked("default", 0)
	st.execCache.publish()
	if calls != 1 || seen != 2 {
		t.Fatalf("hook ran %d times and saw %d acks, want once, seeing the 2 acks published with it", calls, seen)
	}
}

// TestSpoutWaitBacksOff: an idle spout's pause doubles from Storm's 1 ms up
// to localstorm.spout.wait.max.ms; at 1 it stays Storm's 1 ms.
func TestSpoutWaitBacksOff(t *testing.T) {
	var got []time.Duration
	for w := spoutWaitMin; len(got) < 7; w = nextSpoutWait(w, 16*time.Millisecond) {
		got = append(got, w)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 16, 16}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pauses %v, want %v", got, want)
	}
	if w := nextSpoutWait(spoutWaitMin, time.Millisecond); w != time.Millisecond {
		t.Fatalf("pause %v with a 1 ms limit, want Storm's 1 ms", w)
	}
}

// On a simulated clock an executor's ticker delivers every due tick, each
// taken before the clock moves on (a time.Ticker would drop them), and
// its stop releases a tick nobody takes.
func TestTickerOnSimulatedClock(t *testing.T) {
	clock := topology.NewSimulatedClock(time.UnixMilli(0))
	rt := &runtime{clock: clock}
	ticks, stop := rt.ticker(time.Second)
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		clock.Advance(3 * time.Second)
	}()
	var got []int64
	for i := range 3 {
		select {
		case <-advanced:
			t.Fatalf("the advance returned with %d of its 3 ticks taken", i)
		default:
		}
		got = append(got, (<-ticks).UnixMilli())
	}
	<-advanced
	if fmt.Sprint(got) != "[1000 2000 3000]" {
		t.Errorf("ticks at %v ms, want 1000, 2000, 3000", got)
	}

	go clock.Advance(time.Second) // a tick nobody takes
	stop()                        // returns: the tick is dropped
	clock.Advance(time.Second)    // and none comes after stop
	select {
	case tk := <-ticks:
		t.Errorf("a tick at %v after stop", tk)
	default:
	}
}
