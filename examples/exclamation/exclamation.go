// Package exclamation is Storm's classic ExclamationTopology: a spout of words
// and two bolts that each append "!!!".
package exclamation

import (
	"math/rand/v2"

	"github.com/localstorm/localstorm/topology"
)

// Words are what WordSpout emits, as Storm's TestWordSpout does.
var Words = []string{"nathan", "mike", "jackson", "golda", "bertels"}

// Builder returns word (10) → exclaim1 (3) → exclaim2 (2), shuffle grouped.
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("word", func() topology.Spout { return &WordSpout{} }, 2)
	b.SetBasicBolt("exclaim1", func() topology.BasicBolt { return ExclamationBolt{} }, 3).ShuffleGrouping("word")
	b.SetBasicBolt("exclaim2", func() topology.BasicBolt { return ExclamationBolt{} }, 2).ShuffleGrouping("exclaim1")
	b.SetConf("topology.workers", 2)
	return b
}

// WordSpout emits random words, tracked.
type WordSpout struct {
	out topology.SpoutCollector
	n   int
}

func (s *WordSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}
func (s *WordSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *WordSpout) NextTuple() {
	s.n++
	s.out.Emit(topology.Values{Words[rand.IntN(len(Words))]}, s.n)
}
func (s *WordSpout) Ack(any)     {}
func (s *WordSpout) Fail(any)    {}
func (s *WordSpout) Close()      {}
func (s *WordSpout) Activate()   {}
func (s *WordSpout) Deactivate() {}

// ExclamationBolt appends "!!!" to its input.
type ExclamationBolt struct{}

func (ExclamationBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}
func (ExclamationBolt) Prepare(*topology.Context) error { return nil }
func (ExclamationBolt) Cleanup()                        {}
func (ExclamationBolt) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	out.Emit(topology.Values{t.String(0) + "!!!"})
	return nil
}
