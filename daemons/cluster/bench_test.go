package cluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
)

// BenchmarkCluster measures, on every ZooKeeper target in one run, the
// watch-to-callback latency (SetAssignment on one connection until the
// AssignmentInfo callback runs on another) and SetAssignment and
// AssignmentInfo throughput on one connection.
//
// The default embedded target keeps its tree in memory; "embedded-fsync"
// writes and fsyncs a transaction log before acknowledging, as the real
// server does, for a like-for-like comparison of writes.
//
//	go test -run '^$' -bench BenchmarkCluster -benchtime 3000x -count 5 ./daemons/cluster/
func BenchmarkCluster(b *testing.B) {
	targets := startTargets(b)
	targets = append(targets, startEmbedded(b, "embedded-fsync", zookeeper.Options{DataDir: b.TempDir(), Fsync: zookeeper.FsyncAlways}))
	for _, tg := range targets {
		b.Run(tg.name+"/WatchLatency", func(b *testing.B) { benchWatchLatency(b, tg) })
		b.Run(tg.name+"/SetAssignment", func(b *testing.B) {
			w := benchStorm(b, tg)
			a := testAssignment("sup-1", 6700, 6701, 6702, 6703)
			b.ResetTimer()
			for range b.N {
				if err := w.SetAssignment("bench-1-1", a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
		b.Run(tg.name+"/AssignmentInfo", func(b *testing.B) {
			s := benchStorm(b, tg)
			if err := s.SetAssignment("bench-1-1", testAssignment("sup-1", 6700, 6701, 6702, 6703)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if a, err := s.AssignmentInfo("bench-1-1", nil); err != nil || a == nil {
					b.Fatal(a, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

func benchStorm(b *testing.B, tg target) StormClusterState {
	b.Helper()
	opts := tg.options(b)
	opts.Logger = nil // logging per event would be measured too
	ctx, cancel := context.WithTimeout(b.Context(), waitFor)
	defer cancel()
	s, err := ConnectStorm(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Disconnect() })
	return s
}

func benchWatchLatency(b *testing.B, tg target) {
	opts := tg.options(b)
	opts.Logger = nil
	ctx, cancel := context.WithTimeout(b.Context(), waitFor)
	defer cancel()
	reader, err := ConnectStorm(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reader.Disconnect() })
	writer, err := ConnectStorm(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = writer.Disconnect() })
	const id = "latency-1-1"
	if err := writer.SetAssignment(id, testAssignment("sup-1", 6700)); err != nil {
		b.Fatal(err)
	}
	fired := make(chan time.Time, 1)
	cb := func() { fired <- time.Now() }
	latencies := make([]time.Duration, 0, b.N)
	a := testAssignment("sup-1", 6700, 6701)
	b.ResetTimer()
	for i := range b.N {
		if _, err := reader.AssignmentInfo(id, cb); err != nil {
			b.Fatal(err)
		}
		a.Executors[0].StartSecs = int64(i)
		start := time.Now()
		if err := writer.SetAssignment(id, a); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-fired:
			latencies = append(latencies, at.Sub(start))
		case <-time.After(waitFor):
			b.Fatalf("callback %d did not run within %s", i, waitFor)
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")

}
