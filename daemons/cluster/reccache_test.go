package cluster

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
)

// readCounter counts the data reads that reach the state under a
// StormClusterState.
type readCounter struct {
	ClusterState
	stamper
	reads atomic.Int64
}

func (c *readCounter) GetDataWithVersion(path string, watch bool) ([]byte, int32, error) {
	c.reads.Add(1)
	return c.ClusterState.GetDataWithVersion(path, watch)
}

// countReads rebuilds s over a counter of its state's data reads.
func countReads(t *testing.T, s *stormState) (*stormState, *readCounter) {
	t.Helper()
	c := &readCounter{ClusterState: s.state, stamper: s.state.(stamper)}
	counted, err := newStormState(c, s.log, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = counted.Disconnect() })
	return counted, c
}

func testRecordCache(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	checkRecordCache(t, f.storm, f.writer)
}

func TestRecordCacheOverMemoryStore(t *testing.T) {
	opts := memOptions(t)
	reader, err := newStormState(connectMem(t, opts), nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writer.Disconnect() })
	checkRecordCache(t, reader, writer)
}

// checkRecordCache: an unchanged assignment, storm base or worker
// heartbeat is served without a data read, and a changed one is read
// again, also when it was deleted and written again (back at version 0); a
// caller's changes to what it got do not reach the next caller.
func checkRecordCache(t *testing.T, plain *stormState, w StormClusterState) {
	s, counter := countReads(t, plain)
	const id = "cache-1-1"
	t.Run("assignment", func(t *testing.T) {
		first, second := testAssignment("sup-1", 6700), testAssignment("sup-1", 6701)
		checkCached(t, counter, cachedRecordOps[Assignment]{
			read:   func() (*Assignment, error) { return s.AssignmentInfo(id, nil) },
			write:  func(a *Assignment) error { return w.SetAssignment(id, a) },
			remove: func() error { return w.RemoveStorm(id) },
			mutate: func(a *Assignment) { a.Executors[0].Slot.Port, a.NodeHost["sup-1"] = 1, "changed by a caller" },
		}, first, second)
	})
	t.Run("storm base", func(t *testing.T) {
		first := &StormBase{Name: "cache", Status: StatusActive, ComponentExecutors: map[string]int{"spout": 1},
			TopologyActionOptions: &TopologyActionOptions{Action: "rebalance", TopologyConf: map[string]any{"k": []any{"v"}}}}
		second := &StormBase{Name: "cache", Status: StatusInactive, ComponentExecutors: map[string]int{"spout": 2}}
		checkCached(t, counter, cachedRecordOps[StormBase]{
			read:   func() (*StormBase, error) { return s.StormBase(id, nil) },
			write:  func(b *StormBase) error { return w.ActivateStorm(id, b) },
			remove: func() error { return w.RemoveStormBase(id) },
			mutate: func(b *StormBase) {
				b.ComponentExecutors["spout"] = 9
				if b.TopologyActionOptions != nil {
					b.TopologyActionOptions.TopologyConf["k"].([]any)[0] = "changed by a caller"
				}
			},
		}, first, second)
	})
	t.Run("worker heartbeat", func(t *testing.T) {
		beat := func(acked int64) *WorkerHeartbeat {
			return &WorkerHeartbeat{TopologyID: id, TimeSecs: 100, Executors: []ExecutorHeartbeat{{
				Executor: ExecutorInfo{Start: 1, End: 1}, Component: "count",
				Stats: ExecutorStats{Type: "bolt", Acked: map[string]int64{"default": acked}}}}}
		}
		checkCached(t, counter, cachedRecordOps[WorkerHeartbeat]{
			read:   func() (*WorkerHeartbeat, error) { return s.WorkerHeartbeat(id, "sup-1", 6700) },
			write:  func(hb *WorkerHeartbeat) error { return w.SetWorkerHeartbeat(id, "sup-1", 6700, hb) },
			remove: func() error { return w.RemoveWorkerHeartbeat(id, "sup-1", 6700) },
			mutate: func(hb *WorkerHeartbeat) { hb.Executors[0].Stats.Acked["default"] = -1 },
		}, beat(1), beat(2))
	})
}

// cachedRecordOps reads, writes and removes one record through two
// StormClusterStates; mutate changes a record read.
type cachedRecordOps[T any] struct {
	read   func() (*T, error)
	write  func(*T) error
	remove func() error
	mutate func(*T)
}

func checkCached[T any, P interface {
	*T
	record
}](t *testing.T, counter *readCounter, ops cachedRecordOps[T], first, second *T) {
	P(first).setSchemaVersion(SchemaVersion)
	P(second).setSchemaVersion(SchemaVersion)
	step := func(what string, do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	expect := func(want *T, what string) {
		t.Helper()
		got, err := ops.read()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read %+v, want %+v", what, got, want)
		}
		if got != nil {
			ops.mutate(got)
		}
	}
	step("write", func() error { return ops.write(first) })
	expect(first, "first read")
	reads := counter.reads.Load()
	expect(first, "unchanged")
	expect(first, "unchanged, after a caller changed its copy")
	if n := counter.reads.Load() - reads; n != 0 {
		t.Errorf("unchanged node: %d data reads, want 0 (served from the cache)", n)
	}
	step("change", func() error { return ops.write(second) })
	expect(second, "after a change")
	step("remove", ops.remove)
	expect(nil, "after its removal")
	step("write again", func() error { return ops.write(first) })
	expect(first, "written again")
	step("remove again", ops.remove)
	step("write at the same version", func() error { return ops.write(second) })
	expect(second, "deleted and written again at the same version")
	step("clean up", ops.remove)
}
