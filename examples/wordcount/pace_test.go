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

// TestSentenceSpoutReady: past its limit the spout sleeps until a fail
// (nil channel); a fail makes it ready at once; a paced spout is ready when
// its next burst is due, not before.
func TestSentenceSpoutReady(t *testing.T) {
	out := &countingCollector{}
	s := &SentenceSpout{Limit: 1}
	if err := s.Open(&topology.Context{Conf: map[string]any{}}, out); err != nil {
		t.Fatal(err)
	}
	var _ topology.ReadySpout = s
	s.NextTuple()
	if s.Ready() != nil {
		t.Fatal("a spout past its limit has a Ready channel; only a fail should wake it")
	}
	s.Fail(0)
	select {
	case <-s.Ready():
	default:
		t.Fatal("a spout with a sentence to replay is not ready at once")
	}

	paced := &SentenceSpout{Rate: 20} // one sentence per burst, 20 bursts a second
	if err := paced.Open(&topology.Context{Conf: map[string]any{}}, out); err != nil {
		t.Fatal(err)
	}
	for paced.paced() {
	}
	select {
	case <-paced.Ready():
		t.Fatal("a paced spout is ready before its tokens refilled")
	default:
	}
	select {
	case <-paced.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("a paced spout never became ready")
	}
}
