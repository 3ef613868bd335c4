package nimbus

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/localstorm/localstorm/api"
)

// ExecutorStreamStats are the counts per window and stream of every placed
// executor of the topology (Storm's ExecutorSummary.stats of
// getTopologyInfo), from the same history as the topology and component
// pages.
func (n *Nimbus) ExecutorStreamStats(ctx context.Context, id string) ([]api.ExecutorStreamStats, error) {
	v, comps, now, err := n.liveComponents(id)
	if err != nil {
		return nil, err
	}
	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	out := []api.ExecutorStreamStats{}
	for _, comp := range slices.Sorted(maps.Keys(comps)) {
		_, spout := v.code.Definition.Spouts[comp]
		for _, e := range comps[comp] {
			if e.slot == nil {
				continue // not placed: Storm reports assigned executors only
			}
			s := api.ExecutorStreamStats{
				ID: fmt.Sprintf("[%d-%d]", e.exec.Start, e.exec.End), Component: comp, Spout: spout,
				Windows: map[string]api.StreamCounts{},
			}
			for _, w := range api.Windows {
				d, _ := windowSecs(w)
				t := e.window(d, now)
				s.Windows[w] = api.StreamCounts{
					Emitted: t.byStream(statEmitted), Transferred: t.byStream(statTransferred),
					Acked: t.byStream(statAcked), Failed: t.byStream(statFailed), Executed: t.byStream(statExecuted),
					CompleteLatencyMs: meanMs(t.CompleteLatencyMs, t.Acked),
					ProcessLatencyMs:  meanMs(t.ProcessLatencyMs, t.Acked),
					ExecuteLatencyMs:  meanMs(t.ExecuteLatencyMs, t.Executed),
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}
