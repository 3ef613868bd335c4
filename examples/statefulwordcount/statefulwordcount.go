// Package statefulwordcount is word count with the counts in a stateful
// bolt (Storm's IStatefulBolt): the counts live in a KeyValueState saved at
// every checkpoint, in memory by default or in Redis with
//
//	topology.state.provider: org.apache.storm.redis.state.RedisKeyValueStateProvider
//	topology.state.provider.config: '{"jedisPoolConfig":{"host":"127.0.0.1","port":6379}}'
//
// A word's tuple is acked only when the checkpoint holding its count has
// committed, so after a worker crash the counts are rolled back to the last
// commit and the replayed sentences bring them to exactly the number of
// words sent.
package statefulwordcount

import (
	"fmt"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/state"
	// The Redis state provider, linked in as a Storm jar bundles storm-redis.
	_ "github.com/localstorm/localstorm/topology/state/redisstate"
)

// Builder returns sentences → split (2) → count (2, stateful, fields
// grouping on word), with wordcount's replaying sentence spout.
func Builder() *topology.Builder {
	return BuilderWith(func() topology.Spout { return &wordcount.SentenceSpout{} })
}

// BuilderWith is Builder with another spout of one field of sentences.
func BuilderWith(sentences func() topology.Spout) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", sentences, 1)
	b.SetBasicBolt("split", func() topology.BasicBolt { return wordcount.SplitBolt{} }, 2).
		ShuffleGrouping("sentences")
	b.SetStatefulBolt("count", func() topology.StatefulBolt { return &CountBolt{} }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.workers", 2)
	b.SetConf("topology.max.spout.pending", 1000)
	return b
}

// CountBolt counts words in its state and emits each new count.
type CountBolt struct {
	out    topology.BoltCollector
	counts state.Map[int64]
}

func (c *CountBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word", "count"})
}

func (c *CountBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	c.out = out
	return nil
}

// InitState receives the counts as last committed.
func (c *CountBolt) InitState(s state.KeyValueState) { c.counts = state.Map[int64]{State: s} }

func (c *CountBolt) Execute(t *topology.Tuple) {
	w := t.String(0)
	n, _, err := c.counts.Get(w)
	if err == nil {
		err = c.counts.Put(w, n+1)
	}
	if err != nil {
		c.out.ReportError(fmt.Errorf("count %q: %w", w, err))
		c.out.Fail(t)
		return
	}
	c.out.Emit([]*topology.Tuple{t}, topology.Values{w, n + 1})
	c.out.Ack(t) // held by the stateful executor until the next commit
}

func (c *CountBolt) Cleanup() {}
