package testkit

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// FeederSpout is a spout the test feeds while the topology runs; the test sees
// each fed tuple's ack or fail. Make it with Cluster.NewFeederSpout, put
// Spout() into the builder, submit, then Feed.
type FeederSpout struct {
	c      *Cluster
	name   string
	fields topology.Fields
}

// feederQueue is the bridge side of a feeder: tuples waiting to be taken by
// the spout task and the results of those emitted.
type feederQueue struct {
	next    int
	waiting []mockItem
	results map[int]bool // id → acked (true) or failed (false)
	// reliable feeders replay: a failed tuple and, when a new spout task
	// opens (its worker was restarted), every tuple taken and not acked.
	reliable bool
	inflight map[int]mockItem
	taken    map[int]int // id → how many times a spout task took it
}

// NewFeederSpout makes a feeder spout emitting tuples of fields; name must
// be unique within the test.
func (c *Cluster) NewFeederSpout(name string, fields topology.Fields) *FeederSpout {
	if c.bridge != nil {
		c.bridge.mu.Lock()
		c.bridge.feeders[name] = &feederQueue{results: map[int]bool{}, taken: map[int]int{}}
		c.bridge.mu.Unlock()
	}
	return &FeederSpout{c: c, name: name, fields: fields}
}

// NewReliableFeederSpout makes a feeder that behaves as a replayable
// source (a queue with offsets, as Kafka's spout): a tuple that fails or
// times out is emitted again, and when its task restarts after a worker
// crash, every tuple the dead task had taken and not seen acked is emitted
// again. The test sees only acks (Result never reports a failure).
func (c *Cluster) NewReliableFeederSpout(name string, fields topology.Fields) *FeederSpout {
	f := c.NewFeederSpout(name, fields)
	if c.bridge != nil {
		c.bridge.mu.Lock()
		q := c.bridge.feeders[name]
		q.reliable, q.inflight = true, map[int]mockItem{}
		c.bridge.mu.Unlock()
	}
	return f
}

// Acked returns how many of the fed tuples have been acked.
func (f *FeederSpout) Acked() int {
	b := f.c.bridge
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, acked := range b.feeders[f.name].results {
		if acked {
			n++
		}
	}
	return n
}

// Spout is the factory to give the builder (use parallelism 1).
func (f *FeederSpout) Spout() func() topology.Spout {
	return func() topology.Spout { return &feederSpout{name: f.name, fields: f.fields} }
}

// Feed queues a tuple for the spout and returns its id.
func (f *FeederSpout) Feed(values topology.Values) int {
	b := f.c.bridge
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.feeders[f.name]
	id := q.next
	q.next++
	q.waiting = append(q.waiting, mockItem{Index: id, Values: values})
	b.notify()
	return id
}

// Attempts returns how many times tuple id went to the spout: 1, plus one
// per replay (a fail, a timeout, or its task's worker dying with it). Its
// effects downstream may be seen up to that many times, as Storm's
// at-least-once processing allows, and no more.
func (f *FeederSpout) Attempts(id int) int {
	b := f.c.bridge
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.feeders[f.name].taken[id]
}

// Result returns whether tuple id was acked (true) or failed (false), and
// whether it has a result yet.
func (f *FeederSpout) Result(id int) (acked, known bool) {
	b := f.c.bridge
	b.mu.Lock()
	defer b.mu.Unlock()
	acked, known = b.feeders[f.name].results[id]
	return acked, known
}

// WaitResult waits for tuple id's ack (true) or fail (false).
func (f *FeederSpout) WaitResult(t testing.TB, id int) bool {
	t.Helper()
	var acked bool
	f.c.waitBridge(t, fmt.Sprintf("feeder %s: tuple %d acked or failed", f.name, id), 0, func() (known bool, _ string) {
		acked, known = f.Result(id)
		return known, "no result"
	})
	return acked
}

// handleFeederNext hands the spout the fed tuples waiting for it; with
// ?wait, it waits for some (up to feederLongPoll) rather than answering 204
// at once.
func (b *bridge) handleFeederNext(w http.ResponseWriter, r *http.Request) {
	var wait time.Duration
	if r.URL.Query().Has("wait") {
		wait = feederLongPoll
	}
	var items []mockItem
	missing := false
	b.longPoll(r, wait, func() bool {
		q := b.feeders[r.PathValue("name")]
		if q == nil {
			missing = true
			return true
		}
		items, q.waiting = q.waiting, nil
		for _, it := range items {
			q.taken[it.Index]++
			if q.reliable {
				q.inflight[it.Index] = it
			}
		}
		return len(items) > 0
	})
	switch {
	case missing:
		http.Error(w, "no such feeder", http.StatusNotFound)
	case len(items) > 0:
		writeJSON(w, items)
	case r.Context().Err() == nil:
		w.WriteHeader(http.StatusNoContent)
	}
}

// feederLongPoll is how long the bridge holds a feeder's request for tuples.
const feederLongPoll = 10 * time.Second

func (b *bridge) handleFeederResult(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.feederOf(w, r)
	if q == nil {
		return
	}
	acked := r.PathValue("result") == "ack"
	if q.reliable {
		attempt, _ := strconv.Atoi(r.URL.Query().Get("attempt"))
		it, ok := q.inflight[id]
		if !ok || it.Attempt != attempt {
			return // a result of an attempt already replayed
		}
		if !acked {
			delete(q.inflight, id)
			q.replay(it)
			b.notify()
			return
		}
		delete(q.inflight, id)
	}
	q.results[id] = acked
	b.notify()
}

// handleFeederOpen replays, for a reliable feeder, what the previous task
// took and never settled: a new task opens only when the old one is gone.
func (b *bridge) handleFeederOpen(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.feederOf(w, r)
	if q == nil || !q.reliable {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(q.inflight)) {
		q.replay(q.inflight[id])
	}
	clear(q.inflight)
	b.notify()
}

// feederOf returns the feeder the request names, or answers 404 and
// returns nil. The caller holds b.mu.
func (b *bridge) feederOf(w http.ResponseWriter, r *http.Request) *feederQueue {
	q := b.feeders[r.PathValue("name")]
	if q == nil {
		http.Error(w, "no such feeder", http.StatusNotFound)
	}
	return q
}

// replay queues it again as its next attempt.
func (q *feederQueue) replay(it mockItem) {
	it.Attempt++
	q.waiting = append(q.waiting, it)
}

// feederSpout runs in the worker: a goroutine long-polls the bridge for
// fed tuples, and the spout, a topology.ReadySpout, is woken when some
// arrive, so that an idle feeder costs nothing. Each ack and fail is
// reported to the bridge.
type feederSpout struct {
	name   string
	fields topology.Fields
	out    topology.SpoutCollector
	base   string
	queue  []mockItem // taken from fetched by NextTuple

	mu      sync.Mutex
	fetched []mockItem // from the poller, not yet taken
	pollErr error      // the poller's last error, reported by NextTuple
	signal  chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

func (s *feederSpout) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(s.fields) }

func (s *feederSpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	bridgeURL, _ := ctx.Conf[bridgeKey].(string)
	if bridgeURL == "" {
		return fmt.Errorf("testkit feeder spout: no bridge in the topology conf")
	}
	s.out, s.base = out, bridgeURL+"/feeder/"+url.PathEscape(s.name)
	if err := postJSON(s.base+"/open", nil); err != nil {
		return err
	}
	pollCtx, stop := context.WithCancel(context.Background())
	s.signal, s.stop, s.done = make(chan struct{}, 1), stop, make(chan struct{})
	go s.poll(pollCtx)
	return nil
}

// poll takes fed tuples from the bridge as they come, until Close.
func (s *feederSpout) poll(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		var items []mockItem
		err := getJSONContext(ctx, s.base+"?wait=1", &items)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.fetched = append(s.fetched, items...)
		if err != nil {
			s.pollErr = err
		}
		s.mu.Unlock()
		select {
		case s.signal <- struct{}{}:
		default:
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (s *feederSpout) NextTuple() {
	if len(s.queue) == 0 {
		s.mu.Lock()
		s.queue, s.fetched = s.fetched, nil
		err := s.pollErr
		s.pollErr = nil
		s.mu.Unlock()
		if err != nil {
			s.out.ReportError(err)
		}
	}
	if len(s.queue) > 0 {
		it := s.queue[0]
		s.queue = s.queue[1:]
		s.out.Emit(it.Values, feederMsg{it.Index, it.Attempt})
	}
}

// Ready is the poller's signal: fed tuples (or an error) arrived.
func (s *feederSpout) Ready() <-chan struct{} {
	if len(s.queue) > 0 {
		return topology.ReadyAfter(0)
	}
	return s.signal
}

// feederMsg is a fed tuple's message id: its id and replay attempt.
type feederMsg struct{ index, attempt int }

func (s *feederSpout) Ack(id any)  { s.report(id, "ack") }
func (s *feederSpout) Fail(id any) { s.report(id, "fail") }

func (s *feederSpout) report(id any, result string) {
	m := id.(feederMsg)
	if err := postJSON(fmt.Sprintf("%s/%d/%s?attempt=%d", s.base, m.index, result, m.attempt), nil); err != nil {
		s.out.ReportError(err)
	}
}

func (s *feederSpout) Close() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
}
func (s *feederSpout) Activate()   {}
func (s *feederSpout) Deactivate() {}
