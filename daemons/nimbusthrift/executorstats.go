package nimbusthrift

import (
	"context"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// ExecutorSummary.stats of getTopologyInfo: Storm's ExecutorStats, every
// count per window (api.Windows: "600", "10800", "86400", ":all-time") and
// per stream. A bolt's counts are Storm's per input GlobalStreamId; workers
// count them per input stream, so a stream is given the one component the
// bolt takes it from, and a stream the bolt takes from several components
// (or from none it declares, as system streams) is left out of them.

// executorStats returns the stats of the topology's placed executors by
// executor id ("[start-end]").
func (h *Handler) executorStats(ctx context.Context, id string, def *topology.Definition) (map[string]*storm.ExecutorStats, error) {
	all, err := h.b.ExecutorStreamStats(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[string]*storm.ExecutorStats{}
	for _, e := range all {
		s := &storm.ExecutorStats{
			Emitted: map[string]map[string]int64{}, Transferred: map[string]map[string]int64{},
			// Rate is Storm's stats sampling rate: workers here count
			// every tuple.
			Specific: &storm.ExecutorSpecificStats{}, Rate: 1,
		}
		if e.Spout {
			s.Specific.Spout = &storm.SpoutStats{Acked: map[string]map[string]int64{}, Failed: map[string]map[string]int64{}, CompleteMsAvg: map[string]map[string]float64{}}
		} else {
			s.Specific.Bolt = &storm.BoltStats{
				Acked: map[string]map[*storm.GlobalStreamId]int64{}, Failed: map[string]map[*storm.GlobalStreamId]int64{},
				ProcessMsAvg: map[string]map[*storm.GlobalStreamId]float64{}, Executed: map[string]map[*storm.GlobalStreamId]int64{},
				ExecuteMsAvg: map[string]map[*storm.GlobalStreamId]float64{},
			}
		}
		sources := inputSources(def, e.Component)
		for w, c := range e.Windows {
			s.Emitted[w], s.Transferred[w] = c.Emitted, c.Transferred
			if e.Spout {
				sp := s.Specific.Spout
				sp.Acked[w], sp.Failed[w] = c.Acked, c.Failed
				sp.CompleteMsAvg[w] = map[string]float64{}
				for stream := range c.Acked {
					sp.CompleteMsAvg[w][stream] = c.CompleteLatencyMs
				}
				continue
			}
			boltWindow(s.Specific.Bolt, w, c, sources)
		}
		out[e.ID] = s
	}
	return out, nil
}

// boltWindow fills one window of a bolt's stats; the latencies are the
// executor's means, given to every input stream it executed.
func boltWindow(b *storm.BoltStats, w string, c api.StreamCounts, sources map[string]string) {
	b.Acked[w], b.Failed[w], b.Executed[w] = byInput(c.Acked, sources), byInput(c.Failed, sources), byInput(c.Executed, sources)
	b.ProcessMsAvg[w], b.ExecuteMsAvg[w] = map[*storm.GlobalStreamId]float64{}, map[*storm.GlobalStreamId]float64{}
	for g := range b.Executed[w] {
		b.ProcessMsAvg[w][g] = c.ProcessLatencyMs
		b.ExecuteMsAvg[w][g] = c.ExecuteLatencyMs
	}
}

// inputSources maps each input stream of component to the one component it
// comes from ("" when several).
func inputSources(def *topology.Definition, component string) map[string]string {
	out := map[string]string{}
	c := def.Bolts[component]
	if c == nil {
		return out
	}
	for _, in := range c.Inputs {
		stream := in.Stream
		if stream == "" {
			stream = topology.DefaultStream
		}
		if prev, seen := out[stream]; seen && prev != in.Component {
			out[stream] = ""
			continue
		}
		out[stream] = in.Component
	}
	return out
}

func byInput(counts map[string]int64, sources map[string]string) map[*storm.GlobalStreamId]int64 {
	out := map[*storm.GlobalStreamId]int64{}
	for stream, n := range counts {
		if src := sources[stream]; src != "" {
			out[&storm.GlobalStreamId{ComponentId: src, StreamId: stream}] = n
		}
	}
	return out
}
