package worker

import (
	"testing"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// BenchmarkAckedWordCountMetrics runs the acked word count plain, then with
// metrics on (Storm's logging consumer registered, built-in metrics taken
// every second instead of Storm's 60 so that collection happens during the
// run), and reports both rates and their ratio (docs/benchmarks.md,
// "Metrics and debug").
func BenchmarkAckedWordCountMetrics(b *testing.B) {
	benchWorkerGC(b)
	n := int64(b.N)
	plain := measureAckedPeakConf(b, n, ackedConf)
	metered := measureAckedPeakConf(b, n, ackedConf.Merge(config.Conf{
		config.TopologyBuiltinMetricsBucketSec: 1,
		topology.MetricsConsumerRegisterKey:    []any{map[string]any{"class": topology.LoggingMetricsConsumerClass}},
	}))
	b.ReportMetric(4*plain, "plain-tuples/s")
	b.ReportMetric(4*metered, "metrics-tuples/s")
	b.ReportMetric(metered/plain, "ratio")
}
