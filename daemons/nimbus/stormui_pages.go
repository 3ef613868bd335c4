package nimbus

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/topology"
)

// Storm UI's pages besides the summaries and the topology and component
// pages: a supervisor's page, a topology's workers and its visualization.

// javaURLEncode encodes s as Java's URLEncoder.encode does, which Storm UI
// uses for its encoded* fields: letters, digits and . - * _ stay, a space
// becomes +, every other byte of the UTF-8 form is %XX.
func javaURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// SupervisorPage is GET /api/v1/supervisor?id=ID or ?host=HOST (Storm's
// getSupervisorPageInfo): the supervisor with that id, or every supervisor
// on that host, and the workers of every topology on them.
func (n *Nimbus) SupervisorPage(ctx context.Context, id, host string, sys bool) (*api.SupervisorPage, error) {
	if (id == "") == (host == "") {
		return nil, fmt.Errorf("%w: give one of id=SUPERVISOR-ID or host=HOST", api.ErrInvalid)
	}
	all, err := n.SupervisorSummary(ctx)
	if err != nil {
		return nil, err
	}
	page := &api.SupervisorPage{Supervisors: []api.Supervisor{}, Workers: []api.WorkerSummary{}, LogviewerScheme: "http"}
	match := map[string]bool{}
	for _, s := range all.Supervisors {
		if (id != "" && s.ID == id) || (host != "" && s.Host == host) {
			page.Supervisors = append(page.Supervisors, s)
			match[s.ID] = true
		}
	}
	if len(match) == 0 {
		if id != "" {
			return nil, fmt.Errorf("%w: no supervisor with id %q", api.ErrNotFound, id)
		}
		return nil, fmt.Errorf("%w: no supervisor on host %q", api.ErrNotFound, host)
	}
	topos, err := n.topologyViews()
	if err != nil {
		return nil, err
	}
	hosts, err := n.supervisorHosts()
	if err != nil {
		return nil, err
	}
	now := n.clock.Now()
	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	for i := range topos {
		if topos[i].code == nil {
			continue
		}
		for _, w := range n.workers(&topos[i], hosts, now, sys) {
			if match[w.SupervisorID] {
				page.Workers = append(page.Workers, w)
			}
		}
	}
	return page, nil
}

// TopologyWorkers is GET /api/v1/topology-workers/<id>: the distinct host
// and port of the topology's workers (Storm's getTopologyWorkers).
func (n *Nimbus) TopologyWorkers(ctx context.Context, id string) (*api.TopologyWorkers, error) {
	v, err := n.topologyView(id)
	if err != nil {
		return nil, err
	}
	hosts, err := n.supervisorHosts()
	if err != nil {
		return nil, err
	}
	out := &api.TopologyWorkers{HostPortList: []api.HostPort{}, LogviewerScheme: "http"}
	for _, slot := range sortedSlots(slotsOf(v.assignment)) {
		out.HostPortList = append(out.HostPortList, api.HostPort{Host: hosts[slot.Node], Port: slot.Port})
	}
	return out, nil
}

// Visualization is GET /api/v1/topology/<id>/visualization (Storm's
// getVisualizationData): per component with executors, its type, capacity,
// latency and transferred count over window, per-executor transferred
// counts per window and stream, a link to its page and its inputs; the keys
// are Storm's, colon and all. System components only with sys.
func (n *Nimbus) Visualization(ctx context.Context, id, window string, sys bool) (map[string]any, error) {
	window, wdur, err := parseWindow(window)
	if err != nil {
		return nil, err
	}
	v, comps, now, err := n.liveComponents(id)
	if err != nil {
		return nil, err
	}
	def := v.code.Definition
	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	out := map[string]any{}
	for comp, execs := range comps {
		_, isSpout := def.Spouts[comp]
		if len(execs) == 0 || (!sys && !isSpout && topology.IsSystemID(comp)) {
			continue
		}
		var t totals
		var capacity float64
		stats := []map[string]any{}
		for _, e := range execs {
			t = t.add(e.window(wdur, now))
			capacity = max(capacity, e.capacity())
			perWindow := map[string]map[string]int64{}
			for _, w := range api.Windows {
				d, _ := windowSecs(w)
				byStream := map[string]int64{}
				for s, c := range e.window(d, now).byStream(statTransferred) {
					if sys || !topology.IsSystemID(s) {
						byStream[sanitizeStreamName(s)] = c
					}
				}
				perWindow[w] = byStream
			}
			s := map[string]any{":host": e.host, ":port": 0, ":uptime_secs": int64(0), ":transferred": perWindow}
			if e.slot != nil {
				s[":port"] = e.slot.Slot.Port
			}
			if e.hist != nil {
				s[":uptime_secs"] = e.hist.uptime
			}
			stats = append(stats, s)
		}
		m := map[string]any{
			":transferred": t.Transferred, ":stats": stats,
			":link":   "/#/topology/" + javaURLEncode(id),
			":inputs": visualizationInputs(componentDef(def, comp)),
		}
		if isSpout {
			m[":type"], m[":capacity"], m[":latency"] = api.ComponentTypeSpout, 0, meanMs(t.CompleteLatencyMs, t.Acked)
		} else {
			m[":type"], m[":capacity"], m[":latency"] = api.ComponentTypeBolt, capacity, meanMs(t.ProcessLatencyMs, t.Acked)
		}
		out[comp] = m
	}
	return out, nil
}

func meanMs(sum float64, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return sum / float64(n)
}

func visualizationInputs(c *topology.ComponentDef) []map[string]any {
	out := []map[string]any{}
	if c == nil {
		return out
	}
	for _, in := range c.Inputs {
		out = append(out, map[string]any{
			":component": in.Component, ":stream": in.Stream, ":sani-stream": sanitizeStreamName(in.Stream),
			":grouping": stormGroupingName(in.Grouping.Type),
		})
	}
	return out
}

// stormGroupingName names a grouping as Storm's Thrift Grouping union names
// its field: a global grouping is a fields grouping on no fields there, and
// the custom ones are custom objects.
func stormGroupingName(t string) string {
	switch t {
	case topology.GroupGlobal:
		return topology.GroupFields
	case topology.GroupCustom, topology.GroupPartialKey:
		return "custom_object"
	}
	return t
}

var (
	streamNameUnsafe = regexp.MustCompile(`[^A-Za-z_\-:.]`)
	startsWithLetter = regexp.MustCompile(`^[A-Za-z]`)
)

// sanitizeStreamName makes a stream id usable as an HTML id as Storm UI
// does: every character but letters, _ - : . becomes _, and a name that does
// not start with a letter gets the prefix Storm's code gives it ("\s",
// sanitized to "_s").
func sanitizeStreamName(s string) string {
	if !startsWithLetter.MatchString(s) {
		s = `\s` + s
	}
	return streamNameUnsafe.ReplaceAllString(s, "_")
}

// VisualizationInit is GET /api/v1/topology/<id>/visualization-init
// (Storm's getBuildVisualization): the input streams of the components shown
// by Visualization, as check boxes in rows of four; system streams start
// unchecked.
func (n *Nimbus) VisualizationInit(ctx context.Context, id, window string, sys bool) (map[string]any, error) {
	vis, err := n.Visualization(ctx, id, window, sys)
	if err != nil {
		return nil, err
	}
	streams := map[string]bool{}
	for _, c := range vis {
		for _, in := range c.(map[string]any)[":inputs"].([]map[string]any) {
			streams[in[":stream"].(string)] = true
		}
	}
	var boxes []map[string]any
	for _, s := range slices.Sorted(maps.Keys(streams)) {
		boxes = append(boxes, map[string]any{"stream": s, "sani-stream": sanitizeStreamName(s), "checked": !topology.IsSystemID(s)})
	}
	table := [][]map[string]any{}
	for chunk := range slices.Chunk(boxes, 4) {
		table = append(table, chunk)
	}
	return map[string]any{"visualizationTable": table}, nil
}
