package testkit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// timedBolt runs a timer on its context's clock every 100 ms that appends
// the clock's time (ms) to a file of its task, in the directory the
// topology conf names: the test reads the files with no wait.
type timedBolt struct {
	file *os.File
	stop func()
}

func (b *timedBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *timedBolt) Prepare(ctx *topology.Context, _ topology.BoltCollector) error {
	dir, _ := ctx.Conf["test.timer.dir"].(string)
	tmp, name := filepath.Join(dir, fmt.Sprintf("tmp-%d", ctx.TaskID)), filepath.Join(dir, fmt.Sprintf("task-%d", ctx.TaskID))
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	b.file = f
	b.stop = ctx.Clock.Every(100*time.Millisecond, func() {
		fmt.Fprintf(f, "%d ", ctx.Clock.Now().UnixMilli())
	})
	// The file appears under its name once the timer runs: the test waits for it.
	return os.Rename(tmp, name)
}
func (b *timedBolt) Execute(*topology.Tuple) {}
func (b *timedBolt) Cleanup() {
	b.stop()
	b.file.Close()
}

// AdvanceTime returns once every worker has run the timers due by the new
// time, in order, each at its own time: a bolt on two workers writes its
// timer's calls to files that the test reads right after AdvanceTime.
func TestAdvanceTimeRunsDueTimersInEveryWorker(t *testing.T) {
	c := testkit.Start(t, testkit.Options{SimulatedTime: true})
	dir := t.TempDir()
	feeder := c.NewFeederSpout("in", topology.Fields{"n"})
	b := topology.NewBuilder()
	b.SetSpout("in", feeder.Spout(), 1)
	b.SetBolt("timed", func() topology.Bolt { return &timedBolt{} }, 2).ShuffleGrouping("in")
	id := c.Submit(t, "timers", b, map[string]any{"topology.workers": 2, "test.timer.dir": dir})
	c.WaitTopologyActive(t, id)
	c.WaitFor(t, "both timed tasks prepared", func() (bool, string) {
		files, _ := filepath.Glob(filepath.Join(dir, "task-*"))
		return len(files) == 2, fmt.Sprint(files)
	}, id)

	calls := func() string {
		files, _ := filepath.Glob(filepath.Join(dir, "task-*"))
		var all []string
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all = append(all, strings.TrimSpace(string(b)))
		}
		return strings.Join(all, " | ")
	}
	c.AdvanceTime(t, 250*time.Millisecond)
	if got, want := calls(), "100 200 | 100 200"; got != want {
		t.Errorf("after 250 ms: calls %q, want %q", got, want)
	}
	c.AdvanceTime(t, 50*time.Millisecond)
	if got, want := calls(), "100 200 300 | 100 200 300"; got != want {
		t.Errorf("after 300 ms: calls %q, want %q", got, want)
	}
	if got := c.Time(); !got.Equal(testkit.SimulatedEpoch.Add(300 * time.Millisecond)) {
		t.Errorf("cluster time %v, want 300 ms after the epoch", got)
	}
}

// tickCounter emits the number of tick tuples it has seen at each one, and
// holds (never acks) every other tuple.
type tickCounter struct {
	out   topology.BoltCollector
	ticks int
}

func (b *tickCounter) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"ticks"})
}
func (b *tickCounter) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *tickCounter) Execute(t *topology.Tuple) {
	if t.IsTick() {
		b.ticks++
		b.out.Emit(nil, topology.Values{b.ticks})
	}
}
func (b *tickCounter) Cleanup() {}

// Tick tuples and message timeouts follow simulated time: one step of
// 3 s delivers three tick tuples (none dropped), and a tuple never acked
// fails once the 30 s of its message timeout have passed on the test's
// clock (between 1 and 4/3 timeouts: the pending map has 4 buckets).
func TestTicksAndTimeoutsOnSimulatedTime(t *testing.T) {
	c := testkit.Start(t, testkit.Options{SimulatedTime: true})
	feeder := c.NewFeederSpout("in", topology.Fields{"n"})
	sink := c.NewSink("ticks")
	b := topology.NewBuilder()
	b.SetSpout("in", feeder.Spout(), 1)
	b.SetBolt("hold", func() topology.Bolt { return &tickCounter{} }, 1).
		AddConfig("topology.tick.tuple.freq.secs", 1).ShuffleGrouping("in")
	b.SetBolt("sink", sink.Bolt(), 1).GlobalGrouping("hold")
	id := c.Submit(t, "ticks", b, map[string]any{"topology.message.timeout.secs": 30})
	c.WaitTopologyActive(t, id)

	held := feeder.Feed(topology.Values{"x"})
	c.WaitExecuted(t, id, "hold", 1) // prepared, its ticks and the tuple's timeout started at 0
	c.AdvanceTime(t, 999*time.Millisecond)
	c.AdvanceTime(t, 2001*time.Millisecond)
	if got := fmt.Sprint(sink.WaitTuples(t, 3)); got != "[[1] [2] [3]]" {
		t.Errorf("tick counts %s, want [[1] [2] [3]]", got)
	}

	c.AdvanceTime(t, 36*time.Second) // 39 s: the 4th rotation of the spout's pending map is at 40 s
	if _, known := feeder.Result(held); known {
		t.Errorf("the held tuple has a result before its timeout")
	}
	c.AdvanceTime(t, time.Second)
	if feeder.WaitResult(t, held) {
		t.Errorf("the held tuple was acked, want failed by its timeout")
	}
	// One tick per simulated second, 40 s: the tick of 40 s taken (the
	// last one) by the time AdvanceTime returned.
	if got := sink.WaitTuples(t, 40); len(got) != 40 || fmt.Sprint(got[39]) != "[40]" {
		t.Errorf("%d tick counts, the last %v; want 40, up to 40", len(got), got[len(got)-1])
	}
}
