package topology

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/topology/state"
)

func TestWindowStateStep(t *testing.T) {
	saved := windowState{LastExpired: 3, LastEvaluated: 6}
	for _, tc := range []struct {
		id   int64
		want recoveryStep
	}{
		{1, recoverAck}, {3, recoverAck}, // left a committed window
		{4, recoverRebuild}, {6, recoverRebuild}, // in the last committed window
		{7, recoverDone}, {100, recoverDone}, // never evaluated
	} {
		if got := saved.step(tc.id); got != tc.want {
			t.Errorf("step(%d) = %v, want %v", tc.id, got, tc.want)
		}
	}
	// A stream whose tuples were evaluated but none expired yet.
	if got := (windowState{math.MinInt64, 2}).step(1); got != recoverRebuild {
		t.Errorf("nothing expired: step(1) = %v, want rebuild", got)
	}
}

func TestWindowProgress(t *testing.T) {
	a := func(id int64) *Tuple { return idTuple(2, id) }
	b := func(id int64) *Tuple { return idTuple(3, id) }
	ks := func(task int) taskStream { return taskStream{task, globalStream{"words", DefaultStream}} }
	msgID := func(t *Tuple) int64 { return t.Values[0].(int64) }
	for _, tc := range []struct {
		name           string
		saved          map[taskStream]windowState
		expired, fresh []*Tuple
		want           map[taskStream]windowState
	}{
		{"first window", nil, nil, []*Tuple{a(1), a(2), a(3)},
			map[taskStream]windowState{ks(2): {math.MinInt64, 3}}},
		{"a slide", map[taskStream]windowState{ks(2): {math.MinInt64, 3}}, []*Tuple{a(1), a(2)}, []*Tuple{a(4), a(5)},
			map[taskStream]windowState{ks(2): {2, 5}}},
		{"two streams, out of order", map[taskStream]windowState{ks(3): {10, 20}}, []*Tuple{a(2), a(1)}, []*Tuple{b(22), a(5), b(21)},
			map[taskStream]windowState{ks(2): {2, 5}, ks(3): {10, 22}}},
		{"ids never go back", map[taskStream]windowState{ks(2): {4, 9}}, []*Tuple{a(3)}, []*Tuple{a(8)},
			map[taskStream]windowState{ks(2): {4, 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := windowProgress(tc.saved, tc.expired, tc.fresh, msgID)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// idTuple is a tuple of "words" task task whose one field is its message id.
func idTuple(task int, id int64) *Tuple {
	return &Tuple{Component: "words", Stream: DefaultStream, Task: task, Fields: Fields{"msgid"}, Values: Values{id}}
}

// windowLog is a stateful windowed bolt that emits the first values of the
// tuples of each window (their message ids, in the recovery tests) and
// counts, in its state, how often each window was evaluated.
type windowLog struct {
	out   WindowCollector
	evals state.Map[int]
}

func (l *windowLog) DeclareOutputFields(d OutputDeclarer) { d.Declare(Fields{"ids"}) }
func (l *windowLog) Prepare(_ *Context, out WindowCollector) error {
	l.out = out
	return nil
}
func (l *windowLog) InitState(st state.KeyValueState) { l.evals = state.Map[int]{State: st} }
func (l *windowLog) Execute(w *TupleWindow) {
	var ids []string
	for _, t := range w.Tuples {
		ids = append(ids, fmt.Sprint(t.Values[0]))
	}
	key := strings.Join(ids, " ")
	n, _, _ := l.evals.Get(key)
	_ = l.evals.Put(key, n+1)
	l.out.Emit(Values{key})
}
func (l *windowLog) Cleanup() {}

// windowHarness runs a windowLog bolt "log" (two "words" tasks, 2 and 3, in
// input) through the stateful executor with in-memory states that outlive
// its restarts, as Redis would.
type windowHarness struct {
	t           *testing.T
	topo        *Topology
	user, win   state.KeyValueState
	persisted   windowStates // a persistent window's states
	e           *statefulExecutor
	out         *fakeBoltCollector
	ctx         *Context
	initialized bool
}

func newWindowHarness(t *testing.T, opts ...WindowOption) *windowHarness {
	b := NewBuilder()
	b.SetSpout("words", func() Spout { return nopSpout{} }, 2)
	b.SetStatefulWindowedBolt("log", func() StatefulWindowedBolt { return &windowLog{} }, 1, opts...).GlobalGrouping("words")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h := &windowHarness{t: t, topo: topo, user: state.NewInMemory(), win: state.NewInMemory(),
		persisted: windowStates{state.NewInMemory(), state.NewInMemory(), state.NewInMemory()}}
	h.ctx = &Context{ComponentID: "log", TaskID: 1, Definition: topo.Definition,
		ComponentTasks: map[string][]int{CheckpointComponent: {1}, "words": {2, 3}},
		Conf:           topo.Definition.Bolts["log"].Conf,
		Outputs:        map[string]map[string]StreamDef{"log": topo.Definition.Bolts["log"].Outputs}}
	h.start()
	t.Cleanup(func() { h.e.Cleanup() })
	return h
}

// start makes and prepares a new executor on the saved states.
func (h *windowHarness) start() {
	bolt, err := h.topo.NewBolt("log")
	if err != nil {
		h.t.Fatal(err)
	}
	h.e = bolt.(*statefulExecutor)
	h.e.newState = func(*Context) (state.KeyValueState, error) { return h.user, nil }
	switch w := h.e.bolt.(type) {
	case *statefulWindowed:
		w.newWindowState = func(*Context) (state.KeyValueState, error) { return h.win, nil }
	case *persistentWindowed:
		w.newStates = func(*Context) (windowStates, error) { return h.persisted, nil }
	}
	h.out = &fakeBoltCollector{}
	if err := h.e.Prepare(h.ctx, h.out); err != nil {
		h.t.Fatal(err)
	}
}

// crash loses the executor and whatever its states had not committed,
// and starts a new one, as a worker's kill -9 and relaunch do.
func (h *windowHarness) crash() {
	h.e.Cleanup()
	for _, st := range append([]state.KeyValueState{h.user, h.win}, h.persisted.all()...) {
		if err := st.Rollback(); err != nil {
			h.t.Fatal(err)
		}
	}
	h.start()
}

// feed executes tuples of task with the given ids and returns the events.
func (h *windowHarness) feed(task int, ids ...int64) string {
	for _, id := range ids {
		h.e.Execute(idTuple(task, id))
	}
	return h.events()
}

// checkpoint runs one checkpoint action and returns the events but the
// checkpoint tuple's own forward and ack.
func (h *windowHarness) checkpoint(a CheckpointAction, txid int64) string {
	h.e.Execute(checkpointTuple(a, txid, 1))
	return h.events()
}

// events returns the collector's events since the last call, but the
// checkpoint tuples' forwards and acks.
func (h *windowHarness) events() string {
	var kept []string
	for _, ev := range strings.Split(h.out.take(), "; ") {
		f := strings.Fields(ev)
		forward := len(f) > 1 && f[1] == CheckpointStream
		ack := len(f) == 3 && f[0] == "ack" && f[2] == strings.ToUpper(f[2])
		if ev != "" && !forward && !ack {
			kept = append(kept, ev)
		}
	}
	return strings.Join(kept, "; ")
}

// commit runs PREPARE and COMMIT of txid and returns the events.
func (h *windowHarness) commit(txid int64) string {
	h.checkpoint(ActionPrepare, txid)
	return h.checkpoint(ActionCommit, txid)
}

func (h *windowHarness) expect(what, got, want string) {
	h.t.Helper()
	if got != want {
		h.t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// evaluations returns how often each window was evaluated, as the state says.
func (h *windowHarness) evaluations() string {
	var out []string
	_ = h.user.Range(func(k string, v []byte) bool {
		out = append(out, k+"="+string(v))
		return true
	})
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// A crash after a commit: the replayed tuples of the committed windows
// rebuild the window without triggering it, a replayed tuple that left a
// committed window is acked, and the window evaluated but not committed
// before the crash is evaluated again, on the same tuples.
func TestStatefulWindowedRecoveryAfterCommit(t *testing.T) {
	h := newWindowHarness(t, WithTumblingWindow(Count(3)), WithMessageIdField("msgid"))
	h.checkpoint(ActionInitState, -1)
	h.expect("before the first commit", h.feed(2, 1, 2, 3, 4, 5, 6, 7), "emit default [1 2 3]; emit default [4 5 6]")
	h.expect("first commit", h.commit(0), "ack 1; ack 2; ack 3")
	h.expect("after the commit", h.feed(2, 8, 9, 10), "emit default [7 8 9]")
	h.crash()

	h.checkpoint(ActionInitState, 0)
	// 3's ack died with the worker; 4..6 were in the committed window [4 5 6].
	h.expect("replayed committed tuples", h.feed(2, 3, 4, 5, 6), "")
	h.expect("replays past the committed window", h.feed(2, 7, 8, 9, 10, 11, 12), "emit default [7 8 9]; emit default [10 11 12]")
	h.expect("commit after recovery", h.commit(1),
		"ack 3; ack 4; ack 5; ack 6; ack 7; ack 8; ack 9")
	h.expect("evaluations", h.evaluations(), "1 2 3=1, 10 11 12=1, 4 5 6=1, 7 8 9=1")
}

// A sliding window: after recovery the windows slide on as they would have
// without the crash.
func TestStatefulWindowedRecoverySliding(t *testing.T) {
	h := newWindowHarness(t, WithWindow(Count(5), Count(3)), WithMessageIdField("msgid"))
	h.checkpoint(ActionInitState, -1)
	h.expect("before the crash", h.feed(2, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		"emit default [1 2 3]; emit default [2 3 4 5 6]; emit default [5 6 7 8 9]")
	h.checkpoint(ActionPrepare, 0) // [5 6 7 8 9] evaluated, 1..4 expired: prepared, never committed
	h.crash()

	h.checkpoint(ActionRollback, 0)
	h.checkpoint(ActionInitState, -1)
	// Nothing committed: no window state, every tuple is new.
	h.expect("replay with nothing committed", h.feed(2, 1, 2, 3, 4, 5, 6),
		"emit default [1 2 3]; emit default [2 3 4 5 6]")
	h.expect("commit", h.commit(0), "ack 1")
	h.crash()

	h.checkpoint(ActionInitState, 0)
	h.expect("replays of the committed windows", h.feed(2, 1, 2, 3, 4, 5, 6), "") // 1 acked at the next commit
	h.expect("new tuples", h.feed(2, 7, 8, 9, 10, 11, 12), "emit default [5 6 7 8 9]; emit default [8 9 10 11 12]")
	h.expect("evaluations", h.evaluations(), "1 2 3=1, 2 3 4 5 6=1, 5 6 7 8 9=1, 8 9 10 11 12=1")
}

// Two source tasks: tuples of a stream without saved state (or already
// recovered) wait until every stream with saved state has ended its
// recovery; a PREPARE during recovery leaves the window state alone.
func TestStatefulWindowedRecoveryTwoSources(t *testing.T) {
	h := newWindowHarness(t, WithTumblingWindow(Count(2)), WithMessageIdField("msgid"))
	h.checkpoint(ActionInitState, -1)
	h.expect("before the crash", h.feed(2, 1, 2)+"; "+h.feed(3, 101, 102), "emit default [1 2]; emit default [101 102]")
	h.commit(0) // saved: task 2 {2, 2}, task 3 {-, 102}
	h.crash()

	h.checkpoint(ActionInitState, 0)
	h.expect("task 2: 1 and 2 left a committed window, 3 is new", h.feed(2, 1, 2, 3), "")
	h.expect("a prepare while task 3 recovers", h.checkpoint(ActionPrepare, 1), "")
	h.expect("task 3 recovers: everything waiting runs", h.feed(3, 101, 102, 103), "emit default [3 103]")
	h.expect("the commit of the transaction prepared during recovery", h.checkpoint(ActionCommit, 1), "ack 1; ack 2")
	h.crash()
	if raw, _, _ := h.win.Get(taskStream{2, globalStream{"words", DefaultStream}}.key()); string(raw) != `{"lastExpired":2,"lastEvaluated":2}` {
		t.Errorf("committed window state of task 2: %s, want it untouched by the transaction prepared during recovery", raw)
	}
}

// Storm's errors: no message id field at prepare (and at build), a tuple
// without one is failed.
func TestStatefulWindowedMessageIDField(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("words", func() Spout { return nopSpout{} }, 1)
	b.SetStatefulWindowedBolt("log", func() StatefulWindowedBolt { return &windowLog{} }, 1, WithTumblingWindow(Count(2))).GlobalGrouping("words")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "topology.bolts.message.id.field.name is not set") {
		t.Errorf("build without a message id field: %v", err)
	}
	s := newStatefulWindowed(newWindowedExecutor(&windowLog{}, ""))
	err := s.Prepare(&Context{ComponentID: "log", Conf: map[string]any{ConfWindowLengthCount: 2}}, &fakeBoltCollector{})
	if err == nil || err.Error() != "stateful windowed bolt: topology.bolts.message.id.field.name is not set" {
		t.Errorf("prepare without a message id field: %v", err)
	}

	h := newWindowHarness(t, WithTumblingWindow(Count(2)), WithMessageIdField("msgid"))
	h.checkpoint(ActionInitState, -1)
	h.e.Execute(&Tuple{Component: "words", Stream: DefaultStream, Task: 2, Fields: Fields{"msgid"}, Values: Values{"x"}})
	h.expect("a tuple whose message id is no integer", h.events(), "fail x")
}

// A held window manager neither counts toward its trigger, nor fires on its
// timer, nor makes watermarks (Storm's policies before start()); released,
// it triggers again.
func TestHeldWindowManager(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec windowSpec
		tick func(m *windowManager, g *watermarkGenerator)
	}{
		{"count", windowSpec{lengthCount: 2, slideCount: 2}, func(*windowManager, *watermarkGenerator) {}},
		{"time", windowSpec{lengthMs: 10, slideMs: 10}, func(m *windowManager, _ *watermarkGenerator) { m.trigger.(*timeTrigger).fire() }},
		{"watermark", windowSpec{lengthMs: 10, slideMs: 10, tsField: "ts"}, func(_ *windowManager, g *watermarkGenerator) { g.run() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now, windows := int64(0), 0
			m := newWindowManager(tc.spec, func() int64 { return now }, func([]*Tuple) {}, func(*TupleWindow) { windows++ })
			g := &watermarkGenerator{m: m, inputs: 1, streamTs: map[streamID]int64{}}
			add := func(ts ...int64) {
				for _, v := range ts {
					now = v
					g.track(streamID{"words", DefaultStream}, v)
					m.add(&Tuple{Values: Values{int(v)}}, v)
				}
			}
			m.held = true
			add(1, 2, 3, 25)
			tc.tick(m, g)
			if windows != 0 {
				t.Fatalf("%d windows while held", windows)
			}
			m.held = false
			add(26, 27)
			tc.tick(m, g)
			if windows == 0 {
				t.Fatal("no window once released")
			}
		})
	}
}
