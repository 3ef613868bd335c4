package worker

import (
	"fmt"
	"maps"
	"slices"

	"github.com/localstorm/localstorm/topology"
)

// subscriber is one bolt subscribed to a stream, with its grouping.
type subscriber struct {
	component string
	direct    bool
	grouper   topology.Grouper // nil for direct groupings
}

// streamRoute is where an emitting task's tuples on one stream go.
type streamRoute struct {
	def         topology.StreamDef
	subscribers []subscriber
	// directTargets are the tasks that may receive EmitDirect on this stream.
	directTargets map[int]bool
	stats         *streamCounters // the emitting executor's counters of the stream
	// Counts not yet published to stats (see executor.countEmit).
	emitted, transferred int64
}

// routeTable builds the stream routes of the task of ctx (its groupers are
// its own: they keep state such as round-robin positions). localTasks are the
// tasks running in this worker (for local-or-shuffle).
func routeTable(def *topology.Definition, ctx *topology.Context, localTasks []int) (map[string]*streamRoute, error) {
	comp := ctx.ComponentID
	outputs := componentOutputs(def, comp)
	routes := make(map[string]*streamRoute, len(outputs))
	for stream, sd := range outputs {
		routes[stream] = &streamRoute{def: sd, directTargets: map[int]bool{}}
	}
	// Sorted bolt ids: every task builds the same order, so Emit returns task
	// ids in a stable order.
	ids := slices.Sorted(maps.Keys(def.Bolts))
	for _, id := range ids {
		b := def.Bolts[id]
		if b == nil {
			continue
		}
		for _, in := range b.Inputs {
			if in.Component != comp {
				continue
			}
			stream := in.Stream
			if stream == "" {
				stream = topology.DefaultStream
			}
			r, ok := routes[stream]
			if !ok {
				return nil, fmt.Errorf("bolt %q subscribes to undeclared stream %q of %q", id, stream, comp)
			}
			tasks := ctx.ComponentTasks[id]
			if len(tasks) == 0 {
				continue
			}
			s := subscriber{component: id}
			if in.Grouping.Type == topology.GroupDirect {
				s.direct = true
				for _, t := range tasks {
					r.directTargets[t] = true
				}
			} else {
				g, err := topology.NewGrouperContext(ctx, stream, in.Grouping, r.def.Fields, tasks, localTasks)
				if err != nil {
					return nil, fmt.Errorf("bolt %q input from %q stream %q: %w", id, comp, stream, err)
				}
				s.grouper = g
			}
			r.subscribers = append(r.subscribers, s)
		}
	}
	return routes, nil
}

// componentOutputs returns the declared streams of a spout or bolt.
func componentOutputs(def *topology.Definition, comp string) map[string]topology.StreamDef {
	if c := def.Spouts[comp]; c != nil {
		return c.Outputs
	}
	if c := def.Bolts[comp]; c != nil {
		return c.Outputs
	}
	return nil
}
