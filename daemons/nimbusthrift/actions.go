package nimbusthrift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// The topology actions take a topology name, as Storm's do. A name no live
// topology has is NotAliveException("<name> is not alive"); an action the
// topology's state does not allow (activating a killed topology) reaches the
// client as a TApplicationException, as Storm's "No transition for event"
// does.

// waitSecs is an optional wait: unset is -1, the topology's message timeout.
func waitSecs(v *int32) int {
	if v == nil {
		return -1
	}
	return int(*v)
}

// nameAction runs an action on the live topology named name.
func (h *Handler) nameAction(ctx context.Context, name string, act func(id string) error) error {
	id, err := h.idOf(ctx, name)
	if err != nil {
		return err
	}
	if err := act(id); err != nil {
		if errors.Is(err, api.ErrNotFound) {
			return nameNotAlive(name) // killed and removed meanwhile
		}
		return err
	}
	return nil
}

// KillTopology is killTopology: kill after the topology's message timeout.
func (h *Handler) KillTopology(ctx context.Context, name string) error {
	return h.KillTopologyWithOpts(ctx, name, nil)
}

// KillTopologyWithOpts is killTopologyWithOpts.
func (h *Handler) KillTopologyWithOpts(ctx context.Context, name string, options *storm.KillOptions) error {
	wait := -1
	if options != nil {
		wait = waitSecs(options.WaitSecs)
	}
	return h.nameAction(ctx, name, func(id string) error { return h.b.Kill(ctx, id, wait) })
}

// Activate is activate.
func (h *Handler) Activate(ctx context.Context, name string) error {
	return h.nameAction(ctx, name, func(id string) error { return h.b.Activate(ctx, id) })
}

// Deactivate is deactivate.
func (h *Handler) Deactivate(ctx context.Context, name string) error {
	return h.nameAction(ctx, name, func(id string) error { return h.b.Deactivate(ctx, id) })
}

// Rebalance is rebalance. An executor count for a component the topology
// lacks, or one under 1, is Storm's InvalidTopologyException.
func (h *Handler) Rebalance(ctx context.Context, name string, options *storm.RebalanceOptions) error {
	if options == nil {
		options = &storm.RebalanceOptions{}
	}
	wait, workers := waitSecs(options.WaitSecs), 0
	if options.NumWorkers != nil {
		workers = int(*options.NumWorkers)
		if workers <= 0 {
			return &storm.InvalidTopologyException{Msg: fmt.Sprintf("Number of workers must be greater than 0, got %d", workers)}
		}
	}
	confOverrides, err := parseConfOverrides(options.TopologyConfOverrides)
	if err != nil {
		return err
	}
	return h.nameAction(ctx, name, func(id string) error {
		var executors map[string]int
		if len(options.NumExecutors) > 0 {
			def, err := h.b.TopologyDefinition(ctx, id)
			if err != nil {
				return err
			}
			executors = map[string]int{}
			for comp, n := range options.NumExecutors {
				if err := checkExecutorCount(name, def, comp, n); err != nil {
					return err
				}
				executors[comp] = int(n)
			}
		}
		err := h.b.Rebalance(ctx, id, wait, api.RebalanceOptions{NumWorkers: workers, Executors: executors, TopologyConf: confOverrides})
		if errors.Is(err, api.ErrInvalid) {
			return &storm.InvalidTopologyException{Msg: err.Error()}
		}
		return err
	})
}

// checkExecutorCount validates a rebalance's executor count as Storm's
// nimbus does, in its words.
func checkExecutorCount(name string, def *topology.Definition, comp string, n int32) error {
	if def.Spouts[comp] == nil && def.Bolts[comp] == nil && !topology.IsSystemID(comp) {
		return &storm.InvalidTopologyException{Msg: fmt.Sprintf("Invalid component %s for topology %s, valid values are %s", comp, name, componentList(def))}
	}
	if n <= 0 {
		return &storm.InvalidTopologyException{Msg: "Number of executors must be greater than 0"}
	}
	return nil
}

// parseConfOverrides reads RebalanceOptions' topology_conf_overrides, a
// JSON object of configuration keys (Storm's `rebalance -t`); unset or
// empty means none.
func parseConfOverrides(raw *string) (map[string]any, error) {
	if raw == nil || strings.TrimSpace(*raw) == "" {
		return nil, nil
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(*raw), &conf); err != nil || conf == nil {
		return nil, &storm.InvalidTopologyException{Msg: fmt.Sprintf("topology_conf_overrides must be a JSON object of configuration keys, such as {\"topology.max.spout.pending\": 100}: %q is not", *raw)}
	}
	return conf, nil
}
