package chaos_test

import (
	"fmt"
	"testing"

	"github.com/localstorm/localstorm/examples/reliable"
	"github.com/localstorm/localstorm/testkit"
)

// A topology's all-time acked count never goes backwards: not when its
// worker is killed and relaunched (the counters restart at zero in the new
// process), not when nimbus restarts after that (the new nimbus must know
// the earlier run's counts), as a shrinking total looks like lost tuples.
func TestTotalsNeverGoBackwards(t *testing.T) {
	c := testkit.Start(t)
	b := reliable.Builder(0, 0)
	b.SetConf("topology.workers", 1) // the spout's worker is the one killed
	id := c.Submit(t, "totals", b, nil)
	c.WaitAcked(t, id, 500)
	c.KillWorker(t, id)
	before, err := c.Acked(id)
	if err != nil {
		t.Fatal(err)
	}
	c.WaitAcked(t, id, before+500) // the relaunched worker counts from zero
	before, err = c.Acked(id)
	if err != nil {
		t.Fatal(err)
	}
	c.RestartNimbus(t)
	c.WaitFor(t, "the restarted nimbus's totals", func() (bool, string) {
		after, err := c.Acked(id)
		if err != nil {
			return false, err.Error()
		}
		if after > 0 && after < before {
			t.Fatalf("all-time acked went from %d to %d across a restart of nimbus", before, after)
		}
		return after >= before, fmt.Sprintf("acked %d, before the restart %d", after, before)
	}, id)
}
