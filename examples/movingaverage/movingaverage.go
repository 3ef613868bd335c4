// Package movingaverage is a windowed bolt (Storm's BaseWindowedBolt): a
// moving average over a sliding window of the last 3 seconds, computed
// every second, of readings from a replaying spout. A reading is acked
// when it leaves the window, so a reading lost with a worker is replayed
// into a window again. StatefulBuilder is the stateful variant: a moving
// sum over a count window whose windows survive a crash (Storm's
// IStatefulWindowedBolt with withMessageIdField).
package movingaverage

import (
	"slices"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// Builder returns readings (1) → average (1, sliding window 3 s every 1 s).
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("readings", func() topology.Spout { return &ReadingSpout{} }, 1)
	b.SetWindowedBolt("average", func() topology.WindowedBolt { return &AverageBolt{} }, 1,
		topology.WithWindow(topology.Duration(3*time.Second), topology.Duration(time.Second))).
		GlobalGrouping("readings")
	b.SetConf("topology.max.spout.pending", 500)
	return b
}

// ReadingSpout emits readings 0..99 in rotation, each with its message id
// in field "msgid" (as a stateful windowed bolt needs, see StatefulBuilder),
// and replays the ones that fail, in the order of their ids.
type ReadingSpout struct {
	out     topology.SpoutCollector
	next    int
	pending map[int]int
	replay  []int
}

func (s *ReadingSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"value", "msgid"})
}

// Open starts the ids at the clock in nanoseconds, so that a spout restarted
// after a crash continues above the ids its predecessor used (this spout
// keeps nothing across restarts: a durable source would resume from its
// offset and replay what was not acked).
func (s *ReadingSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out, s.pending = out, map[int]int{}
	s.next = int(time.Now().UnixNano())
	return nil
}

func (s *ReadingSpout) NextTuple() {
	id := s.next
	if len(s.replay) > 0 {
		id, s.replay = s.replay[0], s.replay[1:]
	} else {
		s.next++
		s.pending[id] = id % 100
	}
	s.out.Emit(topology.Values{s.pending[id], int64(id)}, id)
}

func (s *ReadingSpout) Ack(msgID any) { delete(s.pending, msgID.(int)) }
func (s *ReadingSpout) Fail(msgID any) {
	i, _ := slices.BinarySearch(s.replay, msgID.(int))
	s.replay = slices.Insert(s.replay, i, msgID.(int))
}
func (s *ReadingSpout) Close()      {}
func (s *ReadingSpout) Activate()   {}
func (s *ReadingSpout) Deactivate() {}

// AverageBolt emits the average of each window's readings and its size.
type AverageBolt struct{ out topology.WindowCollector }

func (a *AverageBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"average", "count", "end"})
}

func (a *AverageBolt) Prepare(_ *topology.Context, out topology.WindowCollector) error {
	a.out = out
	return nil
}

func (a *AverageBolt) Execute(w *topology.TupleWindow) {
	if len(w.Tuples) == 0 {
		return
	}
	sum := 0
	for _, t := range w.Tuples {
		v, _ := t.Values[0].(int)
		sum += v
	}
	a.out.Emit(topology.Values{float64(sum) / float64(len(w.Tuples)), len(w.Tuples), w.EndTs})
}

func (a *AverageBolt) Cleanup() {}
