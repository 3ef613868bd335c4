package nimbus

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// parseWindow checks a window parameter of Storm UI (empty: all time).
func parseWindow(window string) (string, time.Duration, error) {
	if window == "" {
		window = api.WindowAllTime
	}
	d, ok := windowSecs(window)
	if !ok {
		return "", 0, fmt.Errorf("%w: window %q: use a number of seconds (600, 10800, 86400) or :all-time", api.ErrInvalid, window)
	}
	return window, d, nil
}

// maxErrorLen is how much of a last error Storm UI's window stats show.
const maxErrorLen = 200

// ComponentPage is GET /api/v1/topology/<id>/component/<component>: Storm
// UI's component page (UIHelpers.getComponentPage). Its stats per window and
// per stream come from the same history as the topology page's. What workers
// do not report is zero or shared, as the package doc of stormui_streams.go
// says: the latencies of an output stream or an input are the component's
// mean over all of them, and inputs of one bolt that share a stream id from
// several source components cannot be told apart, so their counts are zero.
// Log links are left empty; the HTTP layer fills them.
func (n *Nimbus) ComponentPage(ctx context.Context, id, component, window string, sys bool) (*api.ComponentPage, error) {
	window, wdur, err := parseWindow(window)
	if err != nil {
		return nil, err
	}
	v, comps, now, err := n.liveComponents(id)
	if err != nil {
		return nil, err
	}
	execs, ok := comps[component]
	if !ok {
		return nil, fmt.Errorf("%w: topology %s has no component %q", api.ErrNotFound, id, component)
	}
	def := v.code.Definition
	_, isSpout := def.Spouts[component]
	debug, _ := v.code.Conf.Bool(config.TopologyDebug)
	samplingPct := 10.0 // Storm UI's default
	if o, ok := v.base.DebugFor(id, component); ok {
		debug, samplingPct = o.Enable, o.SamplingPct
	}
	page := &api.ComponentPage{
		ID: component, EncodedID: javaURLEncode(component), Name: v.base.Name,
		ComponentType: api.ComponentTypeBolt, Executors: len(execs),
		Tasks:      len(def.ComponentTasks(topology.NumAckers(v.code.Conf, v.base.NumWorkers))[component]),
		TopologyID: id, EncodedTopologyID: javaURLEncode(id), TopologyStatus: string(v.base.Status),
		Window: window, WindowHint: windowPretty(window), Debug: debug, SamplingPct: samplingPct,
		ProfilerActive: []any{}, OutputStats: []api.OutputStats{}, ExecutorStats: []api.ExecutorStats{},
		ComponentErrors: []api.ErrorDetail{},
	}
	if isSpout {
		page.ComponentType = api.ComponentTypeSpout
	}
	lastError := n.componentError(id, component, now).LastError
	if len(lastError) > maxErrorLen {
		lastError = lastError[:maxErrorLen]
	}

	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	var capacity float64
	for _, e := range execs {
		capacity = max(capacity, e.capacity())
	}
	var cur totals // over the page's window
	for _, w := range api.Windows {
		d, _ := windowSecs(w)
		var t totals
		for _, e := range execs {
			t = t.add(e.window(d, now))
		}
		if w == window {
			cur = t
		}
		s := api.ComponentStats{Window: w, WindowPretty: windowPretty(w), Emitted: t.Emitted, Transferred: t.Transferred, Acked: t.Acked, Failed: t.Failed}
		if isSpout {
			s.CompleteLatency = latency(t.CompleteLatencyMs, t.Acked)
			s.LastError = &lastError
			page.SpoutSummary = append(page.SpoutSummary, s)
			continue
		}
		s.Executed = &t.Executed
		s.ExecuteLatency = latency(t.ExecuteLatencyMs, t.Executed)
		s.ProcessLatency = latency(t.ProcessLatencyMs, t.Acked)
		s.Capacity = fmt.Sprintf("%.3f", capacity)
		page.BoltStats = append(page.BoltStats, s)
	}
	if !slices.Contains(api.Windows, window) {
		for _, e := range execs {
			cur = cur.add(e.window(wdur, now))
		}
	}
	page.OutputStats = outputStats(def, component, cur, isSpout, sys)
	if !isSpout {
		page.InputStats = inputStats(def, component, cur, sys)
	}
	for _, e := range execs {
		page.ExecutorStats = append(page.ExecutorStats, executorStats(e, e.window(wdur, now), isSpout))
	}
	errs, err := n.state.Errors(id, component)
	if err != nil {
		return nil, fmt.Errorf("read errors of %s/%s: %w", id, component, err)
	}
	slices.SortStableFunc(errs, func(a, b cluster.ErrorInfo) int { return cmp.Compare(a.TimeSecs, b.TimeSecs) })
	for _, e := range errs {
		page.ComponentErrors = append(page.ComponentErrors, api.ErrorDetail{
			Time: e.TimeSecs * 1000, ErrorHost: e.Host, ErrorPort: e.Port, ErrorLapsedSecs: now.Unix() - e.TimeSecs, Error: e.Error,
		})
	}
	return page, nil
}

// outputStats lists the component's output streams (declared, or seen in
// the counts), system streams only with sys.
func outputStats(def *topology.Definition, component string, t totals, isSpout, sys bool) []api.OutputStats {
	emitted, transferred := t.byStream(statEmitted), t.byStream(statTransferred)
	acked, failed := t.byStream(statAcked), t.byStream(statFailed)
	streams := map[string]bool{}
	if c := componentDef(def, component); c != nil {
		for s := range c.Outputs {
			streams[s] = true
		}
	}
	for s := range emitted {
		streams[s] = true
	}
	for s := range transferred {
		streams[s] = true
	}
	out := []api.OutputStats{}
	for _, s := range slices.Sorted(maps.Keys(streams)) {
		if !sys && topology.IsSystemID(s) {
			continue
		}
		o := api.OutputStats{Stream: s, Emitted: emitted[s], Transferred: transferred[s]}
		if isSpout {
			a, f := acked[s], failed[s]
			o.Acked, o.Failed = &a, &f
			o.CompleteLatency = latency(t.CompleteLatencyMs, t.Acked)
		}
		out = append(out, o)
	}
	return out
}

// inputStats lists a bolt's declared inputs with the counts of their stream.
func inputStats(def *topology.Definition, component string, t totals, sys bool) []api.InputStats {
	out := []api.InputStats{}
	c := componentDef(def, component)
	if c == nil {
		return out
	}
	sources := map[string]map[string]bool{} // stream → source components
	for _, in := range c.Inputs {
		if sources[in.Stream] == nil {
			sources[in.Stream] = map[string]bool{}
		}
		sources[in.Stream][in.Component] = true
	}
	executed, acked, failed := t.byStream(statExecuted), t.byStream(statAcked), t.byStream(statFailed)
	for _, in := range c.Inputs {
		if !sys && topology.IsSystemID(in.Stream) {
			continue
		}
		s := api.InputStats{
			Component: in.Component, EncodedComponentID: javaURLEncode(in.Component), Stream: in.Stream,
			ExecuteLatency: latency(t.ExecuteLatencyMs, t.Executed), ProcessLatency: latency(t.ProcessLatencyMs, t.Acked),
		}
		if len(sources[in.Stream]) == 1 {
			s.Executed, s.Acked, s.Failed = executed[in.Stream], acked[in.Stream], failed[in.Stream]
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b api.InputStats) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Stream, b.Stream))
	})
	return out
}

func componentDef(def *topology.Definition, component string) *topology.ComponentDef {
	if c := def.Spouts[component]; c != nil {
		return c
	}
	return def.Bolts[component]
}

// executorStats is the component page's row of executor e, whose counts
// over the page's window are t.
func executorStats(e executorView, t totals, isSpout bool) api.ExecutorStats {
	s := api.ExecutorStats{
		ID: fmt.Sprintf("[%d-%d]", e.exec.Start, e.exec.End), Host: e.host,
		Emitted: t.Emitted, Transferred: t.Transferred, Acked: t.Acked, Failed: t.Failed,
	}
	s.EncodedID = javaURLEncode(s.ID)
	if e.slot != nil {
		s.Port = e.slot.Slot.Port
	}
	if e.hist != nil {
		s.UptimeSeconds = e.hist.uptime
	}
	s.Uptime = prettyUptime(s.UptimeSeconds)
	if isSpout {
		s.CompleteLatency = latency(t.CompleteLatencyMs, t.Acked)
		return s
	}
	executed := t.Executed
	s.Executed = &executed
	s.ExecuteLatency = latency(t.ExecuteLatencyMs, t.Executed)
	s.ProcessLatency = latency(t.ProcessLatencyMs, t.Acked)
	s.Capacity = fmt.Sprintf("%.3f", e.capacity())
	return s
}
