package supervisor

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// fullReads counts the assignments read and decoded in full.
type fullReads struct {
	cluster.StormClusterState
	n atomic.Int64
}

func (f *fullReads) AssignmentInfoWithVersion(id string, cb cluster.Callback) (*cluster.Assignment, int32, error) {
	f.n.Add(1)
	return f.StormClusterState.AssignmentInfoWithVersion(id, cb)
}

// assignmentsSnapshot reads an assignment again when its version changed,
// and only then; it keeps this node's executors.
func TestAssignmentsSnapshotRereadsChangedAssignments(t *testing.T) {
	opts := cluster.Options{Store: cluster.MemoryStore, Servers: []string{"mem-" + t.Name()}, Root: "/storm"}
	nimbus, err := cluster.ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nimbus.Disconnect() })
	mine, err := cluster.ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mine.Disconnect() })
	reads := &fullReads{StormClusterState: mine}
	s := &Supervisor{opts: Options{State: reads}, id: "me"}
	assign := func(id string, port int) {
		t.Helper()
		a := &cluster.Assignment{Executors: []cluster.ExecutorAssignment{
			{Executor: cluster.ExecutorInfo{Start: 1, End: 1}, Slot: cluster.NodePort{Node: "me", Port: port}},
			{Executor: cluster.ExecutorInfo{Start: 2, End: 2}, Slot: cluster.NodePort{Node: "other", Port: port}},
		}}
		if err := nimbus.SetAssignment(id, a); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, wantPorts map[string]int, wantReads int64) {
		t.Helper()
		reads.n.Store(0)
		all, err := s.assignmentsSnapshot(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(wantPorts) {
			t.Fatalf("%s: %d assignments, want %d", what, len(all), len(wantPorts))
		}
		for id, port := range wantPorts {
			a := all[id]
			if a == nil || len(a.Executors) != 1 || a.Executors[0].Slot != (cluster.NodePort{Node: "me", Port: port}) {
				t.Fatalf("%s: %s = %+v, want executor 1 alone, on port %d", what, id, a, port)
			}
		}
		if n := reads.n.Load(); n != wantReads {
			t.Errorf("%s: %d assignments read in full, want %d", what, n, wantReads)
		}
	}
	assign("a-1-1", 6700)
	assign("b-1-1", 6701)
	check("first", map[string]int{"a-1-1": 6700, "b-1-1": 6701}, 2)
	check("unchanged", map[string]int{"a-1-1": 6700, "b-1-1": 6701}, 0)
	assign("a-1-1", 6702)
	check("a changed", map[string]int{"a-1-1": 6702, "b-1-1": 6701}, 1)
	if err := nimbus.RemoveStorm("b-1-1"); err != nil {
		t.Fatal(err)
	}
	check("b removed", map[string]int{"a-1-1": 6702}, 0)
}
