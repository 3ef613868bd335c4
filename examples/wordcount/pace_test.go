package wordcount

import (
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology"
)

type countingCollector struct{ emitted int }

func (c *countingCollector) Emit(topology.Values, any) []int { c.emitted++; return nil }
func (c *countingCollector) EmitStream(string, topology.Values, any) []int {
	c.emitted++
	return nil
}
func (c *countingCollector) EmitDirect(int, string, topology.Values, any) {}
func (c *countingCollector) ReportError(error)                            {}

// emitFor calls NextTuple as fast as it can for d, as an executor with
// nothing else to do would, and returns the sentences emitted.
func emitFor(t *testing.T, conf map[string]any, d time.Duration) int {
	t.Helper()
	out := &countingCollector{}
	s := &SentenceSpout{}
	if err := s.Open(&topology.Context{Conf: conf}, out); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
		s.NextTuple()
	}
	return out.emitted
}

// TestSentenceRate: ConfRate paces the spout (the demo's --demo-rate); without it the spout
// emits at every call.
func TestSentenceRate(t *testing.T) {
	const d = 300 * time.Millisecond
	paced := emitFor(t, map[string]any{ConfRate: 1000}, d)
	// 300 sentences at 1000/s, plus at most a burst of 50; a loaded machine may give fewer calls.
	if paced < 150 || paced > 360 {
		t.Errorf("at 1000/s for %s: %d sentences, want about 300", d, paced)
	}
	flat := emitFor(t, map[string]any{ConfRate: 0}, d)
	if flat < 10*paced {
		t.Errorf("unpaced: %d sentences in %s, not far above the paced %d", flat, d, paced)
	}
	if err := (&SentenceSpout{}).Open(&topology.Context{Conf: map[string]any{ConfRate: -1}}, &countingCollector{}); err == nil {
		t.Error("a negative rate was taken")
	}
}
