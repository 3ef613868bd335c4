package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/errlist"
)

// Options configure the ZooKeeper connection of a ClusterState.
type Options struct {
	Servers        []string      // "host:port"
	Root           string        // chroot, default "/storm"
	SessionTimeout time.Duration // default 20s
	// ConnectionTimeout bounds the wait for the first session
	// (storm.zookeeper.connection.timeout); 0 = only ctx bounds it.
	ConnectionTimeout time.Duration
	Logger            *slog.Logger // nil = discard
	// OnFatal is called once when the state cannot go on (an event under an
	// unknown subtree, as Storm exits 30): the owning daemon stops. nil = log only.
	OnFatal func(error)
	// Auth is added to every session the state opens (Storm's
	// ZookeeperAuthInfo); the zero Auth adds none.
	Auth Auth
	// ACL is given to every node the state creates without an ACL of its
	// own (Storm's default ACLs of a daemon type); nil means open to all.
	ACL []ACL
	// Store names the ClusterState implementation (storm.cluster.state.store,
	// Storm's StateStorageFactory class); "" is DefaultStore, ZooKeeper.
	Store string
}

// Storm's defaults (conf/defaults.yaml) for the keys OptionsFromConf reads.
const (
	DefaultRoot           = "/storm"
	DefaultSessionTimeout = 20 * time.Second
	defaultZKPort         = 2181
)

// OptionsFromConf reads storm.zookeeper.servers, .port, .root,
// .session.timeout and .connection.timeout (ms) from c. A missing key takes Storm's default; a server
// that already names a port ("host:port") keeps it.
func OptionsFromConf(c config.Conf) (Options, error) {
	r := config.NewReader(c)
	port := r.PortOr(config.StormZookeeperPort, defaultZKPort)
	servers := []string{"localhost:" + strconv.Itoa(port)}
	if !c.IsNil(config.StormZookeeperServers) {
		servers = r.HostPorts(config.StormZookeeperServers, port)
	}
	root := r.StringOr(config.StormZookeeperRoot, DefaultRoot)
	_, err := normalizeRoot(root)
	r.Expect(config.StormZookeeperRoot, err == nil, "an absolute ZooKeeper path such as /storm")
	session := r.MillisOr(config.StormZookeeperSessionTimeout, DefaultSessionTimeout)
	r.Expect(config.StormZookeeperSessionTimeout, session >= time.Millisecond, "a positive number of milliseconds")
	opts := Options{
		Servers:           servers,
		Root:              root,
		SessionTimeout:    session,
		ConnectionTimeout: r.MillisOr(config.StormZookeeperConnTimeout, 0),
		Store:             r.StringOr(StormClusterStateStore, ""),
		Auth:              AuthFromConf(c),
		ACL:               DaemonACL(c),
	}
	if err := r.Err(); err != nil {
		return Options{}, err
	}
	return opts, nil
}

// normalizeRoot turns a chroot into the prefix prepended to every path: ""
// for "/", else the path without a trailing slash.
func normalizeRoot(root string) (string, error) {
	if root == "" {
		root = DefaultRoot
	}
	if !strings.HasPrefix(root, "/") {
		return "", fmt.Errorf("zookeeper root %q is not an absolute path (it must start with /)", root)
	}
	root = strings.TrimRight(root, "/")
	for _, seg := range strings.Split(strings.TrimPrefix(root, "/"), "/") {
		if root != "" && (seg == "" || seg == "." || seg == "..") {
			return "", fmt.Errorf("zookeeper root %q has an empty, . or .. segment", root)
		}
	}
	return root, nil
}

// ConnectStorm connects a ClusterState and builds a StormClusterState over it;
// Disconnect closes the state it opened.
func ConnectStorm(ctx context.Context, opts Options) (StormClusterState, error) {
	state, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	s, err := newStormState(state, opts.Logger, opts.OnFatal, true)
	if err != nil {
		if cerr := state.Close(); cerr != nil {
			err = errlist.Join(err, fmt.Errorf("close the state after a failed start: %w", cerr))
		}
		return nil, err
	}
	return s, nil
}

// The paths of Storm's subtrees under the root.
const (
	AssignmentsRoot  = "/assignments"
	StormsRoot       = "/storms"
	SupervisorsRoot  = "/supervisors"
	WorkerbeatsRoot  = "/workerbeats"
	ErrorsRoot       = "/errors"
	BlobstoreRoot    = "/blobstore"
	NimbusesRoot     = "/nimbuses"
	LogconfigsRoot   = "/logconfigs"
	BackpressureRoot = "/backpressure"
	CredentialsRoot  = "/credentials"
)

// subtrees are created eagerly by NewStormClusterState, as Storm does.
var subtrees = []string{AssignmentsRoot, StormsRoot, SupervisorsRoot, WorkerbeatsRoot, ErrorsRoot,
	BlobstoreRoot, NimbusesRoot, LogconfigsRoot, BackpressureRoot, CredentialsRoot}

// AssignmentPath is /assignments/<id>.
func AssignmentPath(id string) string { return AssignmentsRoot + "/" + id }

// StormPath is /storms/<id>.
func StormPath(id string) string { return StormsRoot + "/" + id }

// SupervisorPath is /supervisors/<id>.
func SupervisorPath(id string) string { return SupervisorsRoot + "/" + id }

// WorkerbeatRoot is /workerbeats/<id>, the parent of a topology's worker heartbeats.
func WorkerbeatRoot(id string) string { return WorkerbeatsRoot + "/" + id }

// WorkerbeatPath is /workerbeats/<id>/<node>-<port>.
func WorkerbeatPath(id, node string, port int) string {
	return WorkerbeatRoot(id) + "/" + node + "-" + strconv.Itoa(port)
}

// ErrorsTopologyRoot is /errors/<id>, the parent of a topology's component errors.
func ErrorsTopologyRoot(id string) string { return ErrorsRoot + "/" + id }

// ErrorsPath is /errors/<id>/<component>, the component id URL-encoded as
// Storm does (a component id may hold characters a znode name cannot).
func ErrorsPath(id, component string) string {
	return ErrorsTopologyRoot(id) + "/" + urlEncode(component)
}

// LastErrorPath is /errors/<id>/<component>-last-error.
func LastErrorPath(id, component string) string { return ErrorsPath(id, component) + "-last-error" }

// CredentialsPath is /credentials/<id>.
func CredentialsPath(id string) string { return CredentialsRoot + "/" + id }

// LogconfigPath is /logconfigs/<id>.
func LogconfigPath(id string) string { return LogconfigsRoot + "/" + id }
