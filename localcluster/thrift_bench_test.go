package localcluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/localcluster"
)

// BenchmarkClusterInfo measures one round trip of the cluster summary
// through nimbus's two front doors, in the same run against the same
// cluster (3 supervisors, no topology): Storm's getClusterInfo over Thrift
// (one framed connection, as Storm's clients keep) and the HTTP API's
// GET /api/v1/cluster/summary (keep-alive). docs/benchmarks.md has figures.
func BenchmarkClusterInfo(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench-thrift", DataDir: b.TempDir(), Conf: config.TestProfile()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())

	b.Run("thrift", func(b *testing.B) {
		cfg := &thrift.TConfiguration{}
		trans := thrift.NewTFramedTransportConf(thrift.NewTSocketConf(c.ThriftAddr(), cfg), cfg)
		if err := trans.Open(); err != nil {
			b.Fatal(err)
		}
		defer trans.Close()
		client := storm.NewNimbusClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(cfg))
		b.ResetTimer()
		for b.Loop() {
			if _, err := client.GetClusterInfo(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("http", func(b *testing.B) {
		client := c.Client()
		for b.Loop() {
			if _, err := client.ClusterSummary(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}
