package cluster

// The records stored in ZooKeeper under storm.zookeeper.root. Every record is
// JSON with a "v" schema version, so any ZooKeeper client (zkCli.sh, kazoo) can
// read them. Field names follow Storm's Thrift structs in lower camel case.

// SchemaVersion is the "v" field written into every record.
const SchemaVersion = 1

// ExecutorInfo is an executor: the inclusive task range [Start, End] it runs.
type ExecutorInfo struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// NodePort is a worker slot: a supervisor id and one of its slot ports.
type NodePort struct {
	Node string `json:"node"`
	Port int    `json:"port"`
}

// ExecutorAssignment places one executor on a slot.
type ExecutorAssignment struct {
	Executor ExecutorInfo `json:"executor"`
	Slot     NodePort     `json:"slot"`
	// StartSecs is when the executor was first assigned to this slot (unix secs).
	StartSecs int64 `json:"startSecs"`
}

// Assignment is /assignments/<topology-id>.
type Assignment struct {
	V int `json:"v"`
	// CodeDir is nimbus's stormdist directory of the topology (informational).
	CodeDir string `json:"codeDir"`
	// NodeHost maps supervisor id to host name.
	NodeHost map[string]string `json:"nodeHost"`
	// Executors lists every executor with its slot and start time.
	Executors []ExecutorAssignment `json:"executors"`
	// ConfSHA256 is the SHA-256 of the topology's stormconf.json: a
	// supervisor whose copy differs (the conf changed on rebalance)
	// downloads it again and restarts the topology's workers. Empty in
	// assignments written before it existed.
	ConfSHA256 string `json:"confSha256,omitempty"`
}

// TopologyStatus is a topology's state in its StormBase, as Storm names it.
type TopologyStatus string

// Topology statuses.
const (
	StatusActive      TopologyStatus = "ACTIVE"
	StatusInactive    TopologyStatus = "INACTIVE"
	StatusKilled      TopologyStatus = "KILLED"
	StatusRebalancing TopologyStatus = "REBALANCING"
)

// TopologyActionOptions hold the pending kill or rebalance of a topology.
type TopologyActionOptions struct {
	// Action is "kill" or "rebalance".
	Action   string `json:"action"`
	WaitSecs int    `json:"waitSecs"`
	// NumWorkers and NumExecutors are set for a rebalance (0/nil = unchanged).
	NumWorkers   int            `json:"numWorkers,omitempty"`
	NumExecutors map[string]int `json:"numExecutors,omitempty"`
	// TopologyConf holds the configuration keys a rebalance changes
	// (Storm's topology_conf_overrides), merged at do-rebalance.
	TopologyConf map[string]any `json:"topologyConf,omitempty"`
}

// StormBase is /storms/<topology-id>.
type StormBase struct {
	V          int            `json:"v"`
	Name       string         `json:"name"`
	Status     TopologyStatus `json:"status"`
	NumWorkers int            `json:"numWorkers"`
	// ComponentExecutors maps component id to its number of executors.
	ComponentExecutors map[string]int `json:"componentExecutors"`
	LaunchTimeSecs     int64          `json:"launchTimeSecs"`
	Owner              string         `json:"owner,omitempty"`
	// TopologyActionOptions is non-nil while a kill or rebalance is pending.
	TopologyActionOptions *TopologyActionOptions `json:"topologyActionOptions,omitempty"`
	// PrevStatus is the status to return to after a rebalance.
	PrevStatus TopologyStatus `json:"prevStatus,omitempty"`
	// ComponentDebug is Storm's component_debug: the event logger's debug
	// options keyed by component id, or by the topology id for the whole
	// topology (a component's own entry wins).
	ComponentDebug map[string]DebugOptions `json:"componentDebug,omitempty"`
}

// DebugOptions are Storm's DebugOptions: whether the tuples a component
// emits are sampled into the event log, and the percentage sampled.
type DebugOptions struct {
	Enable      bool    `json:"enable"`
	SamplingPct float64 `json:"samplingpct"`
}

// DebugFor returns the debug options that apply to component of topology
// id: the component's own, else the topology's (Storm's Task.sendToEventLogger).
func (b *StormBase) DebugFor(id, component string) (DebugOptions, bool) {
	if o, ok := b.ComponentDebug[component]; ok {
		return o, true
	}
	o, ok := b.ComponentDebug[id]
	return o, ok
}

// SupervisorInfo is /supervisors/<supervisor-id> (ephemeral).
type SupervisorInfo struct {
	V          int    `json:"v"`
	TimeSecs   int64  `json:"timeSecs"`
	Hostname   string `json:"hostname"`
	UsedPorts  []int  `json:"usedPorts"`
	SlotPorts  []int  `json:"slotPorts"`
	UptimeSecs int64  `json:"uptimeSecs"`
	Version    string `json:"version"`
}

// ExecutorStats are the counters of one executor, cumulative since it started.
// Windowed views (10m, 3h, 1d, all-time) are computed by nimbus from successive
// heartbeats. Maps are keyed by stream id.
type ExecutorStats struct {
	Type        string           `json:"type"` // "spout" or "bolt"
	Emitted     map[string]int64 `json:"emitted,omitempty"`
	Transferred map[string]int64 `json:"transferred,omitempty"`
	Acked       map[string]int64 `json:"acked,omitempty"`
	Failed      map[string]int64 `json:"failed,omitempty"`
	Executed    map[string]int64 `json:"executed,omitempty"`
	// Latency sums in milliseconds (divide by the matching count for the mean).
	ExecuteLatencyMsSum  float64 `json:"executeLatencyMsSum,omitempty"`
	ProcessLatencyMsSum  float64 `json:"processLatencyMsSum,omitempty"`
	CompleteLatencyMsSum float64 `json:"completeLatencyMsSum,omitempty"`
	// Capacity is the fraction of the last window spent executing (bolts).
	Capacity float64 `json:"capacity,omitempty"`
}

// ExecutorHeartbeat is the stats of one executor in a worker heartbeat.
type ExecutorHeartbeat struct {
	Executor   ExecutorInfo  `json:"executor"`
	Component  string        `json:"component"`
	UptimeSecs int64         `json:"uptimeSecs"`
	Stats      ExecutorStats `json:"stats"`
	// TimeSecs and TimeMillis are the time of the worker heartbeat that
	// carried this beat. Workers leave them zero; ExecutorBeats fills them
	// (Storm's convert-executor-beats), so nimbus can tell a fresh beat from
	// a repeated one even when the stats did not change.
	TimeSecs   int64 `json:"timeSecs,omitempty"`
	TimeMillis int64 `json:"timeMillis,omitempty"`
}

// WorkerHeartbeat is /workerbeats/<topology-id>/<node>-<port>.
type WorkerHeartbeat struct {
	V          int                 `json:"v"`
	TopologyID string              `json:"topologyId"`
	Executors  []ExecutorHeartbeat `json:"executors"`
	TimeSecs   int64               `json:"timeSecs"`
	// TimeMillis is the write time in ms, so sub-second heartbeats are visible.
	TimeMillis int64 `json:"timeMillis"`
	UptimeSecs int64 `json:"uptimeSecs"`
	// RSSBytes and CPUMillis are the worker process's resident memory and
	// the CPU time it used so far (user and system), for nimbus's live
	// history; 0 where the platform does not tell (localstorm's own).
	RSSBytes  int64 `json:"rssBytes,omitempty"`
	CPUMillis int64 `json:"cpuMillis,omitempty"`
}

// ErrorInfo is /errors/<topology-id>/<component>/e<seq>.
type ErrorInfo struct {
	V         int    `json:"v"`
	Error     string `json:"error"`
	TimeSecs  int64  `json:"timeSecs"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Component string `json:"component,omitempty"`
}

// LocalWorkerHeartbeatKey is the LocalState key of a worker's local heartbeat
// in {local}/workers/<worker-id>/heartbeats (docs/internals.md).
const LocalWorkerHeartbeatKey = "worker-heartbeat"

// LocalWorkerHeartbeat is the local heartbeat a worker process writes for its
// supervisor (not stored in ZooKeeper): the supervisor compares it with its
// local assignment and declares the worker timed out when TimeMillis is older
// than supervisor.worker.timeout.secs.
type LocalWorkerHeartbeat struct {
	V          int            `json:"v"`
	TimeSecs   int64          `json:"timeSecs"`
	TimeMillis int64          `json:"timeMillis"`
	TopologyID string         `json:"topologyId"`
	Executors  []ExecutorInfo `json:"executors"`
	Port       int            `json:"port"`
}
