package nimbus

import (
	"fmt"
	"slices"
	"sort"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// The scheduler is a pure function over a snapshot of the cluster: nimbus
// gathers supervisors, topologies, current assignments and executor liveness,
// Schedule computes the new assignments, and nimbus writes the ones that
// changed. It follows Storm's EvenScheduler (with DefaultScheduler's handling
// of topologies that hold more slots than they may).

// SupervisorSnapshot is one supervisor as the scheduler sees it.
type SupervisorSnapshot struct {
	Host string
	// Ports are its slot ports (supervisor.slots.ports).
	Ports []int
	// Alive is false when its ephemeral node is gone or its heartbeat is stale.
	Alive bool
}

// TopologySnapshot is one topology to schedule.
type TopologySnapshot struct {
	ID         string
	NumWorkers int
	// Executors are every executor the topology must run.
	Executors []cluster.ExecutorInfo
	// Current is the assignment in ZooKeeper (nil when none).
	Current *cluster.Assignment
	// Alive tells which executors of Current are alive (heartbeat fresh, or
	// within nimbus.task.launch.secs of their start).
	Alive map[cluster.ExecutorInfo]bool
	// Scratch asks for a schedule from scratch (a rebalance): Current is ignored.
	Scratch bool
	// CodeDir is recorded into the assignment.
	CodeDir string
}

// Snapshot is the input of Schedule.
type Snapshot struct {
	Supervisors map[string]SupervisorSnapshot
	Topologies  []TopologySnapshot
	// NowSecs stamps the start time of newly placed executors.
	NowSecs int64
}

// Plan is the output of Schedule.
type Plan struct {
	// Assignments holds the new assignment of every topology of the snapshot.
	Assignments map[string]*cluster.Assignment
	// Status says, per topology, how well it is scheduled.
	Status map[string]ScheduleStatus
}

// ScheduleStatus is how well Schedule placed a topology: data, made into
// text where it is shown (String).
type ScheduleStatus struct {
	Placed, Total       int // executors placed, executors of the topology
	Workers, NumWorkers int // slots used, slots the topology asks for
	// Reason says why the topology is not fully scheduled; "" when it is.
	Reason string
}

// Reasons of a ScheduleStatus.
const (
	reasonNoFreeSlots    = "no free slots"
	reasonNotEnoughSlots = "not enough free slots"
)

// Full reports whether every executor is placed on as many workers as it can use.
func (s ScheduleStatus) Full() bool { return s.Reason == "" }

// String is the status as Storm UI's scheduler info shows it.
func (s ScheduleStatus) String() string {
	switch {
	case s.Full():
		return "Fully Scheduled"
	case s.Placed == 0:
		return fmt.Sprintf("Not scheduled: %s (%d executors waiting)", s.Reason, s.Total)
	}
	return fmt.Sprintf("Partially scheduled: %d of %d executors on %d of %d workers (%s)", s.Placed, s.Total, s.Workers, s.NumWorkers, s.Reason)
}

// Schedule assigns every topology's executors to slots. Alive executors on
// alive slots stay put; executors of dead slots, dead supervisors or dead
// executors move to free slots spread over supervisors; each topology uses at
// most NumWorkers slots; with too few slots a topology is partially scheduled
// and its status says so.
func Schedule(s Snapshot) Plan {
	plan := Plan{Assignments: map[string]*cluster.Assignment{}, Status: map[string]ScheduleStatus{}}
	topos := slices.Clone(s.Topologies)
	sort.Slice(topos, func(i, j int) bool { return topos[i].ID < topos[j].ID })

	// First pass: the alive part of every current assignment, so that those
	// slots are not handed to another topology in the second pass.
	pool := newSlotPool(s)
	kept := make([]map[cluster.NodePort][]cluster.ExecutorInfo, len(topos))
	for i, t := range topos {
		kept[i] = aliveSlots(s, t)
		for slot := range kept[i] {
			pool.take(slot)
		}
	}
	for i, t := range topos {
		// DefaultScheduler: slots whose executor count does not fit the even
		// distribution over the slots the topology may use are freed, so a
		// topology that can now have more workers (or must have fewer) is
		// spread again.
		slotsToUse := min(max(t.NumWorkers, 0), pool.free+len(kept[i]))
		for _, slot := range badSlots(kept[i], len(t.Executors), slotsToUse) {
			delete(kept[i], slot)
			pool.release(slot)
		}
		a, status := scheduleTopology(s, t, kept[i], pool)
		plan.Assignments[t.ID] = a
		plan.Status[t.ID] = status
	}
	return plan
}

// aliveSlots returns the slots of t's current assignment that may stay:
// alive executors on alive supervisors' ports.
func aliveSlots(s Snapshot, t TopologySnapshot) map[cluster.NodePort][]cluster.ExecutorInfo {
	out := map[cluster.NodePort][]cluster.ExecutorInfo{}
	if t.Current == nil || t.Scratch {
		return out
	}
	wanted := map[cluster.ExecutorInfo]bool{}
	for _, e := range t.Executors {
		wanted[e] = true
	}
	for _, ea := range t.Current.Executors {
		sup, ok := s.Supervisors[ea.Slot.Node]
		if !ok || !sup.Alive || !slices.Contains(sup.Ports, ea.Slot.Port) {
			continue
		}
		if !wanted[ea.Executor] || !t.Alive[ea.Executor] {
			continue
		}
		out[ea.Slot] = append(out[ea.Slot], ea.Executor)
	}
	return out
}

// badSlots returns the slots of kept whose executor counts do not fit the even
// split of numExecutors over numWorkers slots (Storm's bad-slots): a slot is
// kept while the split still has a slot of its size to fill.
func badSlots(kept map[cluster.NodePort][]cluster.ExecutorInfo, numExecutors, numWorkers int) []cluster.NodePort {
	slots := sortedSlots(kept)
	if numWorkers <= 0 {
		return slots
	}
	distribution := map[int]int{} // executors per slot → how many such slots
	base, extra := numExecutors/numWorkers, numExecutors%numWorkers
	distribution[base+1] = extra
	distribution[base] += numWorkers - extra
	var bad []cluster.NodePort
	for _, slot := range slots {
		n := len(kept[slot])
		if distribution[n] > 0 {
			distribution[n]--
			continue
		}
		bad = append(bad, slot)
	}
	return bad
}

func sortedSlots[V any](m map[cluster.NodePort]V) []cluster.NodePort {
	out := make([]cluster.NodePort, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return slotLess(out[i], out[j]) })
	return out
}

func slotLess(a, b cluster.NodePort) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.Port < b.Port
}

func executorLess(a, b cluster.ExecutorInfo) bool {
	if a.Start != b.Start {
		return a.Start < b.Start
	}
	return a.End < b.End
}

// slotPool is the alive slots of a snapshot and which of them are used,
// kept up to date as Schedule hands slots out and frees them, so that each
// topology's pick costs what it picks (and a skip over the supervisors with
// no free slot), not a sort of every slot of the cluster: that made a fresh
// round at 10,000 executors (200 topologies on 125 supervisors) cost 62 ms
// (median, loaded machine; 5.9 ms with the pool).
type slotPool struct {
	nodes  []string                  // alive supervisors, sorted
	ports  [][]int                   // each one's slot ports, sorted
	index  map[string]int            // node → its index in nodes
	freeOf []int                     // free slots per node
	used   map[cluster.NodePort]bool // used slots, alive or not
	free   int                       // free alive slots in all
}

func newSlotPool(s Snapshot) *slotPool {
	p := &slotPool{index: map[string]int{}, used: map[cluster.NodePort]bool{}}
	for id, sup := range s.Supervisors {
		if sup.Alive {
			p.nodes = append(p.nodes, id)
		}
	}
	sort.Strings(p.nodes)
	for i, id := range p.nodes {
		ports := slices.Clone(s.Supervisors[id].Ports)
		sort.Ints(ports)
		ports = slices.Compact(ports)
		p.index[id] = i
		p.ports = append(p.ports, ports)
		p.freeOf = append(p.freeOf, len(ports))
		p.free += len(ports)
	}
	return p
}

// alive tells whether slot is a port of an alive supervisor.
func (p *slotPool) alive(slot cluster.NodePort) (int, bool) {
	i, ok := p.index[slot.Node]
	if !ok {
		return 0, false
	}
	_, found := slices.BinarySearch(p.ports[i], slot.Port)
	return i, found
}

// take marks slot used.
func (p *slotPool) take(slot cluster.NodePort) {
	if p.used[slot] {
		return
	}
	p.used[slot] = true
	if i, ok := p.alive(slot); ok {
		p.freeOf[i]--
		p.free--
	}
}

// release marks slot free again.
func (p *slotPool) release(slot cluster.NodePort) {
	if !p.used[slot] {
		return
	}
	delete(p.used, slot)
	if i, ok := p.alive(slot); ok {
		p.freeOf[i]++
		p.free++
	}
}

// first returns the first k free slots in Storm's sort-slots order: each
// supervisor's free ports sorted, interleaved across supervisors (the
// first free port of every supervisor, then the second, ...), so that
// consecutive picks land on different supervisors.
func (p *slotPool) first(k int) []cluster.NodePort {
	var out []cluster.NodePort
	for round := 0; len(out) < k; round++ {
		added := false
		for i, id := range p.nodes {
			if p.freeOf[i] <= round {
				continue
			}
			added = true
			seen := 0
			for _, port := range p.ports[i] {
				slot := cluster.NodePort{Node: id, Port: port}
				if p.used[slot] {
					continue
				}
				if seen == round {
					out = append(out, slot)
					break
				}
				seen++
			}
			if len(out) == k {
				return out
			}
		}
		if !added {
			break
		}
	}
	return out
}

func scheduleTopology(s Snapshot, t TopologySnapshot, kept map[cluster.NodePort][]cluster.ExecutorInfo, pool *slotPool) (*cluster.Assignment, ScheduleStatus) {
	placed := map[cluster.ExecutorInfo]cluster.NodePort{}
	for slot, execs := range kept {
		for _, e := range execs {
			placed[e] = slot
		}
	}
	var move []cluster.ExecutorInfo
	for _, e := range t.Executors {
		if _, ok := placed[e]; !ok {
			move = append(move, e)
		}
	}
	sort.Slice(move, func(i, j int) bool { return executorLess(move[i], move[j]) })

	slotsToUse := min(max(t.NumWorkers, 0), pool.free+len(kept))
	newSlots := pool.first(max(slotsToUse-len(kept), 0))
	if len(move) > 0 && len(newSlots) > 0 {
		for i, e := range move {
			slot := newSlots[i%len(newSlots)]
			placed[e] = slot
			pool.take(slot)
		}
		move = nil
	} else if len(move) == 0 {
		newSlots = nil
	}

	a := &cluster.Assignment{V: cluster.SchemaVersion, CodeDir: t.CodeDir, NodeHost: map[string]string{}}
	start := map[cluster.ExecutorInfo]cluster.ExecutorAssignment{}
	if t.Current != nil && !t.Scratch {
		for _, ea := range t.Current.Executors {
			start[ea.Executor] = ea
		}
	}
	for _, e := range t.Executors {
		slot, ok := placed[e]
		if !ok {
			continue
		}
		startSecs := s.NowSecs
		if prev, ok := start[e]; ok && prev.Slot == slot {
			startSecs = prev.StartSecs
		}
		a.Executors = append(a.Executors, cluster.ExecutorAssignment{Executor: e, Slot: slot, StartSecs: startSecs})
		a.NodeHost[slot.Node] = s.Supervisors[slot.Node].Host
	}
	sort.Slice(a.Executors, func(i, j int) bool { return executorLess(a.Executors[i].Executor, a.Executors[j].Executor) })

	// A topology with fewer executors than workers cannot use more slots
	// than executors; that is not a shortage.
	status := ScheduleStatus{Placed: len(a.Executors), Total: len(t.Executors), Workers: len(slotsOf(a)), NumWorkers: t.NumWorkers}
	switch {
	case status.Total > 0 && status.Placed == 0:
		status.Reason = reasonNoFreeSlots
	case status.Placed < status.Total || status.Workers < min(status.NumWorkers, status.Total):
		status.Reason = reasonNotEnoughSlots
	}
	return a, status
}
