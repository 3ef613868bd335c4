package nimbus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// The topology state machine (Storm's state-transitions in nimbus.clj):
//
//	ACTIVE       activate → (stays)      deactivate → INACTIVE   rebalance → REBALANCING   kill → KILLED   startup → (stays)
//	INACTIVE     activate → ACTIVE       deactivate → (stays)    rebalance → REBALANCING   kill → KILLED   startup → (stays)
//	KILLED       startup → remove after the stored wait          kill → KILLED (new wait)   remove → gone
//	REBALANCING  startup → do-rebalance after the stored wait    kill → KILLED              do-rebalance → previous status
//
// Every transition runs under the submit lock. An event with no transition
// from the current state is an error for the API caller and a log line when
// it comes from a timer.

// Event names.
const (
	EventActivate    = "activate"
	EventDeactivate  = "deactivate"
	EventKill        = "kill"
	EventRebalance   = "rebalance"
	EventStartup     = "startup"
	EventRemove      = "remove"
	EventDoRebalance = "do-rebalance"
)

// event is one input of the state machine.
type event struct {
	name string
	// waitSecs for kill and rebalance; negative = the topology's message timeout.
	waitSecs   int
	numWorkers int
	executors  map[string]int
	// conf holds the configuration keys a rebalance changes.
	conf map[string]any
}

// TransitionError says that an event has no transition from a state.
type TransitionError struct {
	TopologyID string
	Status     cluster.TopologyStatus
	Event      string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("topology %s is %s: %s is not possible in that state", e.TopologyID, e.Status, e.Event)
}

// Unwrap makes a refused transition an api.ErrConflict for the HTTP layer.
func (e *TransitionError) Unwrap() error { return api.ErrConflict }

// Activate lets the topology's spouts emit again.
func (n *Nimbus) Activate(ctx context.Context, id string) error {
	return n.apiTransition(id, event{name: EventActivate})
}

// Deactivate stops the topology's spouts from emitting.
func (n *Nimbus) Deactivate(ctx context.Context, id string) error {
	return n.apiTransition(id, event{name: EventDeactivate})
}

// Kill deactivates the topology and removes it after waitSecs (negative: its
// topology.message.timeout.secs), so that tuples in flight can finish.
func (n *Nimbus) Kill(ctx context.Context, id string, waitSecs int) error {
	return n.apiTransition(id, event{name: EventKill, waitSecs: waitSecs})
}

// Rebalance moves the topology to REBALANCING and, after waitSecs (negative:
// its message timeout), merges o.TopologyConf into its configuration (nil:
// unchanged) and reschedules it from scratch with o.NumWorkers workers (0:
// unchanged) and the component parallelism of o.Executors (nil: unchanged).
func (n *Nimbus) Rebalance(ctx context.Context, id string, waitSecs int, o api.RebalanceOptions) error {
	if o.NumWorkers < 0 {
		return fmt.Errorf("rebalance %s: %w: %d workers: give a positive number, or 0 to keep the count", id, api.ErrInvalid, o.NumWorkers)
	}
	if err := n.validateRebalanceExecutors(id, o.Executors); err != nil {
		return fmt.Errorf("rebalance %s: %w", id, err)
	}
	if err := n.checkConfOverrides(id, o.TopologyConf); err != nil {
		return fmt.Errorf("rebalance %s: %w", id, err)
	}
	return n.apiTransition(id, event{name: EventRebalance, waitSecs: waitSecs, numWorkers: o.NumWorkers, executors: o.Executors, conf: o.TopologyConf})
}

func (n *Nimbus) validateRebalanceExecutors(id string, executors map[string]int) error {
	if len(executors) == 0 {
		return nil
	}
	if !validTopologyID(id) || !n.hasCode(id) {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	code, err := n.loadCode(id)
	if err != nil {
		return err
	}
	for comp, par := range executors {
		c := code.Definition.Spouts[comp]
		if c == nil {
			c = code.Definition.Bolts[comp]
		}
		if c == nil {
			return fmt.Errorf("%w: topology %s has no component %q", api.ErrInvalid, id, comp)
		}
		if par < 1 {
			return fmt.Errorf("%w: component %q: %d executors: Number of executors must be greater than 0", api.ErrInvalid, comp, par)
		}
		// Tasks are fixed at submit; an executor runs one or more of them,
		// so more executors than tasks would leave some idle.
		tasks := c.NumTasks
		if tasks == 0 {
			tasks = c.Parallelism
		}
		if par > tasks {
			return fmt.Errorf("%w: component %q: %d executors for %d tasks: a component cannot have more executors than tasks (set at submit with topology.tasks / SetNumTasks); give at most %d",
				api.ErrInvalid, comp, par, tasks, tasks)
		}
	}
	return nil
}

func (n *Nimbus) apiTransition(id string, ev event) error {
	if n.closing.Load() {
		return fmt.Errorf("%s %s: %w", ev.name, id, api.ErrShutdown)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.transition(id, ev); err != nil {
		return fmt.Errorf("%s %s: %w", ev.name, id, err)
	}
	return nil
}

// timedTransition runs ev from a timer: a refused transition is only logged
// (the topology moved on meanwhile); a ZooKeeper failure is fatal.
func (n *Nimbus) timedTransition(id string, ev event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.pending, id)
	err := n.transition(id, ev)
	if _, refused := err.(*TransitionError); refused || isNotFound(err) {
		n.log.Info("timed event dropped", "id", id, "event", ev.name, "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", ev.name, id, err)
	}
	return nil
}

// schedule runs ev on id after delay through the timer, replacing an event
// already pending for id. Called under mu.
func (n *Nimbus) schedule(id string, delay time.Duration, ev event) {
	if cancel := n.pending[id]; cancel != nil {
		cancel()
	}
	n.pending[id] = n.timer.Schedule(delay, func() error { return n.timedTransition(id, ev) })
}

// waitFor resolves a kill/rebalance wait: negative means the topology's
// topology.message.timeout.secs, as Storm does.
func (n *Nimbus) waitFor(id string, waitSecs int) int {
	if waitSecs >= 0 {
		return waitSecs
	}
	if code, err := n.loadCode(id); err == nil {
		if d, err := code.Conf.Secs(config.TopologyMessageTimeoutSecs); err == nil {
			return int(d / time.Second)
		}
	}
	d, _ := withDefaults(n.conf).Secs(config.TopologyMessageTimeoutSecs)
	return int(d / time.Second)
}

// transition applies ev to topology id. Called under mu.
func (n *Nimbus) transition(id string, ev event) error {
	base, err := n.state.StormBase(id, nil)
	if err != nil {
		return fmt.Errorf("read topology %s: %w", id, err)
	}
	if base == nil {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	refuse := &TransitionError{TopologyID: id, Status: base.Status, Event: ev.name}
	set := func(status cluster.TopologyStatus) error {
		if status == base.Status {
			return nil
		}
		next := *base
		next.Status = status
		if err := n.writeBase(id, &next); err != nil {
			return err
		}
		kind := timeline.TopologyActivated
		if status == cluster.StatusInactive {
			kind = timeline.TopologyDeactivated
		}
		n.record(kind, id, "", fmt.Sprintf("topology %s is %s", id, status))
		return nil
	}
	switch base.Status {
	case cluster.StatusActive, cluster.StatusInactive:
		switch ev.name {
		case EventActivate:
			return set(cluster.StatusActive)
		case EventDeactivate:
			return set(cluster.StatusInactive)
		case EventStartup:
			return nil
		case EventKill:
			return n.kill(id, base, ev)
		case EventRebalance:
			return n.rebalance(id, base, ev)
		}
	case cluster.StatusKilled:
		switch ev.name {
		case EventKill:
			return n.kill(id, base, ev)
		case EventStartup:
			n.schedule(id, n.storedWait(base), event{name: EventRemove})
			return nil
		case EventRemove:
			return n.remove(id)
		}
	case cluster.StatusRebalancing:
		switch ev.name {
		case EventKill:
			return n.kill(id, base, ev)
		case EventStartup:
			n.schedule(id, n.storedWait(base), event{name: EventDoRebalance})
			return nil
		case EventDoRebalance:
			return n.doRebalance(id, base)
		}
	}
	return refuse
}

func (n *Nimbus) storedWait(base *cluster.StormBase) time.Duration {
	if base.TopologyActionOptions == nil {
		return 0
	}
	return time.Duration(base.TopologyActionOptions.WaitSecs) * time.Second
}

// writeBase writes the whole storm base (UpdateStorm merges, which could not
// clear the pending action).
func (n *Nimbus) writeBase(id string, base *cluster.StormBase) error {
	base.V = cluster.SchemaVersion
	if err := n.state.ActivateStorm(id, base); err != nil {
		return fmt.Errorf("write topology %s: %w", id, err)
	}
	n.log.Info("topology status", "id", id, "status", base.Status)
	return nil
}

func (n *Nimbus) kill(id string, base *cluster.StormBase, ev event) error {
	wait := n.waitFor(id, ev.waitSecs)
	next := *base
	next.Status = cluster.StatusKilled
	next.TopologyActionOptions = &cluster.TopologyActionOptions{Action: EventKill, WaitSecs: wait}
	if err := n.writeBase(id, &next); err != nil {
		return err
	}
	n.schedule(id, time.Duration(wait)*time.Second, event{name: EventRemove})
	n.record(timeline.TopologyKilled, id, "", fmt.Sprintf("topology %s killed; removed in %d s", id, wait))
	return nil
}

func (n *Nimbus) rebalance(id string, base *cluster.StormBase, ev event) error {
	wait := n.waitFor(id, ev.waitSecs)
	next := *base
	next.Status = cluster.StatusRebalancing
	next.PrevStatus = base.Status
	next.TopologyActionOptions = &cluster.TopologyActionOptions{
		Action: EventRebalance, WaitSecs: wait, NumWorkers: ev.numWorkers, NumExecutors: maps.Clone(ev.executors),
		TopologyConf: maps.Clone(ev.conf),
	}
	if err := n.writeBase(id, &next); err != nil {
		return err
	}
	n.schedule(id, time.Duration(wait)*time.Second, event{name: EventDoRebalance})
	n.record(timeline.TopologyRebalancing, id, "", fmt.Sprintf("topology %s rebalancing in %d s%s", id, wait, rebalanceWhat(ev)))
	return nil
}

// rebalanceWhat says what a rebalance changes, as ", to N workers, c=P".
func rebalanceWhat(ev event) string {
	var b strings.Builder
	if ev.numWorkers > 0 {
		fmt.Fprintf(&b, ", to %d workers", ev.numWorkers)
	}
	for _, c := range slices.Sorted(maps.Keys(ev.executors)) {
		fmt.Fprintf(&b, ", %s=%d", c, ev.executors[c])
	}
	if len(ev.conf) > 0 {
		fmt.Fprintf(&b, ", conf %s", strings.Join(slices.Sorted(maps.Keys(ev.conf)), ", "))
	}
	return b.String()
}

// doRebalance applies the stored rebalance options, returns the topology to
// its previous status and schedules it from scratch. A conf change that can
// no longer be applied (checked when asked for; the disk may fail) is
// logged and recorded, and the rest of the rebalance goes on, as the timer
// cannot answer a caller.
func (n *Nimbus) doRebalance(id string, base *cluster.StormBase) error {
	next := *base
	next.ComponentExecutors = maps.Clone(base.ComponentExecutors)
	if opts := base.TopologyActionOptions; opts != nil {
		if err := n.applyConfOverrides(id, opts.TopologyConf); err != nil {
			n.log.Error("rebalance: topology conf not changed", "id", id, "err", err)
			n.record(timeline.TopologyRebalanced, id, "", fmt.Sprintf("topology %s: conf not changed: %v", id, err))
		}
		if opts.NumWorkers > 0 {
			next.NumWorkers = opts.NumWorkers
		}
		for comp, par := range opts.NumExecutors {
			next.ComponentExecutors[comp] = par
		}
	}
	next.Status = base.PrevStatus
	if next.Status == "" {
		next.Status = cluster.StatusActive
	}
	next.PrevStatus = ""
	next.TopologyActionOptions = nil
	if err := n.writeBase(id, &next); err != nil {
		return err
	}
	n.record(timeline.TopologyRebalanced, id, "", fmt.Sprintf("topology %s rebalanced: %d workers; executors scheduled again", id, next.NumWorkers))
	return n.mkAssignments(id)
}

// remove deletes a killed topology from ZooKeeper (assignment and storm
// base); do-cleanup then tears down its heartbeats, errors and code.
func (n *Nimbus) remove(id string) error {
	if err := n.state.RemoveStorm(id); err != nil {
		return fmt.Errorf("remove topology %s: %w", id, err)
	}
	n.log.Info("topology removed", "id", id)
	n.record(timeline.TopologyRemoved, id, "", fmt.Sprintf("topology %s removed", id))
	return nil
}

// startupStorms fires startup on every storm (Storm's nimbus startup).
func (n *Nimbus) startupStorms() error {
	ids, err := n.state.ActiveStorms()
	if err != nil {
		return fmt.Errorf("list topologies: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if err := n.transition(id, event{name: EventStartup}); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}
