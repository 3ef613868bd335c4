package worker

import (
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// runtime is what the executors of one worker share: the topology, the task
// layout, the routing tables and the worker's lifecycle signals. Everything
// but peerByTask and active is read-only once the executors started.
type runtime struct {
	topologyID string
	def        *topology.Definition
	topo       *topology.Topology
	conf       config.Conf
	logger     *slog.Logger
	port       int
	codeDir    string
	pidDir     string
	clock      topology.Clock

	taskToComponent map[int]string
	componentTasks  map[string][]int
	outputs         map[string]map[string]topology.StreamDef
	ackerTasks      []int // sorted; empty when acking is off

	// local maps a task id to the executor running it in this worker (nil
	// when the task runs elsewhere); peerByTask to the peer worker running it.
	local      []*executor
	peerByTask []atomic.Pointer[peer]

	// Tuning, from the topology configuration.
	batchSize       int           // tuples per batch between executors
	queueBatches    int           // capacity of an executor's inbox, in batches
	messageTimeout  time.Duration // 0: timeouts disabled
	maxSpoutPending int           // 0: unlimited
	sampleEvery     int           // latency sampling: one execute in sampleEvery
	spoutWaitMax    time.Duration // longest pause of an idle spout (SpoutWaitMaxKey)

	active activation // the topology is ACTIVE (spouts call NextTuple)

	// stopSpouts closes first on shutdown, then stopBolts (bolts and ackers
	// drain what the spouts emitted last, then clean up).
	stopSpouts chan struct{}
	stopBolts  chan struct{}

	fatalOnce sync.Once
	fatalErr  chan error // buffered 1: the first fatal error of the worker
	errorsMu  sync.RWMutex
	errors    chan componentError // to the reporter; nil once closed

	dropped atomic.Int64 // tuples to tasks without a known worker

	// Debugging (eventlog.go): watchEmits is set when events or debugEmits
	// is, so that an emit checks one flag when neither is.
	events     *eventLog                 // nil: the topology has no event loggers
	debug      atomic.Pointer[debugPcts] // sampling per component, from the storm base
	debugEmits bool                      // topology.debug: log every emit
	watchEmits bool
}

// activation is the topology's status as the spouts see it: a flag read on
// every round, and a channel closed (and replaced) at each change, on which
// an idle spout waits instead of polling the flag.
type activation struct {
	on      atomic.Bool
	mu      sync.Mutex
	changed chan struct{}
}

// Load tells whether the topology is active.
func (a *activation) Load() bool { return a.on.Load() }

// Swap sets the status and returns the previous one; a change wakes the
// spouts waiting on Changed.
func (a *activation) Swap(on bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.on.Swap(on)
	if old != on && a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
	return old
}

// Changed returns a channel closed at the next change of the status. Take
// it before reading the status, so that no change falls in between.
func (a *activation) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.changed
}

// componentError is an error reported by a component, for ReportError.
type componentError struct {
	component string
	err       error
}

// fatal stops the worker with err (the first one wins).
func (rt *runtime) fatal(err error) {
	rt.fatalOnce.Do(func() { rt.fatalErr <- err })
}

// reportError queues err for ZooKeeper without ever blocking an executor:
// when the reporter is behind, the error is only logged.
func (rt *runtime) reportError(component string, err error) {
	rt.logger.Error("component error", "component", component, "err", err)
	rt.errorsMu.RLock()
	defer rt.errorsMu.RUnlock()
	select {
	case rt.errors <- componentError{component, err}:
	default:
	}
}

// closeErrors ends the reporter once nothing reports any more.
func (rt *runtime) closeErrors() {
	rt.errorsMu.Lock()
	defer rt.errorsMu.Unlock()
	close(rt.errors)
	rt.errors = nil
}

// numTasks is one more than the highest task id.
func (rt *runtime) numTasks() int {
	n := 0
	for t := range rt.taskToComponent {
		n = max(n, t+1)
	}
	return n
}

// ackerFor returns the acker task responsible for a tuple tree: a hash of the
// root id modulo the ackers, so every message of one tree meets one acker.
func (rt *runtime) ackerFor(root uint64) int {
	return rt.ackerTasks[root%uint64(len(rt.ackerTasks))]
}

// componentConf is the topology conf with the component's own on top.
func (rt *runtime) componentConf(comp string) config.Conf {
	var own map[string]any
	if c := rt.def.Spouts[comp]; c != nil {
		own = c.Conf
	} else if c := rt.def.Bolts[comp]; c != nil {
		own = c.Conf
	}
	return rt.conf.Merge(own)
}

// newContext builds the context of task id of component comp.
func (rt *runtime) newContext(comp string, id int) *topology.Context {
	return &topology.Context{
		TopologyID:      rt.topologyID,
		ComponentID:     comp,
		TaskID:          id,
		TaskToComponent: rt.taskToComponent,
		ComponentTasks:  rt.componentTasks,
		Outputs:         rt.outputs,
		Conf:            rt.componentConf(comp),
		WorkerPort:      rt.port,
		PidDir:          rt.pidDir,
		CodeDir:         rt.codeDir,
		Clock:           rt.clock,
		Metrics:         topology.NewTaskMetrics(),
		// Windowed and stateful bolts count their input tasks from it.
		Definition: rt.def,
	}
}

// localTasks returns the sorted task ids running in this worker.
func (rt *runtime) localTasks() []int {
	var out []int
	for t, e := range rt.local {
		if e != nil {
			out = append(out, t)
		}
	}
	sort.Ints(out)
	return out
}

// ticker is a channel of ticks every d on the worker's clock (tick tuples,
// the rotation of pending maps for message timeouts) and its stop. On the
// wall clock it is a time.Ticker's. On a simulated clock every due tick is
// delivered, each when the executor takes it: the clock's advance waits
// for that, so a test's AdvanceTime returns with every due tick taken (an
// executor handles a tick it took before any later tuple).
func (rt *runtime) ticker(d time.Duration) (<-chan time.Time, func()) {
	if rt.clock == nil || rt.clock == topology.WallClock {
		tk := time.NewTicker(d)
		return tk.C, tk.Stop
	}
	ticks, quit := make(chan time.Time), make(chan struct{})
	stop := rt.clock.Every(d, func() {
		select {
		case ticks <- rt.clock.Now():
		case <-quit:
		}
	})
	return ticks, func() {
		close(quit)
		stop()
	}
}
