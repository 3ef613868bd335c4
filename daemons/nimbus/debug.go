package nimbus

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// Debug turns the event logger's sampling on or off for a component of a
// topology, or for the whole topology when component is "" (Storm's Nimbus
// debug): the options go into the storm base's component debug map, keyed by
// the component or the topology id, which the workers watch. The
// percentage is bounded to [0, 100] and only stored when enabling; the
// storm base merges it as Storm's does (see cluster.StormBase).
func (n *Nimbus) Debug(ctx context.Context, id, component string, enable bool, samplingPct float64) error {
	if err := n.debug(id, component, enable, samplingPct); err != nil {
		return fmt.Errorf("debug %s: %w", id, err)
	}
	return nil
}

func (n *Nimbus) debug(id, component string, enable bool, pct float64) error {
	if n.closing.Load() {
		return api.ErrShutdown
	}
	if !validTopologyID(id) || !n.hasCode(id) {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	if component != "" {
		code, err := n.loadCode(id)
		if err != nil {
			return err
		}
		d := code.Definition
		if d.Spouts[component] == nil && d.Bolts[component] == nil {
			comps := slices.Sorted(maps.Keys(d.Spouts))
			comps = append(comps, slices.Sorted(maps.Keys(d.Bolts))...)
			return fmt.Errorf("%w: topology %s has no component %q (it has %s)", api.ErrNotFound, id, component, strings.Join(comps, ", "))
		}
	}
	opts := cluster.DebugOptions{Enable: enable}
	if enable {
		opts.SamplingPct = max(min(pct, 100), 0)
	}
	key := component
	if key == "" {
		key = id
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	base, err := n.state.StormBase(id, nil)
	if err != nil {
		return err
	}
	if base == nil {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	// The whole base is written under nimbus's lock, as its transitions do.
	next := *base
	next.MergeDebug(map[string]cluster.DebugOptions{key: opts})
	if err := n.writeBase(id, &next); err != nil {
		return err
	}
	n.log.Info("debug set", "id", id, "component", component, "enable", enable, "samplingPct", opts.SamplingPct)
	return nil
}

// registerDebug serves Storm UI's debug actions:
// POST /api/v1/topology/:id/debug/:action/:spct and
// POST /api/v1/topology/:id/component/:component/debug/:action/:spct,
// with action enable or disable and spct a whole percentage.
func (h *apiHandler) registerDebug(post func(path, contentType string, fn handlerFunc)) {
	fn := func(r *http.Request) (any, error) {
		id, action, spct := r.PathValue("id"), r.PathValue("action"), r.PathValue("spct")
		if action != "enable" && action != "disable" {
			return nil, fmt.Errorf("debug %s: %w: action %q: use enable or disable", id, api.ErrInvalid, action)
		}
		pct, err := strconv.Atoi(spct)
		if err != nil {
			return nil, fmt.Errorf("debug %s: %w: sampling percentage %q is not a whole number", id, api.ErrInvalid, spct)
		}
		if err := h.svc.Debug(r.Context(), id, r.PathValue("component"), action == "enable", float64(pct)); err != nil {
			return nil, err
		}
		return &api.ActionReply{TopologyOperation: "debug/" + action, TopologyID: id, Status: "success"}, nil
	}
	post(api.PathTopology+"{id}/debug/{action}/{spct}", api.ContentTypeJSON, fn)
	post(api.PathTopology+"{id}/component/{component}/debug/{action}/{spct}", api.ContentTypeJSON, fn)
}
