package testkit_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// Each fault test runs word count over many mocked sentences with acking on,
// injects one fault while tuples flow, and requires every sentence to be
// acked in the end: the topology recovers and no tuple is lost (failed and
// timed-out trees are replayed by the mocked spout).

func manySentences(n int) []topology.Values {
	out := make([]topology.Values, n)
	for i := range out {
		out[i] = topology.Values{fmt.Sprintf("%s %d", wordcount.Sentences[i%len(wordcount.Sentences)], i)}
	}
	return out
}

// faultConf slows the spout down so that the fault lands mid-run, and times
// tuples out quickly so that lost trees are replayed within the test.
var faultConf = map[string]any{
	"topology.max.spout.pending":    50,
	"topology.message.timeout.secs": 2,
}

func runWithFault(t *testing.T, c *testkit.Cluster, fault func(id string)) {
	t.Helper()
	sentences := manySentences(1000)
	res := testkit.CompleteTopology(t, c, wordcount.Builder(), testkit.MockedSources{"sentences": sentences},
		testkit.CompleteOptions{Conf: faultConf, Timeout: 60 * time.Second, During: func(id string) {
			c.WaitAcked(t, id, 50)
			fault(id)
		}})
	// Replays may emit a sentence twice; every one must be there.
	seen := map[string]bool{}
	for _, v := range res.Tuples("sentences", "default") {
		seen[fmt.Sprint(v[0])] = true
	}
	for _, s := range sentences {
		if !seen[s[0].(string)] {
			t.Fatalf("sentence %q was never emitted", s[0])
		}
	}
}

func TestFaultKillWorker(t *testing.T) {
	c := testkit.Start(t)
	runWithFault(t, c, func(id string) {
		before := c.Workers(id)
		killed := c.KillWorker(t, id)
		c.WaitFor(t, "killed worker relaunched", func() (bool, string) {
			for _, w := range c.Workers(id) {
				if w.Port == killed.Port && w.Pid != killed.Pid {
					return true, ""
				}
			}
			return false, fmt.Sprintf("workers %v (before %v)", c.Workers(id), before)
		}, id)
		// The fault and what followed it, in the report a failing wait prints.
		c.WaitFor(t, "the kill on the timeline before the relaunch", func() (bool, string) {
			report := c.StateReport(id)
			fault := strings.Index(report, "fault-injected")
			relaunch := strings.LastIndex(report, "worker-relaunched")
			return fault >= 0 && relaunch > fault, report
		}, id)
	})
}

func TestFaultPauseWorker(t *testing.T) {
	c := testkit.Start(t)
	runWithFault(t, c, func(id string) {
		paused := c.PauseWorker(t, id)
		waitReplaced(t, c, id, paused)
	})
}

func TestFaultStopStartAndAddSupervisor(t *testing.T) {
	c := testkit.Start(t, testkit.Options{Supervisors: 2})
	runWithFault(t, c, func(id string) {
		c.StopSupervisor(t, 0)
		added := c.AddSupervisor(t)
		if added != 2 {
			t.Errorf("AddSupervisor = %d, want index 2", added)
		}
		c.StartSupervisor(t, 0)
	})
}

func TestFaultExpireSessions(t *testing.T) {
	c := testkit.Start(t)
	runWithFault(t, c, func(id string) {
		c.ExpireSession(t, "nimbus")
		c.ExpireSession(t, "supervisor-0")
	})
}

func TestFaultRestartNimbus(t *testing.T) {
	c := testkit.Start(t)
	runWithFault(t, c, func(id string) { c.RestartNimbus(t) })
}

func TestFaultRestartZooKeeper(t *testing.T) {
	c := testkit.Start(t)
	runWithFault(t, c, func(id string) { c.RestartZooKeeper(t) })
}
