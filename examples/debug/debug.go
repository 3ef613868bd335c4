// Package debug is the word count made ready for Storm's debug mode: it
// asks for an event logger (topology.eventlogger.executors 1; Storm's
// default is 0, which logs nothing), so that once debug is enabled with
//
//	localstorm debug debug enable --pct 10             # every component
//	localstorm debug debug enable --component split --pct 100
//
// (or Storm UI's debug action) the sampled tuples each component emits, with
// their message ids, land in each worker's events.log:
// `localstorm logs debug --events`. Its split bolt also shows
// ResetTimeout: before a slow split it restarts the tuple's timeout.
//
// cmd/debug turns it into a topology binary.
package debug

import (
	"strings"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology"
)

// Builder returns the word count with one event logger.
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &wordcount.SentenceSpout{} }, 1)
	b.SetBolt("split", func() topology.Bolt { return &PatientSplit{} }, 2).ShuffleGrouping("sentences")
	b.SetBasicBolt("count", func() topology.BasicBolt { return wordcount.NewCountBolt() }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.max.spout.pending", 1000)
	b.SetConf("topology.eventlogger.executors", 1)
	return b
}

// PatientSplit splits sentences, resetting the timeout of a long one first
// as a bolt waiting on a slow system would (OutputCollector.resetTimeout).
type PatientSplit struct{ out topology.BoltCollector }

func (s *PatientSplit) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}

func (s *PatientSplit) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	s.out = out
	return nil
}

func (s *PatientSplit) Execute(t *topology.Tuple) {
	words := strings.Fields(t.String(0))
	if len(words) > 7 {
		topology.ResetTimeout(s.out, t)
	}
	for _, w := range words {
		s.out.Emit([]*topology.Tuple{t}, topology.Values{w})
	}
	s.out.Ack(t)
}

func (s *PatientSplit) Cleanup() {}
