package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Faults injected on purpose, served only by a nimbus that runs inside the
// process owning the daemons (`localstorm up`, a localcluster that asks for
// them): nimbus does not own processes, so it passes each request to the
// owner's hook. Elsewhere the paths are 404.
//
//	GET  /metrics                                     Prometheus text exposition
//	POST /api/v1/faults/<fault>                       body FaultRequest; FaultReply
//
// Like every POST, a fault carries Content-Type: application/json and is
// refused (403) when a browser sends it from another origin.
const (
	PathMetrics = "/metrics"
	PathFaults  = "/api/v1/faults/" // + <fault>
)

// The faults, as the last segment of their path and the CLI's verbs.
const (
	FaultKillWorker       = "kill-worker"       // SIGKILL a worker of Topology (on Port, else its first)
	FaultPauseWorker      = "pause-worker"      // SIGSTOP it
	FaultResumeWorker     = "resume-worker"     // SIGCONT it
	FaultStopSupervisor   = "stop-supervisor"   // stop supervisor Supervisor and its workers
	FaultStartSupervisor  = "start-supervisor"  // start it again
	FaultAddSupervisor    = "add-supervisor"    // start one more supervisor (reply: its index)
	FaultRestartNimbus    = "restart-nimbus"    // stop nimbus and start it on the same address (replies first)
	FaultRestartZooKeeper = "restart-zookeeper" // restart the embedded ZooKeeper server
	FaultExpireSession    = "expire-session"    // expire Daemon's ZooKeeper session ("nimbus", "supervisor-N")
)

// Faults lists every fault, in the order the CLI shows them.
var Faults = []string{
	FaultKillWorker, FaultPauseWorker, FaultResumeWorker,
	FaultStopSupervisor, FaultStartSupervisor, FaultAddSupervisor,
	FaultRestartNimbus, FaultRestartZooKeeper, FaultExpireSession,
}

// FaultRequest is the body of POST /api/v1/faults/<fault>; each fault reads
// the fields it names above and ignores the others.
type FaultRequest struct {
	// Topology is a topology's name or id (the worker faults).
	Topology string `json:"topology,omitempty"`
	// Port picks the worker's slot port; 0: the topology's worker with the
	// lowest port.
	Port int `json:"port,omitempty"`
	// Supervisor is a supervisor's index in the cluster (0, 1, ...).
	Supervisor int `json:"supervisor,omitempty"`
	// Daemon is "nimbus" or "supervisor-N" (expire-session).
	Daemon string `json:"daemon,omitempty"`
}

// FaultReply says what a fault did.
type FaultReply struct {
	Fault   string `json:"fault"`
	Message string `json:"message"`
	// Pid and Port name the worker process signalled (the worker faults).
	Pid  int `json:"pid,omitempty"`
	Port int `json:"port,omitempty"`
	// Supervisor is the index of the supervisor added (add-supervisor).
	Supervisor *int `json:"supervisor,omitempty"`
}

// Fault asks the process that owns the daemons to inject a fault.
func (c *Client) Fault(ctx context.Context, fault string, req FaultRequest) (*FaultReply, error) {
	body, h, err := jsonBody(req)
	if err != nil {
		return nil, fmt.Errorf("fault %s: encode request: %w", fault, err)
	}
	var reply FaultReply
	if err := c.do(ctx, http.MethodPost, PathFaults+url.PathEscape(fault), body, h, &reply); err != nil {
		return nil, fmt.Errorf("fault %s: %w", fault, err)
	}
	return &reply, nil
}
