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
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("task-%d", ctx.TaskID)))
	if err != nil {
		return err
	}
	b.file = f
	b.stop = ctx.Clock.Every(100*time.Millisecond, func() {
		fmt.Fprintf(f, "%d ", ctx.Clock.Now().UnixMilli())
	})
	return nil
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
