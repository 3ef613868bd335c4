package nimbus

import (
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// normalizeTasks is Storm's normalize-topology: each component's task
// count is its own topology.tasks (SetNumTasks, or its conf's key), else the
// topology's, else its parallelism; then at most topology.max.task.parallelism
// (the component's, else the topology's) when set. conf is the topology's
// whole configuration. def is not changed: a copy with the counts is returned.
func normalizeTasks(def *topology.Definition, conf config.Conf) *topology.Definition {
	out := *def
	out.Spouts = normalizeComponents(def.Spouts, conf)
	out.Bolts = normalizeComponents(def.Bolts, conf)
	return &out
}

func normalizeComponents(comps map[string]*topology.ComponentDef, conf config.Conf) map[string]*topology.ComponentDef {
	if comps == nil {
		return nil
	}
	out := make(map[string]*topology.ComponentDef, len(comps))
	for id, c := range comps {
		if c == nil {
			out[id] = nil
			continue
		}
		merged := conf.Merge(c.Conf)
		n := c.NumTasks
		if n == 0 {
			n = c.Parallelism
			if t, err := merged.Int(config.TopologyTasks); err == nil && !merged.IsNil(config.TopologyTasks) {
				n = t
			}
		}
		if limit, err := merged.Int(config.TopologyMaxTaskParallelism); err == nil && !merged.IsNil(config.TopologyMaxTaskParallelism) {
			n = min(n, limit)
		}
		cc := *c
		cc.NumTasks = n
		out[id] = &cc
	}
	return out
}
