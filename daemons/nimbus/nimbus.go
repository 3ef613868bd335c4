// Package nimbus is localstorm's nimbus: it accepts topologies (code upload and
// submit), keeps their lifecycle (Storm's topology state machine), schedules
// their executors onto supervisors' slots (Storm's even scheduler), watches
// heartbeats to move executors off dead workers and supervisors, serves code to
// supervisors, and serves the HTTP API whose documents live in package api.
//
// It is a library: localcluster starts it in-process, and `localstorm nimbus`
// runs it against an external ZooKeeper. It meets supervisors and workers only
// through ZooKeeper (daemons/cluster) and HTTP.
package nimbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbusthrift"
	"github.com/localstorm/localstorm/daemons/timer"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/errlist"
)

// Options configure a nimbus.
type Options struct {
	// Conf is the daemon configuration (Storm keys); unset nimbus keys take
	// Storm's defaults.
	Conf config.Conf
	// LocalDir is nimbus's local dir ({local}); empty = storm.local.dir.
	LocalDir string
	// State is the cluster state; the caller owns it (nimbus never disconnects it).
	State cluster.StormClusterState
	// APIAddr is where the API listens; default 127.0.0.1:0 (a free port).
	APIAddr string
	// APIHosts are the names, besides localhost, the loopback addresses and
	// the address bound, by which clients may reach the API: a request whose
	// Host header names anything else is refused (a guard against DNS
	// rebinding). Give the machine's name here when supervisors or browsers
	// on other machines use it (--api-host).
	APIHosts []string
	// ThriftAddr is where Storm's Nimbus Thrift service listens; default
	// 127.0.0.1:0 (a free port). `localstorm nimbus` gives nimbus.thrift.port.
	ThriftAddr string
	// WorkerLogDirs are the directories (or filepath.Glob patterns of them)
	// holding workers' logs as <topology-id>/<port>/<file>, which the
	// logviewer API serves; empty: {LocalDir}/logs.
	WorkerLogDirs []string
	// DaemonLogDir holds the daemons' log files the logviewer API serves;
	// empty: storm.log.dir, else {LocalDir}/logs.
	DaemonLogDir string
	// Faults, when set, is the process that owns the daemons (a
	// localcluster): the API then serves POST /api/v1/faults/<fault> and
	// passes each to it. Nil (a standalone nimbus): those paths are 404.
	Faults FaultInjector
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// Clock drives timers and heartbeat timeouts; nil = the wall clock.
	Clock timer.Clock
}

// Nimbus is a running nimbus. Its methods (the Service interface) may be
// called directly, as the HTTP API does.
type Nimbus struct {
	conf     config.Conf
	set      settings
	log      *slog.Logger
	clock    timer.Clock
	state    cluster.StormClusterState
	inboxDir string
	distDir  string
	// removeInboxEntry deletes an expired upload (os.RemoveAll; tests
	// make it fail).
	removeInboxEntry func(path string) error
	started          time.Time

	timer *timer.Timer

	// mu is Storm's submit lock: submit, every state transition,
	// mk-assignments and do-cleanup run under it.
	mu      sync.Mutex
	hb      *heartbeatCache
	pending map[string]func() // topology id → cancel of its timed event
	counter int64             // submitted topologies, for ids

	// infoMu guards what the read API uses besides ZooKeeper.
	infoMu sync.Mutex
	// logConfigMu serializes the read-merge-write of SetLogConfig.
	logConfigMu sync.Mutex
	stats       *statsStore
	history     *historyStore // nil when localstorm.nimbus.history.secs is 0
	statsSaved  time.Time     // when the monitor last saved stats (timer goroutine only)
	schedStatus map[string]ScheduleStatus
	alive       map[string]map[cluster.ExecutorInfo]bool // topology id → executor liveness at the last round
	codes       map[string]*topologyCode

	listener net.Listener
	server   *http.Server
	handler  http.Handler
	apiURL   string

	thriftListener net.Listener
	thrift         *nimbusthrift.Server
	thriftDone     chan struct{}
	thriftStop     sync.Once // stopThrift runs once: at a failure or at Close
	thriftStopErr  error

	// reassignQueued is set while a watch-triggered mk-assignments waits on the timer.
	reassignQueued atomic.Bool

	errCh     chan error
	failed    atomic.Pointer[error] // the fatal error, once one happened
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// Start starts nimbus in Storm's order: read and validate the configuration;
// prepare its directories; bind the API listener (before anything changes in
// ZooKeeper); clean up corrupt topologies (in ZooKeeper without
// code in stormdist); fire startup on every storm (resuming kills and
// rebalances); schedule mk-assignments (when nimbus.reassign) and do-cleanup
// every nimbus.monitor.freq.secs and the inbox cleaner every
// nimbus.cleanup.inbox.freq.secs; then serve the API. An error names its
// cause, and nothing is left running after it.
func Start(ctx context.Context, opts Options) (_ *Nimbus, err error) {
	n, err := newNimbus(opts)
	if err != nil {
		return nil, fmt.Errorf("start nimbus: %w", err)
	}
	defer func() {
		if err != nil {
			n.stop(context.Background())
			err = fmt.Errorf("start nimbus: %w", err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, dir := range []string{n.inboxDir, n.distDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", dir, err)
		}
	}
	n.loadStats()
	// Bound before anything changes in ZooKeeper: a nimbus that cannot
	// serve must leave the cluster as it found it. It serves last.
	addr := opts.APIAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	n.listener, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the API on %s: %w", addr, err)
	}
	n.apiURL = "http://" + dialable(n.listener.Addr().(*net.TCPAddr))
	if err := n.listenThrift(opts.ThriftAddr); err != nil {
		return nil, err
	}
	hosts, err := apiHosts(opts.APIHosts, n.listener.Addr())
	if err != nil {
		return nil, err
	}
	// Storm's timer handler exits nimbus with code 20.
	n.timer = timer.New("nimbus", n.clock, func(err error) { n.fatal(cluster.Exit(cluster.ExitTaskFailed, err)) })
	if err := n.cleanupCorruptTopologies(); err != nil {
		return nil, fmt.Errorf("clean up corrupt topologies: %w", err)
	}
	if err := n.startupStorms(); err != nil {
		return nil, fmt.Errorf("start up topologies: %w", err)
	}
	n.timer.ScheduleRecurring(0, n.set.monitorFreq, func() error {
		// Storm's monitor: mk-assignments only when nimbus.reassign is set.
		if n.set.reassign {
			if err := n.MkAssignments(""); err != nil {
				return fmt.Errorf("mk-assignments: %w", err)
			}
		}
		if err := n.DoCleanup(); err != nil {
			return fmt.Errorf("do-cleanup: %w", err)
		}
		if n.clock.Now().Sub(n.statsSaved) >= statsSaveEvery {
			n.statsSaved = n.clock.Now()
			if err := n.saveStats(); err != nil {
				n.log.Warn("totals may restart after a restart of nimbus", "err", err)
			}
		}
		return nil
	})
	if n.history != nil {
		n.timer.ScheduleRecurring(historyStep, historyStep, n.sampleHistory)
	}
	n.timer.ScheduleRecurring(0, n.set.inboxCleanupFreq, func() error {
		if err := n.cleanInbox(); err != nil {
			return fmt.Errorf("clean inbox: %w", err)
		}
		return nil
	})
	n.handler = n.refuseWhenFailed(newHandler(n, handlerOptions{maxUpload: n.set.maxUploadBytes, maxJSON: maxJSONBody, hosts: hosts, logs: n.logRoots(opts), faults: opts.Faults}, n.log))
	n.server = &http.Server{Handler: n.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.server.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.fatal(fmt.Errorf("serve API: %w", err))
		}
	}()
	if err := n.serveThrift(); err != nil {
		return nil, err
	}
	n.log.Info("nimbus started", "api", n.apiURL, "thrift", n.ThriftAddr(), "localDir", filepath.Dir(n.inboxDir))
	return n, nil
}

func newNimbus(opts Options) (*Nimbus, error) {
	if opts.State == nil {
		return nil, errors.New("options: State is nil: connect a StormClusterState first (cluster.ConnectStorm)")
	}
	conf := withDefaults(opts.Conf)
	set, err := readSettings(conf)
	if err != nil {
		return nil, err // names every bad key
	}
	local := opts.LocalDir
	if local == "" {
		if local, err = conf.String(config.StormLocalDir); err != nil || local == "" {
			return nil, errors.New("options: no local dir: set LocalDir or storm.local.dir")
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := opts.Clock
	if clock == nil {
		clock = timer.RealClock()
	}
	return &Nimbus{
		conf:             conf,
		set:              set,
		log:              log.With("daemon", "nimbus"),
		clock:            clock,
		state:            opts.State,
		inboxDir:         workercontract.LocalDir(local).NimbusInbox(),
		distDir:          workercontract.LocalDir(local).NimbusStormdist(),
		removeInboxEntry: os.RemoveAll,
		started:          clock.Now(),
		hb:               newHeartbeatCache(),
		pending:          map[string]func(){},
		stats:            newStatsStore(),
		history:          newHistoryStore(set.historySecs),
		schedStatus:      map[string]ScheduleStatus{},
		alive:            map[string]map[cluster.ExecutorInfo]bool{},
		codes:            map[string]*topologyCode{},
		errCh:            make(chan error, 1),
		thriftDone:       make(chan struct{}),
	}, nil
}

// APIURL returns the API's base URL, "http://127.0.0.1:PORT".
func (n *Nimbus) APIURL() string { return n.apiURL }

// dialable is the address a client on this host dials to reach a listener
// bound to a: the loopback address in place of an unspecified one
// (--api-addr 0.0.0.0:8080, as inside a container, listens on every
// interface; the supervisors in this process, and the URL printed, use
// 127.0.0.1).
func dialable(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return a.String()
}

// Handler returns the HTTP API handler (also served on APIURL).
func (n *Nimbus) Handler() http.Handler { return n.handler }

// Err delivers the first fatal runtime error (a failed timer task, the API
// server failing); a failed timer task carries Storm's exit code 20
// (cluster.ExitCode). Nimbus stops serving after it: where Storm's nimbus
// exits, its timer is dead and the API answers 503 with the error.
func (n *Nimbus) Err() <-chan error { return n.errCh }

func (n *Nimbus) fatal(err error) {
	if n.closing.Load() {
		return
	}
	n.log.Error("nimbus failed", "err", err)
	n.failed.CompareAndSwap(nil, &err)
	// Storm's nimbus exits here, and its Thrift clients find the port
	// closed; the HTTP API stays up to answer 503 with the cause.
	go func() { _ = n.stopThriftOnce() }()
	select {
	case n.errCh <- err:
	default:
	}
}

// refuseWhenFailed answers every request with 503 and the fatal error once
// nimbus has failed: a nimbus whose monitor is dead must not look healthy.
func (n *Nimbus) refuseWhenFailed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if errp := n.failed.Load(); errp != nil {
			status := http.StatusServiceUnavailable
			writeJSON(w, status, &api.ErrorReply{
				Error:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
				ErrorMessage: fmt.Sprintf("nimbus has stopped: %v", *errp),
			})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Close stops nimbus: the API stops accepting and finishes the requests in
// flight (until ctx is done), then the timers stop and Close waits for every
// goroutine. The cluster state is left to its owner. Close is idempotent.
func (n *Nimbus) Close(ctx context.Context) error {
	n.closeOnce.Do(func() { n.closeErr = n.stop(ctx) })
	return n.closeErr
}

func (n *Nimbus) stop(ctx context.Context) error {
	n.closing.Store(true)
	var errs []error
	if n.server != nil {
		if err := n.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop API: %w", err))
			_ = n.server.Close()
		}
	} else if n.listener != nil {
		_ = n.listener.Close()
	}
	if err := n.stopThriftOnce(); err != nil {
		errs = append(errs, err)
	}
	if n.timer != nil {
		n.timer.Close()
		if err := n.saveStats(); err != nil {
			errs = append(errs, err)
		}
	}
	n.wg.Wait()
	return errlist.Join(errs...)
}

// nowSecs is nimbus's clock in unix seconds.
func (n *Nimbus) nowSecs() int64 { return n.clock.Now().Unix() }
