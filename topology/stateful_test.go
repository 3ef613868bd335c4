package topology

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology/state"
)

type spoutEmit struct {
	values Values
	msgID  any
}

type fakeSpoutCollector struct{ emits []spoutEmit }

func (c *fakeSpoutCollector) Emit(v Values, id any) []int { return c.EmitStream(DefaultStream, v, id) }
func (c *fakeSpoutCollector) EmitStream(_ string, v Values, id any) []int {
	c.emits = append(c.emits, spoutEmit{v, id})
	return nil
}
func (c *fakeSpoutCollector) EmitDirect(int, string, Values, any) {}
func (c *fakeSpoutCollector) ReportError(err error)               { panic(err) }

// next runs NextTuple and returns what it emitted ("" for nothing).
func (c *fakeSpoutCollector) next(s Spout) string {
	n := len(c.emits)
	s.NextTuple()
	if len(c.emits) == n {
		return ""
	}
	e := c.emits[len(c.emits)-1]
	return fmt.Sprintf("%v %v", e.values[1], e.values[0])
}

func TestCheckpointSpoutProtocol(t *testing.T) {
	now := time.Unix(1000, 0)
	st := state.NewInMemory()
	out := &fakeSpoutCollector{}
	s := &checkpointSpout{now: func() time.Time { return now }}
	if err := s.open(out, st, time.Second); err != nil {
		t.Fatal(err)
	}
	step := func(want string) {
		t.Helper()
		if got := out.next(s); got != want {
			t.Fatalf("NextTuple emitted %q, want %q (state %+v, recovering %v)", got, want, s.cur, s.recovering)
		}
	}
	step("INITSTATE -1") // a new topology starts with recovery
	step("")             // one step at a time
	s.Ack(int64(-1))
	step("PREPARE 0")
	s.Ack(int64(0))
	step("COMMIT 0")
	s.Ack(int64(0))
	step("") // committed: wait for the interval
	now = now.Add(1100 * time.Millisecond)
	step("PREPARE 1")
	s.Fail(int64(1)) // a failed checkpoint starts recovery
	step("ROLLBACK 1")
	s.Ack(int64(1))
	step("INITSTATE 0")
	s.Ack(int64(0))
	now = now.Add(1100 * time.Millisecond)
	step("PREPARE 1")
	s.Ack(int64(99)) // a stale ack does not advance
	step("PREPARE 1")
	s.Ack(int64(1))

	// The spout restarts while committing: recovery finishes the commit.
	again := &checkpointSpout{now: func() time.Time { return now }}
	out2 := &fakeSpoutCollector{}
	if err := again.open(out2, st, time.Second); err != nil {
		t.Fatal(err)
	}
	s, out = again, out2
	step("COMMIT 1")
	s.Ack(int64(1))
	step("INITSTATE 1")
	s.Ack(int64(1))
	now = now.Add(1100 * time.Millisecond)
	step("PREPARE 2")
}

type boltEvent struct {
	kind   string // ack, fail, emit
	tuple  *Tuple
	values Values
}

type fakeBoltCollector struct {
	events   []boltEvent
	anchored int // emits with anchors, but checkpoint forwards
}

func (c *fakeBoltCollector) Emit(a []*Tuple, v Values) []int {
	return c.EmitStream(DefaultStream, a, v)
}
func (c *fakeBoltCollector) EmitStream(s string, a []*Tuple, v Values) []int {
	if len(a) > 0 && s != CheckpointStream {
		c.anchored++
	}
	c.events = append(c.events, boltEvent{kind: "emit " + s, values: v})
	return nil
}
func (c *fakeBoltCollector) EmitDirect(int, string, []*Tuple, Values) {}
func (c *fakeBoltCollector) Ack(t *Tuple) {
	c.events = append(c.events, boltEvent{kind: "ack", tuple: t})
}
func (c *fakeBoltCollector) Fail(t *Tuple) {
	c.events = append(c.events, boltEvent{kind: "fail", tuple: t})
}
func (c *fakeBoltCollector) ReportError(error) {}

// take returns the events since the last call, as text.
func (c *fakeBoltCollector) take() string {
	var parts []string
	for _, e := range c.events {
		switch {
		case e.tuple != nil:
			parts = append(parts, e.kind+" "+strings.TrimSpace(fmt.Sprintln(e.tuple.Values...)))
		default:
			parts = append(parts, fmt.Sprint(e.kind, " ", e.values))
		}
	}
	c.events = nil
	return strings.Join(parts, "; ")
}

// counter counts words in its state.
type counter struct {
	out    BoltCollector
	counts state.Map[int]
}

func (c *counter) DeclareOutputFields(OutputDeclarer)          {}
func (c *counter) Prepare(_ *Context, out BoltCollector) error { c.out = out; return nil }
func (c *counter) InitState(s state.KeyValueState)             { c.counts = state.Map[int]{State: s} }
func (c *counter) Cleanup()                                    {}
func (c *counter) Execute(t *Tuple) {
	n, _, _ := c.counts.Get(t.String(0))
	_ = c.counts.Put(t.String(0), n+1)
	c.out.Ack(t)
}

func checkpointTuple(a CheckpointAction, txid int64, task int) *Tuple {
	return &Tuple{Component: CheckpointComponent, Stream: CheckpointStream, Task: task,
		Fields: Fields{CheckpointFieldTxid, CheckpointFieldAction}, Values: Values{txid, string(a)}}
}

func word(w string) *Tuple {
	return &Tuple{Component: "words", Stream: DefaultStream, Fields: Fields{"word"}, Values: Values{w}}
}

func boltContext(sources map[string]int) *Context {
	def := &Definition{Bolts: map[string]*ComponentDef{"count": {ID: "count"}}}
	tasks := map[string][]int{}
	next := 10
	for src, n := range sources {
		def.Bolts["count"].Inputs = append(def.Bolts["count"].Inputs, InputDef{Component: src, Stream: CheckpointStream})
		for range n {
			tasks[src] = append(tasks[src], next)
			next++
		}
	}
	return &Context{ComponentID: "count", TaskID: 1, Definition: def, ComponentTasks: tasks, Conf: map[string]any{}}
}

func TestStatefulExecutorProtocol(t *testing.T) {
	c := &counter{}
	e := newStatefulExecutor(c)
	out := &fakeBoltCollector{}
	st := state.NewInMemory()
	e.newState = func(*Context) (state.KeyValueState, error) { return st, nil }
	if err := e.Prepare(boltContext(map[string]int{CheckpointComponent: 1}), out); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		if got := out.take(); got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
	count := func(w string, want int) {
		t.Helper()
		if n, _, _ := (state.Map[int]{State: st}).Get(w); n != want {
			t.Fatalf("count of %s = %d, want %d", w, n, want)
		}
	}

	e.Execute(word("cow"))
	if c.counts.State != nil {
		t.Fatal("Execute reached the bolt before INITSTATE")
	}
	e.Execute(checkpointTuple(ActionPrepare, 0, 10))
	expect("fail 0 PREPARE") // not initialised: fail, so the spout recovers
	e.Execute(checkpointTuple(ActionInitState, -1, 10))
	expect("emit $checkpoint [-1 INITSTATE]; ack -1 INITSTATE") // the buffered cow is counted, its ack held
	count("cow", 1)
	e.Execute(checkpointTuple(ActionPrepare, 0, 10))
	expect("emit $checkpoint [0 PREPARE]; ack 0 PREPARE")
	e.Execute(word("moon"))
	e.Execute(checkpointTuple(ActionCommit, 0, 10))
	expect("ack cow; emit $checkpoint [0 COMMIT]; ack 0 COMMIT") // cow's effect is committed: acked now
	e.Execute(checkpointTuple(ActionPrepare, 1, 10))
	expect("emit $checkpoint [1 PREPARE]; ack 1 PREPARE")
	e.Execute(word("cow"))
	count("cow", 2)
	// The commit of 1 fails elsewhere: ROLLBACK fails moon (prepared) and
	// cow (acked since), and the state is back at transaction 0.
	e.Execute(checkpointTuple(ActionRollback, 1, 10))
	expect("fail moon; fail cow; emit $checkpoint [1 ROLLBACK]; ack 1 ROLLBACK")
	count("cow", 1)
	count("moon", 0)
	e.Execute(checkpointTuple(ActionInitState, 0, 10))
	expect("emit $checkpoint [0 INITSTATE]; ack 0 INITSTATE") // already initialised: forwarded only
	// The replays count once.
	e.Execute(word("moon"))
	e.Execute(word("cow"))
	e.Execute(checkpointTuple(ActionPrepare, 1, 10))
	e.Execute(checkpointTuple(ActionCommit, 1, 10))
	expect("emit $checkpoint [1 PREPARE]; ack 1 PREPARE; ack moon; ack cow; emit $checkpoint [1 COMMIT]; ack 1 COMMIT")
	count("cow", 2)
	count("moon", 1)
	// An old transaction is acked and ignored.
	e.Execute(checkpointTuple(ActionPrepare, 0, 10))
	expect("ack 0 PREPARE")
}

// A bolt with two upstream tasks acts on a checkpoint only when both sent
// it (Storm's barrier); the forwarder passes it on anchored.
func TestCheckpointForwarderWaitsForEveryInputTask(t *testing.T) {
	inner := &recordingBolt{}
	f := newCheckpointForwarder(inner)
	out := &fakeBoltCollector{}
	if err := f.Prepare(boltContext(map[string]int{"split": 2}), out); err != nil {
		t.Fatal(err)
	}
	f.Execute(checkpointTuple(ActionPrepare, 3, 10))
	if got := out.take(); got != "ack 3 PREPARE" {
		t.Fatalf("first of two: %q", got)
	}
	f.Execute(word("cow"))
	f.Execute(checkpointTuple(ActionPrepare, 3, 11))
	if got := out.take(); got != "emit $checkpoint [3 PREPARE]; ack 3 PREPARE" {
		t.Fatalf("second of two: %q", got)
	}
	if len(inner.seen) != 1 || inner.seen[0] != "cow" {
		t.Fatalf("bolt saw %v, want the data tuple only", inner.seen)
	}
}

type recordingBolt struct{ seen []string }

func (b *recordingBolt) DeclareOutputFields(OutputDeclarer)    {}
func (b *recordingBolt) Prepare(*Context, BoltCollector) error { return nil }
func (b *recordingBolt) Execute(t *Tuple)                      { b.seen = append(b.seen, t.String(0)) }
func (b *recordingBolt) Cleanup()                              {}

type splitter struct{ recordingBolt }

func (splitter) DeclareOutputFields(d OutputDeclarer) { d.Declare(Fields{"word"}) }

type nopSpout struct{}

func (nopSpout) DeclareOutputFields(d OutputDeclarer) { d.Declare(Fields{"sentence"}) }
func (nopSpout) Open(*Context, SpoutCollector) error  { return nil }
func (nopSpout) Close()                               {}
func (nopSpout) Activate()                            {}
func (nopSpout) Deactivate()                          {}
func (nopSpout) NextTuple()                           {}
func (nopSpout) Ack(any)                              {}
func (nopSpout) Fail(any)                             {}

// Build wires checkpoints as Storm's TopologyBuilder: the checkpoint spout,
// $checkpoint from it to the bolts fed by spouts and from each bolt to the
// bolts it feeds, all grouping; nothing when no bolt is stateful.
func TestBuildWiresCheckpoints(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("sentences", func() Spout { return nopSpout{} }, 1)
	b.SetBolt("split", func() Bolt { return &splitter{} }, 2).ShuffleGrouping("sentences")
	b.SetStatefulBolt("count", func() StatefulBolt { return &counter{} }, 2).FieldsGrouping("split", Fields{"word"})
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := topo.Definition
	if d.Spouts[CheckpointComponent] == nil || d.Spouts[CheckpointComponent].Parallelism != 1 {
		t.Fatalf("no checkpoint spout: %v", d.Spouts)
	}
	inputs := func(id string) string {
		var s []string
		for _, in := range d.Bolts[id].Inputs {
			s = append(s, in.Component+"/"+in.Stream+"/"+in.Grouping.Type)
		}
		return strings.Join(s, " ")
	}
	if got := inputs("split"); got != "sentences/default/shuffle $checkpointspout/$checkpoint/all" {
		t.Errorf("split inputs %s", got)
	}
	if got := inputs("count"); got != "split/default/fields split/$checkpoint/all" {
		t.Errorf("count inputs %s", got)
	}
	for _, id := range []string{"split", "count"} {
		if _, ok := d.Bolts[id].Outputs[CheckpointStream]; !ok {
			t.Errorf("%s does not declare %s", id, CheckpointStream)
		}
	}
	if bolt, _ := topo.NewBolt("split"); fmt.Sprintf("%T", bolt) != "*topology.checkpointForwarder" {
		t.Errorf("split runs as %T, want the checkpoint forwarder", bolt)
	}
	if spout, err := topo.NewSpout(CheckpointComponent); err != nil || fmt.Sprintf("%T", spout) != "*topology.checkpointSpout" {
		t.Errorf("checkpoint spout: %T %v", spout, err)
	}
	if err := ValidateState(d, map[string]any{state.ConfProvider: "com.example.Nope"}); err == nil || !strings.Contains(err.Error(), "unknown state provider") {
		t.Errorf("unknown provider: %v", err)
	}

	plain := NewBuilder()
	plain.SetSpout("sentences", func() Spout { return nopSpout{} }, 1)
	plain.SetBolt("split", func() Bolt { return &splitter{} }, 1).ShuffleGrouping("sentences")
	pt, err := plain.Build()
	if err != nil {
		t.Fatal(err)
	}
	if pt.Definition.Spouts[CheckpointComponent] != nil || len(pt.Definition.Bolts["split"].Inputs) != 1 {
		t.Errorf("a topology without stateful bolts got checkpoint wiring")
	}
}

// A stateful windowed bolt: windows and state together, and the tuples
// that leave a window are acked at the next commit, not when they leave.
func TestStatefulWindowedBoltAcksAtCommit(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("words", func() Spout { return nopSpout{} }, 1)
	b.SetStatefulWindowedBolt("sum", func() StatefulWindowedBolt { return &windowLog{} }, 1,
		WithTumblingWindow(Count(2)), WithMessageIdField("msgid")).GlobalGrouping("words")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := topo.NewBolt("sum")
	if err != nil {
		t.Fatal(err)
	}
	e := bolt.(*statefulExecutor)
	st := state.NewInMemory()
	e.newState = func(*Context) (state.KeyValueState, error) { return st, nil }
	e.bolt.(*statefulWindowed).newWindowState = func(*Context) (state.KeyValueState, error) { return state.NewInMemory(), nil }
	ctx := &Context{ComponentID: "sum", TaskID: 1, Definition: topo.Definition,
		ComponentTasks: map[string][]int{CheckpointComponent: {1}, "words": {2}},
		Conf:           topo.Definition.Bolts["sum"].Conf,
		Outputs:        map[string]map[string]StreamDef{"sum": topo.Definition.Bolts["sum"].Outputs}}
	out := &fakeBoltCollector{}
	if err := e.Prepare(ctx, out); err != nil {
		t.Fatal(err)
	}
	defer e.Cleanup()
	e.Execute(checkpointTuple(ActionInitState, -1, 1))
	out.take()
	for i, w := range []string{"a", "b", "c", "d"} {
		e.Execute(&Tuple{Component: "words", Stream: DefaultStream, Task: 2, Fields: Fields{"word", "msgid"}, Values: Values{w, int64(i)}})
	}
	// Windows a,b and c,d ran; a and b left the window, their acks held.
	if got := out.take(); got != "emit default [a b]; emit default [c d]" {
		t.Fatalf("after 4 tuples: %q", got)
	}
	e.Execute(checkpointTuple(ActionPrepare, 0, 1))
	e.Execute(checkpointTuple(ActionCommit, 0, 1))
	if got := out.take(); got != "emit $checkpoint [0 PREPARE]; ack 0 PREPARE; ack a 0; ack b 1; emit $checkpoint [0 COMMIT]; ack 0 COMMIT" {
		t.Fatalf("at the checkpoint: %q", got)
	}
	if n, _, _ := (state.Map[int]{State: st}).Get("c d"); n != 1 {
		t.Fatalf("window c d evaluated %d times in the committed state, want 1", n)
	}
}
