package nimbus

import (
	"context"
	"io"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// Service is nimbus's API as Go calls; the HTTP layer wraps it, and
// localcluster and tests may call it directly. Errors wrap the api.Err* kinds
// (api.ErrInvalid, api.ErrNotFound, api.ErrConflict, ...).
type Service interface {
	Upload(ctx context.Context, r io.Reader, sha256Hex string) (*api.UploadReply, error)
	Submit(ctx context.Context, req api.SubmitRequest) (string, error)
	Kill(ctx context.Context, id string, waitSecs int) error
	Activate(ctx context.Context, id string) error
	Deactivate(ctx context.Context, id string) error
	// Rebalance changes workers, parallelism and configuration keys (zero
	// fields of o: unchanged) after waitSecs (negative: the message timeout).
	Rebalance(ctx context.Context, id string, waitSecs int, o api.RebalanceOptions) error
	// Debug sets the event logger's sampling of a component ("" = the
	// whole topology), as Storm's Nimbus debug (debug.go).
	Debug(ctx context.Context, id, component string, enable bool, samplingPct float64) error
	ClusterSummary(ctx context.Context) (*api.ClusterSummary, error)
	SupervisorSummary(ctx context.Context) (*api.SupervisorSummary, error)
	NimbusSummary(ctx context.Context) (*api.NimbusSummary, error)
	TopologySummary(ctx context.Context) (*api.TopologySummary, error)
	TopologyInfo(ctx context.Context, id, window string, sys bool) (*api.TopologyInfo, error)
	ComponentErrors(ctx context.Context, id, component string) (*api.ComponentErrors, error)
	TopologyConf(ctx context.Context, id string) (map[string]any, error)
	TopologyDefinition(ctx context.Context, id string) (*topology.Definition, error)
	ClusterConfiguration(ctx context.Context) (map[string]any, error)
	OpenCode(ctx context.Context, id, file string) (*CodeFile, error)
	// Storm UI's other pages (stormui_*.go).
	ComponentPage(ctx context.Context, id, component, window string, sys bool) (*api.ComponentPage, error)
	SupervisorPage(ctx context.Context, id, host string, sys bool) (*api.SupervisorPage, error)
	TopologyWorkers(ctx context.Context, id string) (*api.TopologyWorkers, error)
	Visualization(ctx context.Context, id, window string, sys bool) (map[string]any, error)
	VisualizationInit(ctx context.Context, id, window string, sys bool) (map[string]any, error)
	// The live history (history.go) and the ZooKeeper explorer (zkexplorer.go).
	TopologyHistory(ctx context.Context, id, component string, secs int) (*api.History, error)
	ZNode(ctx context.Context, path string) (*api.ZNode, error)
	// The topology's dynamic log levels (logconfig.go).
	LogConfig(ctx context.Context, id string) (*cluster.LogConfig, error)
	SetLogConfig(ctx context.Context, id string, levels map[string]cluster.LogLevel) error
}

var _ Service = (*Nimbus)(nil)
