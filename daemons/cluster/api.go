package cluster

import "time"

// Callback is a one-shot watch callback: it runs at most once, after the watched
// data changed (or after the session was lost and re-established, so the owner
// re-reads and re-registers). A nil Callback sets no watch.
type Callback func()

// ClusterState is the path/value store over ZooKeeper (Storm's ClusterState).
// All paths are relative to the chroot storm.zookeeper.root and start with "/".
type ClusterState interface {
	// SetEphemeralNode writes data at path as an ephemeral node of this
	// session, creating parents; it survives the node vanishing between the
	// existence check and the write.
	SetEphemeralNode(path string, data []byte) error
	// DeleteNode deletes path and everything below it; a missing node is not an error.
	DeleteNode(path string) error
	// CreateSequential creates a persistent sequential node and returns its path.
	CreateSequential(path string, data []byte) (string, error)
	// SetData writes data at path, creating the node and its parents if
	// missing, with acl (none: the state's default, Options.ACL).
	SetData(path string, data []byte, acl ...ACL) error
	// GetData returns the data at path, nil when missing; watch sets a data watch.
	GetData(path string, watch bool) ([]byte, error)
	// GetVersion returns the node's data version, -1 when missing.
	GetVersion(path string, watch bool) (int32, error)
	// GetDataWithVersion returns data and version (nil, -1 when missing).
	GetDataWithVersion(path string, watch bool) ([]byte, int32, error)
	// GetChildren returns the child names (nil when the node is missing).
	GetChildren(path string, watch bool) ([]string, error)
	// Mkdirs creates path and its parents as persistent nodes with acl
	// (none: the state's default).
	Mkdirs(path string, acl ...ACL) error
	// Register adds a callback that receives every watched event while the
	// state is active; it returns an id for Unregister.
	Register(fn func(Event)) string
	Unregister(id string)
	// Close closes the ZooKeeper connection.
	Close() error
}

// Event is a watched ZooKeeper event with its path relative to the chroot.
type Event struct {
	Type EventType
	Path string
}

// EventType says what happened at an Event's path.
type EventType string

// Event types: ZooKeeper's node events, and EventReconnected after a lost
// session was replaced (every one-shot watch is gone; its path is "/").
const (
	EventCreated     EventType = "created"
	EventDeleted     EventType = "deleted"
	EventChanged     EventType = "changed"
	EventChildren    EventType = "children"
	EventReconnected EventType = "reconnected"
)

// StormClusterState is Storm's domain API over ClusterState. Getters set a watch
// only when cb is non-nil; callbacks are one-shot.
type StormClusterState interface {
	Assignments(cb Callback) ([]string, error)
	AssignmentInfo(topologyID string, cb Callback) (*Assignment, error)
	AssignmentInfoWithVersion(topologyID string, cb Callback) (*Assignment, int32, error)
	AssignmentVersion(topologyID string, cb Callback) (int32, error)
	ActiveStorms() ([]string, error)
	StormBase(topologyID string, cb Callback) (*StormBase, error)
	WorkerHeartbeat(topologyID, node string, port int) (*WorkerHeartbeat, error)
	// ExecutorBeats reads the heartbeats of the node+ports assigned in
	// assignment and returns them per executor.
	ExecutorBeats(topologyID string, assignment *Assignment) (map[ExecutorInfo]ExecutorHeartbeat, error)
	Supervisors(cb Callback) ([]string, error)
	SupervisorInfo(supervisorID string) (*SupervisorInfo, error)
	// SupervisorExists tells whether the supervisor's node exists, without
	// reading it (which its ACL may not allow).
	SupervisorExists(supervisorID string) (bool, error)
	// SetupHeartbeats and SetupErrors create the topology's workerbeats and
	// errors roots; ActivateStorm and SetAssignment write its storm base and
	// assignment. acl is the node's ACL (none: the state's default); nimbus
	// gives Storm's topology ACLs (TopologyACL) when ZooKeeper
	// authentication is on.
	SetupHeartbeats(topologyID string, acl ...ACL) error
	SetupErrors(topologyID string, acl ...ACL) error
	TeardownHeartbeats(topologyID string) error
	TeardownTopologyErrors(topologyID string) error
	HeartbeatStorms() ([]string, error)
	ErrorTopologies() ([]string, error)
	SetWorkerHeartbeat(topologyID, node string, port int, hb *WorkerHeartbeat) error
	RemoveWorkerHeartbeat(topologyID, node string, port int) error
	SupervisorHeartbeat(supervisorID string, info *SupervisorInfo) error
	ActivateStorm(topologyID string, base *StormBase, acl ...ACL) error
	// UpdateStorm merges the non-zero fields of update into the stored base;
	// ComponentExecutors are merged key by key.
	UpdateStorm(topologyID string, update *StormBase) error
	RemoveStormBase(topologyID string) error
	SetAssignment(topologyID string, a *Assignment, acl ...ACL) error
	RemoveStorm(topologyID string) error
	ReportError(topologyID, component, host string, port int, err error) error
	// Errors returns the component's errors, newest first.
	Errors(topologyID, component string) ([]ErrorInfo, error)
	// LastError returns the component's newest error, nil when none.
	LastError(topologyID, component string) (*ErrorInfo, error)
	// TopologyLogConfig reads /logconfigs/<id> (nil when never set).
	TopologyLogConfig(topologyID string, cb Callback) (*LogConfig, error)
	SetTopologyLogConfig(topologyID string, c *LogConfig, acl ...ACL) error
	// OnReconnect registers fn to run after a lost session was replaced by a
	// new one (ephemeral nodes re-created); owners re-read and re-register.
	OnReconnect(fn func())
	Disconnect() error
}

// SessionIDer is a state that tells the id of its current ZooKeeper session
// (for fault injection and diagnostics: the embedded server can expire it).
// The ZooKeeper-backed ClusterState and StormClusterState are SessionIDers.
type SessionIDer interface {
	SessionID() int64
}

var (
	_ SessionIDer = (*zkState)(nil)
	_ SessionIDer = (*stormState)(nil)
)

// Now is the clock used for record times; tests may replace it.
var Now = time.Now
