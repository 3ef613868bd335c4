package worker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// feed is what the test puts into the ready spouts of a topology: values
// for a task, and each task's signal.
type feed struct {
	mu      sync.Mutex
	queued  map[int][]string // task → values not yet emitted
	signal  map[int]chan struct{}
	calls   atomic.Int64 // NextTuple calls, all tasks
	readies atomic.Int64 // Ready calls, all tasks
	active  atomic.Int64 // Activate calls minus Deactivate calls
	got     chan string  // what the sink received
}

func newFeed() *feed {
	return &feed{queued: map[int][]string{}, signal: map[int]chan struct{}{}, got: make(chan string, 16)}
}

// push queues v for task and signals its spout, as a spout fed by another
// goroutine does.
func (f *feed) push(task int, v string) {
	f.mu.Lock()
	f.queued[task] = append(f.queued[task], v)
	ch := f.signal[task]
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

// readySpout emits what the test pushes for its task; it is never ready on
// its own.
type readySpout struct {
	f    *feed
	task int
	out  topology.SpoutCollector
}

func (s *readySpout) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"v"}) }
func (s *readySpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.task, s.out = ctx.TaskID, out
	s.f.mu.Lock()
	s.f.signal[s.task] = make(chan struct{}, 1)
	s.f.mu.Unlock()
	return nil
}
func (s *readySpout) Close()      {}
func (s *readySpout) Activate()   { s.f.active.Add(1) }
func (s *readySpout) Deactivate() { s.f.active.Add(-1) }
func (s *readySpout) Ack(any)     {}
func (s *readySpout) Fail(any)    {}
func (s *readySpout) NextTuple() {
	s.f.calls.Add(1)
	s.f.mu.Lock()
	q := s.f.queued[s.task]
	if len(q) > 0 {
		s.f.queued[s.task] = q[1:]
	}
	s.f.mu.Unlock()
	if len(q) > 0 {
		s.out.Emit(topology.Values{q[0]}, q[0])
	}
}
func (s *readySpout) Ready() <-chan struct{} {
	s.f.readies.Add(1)
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.f.signal[s.task]
}

type feedSink struct{ f *feed }

func (b *feedSink) DeclareOutputFields(topology.OutputDeclarer) {}
func (b *feedSink) Prepare(*topology.Context) error             { return nil }
func (b *feedSink) Execute(t *topology.Tuple, _ topology.BasicCollector) error {
	b.f.got <- t.String(0)
	return nil
}
func (b *feedSink) Cleanup() {}

// waitIdle waits until every spout task of the feed has asked for its Ready
// channel with nothing queued, that is until the executor sleeps on it.
func (f *feed) waitIdle(t *testing.T, tasks int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the spout waiting on Ready", func() bool {
		return f.readies.Load() >= int64(tasks)
	})
}

// expect waits for the sink to receive v: the pushed tuple must wake the
// spout's executor.
func (f *feed) expect(t *testing.T, v string) {
	t.Helper()
	select {
	case got := <-f.got:
		if got != v {
			t.Fatalf("sink got %q, want %q", got, v)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q never reached the sink: nothing woke the spout's executor", v)
	}
}

// TestReadySpoutIsNotPolled: a topology.ReadySpout with nothing to emit is
// not called again until its channel is ready (a plain spout would be
// called ~60 times a second), and then emits at once. With two tasks in one
// executor, either task's channel wakes it.
func TestReadySpoutIsNotPolled(t *testing.T) {
	for _, tasks := range []int{1, 2} {
		t.Run(fmt.Sprintf("tasks=%d", tasks), func(t *testing.T) {
			f := newFeed()
			b := topology.NewBuilder()
			b.SetSpout("s", func() topology.Spout { return &readySpout{f: f} }, 1).SetNumTasks(tasks)
			b.SetBasicBolt("sink", func() topology.BasicBolt { return &feedSink{f: f} }, 1).ShuffleGrouping("s")
			p := startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 0})
			f.waitIdle(t, tasks)
			calls := f.calls.Load()
			time.Sleep(200 * time.Millisecond) // a polling executor would call NextTuple ~12 times here
			if n := f.calls.Load() - calls; n != 0 {
				t.Fatalf("NextTuple called %d times while the spout was not ready, want 0", n)
			}
			task := p.w.rt.componentTasks["s"][tasks-1]
			f.push(task, "hello")
			f.expect(t, "hello")
		})
	}
}

// TestIdleSpoutWakesOnStatusChange: an idle spout waiting on its Ready
// channel (or an inactive one) sees a deactivation and an activation at
// once, without polling for them.
func TestIdleSpoutWakesOnStatusChange(t *testing.T) {
	f := newFeed()
	b := topology.NewBuilder()
	b.SetSpout("s", func() topology.Spout { return &readySpout{f: f} }, 1)
	b.SetBasicBolt("sink", func() topology.BasicBolt { return &feedSink{f: f} }, 1).ShuffleGrouping("s")
	p := startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 0})
	f.waitIdle(t, 1)
	testutil.Eventually(t, 10*time.Second, "Activate called", func() bool { return f.active.Load() == 1 })
	p.w.rt.active.Swap(false)
	testutil.Eventually(t, 10*time.Second, "Deactivate called", func() bool { return f.active.Load() == 0 })
	calls := f.calls.Load()
	p.w.rt.active.Swap(true)
	testutil.Eventually(t, 10*time.Second, "Activate called again", func() bool { return f.active.Load() == 1 })
	f.push(p.w.rt.componentTasks["s"][0], "again")
	f.expect(t, "again")
	if f.calls.Load() == calls {
		t.Fatal("NextTuple not called after the activation")
	}
}
