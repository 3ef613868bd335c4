package testkit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// MockedSources replace spouts, by component id, with spouts that emit
// exactly these tuples (on the default stream), each tracked.
type MockedSources map[string][]topology.Values

// CompleteOptions tune CompleteTopology.
type CompleteOptions struct {
	// Conf is topology configuration for this run.
	Conf map[string]any
	// Timeout bounds the whole run (default: the cluster's wait timeout).
	Timeout time.Duration
	// Name of the topology (default: derived from the test's name).
	Name string
	// During, when set, runs once the topology is active, while tuples flow:
	// the place to inject a fault. Completion is still awaited after it.
	During func(topologyID string)
	// Until, when set, is a further condition of completion, checked on the
	// tuples captured so far once every mocked tuple is acked: what the
	// mocked trees do not cover, such as the checkpoint spout's tuples,
	// may be captured after those trees complete. It returns whether the
	// run is complete and, if not, what it still waits for.
	Until func(Results) (bool, string)
}

// capturerID is the bolt testkit adds to capture every emitted tuple.
const capturerID = "testkit_capturer"

// Results are the tuples every component emitted, per stream.
type Results struct {
	tuples map[string][]topology.Values // "component/stream"
	failed map[string]int               // mocked spout → fails replayed
}

// Failed returns how many times tuples of mocked spout failed (or timed out)
// and were replayed before the run completed.
func (r Results) Failed(spout string) int { return r.failed[spout] }

// Tuples returns what component emitted on stream, in arrival order.
func (r Results) Tuples(component, stream string) []topology.Values {
	return r.tuples[component+"/"+stream]
}

// CompleteTopology runs the topology built by b on the cluster with the
// mocked spouts in place, captures every tuple each component emits, and
// returns when every mocked tuple has been fully processed: acked through the
// acker, as the cluster itself accounts for it (a failed or timed-out tuple is
// replayed until it is acked) and CompleteOptions.Until, if set, holds. The
// topology is killed afterwards. Acking must be on
// (topology.acker.executors ≠ 0). In a worker process started for this
// topology, CompleteTopology becomes the worker and does not return.
func CompleteTopology(t testing.TB, c *Cluster, b *topology.Builder, mocks MockedSources, opts ...CompleteOptions) Results {
	t.Helper()
	var o CompleteOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Timeout = cmp.Or(o.Timeout, c.timeout, 30*time.Second)
	base := o.Name
	if base == "" {
		base = "complete-" + t.Name()
	}
	name := c.uniqueName(t, base)
	topo, err := completeTopology(b, mocks, o.Conf)
	if err != nil {
		t.Fatalf("testkit: CompleteTopology: %v", err)
	}
	if inWorker() {
		c.submitBuilt(t, name, topo, o.Conf) // becomes the worker or skips
	}
	for id, tuples := range mocks {
		c.bridge.setMocks(name, id, tuples)
	}
	id := c.submitBuilt(t, name, topo, o.Conf)
	if o.During != nil {
		c.WaitTopologyActive(t, id)
		o.During(id)
	}
	// Checked at every ack, fail and capture.
	c.waitBridgeFor(t, "CompleteTopology "+name+": every mocked tuple acked", o.Timeout, 0, id, func() (bool, string) {
		done, progress := c.bridge.mockProgress(name)
		if done && o.Until != nil {
			var waiting string
			if done, waiting = o.Until(c.bridge.results(name, mocks)); !done {
				progress += "; every mocked tuple acked, Until waits for: " + waiting
			}
		}
		return done, progress
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Client().Kill(ctx, id, 0); err != nil {
		t.Errorf("testkit: kill %s after completion: %v", name, err)
	}
	return c.bridge.results(name, mocks)
}

// results are the tuples captured so far for topo and the fails of its mocks.
func (b *bridge) results(topo string, mocks MockedSources) Results {
	res := Results{tuples: map[string][]topology.Values{}, failed: map[string]int{}}
	for spout := range mocks {
		res.failed[spout] = b.failedOf(topo, spout)
	}
	for _, ct := range b.capturedOf(topo) {
		key := ct.Component + "/" + ct.Stream
		res.tuples[key] = append(res.tuples[key], decodeValues(ct.Values))
	}
	return res
}

// completeTopology rebuilds b's topology with mocked spouts and the capturer.
func completeTopology(b *topology.Builder, mocks MockedSources, conf map[string]any) (*topology.Topology, error) {
	if n, ok := conf["topology.acker.executors"]; ok && fmt.Sprint(n) == "0" {
		return nil, fmt.Errorf("acking is off (topology.acker.executors 0): completion is detected through the acker")
	}
	orig, err := b.Build()
	if err != nil {
		return nil, err
	}
	def, err := cloneDefinition(orig.Definition)
	if err != nil {
		return nil, err
	}
	if _, taken := def.Bolts[capturerID]; taken {
		return nil, fmt.Errorf("component id %q is reserved by testkit", capturerID)
	}
	f := topology.Factories{Spouts: map[string]func() topology.Spout{}, Bolts: map[string]func() topology.Bolt{}}
	for id, sd := range def.Spouts {
		id := id
		if _, mocked := mocks[id]; mocked {
			if _, ok := sd.Outputs[topology.DefaultStream]; !ok {
				return nil, fmt.Errorf("mocked spout %q declares no default stream to emit on", id)
			}
			sd.Shell, sd.Class = nil, ""
			f.Spouts[id] = func() topology.Spout { return &mockSpout{} }
			continue
		}
		if sd.Shell == nil {
			f.Spouts[id] = func() topology.Spout { s, _ := orig.NewSpout(id); return s }
		}
	}
	for id := range mocks {
		if def.Spouts[id] == nil {
			return nil, fmt.Errorf("mocked source %q is not a spout of the topology", id)
		}
	}
	for id, bd := range def.Bolts {
		id := id
		if bd.Shell == nil {
			f.Bolts[id] = func() topology.Bolt { b, _ := orig.NewBolt(id); return b }
		}
	}
	capt := &topology.ComponentDef{ID: capturerID, Parallelism: 1, NumTasks: 1, Outputs: map[string]topology.StreamDef{}}
	for _, comps := range []map[string]*topology.ComponentDef{def.Spouts, def.Bolts} {
		for _, id := range slices.Sorted(maps.Keys(comps)) {
			for _, stream := range slices.Sorted(maps.Keys(comps[id].Outputs)) {
				if comps[id].Outputs[stream].Direct {
					continue // a direct stream reaches only the tasks it names
				}
				capt.Inputs = append(capt.Inputs, topology.InputDef{Component: id, Stream: stream, Grouping: topology.Grouping{Type: topology.GroupGlobal}})
			}
		}
	}
	def.Bolts[capturerID] = capt
	f.Bolts[capturerID] = func() topology.Bolt { return &capturer{} }
	return topology.FromDefinition(def, f)
}

func cloneDefinition(d *topology.Definition) (*topology.Definition, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var out topology.Definition
	return &out, json.Unmarshal(b, &out)
}

// mockSpout emits its share of the mocked tuples, tracked, and replays those
// that fail; it reports every ack and fail to the bridge.
type mockSpout struct {
	out     topology.SpoutCollector
	base    string
	queue   []mockItem
	pending map[int]topology.Values
	err     error
}

type mockItem struct {
	Index  int             `json:"index"`
	Values topology.Values `json:"values"`
	// Attempt counts a reliable feeder's replays of the item: a result of
	// an earlier attempt is stale.
	Attempt int `json:"attempt,omitempty"`
}

func (s *mockSpout) DeclareOutputFields(topology.OutputDeclarer) {} // the definition already has them

func (s *mockSpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out, s.pending = out, map[int]topology.Values{}
	bridgeURL, _ := ctx.Conf[bridgeKey].(string)
	name, _ := ctx.Conf["topology.name"].(string)
	if bridgeURL == "" || name == "" {
		return fmt.Errorf("testkit mocked spout: no bridge in the topology conf")
	}
	s.base = fmt.Sprintf("%s/mock/%s/%s", bridgeURL, url.PathEscape(name), url.PathEscape(ctx.ComponentID))
	tasks := ctx.ComponentTasks[ctx.ComponentID]
	index := 0
	for i, task := range tasks {
		if task == ctx.TaskID {
			index = i
		}
	}
	return getJSON(fmt.Sprintf("%s?index=%d&tasks=%d", s.base, index, len(tasks)), &s.queue)
}

func (s *mockSpout) NextTuple() {
	if len(s.queue) == 0 {
		return
	}
	it := s.queue[0]
	s.queue = s.queue[1:]
	s.pending[it.Index] = it.Values
	s.out.Emit(it.Values, it.Index)
}

// Ready makes mockSpout a topology.ReadySpout: once its tuples are out,
// only a fail (which requeues one) gives it more.
func (s *mockSpout) Ready() <-chan struct{} {
	if len(s.queue) == 0 {
		return nil
	}
	return topology.ReadyAfter(0)
}

func (s *mockSpout) Ack(msgID any) {
	i := msgID.(int)
	delete(s.pending, i)
	if err := postJSON(fmt.Sprintf("%s/%d/ack", s.base, i), nil); err != nil {
		s.out.ReportError(err)
	}
}

func (s *mockSpout) Fail(msgID any) {
	i := msgID.(int)
	if err := postJSON(fmt.Sprintf("%s/%d/fail", s.base, i), nil); err != nil {
		s.out.ReportError(err)
	}
	if v, ok := s.pending[i]; ok {
		s.queue = append(s.queue, mockItem{Index: i, Values: v})
	}
}

func (s *mockSpout) Close()      {}
func (s *mockSpout) Activate()   {}
func (s *mockSpout) Deactivate() {}

// capturer sends every tuple it receives to the bridge, then acks it, so a
// completed tuple tree implies its tuples were captured. Tuples are sent in
// batches: one HTTP round trip per tuple would dominate a test's run time.
type capturer struct {
	out topology.BoltCollector
	url string
	key string // where the bridge keeps the tuples: a Sink's key, or "" for the topology's name

	mu      sync.Mutex
	batch   []capturedTuple
	inputs  []*topology.Tuple
	stop    chan struct{}
	stopped chan struct{}
}

// Batches are flushed when this full, or this long after their first tuple.
const (
	captureBatch = 256
	captureDelay = 2 * time.Millisecond
)

func (c *capturer) DeclareOutputFields(topology.OutputDeclarer) {}

func (c *capturer) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	bridgeURL, _ := ctx.Conf[bridgeKey].(string)
	name, _ := ctx.Conf["topology.name"].(string)
	c.out, c.url = out, fmt.Sprintf("%s/capture/%s", bridgeURL, url.PathEscape(cmp.Or(c.key, name)))
	c.stop, c.stopped = make(chan struct{}), make(chan struct{})
	go c.flushLoop()
	return nil
}

func (c *capturer) Execute(t *topology.Tuple) {
	vals, err := json.Marshal(t.Values)
	if err != nil {
		c.out.ReportError(fmt.Errorf("testkit capturer: %w", err))
		c.out.Fail(t)
		return
	}
	c.mu.Lock()
	c.batch = append(c.batch, capturedTuple{Component: t.Component, Stream: t.Stream, Values: vals})
	c.inputs = append(c.inputs, t)
	full := len(c.batch) >= captureBatch
	c.mu.Unlock()
	if full {
		c.flush()
	}
}

func (c *capturer) flushLoop() {
	defer close(c.stopped)
	tick := time.NewTicker(captureDelay)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			c.flush()
			return
		case <-tick.C:
			c.flush()
		}
	}
}

// flush sends the batch, then acks its tuples (fails them if it could not).
func (c *capturer) flush() {
	c.mu.Lock()
	batch, inputs := c.batch, c.inputs
	c.batch, c.inputs = nil, nil
	c.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := postJSON(c.url, batch)
	if err != nil {
		c.out.ReportError(fmt.Errorf("testkit capturer: %w", err))
	}
	for _, t := range inputs {
		if err != nil {
			c.out.Fail(t)
		} else {
			c.out.Ack(t)
		}
	}
}

func (c *capturer) Cleanup() {
	close(c.stop)
	<-c.stopped
}

// decodeValues turns captured JSON back into values; whole numbers become int.
func decodeValues(raw json.RawMessage) topology.Values {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var vals []any
	if err := dec.Decode(&vals); err != nil {
		return topology.Values{string(raw)}
	}
	for i, v := range vals {
		vals[i] = normalize(v)
	}
	return topology.Values(vals)
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
	}
	return v
}

// canonical is the comparison key of a tuple: its JSON, so that 1, int64(1)
// and uint64(1) compare equal.
func canonical(v topology.Values) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// SameMultiset reports whether got and want hold the same tuples, each the
// same number of times, in any order.
func SameMultiset(got, want []topology.Values) bool {
	missing, extra := multisetDiff(got, want)
	return len(missing) == 0 && len(extra) == 0
}

func multisetDiff(got, want []topology.Values) (missing, extra []string) {
	count := map[string]int{}
	for _, v := range want {
		count[canonical(v)]++
	}
	for _, v := range got {
		count[canonical(v)]--
	}
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k)
		}
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// AssertTuples fails t unless got and want are the same multiset of tuples;
// the message lists what is missing and what is extra.
func AssertTuples(t testing.TB, got, want []topology.Values) {
	t.Helper()
	missing, extra := multisetDiff(got, want)
	if len(missing) == 0 && len(extra) == 0 {
		return
	}
	t.Errorf("tuples differ (got %d, want %d):\n  missing: %s\n  extra:   %s",
		len(got), len(want), strings.Join(limit(missing, 20), " "), strings.Join(limit(extra, 20), " "))
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... (%d more)", len(s)-n))
	}
	return s
}
