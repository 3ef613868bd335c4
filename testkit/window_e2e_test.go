package testkit_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// A tumbling processing-time window: every tuple is in exactly one
// window, and every tuple is acked (when its window is over).
func TestTumblingTimeWindow(t *testing.T) {
	c := testkit.Start(t)
	b := topology.NewBuilder()
	b.SetSpout("numbers", func() topology.Spout { return numberSpout{} }, 1)
	b.SetWindowedBolt("window", func() topology.WindowedBolt { return &groupBolt{} }, 1,
		topology.WithTumblingWindow(topology.Duration(300*time.Millisecond))).GlobalGrouping("numbers")
	var in []topology.Values
	for i := 1; i <= 40; i++ {
		in = append(in, topology.Values{strconv.Itoa(i)})
	}
	res := testkit.CompleteTopology(t, c, b, testkit.MockedSources{"numbers": in})
	seen := map[string]int{}
	groups := res.Tuples("window", topology.DefaultStream)
	for _, g := range groups {
		for _, n := range strings.Split(g[0].(string), ",") {
			seen[n]++
		}
	}
	for _, v := range in {
		if seen[v[0].(string)] != 1 {
			t.Errorf("tuple %s in %d windows, want exactly 1 (windows %v)", v[0], seen[v[0].(string)], groups)
		}
	}
}

// lateSignal fails every tuple of the late tuple stream: the feeder then
// sees a late tuple fail, which no other path does.
type lateSignal struct{ out topology.BoltCollector }

func (l *lateSignal) DeclareOutputFields(topology.OutputDeclarer) {}
func (l *lateSignal) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	l.out = out
	return nil
}
func (l *lateSignal) Execute(t *topology.Tuple) { l.out.Fail(t) }
func (l *lateSignal) Cleanup()                  {}

// Event-time tumbling windows of one second with a lag of 200 ms: windows
// hold tuples by their timestamps, and a tuple that arrives behind the
// watermark goes to the late tuple stream instead of a window.
func TestEventTimeWindowLateTuples(t *testing.T) {
	c := testkit.Start(t)
	feeder := c.NewFeederSpout("events", topology.Fields{"n", "ts"})
	b := topology.NewBuilder()
	b.SetSpout("events", feeder.Spout(), 1)
	b.SetWindowedBolt("window", func() topology.WindowedBolt { return &groupBolt{} }, 1,
		topology.WithTumblingWindow(topology.Duration(time.Second)),
		topology.WithTimestampField("ts"), topology.WithLag(200*time.Millisecond),
		topology.WithWatermarkInterval(50*time.Millisecond),
		topology.WithLateTupleStream("late")).GlobalGrouping("events")
	// A window's timestamps span less than its length, and 500 (late) is in none.
	b.SetBolt("check", checker(func(g string, _ int) bool {
		var ts []int
		for _, s := range strings.Split(g, ",") {
			n, _ := strconv.Atoi(s)
			ts = append(ts, n)
		}
		return !slices.Contains(ts, 500) && slices.Max(ts)-slices.Min(ts) < 1000
	}), 1).ShuffleGrouping("window")
	b.SetBolt("late", func() topology.Bolt { return &lateSignal{} }, 1).ShuffleGrouping("window", "late")
	id := c.Submit(t, "eventtime", b, nil)
	c.WaitTopologyActive(t, id)

	event := func(ts int64) int { return feeder.Feed(topology.Values{strconv.FormatInt(ts, 10), ts}) }
	var ids []int
	for _, ts := range []int64{1000, 1100, 1900, 2100, 2500, 3300, 4600} {
		ids = append(ids, event(ts))
	}
	// The watermark (4600 - 200) is past the first window: its tuples
	// leave it and are acked; then 500 arrives late.
	for i, fid := range ids[:3] {
		if !feeder.WaitResult(t, fid) {
			t.Errorf("in-order tuple %d failed: a window held the wrong timestamps", i)
		}
	}
	if late := event(500); feeder.WaitResult(t, late) {
		t.Error("the late tuple was acked without reaching the late tuple stream")
	}
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
