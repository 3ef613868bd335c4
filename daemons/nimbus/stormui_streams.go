package nimbus

import (
	"maps"
	"strings"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Per-stream counts for Storm UI's component page. Workers report every
// counter per stream: emitted, transferred, and a spout's acked and failed by
// the stream it emitted on; a bolt's executed, acked and failed by the stream
// of the input tuple (not by its source component). Latency sums are per
// executor only. totals.Streams carries the counts through the same history
// as the other totals, so that every window has them.

// The counters kept per stream.
const (
	statEmitted     = "emitted"
	statTransferred = "transferred"
	statAcked       = "acked"
	statFailed      = "failed"
	statExecuted    = "executed"
)

// streamKey names one counter of one stream in totals.Streams. A stat has no
// "/", so the first one separates it from the stream id.
func streamKey(stat, stream string) string { return stat + "/" + stream }

// streamCounts flattens a heartbeat's per-stream maps into totals.Streams form.
func streamCounts(s cluster.ExecutorStats) map[string]int64 {
	out := map[string]int64{}
	for stat, m := range map[string]map[string]int64{
		statEmitted: s.Emitted, statTransferred: s.Transferred, statAcked: s.Acked, statFailed: s.Failed, statExecuted: s.Executed,
	} {
		for stream, v := range m {
			if v != 0 {
				out[streamKey(stat, stream)] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mergeStreams returns a + sign*b without touching either.
func mergeStreams(a, b map[string]int64, sign int64) map[string]int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]int64, len(a)+len(b))
	maps.Copy(out, a)
	for k, v := range b {
		if out[k] += sign * v; out[k] == 0 {
			delete(out, k)
		}
	}
	return out
}

// byStream returns one counter of t per stream.
func (t totals) byStream(stat string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range t.Streams {
		if s, stream, ok := strings.Cut(k, "/"); ok && s == stat {
			out[stream] = v
		}
	}
	return out
}
