package topology

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/fxamacker/cbor/v2"

	"github.com/localstorm/localstorm/topology/state"
)

// The window of a persistent windowed bolt kept in its state, as Storm's
// WindowState: the events of the window are cut into partitions of at
// most maxPartitionEvents events, in the order they arrived. Three states
// of the task hold it, with Storm's namespaces and keys:
//
//   - "<component>-<task>-window-partitions": key "pk", the ids of the
//     partitions in order (0, 1, 2...; a new partition takes the next id
//     when the newest one is full);
//   - "<component>-<task>-window": key "<id>" (the id in decimal), the
//     partition's events still in the window, oldest first;
//   - "<component>-<task>-window-systemstate": keys "es" and "ts", the state
//     of the window manager's eviction and trigger policies.
//
// A partition is written when it changed since the last checkpoint; one
// emptied by expiries (not the newest) is deleted and its id dropped, as
// Storm's flush does. Values are CBOR here where Storm's are Kryo.

// maxPartitionEvents is the number of events in a full partition (Storm's
// WindowState.MAX_PARTITION_EVENTS).
const maxPartitionEvents = 1000

// partitionIDsKey is the key of the partition ids (Storm's PARTITION_IDS_KEY).
const partitionIDsKey = "pk"

// windowStates are the three states of a persistent window.
type windowStates struct {
	partitions state.KeyValueState // id -> events
	ids        state.KeyValueState // "pk" -> ids
	system     state.KeyValueState // "es", "ts" -> policy states
}

func (w windowStates) all() []state.KeyValueState {
	return []state.KeyValueState{w.ids, w.partitions, w.system}
}

// windowPartition is one partition in memory.
type windowPartition struct {
	id       int64
	events   []*windowEvent // removed ones included until the next flush
	live     int
	modified bool
	paged    bool // its tuples are in the state only
}

// partitionedWindow keeps a window manager's queue in windowStates (the
// manager's windowStore). It is not safe for concurrent use: the windowed
// executor's mutex guards it with the manager.
type partitionedWindow struct {
	st     windowStates
	ids    []int64
	parts  map[int64]*windowPartition
	latest *windowPartition
	// idsChanged is set when ids changed since the last flush.
	idsChanged bool
	// capacity is the number of partitions whose tuples stay in memory (0:
	// all), resident their ids, least recently used first (see
	// window_partition_cache.go).
	capacity int
	resident []int64
}

func (w *partitionedWindow) added(ev *windowEvent) {
	if w.latest.live >= maxPartitionEvents {
		next := w.latest.id + 1
		w.ids = append(w.ids, next)
		w.idsChanged = true
		w.latest = &windowPartition{id: next}
		w.parts[next] = w.latest
		w.touch(w.latest)
	}
	ev.part = w.latest.id
	w.latest.events = append(w.latest.events, ev)
	w.latest.live++
	w.latest.modified = true
}

func (w *partitionedWindow) removed(evs []*windowEvent) {
	for _, ev := range evs {
		if p := w.parts[ev.part]; p != nil && !ev.removed {
			ev.removed = true
			p.live--
			p.modified = true
		}
	}
}

// flush writes what changed since the last flush into the states, and
// the policies' state (Storm's WindowState.flush, before prepareCommit).
func (w *partitionedWindow) flush(system map[string][]byte) error {
	for _, id := range slices.Clone(w.ids) {
		p := w.parts[id]
		switch {
		case p.live == 0 && p != w.latest:
			w.st.partitions.Delete(partitionKey(id))
			delete(w.parts, id)
			w.ids = slices.DeleteFunc(w.ids, func(x int64) bool { return x == id })
			w.resident = slices.DeleteFunc(w.resident, func(x int64) bool { return x == id })
			w.idsChanged = true
		default:
			if err := w.save(p); err != nil {
				return err
			}
		}
	}
	if w.idsChanged {
		w.st.ids.Put(partitionIDsKey, encodeIDs(w.ids))
		w.idsChanged = false
	}
	for k, v := range system {
		if v == nil {
			w.st.system.Delete(k)
		} else {
			w.st.system.Put(k, v)
		}
	}
	return nil
}

// load reads the window as last committed: the events of every partition
// in order, and the policies' state.
func (w *partitionedWindow) load() ([]*windowEvent, map[string][]byte, error) {
	w.parts, w.ids, w.resident = map[int64]*windowPartition{}, nil, nil
	raw, ok, err := w.st.ids.Get(partitionIDsKey)
	if err != nil {
		return nil, nil, fmt.Errorf("partition ids: %w", err)
	}
	if ok {
		if err := cbor.Unmarshal(raw, &w.ids); err != nil {
			return nil, nil, fmt.Errorf("partition ids: %w", err)
		}
	}
	w.idsChanged = len(w.ids) == 0
	if w.idsChanged {
		w.ids = []int64{0}
	}
	var events []*windowEvent
	for i, id := range w.ids {
		p := &windowPartition{id: id}
		raw, ok, err := w.st.partitions.Get(partitionKey(id))
		if err != nil {
			return nil, nil, fmt.Errorf("window partition %d: %w", id, err)
		}
		if ok {
			if p.events, err = decodePartition(id, raw); err != nil {
				return nil, nil, fmt.Errorf("window partition %d: %w", id, err)
			}
		}
		p.live = len(p.events)
		w.parts[id] = p
		if w.capacity > 0 && i < len(w.ids)-w.capacity {
			for _, ev := range p.events {
				ev.t = nil // the oldest partitions stay in the state
			}
			p.paged = true
		} else {
			w.resident = append(w.resident, id)
		}
		events = append(events, p.events...)
	}
	w.latest = w.parts[w.ids[len(w.ids)-1]]
	system := map[string][]byte{}
	err = w.st.system.Range(func(k string, v []byte) bool {
		system[k] = slices.Clone(v)
		return true
	})
	return events, system, err
}

func partitionKey(id int64) string { return strconv.FormatInt(id, 10) }

func encodeIDs(ids []int64) []byte {
	b, _ := cbor.Marshal(ids) // a slice of integers always encodes
	return b
}

// storedEvent is a tuple of the window as a partition stores it: enough to
// give it back to the bolt (not its anchors: it was acked when saved).
type storedEvent struct {
	Ts        int64   `cbor:"1,keyasint"`
	Component string  `cbor:"2,keyasint"`
	Stream    string  `cbor:"3,keyasint"`
	Task      int     `cbor:"4,keyasint"`
	Fields    Fields  `cbor:"5,keyasint"`
	Values    []any   `cbor:"6,keyasint"`
	Kinds     []uint8 `cbor:"7,keyasint,omitempty"` // Go kinds of numeric values
}

// The Go types of numbers that CBOR would not give back as such.
const (
	kindOther uint8 = iota
	kindInt
	kindInt32
	kindInt64
	kindUint64
	kindFloat32
)

func encodePartition(p *windowPartition) ([]byte, error) {
	out := make([]storedEvent, 0, len(p.events))
	for _, ev := range p.events {
		s := storedEvent{Ts: ev.ts, Component: ev.t.Component, Stream: ev.t.Stream, Task: ev.t.Task, Fields: ev.t.Fields, Values: ev.t.Values}
		for i, v := range ev.t.Values {
			if k := kindOf(v); k != kindOther {
				if s.Kinds == nil {
					s.Kinds = make([]uint8, len(ev.t.Values))
				}
				s.Kinds[i] = k
			}
		}
		out = append(out, s)
	}
	return cbor.Marshal(out)
}

func decodePartition(id int64, raw []byte) ([]*windowEvent, error) {
	var stored []storedEvent
	if err := partitionDecoder.Unmarshal(raw, &stored); err != nil {
		return nil, err
	}
	events := make([]*windowEvent, len(stored))
	for i, s := range stored {
		for j, k := range s.Kinds {
			if j < len(s.Values) {
				s.Values[j] = asKind(s.Values[j], k)
			}
		}
		t := &Tuple{Values: s.Values, Component: s.Component, Stream: s.Stream, Task: s.Task, Fields: s.Fields}
		events[i] = &windowEvent{t: t, ts: s.Ts, part: id}
	}
	return events, nil
}

// partitionDecoder gives maps with string keys back as map[string]any.
var partitionDecoder = func() cbor.DecMode {
	dm, err := cbor.DecOptions{DefaultMapType: reflect.TypeOf(map[string]any(nil))}.DecMode()
	if err != nil {
		panic(err) // the options above are constants
	}
	return dm
}()

func kindOf(v any) uint8 {
	switch v.(type) {
	case int:
		return kindInt
	case int32:
		return kindInt32
	case int64:
		return kindInt64
	case uint64:
		return kindUint64
	case float32:
		return kindFloat32
	}
	return kindOther
}

// asKind converts a decoded number back to the Go type it was saved as.
func asKind(v any, k uint8) any {
	var i int64
	var f float64
	switch n := v.(type) {
	case int64:
		i, f = n, float64(n)
	case uint64:
		i, f = int64(n), float64(n)
	case float64:
		i, f = int64(n), n
	default:
		return v
	}
	switch k {
	case kindInt:
		return int(i)
	case kindInt32:
		return int32(i)
	case kindInt64:
		return i
	case kindUint64:
		if u, ok := v.(uint64); ok {
			return u
		}
		return uint64(i)
	case kindFloat32:
		return float32(f)
	}
	return v
}
