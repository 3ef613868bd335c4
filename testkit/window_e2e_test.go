package testkit_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// End-to-end window tests on real workers. A windowed bolt (groupBolt)
// emits each window's values joined with commas, anchored to the window's
// tuples; a checker bolt acks the groups it expects and fails the others,
// so the feeder sees, per tuple, whether every window it was in was right
// and whether it has left the window (a tuple is acked only when it expires).

// expectChecker acks a group when ok(group, times seen before) and fails it otherwise.
type expectChecker struct {
	out  topology.BoltCollector
	ok   func(group string, seen int) bool
	seen map[string]int
}

func (c *expectChecker) DeclareOutputFields(topology.OutputDeclarer) {}
func (c *expectChecker) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	c.out, c.seen = out, map[string]int{}
	return nil
}
func (c *expectChecker) Execute(t *topology.Tuple) {
	g := t.String(0)
	ok := c.ok(g, c.seen[g])
	c.seen[g]++
	if !ok {
		c.out.ReportError(&groupError{g})
		c.out.Fail(t)
		return
	}
	c.out.Ack(t)
}
func (c *expectChecker) Cleanup() {}

func checker(ok func(string, int) bool) func() topology.Bolt {
	return func() topology.Bolt { return &expectChecker{ok: ok} }
}

func feedNumbers(f *testkit.FeederSpout, from, to int) []int {
	var ids []int
	for i := from; i <= to; i++ {
		ids = append(ids, f.Feed(topology.Values{strconv.Itoa(i)}))
	}
	return ids
}

// A sliding count window of 4 sliding by 2: windows 1,2 / 1..4 / 3..6 /
// 5..8; a tuple is acked when it leaves the window, not before.
func TestSlidingCountWindow(t *testing.T) {
	c := testkit.Start(t)
	feeder := c.NewFeederSpout("numbers", topology.Fields{"n"})
	want := []string{"1,2", "1,2,3,4", "3,4,5,6", "5,6,7,8"}
	b := topology.NewBuilder()
	b.SetSpout("numbers", feeder.Spout(), 1)
	b.SetWindowedBolt("window", func() topology.WindowedBolt { return &groupBolt{} }, 1,
		topology.WithWindow(topology.Count(4), topology.Count(2))).GlobalGrouping("numbers")
	b.SetBolt("check", checker(func(g string, _ int) bool { return slices.Contains(want, g) }), 1).ShuffleGrouping("window")
	id := c.Submit(t, "sliding", b, nil)
	c.WaitTopologyActive(t, id)

	ids := feedNumbers(feeder, 1, 8)
	for i, fid := range ids[:4] {
		if !feeder.WaitResult(t, fid) {
			t.Errorf("tuple %d failed: a window it was in was wrong", i+1)
		}
	}
	for i, fid := range ids[4:] {
		if _, known := feeder.Result(fid); known {
			t.Errorf("tuple %d has a result while still in the window", i+5)
		}
	}
	feedNumbers(feeder, 9, 10) // window 7..10: 5 and 6 leave
	for i, fid := range ids[4:6] {
		if !feeder.WaitResult(t, fid) {
			t.Errorf("tuple %d failed", i+5)
		}
	}
}

// numberSpout only declares the stream a mocked source replaces.
type numberSpout struct{}

func (numberSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"n"})
}
func (numberSpout) Open(*topology.Context, topology.SpoutCollector) error { return nil }
func (numberSpout) Close()                                                {}
func (numberSpout) Activate()                                             {}
func (numberSpout) Deactivate()                                           {}
func (numberSpout) NextTuple()                                            {}
func (numberSpout) Ack(any)                                               {}
func (numberSpout) Fail(any)                                              {}

// spans makes a groupBolt that emits its windows' timestamps too.
func spans() topology.WindowedBolt { return &groupBolt{spans: true} }

// assertWindows waits for the sink to hold as many windows as want
// ("start..end values", oldest first) and fails unless they are exactly those.
func assertWindows(t *testing.T, sink *testkit.Sink, want ...string) {
	t.Helper()
	var got []string
	for _, v := range sink.WaitTuples(t, len(want)) {
		got = append(got, fmt.Sprintf("%v..%v %v", v...))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("windows:\n got %q\nwant %q", got, want)
	}
}

// windowTopology submits a feeder "in" into windowed bolt "window" (spans,
// with opts) whose windows go to a sink, on simulated time, and waits for it.
func windowTopology(t *testing.T, fields topology.Fields, opts ...topology.WindowOption) (*testkit.Cluster, string, *testkit.FeederSpout, *testkit.Sink) {
	t.Helper()
	c := testkit.Start(t, testkit.Options{SimulatedTime: true})
	feeder := c.NewFeederSpout("in", fields)
	sink := c.NewSink("windows")
	b := topology.NewBuilder()
	b.SetSpout("in", feeder.Spout(), 1)
	b.SetWindowedBolt("window", spans, 1, opts...).GlobalGrouping("in")
	b.SetBolt("sink", sink.Bolt(), 1).GlobalGrouping("window")
	id := c.Submit(t, "windows", b, nil)
	c.WaitTopologyActive(t, id)
	return c, id, feeder, sink
}

// waitAcked fails unless each fed tuple of ids is acked.
func waitAcked(t *testing.T, f *testkit.FeederSpout, ids ...int) {
	t.Helper()
	for _, id := range ids {
		if !f.WaitResult(t, id) {
			t.Errorf("fed tuple %d failed, want acked", id)
		}
	}
}

// A tumbling processing-time window of 300 ms on simulated time: windows
// close exactly every 300 ms of the test's clock, each tuple is in exactly
// one, and is acked when its window is over.
func TestTumblingTimeWindow(t *testing.T) {
	c, id, feeder, sink := windowTopology(t, topology.Fields{"n"},
		topology.WithTumblingWindow(topology.Duration(300*time.Millisecond)))

	first := feedNumbers(feeder, 1, 3) // at 0 ms
	c.WaitExecuted(t, id, "window", 3)
	c.AdvanceTime(t, 299*time.Millisecond) // nothing before its time
	c.AdvanceTime(t, time.Millisecond)
	assertWindows(t, sink, "-1..299 1,2,3")

	second := feedNumbers(feeder, 4, 5) // at 300 ms, as the trigger's millisecond
	c.WaitExecuted(t, id, "window", 5)
	c.AdvanceTime(t, 300*time.Millisecond)
	assertWindows(t, sink, "-1..299 1,2,3", "299..599 4,5")
	waitAcked(t, feeder, first...) // they left their window at 600

	c.AdvanceTime(t, 300*time.Millisecond) // 900: an empty window is not emitted
	waitAcked(t, feeder, second...)
	last := feedNumbers(feeder, 6, 6) // at 900
	c.WaitExecuted(t, id, "window", 6)
	c.AdvanceTime(t, 600*time.Millisecond) // triggers at 1200 and 1500
	assertWindows(t, sink, "-1..299 1,2,3", "299..599 4,5", "899..1199 6")
	waitAcked(t, feeder, last...)
	if got := sink.Tuples(); len(got) != 3 {
		t.Errorf("%d windows, want 3: %v", len(got), got)
	}
}

// A sliding window of 300 ms sliding by 100 ms, with one tuple per slide:
// on wall-clock time, whether a tuple falls before or after a trigger
// depends on the machine's speed; on simulated time every window is exact,
// and one step over three slides fires their three triggers in order.
func TestSlidingTimeWindow(t *testing.T) {
	c, id, feeder, sink := windowTopology(t, topology.Fields{"n"},
		topology.WithWindow(topology.Duration(300*time.Millisecond), topology.Duration(100*time.Millisecond)))

	var ids []int
	want := []string{"-201..99 1", "-101..199 1,2", "-1..299 1,2,3", "99..399 2,3,4"}
	for i := 1; i <= 4; i++ { // tuple i at (i-1)·100 ms
		ids = append(ids, feedNumbers(feeder, i, i)...)
		c.WaitExecuted(t, id, "window", int64(i))
		c.AdvanceTime(t, 100*time.Millisecond)
		assertWindows(t, sink, want[:i]...)
	}
	waitAcked(t, feeder, ids[0]) // 1 left the window at 400
	if _, known := feeder.Result(ids[1]); known {
		t.Errorf("tuple 2 has a result while still in the window")
	}
	c.AdvanceTime(t, 300*time.Millisecond) // triggers at 500, 600 and 700 (empty)
	assertWindows(t, sink, append(want, "199..499 3,4", "299..599 4")...)
	waitAcked(t, feeder, ids[1:]...)
}

// Event-time tumbling windows of one second with a lag of 200 ms and a
// watermark every 50 ms of simulated time: no window closes before the
// watermark runs, windows hold tuples by their timestamps, and a tuple
// that arrives behind the watermark goes to the late tuple stream.
func TestEventTimeWindowLateTuples(t *testing.T) {
	c := testkit.Start(t, testkit.Options{SimulatedTime: true})
	feeder := c.NewFeederSpout("events", topology.Fields{"n", "ts"})
	windows, late := c.NewSink("windows"), c.NewSink("late")
	b := topology.NewBuilder()
	b.SetSpout("events", feeder.Spout(), 1)
	b.SetWindowedBolt("window", spans, 1,
		topology.WithTumblingWindow(topology.Duration(time.Second)),
		topology.WithTimestampField("ts"), topology.WithLag(200*time.Millisecond),
		topology.WithWatermarkInterval(50*time.Millisecond),
		topology.WithLateTupleStream("late")).GlobalGrouping("events")
	b.SetBolt("windows", windows.Bolt(), 1).GlobalGrouping("window")
	b.SetBolt("late", late.Bolt(), 1).GlobalGrouping("window", "late")
	id := c.Submit(t, "eventtime", b, nil)
	c.WaitTopologyActive(t, id)

	fed := 0
	// feed feeds events with these timestamps and waits until they are in the window bolt.
	feed := func(ts ...int64) (ids []int) {
		for _, v := range ts {
			ids = append(ids, feeder.Feed(topology.Values{strconv.FormatInt(v, 10), v}))
		}
		fed += len(ts)
		c.WaitExecuted(t, id, "window", int64(fed))
		return ids
	}
	ids := feed(1000, 1100, 1900)
	// 400 ms behind 1900, more than the lag, yet not late: no watermark has
	// run on simulated time (on wall-clock time, several would have while
	// the test waited for 1900 to be in the window).
	ids = append(ids, feed(1500)...)
	ids = append(ids, feed(2100, 2500, 3300, 4600)...)
	c.AdvanceTime(t, 49*time.Millisecond)
	if got := windows.Tuples(); len(got) > 0 {
		t.Fatalf("windows before the first watermark: %v", got)
	}
	c.AdvanceTime(t, time.Millisecond) // watermark 4600 - 200
	// As Storm's, a window (start, end] holds the timestamps start < ts ≤
	// end that its scan of the queue (in arrival order) reaches before a
	// tuple past its end by more than the lag: 1500 waits behind 1900.
	want := []string{"0..1000 1000", "1000..2000 1100,1900,1500", "2000..3000 2100,2500", "3000..4000 3300"}
	assertWindows(t, windows, want...)
	waitAcked(t, feeder, ids[:6]...) // out of their windows by the next one

	lateID := feed(500)[0] // behind the watermark
	if got := late.WaitTuples(t, 1); fmt.Sprint(got) != "[[[500 500]]]" {
		t.Errorf("late tuple stream: %v, want the tuple 500", got)
	}
	waitAcked(t, feeder, lateID)

	feed(5300) // the watermark moves to 5100 with the next interval only
	c.AdvanceTime(t, 50*time.Millisecond)
	assertWindows(t, windows, append(want, "4000..5000 4600")...)
	waitAcked(t, feeder, ids[6]) // 3300
}

// A tuple failed downstream of its window is replayed and lands in a
// window again: the checker fails the first window 1,2,3, and the tuples
// are acked only after they were in a window again and it expired.
func TestReplayedTupleLandsInAWindowAgain(t *testing.T) {
	c := testkit.Start(t)
	feeder := c.NewReliableFeederSpout("numbers", topology.Fields{"n"})
	b := topology.NewBuilder()
	b.SetSpout("numbers", feeder.Spout(), 1)
	b.SetWindowedBolt("window", func() topology.WindowedBolt { return &groupBolt{} }, 1,
		topology.WithTumblingWindow(topology.Count(3))).GlobalGrouping("numbers")
	b.SetBolt("check", checker(func(g string, seen int) bool { return g != "1,2,3" || seen > 0 }), 1).ShuffleGrouping("window")
	id := c.Submit(t, "replaywindow", b, nil)
	c.WaitTopologyActive(t, id)

	ids := feedNumbers(feeder, 1, 3)
	// Fillers push windows out until the replays of 1, 2 and 3 were in a
	// window that expired (a reliable feeder reports only the ack of the
	// latest attempt: the first window's fail made a replay necessary).
	next := 4
	testutil.Eventually(t, 60*time.Second, "1, 2 and 3 acked after their replay", func() (bool, string) {
		feedNumbers(feeder, next, next)
		next++
		done := 0
		for _, fid := range ids {
			if acked, known := feeder.Result(fid); acked && known {
				done++
			}
		}
		return done == len(ids), fmt.Sprintf("%d of 3 acked, %d fillers fed", done, next-4)
	})
}
