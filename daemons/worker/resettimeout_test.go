package worker

import (
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// holdingBolt keeps its tuples for hold, resetting their timeout every
// tick from a goroutine of its own, then acks them.
type holdingBolt struct {
	hold, tick time.Duration
	reset      bool
	mu         sync.Mutex
	held       []*topology.Tuple
	out        topology.BoltCollector
	stop       chan struct{}
}

func (b *holdingBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *holdingBolt) Prepare(_ *topology.Context, out topology.BoltCollector) error {
	b.out, b.stop = out, make(chan struct{})
	go b.loop()
	return nil
}
func (b *holdingBolt) Execute(t *topology.Tuple) {
	b.mu.Lock()
	b.held = append(b.held, t)
	b.mu.Unlock()
}
func (b *holdingBolt) Cleanup() { close(b.stop) }

func (b *holdingBolt) loop() {
	tk := time.NewTicker(b.tick)
	defer tk.Stop()
	start := time.Now()
	for {
		select {
		case <-b.stop:
			return
		case <-tk.C:
		}
		b.mu.Lock()
		held := b.held
		if time.Since(start) > b.hold {
			b.held = nil
		}
		b.mu.Unlock()
		for _, t := range held {
			if time.Since(start) > b.hold {
				b.out.Ack(t)
			} else if b.reset && !topology.ResetTimeout(b.out, t) {
				panic("the runtime's collector has no ResetTimeout")
			}
		}
	}
}

func TestResetTimeoutKeepsTuplesAlive(t *testing.T) {
	const n = 10
	const timeout = 400 * time.Millisecond
	rec := newRecord()
	b := topology.NewBuilder()
	b.SetSpout("s", func() topology.Spout {
		return &seqSpout{rec: rec, n: n, tracked: true, fields: topology.Fields{"v"},
			make: func(i int) topology.Values { return topology.Values{i} }}
	}, 1)
	// Held five message timeouts, reset every tenth of one.
	b.SetBolt("hold", func() topology.Bolt { return &holdingBolt{hold: 5 * timeout, tick: timeout / 10, reset: true} }, 1).ShuffleGrouping("s")
	startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 1, config.TopologyMessageTimeoutSecs: timeout.Seconds()})
	testutil.Eventually(t, 20*time.Second, "every tuple acked", func() bool {
		_, acked, failed := rec.snapshot()
		return acked+failed == n
	})
	if _, acked, failed := rec.snapshot(); failed != 0 || acked != n {
		t.Errorf("acked %d, failed %d: ResetTimeout should have kept every tree alive", acked, failed)
	}
}
