package nimbusthrift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// Backend is the part of nimbus's Service the Thrift service calls
// (*nimbus.Nimbus satisfies it).
type Backend interface {
	Upload(ctx context.Context, r io.Reader, sha256Hex string) (*api.UploadReply, error)
	Submit(ctx context.Context, req api.SubmitRequest) (string, error)
	Kill(ctx context.Context, id string, waitSecs int) error
	Activate(ctx context.Context, id string) error
	Deactivate(ctx context.Context, id string) error
	Rebalance(ctx context.Context, id string, waitSecs int, o api.RebalanceOptions) error
	SupervisorSummary(ctx context.Context) (*api.SupervisorSummary, error)
	NimbusSummary(ctx context.Context) (*api.NimbusSummary, error)
	TopologySummary(ctx context.Context) (*api.TopologySummary, error)
	TopologyInfo(ctx context.Context, id, window string, sys bool) (*api.TopologyInfo, error)
	ComponentErrors(ctx context.Context, id, component string) (*api.ComponentErrors, error)
	TopologyConf(ctx context.Context, id string) (map[string]any, error)
	TopologyDefinition(ctx context.Context, id string) (*topology.Definition, error)
	ClusterConfiguration(ctx context.Context) (map[string]any, error)
	// TopologyNameAllowed says whether a topology could be submitted under
	// name now: the name is valid and no live topology has it.
	TopologyNameAllowed(ctx context.Context, name string) (bool, error)
	// CheckSubmitName checks a name before a submit unpacks its code: an
	// error wrapping api.ErrInvalid for a name Storm does not allow,
	// api.ErrConflict for one a live topology has.
	CheckSubmitName(ctx context.Context, name string) error
	// Storm UI's pages, which getComponentPageInfo and
	// getSupervisorPageInfo translate (getTopologyPageInfo translates
	// TopologyInfo's).
	ComponentPage(ctx context.Context, id, component, window string, sys bool) (*api.ComponentPage, error)
	SupervisorPage(ctx context.Context, id, host string, sys bool) (*api.SupervisorPage, error)
	// ExecutorStreamStats are the counts per window and stream of the
	// topology's placed executors (ExecutorSummary.stats).
	ExecutorStreamStats(ctx context.Context, id string) ([]api.ExecutorStreamStats, error)
	// OpenCodePath opens a file of a topology's code by the path Storm's
	// clients download it by (beginFileDownload).
	OpenCodePath(ctx context.Context, path string) (io.ReadCloser, error)
	// LogConfig and SetLogConfig are Storm's getLogConfig and setLogConfig
	// (SetLogConfig merges as Storm's nimbus).
	LogConfig(ctx context.Context, id string) (*cluster.LogConfig, error)
	SetLogConfig(ctx context.Context, id string, levels map[string]cluster.LogLevel) error
}

// Handler implements Storm's Nimbus service over a Backend.
type Handler struct {
	b        Backend
	port     int // reported as nimbus's port (getLeader, getClusterInfo)
	spoolDir string
	maxBytes int64

	mu        sync.Mutex
	uploads   map[string]*upload   // location → upload in progress or finished
	downloads map[string]*download // session id → download in progress
}

var _ storm.Nimbus = (*Handler)(nil)

// NewHandler returns the service over b; port is the Thrift port nimbus
// reports for itself, spoolDir where uploads in progress are kept ("" = the
// OS temporary dir), maxUploadBytes the bound of one upload (0 = none).
func NewHandler(b Backend, port int, spoolDir string, maxUploadBytes int64) *Handler {
	return &Handler{b: b, port: port, spoolDir: spoolDir, maxBytes: maxUploadBytes, uploads: map[string]*upload{}, downloads: map[string]*download{}}
}

// Storm's exceptions, with the wording of Storm's Nimbus.

func notAlive(what string) *storm.NotAliveException {
	return &storm.NotAliveException{Msg: what}
}

func nameNotAlive(name string) *storm.NotAliveException {
	return notAlive(name + " is not alive")
}

// idError maps an error of a call made with a topology id: a topology that
// does not exist is Storm's NotAliveException(id); anything else reaches the
// client as a TApplicationException INTERNAL_ERROR naming it, as an
// undeclared exception of Storm's nimbus does.
func idError(id string, err error) error {
	if errors.Is(err, api.ErrNotFound) {
		return notAlive(id)
	}
	return err
}

// idOf finds the id of the live topology named name (Storm's kill,
// activate, deactivate and rebalance take a name).
func (h *Handler) idOf(ctx context.Context, name string) (string, error) {
	s, err := h.b.TopologySummary(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range s.Topologies {
		if t.Name == name {
			return t.ID, nil
		}
	}
	return "", nameNotAlive(name)
}

// briefOf finds a live topology by name or by id.
func (h *Handler) briefOf(ctx context.Context, match func(api.TopologyBrief) bool) (*api.TopologyBrief, string, error) {
	s, err := h.b.TopologySummary(ctx)
	if err != nil {
		return nil, "", err
	}
	version, err := h.version(ctx)
	if err != nil {
		return nil, "", err
	}
	for i := range s.Topologies {
		if match(s.Topologies[i]) {
			return &s.Topologies[i], version, nil
		}
	}
	return nil, version, nil
}

// version is nimbus's Storm version (localstorm's), reported as every
// topology's: a topology runs on the version of the cluster it was given to.
// It comes from the nimbus summary, which reads nothing from ZooKeeper.
func (h *Handler) version(ctx context.Context) (string, error) {
	s, err := h.b.NimbusSummary(ctx)
	if err != nil {
		return "", err
	}
	if len(s.Nimbuses) == 0 {
		return "", errors.New("no nimbus in the nimbus summary")
	}
	return s.Nimbuses[0].Version, nil
}

func topologySummary(t api.TopologyBrief, version string) *storm.TopologySummary {
	s := &storm.TopologySummary{
		ID: t.ID, Name: t.Name, NumTasks: int32(t.TasksTotal), NumExecutors: int32(t.ExecutorsTotal),
		NumWorkers: int32(t.WorkersTotal), UptimeSecs: int32(t.UptimeSeconds), Status: t.Status,
		StormVersion: &version,
	}
	if t.SchedulerInfo != "" {
		s.SchedStatus = &t.SchedulerInfo
	}
	return s
}

// GetClusterInfo is getClusterInfo: supervisors, topologies and this nimbus.
func (h *Handler) GetClusterInfo(ctx context.Context) (*storm.ClusterSummary, error) {
	sups, err := h.b.SupervisorSummary(ctx)
	if err != nil {
		return nil, err
	}
	topos, err := h.GetTopologySummaries(ctx)
	if err != nil {
		return nil, err
	}
	leader, err := h.GetLeader(ctx)
	if err != nil {
		return nil, err
	}
	out := &storm.ClusterSummary{Supervisors: []*storm.SupervisorSummary{}, Topologies: topos, Nimbuses: []*storm.NimbusSummary{leader}}
	for _, s := range sups.Supervisors {
		out.Supervisors = append(out.Supervisors, supervisorSummary(s))
	}
	return out, nil
}

// GetTopologySummaries is getTopologySummaries.
func (h *Handler) GetTopologySummaries(ctx context.Context) ([]*storm.TopologySummary, error) {
	s, err := h.b.TopologySummary(ctx)
	if err != nil {
		return nil, err
	}
	version, err := h.version(ctx)
	if err != nil {
		return nil, err
	}
	out := []*storm.TopologySummary{}
	for _, t := range s.Topologies {
		out = append(out, topologySummary(t, version))
	}
	return out, nil
}

// GetTopologySummaryByName is getTopologySummaryByName.
func (h *Handler) GetTopologySummaryByName(ctx context.Context, name string) (*storm.TopologySummary, error) {
	t, version, err := h.briefOf(ctx, func(t api.TopologyBrief) bool { return t.Name == name })
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nameNotAlive(name)
	}
	return topologySummary(*t, version), nil
}

// GetTopologySummary is getTopologySummary (by id).
func (h *Handler) GetTopologySummary(ctx context.Context, id string) (*storm.TopologySummary, error) {
	t, version, err := h.briefOf(ctx, func(t api.TopologyBrief) bool { return t.ID == id })
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, notAlive(id)
	}
	return topologySummary(*t, version), nil
}

// GetLeader is getLeader: this nimbus, always the leader, at its Thrift port.
func (h *Handler) GetLeader(ctx context.Context) (*storm.NimbusSummary, error) {
	s, err := h.b.NimbusSummary(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range s.Nimbuses {
		if n.Status == "Leader" {
			return &storm.NimbusSummary{Host: n.Host, Port: int32(h.port), UptimeSecs: int32(n.NimbusUpTimeSeconds), IsLeader: true, Version: n.Version}, nil
		}
	}
	return nil, errors.New("no leader nimbus")
}

// GetNimbusConf is getNimbusConf: nimbus's configuration as JSON.
func (h *Handler) GetNimbusConf(ctx context.Context) (string, error) {
	conf, err := h.b.ClusterConfiguration(ctx)
	if err != nil {
		return "", err
	}
	return marshal(conf)
}

// GetTopologyConf is getTopologyConf: the topology's configuration as JSON.
func (h *Handler) GetTopologyConf(ctx context.Context, id string) (string, error) {
	conf, err := h.b.TopologyConf(ctx, id)
	if err != nil {
		return "", idError(id, err)
	}
	return marshal(conf)
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// IsTopologyNameAllowed is isTopologyNameAllowed: a valid name no live
// topology has.
func (h *Handler) IsTopologyNameAllowed(ctx context.Context, name string) (bool, error) {
	return h.b.TopologyNameAllowed(ctx, name)
}

// GetUserTopology is getUserTopology: the topology as submitted.
func (h *Handler) GetUserTopology(ctx context.Context, id string) (*storm.StormTopology, error) {
	def, err := h.b.TopologyDefinition(ctx, id)
	if err != nil {
		return nil, idError(id, err)
	}
	return toStormTopology(def, 0)
}

// GetTopology is getTopology: the topology as it runs, with its ackers.
func (h *Handler) GetTopology(ctx context.Context, id string) (*storm.StormTopology, error) {
	def, err := h.b.TopologyDefinition(ctx, id)
	if err != nil {
		return nil, idError(id, err)
	}
	conf, err := h.b.TopologyConf(ctx, id)
	if err != nil {
		return nil, idError(id, err)
	}
	ackers, _ := config.Conf(conf).Int(config.TopologyAckerExecutors)
	return toStormTopology(def, ackers)
}

// GetTopologyInfo is getTopologyInfo: every error of every component.
func (h *Handler) GetTopologyInfo(ctx context.Context, id string) (*storm.TopologyInfo, error) {
	return h.topologyInfo(ctx, id, storm.NumErrorsChoice_ALL)
}

// GetTopologyInfoWithOpts is getTopologyInfoWithOpts.
func (h *Handler) GetTopologyInfoWithOpts(ctx context.Context, id string, options *storm.GetInfoOptions) (*storm.TopologyInfo, error) {
	choice := storm.NumErrorsChoice_ALL
	if options != nil && options.NumErrChoice != nil {
		choice = *options.NumErrChoice
	}
	return h.topologyInfo(ctx, id, choice)
}

// GetTopologyInfoByName is getTopologyInfoByName.
func (h *Handler) GetTopologyInfoByName(ctx context.Context, name string) (*storm.TopologyInfo, error) {
	return h.GetTopologyInfoByNameWithOpts(ctx, name, nil)
}

// GetTopologyInfoByNameWithOpts is getTopologyInfoByNameWithOpts.
func (h *Handler) GetTopologyInfoByNameWithOpts(ctx context.Context, name string, options *storm.GetInfoOptions) (*storm.TopologyInfo, error) {
	id, err := h.idOf(ctx, name)
	if err != nil {
		return nil, err
	}
	return h.GetTopologyInfoWithOpts(ctx, id, options)
}

func (h *Handler) topologyInfo(ctx context.Context, id string, choice storm.NumErrorsChoice) (*storm.TopologyInfo, error) {
	info, err := h.b.TopologyInfo(ctx, id, "", true)
	if err != nil {
		return nil, idError(id, err)
	}
	version, err := h.version(ctx)
	if err != nil {
		return nil, err
	}
	out := &storm.TopologyInfo{
		ID: info.ID, Name: info.Name, UptimeSecs: int32(info.UptimeSeconds), Status: info.Status,
		Executors: []*storm.ExecutorSummary{}, Errors: map[string][]*storm.ErrorInfo{},
		StormVersion: &version,
	}
	if info.SchedulerInfo != "" {
		out.SchedStatus = &info.SchedulerInfo
	}
	def, err := h.b.TopologyDefinition(ctx, id)
	if err != nil {
		return nil, idError(id, err)
	}
	stats, err := h.executorStats(ctx, id, def)
	if err != nil {
		return nil, idError(id, err)
	}
	add := func(comp string, execs []api.ExecutorSummary) error {
		for _, e := range execs {
			if e.SupervisorID == "" {
				continue // not placed: Storm lists assigned executors only
			}
			start, end, ok := parseExecutorID(e.ID)
			if !ok {
				return fmt.Errorf("topology %s: executor %q of %s: not [start-end]", id, e.ID, comp)
			}
			out.Executors = append(out.Executors, &storm.ExecutorSummary{
				ExecutorInfo: &storm.ExecutorInfo{TaskStart: start, TaskEnd: end}, ComponentID: comp,
				Host: e.Host, Port: int32(e.Port), UptimeSecs: int32(e.UptimeSeconds), Stats: stats[e.ID],
			})
		}
		errs := []*storm.ErrorInfo{}
		if choice != storm.NumErrorsChoice_NONE {
			ce, err := h.b.ComponentErrors(ctx, id, comp)
			if err != nil {
				return idError(id, err)
			}
			for _, e := range ce.ComponentErrors {
				host, port := e.ErrorHost, int32(e.ErrorPort)
				errs = append(errs, &storm.ErrorInfo{Error: e.Error, ErrorTimeSecs: int32(e.ErrorTime), Host: &host, Port: &port})
				if choice == storm.NumErrorsChoice_ONE {
					break // newest first
				}
			}
		}
		out.Errors[comp] = errs
		return nil
	}
	for _, s := range info.Spouts {
		if err := add(s.SpoutID, s.ExecutorStats); err != nil {
			return nil, err
		}
	}
	for _, b := range info.Bolts {
		if err := add(b.BoltID, b.ExecutorStats); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseExecutorID reads "[start-end]".
func parseExecutorID(s string) (int32, int32, bool) {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return 0, 0, false
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(inner, "-")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 32)
	end, err2 := strconv.ParseInt(b, 10, 32)
	return int32(start), int32(end), err1 == nil && err2 == nil
}
