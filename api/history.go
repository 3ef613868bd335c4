package api

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
)

// The live history: nimbus samples every topology once a second and keeps
// the last HistoryLength samples (a fixed amount of memory per topology,
// component and worker).
//
//	GET /api/v1/topology/<id>/history[?secs=N]                         History
//	GET /api/v1/topology/<id>/component/<component>/history[?secs=N]   History (that component only)
//
// secs bounds the reply to the newest N seconds (default: all that is kept).

// HistoryPath is the history of topology id, or of one of its components.
func HistoryPath(id, component string) string {
	if component == "" {
		return topologyPath(id, "history")
	}
	return topologyPath(id, "component", url.PathEscape(component), "history")
}

// History is a topology's sampled figures, oldest first. Every series has one
// point per entry of Times; a point is null where the figure is unknown (the
// component or worker was not running, or no tuple was acked to time).
type History struct {
	TopologyID string `json:"topologyId"`
	// StepSecs is the sampling period; Times are the samples' Unix seconds.
	StepSecs int     `json:"stepSecs"`
	Times    []int64 `json:"times"`
	// Topology is the whole topology: emitted (every component but the
	// ackers), acked and failed (the spouts), completeLatencyMs.
	Topology Series `json:"topology"`
	// Components by id: emitted, acked, failed (per second),
	// completeLatencyMs (spouts), processLatencyMs and capacity (bolts).
	Components map[string]Series `json:"components"`
	// Workers by "host:port": rssBytes and cpuPercent (of one core).
	Workers map[string]Series `json:"workers"`
	// Streams are the current rates on the topology's edges.
	Streams []StreamRate `json:"streams"`
}

// Series are named figures, each with one point per sample.
type Series map[string]Points

// Points are a figure's samples; NaN is unknown and encodes as null.
type Points []float32

// MarshalJSON writes the points as a JSON array with null for NaN.
func (p Points) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(p)*6)
	b = append(b, '[')
	for i, v := range p {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, float64(v), 'g', 6, 32)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads what MarshalJSON writes (null as NaN).
func (p *Points) UnmarshalJSON(b []byte) error {
	var vs []*float64
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	out := make(Points, len(vs))
	for i, v := range vs {
		if v == nil {
			out[i] = float32(math.NaN())
		} else {
			out[i] = float32(*v)
		}
	}
	*p = out
	return nil
}

// StreamRate is the rate of one edge of the topology graph: tuples per
// second that component From emits on Stream (each subscriber gets them all).
type StreamRate struct {
	From   string  `json:"from"`
	Stream string  `json:"stream"`
	PerSec float64 `json:"perSec"`
}

// History returns the history of topology id (component "" for all of
// them), its newest secs seconds (0: all).
func (c *Client) History(ctx context.Context, id, component string, secs int) (*History, error) {
	path := HistoryPath(id, component)
	if secs > 0 {
		path += "?" + url.Values{"secs": {strconv.Itoa(secs)}}.Encode()
	}
	var h History
	return &h, c.get(ctx, "history of "+id, path, &h)
}
