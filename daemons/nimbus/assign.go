package nimbus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

func isNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }

// liveTopology is one storm with what mk-assignments read about it.
type liveTopology struct {
	id        string
	base      *cluster.StormBase
	code      *topologyCode
	current   *cluster.Assignment
	executors []cluster.ExecutorInfo
	alive     map[cluster.ExecutorInfo]bool
}

// MkAssignments computes and writes assignments for every topology (Storm's
// mk-assignments); scratchID, when set, is scheduled from scratch (rebalance).
func (n *Nimbus) MkAssignments(scratchID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mkAssignments(scratchID)
}

// mkAssignments reads the cluster, runs the scheduler and writes the
// assignments that changed. Called under mu.
func (n *Nimbus) mkAssignments(scratchID string) error {
	now := n.clock.Now()
	topos, err := n.readTopologies(now)
	if err != nil {
		return err
	}
	sups, err := n.readSupervisors(now)
	if err != nil {
		return err
	}
	n.recordSupervisors(sups)
	snap := Snapshot{Supervisors: sups, NowSecs: now.Unix()}
	for _, t := range topos {
		snap.Topologies = append(snap.Topologies, TopologySnapshot{
			ID: t.id, NumWorkers: t.base.NumWorkers, Executors: t.executors,
			Current: t.current, Alive: t.alive, Scratch: t.id == scratchID,
			CodeDir: filepath.Join(n.distDir, t.id),
		})
	}
	plan := Schedule(snap)
	for _, t := range topos {
		next := plan.Assignments[t.id]
		if next != nil {
			next.ConfSHA256 = t.code.ConfSHA256
		}
		if sameAssignment(t.current, next) {
			continue
		}
		if err := n.state.SetAssignment(t.id, next, n.topologyReadACL(t.id)...); err != nil {
			return fmt.Errorf("write assignment of %s: %w", t.id, err)
		}
		n.recordAssignment(t, next, t.id == scratchID, sups)
		n.log.Info("assignment written", "id", t.id, "executors", len(next.Executors), "workers", len(slotsOf(next)), "status", plan.Status[t.id].String())
	}
	n.infoMu.Lock()
	n.schedStatus = plan.Status
	n.infoMu.Unlock()
	return nil
}

func slotsOf(a *cluster.Assignment) map[cluster.NodePort]bool {
	out := map[cluster.NodePort]bool{}
	if a != nil {
		for _, ea := range a.Executors {
			out[ea.Slot] = true
		}
	}
	return out
}

func sameAssignment(a, b *cluster.Assignment) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CodeDir == b.CodeDir && a.ConfSHA256 == b.ConfSHA256 && reflect.DeepEqual(a.NodeHost, b.NodeHost) && slices.Equal(a.Executors, b.Executors)
}

// readTopologies reads every storm with code, its assignment and the
// liveness of its executors (updating the heartbeat cache and the stats).
func (n *Nimbus) readTopologies(now time.Time) ([]liveTopology, error) {
	ids, err := n.state.ActiveStorms()
	if err != nil {
		return nil, fmt.Errorf("list topologies: %w", err)
	}
	slices.Sort(ids)
	var out []liveTopology
	for _, id := range ids {
		base, err := n.state.StormBase(id, nil)
		if err != nil {
			return nil, fmt.Errorf("read topology %s: %w", id, err)
		}
		if base == nil {
			continue // removed meanwhile
		}
		code, err := n.loadCode(id)
		if err != nil {
			n.log.Warn("topology without readable code is not scheduled", "id", id, "err", err)
			continue
		}
		current, err := n.state.AssignmentInfo(id, nil)
		if err != nil {
			return nil, fmt.Errorf("read assignment of %s: %w", id, err)
		}
		beatTimes, err := n.readBeats(id, current, now)
		if err != nil {
			return nil, err
		}
		alive := n.hb.updateExecutors(id, current, beatTimes, now, n.set.taskTimeout, n.set.taskLaunch)
		n.infoMu.Lock()
		n.alive[id] = alive
		n.infoMu.Unlock()
		out = append(out, liveTopology{id: id, base: base, code: code, current: current, executors: executorsOf(code, base), alive: alive})
	}
	return out, nil
}

// readBeats reads the worker heartbeats of an assignment's slots, records
// their stats and returns each executor's heartbeat time (ms).
func (n *Nimbus) readBeats(id string, a *cluster.Assignment, now time.Time) (map[cluster.ExecutorInfo]int64, error) {
	times := map[cluster.ExecutorInfo]int64{}
	if a == nil {
		return times, nil
	}
	assigned := map[cluster.ExecutorInfo]cluster.NodePort{}
	for _, ea := range a.Executors {
		assigned[ea.Executor] = ea.Slot
	}
	beats := map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat{}
	for _, slot := range sortedSlots(slotsOf(a)) {
		hb, err := n.state.WorkerHeartbeat(id, slot.Node, slot.Port)
		if err != nil {
			return nil, fmt.Errorf("read heartbeat of %s on %s:%d: %w", id, slot.Node, slot.Port, err)
		}
		if hb == nil {
			continue
		}
		n.history.observeWorker(id, slot, hb)
		for _, eb := range hb.Executors {
			// A heartbeat only counts for executors assigned to its slot: a
			// stale worker of an old assignment does not keep them alive.
			if assigned[eb.Executor] != slot {
				continue
			}
			times[eb.Executor] = hb.TimeMillis
			beats[eb.Executor] = eb
		}
	}
	n.infoMu.Lock()
	n.stats.record(id, beats, times, now)
	n.infoMu.Unlock()
	return times, nil
}

// supervisorsChanged is the watch on /supervisors: a supervisor joined or its
// session ended. Storm waits for the next monitor round; nimbus reassigns at
// once, so executors leave a lost supervisor as soon as ZooKeeper expires its
// session. This is localstorm's extension: it is set only while
// localstorm.nimbus.watch.supervisors and nimbus.reassign are true, and false
// gives Storm's timing exactly. It runs on the cluster state's event goroutine, so it only queues
// the work on the timer (coalescing bursts of events).
func (n *Nimbus) supervisorsChanged() {
	if n.closing.Load() || !n.reassignQueued.CompareAndSwap(false, true) {
		return
	}
	n.timer.Schedule(0, func() error {
		n.reassignQueued.Store(false)
		if err := n.MkAssignments(""); err != nil {
			return fmt.Errorf("mk-assignments after a supervisor change: %w", err)
		}
		return nil
	})
}

// readSupervisors returns every supervisor with an ephemeral node, alive when
// its heartbeat time advanced within nimbus.supervisor.timeout.secs.
func (n *Nimbus) readSupervisors(now time.Time) (map[string]SupervisorSnapshot, error) {
	var watch cluster.Callback
	if n.set.reassign && n.set.watchSupervisors {
		watch = n.supervisorsChanged
	}
	ids, err := n.state.Supervisors(watch)
	if err != nil {
		return nil, fmt.Errorf("list supervisors: %w", err)
	}
	out := map[string]SupervisorSnapshot{}
	present := map[string]bool{}
	for _, id := range ids {
		info, err := n.state.SupervisorInfo(id)
		if err != nil {
			return nil, fmt.Errorf("read supervisor %s: %w", id, err)
		}
		if info == nil {
			continue // its session ended meanwhile
		}
		present[id] = true
		alive := n.hb.updateSupervisor(id, info.TimeSecs, now, n.set.supervisorTimeout)
		out[id] = SupervisorSnapshot{Host: info.Hostname, Ports: info.SlotPorts, Alive: alive}
	}
	n.hb.forgetSupervisorsExcept(present)
	return out, nil
}

// DoCleanup tears down the heartbeats, errors and code of topologies that are
// no longer alive (Storm's do-cleanup).
func (n *Nimbus) DoCleanup() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	active, err := n.state.ActiveStorms()
	if err != nil {
		return fmt.Errorf("list topologies: %w", err)
	}
	alive := map[string]bool{}
	for _, id := range active {
		alive[id] = true
	}
	var gone []string
	add := func(ids []string) {
		for _, id := range ids {
			if !alive[id] && !slices.Contains(gone, id) {
				gone = append(gone, id)
			}
		}
	}
	hbIDs, err := n.state.HeartbeatStorms()
	if err != nil {
		return fmt.Errorf("list heartbeat topologies: %w", err)
	}
	add(hbIDs)
	errIDs, err := n.state.ErrorTopologies()
	if err != nil {
		return fmt.Errorf("list error topologies: %w", err)
	}
	add(errIDs)
	add(n.codeIDs())
	n.removeSubmitLeftovers()
	for _, id := range gone {
		// Storm's teardown-heartbeats! and teardown-topology-errors! log a
		// failure and go on; the next round tries again.
		if err := n.state.TeardownHeartbeats(id); err != nil {
			n.log.Warn("could not tear down heartbeats", "id", id, "err", err)
		}
		if err := n.state.TeardownTopologyErrors(id); err != nil {
			n.log.Warn("could not tear down errors", "id", id, "err", err)
		}
		n.forgetCode(id)
		n.hb.forgetTopology(id)
		n.infoMu.Lock()
		n.stats.forget(id)
		delete(n.alive, id)
		n.infoMu.Unlock()
		if cancel := n.pending[id]; cancel != nil {
			cancel()
			delete(n.pending, id)
		}
		n.log.Info("cleaned up topology", "id", id)
	}
	return nil
}

// removeSubmitLeftovers deletes the temporary directories of submits that a
// crash interrupted. Called under mu, so no submit is writing one.
func (n *Nimbus) removeSubmitLeftovers() {
	entries, _ := os.ReadDir(n.distDir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".submit-") {
			path := filepath.Join(n.distDir, e.Name())
			if err := os.RemoveAll(path); err != nil {
				n.log.Warn("remove an interrupted submit", "dir", path, "err", err)
			}
		}
	}
}

// codeIDs lists the topology ids with a stormdist directory.
func (n *Nimbus) codeIDs() []string {
	entries, err := os.ReadDir(n.distDir)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// cleanupCorruptTopologies removes storms that have no code in stormdist
// (Storm's cleanup-corrupt-topologies!): no supervisor could ever run them.
func (n *Nimbus) cleanupCorruptTopologies() error {
	ids, err := n.state.ActiveStorms()
	if err != nil {
		return fmt.Errorf("list topologies: %w", err)
	}
	for _, id := range ids {
		if validTopologyID(id) && n.hasCode(id) {
			continue
		}
		n.log.Warn("removing corrupt topology: no code in stormdist", "id", id, "dir", filepath.Join(n.distDir, id))
		if err := n.state.RemoveStorm(id); err != nil {
			return fmt.Errorf("remove corrupt topology %s: %w", id, err)
		}
	}
	return nil
}

// topologyReadACL is the ACL of a topology's storm base and assignment
// (Storm's mkTopoReadOnlyAcls): nil without ZooKeeper authentication or
// when its code cannot be read (the node then gets the daemons' ACL).
func (n *Nimbus) topologyReadACL(id string) []cluster.ACL {
	if !cluster.ServerAuthConfigured(n.conf) {
		return nil
	}
	code, err := n.loadCode(id)
	if err != nil {
		return nil
	}
	return cluster.TopologyACL(code.Conf, cluster.PermRead)
}
