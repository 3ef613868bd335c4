// Command crashloop is a topology whose spout panics a moment after it
// starts, so that its worker dies again and again: the supervisor's crash
// loop (an error on the topology) in localcluster's timeline tests.
//
// The moment comes from the topology conf key crashloop.after.ms (default
// 300); 0 never panics.
package main

import (
	"time"

	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/run"
)

// AfterKey is the topology conf key: milliseconds from Open to the panic.
const AfterKey = "crashloop.after.ms"

func main() {
	b := topology.NewBuilder()
	b.SetSpout("doomed", func() topology.Spout { return &spout{} }, 1)
	b.SetConf("topology.workers", 1)
	run.Main("crashloop", b)
}

type spout struct {
	deadline time.Time
}

func (s *spout) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"n"}) }

func (s *spout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	after := 300 * time.Millisecond
	switch v := ctx.Conf[AfterKey].(type) {
	case float64:
		after = time.Duration(v) * time.Millisecond
	case int:
		after = time.Duration(v) * time.Millisecond
	case int64:
		after = time.Duration(v) * time.Millisecond
	}
	if after > 0 {
		s.deadline = time.Now().Add(after)
	}
	return nil
}

func (s *spout) NextTuple() {
	if !s.deadline.IsZero() && time.Now().After(s.deadline) {
		panic("crashloop: crashing on purpose")
	}
}

func (s *spout) Ack(any)     {}
func (s *spout) Fail(any)    {}
func (s *spout) Close()      {}
func (s *spout) Activate()   {}
func (s *spout) Deactivate() {}
