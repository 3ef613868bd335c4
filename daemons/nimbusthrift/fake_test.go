package nimbusthrift

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// fakeBackend is a nimbus of one topology "wc" (id wc-1-100) with a spout
// and a bolt; it records the actions it is asked for.
type fakeBackend struct {
	mu        sync.Mutex
	actions   []string
	uploads   map[string]string // upload id → content
	status    string
	submits   []api.SubmitRequest
	logLevels map[string]cluster.LogLevel
	// rebalanceErr, when set, is what Rebalance answers.
	rebalanceErr error
}

func newFake() *fakeBackend {
	return &fakeBackend{uploads: map[string]string{}, status: "ACTIVE"}
}

const fakeID = "wc-1-100"

var fakeDef = &topology.Definition{
	V: 1,
	Spouts: map[string]*topology.ComponentDef{
		"words": {ID: "words", Parallelism: 2, Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word"}}}},
	},
	Bolts: map[string]*topology.ComponentDef{
		"count": {ID: "count", Parallelism: 1, NumTasks: 2, Conf: map[string]any{"topology.debug": true},
			Inputs:  []topology.InputDef{{Component: "words", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"word"}}}},
			Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word", "count"}}},
			Shell:   &topology.ShellDef{Command: []string{"python3", "count.py"}}},
	},
}

func (f *fakeBackend) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeBackend) known(id string) error {
	if id != fakeID {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	return nil
}

func (f *fakeBackend) Upload(ctx context.Context, r io.Reader, sha string) (*api.UploadReply, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("u%d", len(f.uploads)+1)
	f.uploads[id] = string(b)
	return &api.UploadReply{UploadID: id, SHA256: sha, Size: int64(len(b))}, nil
}

func (f *fakeBackend) Submit(ctx context.Context, req api.SubmitRequest) (string, error) {
	if req.Name == "wc" {
		return "", fmt.Errorf("%w: topology %q is already alive as %s", api.ErrConflict, req.Name, fakeID)
	}
	f.mu.Lock()
	f.submits = append(f.submits, req)
	f.mu.Unlock()
	f.record("submit %s %s", req.Name, req.Kind)
	return req.Name + "-2-200", nil
}

func (f *fakeBackend) Kill(ctx context.Context, id string, wait int) error {
	if err := f.known(id); err != nil {
		return err
	}
	return f.record("kill %s %d", id, wait)
}

func (f *fakeBackend) Activate(ctx context.Context, id string) error {
	if err := f.known(id); err != nil {
		return err
	}
	if f.status == "KILLED" {
		return fmt.Errorf("%w: topology %s is KILLED: it cannot be activated", api.ErrConflict, id)
	}
	return f.record("activate %s", id)
}

func (f *fakeBackend) Deactivate(ctx context.Context, id string) error {
	if err := f.known(id); err != nil {
		return err
	}
	return f.record("deactivate %s", id)
}

func (f *fakeBackend) Rebalance(ctx context.Context, id string, wait int, o api.RebalanceOptions) error {
	if err := f.known(id); err != nil {
		return err
	}
	if f.rebalanceErr != nil {
		return f.rebalanceErr
	}
	if len(o.TopologyConf) > 0 {
		return f.record("rebalance %s %d %d %v conf %v", id, wait, o.NumWorkers, o.Executors, o.TopologyConf)
	}
	return f.record("rebalance %s %d %d %v", id, wait, o.NumWorkers, o.Executors)
}

func (f *fakeBackend) ClusterSummary(ctx context.Context) (*api.ClusterSummary, error) {
	return &api.ClusterSummary{StormVersion: "test-1", Supervisors: 1, Topologies: 1, SlotsTotal: 4, SlotsUsed: 1}, nil
}

func (f *fakeBackend) SupervisorSummary(ctx context.Context) (*api.SupervisorSummary, error) {
	return &api.SupervisorSummary{Supervisors: []api.Supervisor{{ID: "sup-1", Host: "localhost", UptimeSeconds: 9, SlotsTotal: 4, SlotsUsed: 1, Version: "test-1"}}}, nil
}

func (f *fakeBackend) NimbusSummary(ctx context.Context) (*api.NimbusSummary, error) {
	return &api.NimbusSummary{Nimbuses: []api.Nimbus{{Host: "nimbus-host", Port: 8080, Status: "Leader", Version: "test-1", NimbusUpTimeSeconds: 12}}}, nil
}

func (f *fakeBackend) TopologySummary(ctx context.Context) (*api.TopologySummary, error) {
	return &api.TopologySummary{Topologies: []api.TopologyBrief{{ID: fakeID, Name: "wc", Status: f.status, UptimeSeconds: 7, TasksTotal: 5, WorkersTotal: 1, ExecutorsTotal: 4}}}, nil
}

func (f *fakeBackend) TopologyInfo(ctx context.Context, id, window string, sys bool) (*api.TopologyInfo, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	return &api.TopologyInfo{
		ID: id, Name: "wc", Status: f.status, UptimeSeconds: 7,
		Spouts: []api.SpoutSummary{{SpoutID: "words", ExecutorStats: []api.ExecutorSummary{
			{ID: "[1-1]", Host: "localhost", Port: 6700, SupervisorID: "sup-1", UptimeSeconds: 6},
			{ID: "[2-2]"}, // not placed
		}}},
		Bolts: []api.BoltSummary{{BoltID: "count", ExecutorStats: []api.ExecutorSummary{{ID: "[3-4]", Host: "localhost", Port: 6700, SupervisorID: "sup-1", UptimeSeconds: 5}}}},
	}, nil
}

func (f *fakeBackend) ComponentErrors(ctx context.Context, id, comp string) (*api.ComponentErrors, error) {
	out := &api.ComponentErrors{TopologyID: id, ComponentID: comp}
	if comp == "count" {
		out.ComponentErrors = []api.ComponentErrorItem{
			{Error: "newer", ErrorTime: 20, ErrorHost: "localhost", ErrorPort: 6700},
			{Error: "older", ErrorTime: 10, ErrorHost: "localhost", ErrorPort: 6700},
		}
	}
	return out, nil
}

func (f *fakeBackend) TopologyConf(ctx context.Context, id string) (map[string]any, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	return map[string]any{"topology.name": "wc", "topology.acker.executors": 1}, nil
}

func (f *fakeBackend) TopologyDefinition(ctx context.Context, id string) (*topology.Definition, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	return fakeDef, nil
}

func (f *fakeBackend) ClusterConfiguration(ctx context.Context) (map[string]any, error) {
	return map[string]any{"nimbus.thrift.port": 6627, "storm.zookeeper.root": "/storm"}, nil
}

func (f *fakeBackend) TopologyNameAllowed(ctx context.Context, name string) (bool, error) {
	return name != "wc" && name != "" && name != "a/b", nil
}

func (f *fakeBackend) CheckSubmitName(ctx context.Context, name string) error {
	switch name {
	case "wc":
		return fmt.Errorf("%w: topology %q is already alive as %s", api.ErrConflict, name, fakeID)
	case "", "a/b":
		return fmt.Errorf("%w: topology name %q is not allowed", api.ErrInvalid, name)
	}
	return nil
}

func (f *fakeBackend) lastAction() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.actions) == 0 {
		return ""
	}
	return f.actions[len(f.actions)-1]
}

// serveFake serves a fake nimbus and returns it with the server's address.
func serveFake(t *testing.T, opts Options) (*fakeBackend, *Server) {
	t.Helper()
	f := newFake()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend = f
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	s, err := Serve(ln, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return f, s
}

// dial returns a Go client of Storm's Nimbus service, framed and binary as
// Storm's own clients.
func dial(t *testing.T, addr string) *storm.NimbusClient {
	t.Helper()
	cfg := &thrift.TConfiguration{}
	sock := thrift.NewTSocketConf(addr, cfg)
	trans := thrift.NewTFramedTransportConf(sock, cfg)
	if err := trans.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trans.Close() })
	return storm.NewNimbusClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(cfg))
}
