// Package reliable shows at-least-once processing: a spout that keeps every
// message until it is acked and replays what fails, and a bolt that fails a
// fraction of its input at random. Every message is eventually acked.
package reliable

import (
	"fmt"
	"math/rand/v2"

	"github.com/localstorm/localstorm/topology"
)

// Builder returns messages (1) → flaky (2) with failRate of the tuples failed.
// A spout with limit > 0 stops after that many new messages.
func Builder(limit int, failRate float64) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("messages", func() topology.Spout { return &ReplayingSpout{Limit: limit} }, 1)
	b.SetBolt("flaky", func() topology.Bolt { return &FlakyBolt{FailRate: failRate} }, 2).ShuffleGrouping("messages")
	b.SetConf("topology.workers", 2)
	b.SetConf("topology.max.spout.pending", 100)
	return b
}

// ReplayingSpout emits "message-<n>" with id n, and emits a failed message again.
type ReplayingSpout struct {
	Limit   int
	out     topology.SpoutCollector
	next    int
	pending map[int]bool
	replay  []int
}

func (s *ReplayingSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"message"})
}
func (s *ReplayingSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out, s.pending = out, map[int]bool{}
	return nil
}
func (s *ReplayingSpout) NextTuple() {
	var id int
	switch {
	case len(s.replay) > 0:
		id, s.replay = s.replay[0], s.replay[1:]
	case s.Limit == 0 || s.next < s.Limit:
		id = s.next
		s.next++
	default:
		return
	}
	s.pending[id] = true
	s.out.Emit(topology.Values{fmt.Sprintf("message-%d", id)}, id)
}

// Ready makes ReplayingSpout a topology.ReadySpout: past its limit, with
// nothing to replay, it waits for a fail instead of being polled.
func (s *ReplayingSpout) Ready() <-chan struct{} {
	if len(s.replay) == 0 && s.Limit > 0 && s.next >= s.Limit {
		return nil
	}
	return topology.ReadyAfter(0)
}

func (s *ReplayingSpout) Ack(id any) { delete(s.pending, id.(int)) }
func (s *ReplayingSpout) Fail(id any) {
	if s.pending[id.(int)] {
		s.replay = append(s.replay, id.(int))
	}
}
func (s *ReplayingSpout) Close()      {}
func (s *ReplayingSpout) Activate()   {}
func (s *ReplayingSpout) Deactivate() {}

// FlakyBolt acks its input, except a FailRate fraction that it fails.
type FlakyBolt struct {
	FailRate float64
	out      topology.BoltCollector
}

func (b *FlakyBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"message"})
}
func (b *FlakyBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *FlakyBolt) Execute(t *topology.Tuple) {
	if rand.Float64() < b.FailRate {
		b.out.Fail(t)
		return
	}
	b.out.Emit([]*topology.Tuple{t}, topology.Values{t.String(0)})
	b.out.Ack(t)
}
func (b *FlakyBolt) Cleanup() {}
