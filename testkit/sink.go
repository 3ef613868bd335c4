package testkit

import (
	"fmt"
	"testing"

	"github.com/localstorm/localstorm/topology"
)

// Sink is a bolt that hands every tuple it receives to the test, then acks
// it: the test reads what a running topology emitted (CompleteTopology
// captures every stream by itself). Make it with Cluster.NewSink, put
// Bolt() into the builder subscribed to what the test reads (with
// parallelism 1 the tuples arrive in the order they were emitted, for a
// single emitting task).
type Sink struct {
	c    *Cluster
	name string
}

// NewSink makes a sink; name must be unique within the test.
func (c *Cluster) NewSink(name string) *Sink { return &Sink{c: c, name: name} }

// key is where the sink's tuples are kept in the bridge (topology names
// have no '/', so no topology's capture shares it).
func (s *Sink) key() string { return "sink/" + s.name }

// Bolt is the factory to give the builder.
func (s *Sink) Bolt() func() topology.Bolt {
	key := s.key()
	return func() topology.Bolt { return &capturer{key: key} }
}

// Tuples returns the values received so far, in arrival order.
func (s *Sink) Tuples() []topology.Values {
	var out []topology.Values
	for _, ct := range s.c.bridge.capturedOf(s.key()) {
		out = append(out, decodeValues(ct.Values))
	}
	return out
}

// WaitTuples waits until the sink has received at least n tuples and
// returns all it received.
func (s *Sink) WaitTuples(t testing.TB, n int) []topology.Values {
	t.Helper()
	var got []topology.Values
	s.c.waitBridge(t, fmt.Sprintf("sink %s: %d tuples", s.name, n), 0, func() (bool, string) {
		got = s.Tuples()
		return len(got) >= n, fmt.Sprintf("%d tuples: %v", len(got), got)
	})
	return got
}
