package nimbusthrift

import (
	"context"
	"errors"
	"strconv"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// Storm UI's pages over Thrift (getTopologyPageInfo, getComponentPageInfo,
// getSupervisorPageInfo): the same pages as the REST API's, translated into
// Storm's structs.

// pageError maps an error of a page: what nimbus does not know (a topology,
// a component, a supervisor) is Storm's NotAliveException naming it.
func pageError(what string, err error) error {
	if errors.Is(err, api.ErrNotFound) {
		return notAlive(what)
	}
	return err
}

// GetTopologyPageInfo is getTopologyPageInfo: the topology page of
// window ("" for all time), system components with includeSys.
func (h *Handler) GetTopologyPageInfo(ctx context.Context, id, window string, includeSys bool) (*storm.TopologyPageInfo, error) {
	info, err := h.b.TopologyInfo(ctx, id, window, includeSys)
	if err != nil {
		return nil, pageError(id, err)
	}
	version, err := h.version(ctx)
	if err != nil {
		return nil, err
	}
	conf, err := marshal(info.Configuration)
	if err != nil {
		return nil, err
	}
	out := &storm.TopologyPageInfo{
		ID: info.ID, Name: &info.Name, UptimeSecs: i32p(int(info.UptimeSeconds)), Status: &info.Status,
		NumTasks: i32p(info.TasksTotal), NumWorkers: i32p(info.WorkersTotal), NumExecutors: i32p(info.ExecutorsTotal),
		TopologyConf: &conf, IDToSpoutAggStats: map[string]*storm.ComponentAggregateStats{},
		IDToBoltAggStats: map[string]*storm.ComponentAggregateStats{}, TopologyStats: topologyStats(info.TopologyStats),
		DebugOptions: &storm.DebugOptions{Enable: &info.Debug}, Workers: []*storm.WorkerSummary{}, StormVersion: &version,
	}
	if info.SchedulerInfo != "" {
		out.SchedStatus = &info.SchedulerInfo
	}
	for _, s := range info.Spouts {
		a := spoutAggregate(s.Emitted, s.Transferred, s.Acked, s.Failed, s.CompleteLatency)
		a.CommonStats.NumExecutors, a.CommonStats.NumTasks = i32p(s.Executors), i32p(s.Tasks)
		a.LastError = lastError(s.ComponentError)
		out.IDToSpoutAggStats[s.SpoutID] = a
	}
	for _, b := range info.Bolts {
		a := boltAggregate(b.Emitted, b.Transferred, b.Acked, b.Failed, b.Executed, b.ExecuteLatency, b.ProcessLatency, b.Capacity)
		a.CommonStats.NumExecutors, a.CommonStats.NumTasks = i32p(b.Executors), i32p(b.Tasks)
		a.LastError = lastError(b.ComponentError)
		out.IDToBoltAggStats[b.BoltID] = a
	}
	for _, w := range info.Workers {
		out.Workers = append(out.Workers, workerSummary(w))
	}
	return out, nil
}

// GetComponentPageInfo is getComponentPageInfo.
func (h *Handler) GetComponentPageInfo(ctx context.Context, id, component, window string, includeSys bool) (*storm.ComponentPageInfo, error) {
	p, err := h.b.ComponentPage(ctx, id, component, window, includeSys)
	if err != nil {
		return nil, pageError(id, err)
	}
	spout := p.ComponentType == api.ComponentTypeSpout
	out := &storm.ComponentPageInfo{
		ComponentID: p.ID, ComponentType: storm.ComponentType_BOLT, TopologyID: &p.TopologyID, TopologyName: &p.Name,
		NumExecutors: i32p(p.Executors), NumTasks: i32p(p.Tasks), TopologyStatus: &p.TopologyStatus,
		WindowToStats:    map[string]*storm.ComponentAggregateStats{},
		GsidToInputStats: map[*storm.GlobalStreamId]*storm.ComponentAggregateStats{},
		SidToOutputStats: map[string]*storm.ComponentAggregateStats{},
		ExecStats:        []*storm.ExecutorAggregateStats{}, Errors: []*storm.ErrorInfo{},
		DebugOptions: &storm.DebugOptions{Enable: &p.Debug, Samplingpct: &p.SamplingPct},
	}
	if spout {
		out.ComponentType = storm.ComponentType_SPOUT
	}
	for _, s := range p.SpoutSummary {
		out.WindowToStats[s.Window] = spoutAggregate(s.Emitted, s.Transferred, s.Acked, s.Failed, s.CompleteLatency)
	}
	for _, s := range p.BoltStats {
		out.WindowToStats[s.Window] = boltAggregate(s.Emitted, s.Transferred, s.Acked, s.Failed, deref(s.Executed), s.ExecuteLatency, s.ProcessLatency, s.Capacity)
	}
	for _, in := range p.InputStats {
		a := boltAggregate(0, 0, in.Acked, in.Failed, in.Executed, in.ExecuteLatency, in.ProcessLatency, "")
		out.GsidToInputStats[&storm.GlobalStreamId{ComponentId: in.Component, StreamId: in.Stream}] = a
	}
	for _, o := range p.OutputStats {
		if spout {
			out.SidToOutputStats[o.Stream] = spoutAggregate(o.Emitted, o.Transferred, deref(o.Acked), deref(o.Failed), o.CompleteLatency)
			continue
		}
		out.SidToOutputStats[o.Stream] = boltAggregate(o.Emitted, o.Transferred, deref(o.Acked), deref(o.Failed), 0, "", "", "")
	}
	for _, e := range p.ExecutorStats {
		out.ExecStats = append(out.ExecStats, executorAggregate(p.ID, e, spout))
	}
	for _, e := range p.ComponentErrors {
		host, port := e.ErrorHost, int32(e.ErrorPort)
		out.Errors = append(out.Errors, &storm.ErrorInfo{Error: e.Error, ErrorTimeSecs: int32(e.Time / 1000), Host: &host, Port: &port})
	}
	return out, nil
}

// GetSupervisorPageInfo is getSupervisorPageInfo: the supervisor with id,
// or those on host.
func (h *Handler) GetSupervisorPageInfo(ctx context.Context, id, host string, includeSys bool) (*storm.SupervisorPageInfo, error) {
	p, err := h.b.SupervisorPage(ctx, id, host, includeSys)
	if err != nil {
		return nil, pageError(id+host, err)
	}
	out := &storm.SupervisorPageInfo{SupervisorSummaries: []*storm.SupervisorSummary{}, WorkerSummaries: []*storm.WorkerSummary{}}
	for _, s := range p.Supervisors {
		out.SupervisorSummaries = append(out.SupervisorSummaries, supervisorSummary(s))
	}
	for _, w := range p.Workers {
		out.WorkerSummaries = append(out.WorkerSummaries, workerSummary(w))
	}
	return out, nil
}

func supervisorSummary(s api.Supervisor) *storm.SupervisorSummary {
	return &storm.SupervisorSummary{
		Host: s.Host, UptimeSecs: int32(s.UptimeSeconds), NumWorkers: int32(s.SlotsTotal),
		NumUsedWorkers: int32(s.SlotsUsed), SupervisorID: s.ID, Version: s.Version,
	}
}

func workerSummary(w api.WorkerSummary) *storm.WorkerSummary {
	tasks := map[string]int64{}
	for c, n := range w.ComponentNumTasks {
		tasks[c] = int64(n)
	}
	return &storm.WorkerSummary{
		SupervisorID: &w.SupervisorID, Host: &w.Host, Port: i32p(w.Port), TopologyID: &w.TopologyID,
		TopologyName: &w.TopologyName, NumExecutors: i32p(w.ExecutorsTotal), ComponentToNumTasks: tasks,
		UptimeSecs: i32p(int(w.UptimeSeconds)),
	}
}

func topologyStats(ws []api.WindowStats) *storm.TopologyStats {
	out := &storm.TopologyStats{
		WindowToEmitted: map[string]int64{}, WindowToTransferred: map[string]int64{},
		WindowToCompleteLatenciesMs: map[string]float64{}, WindowToAcked: map[string]int64{}, WindowToFailed: map[string]int64{},
	}
	for _, w := range ws {
		out.WindowToEmitted[w.Window] = w.Emitted
		out.WindowToTransferred[w.Window] = w.Transferred
		out.WindowToCompleteLatenciesMs[w.Window] = ms(w.CompleteLatency)
		out.WindowToAcked[w.Window] = w.Acked
		out.WindowToFailed[w.Window] = w.Failed
	}
	return out
}

func commonStats(emitted, transferred, acked, failed int64) *storm.CommonAggregateStats {
	return &storm.CommonAggregateStats{Emitted: &emitted, Transferred: &transferred, Acked: &acked, Failed: &failed}
}

func spoutAggregate(emitted, transferred, acked, failed int64, completeLatency string) *storm.ComponentAggregateStats {
	t, lat := storm.ComponentType_SPOUT, ms(completeLatency)
	return &storm.ComponentAggregateStats{
		Type: &t, CommonStats: commonStats(emitted, transferred, acked, failed),
		SpecificStats: &storm.SpecificAggregateStats{Spout: &storm.SpoutAggregateStats{CompleteLatencyMs: &lat}},
	}
}

func boltAggregate(emitted, transferred, acked, failed, executed int64, executeLatency, processLatency, capacity string) *storm.ComponentAggregateStats {
	t := storm.ComponentType_BOLT
	exec, proc, cap := ms(executeLatency), ms(processLatency), ms(capacity)
	return &storm.ComponentAggregateStats{
		Type: &t, CommonStats: commonStats(emitted, transferred, acked, failed),
		SpecificStats: &storm.SpecificAggregateStats{Bolt: &storm.BoltAggregateStats{
			ExecuteLatencyMs: &exec, ProcessLatencyMs: &proc, Executed: &executed, Capacity: &cap,
		}},
	}
}

// executorAggregate is one row of the component page's executors.
func executorAggregate(component string, e api.ExecutorStats, spout bool) *storm.ExecutorAggregateStats {
	start, end, _ := parseExecutorID(e.ID)
	summary := &storm.ExecutorSummary{
		ExecutorInfo: &storm.ExecutorInfo{TaskStart: start, TaskEnd: end}, ComponentID: component,
		Host: e.Host, Port: int32(e.Port), UptimeSecs: int32(e.UptimeSeconds),
	}
	var stats *storm.ComponentAggregateStats
	if spout {
		stats = spoutAggregate(e.Emitted, e.Transferred, e.Acked, e.Failed, e.CompleteLatency)
	} else {
		stats = boltAggregate(e.Emitted, e.Transferred, e.Acked, e.Failed, deref(e.Executed), e.ExecuteLatency, e.ProcessLatency, e.Capacity)
	}
	stats.CommonStats.NumExecutors, stats.CommonStats.NumTasks = i32p(1), i32p(int(end-start+1))
	return &storm.ExecutorAggregateStats{ExecSummary: summary, Stats: stats}
}

// lastError is a component's last error as an ErrorInfo; nil when none.
func lastError(e api.ComponentError) *storm.ErrorInfo {
	if e.LastError == "" {
		return nil
	}
	out := &storm.ErrorInfo{Error: e.LastError}
	if e.ErrorTime != nil {
		out.ErrorTimeSecs = int32(*e.ErrorTime)
	}
	if e.ErrorHost != "" {
		out.Host = &e.ErrorHost
	}
	if e.ErrorPort != nil {
		out.Port = i32p(*e.ErrorPort)
	}
	return out
}

// ms reads a latency or capacity as Storm UI's pages print it ("1.250");
// "" is 0.
func ms(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func i32p(n int) *int32 {
	v := int32(n)
	return &v
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
