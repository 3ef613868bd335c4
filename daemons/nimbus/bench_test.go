package nimbus

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
)

// benchCluster is nimbus over the given state with 3 supervisors of 4 slots,
// as `localstorm up` starts by default.
func benchCluster(b *testing.B, state cluster.StormClusterState) *Nimbus {
	b.Helper()
	for i := range 3 {
		id := fmt.Sprintf("sup-%d", i)
		if err := state.SupervisorHeartbeat(id, &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: id, SlotPorts: []int{6700, 6701, 6702, 6703}}); err != nil {
			b.Fatal(err)
		}
	}
	// A long monitor period: the benchmark measures submit's own assignment.
	n, err := Start(b.Context(), Options{Conf: config.Conf{config.NimbusMonitorFreqSecs: 3600}, LocalDir: b.TempDir(), State: state})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

func benchStates(b *testing.B) map[string]func() cluster.StormClusterState {
	return map[string]func() cluster.StormClusterState{
		"memory":     func() cluster.StormClusterState { return newMemState() },
		"embeddedZK": func() cluster.StormClusterState { return connectZK(b, startEmbeddedZK(b), freshRoot()) },
	}
}

// BenchmarkSubmitToAssignment: submit of a 3-worker topology until its
// assignment is in the cluster state (submit assigns before returning). The
// 1 MiB upload before it and the removal after it are outside the timer.
func BenchmarkSubmitToAssignment(b *testing.B) {
	for name, mk := range benchStates(b) {
		b.Run(name, func(b *testing.B) {
			state := mk()
			n := benchCluster(b, state)
			ctx := b.Context()
			code := bytes.Repeat([]byte("x"), 1<<20) // a 1 MiB "binary"
			checksum := sum(code)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				up, err := n.Upload(ctx, bytes.NewReader(code), checksum)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				id, err := n.Submit(ctx, api.SubmitRequest{Name: fmt.Sprintf("wc%d", i), UploadID: up.UploadID, SHA256: checksum, Definition: wordCount(), Conf: map[string]any{config.TopologyWorkers: 3}})
				if err != nil {
					b.Fatal(err)
				}
				a, err := state.AssignmentInfo(id, nil)
				if err != nil || a == nil || len(slotsOf(a)) != 3 {
					b.Fatalf("assignment %+v %v", a, err)
				}
				b.StopTimer()
				n.mu.Lock()
				err = n.remove(id)
				n.mu.Unlock()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkAPISummaries: HTTP calls through api.Client with one topology running.
func BenchmarkAPISummaries(b *testing.B) {
	for name, mk := range benchStates(b) {
		b.Run(name, func(b *testing.B) {
			state := mk()
			n := benchCluster(b, state)
			c := api.NewClient(n.APIURL())
			ctx := b.Context()
			id := submitOverAPI(b, c, "wc", map[string]any{config.TopologyWorkers: 3})
			calls := map[string]func() error{
				"cluster":  func() error { _, err := c.ClusterSummary(ctx); return err },
				"topology": func() error { _, err := c.TopologySummary(ctx); return err },
				"info":     func() error { _, err := c.Topology(ctx, id); return err },
			}
			for _, call := range []string{"cluster", "topology", "info"} {
				b.Run(call, func(b *testing.B) {
					for b.Loop() {
						if err := calls[call](); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
				})
			}
		})
	}
}
