package testkit_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// groupBolt emits each window's values joined with commas, after the
// window's start and end timestamps when spans is set.
type groupBolt struct {
	out   topology.WindowCollector
	spans bool
}

func (g *groupBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	if g.spans {
		d.Declare(topology.Fields{"start", "end", "group"})
		return
	}
	d.Declare(topology.Fields{"group"})
}
func (g *groupBolt) Prepare(_ *topology.Context, out topology.WindowCollector) error {
	g.out = out
	return nil
}
func (g *groupBolt) Execute(w *topology.TupleWindow) {
	var vs []string
	for _, t := range w.Tuples {
		vs = append(vs, t.String(0))
	}
	if g.spans {
		g.out.Emit(topology.Values{w.StartTs, w.EndTs, strings.Join(vs, ",")})
		return
	}
	g.out.Emit(topology.Values{strings.Join(vs, ",")})
}
func (g *groupBolt) Cleanup() {}

// groupChecker acks a group of three consecutive numbers starting at
// 3k+1 and fails any other: a failed group fails the tuples of its window
// (the group is anchored to them), which the feeder then sees.
type groupChecker struct{ out topology.BoltCollector }

func (c *groupChecker) DeclareOutputFields(topology.OutputDeclarer) {}
func (c *groupChecker) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	c.out = out
	return nil
}
func (c *groupChecker) Execute(t *topology.Tuple) {
	parts := strings.Split(t.String(0), ",")
	first, err := strconv.Atoi(parts[0])
	ok := err == nil && len(parts) == 3 && first%3 == 1
	for i, p := range parts {
		if p != strconv.Itoa(first+i) {
			ok = false
		}
	}
	if !ok {
		c.out.ReportError(&groupError{t.String(0)})
		c.out.Fail(t)
		return
	}
	c.out.Ack(t)
}
func (c *groupChecker) Cleanup() {}

type groupError struct{ group string }

func (e *groupError) Error() string { return "wrong window group " + e.group }

// A tumbling count window of 3 on real workers: each window holds the next
// three tuples, and a window's tuples are acked when they leave it (the
// next window), as in Storm.
func TestTumblingCountWindow(t *testing.T) {
	c := testkit.Start(t)
	feeder := c.NewFeederSpout("numbers", topology.Fields{"n"})
	b := topology.NewBuilder()
	b.SetSpout("numbers", feeder.Spout(), 1)
	b.SetWindowedBolt("window", func() topology.WindowedBolt { return &groupBolt{} }, 1,
		topology.WithTumblingWindow(topology.Count(3))).GlobalGrouping("numbers")
	b.SetBolt("check", func() topology.Bolt { return &groupChecker{} }, 1).ShuffleGrouping("window")
	id := c.Submit(t, "tumbling", b, nil)
	c.WaitTopologyActive(t, id)

	var ids []int
	for i := 1; i <= 12; i++ {
		ids = append(ids, feeder.Feed(topology.Values{strconv.Itoa(i)}))
	}
	for i, fid := range ids[:9] {
		if !feeder.WaitResult(t, fid) {
			t.Errorf("tuple %d failed, want acked", i+1)
		}
	}
	// 10, 11 and 12 are the current window: acked only when it expires.
	for i, fid := range ids[9:] {
		if _, known := feeder.Result(fid); known {
			t.Errorf("tuple %d has a result while still in the window", i+10)
		}
	}
	for i := 13; i <= 15; i++ {
		feeder.Feed(topology.Values{strconv.Itoa(i)})
	}
	for i, fid := range ids[9:] {
		if !feeder.WaitResult(t, fid) {
			t.Errorf("tuple %d failed, want acked", i+10)
		}
	}
	c.WaitAcked(t, id, 12)
}
