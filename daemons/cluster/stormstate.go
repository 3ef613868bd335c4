package cluster

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"

	"github.com/localstorm/localstorm/internal/errlist"
)

// maxErrorsKept is how many errors ReportError keeps per component (Storm's 10).
const maxErrorsKept = 10

// stormState is Storm's StormClusterStateImpl: the domain API over a
// ClusterState and the one dispatcher that routes watch events to the
// one-shot callbacks stored in its slots.
type stormState struct {
	state  ClusterState
	solo   bool // the state was opened for this StormClusterState: Disconnect closes it
	log    *slog.Logger
	dispID string

	cache recordCache // AssignmentInfo, StormBase and WorkerHeartbeat

	fatalOnce sync.Once
	onFatal   func(error)

	mu sync.Mutex
	// One-shot callback slots, as Storm's atomic references and maps.
	assignmentsCB               Callback
	supervisorsCB               Callback
	assignmentInfoCB            map[string]Callback
	assignmentInfoWithVersionCB map[string]Callback
	assignmentVersionCB         map[string]Callback
	stormBaseCB                 map[string]Callback
	logConfigCB                 map[string]Callback
	reconnectFns                []func()
}

// NewStormClusterState builds Storm's domain API over state: it registers its
// dispatcher and creates Storm's subtrees. Disconnect unregisters it and
// leaves state open. onFatal is called once when an event arrives under an
// unknown subtree (Storm exits with code 30); nil logs only.
func NewStormClusterState(state ClusterState, logger *slog.Logger, onFatal func(error)) (StormClusterState, error) {
	s, err := newStormState(state, logger, onFatal, false)
	if err != nil {
		return nil, err // not a typed nil *stormState inside the interface
	}
	return s, nil
}

func newStormState(state ClusterState, logger *slog.Logger, onFatal func(error), solo bool) (*stormState, error) {
	if state == nil {
		return nil, errors.New("new storm cluster state: nil ClusterState")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &stormState{
		state:                       state,
		solo:                        solo,
		log:                         logger,
		onFatal:                     onFatal,
		assignmentInfoCB:            map[string]Callback{},
		assignmentInfoWithVersionCB: map[string]Callback{},
		assignmentVersionCB:         map[string]Callback{},
		stormBaseCB:                 map[string]Callback{},
		logConfigCB:                 map[string]Callback{},
	}
	s.dispID = state.Register(s.dispatch)
	for _, p := range subtrees {
		if err := state.Mkdirs(p); err != nil {
			state.Unregister(s.dispID)
			return nil, fmt.Errorf("new storm cluster state: %w", err)
		}
	}
	return s, nil
}

// tokenizePath splits a path into its non-empty segments.
func tokenizePath(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

// dispatch routes a watch event to its slot by the path's first segment
// (Storm's watch dispatch); the slot is emptied before the callback runs.
func (s *stormState) dispatch(ev Event) {
	if ev.Type == EventReconnected {
		s.reconnected()
		return
	}
	toks := tokenizePath(ev.Path)
	sub := "/"
	if len(toks) > 0 {
		sub += toks[0]
	}
	// Storm's condp on the first segment (cluster.clj): the root has none
	// and falls to the fatal default; /storms without an id issues the
	// callback of a nil id, which no slot holds.
	switch {
	case sub == AssignmentsRoot && len(toks) == 1:
		s.issue(&s.assignmentsCB)
	case sub == AssignmentsRoot:
		s.issueMap(s.assignmentInfoCB, toks[1])
		s.issueMap(s.assignmentVersionCB, toks[1])
		s.issueMap(s.assignmentInfoWithVersionCB, toks[1])
	case sub == SupervisorsRoot:
		s.issue(&s.supervisorsCB)
	case sub == BlobstoreRoot:
		// No blobstore callbacks in localstorm; the subtree is known.
	case sub == StormsRoot && len(toks) > 1:
		s.issueMap(s.stormBaseCB, toks[1])
	case sub == StormsRoot:
		// No storm id: nothing to issue.
	case sub == LogconfigsRoot && len(toks) > 1:
		s.issueMap(s.logConfigCB, toks[1])
	case sub == CredentialsRoot || sub == LogconfigsRoot || sub == BackpressureRoot:
		// Known subtrees whose callbacks localstorm does not offer.
	default:
		err := fmt.Errorf("watch event %s on %s: unknown callback for subtree %s (Storm exits with code 30)", ev.Type, ev.Path, sub)
		s.fatalOnce.Do(func() {
			s.log.Error("storm cluster state cannot go on", "err", err)
			if s.onFatal != nil {
				s.onFatal(Exit(ExitUnknownSubtree, err))
			}
		})
	}
}

// issue is Storm's issue-callback!: take the callback out, then run it.
func (s *stormState) issue(slot *Callback) {
	s.mu.Lock()
	cb := *slot
	*slot = nil
	s.mu.Unlock()
	if cb != nil {
		cb()
	}
}

// issueMap is Storm's issue-map-callback!.
func (s *stormState) issueMap(slots map[string]Callback, id string) {
	s.mu.Lock()
	cb := slots[id]
	delete(slots, id)
	s.mu.Unlock()
	if cb != nil {
		cb()
	}
}

// reconnected runs every stored one-shot callback (their watches died with
// the session) and then every OnReconnect function.
func (s *stormState) reconnected() {
	s.mu.Lock()
	var cbs []Callback
	for _, cb := range []Callback{s.assignmentsCB, s.supervisorsCB} {
		if cb != nil {
			cbs = append(cbs, cb)
		}
	}
	s.assignmentsCB, s.supervisorsCB = nil, nil
	for _, m := range []map[string]Callback{s.assignmentInfoCB, s.assignmentInfoWithVersionCB, s.assignmentVersionCB, s.stormBaseCB, s.logConfigCB} {
		ids := slices.Sorted(maps.Keys(m))
		for _, id := range ids {
			cbs = append(cbs, m[id])
			delete(m, id)
		}
	}
	fns := slices.Clone(s.reconnectFns)
	s.mu.Unlock()
	for _, cb := range cbs {
		cb()
	}
	for _, fn := range fns {
		fn()
	}
}

// store puts cb into its slot before the read that sets the watch, so an
// event arriving right after the read finds it.
func (s *stormState) store(slot *Callback, cb Callback) {
	if cb == nil {
		return
	}
	s.mu.Lock()
	*slot = cb
	s.mu.Unlock()
}

func (s *stormState) storeMap(slots map[string]Callback, id string, cb Callback) {
	if cb == nil {
		return
	}
	s.mu.Lock()
	slots[id] = cb
	s.mu.Unlock()
}

// checkID rejects an id that cannot be one znode name.
func checkID(what, id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("invalid %s %q: it must be a non-empty znode name without /", what, id)
	}
	return nil
}

func (s *stormState) Assignments(cb Callback) ([]string, error) {
	s.store(&s.assignmentsCB, cb)
	ids, err := s.state.GetChildren(AssignmentsRoot, cb != nil)
	if err != nil {
		return nil, fmt.Errorf("read assignments: %w", err)
	}
	return ids, nil
}

func (s *stormState) AssignmentInfo(topologyID string, cb Callback) (*Assignment, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, fmt.Errorf("read assignment: %w", err)
	}
	s.storeMap(s.assignmentInfoCB, topologyID, cb)
	a, _, err := readCached(s, AssignmentPath(topologyID), cb != nil, (*Assignment).Clone)
	if err != nil {
		return nil, fmt.Errorf("read assignment of %s: %w", topologyID, err)
	}
	return a, nil
}

func (s *stormState) AssignmentInfoWithVersion(topologyID string, cb Callback) (*Assignment, int32, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, -1, fmt.Errorf("read assignment: %w", err)
	}
	s.storeMap(s.assignmentInfoWithVersionCB, topologyID, cb)
	a, v, err := readRecord[Assignment](s.state, AssignmentPath(topologyID), cb != nil)
	if err != nil {
		return nil, -1, fmt.Errorf("read assignment of %s with version: %w", topologyID, err)
	}
	return a, v, nil
}

func (s *stormState) AssignmentVersion(topologyID string, cb Callback) (int32, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return -1, fmt.Errorf("read assignment version: %w", err)
	}
	s.storeMap(s.assignmentVersionCB, topologyID, cb)
	v, err := s.state.GetVersion(AssignmentPath(topologyID), cb != nil)
	if err != nil {
		return -1, fmt.Errorf("read assignment version of %s: %w", topologyID, err)
	}
	return v, nil
}

func (s *stormState) ActiveStorms() ([]string, error) {
	return s.children(StormsRoot, "read active storms")
}

func (s *stormState) StormBase(topologyID string, cb Callback) (*StormBase, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, fmt.Errorf("read storm base: %w", err)
	}
	s.storeMap(s.stormBaseCB, topologyID, cb)
	b, _, err := readCached(s, StormPath(topologyID), cb != nil, (*StormBase).Clone)
	if err != nil {
		return nil, fmt.Errorf("read storm base of %s: %w", topologyID, err)
	}
	return b, nil
}

func (s *stormState) WorkerHeartbeat(topologyID, node string, port int) (*WorkerHeartbeat, error) {
	if err := checkSlot(topologyID, node); err != nil {
		return nil, fmt.Errorf("read worker heartbeat: %w", err)
	}
	hb, _, err := readCached(s, WorkerbeatPath(topologyID, node, port), false, (*WorkerHeartbeat).Clone)
	if err != nil {
		return nil, fmt.Errorf("read worker heartbeat of %s on %s-%d: %w", topologyID, node, port, err)
	}
	return hb, nil
}

func checkSlot(topologyID, node string) error {
	if err := checkID("topology id", topologyID); err != nil {
		return err
	}
	return checkID("supervisor id", node)
}

// ExecutorBeats reads one heartbeat per assigned slot and keeps only the
// executors the assignment places on that slot: a long-dead worker with a
// skewed clock cannot vouch for executors that moved elsewhere (Storm's
// reasoning in StormClusterStateImpl.executorBeats).
func (s *stormState) ExecutorBeats(topologyID string, assignment *Assignment) (map[ExecutorInfo]ExecutorHeartbeat, error) {
	beats := map[ExecutorInfo]ExecutorHeartbeat{}
	if assignment == nil {
		return beats, nil
	}
	bySlot := map[NodePort][]ExecutorInfo{}
	var slots []NodePort
	for _, ea := range assignment.Executors {
		if _, ok := bySlot[ea.Slot]; !ok {
			slots = append(slots, ea.Slot)
		}
		bySlot[ea.Slot] = append(bySlot[ea.Slot], ea.Executor)
	}
	for _, slot := range slots {
		hb, err := s.WorkerHeartbeat(topologyID, slot.Node, slot.Port)
		if err != nil {
			return nil, fmt.Errorf("read executor beats: %w", err)
		}
		if hb == nil {
			continue
		}
		reported := make(map[ExecutorInfo]ExecutorHeartbeat, len(hb.Executors))
		for _, eb := range hb.Executors {
			reported[eb.Executor] = eb
		}
		for _, e := range bySlot[slot] {
			if eb, ok := reported[e]; ok {
				eb.TimeSecs, eb.TimeMillis = hb.TimeSecs, hb.TimeMillis
				if eb.UptimeSecs == 0 {
					eb.UptimeSecs = hb.UptimeSecs // Storm reports the worker's uptime
				}
				beats[e] = eb
			}
		}
	}
	return beats, nil
}

func (s *stormState) Supervisors(cb Callback) ([]string, error) {
	s.store(&s.supervisorsCB, cb)
	ids, err := s.state.GetChildren(SupervisorsRoot, cb != nil)
	if err != nil {
		return nil, fmt.Errorf("read supervisors: %w", err)
	}
	return ids, nil
}

// SupervisorExists tells whether the supervisor's heartbeat node exists.
// It reads only the node's stat, which ZooKeeper answers whatever the
// node's ACL, so a worker can ask it of its supervisor under ZooKeeper
// authentication.
func (s *stormState) SupervisorExists(supervisorID string) (bool, error) {
	if err := checkID("supervisor id", supervisorID); err != nil {
		return false, fmt.Errorf("look for supervisor: %w", err)
	}
	v, err := s.state.GetVersion(SupervisorPath(supervisorID), false)
	if err != nil {
		return false, fmt.Errorf("look for supervisor %s: %w", supervisorID, err)
	}
	return v >= 0, nil
}

func (s *stormState) SupervisorInfo(supervisorID string) (*SupervisorInfo, error) {
	if err := checkID("supervisor id", supervisorID); err != nil {
		return nil, fmt.Errorf("read supervisor info: %w", err)
	}
	info, _, err := readRecord[SupervisorInfo](s.state, SupervisorPath(supervisorID), false)
	if err != nil {
		return nil, fmt.Errorf("read supervisor info of %s: %w", supervisorID, err)
	}
	return info, nil
}

func (s *stormState) SetupHeartbeats(topologyID string, acl ...ACL) error {
	return s.onTopology("set up heartbeats", topologyID, func() error { return s.state.Mkdirs(WorkerbeatRoot(topologyID), acl...) })
}

func (s *stormState) SetupErrors(topologyID string, acl ...ACL) error {
	return s.onTopology("set up errors", topologyID, func() error { return s.state.Mkdirs(ErrorsTopologyRoot(topologyID), acl...) })
}

// setData returns a writer that sets data with acl (none: the state's default).
func (s *stormState) setData(acl []ACL) func(string, []byte) error {
	return func(path string, data []byte) error { return s.state.SetData(path, data, acl...) }
}

func (s *stormState) TeardownHeartbeats(topologyID string) error {
	return s.onTopology("tear down heartbeats", topologyID, func() error { return s.state.DeleteNode(WorkerbeatRoot(topologyID)) })
}

func (s *stormState) TeardownTopologyErrors(topologyID string) error {
	return s.onTopology("tear down errors", topologyID, func() error { return s.state.DeleteNode(ErrorsTopologyRoot(topologyID)) })
}

// onTopology validates topologyID, runs op and names what failed.
func (s *stormState) onTopology(what, topologyID string, op func() error) error {
	if err := checkID("topology id", topologyID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := op(); err != nil {
		return fmt.Errorf("%s of %s: %w", what, topologyID, err)
	}
	return nil
}

func (s *stormState) HeartbeatStorms() ([]string, error) {
	return s.children(WorkerbeatsRoot, "read heartbeat storms")
}

func (s *stormState) ErrorTopologies() ([]string, error) {
	return s.children(ErrorsRoot, "read error topologies")
}

func (s *stormState) children(path, what string) ([]string, error) {
	ids, err := s.state.GetChildren(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ids, nil
}

func (s *stormState) SetWorkerHeartbeat(topologyID, node string, port int, hb *WorkerHeartbeat) error {
	if err := checkSlot(topologyID, node); err != nil {
		return fmt.Errorf("write worker heartbeat: %w", err)
	}
	if err := writeRecord(s.setData(nil), WorkerbeatPath(topologyID, node, port), hb); err != nil {
		return fmt.Errorf("write worker heartbeat of %s on %s-%d: %w", topologyID, node, port, err)
	}
	return nil
}

func (s *stormState) RemoveWorkerHeartbeat(topologyID, node string, port int) error {
	if err := checkSlot(topologyID, node); err != nil {
		return fmt.Errorf("remove worker heartbeat: %w", err)
	}
	if err := s.state.DeleteNode(WorkerbeatPath(topologyID, node, port)); err != nil {
		return fmt.Errorf("remove worker heartbeat of %s on %s-%d: %w", topologyID, node, port, err)
	}
	return nil
}

func (s *stormState) SupervisorHeartbeat(supervisorID string, info *SupervisorInfo) error {
	if err := checkID("supervisor id", supervisorID); err != nil {
		return fmt.Errorf("write supervisor heartbeat: %w", err)
	}
	if err := writeRecord(s.state.SetEphemeralNode, SupervisorPath(supervisorID), info); err != nil {
		return fmt.Errorf("write supervisor heartbeat of %s: %w", supervisorID, err)
	}
	return nil
}

func (s *stormState) ActivateStorm(topologyID string, base *StormBase, acl ...ACL) error {
	return s.onTopology("activate storm", topologyID, func() error {
		return writeRecord(s.setData(acl), StormPath(topologyID), base)
	})
}

// UpdateStorm merges update into the stored base: ComponentExecutors key by
// key, every other field when non-zero (Storm's update-storm!). A missing base
// is an error: the topology was removed meanwhile and must not come back.
func (s *stormState) UpdateStorm(topologyID string, update *StormBase) error {
	return s.onTopology("update storm", topologyID, func() error {
		if update == nil {
			return errors.New("nil update")
		}
		base, err := s.StormBase(topologyID, nil)
		if err != nil {
			return err
		}
		if base == nil {
			return fmt.Errorf("no storm base at %s (topology removed?)", StormPath(topologyID))
		}
		mergeStormBase(base, update)
		return writeRecord(s.setData(nil), StormPath(topologyID), base)
	})
}

func mergeStormBase(base, update *StormBase) {
	if len(update.ComponentExecutors) > 0 {
		merged := make(map[string]int, len(base.ComponentExecutors)+len(update.ComponentExecutors))
		for k, v := range base.ComponentExecutors {
			merged[k] = v
		}
		for k, v := range update.ComponentExecutors {
			merged[k] = v
		}
		base.ComponentExecutors = merged
	}
	if update.Name != "" {
		base.Name = update.Name
	}
	if update.Status != "" {
		base.Status = update.Status
	}
	if update.NumWorkers != 0 {
		base.NumWorkers = update.NumWorkers
	}
	if update.LaunchTimeSecs != 0 {
		base.LaunchTimeSecs = update.LaunchTimeSecs
	}
	if update.Owner != "" {
		base.Owner = update.Owner
	}
	if update.TopologyActionOptions != nil {
		base.TopologyActionOptions = update.TopologyActionOptions
	}
	if update.PrevStatus != "" {
		base.PrevStatus = update.PrevStatus
	}
	base.MergeDebug(update.ComponentDebug)
}

// MergeDebug merges debug options into b's as Storm's updateStorm does: an
// update's entry sets enable and adds its sampling percentage to the stored
// one (Storm's nimbus sends no percentage when disabling, so a disable keeps
// the percentage, and enabling again adds to it). b gets a new map.
func (b *StormBase) MergeDebug(update map[string]DebugOptions) {
	if len(update) == 0 {
		return
	}
	merged := make(map[string]DebugOptions, len(b.ComponentDebug)+len(update))
	for k, v := range b.ComponentDebug {
		merged[k] = v
	}
	for k, v := range update {
		old := merged[k]
		merged[k] = DebugOptions{Enable: v.Enable, SamplingPct: old.SamplingPct + v.SamplingPct}
	}
	b.ComponentDebug = merged
}

func (s *stormState) RemoveStormBase(topologyID string) error {
	return s.onTopology("remove storm base", topologyID, func() error { return s.state.DeleteNode(StormPath(topologyID)) })
}

func (s *stormState) SetAssignment(topologyID string, a *Assignment, acl ...ACL) error {
	return s.onTopology("set assignment", topologyID, func() error {
		return writeRecord(s.setData(acl), AssignmentPath(topologyID), a)
	})
}

// RemoveStorm deletes the assignment, credentials, log config and storm base
// of a topology, in Storm's order (the storm base last: it is what marks the
// topology as existing).
func (s *stormState) RemoveStorm(topologyID string) error {
	return s.onTopology("remove storm", topologyID, func() error {
		for _, p := range []string{AssignmentPath(topologyID), CredentialsPath(topologyID), LogconfigPath(topologyID), StormPath(topologyID)} {
			if err := s.state.DeleteNode(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReportError writes the error as a sequential e<seq> child of the
// component's error node and as its -last-error node, then deletes all but
// the newest 10 errors.
func (s *stormState) ReportError(topologyID, component, host string, port int, reported error) error {
	if err := checkID("topology id", topologyID); err != nil {
		return fmt.Errorf("report error: %w", err)
	}
	if component == "" {
		return errors.New("report error: empty component id")
	}
	if reported == nil {
		return fmt.Errorf("report error of %s/%s: nil error", topologyID, component)
	}
	info := &ErrorInfo{Error: reported.Error(), TimeSecs: Now().Unix(), Host: host, Port: port, Component: component}
	data, err := EncodeRecord(info)
	if err != nil {
		return fmt.Errorf("report error of %s/%s: %w", topologyID, component, err)
	}
	dir := ErrorsPath(topologyID, component)
	if err := s.state.Mkdirs(dir); err != nil {
		return fmt.Errorf("report error of %s/%s: %w", topologyID, component, err)
	}
	if _, err := s.state.CreateSequential(dir+"/e", data); err != nil {
		return fmt.Errorf("report error of %s/%s: %w", topologyID, component, err)
	}
	if err := s.state.SetData(LastErrorPath(topologyID, component), data); err != nil {
		return fmt.Errorf("report error of %s/%s: %w", topologyID, component, err)
	}
	seqs, err := s.errorNodes(dir)
	if err != nil {
		return fmt.Errorf("report error of %s/%s: trim old errors: %w", topologyID, component, err)
	}
	var result *multierror.Error
	for len(seqs) > maxErrorsKept {
		if err := s.state.DeleteNode(dir + "/" + seqs[0].name); err != nil {
			result = multierror.Append(result, err)
		}
		seqs = seqs[1:]
	}
	if err := errlist.Err(result); err != nil {
		return fmt.Errorf("report error of %s/%s: trim old errors: %w", topologyID, component, err)
	}
	return nil
}

type errorNode struct {
	name string
	seq  int64
}

// errorNodes lists the e<seq> children of dir, oldest first.
func (s *stormState) errorNodes(dir string) ([]errorNode, error) {
	children, err := s.state.GetChildren(dir, false)
	if err != nil {
		return nil, err
	}
	nodes := make([]errorNode, 0, len(children))
	for _, c := range children {
		seq, err := strconv.ParseInt(strings.TrimPrefix(c, "e"), 10, 64)
		if err != nil || !strings.HasPrefix(c, "e") {
			continue // not an error node: leave it alone
		}
		nodes = append(nodes, errorNode{c, seq})
	}
	slices.SortFunc(nodes, func(a, b errorNode) int { return cmp.Compare(a.seq, b.seq) })
	return nodes, nil
}

// Errors returns the component's errors, newest first (by sequence number,
// which orders errors of the same second too). Errors deleted while being
// read are skipped.
func (s *stormState) Errors(topologyID, component string) ([]ErrorInfo, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, fmt.Errorf("read errors: %w", err)
	}
	dir := ErrorsPath(topologyID, component)
	nodes, err := s.errorNodes(dir)
	if err != nil {
		return nil, fmt.Errorf("read errors of %s/%s: %w", topologyID, component, err)
	}
	out := make([]ErrorInfo, 0, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		info, _, err := readRecord[ErrorInfo](s.state, dir+"/"+nodes[i].name, false)
		if err != nil {
			return nil, fmt.Errorf("read errors of %s/%s: %w", topologyID, component, err)
		}
		if info != nil {
			out = append(out, *info)
		}
	}
	return out, nil
}

func (s *stormState) LastError(topologyID, component string) (*ErrorInfo, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, fmt.Errorf("read last error: %w", err)
	}
	info, _, err := readRecord[ErrorInfo](s.state, LastErrorPath(topologyID, component), false)
	if err != nil {
		return nil, fmt.Errorf("read last error of %s/%s: %w", topologyID, component, err)
	}
	return info, nil
}

// SessionID returns the id of the underlying ZooKeeper session, 0 when the
// ClusterState does not expose one (tests use it to expire the session).
func (s *stormState) SessionID() int64 {
	if st, ok := s.state.(SessionIDer); ok {
		return st.SessionID()
	}
	return 0
}

func (s *stormState) OnReconnect(fn func()) {
	if fn == nil {
		return
	}
	s.mu.Lock()
	s.reconnectFns = append(s.reconnectFns, fn)
	s.mu.Unlock()
}

// Disconnect unregisters the dispatcher and, when the state was opened by
// ConnectStorm, closes it.
func (s *stormState) Disconnect() error {
	s.state.Unregister(s.dispID)
	if s.solo {
		if err := s.state.Close(); err != nil {
			return fmt.Errorf("disconnect: %w", err)
		}
	}
	return nil
}

// readRecord reads and decodes the record at path with its version.
func readRecord[T any, P interface {
	*T
	record
}](state ClusterState, path string, watch bool) (*T, int32, error) {
	data, version, err := state.GetDataWithVersion(path, watch)
	if err != nil {
		return nil, -1, err
	}
	r, err := DecodeRecord[T, P](data)
	if err != nil {
		return nil, -1, fmt.Errorf("%s: %w", path, err)
	}
	return r, version, nil
}

// writeRecord encodes r and writes it with write (SetData or SetEphemeralNode).
func writeRecord[T any, P interface {
	*T
	record
}](write func(string, []byte) error, path string, r *T) error {
	data, err := EncodeRecord[T, P](r)
	if err != nil {
		return err
	}
	return write(path, data)
}
