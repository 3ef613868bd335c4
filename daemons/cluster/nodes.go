package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Node is one znode as a read-only explorer shows it: its stat, its data and
// its children (sorted), read without setting a watch.
type Node struct {
	Stat     zk.Stat
	Data     []byte
	Children []string
}

// NodeReader reads znodes for the ZooKeeper explorer. The ZooKeeper-backed
// states implement it; ReadNode of a missing node returns (nil, nil).
type NodeReader interface {
	ReadNode(path string) (*Node, error)
}

// ReadNode reads path with its stat and children, setting no watch.
func (s *zkState) ReadNode(path string) (*Node, error) {
	return retrying(s, func() (*Node, error) { return s.readNodeOnce(path) })
}

func (s *zkState) readNodeOnce(path string) (*Node, error) {
	conn, p, err := s.op(path)
	if err != nil {
		return nil, fmt.Errorf("read node %s: %w", path, err)
	}
	data, stat, err := conn.Get(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read node %s: %w", path, err)
	}
	children, _, err := conn.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil // deleted between the two reads
	}
	if err != nil {
		return nil, fmt.Errorf("read children of %s: %w", path, err)
	}
	slices.Sort(children)
	return &Node{Stat: *stat, Data: data, Children: children}, nil
}

// ReadNode reads through the underlying state, when it can.
func (s *stormState) ReadNode(path string) (*Node, error) {
	r, ok := s.state.(NodeReader)
	if !ok {
		return nil, fmt.Errorf("read node %s: this cluster state (%T) cannot list znodes", path, s.state)
	}
	return r.ReadNode(path)
}

// Record kinds, as the explorer names them.
const (
	KindAssignment      = "assignment"
	KindStormBase       = "storm-base"
	KindSupervisorInfo  = "supervisor-info"
	KindWorkerHeartbeat = "worker-heartbeat"
	KindError           = "error"
)

// DecodeNode decodes the data of the znode at path when the path is one of
// Storm's records (an assignment, a storm base, a supervisor info, a worker
// heartbeat with its executors' stats, a component error). kind is "" for
// any other path; record is nil when data is empty.
func DecodeNode(path string, data []byte) (kind string, record any, err error) {
	segs := tokenizePath(path)
	if len(segs) < 2 {
		return "", nil, nil
	}
	switch "/" + segs[0] {
	case AssignmentsRoot:
		if len(segs) == 2 {
			return decodeAs[Assignment](KindAssignment, data)
		}
	case StormsRoot:
		if len(segs) == 2 {
			return decodeAs[StormBase](KindStormBase, data)
		}
	case SupervisorsRoot:
		if len(segs) == 2 {
			return decodeAs[SupervisorInfo](KindSupervisorInfo, data)
		}
	case WorkerbeatsRoot:
		if len(segs) == 3 {
			return decodeAs[WorkerHeartbeat](KindWorkerHeartbeat, data)
		}
	case ErrorsRoot:
		// /errors/<id>/<component>/e<seq> and /errors/<id>/<component>-last-error.
		if len(segs) == 4 || (len(segs) == 3 && strings.HasSuffix(segs[2], "-last-error")) {
			return decodeAs[ErrorInfo](KindError, data)
		}
	}
	return "", nil, nil
}

func decodeAs[T any, P interface {
	*T
	record
}](kind string, data []byte) (string, any, error) {
	r, err := DecodeRecord[T, P](data)
	if err != nil || r == nil {
		return kind, nil, err
	}
	return kind, r, nil
}
