// Package chaos_test runs a fault campaign against a real local cluster:
// under acked load, a random sequence of faults (kill -9 of a worker, a
// paused worker, a stopped supervisor, expired ZooKeeper sessions, a
// restarted nimbus, a restarted ZooKeeper), then checks that every message
// was acked, that nothing acked is missing downstream, and that nothing of
// the cluster is left: processes, its data dir, descriptors, goroutines.
//
// In CI it runs a few rounds; `make soak` runs many more. The seed is logged,
// and LOCALSTORM_CHAOS_SEED replays a campaign.
package chaos_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// fault is one thing that goes wrong; it returns once the cluster has seen it.
type fault struct {
	name string
	do   func(t *testing.T, c *testkit.Cluster, id string)
}

var faults = []fault{
	{"kill -9 a worker", func(t *testing.T, c *testkit.Cluster, id string) { c.KillWorker(t, id) }},
	{"pause a worker for 1s", func(t *testing.T, c *testkit.Cluster, id string) {
		w := c.PauseWorker(t, id)
		time.Sleep(time.Second)
		// The supervisor may already have replaced the paused worker (its
		// heartbeat stopped): then there is nothing left to resume.
		if err := procs.Signal(w.Pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("resume worker %d: %v", w.Pid, err)
		}
	}},
	{"stop and start a supervisor", func(t *testing.T, c *testkit.Cluster, id string) {
		c.StopSupervisor(t, 1)
		time.Sleep(500 * time.Millisecond)
		c.StartSupervisor(t, 1)
	}},
	{"expire nimbus's session", func(t *testing.T, c *testkit.Cluster, id string) { c.ExpireSession(t, "nimbus") }},
	{"expire a supervisor's session", func(t *testing.T, c *testkit.Cluster, id string) { c.ExpireSession(t, "supervisor-0") }},
	{"restart nimbus", func(t *testing.T, c *testkit.Cluster, id string) { c.RestartNimbus(t) }},
	{"restart ZooKeeper", func(t *testing.T, c *testkit.Cluster, id string) { c.RestartZooKeeper(t) }},
}

func TestFaultCampaign(t *testing.T) {
	seed := uint64(envInt("LOCALSTORM_CHAOS_SEED", time.Now().UnixNano()))
	rounds := int(envInt("LOCALSTORM_CHAOS_ROUNDS", 6))
	n := int(envInt("LOCALSTORM_CHAOS_SENTENCES", 4000))
	t.Logf("campaign: seed %d, %d rounds, %d sentences (replay with LOCALSTORM_CHAOS_SEED=%d)", seed, rounds, n, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	sentences := make([]topology.Values, n)
	for i := range sentences {
		sentences[i] = topology.Values{fmt.Sprintf("%s %d", wordcount.Sentences[i%len(wordcount.Sentences)], i)}
	}
	fdsBefore := openFiles(t)
	var dataDir string
	seen := map[int]int{} // worker pid → 1, every worker of the campaign
	var applied []string

	t.Run("under faults", func(t *testing.T) {
		// In a worker (this binary re-run by a supervisor), the test runs
		// again only up to CompleteTopology: keep what comes before it to
		// building the topology.
		c := testkit.Start(t, testkit.Options{Supervisors: 2, Slots: 2})
		res := testkit.CompleteTopology(t, c, wordcount.Builder(), testkit.MockedSources{"sentences": sentences},
			testkit.CompleteOptions{
				Timeout: 5 * time.Minute,
				Conf: map[string]any{
					"topology.workers":              2,
					"topology.max.spout.pending":    50,
					"topology.message.timeout.secs": 3,
				},
				During: func(id string) {
					dataDir = c.LocalCluster().DataDir()
					for r := range rounds {
						for _, w := range c.Workers(id) {
							seen[w.Pid] = 1
						}
						f := faults[rng.IntN(len(faults))]
						c.WaitAcked(t, id, int64(r+1)*int64(n)/int64(2*rounds)) // faults land while tuples flow
						start := time.Now()
						f.do(t, c, id)
						applied = append(applied, f.name)
						t.Logf("round %d: %s (%v)", r+1, f.name, time.Since(start).Round(time.Millisecond))
					}
					for _, w := range c.Workers(id) {
						seen[w.Pid] = 1
					}
				},
			})

		// Every sentence was acked (CompleteTopology returned); each one's
		// words reached the splitter's output, whose tuples the capture
		// holds only for trees that were acked: the number closing sentence
		// i is its own word.
		words := map[string]int{}
		for _, v := range res.Tuples("split", "default") {
			words[fmt.Sprint(v[0])]++
		}
		var missing []int
		duplicates := 0
		for i := range n {
			k := words[strconv.Itoa(i)]
			if k == 0 {
				missing = append(missing, i)
			}
			duplicates += max(k-1, 0)
		}
		if len(missing) > 0 {
			t.Fatalf("%d acked sentences never reached the splitter's output, e.g. %v", len(missing), missing[:min(10, len(missing))])
		}
		t.Logf("survived %d faults (%s); %d sentences checked end to end, %d replayed more than once",
			len(applied), strings.Join(applied, ", "), n, duplicates)
	})
	if t.Failed() {
		return
	}

	// The cluster is closed (the subtest's cleanup): nothing of it is left.
	for pid := range seen {
		if procs.Running(pid) {
			t.Errorf("worker process %d still runs after the cluster closed", pid)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the cluster's data dir %s is still there (stat: %v)", dataDir, err)
	}
	if after := openFiles(t); after > fdsBefore {
		t.Errorf("open descriptors: %d before the cluster, %d after it closed", fdsBefore, after)
	}
}

// openFiles counts this process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		t.Fatalf("count open descriptors: %v", err)
	}
	return len(entries)
}
