package worker

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/localstorm/localstorm/topology"
)

// Test components. Their shared state is a *record the factories close over
// (in-process tests) or files (subprocess tests, see process_test.go).

// record collects what a test topology did.
type record struct {
	mu        sync.Mutex
	emitted   int
	acked     map[any]int
	failed    map[any]int
	counts    map[string]int // word → times received by the counter
	ticks     int
	maxSeen   int // most tracked tuples pending at a NextTuple call
	violation string
	nextCalls atomic.Int64
	received  atomic.Int64
}

func newRecord() *record {
	return &record{acked: map[any]int{}, failed: map[any]int{}, counts: map[string]int{}}
}

func (r *record) snapshot() (emitted, acked, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.acked {
		acked += n
	}
	for _, n := range r.failed {
		failed += n
	}
	return r.emitted, acked, failed
}

// seqSpout emits n tuples made by make(i), tracked with message id i when
// tracked; maxPending > 0 makes it check that the runtime never lets more
// than maxPending tuples be pending when it calls NextTuple.
type seqSpout struct {
	rec        *record
	n          int
	tracked    bool
	maxPending int
	fields     topology.Fields
	make       func(i int) topology.Values
	next       int
	pending    map[any]bool
	out        topology.SpoutCollector
}

func (s *seqSpout) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(s.fields) }
func (s *seqSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out, s.pending = out, map[any]bool{}
	return nil
}
func (s *seqSpout) Close()      {}
func (s *seqSpout) Activate()   {}
func (s *seqSpout) Deactivate() {}
func (s *seqSpout) NextTuple() {
	s.rec.nextCalls.Add(1)
	if s.next >= s.n {
		return
	}
	s.rec.mu.Lock()
	if len(s.pending) > s.rec.maxSeen {
		s.rec.maxSeen = len(s.pending)
	}
	if s.maxPending > 0 && len(s.pending) >= s.maxPending && s.rec.violation == "" {
		s.rec.violation = fmt.Sprintf("NextTuple called with %d tuples pending (max %d)", len(s.pending), s.maxPending)
	}
	s.rec.emitted++
	s.rec.mu.Unlock()
	var id any
	if s.tracked {
		id = s.next
		s.pending[id] = true
	}
	s.out.Emit(s.make(s.next), id)
	s.next++
}
func (s *seqSpout) Ack(id any) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	delete(s.pending, id)
	s.rec.acked[id]++
}
func (s *seqSpout) Fail(id any) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	delete(s.pending, id)
	s.rec.failed[id]++
}

// splitBolt splits a sentence into words, anchored to it.
type splitBolt struct{ out topology.BoltCollector }

func (b *splitBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}
func (b *splitBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *splitBolt) Execute(t *topology.Tuple) {
	for _, w := range strings.Fields(t.String(0)) {
		b.out.Emit([]*topology.Tuple{t}, topology.Values{w})
	}
	b.out.Ack(t)
}
func (b *splitBolt) Cleanup() {}

// countBolt counts the words it receives into the record and acks them.
type countBolt struct {
	rec *record
	out topology.BoltCollector
}

func (b *countBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *countBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *countBolt) Execute(t *topology.Tuple) {
	b.rec.received.Add(1)
	if t.IsTick() {
		b.rec.mu.Lock()
		b.rec.ticks++
		b.rec.mu.Unlock()
		return
	}
	b.rec.mu.Lock()
	b.rec.counts[t.String(0)]++
	b.rec.mu.Unlock()
	b.out.Ack(t)
}
func (b *countBolt) Cleanup() {}

// funcBolt runs fn for every tuple.
type funcBolt struct {
	fn  func(t *topology.Tuple, out topology.BoltCollector)
	out topology.BoltCollector
}

func (b *funcBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *funcBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *funcBolt) Execute(t *topology.Tuple) { b.fn(t, b.out) }
func (b *funcBolt) Cleanup()                  {}

func wordSpout(rec *record, n int, tracked bool) func() topology.Spout {
	return func() topology.Spout {
		return &seqSpout{rec: rec, n: n, tracked: tracked, fields: topology.Fields{"sentence"},
			make: func(i int) topology.Values { return topology.Values{sentence(i)} }}
	}
}

// sentence i has the words w<i%50> and x<i%7> and y<i>.
func sentence(i int) string { return fmt.Sprintf("w%d x%d y%d", i%50, i%7, i) }

// wantCounts is what a word count over sentences 0..n-1 gives.
func wantCounts(n int) map[string]int {
	out := map[string]int{}
	for i := 0; i < n; i++ {
		for _, w := range strings.Fields(sentence(i)) {
			out[w]++
		}
	}
	return out
}
