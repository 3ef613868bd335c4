package nimbus

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/version"
	"github.com/localstorm/localstorm/topology"
)

// The read side of the API: documents built from ZooKeeper (storm bases,
// assignments, supervisors, errors) and nimbus's stats history.

// prettyUptime formats seconds as Storm UI does: "1d 2h 3m 4s", leading zero
// units left out.
func prettyUptime(secs int64) string {
	if secs < 0 {
		secs = 0
	}
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh %dm %ds", d, h, m, s)
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// windowPretty names a window as Storm UI does.
func windowPretty(w string) string {
	if w == api.WindowAllTime || w == "" {
		return "All time"
	}
	d, ok := windowSecs(w)
	if !ok {
		return w
	}
	return prettyUptime(int64(d / time.Second))
}

type supervisorView struct {
	id   string
	info *cluster.SupervisorInfo
}

func (n *Nimbus) supervisorViews() ([]supervisorView, error) {
	ids, err := n.state.Supervisors(nil)
	if err != nil {
		return nil, fmt.Errorf("list supervisors: %w", err)
	}
	slices.Sort(ids)
	var out []supervisorView
	for _, id := range ids {
		info, err := n.state.SupervisorInfo(id)
		if err != nil {
			return nil, fmt.Errorf("read supervisor %s: %w", id, err)
		}
		if info != nil {
			out = append(out, supervisorView{id, info})
		}
	}
	return out, nil
}

// topologyView is a storm with its assignment, read for a summary.
type topologyView struct {
	id         string
	base       *cluster.StormBase
	assignment *cluster.Assignment
	code       *topologyCode
}

func (n *Nimbus) topologyViews() ([]topologyView, error) {
	ids, err := n.state.ActiveStorms()
	if err != nil {
		return nil, fmt.Errorf("list topologies: %w", err)
	}
	slices.Sort(ids)
	var out []topologyView
	for _, id := range ids {
		v, err := n.topologyView(id)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func (n *Nimbus) topologyView(id string) (*topologyView, error) {
	base, err := n.state.StormBase(id, nil)
	if err != nil {
		return nil, fmt.Errorf("read topology %s: %w", id, err)
	}
	if base == nil {
		return nil, fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	a, err := n.state.AssignmentInfo(id, nil)
	if err != nil {
		return nil, fmt.Errorf("read assignment of %s: %w", id, err)
	}
	code, _ := n.loadCode(id) // nil for a corrupt topology: shown without tasks
	return &topologyView{id: id, base: base, assignment: a, code: code}, nil
}

func (v *topologyView) tasks() int {
	if v.code == nil {
		return 0
	}
	return len(v.code.Definition.TaskToComponent(topology.NumAckers(v.code.Conf, v.base.NumWorkers)))
}

func (v *topologyView) executorCount() int {
	if v.assignment == nil {
		return 0
	}
	return len(v.assignment.Executors)
}

func (n *Nimbus) brief(v *topologyView) api.TopologyBrief {
	up := n.nowSecs() - v.base.LaunchTimeSecs
	n.infoMu.Lock()
	status, known := n.schedStatus[v.id]
	n.infoMu.Unlock()
	schedulerInfo := "" // Storm UI shows none for a fully scheduled topology
	if known && !status.Full() {
		schedulerInfo = status.String()
	}
	return api.TopologyBrief{
		ID: v.id, Name: v.base.Name, Status: string(v.base.Status), Uptime: prettyUptime(up), UptimeSeconds: up,
		TasksTotal: v.tasks(), WorkersTotal: len(slotsOf(v.assignment)), ExecutorsTotal: v.executorCount(),
		SchedulerInfo: schedulerInfo,
	}
}

// clusterView reads the supervisors, the topologies and the slots in use.
func (n *Nimbus) clusterView() ([]supervisorView, []topologyView, map[cluster.NodePort]bool, error) {
	sups, err := n.supervisorViews()
	if err != nil {
		return nil, nil, nil, err
	}
	topos, err := n.topologyViews()
	if err != nil {
		return nil, nil, nil, err
	}
	used := map[cluster.NodePort]bool{}
	for _, v := range topos {
		maps.Copy(used, slotsOf(v.assignment))
	}
	return sups, topos, used, nil
}

// ClusterSummary is GET /api/v1/cluster/summary.
func (n *Nimbus) ClusterSummary(ctx context.Context) (*api.ClusterSummary, error) {
	sups, topos, used, err := n.clusterView()
	if err != nil {
		return nil, err
	}
	s := &api.ClusterSummary{StormVersion: version.String(), NimbusUptime: prettyUptime(n.nowSecs() - n.started.Unix()), Supervisors: len(sups), Topologies: len(topos)}
	for _, sv := range sups {
		s.SlotsTotal += len(sv.info.SlotPorts)
	}
	for _, v := range topos {
		s.ExecutorsTotal += v.executorCount()
		s.TasksTotal += v.tasks()
	}
	s.SlotsUsed = len(used)
	s.SlotsFree = max(s.SlotsTotal-s.SlotsUsed, 0)
	return s, nil
}

// SupervisorSummary is GET /api/v1/supervisor/summary.
func (n *Nimbus) SupervisorSummary(ctx context.Context) (*api.SupervisorSummary, error) {
	sups, _, used, err := n.clusterView()
	if err != nil {
		return nil, err
	}
	out := &api.SupervisorSummary{Supervisors: []api.Supervisor{}}
	for _, sv := range sups {
		slotsUsed := 0
		for _, p := range sv.info.SlotPorts {
			if used[cluster.NodePort{Node: sv.id, Port: p}] {
				slotsUsed++
			}
		}
		out.Supervisors = append(out.Supervisors, api.Supervisor{
			ID: sv.id, Host: sv.info.Hostname, Uptime: prettyUptime(sv.info.UptimeSecs), UptimeSeconds: sv.info.UptimeSecs,
			SlotsTotal: len(sv.info.SlotPorts), SlotsUsed: slotsUsed, Version: sv.info.Version,
		})
	}
	return out, nil
}

// NimbusSummary is GET /api/v1/nimbus/summary: this one nimbus, the leader.
func (n *Nimbus) NimbusSummary(ctx context.Context) (*api.NimbusSummary, error) {
	up := n.nowSecs() - n.started.Unix()
	host, _ := os.Hostname()
	port := 0
	if n.listener != nil {
		if addr, ok := n.listener.Addr().(*net.TCPAddr); ok {
			port = addr.Port
		}
	}
	return &api.NimbusSummary{Nimbuses: []api.Nimbus{{
		Host: host, Port: port, Status: "Leader", Version: version.String(),
		NimbusUpTime: prettyUptime(up), NimbusUpTimeSeconds: up,
	}}}, nil
}

// TopologySummary is GET /api/v1/topology/summary.
func (n *Nimbus) TopologySummary(ctx context.Context) (*api.TopologySummary, error) {
	topos, err := n.topologyViews()
	if err != nil {
		return nil, err
	}
	out := &api.TopologySummary{Topologies: []api.TopologyBrief{}}
	for i := range topos {
		out.Topologies = append(out.Topologies, n.brief(&topos[i]))
	}
	return out, nil
}

// ClusterConfiguration is GET /api/v1/cluster/configuration.
func (n *Nimbus) ClusterConfiguration(ctx context.Context) (map[string]any, error) {
	return withDefaults(n.conf), nil
}

// TopologyConf returns the topology's stored configuration (stormconf.json).
func (n *Nimbus) TopologyConf(ctx context.Context, id string) (map[string]any, error) {
	code, err := n.codeOf(id)
	if err != nil {
		return nil, err
	}
	conf := code.Conf.Clone()
	redact(conf, config.StormZookeeperTopologyAuthPayload)
	return conf, nil
}

// redact replaces a secret string value by as many '#' (Storm's
// Utils.redactValue): the topology's ZooKeeper password is for its workers,
// not for every reader of the API.
func redact(c config.Conf, key string) {
	if v, ok := c[key].(string); ok {
		c[key] = strings.Repeat("#", len(v))
	}
}

// TopologyDefinition returns the topology's definition (stormtopology.json).
func (n *Nimbus) TopologyDefinition(ctx context.Context, id string) (*topology.Definition, error) {
	code, err := n.codeOf(id)
	if err != nil {
		return nil, err
	}
	return code.Definition, nil
}

func (n *Nimbus) codeOf(id string) (*topologyCode, error) {
	if !validTopologyID(id) || !n.hasCode(id) {
		return nil, fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	code, err := n.loadCode(id)
	if err != nil {
		return nil, fmt.Errorf("read code of %s: %w", id, err)
	}
	return code, nil
}

// TopologyInfo is GET /api/v1/topology/<id>?window=W&sys=S: status, totals
// per window, per-component stats over W (all time when empty) with their
// executors and last errors, workers and configuration. As in Storm UI, the
// system components (__acker, __system) are listed only with sys; the
// totals (tasks, executors) count them either way.
func (n *Nimbus) TopologyInfo(ctx context.Context, id, window string, sys bool) (*api.TopologyInfo, error) {
	if window == "" {
		window = api.WindowAllTime
	}
	wdur, ok := windowSecs(window)
	if !ok {
		return nil, fmt.Errorf("%w: window %q: use a number of seconds (600, 10800, 86400) or :all-time", api.ErrInvalid, window)
	}
	v, now, err := n.liveView(id)
	if err != nil {
		return nil, err
	}
	b := n.brief(v)
	msgTimeout, _ := v.code.Conf.Int(config.TopologyMessageTimeoutSecs)
	debug, _ := v.code.Conf.Bool(config.TopologyDebug)
	info := &api.TopologyInfo{
		ID: id, Name: b.Name, Status: b.Status, Uptime: b.Uptime, UptimeSeconds: b.UptimeSeconds,
		TasksTotal: b.TasksTotal, WorkersTotal: b.WorkersTotal, ExecutorsTotal: b.ExecutorsTotal,
		MsgTimeout: msgTimeout, Window: window, WindowHint: windowPretty(window), Debug: debug,
		SchedulerInfo: b.SchedulerInfo, Configuration: v.code.Conf.Clone(),
		Spouts: []api.SpoutSummary{}, Bolts: []api.BoltSummary{}, Workers: []api.WorkerSummary{},
	}
	hosts, err := n.supervisorHosts()
	if err != nil {
		return nil, err
	}
	comps := n.componentExecutors(v, hosts, now)

	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	for _, w := range api.Windows {
		d, _ := windowSecs(w)
		var t totals
		for comp, execs := range comps {
			for _, e := range execs {
				ct := e.window(d, now)
				if _, spout := v.code.Definition.Spouts[comp]; spout {
					t.Acked += ct.Acked
					t.Failed += ct.Failed
					t.CompleteLatencyMs += ct.CompleteLatencyMs
				}
				if comp != topology.AckerComponent {
					t.Emitted += ct.Emitted
					t.Transferred += ct.Transferred
				}
			}
		}
		info.TopologyStats = append(info.TopologyStats, api.WindowStats{
			Window: w, WindowPretty: windowPretty(w), Emitted: t.Emitted, Transferred: t.Transferred,
			CompleteLatency: latency(t.CompleteLatencyMs, t.Acked), Acked: t.Acked, Failed: t.Failed,
		})
	}
	for _, comp := range slices.Sorted(maps.Keys(comps)) {
		if !sys && topology.IsSystemID(comp) {
			continue
		}
		execs := comps[comp]
		cerr := n.componentError(id, comp, now)
		var t totals
		var capacity float64
		summaries := make([]api.ExecutorSummary, 0, len(execs))
		for _, e := range execs {
			ct := e.window(wdur, now)
			t = t.add(ct)
			capacity = max(capacity, e.capacity())
			summaries = append(summaries, e.summary(ct))
		}
		tasks := len(v.code.Definition.ComponentTasks(topology.NumAckers(v.code.Conf, v.base.NumWorkers))[comp])
		if _, spout := v.code.Definition.Spouts[comp]; spout {
			info.Spouts = append(info.Spouts, api.SpoutSummary{
				SpoutID: comp, Executors: len(execs), Tasks: tasks, Emitted: t.Emitted, Transferred: t.Transferred,
				CompleteLatency: latency(t.CompleteLatencyMs, t.Acked), Acked: t.Acked, Failed: t.Failed,
				ComponentError: cerr, ExecutorStats: summaries,
			})
			continue
		}
		info.Bolts = append(info.Bolts, api.BoltSummary{
			BoltID: comp, Executors: len(execs), Tasks: tasks, Emitted: t.Emitted, Transferred: t.Transferred,
			Capacity: fmt.Sprintf("%.3f", capacity), ExecuteLatency: latency(t.ExecuteLatencyMs, t.Executed),
			Executed: t.Executed, ProcessLatency: latency(t.ProcessLatencyMs, t.Acked), Acked: t.Acked, Failed: t.Failed,
			ComponentError: cerr, ExecutorStats: summaries,
		})
	}
	info.Workers = n.workers(v, hosts, now, sys)
	return info, nil
}

// liveView is the view of topology id, which nimbus must have the code of,
// with fresh heartbeats read at now, so that its stats are current and not
// as old as the last monitor round.
func (n *Nimbus) liveView(id string) (*topologyView, time.Time, error) {
	v, err := n.topologyView(id)
	if err != nil {
		return nil, time.Time{}, err
	}
	if v.code == nil {
		return nil, time.Time{}, fmt.Errorf("%w: topology %s has no code on this nimbus", api.ErrNotFound, id)
	}
	now := n.clock.Now()
	if _, err := n.readBeats(id, v.assignment, now); err != nil {
		return nil, time.Time{}, err
	}
	return v, now, nil
}

// liveComponents is liveView with every component's executors.
func (n *Nimbus) liveComponents(id string) (*topologyView, map[string][]executorView, time.Time, error) {
	v, now, err := n.liveView(id)
	if err != nil {
		return nil, nil, now, err
	}
	hosts, err := n.supervisorHosts()
	if err != nil {
		return nil, nil, now, err
	}
	return v, n.componentExecutors(v, hosts, now), now, nil
}

func (n *Nimbus) supervisorHosts() (map[string]string, error) {
	sups, err := n.supervisorViews()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range sups {
		out[s.id] = s.info.Hostname
	}
	return out, nil
}

// executorView is one executor of a component for TopologyInfo.
type executorView struct {
	exec  cluster.ExecutorInfo
	slot  *cluster.ExecutorAssignment
	host  string
	alive bool
	hist  *executorHistory
}

func (e executorView) window(d time.Duration, now time.Time) totals {
	if e.hist == nil {
		return totals{}
	}
	return e.hist.window(d, now)
}

func (e executorView) capacity() float64 {
	if e.hist == nil {
		return 0
	}
	return e.hist.capacity
}

func (e executorView) summary(t totals) api.ExecutorSummary {
	s := api.ExecutorSummary{
		ID: fmt.Sprintf("[%d-%d]", e.exec.Start, e.exec.End), Host: e.host, Alive: e.alive,
		Emitted: t.Emitted, Transferred: t.Transferred, Acked: t.Acked, Failed: t.Failed, Executed: t.Executed,
		CompleteLatency: latency(t.CompleteLatencyMs, t.Acked),
		ExecuteLatency:  latency(t.ExecuteLatencyMs, t.Executed),
		ProcessLatency:  latency(t.ProcessLatencyMs, t.Acked),
		Capacity:        fmt.Sprintf("%.3f", e.capacity()),
	}
	if e.slot != nil {
		s.Port, s.SupervisorID = e.slot.Slot.Port, e.slot.Slot.Node
	}
	if e.hist != nil {
		s.UptimeSeconds = e.hist.uptime
		s.Uptime = prettyUptime(e.hist.uptime)
	}
	return s
}

// componentExecutors groups the topology's executors by component, with
// their slots, liveness and stats history. Takes infoMu.
func (n *Nimbus) componentExecutors(v *topologyView, hosts map[string]string, now time.Time) map[string][]executorView {
	taskComp := v.code.Definition.TaskToComponent(topology.NumAckers(v.code.Conf, v.base.NumWorkers))
	placed := map[cluster.ExecutorInfo]*cluster.ExecutorAssignment{}
	if v.assignment != nil {
		for i := range v.assignment.Executors {
			ea := &v.assignment.Executors[i]
			placed[ea.Executor] = ea
		}
	}
	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	out := map[string][]executorView{}
	for _, e := range executorsOf(v.code, v.base) {
		comp := taskComp[e.Start]
		hist := n.stats.history(v.id, e)
		// Alive here means heartbeating now: placed, and its heartbeat
		// advanced within nimbus.task.timeout.secs.
		alive := placed[e] != nil && hist != nil && hist.beat.fresh(now, n.set.taskTimeout)
		ev := executorView{exec: e, slot: placed[e], alive: alive, hist: hist}
		if ev.slot != nil {
			ev.host = hosts[ev.slot.Slot.Node]
		}
		out[comp] = append(out[comp], ev)
	}
	// Components without executors still appear, so the document lists all.
	for _, comps := range []map[string]*topology.ComponentDef{v.code.Definition.Spouts, v.code.Definition.Bolts} {
		for id := range comps {
			if _, ok := out[id]; !ok {
				out[id] = nil
			}
		}
	}
	return out
}

// componentError is the component's last error in Storm UI's flat form.
func (n *Nimbus) componentError(id, comp string, now time.Time) api.ComponentError {
	e, err := n.state.LastError(id, comp)
	if err != nil || e == nil {
		if err != nil {
			n.log.Warn("read last error", "id", id, "component", comp, "err", err)
		}
		return api.ComponentError{}
	}
	port, at, lapsed := e.Port, e.TimeSecs, now.Unix()-e.TimeSecs
	return api.ComponentError{LastError: e.Error, ErrorHost: e.Host, ErrorPort: &port, ErrorTime: &at, ErrorLapsedSecs: &lapsed}
}

// workers lists the topology's slots with their executors and tasks per
// component (system components only with sys). A worker's uptime is that of
// its longest-running executor.
func (n *Nimbus) workers(v *topologyView, hosts map[string]string, now time.Time, sys bool) []api.WorkerSummary {
	out := []api.WorkerSummary{}
	if v.assignment == nil {
		return out
	}
	taskComp := v.code.Definition.TaskToComponent(topology.NumAckers(v.code.Conf, v.base.NumWorkers))
	bySlot := map[cluster.NodePort]*api.WorkerSummary{}
	for _, ea := range v.assignment.Executors {
		w := bySlot[ea.Slot]
		if w == nil {
			w = &api.WorkerSummary{
				SupervisorID: ea.Slot.Node, Host: hosts[ea.Slot.Node], Port: ea.Slot.Port,
				TopologyID: v.id, TopologyName: v.base.Name, ComponentNumTasks: map[string]int{},
			}
			bySlot[ea.Slot] = w
		}
		w.ExecutorsTotal++
		for t := ea.Executor.Start; t <= ea.Executor.End; t++ {
			if comp := taskComp[t]; sys || !topology.IsSystemID(comp) {
				w.ComponentNumTasks[comp]++
			}
		}
		if h := n.stats.history(v.id, ea.Executor); h != nil && h.uptime > w.UptimeSeconds {
			w.UptimeSeconds = h.uptime
		}
	}
	for _, slot := range sortedSlots(bySlot) {
		w := bySlot[slot]
		w.Uptime = prettyUptime(w.UptimeSeconds)
		out = append(out, *w)
	}
	return out
}

// ComponentErrors returns a component's recent errors, newest first.
func (n *Nimbus) ComponentErrors(ctx context.Context, id, component string) (*api.ComponentErrors, error) {
	code, err := n.codeOf(id)
	if err != nil {
		return nil, err
	}
	if code.Definition.Spouts[component] == nil && code.Definition.Bolts[component] == nil && component != topology.AckerComponent {
		return nil, fmt.Errorf("%w: topology %s has no component %q", api.ErrNotFound, id, component)
	}
	errs, err := n.state.Errors(id, component)
	if err != nil {
		return nil, fmt.Errorf("read errors of %s/%s: %w", id, component, err)
	}
	now := n.nowSecs()
	out := &api.ComponentErrors{TopologyID: id, ComponentID: component, ComponentErrors: []api.ComponentErrorItem{}}
	for _, e := range errs {
		out.ComponentErrors = append(out.ComponentErrors, api.ComponentErrorItem{
			Error: e.Error, ErrorTime: e.TimeSecs, ErrorHost: e.Host, ErrorPort: e.Port, ErrorLapsedSecs: now - e.TimeSecs,
		})
	}
	return out, nil
}
