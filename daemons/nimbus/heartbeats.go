package nimbus

import (
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// freshness tracks whether a value reported by another process keeps
// advancing, by nimbus's own clock: Storm's heartbeat cache. Comparing the
// reporter's timestamps to nimbus's clock would need synchronised clocks (and
// breaks under a simulated clock); noticing that the value changed does not.
type freshness struct {
	value  int64     // the last reported value (heartbeat time in ms)
	seenAt time.Time // nimbus time when value last changed
}

// observe records value at now and returns the updated entry.
func (f freshness) observe(value int64, now time.Time) freshness {
	if f.seenAt.IsZero() || value != f.value {
		return freshness{value: value, seenAt: now}
	}
	return f
}

// fresh reports whether the value changed within timeout of now.
func (f freshness) fresh(now time.Time, timeout time.Duration) bool {
	return !f.seenAt.IsZero() && now.Sub(f.seenAt) < timeout
}

// heartbeatCache holds the freshness of every executor's and supervisor's
// heartbeat. It is used under Nimbus.mu.
type heartbeatCache struct {
	executors   map[string]map[cluster.ExecutorInfo]freshness // topology id → executor
	supervisors map[string]freshness
}

func newHeartbeatCache() *heartbeatCache {
	return &heartbeatCache{
		executors:   map[string]map[cluster.ExecutorInfo]freshness{},
		supervisors: map[string]freshness{},
	}
}

// updateExecutors records the heartbeat times read for a topology's executors
// (the TimeMillis of the worker heartbeat that lists them) and returns which executors of assignment are alive: an executor is alive while
// it is within launchGrace of its start, or its heartbeat advanced within
// taskTimeout.
func (c *heartbeatCache) updateExecutors(topologyID string, assignment *cluster.Assignment, beatTimes map[cluster.ExecutorInfo]int64, now time.Time, taskTimeout, launchGrace time.Duration) map[cluster.ExecutorInfo]bool {
	old := c.executors[topologyID]
	cur := map[cluster.ExecutorInfo]freshness{}
	alive := map[cluster.ExecutorInfo]bool{}
	if assignment == nil {
		c.executors[topologyID] = cur
		return alive
	}
	for _, ea := range assignment.Executors {
		f := old[ea.Executor]
		if t, ok := beatTimes[ea.Executor]; ok {
			f = f.observe(t, now)
		}
		cur[ea.Executor] = f
		launched := time.Unix(ea.StartSecs, 0)
		// The start time is written by nimbus from its own clock, so the
		// comparison is between two nimbus times.
		if now.Sub(launched) < launchGrace || f.fresh(now, taskTimeout) {
			alive[ea.Executor] = true
		}
	}
	c.executors[topologyID] = cur
	return alive
}

// updateSupervisor records a supervisor's heartbeat time and reports whether
// it is alive (its time advanced within timeout).
func (c *heartbeatCache) updateSupervisor(id string, timeSecs int64, now time.Time, timeout time.Duration) bool {
	f := c.supervisors[id].observe(timeSecs, now)
	c.supervisors[id] = f
	return f.fresh(now, timeout)
}

// forgetSupervisorsExcept drops the supervisors not in present.
func (c *heartbeatCache) forgetSupervisorsExcept(present map[string]bool) {
	for id := range c.supervisors {
		if !present[id] {
			delete(c.supervisors, id)
		}
	}
}

// forgetTopology drops a topology's executors.
func (c *heartbeatCache) forgetTopology(id string) { delete(c.executors, id) }
