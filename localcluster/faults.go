package localcluster

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/procs"
)

// The fault-injection hooks below are what testkit and demos use to break a
// running cluster on purpose.

// Supervisors returns the running supervisors, by index (nil where stopped).
func (c *Cluster) Supervisors() []*supervisor.Supervisor {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*supervisor.Supervisor, len(c.sups))
	for i, s := range c.sups {
		out[i] = s.sup
	}
	return out
}

func (c *Cluster) slot(i int) (*supervisorSlot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.sups) {
		return nil, fmt.Errorf("supervisor %d: the cluster has supervisors 0..%d", i, len(c.sups)-1)
	}
	return c.sups[i], nil
}

// StopSupervisor stops supervisor i and its workers, as a machine going away
// cleanly. Its ephemeral heartbeat goes with its session.
func (c *Cluster) StopSupervisor(ctx context.Context, i int) error {
	s, err := c.slot(i)
	if err != nil {
		return err
	}
	return c.stopSupervisor(ctx, s)
}

// StartSupervisor starts supervisor i again on its local dir (same id, same slots).
func (c *Cluster) StartSupervisor(ctx context.Context, i int) error {
	s, err := c.slot(i)
	if err != nil {
		return err
	}
	c.mu.Lock()
	running := s.sup != nil
	c.mu.Unlock()
	if running {
		return fmt.Errorf("supervisor %d is already running", i)
	}
	return c.startSupervisor(ctx, s)
}

// AddSupervisor starts one more supervisor with the cluster's slot count and
// returns its index.
func (c *Cluster) AddSupervisor(ctx context.Context) (int, error) {
	c.mu.Lock()
	i := len(c.sups)
	c.mu.Unlock()
	s := &supervisorSlot{index: i, localDir: string(workercontract.DataDir(c.dataDir).Supervisor(i))}
	for j := 0; j < c.opts.Slots; j++ {
		p, err := slotPortsInUse.claimFree()
		if err != nil {
			slotPortsInUse.release(s.ports)
			return 0, err
		}
		s.ports = append(s.ports, p)
	}
	c.mu.Lock()
	c.sups = append(c.sups, s)
	c.mu.Unlock()
	return i, c.startSupervisor(ctx, s)
}

// RestartNimbus stops nimbus and starts it again on the same local dir and
// API address: topologies, timers and pending kills resume from ZooKeeper.
func (c *Cluster) RestartNimbus(ctx context.Context) error {
	c.mu.Lock()
	n, st := c.nimbus, c.nimbusState
	c.mu.Unlock()
	if n != nil {
		addr, thriftAddr := n.APIURL(), n.ThriftAddr()
		if err := n.Close(ctx); err != nil {
			return fmt.Errorf("stop nimbus: %w", err)
		}
		_ = st.Disconnect()
		c.mu.Lock()
		c.nimbus, c.nimbusState = nil, nil
		// Come back on the same port so clients and supervisors keep working.
		c.opts.APIAddr = trimScheme(addr)
		c.opts.ThriftAddr = thriftAddr
		c.mu.Unlock()
	}
	return c.startNimbus(ctx)
}

// RestartZooKeeper stops the embedded ZooKeeper server and starts it again on
// the same address and data dir. Only the embedded mode can do this; with a
// temporary data dir the tree is lost, as a real in-memory restart would.
func (c *Cluster) RestartZooKeeper(ctx context.Context) error {
	old := c.ZooKeeperServer()
	if old == nil {
		return fmt.Errorf("restart zookeeper: only the embedded server can be restarted")
	}
	opts := old.Options()
	if err := old.Close(); err != nil {
		return fmt.Errorf("stop zookeeper: %w", err)
	}
	srv, err := startZooKeeperOn(ctx, opts)
	if err != nil {
		return fmt.Errorf("restart zookeeper on %s: %w", opts.Addr, err)
	}
	c.mu.Lock()
	c.zkServer = srv
	c.mu.Unlock()
	c.forward(srv.Err(), "zookeeper")
	return nil
}

// Signal sends sig to the worker process on port (kill -9 with SIGKILL,
// pause with SIGSTOP, resume with SIGCONT). It returns the pid signalled.
func (c *Cluster) Signal(port int, sig syscall.Signal) (int, error) {
	for _, sup := range c.Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.Port == port && w.Pid > 0 {
				return w.Pid, procs.Signal(w.Pid, sig)
			}
		}
	}
	return 0, fmt.Errorf("no running worker on port %d", port)
}

func trimScheme(u string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			return u[len(p):]
		}
	}
	return u
}

// startZooKeeperOn starts the embedded server on a fixed address, retrying a
// bind conflict for a moment (the old listener's port is freed asynchronously).
func startZooKeeperOn(ctx context.Context, opts zookeeper.Options) (*zookeeper.Server, error) {
	var lastErr error
	for i := 0; i < 50; i++ {
		srv, err := zookeeper.Start(ctx, opts)
		if err == nil {
			return srv, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, lastErr
}

// SessionID returns the ZooKeeper session id of a daemon: "nimbus" or
// "supervisor-<i>" (for fault injection: expire it on the embedded server).
func (c *Cluster) SessionID(daemon string) (int64, error) {
	var st any
	if daemon == "nimbus" {
		st = c.State()
	} else {
		var i int
		if _, err := fmt.Sscanf(daemon, "supervisor-%d", &i); err != nil {
			return 0, fmt.Errorf("daemon %q: use nimbus or supervisor-<i>", daemon)
		}
		s, err := c.slot(i)
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		st = s.state
		c.mu.Unlock()
	}
	withID, ok := st.(cluster.SessionIDer)
	if !ok || st == nil {
		return 0, fmt.Errorf("daemon %q: no ZooKeeper session (not running?)", daemon)
	}
	return withID.SessionID(), nil
}

// CrashSupervisor makes supervisor i vanish as a crashed machine would: its
// worker processes are killed with SIGKILL and the daemon stops without any
// cleanup. Its ZooKeeper session stays open (this process still holds the
// connection): expire it with ExpireSupervisorSession to play the session
// timeout running out, as it would for a machine that is gone.
func (c *Cluster) CrashSupervisor(i int) error {
	s, err := c.slot(i)
	if err != nil {
		return err
	}
	c.mu.Lock()
	sup := s.sup
	c.mu.Unlock()
	if sup == nil {
		return fmt.Errorf("supervisor %d is not running", i)
	}
	for _, w := range sup.Workers() {
		if w.Pid > 0 {
			_ = procs.Signal(w.Pid, syscall.SIGKILL)
		}
	}
	sup.Kill()
	return nil
}

// ExpireSupervisorSession expires supervisor i's ZooKeeper session on the
// embedded server (its ephemeral heartbeat node goes) and drops the daemon's
// connection; StartSupervisor brings the supervisor back.
func (c *Cluster) ExpireSupervisorSession(i int) error {
	srv := c.ZooKeeperServer()
	if srv == nil {
		return fmt.Errorf("expire session: only the embedded ZooKeeper can expire a session on demand")
	}
	id, err := c.SessionID(fmt.Sprintf("supervisor-%d", i))
	if err != nil {
		return err
	}
	if err := srv.ExpireSession(id); err != nil {
		return err
	}
	s, _ := c.slot(i)
	c.mu.Lock()
	st := s.state
	s.sup, s.state = nil, nil
	c.mu.Unlock()
	if st != nil {
		return st.Disconnect()
	}
	return nil
}
