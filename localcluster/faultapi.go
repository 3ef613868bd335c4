package localcluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbus"
	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// Faults asked for over nimbus's API (POST /api/v1/faults/<fault>, served
// when Options.ServeFaults is set): nimbus passes them to the cluster, which
// owns the daemons and the worker processes. One runs at a time; another
// asked for meanwhile is a 409.

// faultRestartTimeout bounds a restart of nimbus that runs after its reply.
const faultRestartTimeout = time.Minute

// faultInjector is the hook given to nimbus: nil unless the options ask for faults.
func (c *Cluster) faultInjector() nimbus.FaultInjector {
	if !c.opts.ServeFaults {
		return nil
	}
	return faultHook{c}
}

type faultHook struct{ c *Cluster }

func (h faultHook) InjectFault(ctx context.Context, fault string, req api.FaultRequest) (*api.FaultReply, error) {
	c := h.c
	if !c.faultMu.TryLock() {
		return nil, fmt.Errorf("%s: %w: another fault is in progress (or the cluster is stopping); try again in a moment", fault, api.ErrConflict)
	}
	if fault == api.FaultRestartNimbus {
		// This request is served by the nimbus to restart, whose Close
		// waits for it: the restart runs after the reply.
		c.recordFault(fault, req)
		go func() {
			defer c.faultMu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), faultRestartTimeout)
			defer cancel()
			if err := c.RestartNimbus(ctx); err != nil {
				c.report(fmt.Errorf("fault %s: %w", fault, err))
				return
			}
			c.events.Record(timeline.Event{Kind: timeline.NimbusRestarted, Daemon: upDaemon, Cause: "fault " + fault,
				Details: "nimbus restarted on the same address; topologies, pending kills and rebalances resume from ZooKeeper"})
		}()
		return &api.FaultReply{Fault: fault, Message: "nimbus is restarting on the same address; the API answers again in a moment"}, nil
	}
	defer c.faultMu.Unlock()
	// On the timeline before it happens, so that what follows it comes after.
	e := c.recordFault(fault, req)
	reply, err := c.injectFault(ctx, fault, req)
	if err != nil {
		e.Details = fmt.Sprintf("fault %s failed: %v", fault, err)
		c.events.Record(e)
		return nil, fmt.Errorf("%s: %w", fault, err)
	}
	reply.Fault = fault
	return reply, nil
}

// upDaemon names the process that owns the daemons on the timeline.
const upDaemon = "localstorm up"

// recordFault puts a fault asked for on the timeline, with its topology
// (the worker faults) so that the topology's own timeline shows it, and
// returns the event.
func (c *Cluster) recordFault(fault string, req api.FaultRequest) timeline.Event {
	e := timeline.Event{Kind: timeline.FaultInjected, Daemon: upDaemon, Cause: fault, Details: "fault " + fault + faultTarget(fault, req)}
	if req.Topology != "" {
		if id, err := c.topologyID(context.Background(), req.Topology); err == nil {
			e.Topology = id
		}
	}
	c.events.Record(e)
	return e
}

// faultTarget says what a fault is asked to break, as " of wc on port 6700".
func faultTarget(fault string, req api.FaultRequest) string {
	switch fault {
	case api.FaultKillWorker, api.FaultPauseWorker, api.FaultResumeWorker:
		if req.Port != 0 {
			return fmt.Sprintf(": the worker of %s on port %d", req.Topology, req.Port)
		}
		return fmt.Sprintf(": a worker of %s", req.Topology)
	case api.FaultStopSupervisor, api.FaultStartSupervisor:
		return fmt.Sprintf(": supervisor %d", req.Supervisor)
	case api.FaultExpireSession:
		return ": the ZooKeeper session of " + req.Daemon
	}
	return ""
}

func (c *Cluster) injectFault(ctx context.Context, fault string, req api.FaultRequest) (*api.FaultReply, error) {
	switch fault {
	case api.FaultKillWorker:
		return c.signalTopologyWorker(ctx, req, syscall.SIGKILL, "killed (SIGKILL); its supervisor relaunches it")
	case api.FaultPauseWorker:
		return c.signalTopologyWorker(ctx, req, pauseSignal, "paused (SIGSTOP); resume-worker continues it, else its supervisor kills it when its heartbeat times out")
	case api.FaultResumeWorker:
		return c.signalTopologyWorker(ctx, req, resumeSignal, "resumed (SIGCONT)")
	case api.FaultStopSupervisor:
		s, err := c.faultSlot(req.Supervisor, true)
		if err != nil {
			return nil, err
		}
		if err := c.stopSupervisor(ctx, s); err != nil {
			return nil, err
		}
		return &api.FaultReply{Message: fmt.Sprintf("supervisor %d stopped with its workers; nimbus moves its executors once its heartbeat is gone", s.index)}, nil
	case api.FaultStartSupervisor:
		s, err := c.faultSlot(req.Supervisor, false)
		if err != nil {
			return nil, err
		}
		if err := c.startSupervisor(ctx, s); err != nil {
			return nil, err
		}
		return &api.FaultReply{Message: fmt.Sprintf("supervisor %d started again (same id, same slots)", s.index)}, nil
	case api.FaultAddSupervisor:
		i, err := c.AddSupervisor(ctx)
		if err != nil {
			return nil, err
		}
		return &api.FaultReply{Message: fmt.Sprintf("supervisor %d added with %d slots; nimbus schedules onto it from its next round", i, c.opts.Slots), Supervisor: &i}, nil
	case api.FaultRestartZooKeeper:
		if c.ZooKeeperServer() == nil {
			return nil, fmt.Errorf("%w: only the embedded ZooKeeper can be restarted (this cluster's is %s)", api.ErrConflict, c.opts.ZooKeeper.Mode)
		}
		if err := c.RestartZooKeeper(ctx); err != nil {
			return nil, err
		}
		return &api.FaultReply{Message: "the embedded ZooKeeper restarted on the same address; the daemons' sessions resume"}, nil
	case api.FaultExpireSession:
		return c.expireSession(req.Daemon)
	}
	return nil, fmt.Errorf("%w: no fault %q: the faults are %s", api.ErrNotFound, fault, strings.Join(api.Faults, ", "))
}

// faultSlot returns supervisor i, which must be running (or stopped).
func (c *Cluster) faultSlot(i int, running bool) (*supervisorSlot, error) {
	s, err := c.slot(i)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrNotFound, err)
	}
	c.mu.Lock()
	is := s.sup != nil
	c.mu.Unlock()
	switch {
	case running && !is:
		return nil, fmt.Errorf("%w: supervisor %d is not running", api.ErrConflict, i)
	case !running && is:
		return nil, fmt.Errorf("%w: supervisor %d is already running", api.ErrConflict, i)
	}
	return s, nil
}

// signalTopologyWorker signals the worker process of req.Topology (a name or
// an id) on req.Port, or the one with the lowest port.
func (c *Cluster) signalTopologyWorker(ctx context.Context, req api.FaultRequest, sig syscall.Signal, did string) (*api.FaultReply, error) {
	if req.Topology == "" {
		return nil, fmt.Errorf("%w: name the topology whose worker to signal", api.ErrInvalid)
	}
	id, err := c.topologyID(ctx, req.Topology)
	if err != nil {
		return nil, err
	}
	var found *supervisor.WorkerInfo
	var ports []string
	for _, sup := range c.Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.TopologyID != id || w.Pid <= 0 || w.State != "running" {
				continue
			}
			ports = append(ports, strconv.Itoa(w.Port))
			if (req.Port == 0 || w.Port == req.Port) && (found == nil || w.Port < found.Port) {
				found = &w
			}
		}
	}
	switch {
	case found == nil && len(ports) == 0:
		return nil, fmt.Errorf("%w: topology %s has no running worker", api.ErrNotFound, id)
	case found == nil:
		return nil, fmt.Errorf("%w: topology %s has no running worker on port %d; its workers are on ports %s", api.ErrNotFound, id, req.Port, strings.Join(ports, ", "))
	}
	if _, err := c.Signal(found.Port, sig); err != nil {
		return nil, fmt.Errorf("signal the worker of %s on port %d (pid %d): %w", id, found.Port, found.Pid, err)
	}
	return &api.FaultReply{
		Message: fmt.Sprintf("worker of %s on port %d (pid %d) %s", id, found.Port, found.Pid, did),
		Pid:     found.Pid, Port: found.Port,
	}, nil
}

// topologyID resolves a live topology's name or id.
func (c *Cluster) topologyID(ctx context.Context, nameOrID string) (string, error) {
	n := c.Nimbus()
	if n == nil {
		return "", fmt.Errorf("%w: nimbus is not running", api.ErrShutdown)
	}
	sum, err := n.TopologySummary(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range sum.Topologies {
		if t.ID == nameOrID || t.Name == nameOrID {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("%w: no live topology is named %q or has that id", api.ErrNotFound, nameOrID)
}

// expireSession expires the ZooKeeper session of "nimbus" or "supervisor-N"
// on the embedded server.
func (c *Cluster) expireSession(daemon string) (*api.FaultReply, error) {
	srv := c.ZooKeeperServer()
	if srv == nil {
		return nil, fmt.Errorf("%w: only the embedded ZooKeeper can expire a session on demand (this cluster's is %s)", api.ErrConflict, c.opts.ZooKeeper.Mode)
	}
	if daemon == "nimbus" {
		id, err := c.SessionID(daemon)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", api.ErrConflict, err)
		}
		if err := srv.ExpireSession(id); err != nil {
			return nil, err
		}
		return &api.FaultReply{Message: fmt.Sprintf("nimbus's ZooKeeper session 0x%x expired; its client opens a new one", id)}, nil
	}
	var i int
	if _, err := fmt.Sscanf(daemon, "supervisor-%d", &i); err != nil || daemon != fmt.Sprintf("supervisor-%d", i) {
		return nil, fmt.Errorf("%w: daemon %q: use nimbus or supervisor-N", api.ErrInvalid, daemon)
	}
	if _, err := c.faultSlot(i, true); err != nil {
		return nil, err
	}
	if err := c.ExpireSupervisorSession(i); err != nil {
		return nil, err
	}
	return &api.FaultReply{Message: fmt.Sprintf("supervisor %d's ZooKeeper session expired and the daemon dropped its connection; start-supervisor %d brings it back", i, i)}, nil
}
