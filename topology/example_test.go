package topology_test

import (
	"fmt"
	"strings"

	"github.com/localstorm/localstorm/topology"
)

// wordSpout and countBolt are stubs: the example is about the builder.
type wordSpout struct{}

func (wordSpout) DeclareOutputFields(d topology.OutputDeclarer)         { d.Declare(topology.Fields{"word"}) }
func (wordSpout) Open(*topology.Context, topology.SpoutCollector) error { return nil }
func (wordSpout) Close()                                                {}
func (wordSpout) Activate()                                             {}
func (wordSpout) Deactivate()                                           {}
func (wordSpout) NextTuple()                                            {}
func (wordSpout) Ack(any)                                               {}
func (wordSpout) Fail(any)                                              {}

type countBolt struct{ counts map[string]int }

func (*countBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word", "count"})
}
func (b *countBolt) Prepare(*topology.Context) error { b.counts = map[string]int{}; return nil }
func (b *countBolt) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	w := t.String(0)
	b.counts[w]++
	out.Emit(topology.Values{w, b.counts[w]})
	return nil
}
func (*countBolt) Cleanup() {}

func ExampleBuilder() {
	b := topology.NewBuilder()
	b.SetConf("topology.workers", 2)
	b.SetSpout("words", func() topology.Spout { return wordSpout{} }, 2)
	b.SetBasicBolt("count", func() topology.BasicBolt { return &countBolt{} }, 2).
		SetNumTasks(4).
		FieldsGrouping("words", topology.Fields{"word"})
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	tasks := topo.Definition.ComponentTasks(topology.NumAckers(topo.Definition.Conf, 2))
	for _, comp := range []string{topology.AckerComponent, "count", "words"} {
		fmt.Println(comp, tasks[comp], topology.Executors(tasks[comp], 2))
	}
	// Output:
	// __acker [1 2] [[1 1] [2 2]]
	// count [3 4 5 6] [[3 4] [5 6]]
	// words [7 8] [[7 7] [8 8]]
}

func ExampleBuilder_validation() {
	b := topology.NewBuilder()
	b.SetSpout("words", func() topology.Spout { return wordSpout{} }, 1)
	b.SetBasicBolt("count", func() topology.BasicBolt { return &countBolt{} }, 0).
		FieldsGrouping("words", topology.Fields{"wrod"})
	_, err := b.Build()
	fmt.Println(strings.ReplaceAll(err.Error(), "\t", "  "))
	// Output:
	// build topology: 2 problems:
	//   bolt "count": parallelism 0 must be at least 1
	//   bolt "count": fields grouping on field "wrod", which stream words/default does not declare (fields: word)
}
