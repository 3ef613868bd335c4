package nimbus

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// memState is an in-memory StormClusterState for tests that need no
// ZooKeeper. It keeps the same records the real one keeps and counts writes,
// so tests can assert that nothing was written.
type memState struct {
	mu          sync.Mutex
	storms      map[string]*cluster.StormBase
	assignments map[string]*cluster.Assignment
	supervisors map[string]*cluster.SupervisorInfo
	beats       map[string]map[string]*cluster.WorkerHeartbeat // topology → node-port
	hbStorms    map[string]bool
	errors      map[string]map[string][]cluster.ErrorInfo
	writes      int
	failWrites  error
	// supervisorsCB is the one-shot watch on /supervisors.
	supervisorsCB cluster.Callback
	// calls logs StormBase reads and RemoveStorm calls ("StormBase id",
	// "RemoveStorm id"), for tests of nimbus's order at start.
	calls      []string
	logConfigs map[string]*cluster.LogConfig
}

func newMemState() *memState {
	return &memState{
		storms:      map[string]*cluster.StormBase{},
		assignments: map[string]*cluster.Assignment{},
		supervisors: map[string]*cluster.SupervisorInfo{},
		beats:       map[string]map[string]*cluster.WorkerHeartbeat{},
		hbStorms:    map[string]bool{},
		errors:      map[string]map[string][]cluster.ErrorInfo{},
	}
}

func (m *memState) write() error {
	if m.failWrites != nil {
		return m.failWrites
	}
	m.writes++
	return nil
}

func (m *memState) Assignments(cb cluster.Callback) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.assignments)), nil
}

func (m *memState) AssignmentInfo(id string, cb cluster.Callback) (*cluster.Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.assignments[id]
	if a == nil {
		return nil, nil
	}
	c := *a
	c.Executors = append([]cluster.ExecutorAssignment(nil), a.Executors...)
	return &c, nil
}

func (m *memState) AssignmentInfoWithVersion(id string, cb cluster.Callback) (*cluster.Assignment, int32, error) {
	a, err := m.AssignmentInfo(id, cb)
	return a, 0, err
}

func (m *memState) AssignmentVersion(id string, cb cluster.Callback) (int32, error) { return 0, nil }

func (m *memState) ActiveStorms() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.storms)), nil
}

func (m *memState) StormBase(id string, cb cluster.Callback) (*cluster.StormBase, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "StormBase "+id)
	b := m.storms[id]
	if b == nil {
		return nil, nil
	}
	c := *b
	return &c, nil
}

func (m *memState) WorkerHeartbeat(id, node string, port int) (*cluster.WorkerHeartbeat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.beats[id][fmt.Sprintf("%s-%d", node, port)], nil
}

func (m *memState) ExecutorBeats(id string, a *cluster.Assignment) (map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat, error) {
	return nil, fmt.Errorf("memState: ExecutorBeats is not used by nimbus")
}

func (m *memState) Supervisors(cb cluster.Callback) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cb != nil {
		m.supervisorsCB = cb
	}
	return slices.Sorted(maps.Keys(m.supervisors)), nil
}

// loseSupervisor removes a supervisor's ephemeral node, as its session's end
// does, and fires the one-shot /supervisors watch.
func (m *memState) loseSupervisor(id string) {
	m.mu.Lock()
	delete(m.supervisors, id)
	cb := m.supervisorsCB
	m.supervisorsCB = nil
	m.mu.Unlock()
	if cb != nil {
		cb()
	}
}

func (m *memState) SupervisorExists(id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.supervisors[id] != nil, nil
}

func (m *memState) SupervisorInfo(id string) (*cluster.SupervisorInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.supervisors[id], nil
}

func (m *memState) SetupErrors(id string, acl ...cluster.ACL) error { return nil }

func (m *memState) SetupHeartbeats(id string, acl ...cluster.ACL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	m.hbStorms[id] = true
	return nil
}

func (m *memState) TeardownHeartbeats(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.hbStorms, id)
	delete(m.beats, id)
	return nil
}

func (m *memState) TeardownTopologyErrors(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.errors, id)
	return nil
}

func (m *memState) HeartbeatStorms() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.hbStorms)), nil
}

func (m *memState) ErrorTopologies() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.errors)), nil
}

func (m *memState) SetWorkerHeartbeat(id, node string, port int, hb *cluster.WorkerHeartbeat) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.beats[id] == nil {
		m.beats[id] = map[string]*cluster.WorkerHeartbeat{}
	}
	m.hbStorms[id] = true
	m.beats[id][fmt.Sprintf("%s-%d", node, port)] = hb
	return nil
}

func (m *memState) RemoveWorkerHeartbeat(id, node string, port int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.beats[id], fmt.Sprintf("%s-%d", node, port))
	return nil
}

func (m *memState) SupervisorHeartbeat(id string, info *cluster.SupervisorInfo) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.supervisors[id] = info
	return nil
}

func (m *memState) ActivateStorm(id string, base *cluster.StormBase, acl ...cluster.ACL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	c := *base
	m.storms[id] = &c
	return nil
}

func (m *memState) UpdateStorm(id string, update *cluster.StormBase) error {
	return fmt.Errorf("memState: UpdateStorm is not used by nimbus")
}

func (m *memState) RemoveStormBase(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.storms, id)
	return nil
}

func (m *memState) SetAssignment(id string, a *cluster.Assignment, acl ...cluster.ACL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	m.assignments[id] = a
	return nil
}

func (m *memState) RemoveStorm(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "RemoveStorm "+id)
	delete(m.storms, id)
	delete(m.assignments, id)
	delete(m.logConfigs, id)
	return nil
}

func (m *memState) TopologyLogConfig(id string, cb cluster.Callback) (*cluster.LogConfig, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logConfigs[id], nil
}

func (m *memState) SetTopologyLogConfig(id string, c *cluster.LogConfig, acl ...cluster.ACL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	if m.logConfigs == nil {
		m.logConfigs = map[string]*cluster.LogConfig{}
	}
	m.logConfigs[id] = c
	return nil
}

func (m *memState) ReportError(id, component, host string, port int, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.errors[id] == nil {
		m.errors[id] = map[string][]cluster.ErrorInfo{}
	}
	e := cluster.ErrorInfo{V: 1, Error: err.Error(), TimeSecs: cluster.Now().Unix(), Host: host, Port: port, Component: component}
	m.errors[id][component] = append([]cluster.ErrorInfo{e}, m.errors[id][component]...)
	return nil
}

func (m *memState) Errors(id, component string) ([]cluster.ErrorInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errors[id][component], nil
}

func (m *memState) LastError(id, component string) (*cluster.ErrorInfo, error) {
	errs, _ := m.Errors(id, component)
	if len(errs) == 0 {
		return nil, nil
	}
	return &errs[0], nil
}

func (m *memState) OnReconnect(fn func()) {}
func (m *memState) Disconnect() error     { return nil }

// writeCount returns how many writes the state received.
func (m *memState) writeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func (m *memState) status(id string) cluster.TopologyStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.storms[id]; b != nil {
		return b.Status
	}
	return ""
}

func slotKey(s cluster.NodePort) string { return fmt.Sprintf("%s:%d", s.Node, s.Port) }

// takeCalls returns the logged calls and starts a new log.
func (m *memState) takeCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls := m.calls
	m.calls = nil
	return calls
}
