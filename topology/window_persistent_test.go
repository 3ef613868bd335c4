package topology

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/localstorm/localstorm/topology/state"
)

// saved returns what a persistent window's states hold: the partition ids,
// the first value of each partition's tuples and the policies' state.
func (h *windowHarness) saved() string {
	h.t.Helper()
	var out []string
	raw, _, _ := h.persisted.ids.Get(partitionIDsKey)
	var ids []int64
	if err := cbor.Unmarshal(raw, &ids); err != nil {
		h.t.Fatalf("partition ids %x: %v", raw, err)
	}
	out = append(out, fmt.Sprint("pk=", ids))
	for _, id := range ids {
		raw, _, _ := h.persisted.partitions.Get(partitionKey(id))
		events, err := decodePartition(id, raw)
		if err != nil {
			h.t.Fatalf("partition %d: %v", id, err)
		}
		var vs []any
		for _, ev := range events {
			vs = append(vs, ev.t.Values[0])
		}
		out = append(out, fmt.Sprint(id, "=", vs))
	}
	for _, k := range []string{evictionStateKey, triggerStateKey} {
		v, ok, _ := h.persisted.system.Get(k)
		if ok {
			out = append(out, k+"="+string(v))
		}
	}
	return strings.Join(out, " ")
}

// A persistent window: tuples are acked at the commit that saved them,
// not when they leave the window; emits are not anchored; the window and
// its policies' state are saved at the checkpoint with Storm's keys, and
// after a crash the windows continue from the committed state: the tuple
// that was not committed is replayed and counted once.
func TestPersistentWindowAcksAtCommitAndRestarts(t *testing.T) {
	h := newWindowHarness(t, WithTumblingWindow(Count(3)), WithPersistence())
	h.checkpoint(ActionInitState, -1)
	h.expect("windows, no acks", h.feed(2, 1, 2, 3, 4, 5, 6, 7), "emit default [1 2 3]; emit default [4 5 6]")
	h.expect("the commit acks every tuple it saved", h.commit(0), "ack 1; ack 2; ack 3; ack 4; ack 5; ack 6; ack 7")
	// No expiry between windows: 4..6 stay until the next window.
	h.expect("saved", h.saved(), "pk=[0] 0=[4 5 6 7] es=4 ts=1")
	if h.out.anchored != 0 {
		t.Errorf("%d emits anchored, want none", h.out.anchored)
	}
	h.feed(2, 8) // never committed: its ack dies with the worker
	h.crash()

	h.checkpoint(ActionInitState, 0)
	h.expect("after the restart, 8 replayed", h.feed(2, 8, 9), "emit default [7 8 9]")
	h.expect("commit", h.commit(1), "ack 8; ack 9")
	h.expect("saved", h.saved(), "pk=[0] 0=[7 8 9] es=3 ts=0")
	h.expect("evaluations", h.evaluations(), "1 2 3=1, 4 5 6=1, 7 8 9=1")
}

// A rollback after INITSTATE fails the tuples not committed and puts the
// window back as committed; their replays make the same windows again,
// and the bolt's state counts each once.
func TestPersistentWindowRollback(t *testing.T) {
	h := newWindowHarness(t, WithWindow(Count(4), Count(2)), WithPersistence())
	h.checkpoint(ActionInitState, -1)
	h.expect("first window", h.feed(2, 1, 2, 3), "emit default [1 2]")
	h.commit(0)
	h.expect("second window", h.feed(2, 4, 5), "emit default [1 2 3 4]")
	h.checkpoint(ActionPrepare, 1)
	h.expect("rollback", h.checkpoint(ActionRollback, 1), "fail 4; fail 5")
	h.expect("saved", h.saved(), "pk=[0] 0=[1 2 3] es=3 ts=1")
	h.expect("replays", h.feed(2, 4, 5, 6), "emit default [1 2 3 4]; emit default [3 4 5 6]")
	h.expect("evaluations", h.evaluations(), "1 2 3 4=1, 1 2=1, 3 4 5 6=1")
}

// The window is cut into partitions of 1000 tuples; a partition emptied
// by expiries is deleted and its id dropped, the newest kept even empty;
// the tuples come back in order with their values' Go types.
func TestPartitionedWindow(t *testing.T) {
	st := windowStates{state.NewInMemory(), state.NewInMemory(), state.NewInMemory()}
	w := &partitionedWindow{st: st}
	if _, _, err := w.load(); err != nil {
		t.Fatal(err)
	}
	values := func(i int) Values {
		return Values{i, int64(i), float64(i) + 0.5, "w" + fmt.Sprint(i), int32(i), uint64(i), float32(i), true, []byte("b"), nil,
			map[string]any{"k": "v"}}
	}
	var evs []*windowEvent
	for i := range 2500 {
		ev := &windowEvent{t: &Tuple{Component: "c", Stream: "s", Task: 3, Fields: Fields{"i"}, Values: values(i)}, ts: int64(i)}
		w.added(ev)
		evs = append(evs, ev)
	}
	check := func(what string, wantIDs []int64, wantSizes ...int) {
		t.Helper()
		if err := w.flush(map[string][]byte{evictionStateKey: []byte("1"), triggerStateKey: nil}); err != nil {
			t.Fatal(err)
		}
		raw, _, _ := st.ids.Get(partitionIDsKey)
		var ids []int64
		if err := cbor.Unmarshal(raw, &ids); err != nil || !slices.Equal(ids, wantIDs) {
			t.Fatalf("%s: ids %v (%v), want %v", what, ids, err, wantIDs)
		}
		var keys []string
		_ = st.partitions.Range(func(k string, v []byte) bool {
			keys = append(keys, k)
			return true
		})
		slices.Sort(keys)
		if want := strings.Fields(strings.Trim(fmt.Sprint(wantIDs), "[]")); !slices.Equal(keys, want) {
			t.Errorf("%s: partition keys %v, want %v", what, keys, want)
		}
		for i, id := range wantIDs {
			raw, _, _ := st.partitions.Get(partitionKey(id))
			got, err := decodePartition(id, raw)
			if err != nil || len(got) != wantSizes[i] {
				t.Errorf("%s: partition %d: %d events (%v), want %d", what, id, len(got), err, wantSizes[i])
			}
		}
	}
	check("2500 events", []int64{0, 1, 2}, 1000, 1000, 500)
	w.removed(evs[:1500])
	check("1500 expired", []int64{1, 2}, 500, 500)
	for _, s := range st.all() {
		if err := s.CommitNow(); err != nil {
			t.Fatal(err)
		}
	}

	back := &partitionedWindow{st: st}
	events, system, err := back.load()
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1000 || string(system[evictionStateKey]) != "1" || system[triggerStateKey] != nil {
		t.Fatalf("loaded %d events and system state %q, want 1000 and es=1", len(events), system)
	}
	for i, ev := range events {
		want := evs[1500+i]
		if ev.ts != want.ts || !reflect.DeepEqual(ev.t, want.t) {
			t.Fatalf("event %d: %+v %v, want %+v %v", i, ev.t, ev.ts, want.t, want.ts)
		}
	}
	w.removed(evs[1500:])
	check("every event expired: the newest partition stays", []int64{2}, 0)
}

// The policies' state saved and restored, as Storm's getState and
// restoreState: a manager restored from another's state saves the same.
func TestWindowManagerStateRestore(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec windowSpec
		want string
	}{
		{"count", windowSpec{lengthCount: 5, slideCount: 3}, `es=7 ts=2`},
		{"time", windowSpec{lengthMs: 10, slideMs: 5}, `es={"referenceTime":11,"slidingInterval":5,"currentCount":-1} ts=`},
		{"watermark time", windowSpec{lengthMs: 10, slideMs: 5, tsField: "ts"}, `es={"referenceTime":10,"currentCount":10} ts=15`},
		{"watermark count", windowSpec{lengthCount: 4, slideCount: 3, tsField: "ts"}, `es=[4,4] ts=9`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := int64(0)
			m := newWindowManager(tc.spec, func() int64 { return now }, func([]*Tuple) {}, func(*TupleWindow) {})
			for i := int64(1); i <= 14; i++ {
				now = i
				m.add(&Tuple{Values: Values{i}}, i)
			}
			switch tr := m.trigger.(type) {
			case *timeTrigger:
				now = 12
				tr.fire()
			case *watermarkTimeTrigger, *watermarkCountTrigger:
				m.addWatermark(11)
			}
			saved := managerStateText(t, m)
			if saved != tc.want {
				t.Errorf("saved %s, want %s", saved, tc.want)
			}
			fresh := newWindowManager(tc.spec, func() int64 { return now }, func([]*Tuple) {}, func(*TupleWindow) {})
			st, _ := m.managerState()
			if err := fresh.restoreManagerState(st); err != nil {
				t.Fatal(err)
			}
			if got := managerStateText(t, fresh); got != saved {
				t.Errorf("restored %s, want %s", got, saved)
			}
		})
	}
}

func managerStateText(t *testing.T, m *windowManager) string {
	t.Helper()
	st, err := m.managerState()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("es=%s ts=%s", st[evictionStateKey], st[triggerStateKey])
}

// Storm's checks of a persistent window: the checkpoint interval, not the
// window, must fit in the message timeout (Storm's message), and
// withPersistence is for stateful windowed bolts only; no message id
// field is needed.
func TestPersistentWindowValidation(t *testing.T) {
	build := func(stateful bool, opts ...WindowOption) error {
		b := NewBuilder()
		b.SetSpout("words", func() Spout { return nopSpout{} }, 1)
		if stateful {
			b.SetStatefulWindowedBolt("w", func() StatefulWindowedBolt { return &windowLog{} }, 1, opts...).GlobalGrouping("words")
		} else {
			b.SetWindowedBolt("w", func() WindowedBolt { return &windowLog{} }, 1, opts...).GlobalGrouping("words")
		}
		topo, err := b.Build()
		if err != nil {
			return err
		}
		return ValidateWindows(topo.Definition, map[string]any{"topology.message.timeout.secs": 30, "topology.max.spout.pending": 10,
			ConfCheckpointInterval: topo.Definition.Conf[ConfCheckpointInterval]})
	}
	long := WithWindow(Duration(time.Minute), Duration(time.Minute))
	for _, tc := range []struct {
		name     string
		stateful bool
		opts     []WindowOption
		want     string
	}{
		{"persistent, window longer than the timeout", true, []WindowOption{long, WithPersistence()}, ""},
		{"persistent, counts above max spout pending", true, []WindowOption{WithWindow(Count(100), Count(10)), WithPersistence()}, ""},
		{"not persistent, window longer than the timeout", true, []WindowOption{long, WithMessageIdField("id")},
			"Window duration (length + sliding interval) value 120000 is more than topology.message.timeout.secs value 30000"},
		{"withPersistence on a windowed bolt", false, []WindowOption{WithTumblingWindow(Count(2)), WithPersistence()},
			"withPersistence is for stateful windowed bolts (Storm's BaseStatefulWindowedBolt): declare it with SetStatefulWindowedBolt"},
		{"persistent, checkpoint interval above the timeout", true, []WindowOption{WithTumblingWindow(Count(2)), WithPersistence(),
			func(c map[string]any) { c[ConfCheckpointInterval] = 40000 }},
			"topology.state.checkpoint.interval.ms40000 is more than topology.message.timeout.secs value 30000"},
		{"max events in memory not an integer", true, []WindowOption{WithTumblingWindow(Count(2)), WithPersistence(),
			func(c map[string]any) { c[ConfMaxEventsInMemory] = "many" }},
			ConfMaxEventsInMemory + ": many is not an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := build(tc.stateful, tc.opts...)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// The tuples kept in memory are bounded (withMaxEventsInMemory, at least
// 10 partitions of 1000): the others are written to the state and read
// back, in order, when a window needs them, and after a restart.
func TestPersistentWindowMemoryBound(t *testing.T) {
	for n, want := range map[int64]int{0: 1000, -3: 1000, 5: 10, 25_500: 25} {
		if got := partitionsInMemory(n); got != want {
			t.Errorf("partitionsInMemory(%d) = %d, want %d", n, got, want)
		}
	}
	h := newWindowHarness(t, WithTumblingWindow(Count(2)), WithPersistence(), WithMaxEventsInMemory(20_000))
	if got := h.e.bolt.(*persistentWindowed).window.capacity; got != 20 {
		t.Errorf("WithMaxEventsInMemory(20000): %d partitions in memory, want 20", got)
	}

	const events = 25_000
	st := windowStates{state.NewInMemory(), state.NewInMemory(), state.NewInMemory()}
	w := &partitionedWindow{st: st, capacity: partitionsInMemory(1)}
	var window *TupleWindow
	var m *windowManager
	m = newWindowManager(windowSpec{lengthCount: events, slideCount: events}, func() int64 { return 0 }, func([]*Tuple) {},
		func(tw *TupleWindow) {
			window = tw
			if n := inMemory(m.queue); n > 11*maxPartitionEvents {
				t.Errorf("%d tuples in memory while the window runs, want at most 11000", n)
			}
		})
	m.store = w
	if _, _, err := w.load(); err != nil {
		t.Fatal(err)
	}
	for i := range events {
		m.add(&Tuple{Values: Values{i}}, int64(i))
		if i == events-2 {
			if n := inMemory(m.queue); n > 10*maxPartitionEvents {
				t.Fatalf("%d tuples in memory, want at most 10000", n)
			}
		}
	}
	checkValues := func(what string, tuples []*Tuple) {
		t.Helper()
		if len(tuples) != events {
			t.Fatalf("%s: %d tuples, want %d", what, len(tuples), events)
		}
		for i, tu := range tuples {
			if tu == nil || tu.Values[0] != i {
				t.Fatalf("%s: tuple %d is %v", what, i, tu)
			}
		}
	}
	checkValues("the window", window.Tuples)
	if err := w.flush(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.all() {
		if err := s.CommitNow(); err != nil {
			t.Fatal(err)
		}
	}
	back := &partitionedWindow{st: st, capacity: partitionsInMemory(1)}
	restored, _, err := back.load()
	if err != nil {
		t.Fatal(err)
	}
	if n := inMemory(restored); n != 10*maxPartitionEvents {
		t.Errorf("%d tuples in memory after a restart, want the newest 10000", n)
	}
	var tuples []*Tuple
	for _, ev := range restored {
		tuples = append(tuples, back.tuple(ev))
	}
	checkValues("after a restart", tuples)
}

func inMemory(events []*windowEvent) int {
	n := 0
	for _, ev := range events {
		if ev.t != nil {
			n++
		}
	}
	return n
}
