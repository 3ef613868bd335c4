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

// checkRecordCache: an unchanged assignment or storm base is served
// without a data read, and a changed one is read again, also when it was
// deleted and written again (back at version 0); a caller's changes to
// what it got do not reach the next caller.
func checkRecordCache(t *testing.T, plain *stormState, w StormClusterState) {
	s, counter := countReads(t, plain)
	const id = "cache-1-1"
	assignment := func(want *Assignment, what string) {
		t.Helper()
		got, err := s.AssignmentInfo(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: AssignmentInfo = %+v, want %+v", what, got, want)
		}
		if got != nil {
			got.Executors[0].Slot.Port, got.NodeHost["sup-1"] = 1, "changed by a caller"
		}
	}
	first, second := testAssignment("sup-1", 6700), testAssignment("sup-1", 6701)
	first.V, second.V = SchemaVersion, SchemaVersion
	if err := w.SetAssignment(id, first); err != nil {
		t.Fatal(err)
	}
	assignment(first, "first read")
	reads := counter.reads.Load()
	assignment(first, "unchanged")
	assignment(first, "unchanged, after a caller changed its copy")
	if n := counter.reads.Load() - reads; n != 0 {
		t.Errorf("unchanged assignment: %d data reads, want 0 (served from the cache)", n)
	}
	if err := w.SetAssignment(id, second); err != nil {
		t.Fatal(err)
	}
	assignment(second, "after a change")
	if err := w.RemoveStorm(id); err != nil {
		t.Fatal(err)
	}
	assignment(nil, "after its removal")
	if err := w.SetAssignment(id, first); err != nil {
		t.Fatal(err)
	}
	assignment(first, "written again")
	if err := w.RemoveStorm(id); err != nil {
		t.Fatal(err)
	}
	if err := w.SetAssignment(id, second); err != nil {
		t.Fatal(err)
	}
	assignment(second, "deleted and written again at the same version")

	base := &StormBase{Name: "cache", Status: StatusActive, ComponentExecutors: map[string]int{"spout": 1}}
	if err := w.ActivateStorm(id, base); err != nil {
		t.Fatal(err)
	}
	for _, want := range []TopologyStatus{StatusActive, StatusActive, StatusInactive} {
		if want == StatusInactive {
			if err := w.UpdateStorm(id, &StormBase{Status: StatusInactive}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.StormBase(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.Status != want || got.ComponentExecutors["spout"] != 1 {
			t.Fatalf("StormBase = %+v, want status %s and 1 spout executor", got, want)
		}
		got.ComponentExecutors["spout"] = 9
	}
}
