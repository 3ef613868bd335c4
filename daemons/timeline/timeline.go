// Package timeline is the cluster's event log: what happened (a topology
// was submitted, executors moved, a worker exited and was relaunched, a
// supervisor was lost, a fault was injected), when, to which topology, and
// why. It is what `localstorm events`, GET /api/v1/events and the UI's
// timeline show.
//
// A Log is a ring of the newest events in memory, bounded by its capacity
// (and each event's text by MaxDetails), with a sequence number per event
// so that readers can follow it: Since returns what came after the last
// event a reader saw, Changed wakes a reader when something new arrives.
//
// Who records: the daemon that sees the cause, as Storm's daemons each
// report what they see. Nimbus records topology transitions, assignments
// (executors assigned and moved, and why) and supervisors joining, lost and
// back (it sees them in ZooKeeper, wherever they run); a supervisor records
// its workers' launches, exits and crash loops; each daemon's ZooKeeper
// client records its session expiring and being restored; the process that
// owns the daemons (localcluster, `localstorm up`) records the faults it
// injects. All of them share one Log in `up`, which outlives a restart of
// nimbus. A standalone nimbus (`localstorm nimbus`) keeps its own Log with
// what it sees; standalone supervisors' worker events stay in their logs.
//
// A nil *Log records nothing, so daemons take one optionally.
package timeline

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind names what happened.
type Kind string

// The kinds of events.
const (
	TopologySubmitted   Kind = "topology-submitted"
	TopologyActivated   Kind = "topology-activated"
	TopologyDeactivated Kind = "topology-deactivated"
	TopologyRebalancing Kind = "topology-rebalancing" // asked; executors move after the wait
	TopologyRebalanced  Kind = "topology-rebalanced"
	TopologyKilled      Kind = "topology-killed"
	TopologyRemoved     Kind = "topology-removed"

	ExecutorsAssigned Kind = "executors-assigned" // a topology's first assignment
	ExecutorsMoved    Kind = "executors-moved"    // Cause says why

	WorkerLaunched     Kind = "worker-launched"
	WorkerReady        Kind = "worker-ready"
	WorkerExited       Kind = "worker-exited" // Details: exit code or signal
	WorkerRelaunched   Kind = "worker-relaunched"
	WorkerCrashLooping Kind = "worker-crash-looping" // an error on its topology until WorkerRecovered
	WorkerRecovered    Kind = "worker-recovered"

	SupervisorJoined Kind = "supervisor-joined"
	SupervisorLost   Kind = "supervisor-lost"
	SupervisorBack   Kind = "supervisor-back"

	SessionExpired  Kind = "zookeeper-session-expired"
	SessionRestored Kind = "zookeeper-session-restored"

	NimbusStarted   Kind = "nimbus-started"
	NimbusRestarted Kind = "nimbus-restarted"

	FaultInjected Kind = "fault-injected"
)

// Causes of executors moving (Event.Cause of ExecutorsMoved).
const (
	CauseNewTopology    = "new topology"
	CauseSupervisorLost = "supervisor lost"
	CauseRebalance      = "rebalance"
	CauseWorkerDead     = "worker dead"
)

// Event is one thing that happened in the cluster.
type Event struct {
	// Seq numbers the events of a Log from 1, in the order they were added.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Topology is the topology's id, when the event is about one.
	Topology string `json:"topology,omitempty"`
	// Daemon is who saw it: "nimbus", a supervisor's id, "localstorm up".
	Daemon string `json:"daemon,omitempty"`
	// Supervisor and Port name the slot of a worker event.
	Supervisor string `json:"supervisor,omitempty"`
	Port       int    `json:"port,omitempty"`
	// Cause says why (a fault, "supervisor lost", "worker dead", ...).
	Cause string `json:"cause,omitempty"`
	// Details says what, in a sentence.
	Details string `json:"details,omitempty"`
}

// TopologyName returns the name part of a topology id
// (<name>-<counter>-<launch-secs>); an id of another shape is returned whole.
func TopologyName(id string) string {
	name := id
	for range 2 {
		i := strings.LastIndexByte(name, '-')
		if i <= 0 {
			return id
		}
		name = name[:i]
	}
	return name
}

// Filter selects events: by topology (its id or its name; "" = all).
type Filter struct {
	Topology string
}

// Match tells whether e passes the filter.
func (f Filter) Match(e Event) bool {
	return f.Topology == "" || e.Topology == f.Topology || (e.Topology != "" && TopologyName(e.Topology) == f.Topology)
}

// Limits of a Log.
const (
	// DefaultCapacity is the number of events a Log keeps unless told otherwise.
	DefaultCapacity = 2000
	// MaxDetails bounds the bytes of an event's Details and Cause.
	MaxDetails = 512
)

// Log is a bounded, concurrency-safe ring of the newest events.
type Log struct {
	mu      sync.Mutex
	ring    []Event
	head    int    // index of the oldest event when full
	next    uint64 // Seq of the next event
	changed chan struct{}
	now     func() time.Time
	// crashLoops holds the open crash loops: slot → the event that opened it.
	crashLoops map[slotKey]Event
}

type slotKey struct {
	topology, supervisor string
	port                 int
}

// New returns a Log keeping the newest capacity events (DefaultCapacity when
// capacity <= 0).
func New(capacity int) *Log {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Log{
		ring: make([]Event, 0, capacity), next: 1, changed: make(chan struct{}),
		now: time.Now, crashLoops: map[slotKey]Event{},
	}
}

// Record adds e (its Seq set, its Time set when zero, its text bounded) and
// wakes the readers waiting on Changed. A nil Log does nothing.
func (l *Log) Record(e Event) {
	if l == nil {
		return
	}
	e.Details = bound(e.Details)
	e.Cause = bound(e.Cause)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Seq = l.next
	l.next++
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.head] = e
		l.head = (l.head + 1) % len(l.ring)
	}
	l.trackCrashLoops(e)
	close(l.changed)
	l.changed = make(chan struct{})
}

// trackCrashLoops keeps the set of open crash loops: one opens with
// WorkerCrashLooping and closes when its slot's worker recovered, its
// topology went or its supervisor was lost. Called under mu.
func (l *Log) trackCrashLoops(e Event) {
	switch e.Kind {
	case WorkerCrashLooping:
		l.crashLoops[slotKey{e.Topology, e.Supervisor, e.Port}] = e
	case WorkerRecovered:
		delete(l.crashLoops, slotKey{e.Topology, e.Supervisor, e.Port})
	case TopologyRemoved:
		for k := range l.crashLoops {
			if k.topology == e.Topology {
				delete(l.crashLoops, k)
			}
		}
	case SupervisorLost:
		for k := range l.crashLoops {
			if k.supervisor == e.Supervisor {
				delete(l.crashLoops, k)
			}
		}
	}
}

func bound(s string) string {
	if len(s) <= MaxDetails {
		return s
	}
	cut := MaxDetails - len("...")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Since returns the events after seq that f matches, oldest first, and the
// Seq of the newest event in the Log (to pass as seq next time). Events
// that the ring dropped before a reader came back are gone.
func (l *Log) Since(seq uint64, f Filter) ([]Event, uint64) {
	if l == nil {
		return nil, seq
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for i := range l.ring {
		e := l.ring[(l.head+i)%len(l.ring)]
		if e.Seq > seq && f.Match(e) {
			out = append(out, e)
		}
	}
	return out, l.next - 1
}

// Changed returns a channel closed at the next Record.
func (l *Log) Changed() <-chan struct{} {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Len returns the number of events held.
func (l *Log) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ring)
}

// CrashLoops returns the open crash loops of topology id (all topologies
// when id is ""): the WorkerCrashLooping events not followed by their
// slot's recovery.
func (l *Log) CrashLoops(id string) []Event {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for k, e := range l.crashLoops {
		if id == "" || k.topology == id {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
