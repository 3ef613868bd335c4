package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/procs"
)

// crashLoopWindow: a worker exit on a port that saw another exit this
// recently waits for the periodic sync-processes instead of triggering one.
const crashLoopWindow = time.Second

// workerState is Storm's classification of a worker from its local heartbeat.
type workerState string

const (
	stateNotStarted workerState = "not-started"
	stateDisallowed workerState = "disallowed"
	stateTimedOut   workerState = "timed-out"
	stateValid      workerState = "valid"
	// stateConfChanged: a valid worker started with another topology conf
	// than its assignment's (the conf changed on rebalance).
	stateConfChanged workerState = "conf-changed"
)

// classifyWorker is sync-processes' verdict on one worker: without a
// heartbeat it has not started; a worker not approved, or whose heartbeat
// does not match the local assignment of its port, is disallowed; a dead
// process or a heartbeat older than timeout is timed out; the rest are valid.
func classifyWorker(hb *cluster.LocalWorkerHeartbeat, approved bool, assigned map[int]LocalAssignment,
	running bool, now time.Time, timeout time.Duration) workerState {
	switch {
	case hb == nil:
		return stateNotStarted
	case !approved || !matchesAssignment(hb, assigned):
		return stateDisallowed
	case !running || now.Sub(heartbeatTime(hb)) > timeout:
		return stateTimedOut
	}
	return stateValid
}

func heartbeatTime(hb *cluster.LocalWorkerHeartbeat) time.Time {
	if hb.TimeMillis > 0 {
		return time.UnixMilli(hb.TimeMillis)
	}
	return time.Unix(hb.TimeSecs, 0)
}

// matchesAssignment tells whether the heartbeat's topology and executors are
// exactly what its port is assigned.
func matchesAssignment(hb *cluster.LocalWorkerHeartbeat, assigned map[int]LocalAssignment) bool {
	la, ok := assigned[hb.Port]
	if !ok || la.TopologyID != hb.TopologyID || len(la.Executors) != len(hb.Executors) {
		return false
	}
	got := slices.Clone(hb.Executors)
	sortExecutors(got)
	want := slices.Clone(la.Executors)
	sortExecutors(want)
	return slices.Equal(got, want)
}

// syncProcesses is Storm's sync-processes: classify every worker dir, shut
// down what is not valid, give every assigned port without a valid worker a
// new worker id (approved-workers) and launch those workers, waiting for
// their handshakes. Launch failures are logged: the next run cleans up and
// tries again.
func (s *Supervisor) syncProcesses() error {
	if s.ctx.Err() != nil {
		return nil
	}
	assigned, err := s.localAssignments()
	if err != nil {
		return fmt.Errorf("sync-processes: %w", err)
	}
	approved := map[string]int{}
	if _, err := s.ls.Get(keyApprovedWorkers, &approved); err != nil {
		return fmt.Errorf("sync-processes: read approved workers: %w", err)
	}
	entries, err := os.ReadDir(s.dirs.Workers())
	if err != nil {
		return fmt.Errorf("sync-processes: list worker dirs: %w", err)
	}
	now := time.Now()
	keepers := map[string]int{}
	keepPorts := map[int]bool{}
	var doomed []string
	running := map[int]string{}
	for _, e := range entries {
		wid := e.Name()
		hb := s.readWorkerHeartbeat(wid)
		_, isApproved := approved[wid]
		state := classifyWorker(hb, isApproved, assigned, s.running(wid), now, s.timing.workerTimeout)
		if state == stateValid && s.confChanged(wid, assigned[hb.Port]) {
			state = stateConfChanged
		}
		if state == stateValid {
			keepers[wid] = hb.Port
			keepPorts[hb.Port] = true
			running[hb.Port] = hb.TopologyID
			continue
		}
		s.log.Info("shutting down worker", "worker", wid, "state", state)
		s.mu.Lock()
		if w := s.workers[wid]; w != nil {
			w.stopReason = string(state)
		}
		s.mu.Unlock()
		doomed = append(doomed, wid)
	}
	s.recordRecoveries(running, assigned, now)
	s.shutdownWorkers(doomed, s.timing.shutdownSleep)
	launches := map[string]int{}
	for port := range assigned {
		if !keepPorts[port] {
			launches[uuid.NewString()] = port
		}
	}
	next := make(map[string]int, len(keepers)+len(launches))
	maps.Copy(next, keepers)
	maps.Copy(next, launches)
	var wg sync.WaitGroup
	var putErr error
	if !maps.Equal(next, approved) {
		// Written while the new workers start rather than before: the fsyncs
		// of LocalState would otherwise delay every relaunch, and the order
		// does not matter after a crash, as a restarted supervisor reaps
		// every worker it finds. It is stored before the next classification.
		wg.Add(1)
		go func() {
			defer wg.Done()
			putErr = s.ls.Put(keyApprovedWorkers, next)
		}()
	}
	for wid, port := range launches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.launchWorker(wid, port, assigned[port]); err != nil && s.ctx.Err() == nil {
				s.log.Error("worker launch failed; retrying at the next sync-processes", "worker", wid, "port", port, "err", err)
			}
		}()
	}
	wg.Wait()
	if putErr != nil {
		return fmt.Errorf("sync-processes: store approved workers: %w", putErr)
	}
	return nil
}

// confChanged tells whether worker wid of this supervisor started with
// another topology conf than la's (neither checksum empty).
func (s *Supervisor) confChanged(wid string, la LocalAssignment) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workers[wid]
	return w != nil && w.confSHA256 != "" && la.ConfSHA256 != "" && w.confSHA256 != la.ConfSHA256
}

// readWorkerHeartbeat returns the worker's local heartbeat, nil when it has
// none (or it cannot be read, which is the same to the classification).
func (s *Supervisor) readWorkerHeartbeat(wid string) *cluster.LocalWorkerHeartbeat {
	dir := s.dirs.Heartbeats(wid)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	ls, err := localstate.Open(dir)
	if err != nil {
		return nil
	}
	var hb cluster.LocalWorkerHeartbeat
	found, err := ls.Get(cluster.LocalWorkerHeartbeatKey, &hb)
	if err != nil {
		s.log.Warn("unreadable worker heartbeat", "worker", wid, "err", err)
		return nil
	}
	if !found {
		return nil
	}
	return &hb
}

// running tells whether the worker's process is one of ours and alive.
func (s *Supervisor) running(wid string) bool {
	s.mu.Lock()
	w := s.workers[wid]
	s.mu.Unlock()
	if w == nil {
		return false
	}
	select {
	case <-w.proc.Done():
		return false
	default:
		return true
	}
}

// launchWorker starts the worker process for port and waits for its
// handshake; its exit is then noticed at once and triggers sync-processes.
func (s *Supervisor) launchWorker(wid string, port int, la LocalAssignment) error {
	codeDir := s.dirs.CodeDir(la.TopologyID)
	topoConf, confSum, err := readTopologyConf(codeDir)
	if err != nil {
		return err
	}
	path, args, err := s.opts.Worker(codeDir, topoConf)
	if err != nil {
		return fmt.Errorf("worker command for %s: %w", la.TopologyID, err)
	}
	args = append(slices.Clone(args), workercontract.Worker{
		TopologyID: la.TopologyID, SupervisorID: s.id, Port: port, WorkerID: wid,
		ZooKeeper: s.opts.ZooKeeper, ZKRoot: s.opts.ZKRoot,
		LocalDir: s.opts.LocalDir, CodeDir: codeDir,
	}.Args()...)
	for _, dir := range []string{s.dirs.Heartbeats(wid), s.dirs.Pids(wid)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create worker dir: %w", err)
		}
	}
	s.log.Info("launching worker", "worker", wid, "topology", la.TopologyID, "port", port, "path", path)
	s.recordLaunch(wid, port, la.TopologyID)
	proc, err := procs.Launch(s.ctx, procs.Spec{
		Path:         path,
		Args:         args,
		Env:          append(os.Environ(), s.opts.WorkerEnv...),
		Dir:          s.dirs.Worker(wid),
		LogDir:       s.dirs.Logs(la.TopologyID, port),
		ReadyPrefix:  workercontract.ReadyPrefix,
		ReadyTimeout: s.timing.startTimeout,
		PidDir:       s.dirs.Pids(wid),
	})
	if err != nil {
		if s.ctx.Err() == nil {
			s.recordExit(&worker{id: wid, port: port, topologyID: la.TopologyID}, "failed to start: "+err.Error(), time.Now(), "")
		}
		return err
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		proc.Shutdown(syscall.SIGKILL, 0)
		return errors.New("supervisor stopped during the launch")
	}
	w := &worker{id: wid, port: port, topologyID: la.TopologyID, proc: proc, confSHA256: confSum}
	s.workers[wid] = w
	s.watchers.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.watchers.Done()
		select {
		case <-proc.Done():
			if s.ctx.Err() != nil {
				return
			}
			exit := proc.ExitState()
			s.mu.Lock()
			previous := s.lastExit[port]
			s.lastExit[port] = exit.Time
			stoppedBy := w.stopReason
			s.mu.Unlock()
			s.recordExit(w, exit.String(), exit.Time, stoppedBy)
			if exit.Time.Sub(previous) < crashLoopWindow {
				// A crash loop: relaunch at the monitor's pace, not at
				// the pace of process starts.
				s.log.Warn("worker process ended again soon; relaunching at the next sync-processes", "worker", wid, "port", port, "exit", exit.String())
				return
			}
			s.log.Info("worker process ended", "worker", wid, "port", port, "exit", exit.String())
			s.procEvents.Add(s.syncProcesses)
		case <-s.ctx.Done():
		}
	}()
	s.log.Info("worker ready", "worker", wid, "port", port, "pid", proc.Pid())
	s.record(timeline.WorkerReady, la.TopologyID, port, "", fmt.Sprintf("worker %s of %s ready on port %d (pid %d)", short(wid), la.TopologyID, port, proc.Pid()))
	return nil
}

// readTopologyConf reads stormconf.json from the code dir and its SHA-256;
// a missing file means an empty conf (and no checksum).
func readTopologyConf(codeDir string) (config.Conf, string, error) {
	data, err := os.ReadFile(filepath.Join(codeDir, workercontract.ConfFile))
	if errors.Is(err, os.ErrNotExist) {
		return config.Conf{}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read topology conf: %w", err)
	}
	var c config.Conf
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", filepath.Join(codeDir, workercontract.ConfFile), err)
	}
	return c, sha256Hex(data), nil
}

// shutdownWorker stops the worker's process (SIGTERM, then SIGKILL of its
// group after supervisor.worker.shutdown.sleep.secs), kills whatever its pid
// records still name, and removes its dir.
func (s *Supervisor) shutdownWorker(wid string, grace time.Duration) {
	s.mu.Lock()
	w := s.workers[wid]
	delete(s.workers, wid)
	s.mu.Unlock()
	if w != nil {
		if err := w.proc.Shutdown(syscall.SIGTERM, grace); err != nil {
			s.log.Warn("shut down worker", "worker", wid, "err", err)
		}
	}
	if _, err := procs.ReapOrphans(s.dirs.Pids(wid), s.log); err != nil {
		s.log.Warn("kill leftover worker processes", "worker", wid, "err", err)
	}
	if err := os.RemoveAll(s.dirs.Worker(wid)); err != nil {
		s.log.Warn("remove worker dir", "worker", wid, "err", err)
	}
}

// shutdownAll shuts every worker down, ours and any left in the workers dir.
func (s *Supervisor) shutdownAll(grace time.Duration) {
	ids := map[string]bool{}
	s.mu.Lock()
	for wid := range s.workers {
		ids[wid] = true
	}
	s.mu.Unlock()
	if entries, err := os.ReadDir(s.dirs.Workers()); err == nil {
		for _, e := range entries {
			ids[e.Name()] = true
		}
	}
	s.shutdownWorkers(slices.Collect(maps.Keys(ids)), grace)
}

// shutdownWorkers shuts the workers down in parallel, each with grace
// between SIGTERM and SIGKILL.
func (s *Supervisor) shutdownWorkers(ids []string, grace time.Duration) {
	var wg sync.WaitGroup
	for _, wid := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.shutdownWorker(wid, grace)
		}()
	}
	wg.Wait()
}

// reapOrphans kills workers recorded by a previous supervisor on this dir
// that is gone without shutting them down; their dirs are cleaned up by the
// first sync-processes.
func (s *Supervisor) reapOrphans() {
	entries, err := os.ReadDir(s.dirs.Workers())
	if err != nil {
		return
	}
	for _, e := range entries {
		n, err := procs.ReapOrphans(s.dirs.Pids(e.Name()), s.log)
		if err != nil {
			s.log.Warn("reap orphaned worker", "worker", e.Name(), "err", err)
		}
		if n > 0 {
			s.log.Info("killed orphaned worker", "worker", e.Name(), "processes", n)
		}
	}
}
