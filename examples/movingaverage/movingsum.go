package movingaverage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/state"
	// The Redis state provider, linked in as a Storm jar bundles storm-redis.
	_ "github.com/localstorm/localstorm/topology/state/redisstate"
)

// StatefulBuilder returns readings (1) → sum (1), a stateful windowed bolt
// (Storm's BaseStatefulWindowedBolt, as storm-starter's
// StatefulWindowingTopology): the moving sum of the last 5 readings, every
// 3 readings. The window is counted in tuples and the message id field is
// set, so after a worker crash the windows evaluated and committed before
// it are rebuilt from the replayed readings but not evaluated again, and
// the bolt's state (how many windows, the sum of their sums) counts each
// window once.
func StatefulBuilder() *topology.Builder {
	return StatefulBuilderWith(func() topology.Spout { return &ReadingSpout{} })
}

// StatefulBuilderWith is StatefulBuilder with another spout of fields
// "value" and "msgid" (an integer growing with each reading, kept by a
// replay).
func StatefulBuilderWith(readings func() topology.Spout) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("readings", readings, 1)
	b.SetStatefulWindowedBolt("sum", func() topology.StatefulWindowedBolt { return &MovingSumBolt{} }, 1,
		topology.WithWindow(topology.Count(5), topology.Count(3)),
		topology.WithMessageIdField("msgid")).
		GlobalGrouping("readings")
	b.SetConf("topology.max.spout.pending", 500)
	return b
}

// PersistentBuilder returns readings (1) → sum (1) with a persistent
// window (see PersistentBuilderWith).
func PersistentBuilder() *topology.Builder {
	return PersistentBuilderWith(func() topology.Spout { return &ReadingSpout{} })
}

// PersistentBuilderWith is StatefulBuilderWith with a persistent window
// (Storm's withPersistence): the readings of the window are kept in the
// bolt's state and each is acked at the checkpoint that saved it, so the
// window could be longer than the message timeout and no message id is
// needed; after a crash the windows continue from the last commit. The bolt
// lists the message ids of each window's readings instead of the first and
// last.
func PersistentBuilderWith(readings func() topology.Spout) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("readings", readings, 1)
	b.SetStatefulWindowedBolt("sum", func() topology.StatefulWindowedBolt { return &MovingSumBolt{ListReadings: true} }, 1,
		topology.WithWindow(topology.Count(5), topology.Count(3)),
		topology.WithPersistence()).
		GlobalGrouping("readings")
	b.SetConf("topology.max.spout.pending", 500)
	return b
}

// MovingSumBolt emits, for each window, its number (from the state: how
// many windows came before it), the message ids of its first and last
// readings, and the sum of its readings. Its state holds the number of
// windows evaluated ("windows") and the sum of their sums ("total").
// With ListReadings, it emits the window's number, the message ids of all
// its readings (separated by spaces) and the sum.
type MovingSumBolt struct {
	ListReadings bool
	out          topology.WindowCollector
	state        state.Map[int64]
}

func (m *MovingSumBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	if m.ListReadings {
		d.Declare(topology.Fields{"window", "readings", "sum"})
		return
	}
	d.Declare(topology.Fields{"window", "first", "last", "sum"})
}

func (m *MovingSumBolt) Prepare(_ *topology.Context, out topology.WindowCollector) error {
	m.out = out
	return nil
}

// InitState receives the state as last committed.
func (m *MovingSumBolt) InitState(s state.KeyValueState) { m.state = state.Map[int64]{State: s} }

func (m *MovingSumBolt) Execute(w *topology.TupleWindow) {
	var sum int64
	for _, t := range w.Tuples {
		sum += integer(t.Value("value"))
	}
	n, _, err := m.state.Get("windows")
	total, _, err2 := m.state.Get("total")
	if err == nil {
		err = err2
	}
	if err == nil {
		err = m.state.Put("windows", n+1)
	}
	if err == nil {
		err = m.state.Put("total", total+sum)
	}
	if err != nil {
		m.out.ReportError(fmt.Errorf("moving sum: state: %w", err))
	}
	if m.ListReadings {
		ids := make([]string, len(w.Tuples))
		for i, t := range w.Tuples {
			ids[i] = strconv.FormatInt(integer(t.Value("msgid")), 10)
		}
		m.out.Emit(topology.Values{n, strings.Join(ids, " "), sum})
		return
	}
	first, last := w.Tuples[0].Value("msgid"), w.Tuples[len(w.Tuples)-1].Value("msgid")
	m.out.Emit(topology.Values{n, integer(first), integer(last), sum})
}

func (m *MovingSumBolt) Cleanup() {}

// integer reads a whole number however it was carried (a JSON source gives
// float64).
func integer(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}
