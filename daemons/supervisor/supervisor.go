// Package supervisor is localstorm's supervisor daemon, following the flow of
// Storm's supervisor: an id kept in LocalState, an ephemeral heartbeat in
// ZooKeeper, synchronize-supervisor (assignments → downloaded code and local
// assignments) and sync-processes (local assignments + local worker
// heartbeats → worker processes started and stopped) on two event managers,
// and periodic health checks. Workers are real subprocesses run through
// package procs; a worker that exits is noticed at once and relaunched.
//
// The files: supervisor.go (lifecycle), synchronize.go (assignments and
// code), processes.go (worker classification, launch and shutdown),
// launcher.go (the worker command line), health.go (health checks).
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/event"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/daemons/timer"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/version"
	"github.com/localstorm/localstorm/procs"
)

// LocalState keys of the supervisor (docs/internals.md): its id in the
// ISupervisor's LocalState, the others in the supervisor's.
const (
	keySupervisorID     = "supervisor-id"
	keyLocalAssignments = "local-assignments"
	keyApprovedWorkers  = "approved-workers"
)

// Fixed periods from Storm's supervisor.
const (
	syncSupervisorPeriod       = 10 * time.Second
	DefaultHealthCheckInterval = 300 * time.Second
)

// CodeDownloader fetches a topology's code (stormcode or stormcode.tgz,
// stormconf.json, stormtopology.json) into destDir; api.Client satisfies it.
type CodeDownloader interface {
	DownloadCode(ctx context.Context, topologyID, destDir string) error
}

// Options configure a supervisor.
type Options struct {
	// Conf is merged over config.Defaults(). A relative
	// storm.health.check.dir is taken relative to LocalDir (Storm's is
	// relative to storm.home).
	Conf config.Conf
	// LocalDir is the supervisor's storm.local.dir; required.
	LocalDir string
	// State is the ZooKeeper state, owned (and disconnected) by the caller.
	// The supervisor's heartbeat is an ephemeral node of its session.
	State cluster.StormClusterState
	// Code downloads topology code from nimbus; required.
	Code CodeDownloader
	// Worker builds the worker command for a downloaded topology; nil means
	// DefaultWorkerLauncher(LocalstormPath).
	Worker WorkerLauncher
	// LocalstormPath is the localstorm executable that runs Flux workers;
	// empty means os.Executable().
	LocalstormPath string
	// WorkerEnv is appended to the environment workers inherit.
	WorkerEnv []string
	// Hostname defaults to storm.local.hostname, then os.Hostname().
	Hostname string
	Logger   *slog.Logger
	// ZooKeeper ("host:port") and ZKRoot are passed on to workers; empty
	// means storm.zookeeper.servers, .port and .root from Conf.
	ZooKeeper []string
	ZKRoot    string
	// Events receives the supervisor's events (its workers' launches,
	// exits and crash loops); nil records none.
	Events *timeline.Log
	// HealthCheckInterval defaults to Storm's 300 s.
	HealthCheckInterval time.Duration
	// Clock drives the supervisor's timers; nil means the wall clock.
	Clock timer.Clock
}

// WorkerInfo describes one worker process of the supervisor.
type WorkerInfo struct {
	Port       int
	TopologyID string
	WorkerID   string
	Pid        int
	// State is "running" or "exited" (exited and not yet replaced).
	State string
}

// Supervisor is a running supervisor daemon.
type Supervisor struct {
	opts      Options
	log       *slog.Logger
	id        string
	hostname  string
	startTime time.Time
	timing    timing
	healthDir string
	dirs      workercontract.LocalDir
	ls        *localstate.LocalState

	ctx    context.Context // cancelled when the supervisor stops
	cancel context.CancelFunc

	timer      *timer.Timer // Storm's event timer: sync, sync-processes, health checks
	hbTimer    *timer.Timer // Storm's heartbeat timer: the heartbeat alone
	syncEvents *event.Manager
	// syncQueued: a synchronize-supervisor is queued and has not started
	// yet (queueSync).
	syncQueued atomic.Bool
	syncRuns   atomic.Int64 // synchronize-supervisor runs so far
	// assignments are the assignments read by the last
	// synchronize-supervisor, by topology (assignmentsSnapshot).
	assignments map[string]versionedAssignment
	procEvents  *event.Manager
	// rounds counts what the timers started: heartbeats written, and
	// synchronize-supervisor and sync-processes rounds queued.
	rounds struct{ heartbeat, syncSupervisor, syncProcesses atomic.Int64 }

	mu       sync.Mutex
	workers  map[string]*worker   // by worker id
	lastExit map[int]time.Time    // by port: when its last worker process ended
	slots    map[int]*slotHistory // by port: for the timeline (events.go)
	stopped  bool

	watchers sync.WaitGroup // one per worker process, waiting for its exit
	errCh    chan error
	stopOnce sync.Once
	stopErr  error
}

type worker struct {
	id         string
	port       int
	topologyID string
	proc       *procs.Process
	// confSHA256 is the checksum of the topology conf it started with.
	confSHA256 string
	// stopReason is why the supervisor shuts it down ("" while it does
	// not): its exit is then no crash. Guarded by Supervisor.mu.
	stopReason string
}

// timing holds the conf values the loops use.
type timing struct {
	heartbeat, monitor, startTimeout, workerTimeout, shutdownSleep, healthTimeout time.Duration
	slotPorts                                                                     []int
	// enable is supervisor.enable: false keeps only the heartbeat running,
	// as Storm schedules synchronize-supervisor, sync-processes and the
	// health checks only when it is set.
	enable bool
}

func readTiming(r *config.Reader) timing {
	return timing{
		heartbeat:     r.PositiveSecs(config.SupervisorHeartbeatFreqSecs),
		monitor:       r.PositiveSecs(config.SupervisorMonitorFreqSecs),
		startTimeout:  r.Secs(config.SupervisorWorkerStartTimeout),
		workerTimeout: r.Secs(config.SupervisorWorkerTimeoutSecs),
		shutdownSleep: r.Secs(config.SupervisorWorkerShutdownSleep),
		healthTimeout: r.Millis(config.StormHealthCheckTimeoutMs),
		slotPorts:     r.Ints(config.SupervisorSlotsPorts),
		enable:        r.BoolOr(config.SupervisorEnable, true),
	}
}

// Start starts a supervisor in Storm's order: id from LocalState, clean tmp,
// reap workers orphaned by a crashed predecessor, heartbeat, event managers,
// synchronize-supervisor now and every 10 s (and on every assignment watch
// event), sync-processes every supervisor.monitor.frequency.secs, health
// checks. Start-time errors (bad options or config, an unusable local dir)
// are returned before anything runs; ctx only bounds the start.
func Start(ctx context.Context, opts Options) (_ *Supervisor, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("start supervisor: %w", err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := newSupervisor(opts)
	if err != nil {
		return nil, err
	}
	if err := s.prepareLocalDir(); err != nil {
		return nil, err
	}
	s.startLoops()
	s.log.Info("supervisor started", "host", s.hostname, "slots", s.timing.slotPorts, "localDir", s.opts.LocalDir)
	return s, nil
}

// newSupervisor checks the options, fills in their defaults and reads the
// configuration; it touches nothing.
func newSupervisor(opts Options) (*Supervisor, error) {
	if opts.LocalDir == "" {
		return nil, errors.New("Options.LocalDir is empty: name its storm.local.dir")
	}
	if opts.State == nil {
		return nil, errors.New("Options.State is nil: connect to ZooKeeper first (cluster.ConnectStorm)")
	}
	if opts.Code == nil {
		return nil, errors.New("Options.Code is nil: give it a code downloader (api.Client)")
	}
	conf := config.Defaults().Merge(opts.Conf)
	r := config.NewReader(conf)
	t := readTiming(r)
	healthDir := r.String(config.StormHealthCheckDir)
	localHostname := r.StringOr(config.StormLocalHostname, "")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(healthDir) {
		// Storm resolves it against storm.home; our home is the local dir.
		healthDir = filepath.Join(opts.LocalDir, healthDir)
	}
	opts.Conf = conf
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Worker == nil {
		opts.Worker = DefaultWorkerLauncher(opts.LocalstormPath)
	}
	if len(opts.ZooKeeper) == 0 || opts.ZKRoot == "" {
		zk, err := cluster.OptionsFromConf(conf)
		if err != nil {
			return nil, fmt.Errorf("ZooKeeper settings for workers: %w", err)
		}
		if len(opts.ZooKeeper) == 0 {
			opts.ZooKeeper = zk.Servers
		}
		if opts.ZKRoot == "" {
			opts.ZKRoot = zk.Root
		}
	}
	if opts.HealthCheckInterval <= 0 {
		opts.HealthCheckInterval = DefaultHealthCheckInterval
	}
	hostname := opts.Hostname
	if hostname == "" {
		hostname = localHostname
	}
	if hostname == "" {
		var err error
		if hostname, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("hostname: %w", err)
		}
	}
	return &Supervisor{
		opts:      opts,
		log:       opts.Logger,
		hostname:  hostname,
		timing:    t,
		healthDir: healthDir,
		dirs:      workercontract.LocalDir(opts.LocalDir),
		workers:   map[string]*worker{},
		lastExit:  map[int]time.Time{},
		slots:     map[int]*slotHistory{},
		errCh:     make(chan error, 1),
	}, nil
}

// prepareLocalDir opens the LocalState, reads the supervisor's id (a new
// one on the first start), cleans the tmp dir and makes the others.
func (s *Supervisor) prepareLocalDir() error {
	d := s.dirs
	ls, err := localstate.Open(d.SupervisorLocalState())
	if err != nil {
		return fmt.Errorf("open local state: %w", err)
	}
	id, err := supervisorID(d, ls)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(d.SupervisorTmp()); err != nil {
		return fmt.Errorf("clean tmp dir: %w", err)
	}
	for _, p := range []string{d.SupervisorTmp(), d.SupervisorStormdist(), d.Workers()} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	s.ls, s.id = ls, id
	s.log = s.log.With("supervisor", id)
	return nil
}

// supervisorID is the id that the ISupervisor LocalState keeps, as Storm's
// StandaloneSupervisor.prepare: read it, or make a new UUID and store it.
// A local dir of an older localstorm kept it in the supervisor's LocalState
// (state): that one is moved over, so the supervisor keeps its id.
func supervisorID(d workercontract.LocalDir, state *localstate.LocalState) (string, error) {
	is, err := localstate.Open(d.SupervisorISupervisor())
	if err != nil {
		return "", fmt.Errorf("open isupervisor local state: %w", err)
	}
	var id string
	if found, err := is.Get(keySupervisorID, &id); err != nil {
		return "", fmt.Errorf("read %s from %s: %w", keySupervisorID, d.SupervisorISupervisor(), err)
	} else if found && id != "" {
		return id, nil
	}
	former, err := state.Get(keySupervisorID, &id)
	if err != nil {
		return "", fmt.Errorf("read the former %s from %s: %w", keySupervisorID, d.SupervisorLocalState(), err)
	}
	if id == "" {
		id = uuid.NewString()
	}
	if err := is.Put(keySupervisorID, id); err != nil {
		return "", fmt.Errorf("store %s: %w", keySupervisorID, err)
	}
	if !former {
		return id, nil
	}
	if err := state.Remove(keySupervisorID); err != nil {
		return "", fmt.Errorf("remove the former %s from %s: %w", keySupervisorID, d.SupervisorLocalState(), err)
	}
	return id, nil
}

// startLoops reaps the workers of a crashed predecessor, writes the first
// heartbeat and starts the timer and the two event managers.
func (s *Supervisor) startLoops() {
	s.startTime = time.Now()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.reapOrphans()
	if err := s.heartbeat(); err != nil {
		// A ZooKeeper hiccup (the session reconnecting) must not stop the
		// start: the recurring heartbeat retries within its period.
		s.log.Warn("first supervisor heartbeat failed; retrying at the next one", "err", err)
	}
	// The heartbeat has a timer of its own, as Storm's: a slow health-check
	// script on the event timer cannot delay it.
	s.hbTimer = timer.New("supervisor-heartbeat-timer", s.opts.Clock, s.taskFailed)
	s.timer = timer.New("supervisor-timer", s.opts.Clock, s.taskFailed)
	s.syncEvents = event.New("sync-supervisor", s.taskFailed)
	s.procEvents = event.New("sync-processes", s.taskFailed)

	t := s.timing
	s.hbTimer.ScheduleRecurring(t.heartbeat, t.heartbeat, func() error {
		s.rounds.heartbeat.Add(1)
		if err := s.heartbeat(); err != nil {
			s.log.Warn("supervisor heartbeat failed; retrying at the next one", "err", err)
		}
		return nil
	})
	if !t.enable {
		s.log.Info("supervisor.enable is false: heartbeat only, no synchronize-supervisor, sync-processes or health checks")
		return
	}
	s.queueSync()
	s.timer.ScheduleRecurring(syncSupervisorPeriod, syncSupervisorPeriod, func() error {
		s.rounds.syncSupervisor.Add(1)
		s.queueSync()
		return nil
	})
	s.timer.ScheduleRecurring(t.monitor, t.monitor, func() error {
		s.rounds.syncProcesses.Add(1)
		s.procEvents.Add(s.syncProcesses)
		return nil
	})
	every := s.opts.HealthCheckInterval
	s.timer.ScheduleRecurring(every, every, s.healthCheck)
	// After a lost session every one-shot watch is gone: read and re-register.
	s.opts.State.OnReconnect(s.queueSync)
}

// ID returns the supervisor id (kept in LocalState across restarts).
func (s *Supervisor) ID() string { return s.id }

// Err delivers the error that stopped the supervisor (a failed health check,
// a failed event or timer task); the supervisor has shut down its workers by then.
func (s *Supervisor) Err() <-chan error { return s.errCh }

// Workers lists the supervisor's worker processes, ordered by port.
func (s *Supervisor) Workers() []WorkerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkerInfo, 0, len(s.workers))
	for _, w := range s.workers {
		state := "running"
		select {
		case <-w.proc.Done():
			state = "exited"
		default:
		}
		out = append(out, WorkerInfo{Port: w.port, TopologyID: w.topologyID, WorkerID: w.id, Pid: w.proc.Pid(), State: state})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// heartbeat writes the ephemeral /supervisors/<id> record.
func (s *Supervisor) heartbeat() error {
	assigned, err := s.localAssignments()
	if err != nil {
		return err
	}
	used := slices.Sorted(maps.Keys(assigned))
	now := cluster.Now()
	return s.opts.State.SupervisorHeartbeat(s.id, &cluster.SupervisorInfo{
		V:          cluster.SchemaVersion,
		TimeSecs:   now.Unix(),
		Hostname:   s.hostname,
		UsedPorts:  used,
		SlotPorts:  s.timing.slotPorts,
		UptimeSecs: int64(time.Since(s.startTime).Seconds()),
		Version:    version.String(),
	})
}

// taskFailed handles a failed timer task or event: Storm's supervisor exits
// with code 20; ours stops as fatal does, the error carrying that code.
func (s *Supervisor) taskFailed(err error) { s.fatal(cluster.Exit(cluster.ExitTaskFailed, err)) }

// fatal stops the supervisor, shuts its workers down and reports err on Err().
func (s *Supervisor) fatal(err error) {
	s.log.Error("supervisor stopping on a fatal error", "err", err)
	go s.stop(fmt.Errorf("supervisor %s: %w", s.id, err), true, s.timing.shutdownSleep)
}

// Close stops the supervisor: timers and event managers first (an event in
// progress, e.g. a launch, is cancelled), then every worker is shut down
// (SIGTERM, supervisor.worker.shutdown.sleep.secs, SIGKILL of its group).
// The ephemeral heartbeat vanishes with the caller's ZooKeeper session
// (State is the caller's to disconnect). A ctx deadline sooner than the grace
// period shortens it. Close is idempotent and returns the error that stopped
// the supervisor, if one did.
func (s *Supervisor) Close(ctx context.Context) error {
	grace := s.timing.shutdownSleep
	if deadline, ok := ctx.Deadline(); ok {
		grace = max(0, min(grace, time.Until(deadline)))
	}
	s.stop(nil, true, grace)
	return s.stopErr
}

// Kill simulates a crash: every loop stops at once and the worker processes
// are left running, to exit on their own (their supervisor's heartbeat
// stops) or to be reaped by the next supervisor started on the same dir.
func (s *Supervisor) Kill() { s.stop(nil, false, 0) }

func (s *Supervisor) stop(cause error, shutdownWorkers bool, grace time.Duration) {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cancel()
		s.hbTimer.Close()
		s.timer.Close()
		s.syncEvents.Close()
		s.procEvents.Close()
		if shutdownWorkers {
			// The ephemeral heartbeat goes with the session, which the
			// state's owner closes.
			s.shutdownAll(grace)
		}
		s.watchers.Wait()
		s.stopErr = cause
		if cause != nil {
			s.errCh <- cause
		}
		s.log.Info("supervisor stopped", "cause", cause, "workersShutDown", shutdownWorkers)
	})
}
