package testkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

// recorderAddrKey is the topology conf key that gives resultRecorder its Redis.
const recorderAddrKey = "test.results.redis"

// resultsList is the Redis list resultRecorder appends to.
const resultsList = "movingsum-results"

// resultRecorder appends every tuple it receives to a Redis list (its
// values separated by spaces), so the test sees every window result the
// bolt emitted, duplicates included.
type resultRecorder struct {
	rc  *redis.Client
	out topology.BoltCollector
}

func (r *resultRecorder) DeclareOutputFields(topology.OutputDeclarer) {}
func (r *resultRecorder) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	addr, _ := ctx.Conf[recorderAddrKey].(string)
	r.rc, r.out = redis.NewClient(&redis.Options{Addr: addr}), out
	return nil
}
func (r *resultRecorder) Execute(t *topology.Tuple) {
	vs := make([]string, len(t.Values))
	for i, v := range t.Values {
		vs[i] = fmt.Sprint(v)
	}
	if err := r.rc.RPush(context.Background(), resultsList, strings.Join(vs, " ")).Err(); err != nil {
		r.out.ReportError(err)
		r.out.Fail(t)
		return
	}
	r.out.Ack(t)
}
func (r *resultRecorder) Cleanup() { r.rc.Close() }

// movingSumWindow is window w of the moving sum (5 readings every 3) over
// readings 1, 2, 3...: its first and last readings and its sum.
func movingSumWindow(w int64) (first, last, sum int64) {
	last = 3 * (w + 1)
	first = max(1, last-4)
	return first, last, (first + last) * (last - first + 1) / 2
}

// The stateful moving sum (examples/movingaverage) on Redis state, its only
// worker killed with SIGKILL in the middle of the stream. Storm's recovery
// of stateful windowed bolts: the readings replayed after the crash rebuild
// the windows evaluated and committed before it without evaluating them
// again, so every window is computed on the same readings as without the
// crash and its number in the state matches (a committed window evaluated
// again would come with the next number); windows evaluated but not
// committed before the crash are evaluated again (at-least-once output);
// no window result is lost; the committed state counts each window once.
func TestStatefulWindowedMovingSumRedisSurvivesKill9(t *testing.T) {
	// The last readings stay in the last window, never acked: no timeout
	// may replay them while the test runs.
	c, feeder, addr, id := startMovingSum(t, "movingsum", movingaverage.StatefulBuilderWith, map[string]any{"topology.message.timeout.secs": 600})

	const readings, windows = 300, 100
	for i := 1; i <= readings; i++ {
		feeder.Feed(topology.Values{i, int64(i)})
	}
	testutil.Eventually(t, 60*time.Second, "60 readings acked", func() (bool, string) {
		return feeder.Acked() >= 60, fmt.Sprintf("%d acked", feeder.Acked())
	})
	killed := c.KillWorker(t, id)
	if n := feeder.Acked(); n >= readings-5 {
		t.Fatalf("%d readings acked before the kill: the fault did not land mid-stream", n)
	}
	waitReplaced(t, c, id, killed)
	var results [][4]int64
	// A window every 3 readings: the last one ends with one of the last 3
	// readings, whatever shifted the windows.
	testutil.Eventually(t, 120*time.Second, "the last window recorded", func() (bool, string) {
		results = redisResults(t, addr)
		for _, r := range results {
			if r[2] > readings-3 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d results, %d readings acked", len(results), feeder.Acked())
	})

	seen := map[int64]int{}
	for _, r := range results {
		first, last, sum := movingSumWindow(r[0])
		if r[1] != first || r[2] != last || r[3] != sum {
			t.Errorf("window %d: readings %d..%d sum %d, want %d..%d sum %d", r[0], r[1], r[2], r[3], first, last, sum)
		}
		seen[r[0]]++
	}
	var again []int64
	for w := range int64(windows) {
		switch seen[w] {
		case 0:
			t.Errorf("no result for window %d", w)
		case 1:
		default:
			again = append(again, w)
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("windows evaluated again after the kill (not committed before it): %v", again)

	// Every reading but the last window's 5 leaves a window, and is acked
	// at the commit after: then the state holds every window.
	testutil.Eventually(t, 60*time.Second, "every reading but the last 5 acked", func() (bool, string) {
		return feeder.Acked() == readings-5, fmt.Sprintf("%d of %d acked", feeder.Acked(), readings-5)
	})
	var wantTotal int64
	for w := range int64(windows) {
		_, _, sum := movingSumWindow(w)
		wantTotal += sum
	}
	states := 0
	for k, h := range redisHashes(t, addr, "sum-*") {
		if strings.HasSuffix(k, "-window") {
			continue
		}
		states++
		var n, total int64
		if json.Unmarshal(h["windows"], &n) != nil || json.Unmarshal(h["total"], &total) != nil || n != windows || total != wantTotal {
			t.Errorf("committed state %s: windows %s total %s, want %d and %d", k, h["windows"], h["total"], windows, wantTotal)
		}
	}
	if states != 1 {
		t.Errorf("%d committed states of bolt sum in Redis, want 1", states)
	}
}

// startMovingSum submits a moving sum made by build, fed by a reliable
// feeder of readings and recorded by resultRecorder, on Redis state, in
// one worker (the feeder replays a dead task's tuples in order), with conf
// on top; it returns the cluster, the feeder, Redis's address and the
// topology id once active.
func startMovingSum(t *testing.T, name string, build func(func() topology.Spout) *topology.Builder, conf map[string]any) (*testkit.Cluster, *testkit.FeederSpout, string, string) {
	t.Helper()
	addr := ""
	if !testkit.InWorker() {
		addr = testutil.StartRedis(t)
	}
	c := testkit.Start(t)
	feeder := c.NewReliableFeederSpout("readings", topology.Fields{"value", "msgid"})
	b := build(feeder.Spout())
	b.SetBolt("record", func() topology.Bolt { return &resultRecorder{} }, 1).ShuffleGrouping("sum")
	all := redisStateConf(addr)
	all[recorderAddrKey] = addr
	all["topology.workers"] = 1
	all["topology.max.spout.pending"] = 20
	maps.Copy(all, conf)
	id := c.Submit(t, name, b, all)
	c.WaitTopologyActive(t, id)
	return c, feeder, addr, id
}

// redisResults reads the recorded window results: window, first, last, sum.
func redisResults(t *testing.T, addr string) [][4]int64 {
	t.Helper()
	var out [][4]int64
	for _, nums := range recordedIntegers(t, addr) {
		if len(nums) != 4 {
			t.Fatalf("result %v: want 4 integers", nums)
		}
		out = append(out, [4]int64(nums))
	}
	return out
}

// recordedIntegers reads the lines resultRecorder recorded, each as integers.
func recordedIntegers(t *testing.T, addr string) [][]int64 {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	lines, err := rc.LRange(context.Background(), resultsList, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int64
	for _, l := range lines {
		var nums []int64
		for _, f := range strings.Fields(l) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("result %q: %v", l, err)
			}
			nums = append(nums, n)
		}
		out = append(out, nums)
	}
	return out
}
