package cluster

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
)

// Options configure the ZooKeeper connection of a ClusterState.
type Options struct {
	Servers        []string      // "host:port"
	Root           string        // chroot, default "/storm"
	SessionTimeout time.Duration // default 20s
	Logger         *slog.Logger  // nil = discard
	// OnFatal is called once when the state cannot go on (an event under an
	// unknown subtree, as Storm exits 30): the owning daemon stops. nil = log only.
	OnFatal func(error)
}

var errNotImplemented = errors.New("cluster: not implemented yet")

// OptionsFromConf reads storm.zookeeper.servers, .port, .root and
// .session.timeout (ms) from c.
func OptionsFromConf(c config.Conf) (Options, error) { return Options{}, errNotImplemented }

// Connect opens a ClusterState; it waits until connected or ctx is done and
// creates the root.
func Connect(ctx context.Context, opts Options) (ClusterState, error) { return nil, errNotImplemented }

// NewStormClusterState builds Storm's domain API over state.
func NewStormClusterState(state ClusterState, logger *slog.Logger, onFatal func(error)) (StormClusterState, error) {
	return nil, errNotImplemented
}

// ConnectStorm connects a ClusterState and builds a StormClusterState over it;
// Disconnect closes the state it opened.
func ConnectStorm(ctx context.Context, opts Options) (StormClusterState, error) {
	return nil, errNotImplemented
}

// AssignmentPath is /assignments/<id>.
func AssignmentPath(id string) string { return "/assignments/" + id }

// StormPath is /storms/<id>.
func StormPath(id string) string { return "/storms/" + id }

// SupervisorPath is /supervisors/<id>.
func SupervisorPath(id string) string { return "/supervisors/" + id }

// WorkerbeatPath is /workerbeats/<id>/<node>-<port>.
func WorkerbeatPath(id, node string, port int) string { return "" }

// ErrorsPath is /errors/<id>/<component>.
func ErrorsPath(id, component string) string { return "" }
