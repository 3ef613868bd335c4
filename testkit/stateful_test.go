package testkit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/examples/statefulwordcount"
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/state"
)

// redisHashes reads the committed states whose namespace matches pattern
// from Redis, in Storm's layout (a hash per namespace, base64 fields and
// values), leaving out the staged transactions ("<namespace>$...").
func redisHashes(t *testing.T, addr, pattern string) map[string]map[string][]byte {
	t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	keys, err := rc.Keys(ctx, pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]byte{}
	for _, k := range keys {
		if strings.Contains(k, "$") {
			continue // <namespace>$txid and $prepare
		}
		h, err := rc.HGetAll(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = map[string][]byte{}
		for f, v := range h {
			field, _ := base64.StdEncoding.DecodeString(f)
			out[k][string(field)], _ = base64.StdEncoding.DecodeString(v)
		}
	}
	return out
}

// redisCounts reads the committed counts of every task of bolt "count"
// from Redis, summed per word.
func redisCounts(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for k, h := range redisHashes(t, addr, "count-*") {
		for w, raw := range h {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				t.Fatalf("%s[%s] = %q: %v", k, w, raw, err)
			}
			out[w] += n
		}
	}
	return out
}

// redisStateConf is the configuration of Redis state at addr, with
// checkpoints every 200 ms.
func redisStateConf(addr string) map[string]any {
	host, port, _ := net.SplitHostPort(addr)
	return map[string]any{
		state.ConfProvider:              state.RedisProvider,
		state.ConfProviderConfig:        fmt.Sprintf(`{"keyClass":"java.lang.String","valueClass":"java.lang.Long","jedisPoolConfig":{"host":%q,"port":%s}}`, host, port),
		topology.ConfCheckpointInterval: 200,
	}
}

// waitReplaced waits for the supervisor to start a new worker in the slot
// of old, a worker that was killed or paused.
func waitReplaced(t *testing.T, c *testkit.Cluster, id string, old supervisor.WorkerInfo) {
	t.Helper()
	c.WaitFor(t, fmt.Sprintf("worker on port %d (pid %d) replaced", old.Port, old.Pid), func() (bool, string) {
		for _, w := range c.Workers(id) {
			if w.Port == old.Port && w.Pid != old.Pid {
				return true, ""
			}
		}
		return false, fmt.Sprintf("workers %v", c.Workers(id))
	}, id)
}

// A stateful word count on Redis state, one worker killed with SIGKILL in
// the middle of the stream. Storm's guarantee for stateful bolts is
// at-least-once for state updates (IStatefulBolt's contract): after
// recovery no count is below the number of times the word was sent,
// although the killed worker's uncommitted counts were lost and the others
// rolled back; a sentence counted and committed whose ack died with the
// worker is counted again, so some words are counted twice: far fewer
// than were sent, and never more often than their sentences were emitted
// (Storm's State-checkpointing.md: "The state abstraction does not
// eliminate duplicate evaluations and currently provides only at-least
// once guarantee").
func TestStatefulWordCountRedisSurvivesKill9(t *testing.T) {
	const pending = 20
	addr := ""
	if !testkit.InWorker() {
		addr = testutil.StartRedis(t)
	}
	c := testkit.Start(t)
	feeder := c.NewReliableFeederSpout("sentences", topology.Fields{"sentence"})
	b := statefulwordcount.BuilderWith(feeder.Spout())
	conf := redisStateConf(addr)
	conf["topology.message.timeout.secs"] = 10
	conf["topology.max.spout.pending"] = pending
	id := c.Submit(t, "statefulwc", b, conf)
	c.WaitTopologyActive(t, id)

	const sentences = 300
	want := map[string]int64{}
	ids := map[int]string{} // feeder id → sentence
	for i := range sentences {
		s := wordcount.Sentences[i%len(wordcount.Sentences)]
		for _, w := range strings.Fields(s) {
			want[w]++
		}
		ids[feeder.Feed(topology.Values{s})] = s
	}
	// Acks come only with commits (every 200 ms, 20 sentences pending at
	// most), so the stream is still flowing when the worker dies.
	testutil.Eventually(t, 60*time.Second, "60 sentences acked", func() (bool, string) {
		return feeder.Acked() >= 60, fmt.Sprintf("%d acked", feeder.Acked())
	})
	killed := c.KillWorker(t, id)
	if n := feeder.Acked(); n >= sentences {
		t.Fatalf("all %d sentences acked before the kill: the fault did not land mid-stream", n)
	}
	waitReplaced(t, c, id, killed)
	testutil.Eventually(t, 120*time.Second, "every sentence acked after recovery", func() (bool, string) {
		return feeder.Acked() == sentences, fmt.Sprintf("%d of %d acked", feeder.Acked(), sentences)
	})
	got := redisCounts(t, addr)
	// Each attempt of a sentence may be counted once at most: a count above
	// its words' attempts is a phantom, not a replay.
	upTo := map[string]int64{}
	for id, s := range ids {
		for _, w := range strings.Fields(s) {
			upTo[w] += int64(feeder.Attempts(id))
		}
	}
	var excess int64
	for w, n := range want {
		if got[w] < n {
			t.Errorf("count of %q = %d, want at least %d (a word was lost)", w, got[w], n)
		}
		if got[w] > upTo[w] {
			t.Errorf("count of %q = %d, above the %d times its sentences were emitted", w, got[w], upTo[w])
		}
		excess += got[w] - n
	}
	if len(got) != len(want) {
		t.Errorf("%d words counted, want %d: %v", len(got), len(want), got)
	}
	// Duplicates come from the trees in flight around the fault (and from
	// trees timed out under load): far fewer than the words sent. A bug
	// replaying everything, or counting replays of committed words as a
	// rule, doubles the counts.
	var sent int64
	for _, n := range want {
		sent += n
	}
	if excess > sent/2 {
		t.Errorf("%d words counted twice of %d sent: replays were not rolled back", excess, sent)
	}
	t.Logf("after the kill: %d words counted twice of %d sent in %d sentences (Storm's at-least-once state)", excess, sent, sentences)
}

// The stateful word count on real workers with in-memory state, through
// CompleteTopology: tuples wait for INITSTATE, counts come from the state,
// and the run completes only because every commit acks its tuples.
//
// The COMMIT that releases the acks is the checkpoint spout's tuple, not in
// a mocked tuple's tree, so the capturer may record it after the mocked
// trees complete: the run also waits (Until) for it to be captured.
func TestStatefulWordCountInMemoryComplete(t *testing.T) {
	c := testkit.Start(t)
	res := testkit.CompleteTopology(t, c, statefulwordcount.Builder(), testkit.MockedSources{
		"sentences": {{"the cow"}, {"the moon"}, {"the cow"}},
	}, testkit.CompleteOptions{
		Conf: map[string]any{topology.ConfCheckpointInterval: 100},
		Until: func(res testkit.Results) (bool, string) {
			return commits(res) > 0, "a COMMIT captured on the $checkpoint stream"
		},
	})
	testkit.AssertTuples(t, res.Tuples("count", topology.DefaultStream), []topology.Values{
		{"the", int64(1)}, {"the", int64(2)}, {"the", int64(3)}, {"cow", int64(1)}, {"cow", int64(2)}, {"moon", int64(1)},
	})
	if commits(res) == 0 {
		t.Error("no COMMIT on the $checkpoint stream")
	}
}

// commits counts the COMMIT tuples the checkpoint spout was seen to emit.
func commits(res testkit.Results) int {
	n := 0
	for _, v := range res.Tuples(topology.CheckpointComponent, topology.CheckpointStream) {
		if v[1] == string(topology.ActionCommit) {
			n++
		}
	}
	return n
}

// windowTotal is a stateful windowed bolt: it adds each window's size to a
// total in its state and emits the total.
type windowTotal struct {
	out   topology.WindowCollector
	total state.Map[int64]
}

func (w *windowTotal) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"total"})
}
func (w *windowTotal) Prepare(_ *topology.Context, out topology.WindowCollector) error {
	w.out = out
	return nil
}
func (w *windowTotal) InitState(s state.KeyValueState) { w.total = state.Map[int64]{State: s} }
func (w *windowTotal) Execute(win *topology.TupleWindow) {
	n, _, _ := w.total.Get("total")
	n += int64(len(win.Tuples))
	_ = w.total.Put("total", n)
	w.out.Emit(topology.Values{n})
}
func (w *windowTotal) Cleanup() {}

// A stateful windowed bolt on real workers: tumbling 200 ms windows whose
// sizes add up in the bolt's state; every tuple is acked (at the commit
// after it left its window), so the run completes, and the last total is
// the number of tuples.
func TestStatefulWindowedBoltOnWorkers(t *testing.T) {
	c := testkit.Start(t)
	b := topology.NewBuilder()
	b.SetSpout("numbers", func() topology.Spout { return &movingaverage.ReadingSpout{} }, 1)
	b.SetStatefulWindowedBolt("total", func() topology.StatefulWindowedBolt { return &windowTotal{} }, 1,
		topology.WithTumblingWindow(topology.Duration(200*time.Millisecond)), topology.WithMessageIdField("msgid")).GlobalGrouping("numbers")
	var in []topology.Values
	for i := range 30 {
		in = append(in, topology.Values{i, int64(i)})
	}
	res := testkit.CompleteTopology(t, c, b, testkit.MockedSources{"numbers": in},
		testkit.CompleteOptions{Conf: map[string]any{topology.ConfCheckpointInterval: 100}})
	var last int64
	for _, v := range res.Tuples("total", topology.DefaultStream) {
		if n, _ := strconv.ParseInt(fmt.Sprint(v[0]), 10, 64); n > last {
			last = n
		}
	}
	if last != int64(len(in)) {
		t.Fatalf("last total %d, want %d (totals %v)", last, len(in), res.Tuples("total", topology.DefaultStream))
	}
}
