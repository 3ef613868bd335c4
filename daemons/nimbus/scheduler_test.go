package nimbus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/cluster"
)

func execs(ranges ...[2]int) []cluster.ExecutorInfo {
	out := make([]cluster.ExecutorInfo, len(ranges))
	for i, r := range ranges {
		out[i] = cluster.ExecutorInfo{Start: r[0], End: r[1]}
	}
	return out
}

func singles(n int) []cluster.ExecutorInfo {
	out := make([]cluster.ExecutorInfo, n)
	for i := range out {
		out[i] = cluster.ExecutorInfo{Start: i + 1, End: i + 1}
	}
	return out
}

func slot(node string, port int) cluster.NodePort { return cluster.NodePort{Node: node, Port: port} }

func sups(alive map[string][]int, dead ...string) map[string]SupervisorSnapshot {
	out := map[string]SupervisorSnapshot{}
	for id, ports := range alive {
		out[id] = SupervisorSnapshot{Host: "host-" + id, Ports: ports, Alive: true}
	}
	for _, id := range dead {
		out[id] = SupervisorSnapshot{Host: "host-" + id, Ports: []int{6700, 6701}, Alive: false}
	}
	return out
}

// assignmentOf builds an assignment with every executor started at startSecs.
func assignmentOf(startSecs int64, placed map[int]cluster.NodePort) *cluster.Assignment {
	a := &cluster.Assignment{V: 1, NodeHost: map[string]string{}}
	for i := 1; i <= len(placed); i++ {
		s, ok := placed[i]
		if !ok {
			continue
		}
		a.Executors = append(a.Executors, cluster.ExecutorAssignment{Executor: cluster.ExecutorInfo{Start: i, End: i}, Slot: s, StartSecs: startSecs})
		a.NodeHost[s.Node] = "host-" + s.Node
	}
	return a
}

func allAlive(e []cluster.ExecutorInfo) map[cluster.ExecutorInfo]bool {
	out := map[cluster.ExecutorInfo]bool{}
	for _, x := range e {
		out[x] = true
	}
	return out
}

func TestSchedule(t *testing.T) {
	const now = 1000
	a0, a1, b0, b1 := slot("a", 6700), slot("a", 6701), slot("b", 6700), slot("b", 6701)
	type want struct {
		placed map[int]cluster.NodePort // single-task executor id → slot
		starts map[int]int64            // expected StartSecs where it matters
		status string                   // prefix of the status
	}
	tests := []struct {
		name  string
		sups  map[string]SupervisorSnapshot
		topos []TopologySnapshot
		want  map[string]want
	}{
		{
			name:  "new topology spreads round-robin over supervisors",
			sups:  sups(map[string][]int{"a": {6700, 6701}, "b": {6700, 6701}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 3, Executors: singles(6)}},
			want: map[string]want{"t": {
				placed: map[int]cluster.NodePort{1: a0, 2: b0, 3: a1, 4: a0, 5: b0, 6: a1},
				starts: map[int]int64{1: now, 6: now},
				status: "Fully Scheduled",
			}},
		},
		{
			name: "alive assignment stays put with its start times",
			sups: sups(map[string][]int{"a": {6700, 6701}, "b": {6700, 6701}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 2, Executors: singles(4),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: b1, 2: a1, 3: b1, 4: a1}), Alive: allAlive(singles(4))}},
			want: map[string]want{"t": {
				placed: map[int]cluster.NodePort{1: b1, 2: a1, 3: b1, 4: a1},
				starts: map[int]int64{1: 5, 2: 5, 3: 5, 4: 5},
				status: "Fully Scheduled",
			}},
		},
		{
			name: "executors of a dead supervisor move to a free slot, the others stay",
			sups: sups(map[string][]int{"a": {6700, 6701}, "c": {6700}}, "b"),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 2, Executors: singles(4),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: b0, 3: a0, 4: b0}), Alive: allAlive(singles(4))}},
			want: map[string]want{"t": {
				placed: map[int]cluster.NodePort{1: a0, 2: a1, 3: a0, 4: a1},
				starts: map[int]int64{1: 5, 2: now, 3: 5, 4: now},
				status: "Fully Scheduled",
			}},
		},
		{
			name: "dead executors move off their slot",
			sups: sups(map[string][]int{"a": {6700, 6701}, "b": {6700}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 2, Executors: singles(2),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: b0}),
				Alive:   map[cluster.ExecutorInfo]bool{{Start: 1, End: 1}: true}}},
			want: map[string]want{"t": {
				placed: map[int]cluster.NodePort{1: a0, 2: a1},
				starts: map[int]int64{1: 5, 2: now},
				status: "Fully Scheduled",
			}},
		},
		{
			name: "a removed slot port is no longer used",
			sups: sups(map[string][]int{"a": {6701}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 1, Executors: singles(2),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: a0}), Alive: allAlive(singles(2))}},
			want: map[string]want{"t": {placed: map[int]cluster.NodePort{1: a1, 2: a1}, status: "Fully Scheduled"}},
		},
		{
			name:  "too few slots: partially scheduled with a message",
			sups:  sups(map[string][]int{"a": {6700}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 3, Executors: singles(3)}},
			want: map[string]want{"t": {
				placed: map[int]cluster.NodePort{1: a0, 2: a0, 3: a0},
				status: "Partially scheduled: 3 of 3 executors on 1 of 3 workers",
			}},
		},
		{
			name:  "no slot at all: nothing assigned",
			sups:  sups(nil, "b"),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 1, Executors: singles(2)}},
			want:  map[string]want{"t": {placed: map[int]cluster.NodePort{}, status: "Not scheduled: no free slots"}},
		},
		{
			name: "a new topology does not take the slots of a running one",
			sups: sups(map[string][]int{"a": {6700, 6701}}),
			topos: []TopologySnapshot{
				{ID: "new", NumWorkers: 2, Executors: singles(2)},
				{ID: "old", NumWorkers: 1, Executors: singles(1), Current: assignmentOf(5, map[int]cluster.NodePort{1: a0}), Alive: allAlive(singles(1))},
			},
			want: map[string]want{
				"old": {placed: map[int]cluster.NodePort{1: a0}, status: "Fully Scheduled"},
				"new": {placed: map[int]cluster.NodePort{1: a1, 2: a1}, status: "Partially scheduled: 2 of 2 executors on 1 of 2 workers"},
			},
		},
		{
			name: "more workers allowed later: the topology is spread again",
			sups: sups(map[string][]int{"a": {6700}, "b": {6700}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 2, Executors: singles(4),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: a0, 3: a0, 4: a0}), Alive: allAlive(singles(4))}},
			want: map[string]want{"t": {placed: map[int]cluster.NodePort{1: a0, 2: b0, 3: a0, 4: b0}, status: "Fully Scheduled"}},
		},
		{
			name: "fewer workers after a rebalance: scratch packs into the allowed slots",
			sups: sups(map[string][]int{"a": {6700, 6701}, "b": {6700}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 1, Executors: singles(3), Scratch: true,
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: b0, 3: a1}), Alive: allAlive(singles(3))}},
			want: map[string]want{"t": {placed: map[int]cluster.NodePort{1: a0, 2: a0, 3: a0}, starts: map[int]int64{1: now}, status: "Fully Scheduled"}},
		},
		{
			name: "more slots than the topology may hold: surplus slots freed",
			sups: sups(map[string][]int{"a": {6700, 6701}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 1, Executors: singles(2),
				Current: assignmentOf(5, map[int]cluster.NodePort{1: a0, 2: a1}), Alive: allAlive(singles(2))}},
			want: map[string]want{"t": {placed: map[int]cluster.NodePort{1: a0, 2: a0}, status: "Fully Scheduled"}},
		},
		{
			name:  "multi-task executors keep their ranges",
			sups:  sups(map[string][]int{"a": {6700}, "b": {6700}}),
			topos: []TopologySnapshot{{ID: "t", NumWorkers: 2, Executors: execs([2]int{1, 2}, [2]int{3, 3})}},
			want:  map[string]want{"t": {placed: map[int]cluster.NodePort{1: a0, 3: b0}, status: "Fully Scheduled"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Schedule(Snapshot{Supervisors: tt.sups, Topologies: tt.topos, NowSecs: now})
			for id, w := range tt.want {
				a := plan.Assignments[id]
				if a == nil {
					t.Fatalf("%s: no assignment in the plan", id)
				}
				got := map[int]cluster.NodePort{}
				starts := map[int]int64{}
				for _, ea := range a.Executors {
					got[ea.Executor.Start] = ea.Slot
					starts[ea.Executor.Start] = ea.StartSecs
					if a.NodeHost[ea.Slot.Node] != "host-"+ea.Slot.Node {
						t.Errorf("%s: node %s has host %q", id, ea.Slot.Node, a.NodeHost[ea.Slot.Node])
					}
				}
				if len(got) != len(w.placed) {
					t.Errorf("%s: %d executors placed, want %d: %v", id, len(got), len(w.placed), got)
				}
				for e, s := range w.placed {
					if got[e] != s {
						t.Errorf("%s: executor %d on %s, want %s", id, e, slotKey(got[e]), slotKey(s))
					}
				}
				for e, s := range w.starts {
					if starts[e] != s {
						t.Errorf("%s: executor %d start %d, want %d", id, e, starts[e], s)
					}
				}
				if got := plan.Status[id].String(); !strings.HasPrefix(got, w.status) {
					t.Errorf("%s: status %q, want prefix %q", id, got, w.status)
				}
			}
		})
	}
}

func TestBadSlots(t *testing.T) {
	kept := map[cluster.NodePort][]cluster.ExecutorInfo{
		slot("a", 1): singles(3),
		slot("a", 2): singles(2),
		slot("a", 3): singles(5),
	}
	// 10 executors over 3 workers: sizes 4, 3, 3; none of 3, 2, 5 fits twice.
	bad := badSlots(kept, 10, 3)
	if len(bad) != 2 || bad[0] != slot("a", 2) || bad[1] != slot("a", 3) {
		t.Errorf("bad slots %v, want a:2 and a:3 (a:1 with 3 executors fits)", bad)
	}
	if got := badSlots(kept, 10, 0); len(got) != 3 {
		t.Errorf("with no workers allowed every slot is bad, got %v", got)
	}
}

func TestScheduleStatusText(t *testing.T) {
	cases := []struct {
		status ScheduleStatus
		want   string
	}{
		{ScheduleStatus{Placed: 4, Total: 4, Workers: 2, NumWorkers: 2}, "Fully Scheduled"},
		{ScheduleStatus{Placed: 3, Total: 3, Workers: 1, NumWorkers: 3, Reason: reasonNotEnoughSlots},
			"Partially scheduled: 3 of 3 executors on 1 of 3 workers (not enough free slots)"},
		{ScheduleStatus{Total: 5, NumWorkers: 2, Reason: reasonNoFreeSlots}, "Not scheduled: no free slots (5 executors waiting)"},
	}
	for _, tc := range cases {
		if got := tc.status.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.status, got, tc.want)
		}
		if tc.status.Full() != (tc.status.Reason == "") {
			t.Errorf("%+v: Full() = %v", tc.status, tc.status.Full())
		}
	}
}

// referenceFreeSlots is the scheduler's free-slot order as it was first
// written (every alive slot sorted and interleaved anew at each call): the
// oracle of slotPool.
func referenceFreeSlots(s Snapshot, used map[cluster.NodePort]bool) []cluster.NodePort {
	var nodes []string
	for id, sup := range s.Supervisors {
		if sup.Alive {
			nodes = append(nodes, id)
		}
	}
	sort.Strings(nodes)
	perNode := make([][]cluster.NodePort, len(nodes))
	for i, id := range nodes {
		ports := slices.Clone(s.Supervisors[id].Ports)
		sort.Ints(ports)
		for _, p := range ports {
			if slot := (cluster.NodePort{Node: id, Port: p}); !used[slot] {
				perNode[i] = append(perNode[i], slot)
			}
		}
	}
	var out []cluster.NodePort
	for round := 0; ; round++ {
		added := false
		for _, slots := range perNode {
			if round < len(slots) {
				out = append(out, slots[round])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// TestSlotPoolMatchesTheSortSlotsOrder: after random takes and releases
// (of alive slots and of dead supervisors' slots), the pool's count and its
// first k free slots are those of the interleaved order computed from
// scratch.
func TestSlotPoolMatchesTheSortSlotsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 1))
	for round := range 200 {
		s := Snapshot{Supervisors: map[string]SupervisorSnapshot{}}
		var all []cluster.NodePort
		for i := range 1 + rng.IntN(8) {
			id := fmt.Sprintf("s%d", i)
			sup := SupervisorSnapshot{Alive: rng.IntN(4) > 0}
			for p := range 1 + rng.IntN(5) {
				sup.Ports = append(sup.Ports, 6710-p*3) // unsorted on purpose
				all = append(all, cluster.NodePort{Node: id, Port: 6710 - p*3})
			}
			s.Supervisors[id] = sup
		}
		pool := newSlotPool(s)
		used := map[cluster.NodePort]bool{}
		for range rng.IntN(3 * len(all)) {
			slot := all[rng.IntN(len(all))]
			if rng.IntN(3) == 0 {
				pool.release(slot)
				delete(used, slot)
			} else {
				pool.take(slot)
				used[slot] = true
			}
		}
		want := referenceFreeSlots(s, used)
		if pool.free != len(want) {
			t.Fatalf("round %d: pool counts %d free slots, want %d", round, pool.free, len(want))
		}
		for k := 0; k <= len(want); k++ {
			if got := pool.first(k); !slices.Equal(got, want[:k]) && !(k == 0 && len(got) == 0) {
				t.Fatalf("round %d: first(%d) = %v, want %v", round, k, got, want[:k])
			}
		}
	}
}
