package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbus"
	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/daemonlog"
	"github.com/localstorm/localstorm/internal/errlist"
)

// Cluster is a running local cluster.
type Cluster struct {
	opts    Options
	conf    config.Conf
	dataDir string
	// nimbusLog and supervisorLog are Storm's nimbus.log and
	// supervisor.log (every supervisor's lines, each with its daemon) in
	// the daemon log dir that nimbus's logviewer serves.
	nimbusLog, supervisorLog *daemonlog.File
	tempDir                  bool
	lock                     *os.File

	zkServer    *zookeeper.Server  // embedded mode
	zkContainer ContainerZooKeeper // container mode
	zkServers   []string

	mu          sync.Mutex
	nimbus      *nimbus.Nimbus
	nimbusState cluster.StormClusterState
	sups        []*supervisorSlot

	progressMu sync.Mutex

	errs      chan error
	closeOnce sync.Once
	closeErr  error
	stopFwd   chan struct{}
	fwdWG     sync.WaitGroup

	// faultMu is held while a fault asked for over the API runs (a
	// restart of nimbus, after its reply), and by Close (faultapi.go).
	faultMu sync.Mutex
}

// supervisorSlot is one supervisor of the cluster; it may be stopped and
// started again on the same local dir (so it keeps its id).
type supervisorSlot struct {
	index    int
	localDir string
	ports    []int
	sup      *supervisor.Supervisor
	state    cluster.StormClusterState
}

// Start boots ZooKeeper, nimbus and the supervisors, and returns once the
// cluster is usable: ZooKeeper answers, nimbus serves its API, and every
// supervisor's heartbeat is in ZooKeeper. On error, everything it had started
// is stopped before it returns.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	opts.applyDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, errs: make(chan error, 16), stopFwd: make(chan struct{})}
	defer func() {
		if err != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = c.Close(closeCtx)
		}
	}()
	if err := c.prepareDataDir(); err != nil {
		return nil, err
	}
	conf := opts.conf()
	c.conf = conf
	if err := c.openDaemonLogs(); err != nil {
		return nil, err
	}

	step := time.Now()
	if err := c.startZooKeeper(ctx); err != nil {
		return nil, err
	}
	c.progress("zookeeper "+c.ZooKeeperAddr(), step)
	conf[config.StormZookeeperServers] = hostsOf(c.zkServers)
	conf[config.StormZookeeperPort] = portOf(c.zkServers[0])
	c.conf = conf

	step = time.Now()
	if err := c.startNimbus(ctx); err != nil {
		return nil, err
	}
	c.progress("nimbus "+c.APIURL(), step)

	ports, err := c.slotPorts(opts.Supervisors, opts.Slots)
	if err != nil {
		return nil, err
	}
	// Supervisors start side by side: each one's start is mostly waiting on
	// ZooKeeper round trips and fsyncs of its local state, so three in
	// sequence took three times as long as one.
	for i := 0; i < opts.Supervisors; i++ {
		c.sups = append(c.sups, &supervisorSlot{index: i, localDir: string(workercontract.DataDir(c.dataDir).Supervisor(i)), ports: ports[i]})
	}
	startErrs := make([]error, len(c.sups))
	var wg sync.WaitGroup
	for i, s := range c.sups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			step := time.Now()
			if startErrs[i] = c.startSupervisor(ctx, s); startErrs[i] == nil {
				c.progress(fmt.Sprintf("supervisor %d (slots %s)", i, joinInts(s.ports)), step)
			}
		}()
	}
	wg.Wait()
	if err := errlist.Join(startErrs...); err != nil {
		return nil, err
	}
	if err := c.waitSupervisorsRegistered(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) progress(step string, since time.Time) {
	if c.opts.Progress != nil {
		// Supervisors start concurrently; Progress sees one step at a time.
		c.progressMu.Lock()
		defer c.progressMu.Unlock()
		c.opts.Progress(step, time.Since(since))
	}
}

// prepareDataDir creates or opens the data dir and locks it, so that two
// clusters never share one.
func (c *Cluster) prepareDataDir() error {
	sweepTempDirs(c.opts.Logger)
	if c.opts.DataDir == "" {
		dir, err := os.MkdirTemp("", tempDirPrefix+c.opts.Name+"-")
		if err != nil {
			return fmt.Errorf("create a temporary data dir: %w", err)
		}
		lock, err := LockDataDir(dir)
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		// Marked only once locked: a sweep never takes a dir being made.
		if err := os.WriteFile(filepath.Join(dir, tempDirMarker), nil, 0o644); err != nil {
			lock.Close()
			os.RemoveAll(dir)
			return fmt.Errorf("mark the temporary data dir: %w", err)
		}
		c.dataDir, c.tempDir, c.lock = dir, true, lock
		return nil
	}
	dir, err := filepath.Abs(c.opts.DataDir)
	if err != nil {
		return fmt.Errorf("data dir %q: %w", c.opts.DataDir, err)
	}
	// Owner only, as the temporary dir is: it holds topology code that
	// workers run and the ZooKeeper state.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	c.dataDir = dir
	lock, err := LockDataDir(c.dataDir)
	if err != nil {
		return err
	}
	c.lock = lock
	if err := os.Chmod(dir, 0o700); err != nil { // made by an older version, or by hand
		c.opts.Logger.Warn("data dir stays readable by others", "dir", dir, "err", err)
	}
	return nil
}

// A temporary data dir is named tempDirPrefix+name+random in the system's
// temporary dir and marked by tempDirMarker once its cluster holds its lock.
const (
	tempDirPrefix = "localstorm-"
	tempDirMarker = ".localstorm-temporary"
)

// sweepTempDirs removes the temporary data dirs whose cluster died without
// removing them (a SIGKILLed up or test binary): a marked dir whose lock no
// live process holds.
func sweepTempDirs(log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, tempDirMarker)); err != nil {
			continue // not ours, or not yet marked
		}
		lock, err := LockDataDir(dir)
		if err != nil {
			continue // its cluster runs
		}
		err = os.RemoveAll(dir)
		lock.Close()
		if err != nil {
			log.Warn("remove the temporary data dir of a dead cluster", "dir", dir, "err", err)
			continue
		}
		log.Info("removed the temporary data dir of a dead cluster", "dir", dir)
	}
}

// ErrDataDirHeld says another running cluster holds the data dir.
var ErrDataDirHeld = errors.New("data dir is held by another running cluster")

// LockDataDir takes the data dir's lock file; it fails with ErrDataDirHeld
// when another live process holds it.
func LockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "localstorm.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("%w: %s (pid %s); stop that cluster (localstorm down) or choose another --dir",
			ErrDataDirHeld, dir, strings.TrimSpace(string(holder)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	return f, nil
}

func (c *Cluster) startZooKeeper(ctx context.Context) error {
	z := c.opts.ZooKeeper
	switch z.Mode {
	case ZooKeeperEmbedded:
		zo := zookeeper.Options{
			Addr:            z.Addr,
			TickTime:        z.TickTime,
			FourLetterWords: []string{"*"},
			Logger:          c.opts.Logger.With("daemon", "zookeeper"),
			Fsync:           zookeeper.FsyncAlways,
		}
		if z.NoFsync {
			zo.Fsync = zookeeper.FsyncNever
		}
		if !c.tempDir {
			zo.DataDir = filepath.Join(c.dataDir, "zookeeper")
		}
		srv, err := zookeeper.Start(ctx, zo)
		if err != nil {
			return err // "start zookeeper: ..."
		}
		c.zkServer = srv
		c.zkServers = []string{srv.Addr()}
		c.forward(srv.Err(), "zookeeper")
	case ZooKeeperContainer:
		rt, err := containerRuntime()
		if err != nil {
			return err
		}
		if _, err := rt.ReapOrphans(ctx, c.opts.Name); err != nil {
			c.opts.Logger.Warn("could not remove containers of a crashed run", "err", err)
		}
		logger := c.opts.Logger.With("daemon", "zookeeper-container")
		ct, err := rt.StartZooKeeper(ctx, z.image(), c.opts.Name, func(format string, args ...any) {
			logger.Info(fmt.Sprintf(format, args...))
		})
		if err != nil {
			return err // "start ZooKeeper container (image): ..."
		}
		c.zkContainer = ct
		c.zkServers = []string{ct.Addr()}
	case ZooKeeperExternal:
		c.zkServers = z.Servers
		return c.waitExternalZooKeeper(ctx)
	}
	return nil
}

// waitExternalZooKeeper waits until one of the external servers accepts a
// connection, saying so every second, for at most
// storm.zookeeper.connection.timeout.
func (c *Cluster) waitExternalZooKeeper(ctx context.Context) error {
	limit := 15 * time.Second
	if d, err := c.conf.Millis(config.StormZookeeperConnTimeout); err == nil && d > 0 {
		limit = d
	}
	servers := strings.Join(c.zkServers, ",")
	start := time.Now()
	deadline := start.Add(limit)
	nextNote := start.Add(time.Second)
	for {
		for _, addr := range c.zkServers {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				return nil
			}
		}
		now := time.Now()
		if now.After(deadline) {
			return fmt.Errorf("no ZooKeeper answers at %s after %s (storm.zookeeper.connection.timeout): start it, or point --zookeeper at a running one", servers, limit)
		}
		if now.After(nextNote) {
			c.progress("waiting for zookeeper at "+servers, start)
			nextNote = now.Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for zookeeper at %s: %w", servers, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) connectState(ctx context.Context, who string) (cluster.StormClusterState, error) {
	opts, err := cluster.OptionsFromConf(c.conf)
	if err != nil {
		return nil, err
	}
	opts.Servers = c.zkServers
	opts.Logger = c.daemonLogger(who)
	opts.OnFatal = func(err error) { c.report(fmt.Errorf("%s: %w", who, err)) }
	st, err := cluster.ConnectStorm(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to zookeeper %s: %w", who, strings.Join(c.zkServers, ","), err)
	}
	return st, nil
}

func (c *Cluster) startNimbus(ctx context.Context) error {
	st, err := c.connectState(ctx, "nimbus")
	if err != nil {
		return err
	}
	c.mu.Lock()
	apiAddr := c.opts.APIAddr // RestartNimbus pins it
	thriftAddr := c.opts.ThriftAddr
	c.mu.Unlock()
	n, err := nimbus.Start(ctx, nimbus.Options{
		Conf:       c.conf,
		LocalDir:   string(workercontract.DataDir(c.dataDir).Nimbus()),
		State:      st,
		APIAddr:    apiAddr,
		APIHosts:   c.opts.APIHosts,
		ThriftAddr: thriftAddr,
		// The logviewer API serves every supervisor's worker logs.
		WorkerLogDirs: []string{workercontract.DataDir(c.dataDir).WorkerLogRoots()},
		DaemonLogDir:  c.daemonLogDir(),
		Logger:        c.daemonLogger("nimbus"),
		Faults:        c.faultInjector(),
	})
	if err != nil {
		_ = st.Disconnect()
		return err // "start nimbus: ..."
	}
	c.mu.Lock()
	c.nimbus, c.nimbusState = n, st
	c.mu.Unlock()
	c.forward(n.Err(), "nimbus")
	return nil
}

func (c *Cluster) startSupervisor(ctx context.Context, s *supervisorSlot) error {
	who := fmt.Sprintf("supervisor-%d", s.index)
	st, err := c.connectState(ctx, who)
	if err != nil {
		return err
	}
	conf := c.conf.Clone()
	conf[config.SupervisorSlotsPorts] = intsToAny(s.ports)
	exe := c.opts.Executable
	if exe == "" {
		exe, _ = os.Executable()
	}
	sup, err := supervisor.Start(ctx, supervisor.Options{
		Conf:           conf,
		LocalDir:       s.localDir,
		State:          st,
		Code:           linkingDownloader{distDir: workercontract.DataDir(c.dataDir).Nimbus().NimbusStormdist(), http: api.NewClient(c.APIURL())},
		Hostname:       "localhost",
		Logger:         c.daemonLogger(who),
		ZooKeeper:      c.zkServers,
		ZKRoot:         c.root(),
		LocalstormPath: exe,
	})
	if err != nil {
		_ = st.Disconnect()
		return fmt.Errorf("%s: %w", who, err) // "supervisor-0: start supervisor: ..."
	}
	c.mu.Lock()
	s.sup, s.state = sup, st
	c.mu.Unlock()
	c.forward(sup.Err(), who)
	return nil
}

func (c *Cluster) root() string {
	if r, err := c.conf.String(config.StormZookeeperRoot); err == nil && r != "" {
		return r
	}
	return cluster.DefaultRoot
}

// waitSupervisorsRegistered polls ZooKeeper until every running supervisor's
// heartbeat node exists.
func (c *Cluster) waitSupervisorsRegistered(ctx context.Context) error {
	want := map[string]bool{}
	c.mu.Lock()
	for _, s := range c.sups {
		if s.sup != nil {
			want[s.sup.ID()] = true
		}
	}
	st := c.nimbusState
	c.mu.Unlock()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ids, err := st.Supervisors(nil)
		if err == nil {
			seen := 0
			for _, id := range ids {
				if want[id] {
					seen++
				}
			}
			if seen == len(want) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for supervisor heartbeats: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("wait for supervisor heartbeats: not all %d supervisors registered within 30s", len(want))
		case <-tick.C:
		}
	}
}

// forward copies a daemon's runtime errors onto the cluster's Err channel.
func (c *Cluster) forward(ch <-chan error, who string) {
	if ch == nil {
		return
	}
	c.fwdWG.Add(1)
	go func() {
		defer c.fwdWG.Done()
		for {
			select {
			case err, ok := <-ch:
				if !ok {
					return
				}
				c.report(fmt.Errorf("%s: %w", who, err))
			case <-c.stopFwd:
				return
			}
		}
	}()
}

func (c *Cluster) report(err error) {
	select {
	case c.errs <- err:
	default:
		c.opts.Logger.Error("cluster error (Err channel full)", "err", err)
	}
}

// Err delivers the daemons' fatal runtime errors (a failed timer task, a
// supervisor whose health check failed, ...). The cluster keeps running what
// still runs; the owner decides whether to Close.
func (c *Cluster) Err() <-chan error { return c.errs }

// Close shuts the cluster down, in this order: nimbus stops accepting API
// calls and stops its timers; each supervisor stops its timers and event
// managers and shuts its workers down (SIGTERM, then SIGKILL after
// supervisor.worker.shutdown.sleep.secs); nimbus's and the supervisors'
// ZooKeeper sessions close; then ZooKeeper itself (the embedded server, or the
// container is removed). A temporary data dir is removed last. Close is
// idempotent; its errors are combined.
func (c *Cluster) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.faultMu.Lock() // waits for a fault in progress; no more after Close
		var errs *multierror.Error
		c.mu.Lock()
		n, nst, sups, zkServer := c.nimbus, c.nimbusState, c.sups, c.zkServer
		c.mu.Unlock()
		if n != nil {
			step := time.Now()
			errs = multierror.Append(errs, n.Close(ctx))
			c.progress("stopped nimbus (API and timers)", step)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, s := range sups {
			wg.Add(1)
			go func(s *supervisorSlot) {
				defer wg.Done()
				step := time.Now()
				err := c.stopSupervisor(ctx, s)
				c.progress(fmt.Sprintf("stopped supervisor %d and its workers", s.index), step)
				mu.Lock()
				errs = multierror.Append(errs, err)
				mu.Unlock()
			}(s)
		}
		wg.Wait()
		for _, s := range sups {
			slotPortsInUse.release(s.ports)
		}
		if nst != nil {
			errs = multierror.Append(errs, nst.Disconnect())
		}
		close(c.stopFwd)
		c.fwdWG.Wait()
		step := time.Now()
		if zkServer != nil {
			errs = multierror.Append(errs, zkServer.Close())
			c.progress("stopped zookeeper", step)
		}
		if c.zkContainer != nil {
			errs = multierror.Append(errs, c.zkContainer.Close(ctx))
			c.progress("removed zookeeper container", step)
		}
		errs = multierror.Append(errs, c.nimbusLog.Close(), c.supervisorLog.Close())
		if c.lock != nil {
			_ = c.lock.Close()
		}
		if c.tempDir {
			errs = multierror.Append(errs, os.RemoveAll(c.dataDir))
		}
		c.closeErr = errlist.Err(errs)
	})
	return c.closeErr
}

func (c *Cluster) stopSupervisor(ctx context.Context, s *supervisorSlot) error {
	c.mu.Lock()
	sup, st := s.sup, s.state
	s.sup, s.state = nil, nil
	c.mu.Unlock()
	var errs *multierror.Error
	if sup != nil {
		errs = multierror.Append(errs, sup.Close(ctx))
	}
	if st != nil {
		errs = multierror.Append(errs, st.Disconnect())
	}
	return errlist.Err(errs)
}

// ZooKeeperAddr is the ZooKeeper connect string ("host:port[,...]").
func (c *Cluster) ZooKeeperAddr() string { return strings.Join(c.zkServers, ",") }

// ZooKeeperRoot is storm.zookeeper.root, under which the cluster lives.
func (c *Cluster) ZooKeeperRoot() string { return c.root() }

// APIURL is nimbus's HTTP API base URL.
func (c *Cluster) APIURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nimbus == nil {
		return ""
	}
	return c.nimbus.APIURL()
}

// Client returns a client of nimbus's API.
func (c *Cluster) Client() *api.Client { return api.NewClient(c.APIURL()) }

// DataDir is where the cluster keeps its state.
func (c *Cluster) DataDir() string { return c.dataDir }

// Conf is the cluster's effective configuration.
func (c *Cluster) Conf() config.Conf { return c.conf.Clone() }

// Nimbus returns the running nimbus (nil while it is restarting).
func (c *Cluster) Nimbus() *nimbus.Nimbus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nimbus
}

// State returns nimbus's view of the cluster state in ZooKeeper.
func (c *Cluster) State() cluster.StormClusterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nimbusState
}

// ZooKeeperServer returns the embedded ZooKeeper server (nil in other modes).
func (c *Cluster) ZooKeeperServer() *zookeeper.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zkServer
}

func hostsOf(servers []string) []any {
	out := make([]any, len(servers))
	for i, s := range servers {
		out[i] = s
	}
	return out
}

func portOf(server string) int {
	_, p, err := net.SplitHostPort(server)
	if err != nil {
		return 2181
	}
	var n int
	fmt.Sscanf(p, "%d", &n)
	return n
}

func intsToAny(v []int) []any {
	out := make([]any, len(v))
	for i, n := range v {
		out[i] = n
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
