package worker

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// meteredBolt counts its tuples in a registered CountMetric and their
// lengths in a mean.
type meteredBolt struct {
	out   topology.BoltCollector
	count *topology.CountMetric
	mean  *topology.ReducedMetric
}

func (b *meteredBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *meteredBolt) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	b.out, b.count, b.mean = out, &topology.CountMetric{}, topology.NewReducedMetric(topology.MeanReducer{})
	if _, err := ctx.RegisterMetric("sentences", b.count, 1); err != nil {
		return err
	}
	_, err := ctx.RegisterMetric("mean-length", b.mean, 1)
	return err
}
func (b *meteredBolt) Execute(t *topology.Tuple) {
	b.count.Incr()
	_ = b.mean.Update(len(t.String(0)))
	b.out.Ack(t)
}
func (b *meteredBolt) Cleanup() {}

// workerFile reads a file of the in-process worker's logs dir.
func workerFile(p *inProcess, name string) string {
	o := p.w.opts
	b, _ := os.ReadFile(filepath.Join(workercontract.LocalDir(o.LocalDir).Logs(o.TopologyID, o.Port), name))
	return string(b)
}

func metricsLog(p *inProcess) string { return workerFile(p, workercontract.MetricsLogName) }

// sumMetric adds the values of the lines of metric name from component.
func sumMetric(log, component, name string) int {
	total := 0
	for _, line := range strings.Split(log, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 || !strings.HasSuffix(strings.TrimSpace(f[2]), ":"+component) || strings.TrimSpace(f[3]) != name {
			continue
		}
		n, _ := strconv.Atoi(f[4])
		total += n
	}
	return total
}

func TestMetricsReachTheLoggingConsumer(t *testing.T) {
	const n = 300
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("sentences", wordSpout(rec, n, true), 1)
	b.SetBolt("metered", func() topology.Bolt { return &meteredBolt{} }, 2).ShuffleGrouping("sentences")
	p := startInProcess(t, b, config.Conf{
		config.TopologyAckerExecutors:          1,
		config.TopologyBuiltinMetricsBucketSec: 1,
		topology.MetricsConsumerRegisterKey: []any{map[string]any{
			"class": topology.LoggingMetricsConsumerClass, "parallelism.hint": 1,
		}},
	})
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	// Every tuple is counted once over the buckets: getValueAndReset.
	testutil.Eventually(t, 10*time.Second, "the registered counts in the metrics log", func() bool {
		return sumMetric(metricsLog(p), "metered", "sentences") == n
	})
	log := metricsLog(p)
	for _, want := range []string{
		"mean-length", "__ack-count            \t{default=", "__complete-latency",
		"__execute-count        \t{sentences:default=", "__ack-count            \t{sentences:default=",
		"__receive", "__emit-count",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("metrics log has no %q:\n%s", want, log)
		}
	}
}

func TestNoConsumerNoMetricsLog(t *testing.T) {
	rec := newRecord()
	p := startInProcess(t, wordCount(rec, 10, true), config.Conf{config.TopologyAckerExecutors: 1})
	if p.w.metrics != nil {
		t.Fatal("a metrics hub runs without a registered consumer")
	}
}
