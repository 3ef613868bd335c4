package supervisor

import (
	"fmt"
	"time"

	"github.com/localstorm/localstorm/daemons/timeline"
)

// The supervisor's part of the event timeline (package timeline): its
// workers launched, ready, exited (how), relaunched, and crash loops, which
// the topology shows as an error until the slot's worker stays up.

// A worker crash-loops when its slot saw crashLoopExits exits within
// crashLoopSpan; the loop ends when the slot's worker has run for
// crashLoopSpan since the last exit, or the slot is no longer assigned the
// topology.
const crashLoopExits = 3

// crashLoopSpan is a variable for the tests only.
var crashLoopSpan = 30 * time.Second

// slotHistory is what the supervisor remembers of one slot's workers for
// the timeline. Guarded by Supervisor.mu.
type slotHistory struct {
	topology string
	exits    []time.Time // within crashLoopSpan of the newest
	lastExit string      // how the last worker ended
	relaunch bool        // a worker ended and none was launched since
	looping  bool
}

func (s *Supervisor) record(kind timeline.Kind, topologyID string, port int, cause, details string) {
	s.opts.Events.Record(timeline.Event{Kind: kind, Topology: topologyID, Daemon: "supervisor", Supervisor: s.id,
		Port: port, Cause: cause, Details: details})
}

func (s *Supervisor) history(port int, topologyID string) *slotHistory {
	h := s.slots[port]
	if h == nil || h.topology != topologyID {
		h = &slotHistory{topology: topologyID}
		s.slots[port] = h
	}
	return h
}

// recordLaunch records a worker about to start on port: relaunched when a
// worker of the same topology ended there, else launched.
func (s *Supervisor) recordLaunch(wid string, port int, topologyID string) {
	s.mu.Lock()
	h := s.history(port, topologyID)
	relaunch, how := h.relaunch, h.lastExit
	h.relaunch = false
	s.mu.Unlock()
	if relaunch {
		s.record(timeline.WorkerRelaunched, topologyID, port, "previous worker "+how,
			fmt.Sprintf("worker %s of %s relaunched on port %d", short(wid), topologyID, port))
		return
	}
	s.record(timeline.WorkerLaunched, topologyID, port, "assigned",
		fmt.Sprintf("worker %s of %s launched on port %d", short(wid), topologyID, port))
}

// recordExit records a worker process that ended: stoppedBy says why the
// supervisor stopped it ("" when it ended on its own: a crash, counted
// towards a crash loop).
func (s *Supervisor) recordExit(w *worker, how string, at time.Time, stoppedBy string) {
	if stoppedBy != "" {
		s.record(timeline.WorkerExited, w.topologyID, w.port, "stopped by its supervisor: "+stoppedBy,
			fmt.Sprintf("worker %s of %s on port %d stopped (%s): %s", short(w.id), w.topologyID, w.port, stoppedBy, how))
	} else {
		s.record(timeline.WorkerExited, w.topologyID, w.port, "",
			fmt.Sprintf("worker %s of %s on port %d ended: %s", short(w.id), w.topologyID, w.port, how))
	}
	s.mu.Lock()
	h := s.history(w.port, w.topologyID)
	h.relaunch, h.lastExit = true, "ended: "+how
	if stoppedBy != "" {
		h.lastExit = "stopped (" + stoppedBy + ")"
	}
	if stoppedBy == "" {
		h.exits = append(h.exits, at)
	}
	for len(h.exits) > 0 && at.Sub(h.exits[0]) > crashLoopSpan {
		h.exits = h.exits[1:]
	}
	startLoop := !h.looping && len(h.exits) >= crashLoopExits
	h.looping = h.looping || startLoop
	n := len(h.exits)
	s.mu.Unlock()
	if startLoop {
		s.log.Warn("worker is crash-looping", "topology", w.topologyID, "port", w.port, "exits", n, "last", how)
		s.record(timeline.WorkerCrashLooping, w.topologyID, w.port, how,
			fmt.Sprintf("the worker of %s on %s:%d keeps crashing: %d exits within %s, the last %s", w.topologyID, s.hostname, w.port, n, crashLoopSpan, how))
	}
}

// recordRecoveries ends the crash loops whose slot's worker has run for
// crashLoopSpan since its last exit (running: port → topology of its valid
// worker) or whose slot is no longer assigned that topology.
func (s *Supervisor) recordRecoveries(running map[int]string, assigned map[int]LocalAssignment, now time.Time) {
	type recovery struct {
		port          int
		topology, why string
	}
	var done []recovery
	s.mu.Lock()
	for port, h := range s.slots {
		if !h.looping {
			continue
		}
		switch {
		case assigned[port].TopologyID != h.topology:
			done = append(done, recovery{port, h.topology, "the slot is no longer assigned the topology"})
		case running[port] == h.topology && len(h.exits) > 0 && now.Sub(h.exits[len(h.exits)-1]) >= crashLoopSpan:
			done = append(done, recovery{port, h.topology, fmt.Sprintf("its worker has run for %s", crashLoopSpan)})
		default:
			continue
		}
		delete(s.slots, port)
	}
	s.mu.Unlock()
	for _, r := range done {
		s.record(timeline.WorkerRecovered, r.topology, r.port, r.why,
			fmt.Sprintf("the worker of %s on %s:%d no longer crash-loops: %s", r.topology, s.hostname, r.port, r.why))
	}
}

// short is the first part of a worker id, enough to tell workers apart.
func short(wid string) string {
	if len(wid) > 8 {
		return wid[:8]
	}
	return wid
}
