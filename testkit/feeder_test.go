package testkit_test

import (
	"testing"

	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// judge fails tuples whose value is "bad" and acks the rest.
type judge struct{ out topology.BoltCollector }

func (j *judge) DeclareOutputFields(topology.OutputDeclarer) {}
func (j *judge) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	j.out = out
	return nil
}
func (j *judge) Execute(t *topology.Tuple) {
	if t.String(0) == "bad" {
		j.out.Fail(t)
		return
	}
	j.out.Ack(t)
}
func (j *judge) Cleanup() {}

func TestFeederSpoutSeesAckAndFail(t *testing.T) {
	c := testkit.Start(t)
	feeder := c.NewFeederSpout("feed", topology.Fields{"v"})
	b := topology.NewBuilder()
	b.SetSpout("feed", feeder.Spout(), 1)
	b.SetBolt("judge", func() topology.Bolt { return &judge{} }, 2).ShuffleGrouping("feed")
	id := c.Submit(t, "feeder", b, nil)
	c.WaitTopologyActive(t, id)

	good := feeder.Feed(topology.Values{"good"})
	bad := feeder.Feed(topology.Values{"bad"})
	if !feeder.WaitResult(t, good) {
		t.Errorf("tuple %q failed, want acked", "good")
	}
	if feeder.WaitResult(t, bad) {
		t.Errorf("tuple %q acked, want failed", "bad")
	}
	c.WaitAcked(t, id, 1)
}
