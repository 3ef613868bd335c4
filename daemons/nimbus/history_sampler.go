package nimbus

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// sampleHistory is the history's timer task: it reads every topology's
// heartbeats (recording their stats as the monitor does) and appends a
// sample. A failed read skips the topology for this sample; it is never
// fatal to nimbus.
func (n *Nimbus) sampleHistory() error {
	if n.closing.Load() {
		return nil
	}
	now := n.clock.Now()
	views, err := n.topologyViews()
	if err != nil {
		n.log.Debug("history: list topologies", "err", err)
		return nil
	}
	alive := map[string]bool{}
	for _, v := range views {
		if v.code == nil {
			continue
		}
		alive[v.id] = true
		times, err := n.readBeats(v.id, v.assignment, now)
		if err != nil {
			n.log.Debug("history: read heartbeats", "topology", v.id, "err", err)
			continue
		}
		spouts := map[string]bool{}
		for id := range v.code.Definition.Spouts {
			spouts[id] = true
		}
		n.history.sample(v.id, n.observations(&v, times), spouts, now)
	}
	n.history.retain(alive)
	return nil
}

// observations are every executor of v with its newest counts.
func (n *Nimbus) observations(v *topologyView, times map[cluster.ExecutorInfo]int64) []execObservation {
	taskComp := v.code.Definition.TaskToComponent(topology.NumAckers(v.code.Conf, v.base.NumWorkers))
	execs := executorsOf(v.code, v.base)
	out := make([]execObservation, 0, len(execs))
	n.infoMu.Lock()
	defer n.infoMu.Unlock()
	for _, e := range execs {
		o := execObservation{component: taskComp[e.Start], exec: e, beatMs: times[e]}
		if h := n.stats.history(v.id, e); h != nil && len(h.samples) > 0 {
			o.cum, o.capacity = h.samples[len(h.samples)-1].t, h.capacity
		}
		out = append(out, o)
	}
	return out
}

// TopologyHistory is the live history of topology id, or of one of its
// components, its newest secs seconds (0: all that is kept).
func (n *Nimbus) TopologyHistory(ctx context.Context, id, component string, secs int) (*api.History, error) {
	if secs < 0 {
		return nil, fmt.Errorf("%w: secs=%d: give a number of seconds, 0 or more", api.ErrInvalid, secs)
	}
	v, err := n.topologyView(id)
	if err != nil {
		return nil, err
	}
	if component != "" && v.code != nil && !hasComponent(v, component) {
		return nil, fmt.Errorf("%w: topology %s has no component %q", api.ErrNotFound, id, component)
	}
	hosts, err := n.supervisorHosts()
	if err != nil {
		return nil, err
	}
	hostOf := func(s cluster.NodePort) string {
		h := hosts[s.Node]
		if h == "" {
			h = s.Node
		}
		return net.JoinHostPort(h, strconv.Itoa(s.Port))
	}
	return n.history.snapshot(id, component, secs, hostOf), nil
}

// hasComponent says whether v's topology has component id (its system
// components included).
func hasComponent(v *topologyView, id string) bool {
	for _, comp := range v.code.Definition.TaskToComponent(topology.NumAckers(v.code.Conf, v.base.NumWorkers)) {
		if comp == id {
			return true
		}
	}
	return false
}
