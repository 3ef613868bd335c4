// Package worker is the runtime inside a worker subprocess: it reads its
// topology and assignment, runs one goroutine per executor with one component
// instance per task, routes tuples through bounded queues inside the worker
// and over TCP to the other workers of the topology, tracks tuple trees with
// acker executors (Storm's XOR ledger), and writes the local and ZooKeeper
// heartbeats its supervisor and nimbus watch. docs/internals.md fixes its
// command line and handshake.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/slotport"
	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/topology"
)

// Options start a worker; ParseArgs reads them from the command line.
type Options struct {
	// Worker is what the supervisor passed on the command line.
	workercontract.Worker
	// Topology makes the component instances (from the binary's builder, or Flux).
	Topology *topology.Topology
	Logger   *slog.Logger // nil: discard
	// LogLevels, when set, are the levels Logger's handler obeys
	// (LogLevels.Handler); the worker sets them from the topology's log
	// config.
	LogLevels *LogLevels
	Ready     io.Writer // the ready line is written here (stdout); nil: none
	// Clock is the time the components run on (topology.Context.Clock);
	// nil: the wall clock. Testkit sets a simulated clock here.
	Clock topology.Clock
}

// ParseArgs reads the worker command line (workercontract.Parse) into Options.
func ParseArgs(args []string) (Options, error) {
	w, err := workercontract.Parse(args)
	return Options{Worker: w}, err
}

// ReadCode reads stormconf.json and stormtopology.json from a code dir.
func ReadCode(codeDir string) (config.Conf, *topology.Definition, error) {
	var conf config.Conf
	if err := readJSON(filepath.Join(codeDir, workercontract.ConfFile), &conf); err != nil {
		return nil, nil, err
	}
	var def topology.Definition
	if err := readJSON(filepath.Join(codeDir, workercontract.DefinitionFile), &def); err != nil {
		return nil, nil, err
	}
	return conf, &def, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// errExit ends a worker without error: its slot is no longer assigned or its
// supervisor is gone.
type errExit struct{ reason string }

func (e errExit) Error() string { return e.reason }

// Run runs the worker until ctx is done (a graceful shutdown, nil), its slot
// leaves the assignment or its supervisor is gone (nil), or a component panics
// or something unrecoverable happens (the error).
func Run(ctx context.Context, opts Options) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("worker %s port %d: %w", opts.TopologyID, opts.Port, err)
		}
	}()
	if opts.Topology == nil {
		return errors.New("no topology given (Options.Topology)")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("topology", opts.TopologyID, "port", opts.Port)
	// A worker dies with its supervisor's process, however that ends: its
	// lifeline (procs) then kills it and its multilang subprocesses at once.
	if !procs.HoldLifeline() {
		logger.Info("no lifeline: this worker was not started by a supervisor and outlives its parent")
	}
	// Its multilang subprocesses are recorded beside the worker's own pid
	// record, so that the supervisor kills them should the worker die first.
	procs.RecordTracked(workercontract.LocalDir(opts.LocalDir).Pids(opts.WorkerID))
	conf, def, err := ReadCode(opts.CodeDir)
	if err != nil {
		return err
	}
	// The cluster state gives up (Storm exits 30) on an event it cannot
	// route; the worker then stops with that error.
	zkFatal := make(chan error, 1)
	// With ZooKeeper authentication a worker is its topology's digest
	// identity, and what it writes belongs to it and the daemons (Storm's
	// Utils.getWorkerACL).
	acl, err := cluster.WorkerACL(conf)
	if err != nil {
		return err
	}
	zk, err := cluster.ConnectStorm(ctx, cluster.Options{
		Servers: opts.ZooKeeper, Root: opts.ZKRoot, Logger: logger,
		SessionTimeout: zkSessionTimeout(conf),
		Auth:           cluster.AuthFromConf(conf), ACL: acl,
		OnFatal: func(err error) {
			select {
			case zkFatal <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("connect to ZooKeeper %v: %w", opts.ZooKeeper, err)
	}
	w := &worker{opts: opts, conf: conf, def: def, zk: zk, zkFatal: zkFatal, logger: logger,
		assignmentChanged: make(chan struct{}, 1), statusChanged: make(chan struct{}, 1),
		firstAck: make(chan struct{}, 1), started: time.Now()}
	err = w.run(ctx)
	if derr := zk.Disconnect(); derr != nil {
		logger.Warn("disconnect from ZooKeeper", "err", derr)
	}
	var exit errExit
	if errors.As(err, &exit) {
		logger.Info("worker exits", "reason", exit.reason)
		return nil
	}
	return err
}

func zkSessionTimeout(c config.Conf) time.Duration {
	if d, err := c.Millis(config.StormZookeeperSessionTimeout); err == nil && d > 0 {
		return d
	}
	return 0
}

// worker is one running worker process.
type worker struct {
	opts    Options
	conf    config.Conf
	def     *topology.Definition
	zk      cluster.StormClusterState
	zkFatal <-chan error
	logger  *slog.Logger
	rt      *runtime
	started time.Time
	host    string

	mine      []cluster.ExecutorInfo // this slot's executors, from the assignment
	executors []*executor
	server    *server
	peers     map[cluster.NodePort]*peer
	peerWG    sync.WaitGroup

	assignmentChanged chan struct{}
	statusChanged     chan struct{}
	firstAck          chan struct{} // an executor published its first acks
	heartbeats        *localstate.LocalState
	periods           periods
	metrics           *metricsHub // nil: no metrics consumer registered
}

// periods are the worker's heartbeat periods and how long it outlives its
// supervisor's heartbeat.
type periods struct {
	heartbeat, zkHeartbeat, supervisorTimeout time.Duration
	// errorInterval and errorsPerInterval throttle the errors reported to
	// ZooKeeper: topology.error.throttle.interval.secs and
	// topology.max.error.report.per.interval.
	errorInterval     time.Duration
	errorsPerInterval int
	// firstAckBeat: write the ZooKeeper heartbeat at each executor's first
	// acks too (FirstAckHeartbeatKey).
	firstAckBeat bool
}

// FirstAckHeartbeatKey is the configuration key (default true) of a
// localstorm extension: besides its heartbeat every
// task.heartbeat.frequency.secs (3 s, Storm's default, unchanged), a worker
// writes its ZooKeeper heartbeat as soon as one of its executors has
// published its first acks, at most twice per executor and process (its
// spout-side or executed counts, and its bolt-side acks). So the first acked
// count reaches nimbus, the API and the CLI within milliseconds of the first
// ack instead of up to 3 s later, for the price of a few writes per worker
// start. false gives Storm's timing exactly.
const FirstAckHeartbeatKey = "localstorm.worker.first.ack.heartbeat"

// firstAckHook returns what an executor's stats call after its first
// acks: a wake-up of the heartbeat loop (nil when the extension is off).
func (w *worker) firstAckHook() func() {
	if !w.periods.firstAckBeat {
		return nil
	}
	return func() { notify(w.firstAck) }
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (w *worker) run(ctx context.Context) error {
	o := w.opts
	w.zk.OnReconnect(func() { notify(w.assignmentChanged); notify(w.statusChanged) })
	a, err := w.zk.AssignmentInfo(o.TopologyID, func() { notify(w.assignmentChanged) })
	if err != nil {
		return fmt.Errorf("read assignment: %w", err)
	}
	w.mine = slotExecutors(a, o.SupervisorID, o.Port)
	if len(w.mine) == 0 {
		return errExit{fmt.Sprintf("slot %s:%d is not in the assignment of %s", o.SupervisorID, o.Port, o.TopologyID)}
	}
	w.host = "127.0.0.1"
	if h := a.NodeHost[o.SupervisorID]; h != "" {
		w.host = h
	}
	if err := w.build(a); err != nil {
		return err
	}
	if err := w.openMetrics(); err != nil {
		return err
	}
	ln, err := slotport.Listen(ctx, o.Port)
	if err != nil {
		return err
	}
	w.server = newServer(w.rt, ln)
	if w.heartbeats, err = localstate.OpenVolatile(workercontract.LocalDir(o.LocalDir).Heartbeats(o.WorkerID)); err != nil {
		ln.Close()
		return fmt.Errorf("open local heartbeat state: %w", err)
	}
	if err := w.writeLocalHeartbeat(); err != nil {
		ln.Close()
		return err
	}
	w.readStatus()
	w.server.start()
	w.peers = map[cluster.NodePort]*peer{}
	w.applyAssignment(a)
	reporterDone := make(chan struct{})
	go w.reportErrors(w.rt.errors, reporterDone)
	if w.metrics != nil {
		w.metrics.start(w.executors)
	}
	w.startExecutors()
	if o.Ready != nil {
		fmt.Fprintln(o.Ready, workercontract.Ready{Port: o.Port, Pid: os.Getpid()})
	}
	w.logger.Info("worker started", "executors", len(w.executors), "pid", os.Getpid())
	if o.LogLevels != nil {
		lcCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.watchLogConfig(lcCtx, o.LogLevels) }()
		defer func() { stop(); <-done }()
	}
	err = w.loop(ctx)
	w.shutdown()
	w.rt.closeErrors()
	<-reporterDone
	return err
}

// loop waits for the end of the worker while keeping its heartbeats and
// watches.
func (w *worker) loop(ctx context.Context) error {
	supTimeout := w.periods.supervisorTimeout
	hb := time.NewTicker(max(w.periods.heartbeat, 10*time.Millisecond))
	defer hb.Stop()
	zkt := time.NewTicker(max(w.periods.zkHeartbeat, 10*time.Millisecond))
	defer zkt.Stop()
	// The supervisor's node is looked for a few times per timeout: the
	// worker exits within supTimeout plus one period of its going.
	supt := time.NewTicker(max(supTimeout/supervisorChecksPerTimeout, 10*time.Millisecond))
	defer supt.Stop()
	var supervisorAbsent time.Time
	var gc *gcTuner
	if tuneGC.Load() {
		gc = newGCTuner()
	}
	w.writeZKHeartbeat()
	for {
		select {
		case <-ctx.Done():
			w.logger.Info("worker shutting down", "reason", context.Cause(ctx))
			return nil
		case err := <-w.rt.fatalErr:
			return err
		case err := <-w.zkFatal:
			return fmt.Errorf("ZooKeeper cluster state: %w", err)
		case <-w.assignmentChanged:
			a, err := w.zk.AssignmentInfo(w.opts.TopologyID, func() { notify(w.assignmentChanged) })
			if err != nil {
				// The watch was not set: read again soon.
				w.logger.Warn("read assignment; retrying", "err", err)
				time.AfterFunc(readRetry, func() { notify(w.assignmentChanged) })
				continue
			}
			if len(slotExecutors(a, w.opts.SupervisorID, w.opts.Port)) == 0 {
				return errExit{"slot no longer assigned"}
			}
			w.applyAssignment(a)
		case <-w.statusChanged:
			w.readStatus()
		case <-hb.C:
			if gc != nil {
				gc.tick(time.Now())
			}
			if err := w.writeLocalHeartbeat(); err != nil {
				w.logger.Warn("write local heartbeat", "err", err)
			}
		case <-supt.C:
			present, err := w.zk.SupervisorExists(w.opts.SupervisorID)
			switch {
			case err != nil:
				w.logger.Warn("look for the supervisor", "err", err)
			case present:
				supervisorAbsent = time.Time{}
			case supervisorAbsent.IsZero():
				supervisorAbsent = time.Now()
			case time.Since(supervisorAbsent) > supTimeout:
				return errExit{"supervisor " + w.opts.SupervisorID + " is gone"}
			}
		case <-zkt.C:
			w.writeZKHeartbeat()
		case <-w.firstAck:
			w.writeZKHeartbeat()
		}
	}
}

// supervisorChecksPerTimeout is how many times per
// supervisor.worker.timeout.secs a worker looks for its supervisor's node
// (every 5 s by default; it was every heartbeat, a ZooKeeper request a
// second per worker).
const supervisorChecksPerTimeout = 6

// readRetry is how soon a failed read of a watched record is retried.
const readRetry = time.Second

// slotExecutors returns the executors assigned to node:port.
func slotExecutors(a *cluster.Assignment, node string, port int) []cluster.ExecutorInfo {
	if a == nil {
		return nil
	}
	var out []cluster.ExecutorInfo
	for _, ea := range a.Executors {
		if ea.Slot.Node == node && ea.Slot.Port == port {
			out = append(out, ea.Executor)
		}
	}
	return out
}

// readStatus reads the topology's status (with a watch): spouts run only
// while it is ACTIVE.
func (w *worker) readStatus() {
	base, err := w.zk.StormBase(w.opts.TopologyID, func() { notify(w.statusChanged) })
	if err != nil {
		// The watch was not set: read again soon.
		w.logger.Warn("read topology status; retrying", "err", err)
		time.AfterFunc(readRetry, func() { notify(w.statusChanged) })
		return
	}
	active := base != nil && base.Status == cluster.StatusActive
	w.rt.debug.Store(w.debugPcts(base))
	if w.rt.active.Swap(active) != active {
		w.logger.Info("topology status changed", "active", active)
	}
}

// applyAssignment points every remote task at the peer worker running it,
// connecting to new peers and dropping the peers that run nothing any more.
func (w *worker) applyAssignment(a *cluster.Assignment) {
	self := cluster.NodePort{Node: w.opts.SupervisorID, Port: w.opts.Port}
	slotOf := map[int]cluster.NodePort{}
	for _, ea := range a.Executors {
		if ea.Slot == self {
			continue
		}
		for t := ea.Executor.Start; t <= ea.Executor.End; t++ {
			slotOf[t] = ea.Slot
		}
	}
	used := map[cluster.NodePort]bool{}
	for t := range w.rt.peerByTask {
		if w.rt.local[t] != nil {
			continue
		}
		slot, ok := slotOf[t]
		if !ok {
			w.rt.peerByTask[t].Store(nil)
			continue
		}
		p := w.peers[slot]
		if p == nil {
			p = newPeer(slot, w.rt.queueBatches, w.logger, func(err error) { w.rt.reportError(topology.SystemComponent, err) })
			w.peers[slot] = p
			w.peerWG.Add(1)
			go func() { defer w.peerWG.Done(); p.run() }()
		}
		used[slot] = true
		w.rt.peerByTask[t].Store(p)
	}
	for slot, p := range w.peers {
		if !used[slot] {
			delete(w.peers, slot)
			w.retirePeer(p)
		}
	}
}

// retirePeer stops a peer no task points to any more. An executor may still
// hand it the batch it was holding: that is drained and dropped until the
// worker stops.
func (w *worker) retirePeer(p *peer) {
	p.close()
	w.peerWG.Add(1)
	go func() {
		defer w.peerWG.Done()
		for {
			select {
			case <-p.queue:
			case <-w.rt.stopBolts:
				return
			}
		}
	}()
}

func (w *worker) writeLocalHeartbeat() error {
	now := time.Now()
	err := w.heartbeats.Put(cluster.LocalWorkerHeartbeatKey, cluster.LocalWorkerHeartbeat{
		V: cluster.SchemaVersion, TimeSecs: now.Unix(), TimeMillis: now.UnixMilli(), TopologyID: w.opts.TopologyID,
		Executors: w.mine, Port: w.opts.Port,
	})
	if err != nil {
		return fmt.Errorf("write local heartbeat: %w", err)
	}
	return nil
}

func (w *worker) writeZKHeartbeat() {
	now := time.Now()
	hb := &cluster.WorkerHeartbeat{
		V: cluster.SchemaVersion, TopologyID: w.opts.TopologyID,
		TimeSecs: now.Unix(), TimeMillis: now.UnixMilli(), UptimeSecs: int64(now.Sub(w.started).Seconds()),
	}
	usage := procs.SelfUsage()
	hb.RSSBytes, hb.CPUMillis = usage.RSSBytes, usage.CPUMillis
	for _, e := range w.executors {
		hb.Executors = append(hb.Executors, cluster.ExecutorHeartbeat{
			Executor: e.info, Component: e.component, UptimeSecs: int64(now.Sub(e.stats.started).Seconds()),
			Stats: e.stats.snapshot(now),
		})
	}
	if err := w.zk.SetWorkerHeartbeat(w.opts.TopologyID, w.opts.SupervisorID, w.opts.Port, hb); err != nil {
		w.logger.Warn("write ZooKeeper heartbeat", "err", err)
	}
}

// reportErrors writes component errors to ZooKeeper, at most
// topology.max.error.report.per.interval per component in each
// topology.error.throttle.interval.secs, as Storm's executor throttles them.
func (w *worker) reportErrors(errs <-chan componentError, done chan struct{}) {
	defer close(done)
	perInterval, interval := w.periods.errorsPerInterval, w.periods.errorInterval
	type window struct {
		start time.Time
		n     int
	}
	windows := map[string]*window{}
	for ce := range errs {
		win := windows[ce.component]
		if win == nil || time.Since(win.start) > interval {
			win = &window{start: time.Now()}
			windows[ce.component] = win
		}
		if win.n++; win.n > perInterval {
			continue
		}
		if err := w.zk.ReportError(w.opts.TopologyID, ce.component, w.host, w.opts.Port, ce.err); err != nil {
			w.logger.Warn("report component error to ZooKeeper", "component", ce.component, "err", err)
		}
	}
}

func (w *worker) startExecutors() {
	for _, e := range w.executors {
		go e.run()
	}
}

// shutdownGrace bounds how long shutdown waits for the executors.
const shutdownGrace = 10 * time.Second

// shutdown stops the spouts first, then the bolts and ackers (Close and
// Cleanup run in their goroutines), then the transfer.
// An executor stuck in a component (an Execute that never returns) is
// given up on after shutdownGrace: the process is about to exit anyway.
func (w *worker) shutdown() {
	deadline := time.NewTimer(shutdownGrace)
	defer deadline.Stop()
	wait := func(kinds ...executorKind) {
		for _, e := range w.executors {
			if !slices.Contains(kinds, e.kind) {
				continue
			}
			select {
			case <-e.done:
			case <-deadline.C:
				deadline.Reset(0)
				w.logger.Error("executor did not stop in time; exiting without it", "component", e.component,
					"executor", fmt.Sprintf("[%d %d]", e.info.Start, e.info.End))
			}
		}
	}
	close(w.rt.stopSpouts)
	wait(kindSpout)
	close(w.rt.stopBolts)
	wait(kindBolt, kindAcker)
	if w.rt.events != nil {
		w.rt.events.close()
	}
	if w.metrics != nil {
		w.metrics.close()
		if n := w.metrics.dropped.Load(); n > 0 {
			w.logger.Warn("metrics data points dropped: the consumers were behind", "batches", n)
		}
	}
	if w.server != nil {
		w.server.close()
	}
	for _, p := range w.peers {
		p.close()
	}
	w.peerWG.Wait()
	if n := w.rt.dropped.Load(); n > 0 {
		w.logger.Warn("tuples dropped: their task had no worker", "count", n)
	}
}

// build makes the runtime and this slot's executors, one component instance
// per task.
func (w *worker) build(a *cluster.Assignment) error {
	w.rt = w.newRuntime(a)
	if err := w.readSettings(); err != nil {
		return err
	}
	if err := os.MkdirAll(w.rt.pidDir, 0o755); err != nil {
		return fmt.Errorf("create pid dir: %w", err)
	}
	if err := w.makeExecutors(); err != nil {
		return err
	}
	return w.makeTasks()
}

// newRuntime lays out the topology's tasks for the workers of assignment a.
func (w *worker) newRuntime(a *cluster.Assignment) *runtime {
	o, def := w.opts, w.def
	numWorkers := map[cluster.NodePort]bool{}
	for _, ea := range a.Executors {
		numWorkers[ea.Slot] = true
	}
	numAckers := topology.NumAckers(w.conf, len(numWorkers))
	rt := &runtime{
		topologyID: o.TopologyID, def: def, topo: o.Topology, conf: w.conf, logger: w.logger,
		port: o.Port, codeDir: resourcesDir(o.CodeDir), pidDir: workercontract.LocalDir(o.LocalDir).MultilangPids(o.WorkerID),
		clock:           cmp.Or(o.Clock, topology.WallClock),
		componentTasks:  def.ComponentTasks(numAckers),
		taskToComponent: def.TaskToComponent(numAckers),
		outputs:         map[string]map[string]topology.StreamDef{},
		stopSpouts:      make(chan struct{}),
		stopBolts:       make(chan struct{}),
		fatalErr:        make(chan error, 1),
		errors:          make(chan componentError, 64),
	}
	rt.ackerTasks = rt.componentTasks[topology.AckerComponent]
	rt.debug.Store(&debugPcts{})
	for id, c := range def.Spouts {
		rt.outputs[id] = c.Outputs
	}
	for id, c := range def.Bolts {
		rt.outputs[id] = c.Outputs
	}
	n := rt.numTasks()
	rt.local = make([]*executor, n)
	rt.peerByTask = make([]atomic.Pointer[peer], n)
	return rt
}

// readSettings reads the runtime's tuning and the worker's heartbeat
// periods from the topology configuration, naming every bad key.
func (w *worker) readSettings() error {
	rt, r := w.rt, config.NewReader(w.conf)
	rt.batchSize = max(r.IntOr(BatchSizeKey, 64), 1)
	rt.queueBatches = max(r.IntOr(config.TopologyExecutorReceiveBufSize, 32768)/rt.batchSize, 2)
	rt.maxSpoutPending = r.IntOr(config.TopologyMaxSpoutPending, 0)
	rt.messageTimeout = r.SecsOr(config.TopologyMessageTimeoutSecs, 30*time.Second)
	if !r.BoolOr(config.TopologyEnableMessageTimeouts, true) {
		rt.messageTimeout = 0
	}
	rt.spoutWaitMax = max(time.Duration(r.IntOr(SpoutWaitMaxKey, 16))*time.Millisecond, spoutWaitMin)
	rt.sampleEvery = 20
	if rate := r.FloatOr(config.TopologyStatsSampleRate, 0); rate > 0 && rate <= 1 {
		rt.sampleEvery = int(1/rate + 0.5)
	}
	w.periods = periods{
		heartbeat:         r.SecsOr(config.WorkerHeartbeatFreqSecs, time.Second),
		zkHeartbeat:       r.SecsOr(config.TaskHeartbeatFreqSecs, 3*time.Second),
		supervisorTimeout: r.SecsOr(config.SupervisorWorkerTimeoutSecs, 30*time.Second),
		errorInterval:     r.SecsOr(config.TopologyErrorThrottleSecs, 10*time.Second),
		errorsPerInterval: r.IntOr(config.TopologyMaxErrorReportPerIntv, 5),
		firstAckBeat:      r.BoolOr(FirstAckHeartbeatKey, true),
	}
	return r.Err()
}

// makeExecutors makes one executor for each of this slot's executor ranges.
func (w *worker) makeExecutors() error {
	rt := w.rt
	for _, info := range w.mine {
		comp, ok := rt.taskToComponent[info.Start]
		if !ok || info.End < info.Start || rt.taskToComponent[info.End] != comp {
			return fmt.Errorf("assignment: executor [%d %d] is not a task range of one component of the topology", info.Start, info.End)
		}
		e := &executor{rt: rt, info: info, component: comp, sink: newSinkID(), done: make(chan struct{})}
		switch {
		case comp == topology.AckerComponent:
			e.kind, e.stop = kindAcker, rt.stopBolts
			e.ledger = newAckerLedger(time.Now)
		case w.def.Spouts[comp] != nil:
			e.kind, e.stop = kindSpout, rt.stopSpouts
			e.pending = newRotatingMap[uint64, spoutPending](timeoutBuckets)
		default:
			e.kind, e.stop = kindBolt, rt.stopBolts
			e.anchored, e.anchoredOld = map[*topology.Tuple]uint64{}, map[*topology.Tuple]uint64{}
			var err error
			if e.tickEvery, err = tickInterval(rt.componentConf(comp)); err != nil {
				return fmt.Errorf("bolt %q: %w", comp, err)
			}
		}
		e.inbox = make(chan []envelope, rt.queueBatches)
		e.out = &outbox{ex: e}
		e.stats = newExecStats(e.kind, rt.sampleEvery, w.firstAckHook())
		for t := info.Start; t <= info.End; t++ {
			rt.local[t] = e
		}
		w.executors = append(w.executors, e)
	}
	return nil
}

// makeTasks makes each executor's tasks: a component instance, its context
// and its routing table.
func (w *worker) makeTasks() error {
	rt := w.rt
	localTasks := rt.localTasks()
	for _, e := range w.executors {
		for id := e.info.Start; id <= e.info.End; id++ {
			t := &task{id: id, ex: e, ctx: rt.newContext(e.component, id)}
			t.ctx.Definition = w.def
			t.ctx.Fatal = rt.fatal
			var err error
			switch e.kind {
			case kindSpout:
				t.spout, err = rt.topo.NewSpout(e.component)
			case kindBolt:
				t.bolt, err = rt.topo.NewBolt(e.component)
			}
			if err != nil {
				return fmt.Errorf("make task %d: %w", id, err)
			}
			if e.kind != kindAcker {
				if t.routes, err = routeTable(w.def, t.ctx, localTasks); err != nil {
					return fmt.Errorf("routes of %q task %d: %w", e.component, id, err)
				}
				for stream, r := range t.routes {
					r.stats = e.stats.stream(stream)
				}
			}
			e.tasks = append(e.tasks, t)
		}
	}
	return nil
}

// resourcesDir is the topology's resources directory that components see
// as Context.CodeDir: {code dir}/resources when the code dir has one (Flux
// files, a binary's embedded resources), the code dir itself otherwise.
func resourcesDir(codeDir string) string {
	r := filepath.Join(codeDir, workercontract.ResourcesDir)
	if st, err := os.Stat(r); err == nil && st.IsDir() {
		return r
	}
	return codeDir
}

// BatchSizeKey is the configuration key of the number of tuples batched per
// destination queue before a batch is sent (default 64). A localstorm key:
// Storm 2's topology.transfer.batch.size defaults to 1 and relies on a flush
// timer, while a batch here is also sent whenever its executor runs out of
// work, so a larger batch costs no latency.
const BatchSizeKey = "localstorm.worker.batch.size"

// openMetrics makes the metrics consumers when the topology registers any
// (they start with the executors), and opens the event log when the
// topology has event loggers.
func (w *worker) openMetrics() error {
	o := w.opts
	logsDir := workercontract.LocalDir(o.LocalDir).Logs(o.TopologyID, o.Port)
	h, err := newMetricsHub(w.conf, logsDir, w.host, o.Port, w.started)
	if err != nil {
		return err
	}
	w.metrics = h
	rt := w.rt
	rt.debugEmits, _ = w.conf.Bool(config.TopologyDebug)
	if hasEventLoggers(w.conf) {
		if rt.events, err = openEventLog(w.conf, logsDir); err != nil {
			return err
		}
	}
	rt.watchEmits = rt.debugEmits || rt.events != nil
	return nil
}

// debugPcts reads the sampling percentage of this worker's components.
func (w *worker) debugPcts(base *cluster.StormBase) *debugPcts {
	var comps []string
	for _, e := range w.executors {
		comps = append(comps, e.component)
	}
	d := newDebugPcts(base, w.opts.TopologyID, comps)
	return &d
}
