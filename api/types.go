// Package api holds the JSON documents of nimbus's HTTP API and a Go client for
// it. The reads and actions follow Storm UI's REST API (docs/STORM-UI-REST-API.md
// in apache/storm) field for field, so scripts written against Storm's UI work
// against localstorm; code upload, submit and code download are localstorm's own.
//
//	GET  /api/v1/cluster/summary                      ClusterSummary
//	GET  /api/v1/cluster/configuration                nimbus's conf (map)
//	GET  /api/v1/nimbus/summary                       NimbusSummary
//	GET  /api/v1/supervisor/summary                   SupervisorSummary
//	GET  /api/v1/topology/summary                     TopologySummary
//	GET  /api/v1/topology/<id>?window=600|10800|86400|:all-time   TopologyInfo
//	GET  /api/v1/topology/<id>/conf                   stormconf.json (map)
//	GET  /api/v1/topology/<id>/definition             stormtopology.json (topology.Definition)
//	GET  /api/v1/topology/<id>/component/<c>/errors   ComponentErrors
//	GET  /api/v1/topology/<id>/code/<file>            stormcode (or the Flux stormcode.tgz), stormconf.json, stormtopology.json
//	POST /api/v1/topology/<id>/activate | deactivate  ActionReply
//	POST /api/v1/topology/<id>/kill[/<wait>]          ActionReply (no wait: the topology's message timeout)
//	POST /api/v1/topology/<id>/rebalance[/<wait>]     body RebalanceRequest; ActionReply
//	POST /api/v1/uploads                              streamed code, header X-Checksum-Sha256; UploadReply
//	POST /api/v1/topologies                           body SubmitRequest; SubmitReply
//	GET  /api/v1/events[/stream]                      EventsReply; Server-Sent Events (events.go)
//
// Errors are {"error": <status text>, "errorMessage": <what went wrong and what
// to do>} with 400 (invalid), 404 (not found), 409 (conflict: a live name, a
// transition not possible in the topology's state), 413 (upload too large),
// 500 or 503; the client returns them as *Error, matched with errors.Is
// against ErrInvalid, ErrNotFound, ErrConflict, ErrTooLarge.
package api

import (
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
)

// Paths of the API, relative to the base URL. Topology-scoped paths take the
// topology id as the next segment.
const (
	PathClusterSummary       = "/api/v1/cluster/summary"
	PathClusterConfiguration = "/api/v1/cluster/configuration"
	PathNimbusSummary        = "/api/v1/nimbus/summary"
	PathSupervisorSummary    = "/api/v1/supervisor/summary"
	PathTopologySummary      = "/api/v1/topology/summary"
	PathTopology             = "/api/v1/topology/" // + <id>[/action|/code/<file>]
	PathUploads              = "/api/v1/uploads"
	PathTopologies           = "/api/v1/topologies"
)

// Content types of request bodies. Every POST carries one of them, even
// without a body: JSON for submits and topology actions, octet-stream for
// code uploads. A browser cannot send either cross-site without a CORS
// preflight, which nimbus never grants.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeUpload = "application/octet-stream"
)

// HeaderChecksum carries the hex SHA-256 of an uploaded or downloaded code file.
const HeaderChecksum = "X-Checksum-Sha256"

// HeaderCodeFile names the file a code download must be stored as: "stormcode"
// for a binary, "stormcode.tgz" for a Flux archive.
const HeaderCodeFile = "X-Localstorm-Code-File"

// Names of the files of a topology's code directory (stormdist).
const (
	CodeFileBinary     = workercontract.CodeFile
	CodeFileArchive    = workercontract.FluxCodeFile
	CodeFileConf       = workercontract.ConfFile
	CodeFileDefinition = workercontract.DefinitionFile
)

// Code kinds of a submitted topology.
const (
	KindBinary = "binary" // a Go topology binary (stormcode)
	KindFlux   = "flux"   // a Flux YAML and its resources (stormcode.tgz)
)

// Stats windows as Storm UI names them (seconds, or ":all-time").
const (
	Window10m     = "600"
	Window3h      = "10800"
	Window1d      = "86400"
	WindowAllTime = ":all-time"
)

// Windows lists the stats windows in Storm UI's order.
var Windows = []string{Window10m, Window3h, Window1d, WindowAllTime}

// SubmitRequest is the body of POST /api/v1/topologies.
type SubmitRequest struct {
	Name string `json:"name"`
	// UploadID names code uploaded before with POST /api/v1/uploads.
	UploadID string `json:"uploadId"`
	// SHA256 is the hex checksum of the upload, checked again at submit.
	SHA256 string `json:"sha256"`
	// Kind is KindBinary or KindFlux.
	Kind       string               `json:"kind"`
	Definition *topology.Definition `json:"definition"`
	// Conf overrides the nimbus conf and the definition's conf.
	Conf map[string]any `json:"conf,omitempty"`
	// InitialStatus is "" (ACTIVE) or "INACTIVE".
	InitialStatus string `json:"initialStatus,omitempty"`
}

// UploadReply answers POST /api/v1/uploads.
type UploadReply struct {
	UploadID string `json:"uploadId"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
}

// SubmitReply answers POST /api/v1/topologies.
type SubmitReply struct {
	TopologyID string `json:"topologyId"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	// NotUsed says, a line per key, which keys the submission set that
	// localstorm accepts but does not use ("accepted, not used by
	// localstorm: KEY (why)").
	NotUsed []string `json:"notUsed,omitempty"`
}

// RebalanceRequest is the body of POST topology/<id>/rebalance/<wait>.
type RebalanceRequest struct {
	RebalanceOptions RebalanceOptions `json:"rebalanceOptions"`
}

// RebalanceOptions are the new workers and component parallelism (0/nil =
// unchanged), and the topology configuration keys to change (Storm's
// `rebalance -t`; nil = unchanged).
type RebalanceOptions struct {
	NumWorkers int            `json:"numWorkers,omitempty"`
	Executors  map[string]int `json:"executors,omitempty"`
	// TopologyConf is merged into the topology's configuration when the
	// rebalance happens (localstorm's own field: Storm UI's body has none).
	TopologyConf map[string]any `json:"topologyConf,omitempty"`
}

// ActionReply answers every topology action.
type ActionReply struct {
	TopologyOperation string `json:"topologyOperation"`
	TopologyID        string `json:"topologyId"`
	Status            string `json:"status"`
}

// ErrorReply is the body of every error response.
type ErrorReply struct {
	Error        string `json:"error"`
	ErrorMessage string `json:"errorMessage"`
}

// ClusterSummary is GET /api/v1/cluster/summary.
type ClusterSummary struct {
	StormVersion   string `json:"stormVersion"`
	NimbusUptime   string `json:"nimbusUptime"`
	Supervisors    int    `json:"supervisors"`
	Topologies     int    `json:"topologies"`
	SlotsTotal     int    `json:"slotsTotal"`
	SlotsUsed      int    `json:"slotsUsed"`
	SlotsFree      int    `json:"slotsFree"`
	ExecutorsTotal int    `json:"executorsTotal"`
	TasksTotal     int    `json:"tasksTotal"`
}

// SupervisorSummary is GET /api/v1/supervisor/summary.
type SupervisorSummary struct {
	Supervisors []Supervisor `json:"supervisors"`
}

// Supervisor is one supervisor of the supervisor summary.
type Supervisor struct {
	ID            string `json:"id"`
	Host          string `json:"host"`
	Uptime        string `json:"uptime"`
	UptimeSeconds int64  `json:"uptimeSeconds"`
	SlotsTotal    int    `json:"slotsTotal"`
	SlotsUsed     int    `json:"slotsUsed"`
	SlotsFree     int    `json:"slotsFree"`
	Version       string `json:"version"`
	LogLink       string `json:"logLink,omitempty"`
}

// NimbusSummary is GET /api/v1/nimbus/summary.
type NimbusSummary struct {
	Nimbuses []Nimbus `json:"nimbuses"`
}

// Nimbus is one nimbus host.
type Nimbus struct {
	Host                string `json:"host"`
	Port                int    `json:"port"`
	Status              string `json:"status"` // "Leader"
	Version             string `json:"version"`
	NimbusUpTime        string `json:"nimbusUpTime"`
	NimbusUpTimeSeconds int64  `json:"nimbusUpTimeSeconds"`
	NimbusLogLink       string `json:"nimbusLogLink,omitempty"`
}

// TopologySummary is GET /api/v1/topology/summary.
type TopologySummary struct {
	Topologies []TopologyBrief `json:"topologies"`
}

// TopologyBrief is one topology of the topology summary.
type TopologyBrief struct {
	ID             string `json:"id"`
	EncodedID      string `json:"encodedId"`
	Name           string `json:"name"`
	Status         string `json:"status"`
	Uptime         string `json:"uptime"`
	UptimeSeconds  int64  `json:"uptimeSeconds"`
	TasksTotal     int    `json:"tasksTotal"`
	WorkersTotal   int    `json:"workersTotal"`
	ExecutorsTotal int    `json:"executorsTotal"`
	// SchedulerInfo says why a topology is not (fully) scheduled; empty when it is.
	SchedulerInfo string `json:"schedulerInfo,omitempty"`
	// TopologyErrors are the topology's problems that are no component's
	// error (localstorm's): a worker that keeps crashing, until it recovers.
	TopologyErrors []string `json:"topologyErrors,omitempty"`
}

// TopologyInfo is GET /api/v1/topology/<id>.
type TopologyInfo struct {
	ID             string          `json:"id"`
	EncodedID      string          `json:"encodedId"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	Uptime         string          `json:"uptime"`
	UptimeSeconds  int64           `json:"uptimeSeconds"`
	TasksTotal     int             `json:"tasksTotal"`
	WorkersTotal   int             `json:"workersTotal"`
	ExecutorsTotal int             `json:"executorsTotal"`
	MsgTimeout     int             `json:"msgTimeout"`
	Window         string          `json:"window"`
	WindowHint     string          `json:"windowHint"`
	Debug          bool            `json:"debug"`
	SchedulerInfo  string          `json:"schedulerInfo,omitempty"`
	TopologyErrors []string        `json:"topologyErrors,omitempty"`
	TopologyStats  []WindowStats   `json:"topologyStats"`
	Spouts         []SpoutSummary  `json:"spouts"`
	Bolts          []BoltSummary   `json:"bolts"`
	Workers        []WorkerSummary `json:"workers"`
	Configuration  map[string]any  `json:"configuration"`
}

// ExecutorsAlive counts the executors of the topology's spouts and bolts,
// and those of them alive: what testkit's WaitTopologyActive and
// `localstorm wait topology --active` wait on.
func (t *TopologyInfo) ExecutorsAlive() (alive, total int) {
	count := func(es []ExecutorSummary) {
		for _, e := range es {
			total++
			if e.Alive {
				alive++
			}
		}
	}
	for _, s := range t.Spouts {
		count(s.ExecutorStats)
	}
	for _, b := range t.Bolts {
		count(b.ExecutorStats)
	}
	return alive, total
}

// SpoutsAcked is the sum of the tuples the topology's spouts acked.
func (t *TopologyInfo) SpoutsAcked() int64 {
	var acked int64
	for _, s := range t.Spouts {
		acked += s.Acked
	}
	return acked
}

// WindowStats are a topology's totals over one window. Latencies are strings
// with three decimals, as Storm UI sends them.
type WindowStats struct {
	Window          string `json:"window"`
	WindowPretty    string `json:"windowPretty"`
	Emitted         int64  `json:"emitted"`
	Transferred     int64  `json:"transferred"`
	CompleteLatency string `json:"completeLatency"`
	Acked           int64  `json:"acked"`
	Failed          int64  `json:"failed"`
}

// ComponentError is the last error of a component, as Storm UI flattens it.
type ComponentError struct {
	LastError       string `json:"lastError"`
	ErrorHost       string `json:"errorHost"`
	ErrorPort       *int   `json:"errorPort"`
	ErrorTime       *int64 `json:"errorTime"`
	ErrorLapsedSecs *int64 `json:"errorLapsedSecs"`
}

// SpoutSummary is one spout of a topology, its stats over the requested window.
type SpoutSummary struct {
	SpoutID         string `json:"spoutId"`
	EncodedSpoutID  string `json:"encodedSpoutId"`
	Executors       int    `json:"executors"`
	Tasks           int    `json:"tasks"`
	Emitted         int64  `json:"emitted"`
	Transferred     int64  `json:"transferred"`
	CompleteLatency string `json:"completeLatency"`
	Acked           int64  `json:"acked"`
	Failed          int64  `json:"failed"`
	ComponentError
	// ExecutorStats are the spout's executors (Storm UI's component page).
	ExecutorStats []ExecutorSummary `json:"executorStats"`
}

// BoltSummary is one bolt of a topology, its stats over the requested window.
type BoltSummary struct {
	BoltID         string `json:"boltId"`
	EncodedBoltID  string `json:"encodedBoltId"`
	Executors      int    `json:"executors"`
	Tasks          int    `json:"tasks"`
	Emitted        int64  `json:"emitted"`
	Transferred    int64  `json:"transferred"`
	Capacity       string `json:"capacity"`
	ExecuteLatency string `json:"executeLatency"`
	Executed       int64  `json:"executed"`
	ProcessLatency string `json:"processLatency"`
	Acked          int64  `json:"acked"`
	Failed         int64  `json:"failed"`
	ComponentError
	ExecutorStats []ExecutorSummary `json:"executorStats"`
}

// ExecutorSummary is one executor of a component: where it runs and its stats
// over the requested window.
type ExecutorSummary struct {
	ID              string `json:"id"` // "[start-end]"
	EncodedID       string `json:"encodedId"`
	Host            string `json:"host"`
	Port            int    `json:"port"`
	SupervisorID    string `json:"supervisorId"`
	Uptime          string `json:"uptime"`
	UptimeSeconds   int64  `json:"uptimeSeconds"`
	Alive           bool   `json:"alive"`
	Emitted         int64  `json:"emitted"`
	Transferred     int64  `json:"transferred"`
	Acked           int64  `json:"acked"`
	Failed          int64  `json:"failed"`
	Executed        int64  `json:"executed,omitempty"`
	CompleteLatency string `json:"completeLatency,omitempty"`
	ExecuteLatency  string `json:"executeLatency,omitempty"`
	ProcessLatency  string `json:"processLatency,omitempty"`
	Capacity        string `json:"capacity,omitempty"`
	WorkerLogLink   string `json:"workerLogLink,omitempty"`
}

// WorkerSummary is one worker (slot) of a topology.
type WorkerSummary struct {
	SupervisorID      string         `json:"supervisorId"`
	Host              string         `json:"host"`
	Port              int            `json:"port"`
	TopologyID        string         `json:"topologyId"`
	TopologyName      string         `json:"topologyName"`
	ExecutorsTotal    int            `json:"executorsTotal"`
	ComponentNumTasks map[string]int `json:"componentNumTasks"`
	Uptime            string         `json:"uptime"`
	UptimeSeconds     int64          `json:"uptimeSeconds"`
	WorkerLogLink     string         `json:"workerLogLink,omitempty"`
}

// ComponentErrors is GET /api/v1/topology/<id>/component/<component>/errors:
// the component's recent errors, newest first (ZooKeeper keeps the last 10).
type ComponentErrors struct {
	TopologyID      string               `json:"topologyId"`
	ComponentID     string               `json:"componentId"`
	ComponentErrors []ComponentErrorItem `json:"componentErrors"`
}

// ComponentErrorItem is one reported error, with Storm UI's field names.
type ComponentErrorItem struct {
	Error           string `json:"error"`
	ErrorTime       int64  `json:"errorTime"`
	ErrorHost       string `json:"errorHost"`
	ErrorPort       int    `json:"errorPort"`
	ErrorLapsedSecs int64  `json:"errorLapsedSecs"`
}

// Paths of Storm UI's REST API served besides the summaries, and of Storm's
// logviewer REST API, which nimbus serves over the log files of the workers
// and daemons on this machine.
const (
	PathSupervisor      = "/api/v1/supervisor"        // ?id=SUPERVISOR-ID | ?host=HOST: SupervisorPage
	PathTopologyWorkers = "/api/v1/topology-workers/" // + <id>: TopologyWorkers
	PathLog             = "/api/v1/log"               // ?file=TOPOLOGY-ID/PORT/FILE&start=&length=: a page of a worker log
	PathDaemonLog       = "/api/v1/daemonlog"         // ?file=NAME&start=&length=: a page of a daemon log
	PathListLogs        = "/api/v1/listLogs"          // ?topoId=&port=: LogList (a JSON array)
	PathDownload        = "/api/v1/download"          // ?file=TOPOLOGY-ID/PORT/FILE: the whole file
	PathDaemonDownload  = "/api/v1/daemondownload"    // ?file=NAME: the whole daemon log
	PathSearch          = "/api/v1/search"            // ?file=&search-string=&num-matches=&start-byte-offset=&is-daemon=yes: LogSearch
)

// Storm's component types, as the component page names them.
const (
	ComponentTypeSpout = "spout"
	ComponentTypeBolt  = "bolt"
)

// ComponentPage is GET /api/v1/topology/<id>/component/<component>?window=&sys=,
// Storm UI's component page. A spout's page has SpoutSummary and a bolt's
// BoltStats and InputStats; both have OutputStats, ExecutorStats and
// ComponentErrors.
type ComponentPage struct {
	ID                   string           `json:"id"`
	EncodedID            string           `json:"encodedId"`
	Name                 string           `json:"name"` // the topology's name
	ComponentType        string           `json:"componentType"`
	Executors            int              `json:"executors"`
	Tasks                int              `json:"tasks"`
	TopologyID           string           `json:"topologyId"`
	EncodedTopologyID    string           `json:"encodedTopologyId"`
	TopologyStatus       string           `json:"topologyStatus"`
	Window               string           `json:"window"`
	WindowHint           string           `json:"windowHint"`
	Debug                bool             `json:"debug"`
	SamplingPct          float64          `json:"samplingPct"`
	User                 *string          `json:"user"` // no accounts: always null
	SchedulerDisplayRes  bool             `json:"schedulerDisplayResource"`
	ProfilingCapable     bool             `json:"profilingAndDebuggingCapable"`
	ProfileActionEnabled bool             `json:"profileActionEnabled"`
	ProfilerActive       []any            `json:"profilerActive"`
	SpoutSummary         []ComponentStats `json:"spoutSummary,omitempty"`
	BoltStats            []ComponentStats `json:"boltStats,omitempty"`
	InputStats           []InputStats     `json:"inputStats,omitempty"`
	OutputStats          []OutputStats    `json:"outputStats"`
	ExecutorStats        []ExecutorStats  `json:"executorStats"`
	ComponentErrors      []ErrorDetail    `json:"componentErrors"`
}

// ComponentStats are a component's totals over one window: a spout's
// (CompleteLatency, LastError) or a bolt's (Executed, the latencies, Capacity).
type ComponentStats struct {
	Window          string  `json:"window"`
	WindowPretty    string  `json:"windowPretty"`
	Emitted         int64   `json:"emitted"`
	Transferred     int64   `json:"transferred"`
	Acked           int64   `json:"acked"`
	Failed          int64   `json:"failed"`
	CompleteLatency string  `json:"completeLatency,omitempty"`
	LastError       *string `json:"lastError,omitempty"`
	Executed        *int64  `json:"executed,omitempty"`
	ExecuteLatency  string  `json:"executeLatency,omitempty"`
	ProcessLatency  string  `json:"processLatency,omitempty"`
	Capacity        string  `json:"capacity,omitempty"`
}

// InputStats are a bolt's counts for one of its inputs (source component and
// stream) over the page's window.
type InputStats struct {
	Component          string `json:"component"`
	EncodedComponentID string `json:"encodedComponentId"`
	Stream             string `json:"stream"`
	ExecuteLatency     string `json:"executeLatency"`
	ProcessLatency     string `json:"processLatency"`
	Executed           int64  `json:"executed"`
	Acked              int64  `json:"acked"`
	Failed             int64  `json:"failed"`
}

// OutputStats are a component's counts on one of its output streams over the
// page's window; a spout's also carry acks, fails and complete latency.
type OutputStats struct {
	Stream          string `json:"stream"`
	Emitted         int64  `json:"emitted"`
	Transferred     int64  `json:"transferred"`
	CompleteLatency string `json:"completeLatency,omitempty"`
	Acked           *int64 `json:"acked,omitempty"`
	Failed          *int64 `json:"failed,omitempty"`
}

// ExecutorStats is one executor on the component page.
type ExecutorStats struct {
	ID              string `json:"id"`
	EncodedID       string `json:"encodedId"`
	Uptime          string `json:"uptime"`
	UptimeSeconds   int64  `json:"uptimeSeconds"`
	Host            string `json:"host"`
	Port            int    `json:"port"`
	Emitted         int64  `json:"emitted"`
	Transferred     int64  `json:"transferred"`
	Acked           int64  `json:"acked"`
	Failed          int64  `json:"failed"`
	CompleteLatency string `json:"completeLatency,omitempty"`
	Executed        *int64 `json:"executed,omitempty"`
	ExecuteLatency  string `json:"executeLatency,omitempty"`
	ProcessLatency  string `json:"processLatency,omitempty"`
	Capacity        string `json:"capacity,omitempty"`
	WorkerLogLink   string `json:"workerLogLink"`
}

// ErrorDetail is one reported error on the component page, oldest first as
// Storm UI sorts them; Time is in milliseconds.
type ErrorDetail struct {
	Time               int64  `json:"time"`
	ErrorHost          string `json:"errorHost"`
	ErrorPort          int    `json:"errorPort"`
	ErrorWorkerLogLink string `json:"errorWorkerLogLink"`
	ErrorLapsedSecs    int64  `json:"errorLapsedSecs"`
	Error              string `json:"error"`
}

// TopologyWorkers is GET /api/v1/topology-workers/<id>: the host and port of
// every worker of the topology.
type TopologyWorkers struct {
	HostPortList    []HostPort `json:"hostPortList"`
	LogviewerPort   int        `json:"logviewerPort"`
	LogviewerScheme string     `json:"logviewerScheme"`
}

// HostPort is one worker's place.
type HostPort struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// SupervisorPage is GET /api/v1/supervisor?id=ID or ?host=HOST: the
// supervisors that match and the workers they run.
type SupervisorPage struct {
	Supervisors         []Supervisor    `json:"supervisors"`
	Workers             []WorkerSummary `json:"workers"`
	SchedulerDisplayRes bool            `json:"schedulerDisplayResource"`
	LogviewerPort       int             `json:"logviewerPort"`
	LogviewerScheme     string          `json:"logviewerScheme"`
}

// LogSearch answers GET /api/v1/search: the matches of search-string in a
// log file from start-byte-offset on, as Storm's logviewer reports them.
type LogSearch struct {
	SearchString    string     `json:"searchString"`
	StartByteOffset int64      `json:"startByteOffset"`
	NextByteOffset  *int64     `json:"nextByteOffset"` // null when the file has no more matches
	IsDaemon        string     `json:"isDaemon"`       // "yes" or "no"
	Matches         []LogMatch `json:"matches"`
}

// LogMatch is one match with the bytes around it.
type LogMatch struct {
	ByteOffset   int64  `json:"byteOffset"`
	BeforeString string `json:"beforeString"`
	AfterString  string `json:"afterString"`
	MatchString  string `json:"matchString"`
	LogviewerURL string `json:"logviewerURL"`
}

// ExecutorStreamStats are one executor's counts per window and stream
// (Storm's ExecutorStats of getTopologyInfo): Windows maps each of
// api.Windows to that window's counts.
type ExecutorStreamStats struct {
	ID        string                  `json:"id"` // "[start-end]"
	Component string                  `json:"component"`
	Spout     bool                    `json:"spout"`
	Windows   map[string]StreamCounts `json:"windows"`
}

// StreamCounts are an executor's counters per stream over one window, and
// its mean latencies (ms) over the window.
type StreamCounts struct {
	Emitted     map[string]int64 `json:"emitted"`
	Transferred map[string]int64 `json:"transferred"`
	Acked       map[string]int64 `json:"acked"`
	Failed      map[string]int64 `json:"failed"`
	Executed    map[string]int64 `json:"executed"`
	// CompleteLatencyMs (a spout's), ProcessLatencyMs and ExecuteLatencyMs
	// (a bolt's) are means over the window.
	CompleteLatencyMs float64 `json:"completeLatencyMs"`
	ProcessLatencyMs  float64 `json:"processLatencyMs"`
	ExecuteLatencyMs  float64 `json:"executeLatencyMs"`
}
