// Package metrics is the word count with Storm's metrics v1: the counting
// bolt registers a CountMetric of the words it counted and a mean of their
// lengths (ReducedMetric with MeanReducer) on its topology context, each
// taken every 5 seconds, and the topology registers Storm's
// LoggingMetricsConsumer, which writes those data points and Storm's
// built-in executor metrics (__ack-count, __execute-latency, ...) to each
// worker's metrics log: `localstorm logs metrics --metrics`.
//
// cmd/metrics turns it into a topology binary.
package metrics

import (
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology"
)

// Bucket is the time bucket of the bolt's metrics, in seconds.
const Bucket = 5

// Builder returns the word count with a metered counting bolt and the
// logging metrics consumer, its built-in metrics every 10 seconds.
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &wordcount.SentenceSpout{} }, 1)
	b.SetBasicBolt("split", func() topology.BasicBolt { return &wordcount.SplitBolt{} }, 2).
		ShuffleGrouping("sentences")
	b.SetBasicBolt("count", func() topology.BasicBolt { return &MeteredCount{CountBolt: wordcount.NewCountBolt()} }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.max.spout.pending", 1000)
	b.SetConf(topology.MetricsConsumerRegisterKey, []any{
		map[string]any{"class": topology.LoggingMetricsConsumerClass, "parallelism.hint": 1},
	})
	b.SetConf("topology.builtin.metrics.bucket.size.secs", 10)
	return b
}

// MeteredCount is wordcount's CountBolt with two metrics.
type MeteredCount struct {
	*wordcount.CountBolt
	counted *topology.CountMetric
	length  *topology.ReducedMetric
}

// Prepare registers the metrics (Storm allows it only in prepare and open).
func (m *MeteredCount) Prepare(ctx *topology.Context) error {
	m.counted, m.length = &topology.CountMetric{}, topology.NewReducedMetric(topology.MeanReducer{})
	if _, err := ctx.RegisterMetric("words-counted", m.counted, Bucket); err != nil {
		return err
	}
	if _, err := ctx.RegisterMetric("word-length", m.length, Bucket); err != nil {
		return err
	}
	return m.CountBolt.Prepare(ctx)
}

// Execute counts the word and updates the metrics.
func (m *MeteredCount) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	m.counted.Incr()
	if err := m.length.Update(len(t.String(0))); err != nil {
		return err
	}
	return m.CountBolt.Execute(t, out)
}
