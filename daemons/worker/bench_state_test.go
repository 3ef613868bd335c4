package worker

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/state"
	_ "github.com/localstorm/localstorm/topology/state/redisstate"
)

// BenchmarkAckedWordCountCost runs the acked word count of
// BenchmarkAckedWordCount (n sentences, max spout pending 2000 or 20000) plain and
// then with its count bolt replaced, in the same run, and reports both
// rates and their ratio (docs/benchmarks.md, "Windows and state"):
//
//   - window: a windowed count bolt, sliding count window of 300 words by
//     100; a word is acked when it leaves its window, so the last window's
//     sentences (at most 150) are not waited for, in either run;
//   - memory, redis: a stateful count bolt, state in memory or in a real
//     redis-server, checkpoints every 100 ms (Storm's floor): a sentence is
//     acked at the commit after its words were counted, so the rate is
//     bounded by max spout pending per checkpoint interval.
func BenchmarkAckedWordCountCost(b *testing.B) {
	for _, v := range []struct {
		variant string
		pending int
	}{{"window", 2000}, {"memory", 2000}, {"redis", 2000}, {"memory", 20000}, {"redis", 20000}} {
		b.Run(fmt.Sprintf("variant=%s/pending=%d", v.variant, v.pending), func(b *testing.B) {
			benchWorkerGC(b)
			n := int64(b.N)
			conf := config.Conf{}.Merge(ackedConf)
			conf[config.TopologyMaxSpoutPending] = v.pending
			plain := measureAckedRate(b, n, func(onAck func()) (*topology.Builder, config.Conf, int64) {
				return ackedWordCount(n, 0, func(time.Duration) { onAck() }), conf, 0
			})
			rate := measureAckedRate(b, n, func(onAck func()) (*topology.Builder, config.Conf, int64) {
				return costVariant(b, v.variant, n, conf, onAck)
			})
			b.ReportMetric(plain, "plain-acked/s")
			b.ReportMetric(rate, "acked/s")
			b.ReportMetric(rate/plain, "ratio")
		})
	}
}

// measureAckedRate runs the topology build makes until all but slack of
// its n sentences are acked and returns sentences acked per second.
func measureAckedRate(b *testing.B, n int64, build func(onAck func()) (*topology.Builder, config.Conf, int64)) float64 {
	var acked atomic.Int64
	bld, conf, slack := build(func() { acked.Add(1) })
	start := time.Now()
	p := startInProcess(b, bld, conf)
	testutil.Eventually(b, 10*time.Minute, "sentences acked", func() bool { return acked.Load() >= n-slack })
	el := time.Since(start)
	p.stop()
	return float64(acked.Load()) / el.Seconds()
}

func costVariant(b *testing.B, variant string, n int64, base config.Conf, onAck func()) (*topology.Builder, config.Conf, int64) {
	bld := topology.NewBuilder()
	sentences := []topology.Values{{"the cow jumped"}, {"over the moon"}, {"an apple a"}, {"day keeps the"}}
	bld.SetSpout("s", func() topology.Spout {
		return &fastSpout{n: n, tracked: true, values: func(i int64) topology.Values { return sentences[i%4] },
			onAck: func(any) { onAck() }}
	}, 1)
	bld.SetBolt("split", func() topology.Bolt { return &splitBolt{} }, 1).ShuffleGrouping("s")
	conf := config.Conf{}.Merge(base)
	switch variant {
	case "window":
		bld.SetWindowedBolt("count", func() topology.WindowedBolt { return &windowCount{} }, 1,
			topology.WithWindow(topology.Count(300), topology.Count(100))).FieldsGrouping("split", topology.Fields{"word"})
		return bld, conf, 150
	case "memory", "redis":
		bld.SetStatefulBolt("count", func() topology.StatefulBolt { return &stateCount{} }, 1).
			FieldsGrouping("split", topology.Fields{"word"})
		conf[topology.ConfCheckpointInterval] = 100
		if variant == "redis" {
			host, port, _ := net.SplitHostPort(testutil.StartRedis(b))
			conf[state.ConfProvider] = state.RedisProvider
			conf[state.ConfProviderConfig] = fmt.Sprintf(`{"jedisPoolConfig":{"host":%q,"port":%s}}`, host, port)
		}
		return bld, conf, 0
	}
	b.Fatalf("unknown variant %q", variant)
	return nil, nil, 0
}

// windowCount counts the words new in each window.
type windowCount struct{ counts map[string]int }

func (w *windowCount) DeclareOutputFields(topology.OutputDeclarer) {}
func (w *windowCount) Prepare(*topology.Context, topology.WindowCollector) error {
	w.counts = map[string]int{}
	return nil
}
func (w *windowCount) Execute(win *topology.TupleWindow) {
	for _, t := range win.New {
		w.counts[t.String(0)]++
	}
}
func (w *windowCount) Cleanup() {}

// stateCount counts words in its state.
type stateCount struct {
	out    topology.BoltCollector
	counts state.Map[int64]
}

func (c *stateCount) DeclareOutputFields(topology.OutputDeclarer) {}
func (c *stateCount) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	c.out = out
	return nil
}
func (c *stateCount) InitState(s state.KeyValueState) { c.counts = state.Map[int64]{State: s} }
func (c *stateCount) Execute(t *topology.Tuple) {
	n, _, _ := c.counts.Get(t.String(0))
	_ = c.counts.Put(t.String(0), n+1)
	c.out.Ack(t)
}
func (c *stateCount) Cleanup() {}
