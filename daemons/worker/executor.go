package worker

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

type executorKind int

const (
	kindSpout executorKind = iota
	kindBolt
	kindAcker
)

// String names the kind in logs and errors.
func (k executorKind) String() string {
	switch k {
	case kindSpout:
		return "spout"
	case kindAcker:
		return "acker"
	}
	return "bolt"
}

// statsType is the kind as heartbeat stats record it (ExecutorStats.Type):
// an acker is a bolt there, as Storm records its __acker's stats.
func (k executorKind) statsType() string {
	if k == kindSpout {
		return "spout"
	}
	return "bolt"
}

// executor runs the tasks of one task range in one goroutine (Storm's
// executor thread). Its inbox is a bounded queue of batches: a full inbox
// blocks its producers, which is the worker's backpressure.
type executor struct {
	rt        *runtime
	info      cluster.ExecutorInfo
	component string
	kind      executorKind
	inbox     chan []envelope
	sink      int     // the inbox's id in outboxes
	tasks     []*task // tasks[i] has id info.Start+i
	out       *outbox
	stats     *execStats
	stop      <-chan struct{}
	done      chan struct{} // closed when the goroutine returned
	tickEvery time.Duration // tick tuples to bolts; 0 = none

	// Spout state.
	pending   *rotatingMap[uint64, spoutPending]
	deferred  [][]envelope // own inbox batches taken while blocked on a send
	immediate []immediateAck
	emitted   int // tuples emitted, to tell whether NextTuple did anything
	wasActive bool

	// Bolt state: the XOR of the edges anchored to each input tuple not yet
	// acked (Storm keeps it in the tuple); two generations rotated every
	// message timeout, so tuples never acked do not pile up.
	//
	// A bolt may call its collector from a goroutine of its own (a shell
	// bolt's reader), so the bolt state and the outbox are guarded by mu;
	// inBatch tells a collector call that the executor flushes after the
	// batch, otherwise the call flushes itself.
	mu                    sync.Mutex
	inBatch               bool
	batchStart            time.Time
	anchored, anchoredOld map[*topology.Tuple]uint64

	// Acker state.
	ledger *ackerLedger

	anchorArena []topology.Anchor // see anchor
	emitRoutes  []*streamRoute    // routes with counts to publish, see countEmit

	// Metrics (metrics.go): the buckets that ended, nil without consumers.
	metricsTick chan int
	metrics     *metricsHub
	builtinPrev map[statKey]builtinCounts
	builtinAt   time.Time
}

// immediateAck is a spout emit with a message id while acking is off: Storm
// acks it right away; we do it after NextTuple returns.
type immediateAck struct {
	t      *task
	msgID  any
	stream string
}

// task is one task of an executor: a component instance and its routes.
type task struct {
	id      int
	ex      *executor
	ctx     *topology.Context
	spout   topology.Spout
	bolt    topology.Bolt
	routes  map[string]*streamRoute
	targets []int // reused buffer of target tasks
	arena   []int // see result
	// The route of the last stream emitted on (most emit on one stream).
	lastStream string
	lastRoute  *streamRoute
}

// run is the executor goroutine. A panic in a component is reported and
// stops the worker, as in Storm.
func (e *executor) run() {
	defer close(e.done)
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("%s %q (tasks %d-%d) panicked: %v\n%s", e.kind, e.component, e.info.Start, e.info.End, r, debug.Stack())
			e.rt.reportError(e.component, err)
			e.rt.fatal(err)
		}
	}()
	switch e.kind {
	case kindSpout:
		e.runSpout()
	case kindBolt:
		e.runBolt()
	case kindAcker:
		e.runAcker()
	}
}

func (e *executor) taskFor(dest int) *task {
	i := dest - e.info.Start
	if i < 0 || i >= len(e.tasks) {
		return nil
	}
	return e.tasks[i]
}

// ---- spouts ----

func (e *executor) runSpout() {
	for _, t := range e.tasks {
		if err := t.spout.Open(t.ctx, &spoutCollector{t: t}); err != nil {
			e.failStart(t, err)
			return
		}
		t.ctx.Metrics.Seal()
	}
	defer func() {
		for _, t := range e.tasks {
			t.spout.Close()
		}
	}()
	var rotate <-chan time.Time
	if e.rt.messageTimeout > 0 && len(e.rt.ackerTasks) > 0 {
		var stop func()
		rotate, stop = e.rt.ticker(rotationPeriod(e.rt.messageTimeout))
		defer stop()
	}
	w := e.newSpoutWaiter(rotate)
	defer w.idle.Stop()
	maxPending := e.rt.maxSpoutPending * len(e.tasks)
	for {
		select {
		case <-e.stop:
			return
		case <-rotate:
			e.expirePending()
		case b := <-e.metricsTick:
			e.tickMetrics(b)
		default:
		}
		e.drainInbox()
		e.syncActivation()
		emitted := false
		if e.wasActive {
			for round := 0; round < e.rt.batchSize; round++ {
				if maxPending > 0 && e.pending.size() >= maxPending {
					break
				}
				before := e.emitted
				for _, t := range e.tasks {
					t.spout.NextTuple()
				}
				e.ackImmediate()
				if e.emitted == before {
					break
				}
				emitted = true
			}
		}
		e.flush()
		e.stats.execCache.publish()
		if emitted {
			w.pause = spoutWaitMin
			continue
		}
		if !w.wait(maxPending > 0 && e.pending.size() >= maxPending) {
			return
		}
	}
}

// spoutWaiter is how a spout executor with nothing to emit (inactive, at
// max pending, or its spouts had nothing) waits: for a stop, an ack or a
// fail in its inbox, a rotation, a metrics tick or a change of the
// topology's status; and then for its spouts' Ready channels when every
// spout is a topology.ReadySpout, or else for a pause (Storm's spout wait
// strategy) that doubles after each empty round.
type spoutWaiter struct {
	e      *executor
	rotate <-chan time.Time
	idle   *time.Timer
	pause  time.Duration
	ready  []topology.ReadySpout // every task's spout, or nil
}

func (e *executor) newSpoutWaiter(rotate <-chan time.Time) *spoutWaiter {
	w := &spoutWaiter{e: e, rotate: rotate, idle: time.NewTimer(time.Hour), pause: spoutWaitMin}
	w.idle.Stop()
	for _, t := range e.tasks {
		r, ok := t.spout.(topology.ReadySpout)
		if !ok {
			w.ready = nil
			break
		}
		w.ready = append(w.ready, r)
	}
	return w
}

// wait blocks until the executor has something to do, and returns false
// when it must stop. full tells that the spouts are at max pending, so that
// only an ack or a fail (or a timeout) can let them emit.
func (w *spoutWaiter) wait(full bool) bool {
	e := w.e
	changed := e.rt.active.Changed()
	if e.rt.active.Load() != e.wasActive {
		return true
	}
	var pause <-chan time.Time
	var ready <-chan struct{}
	stopReady := func() {}
	switch {
	case !e.wasActive || full:
		// Nothing but the cases below can let the spouts emit.
	case w.ready != nil:
		ready, stopReady = anyReady(w.ready)
	default:
		w.idle.Reset(w.pause)
		pause = w.idle.C
	}
	defer stopReady()
	select {
	case <-e.stop:
		return false
	case b := <-e.inbox:
		e.deferred = append(e.deferred, b)
		w.pause = spoutWaitMin
	case <-w.rotate:
		e.expirePending()
	case b := <-e.metricsTick:
		e.tickMetrics(b)
	case <-changed:
	case <-ready:
	case <-pause:
		w.pause = nextSpoutWait(w.pause, e.rt.spoutWaitMax)
	}
	if pause != nil {
		w.idle.Stop() // Go 1.23 timers: Stop and Reset need no draining
	}
	return true
}

// anyReady returns a channel that is ready when one of the spouts' Ready
// channels is, and a function that lets go of it. One spout (the rule: one
// task per executor) needs nothing more; several are merged by a goroutine
// that the function stops.
func anyReady(spouts []topology.ReadySpout) (<-chan struct{}, func()) {
	if len(spouts) == 1 {
		return spouts[0].Ready(), func() {}
	}
	cases := make([]reflect.SelectCase, 0, len(spouts)+1)
	done := make(chan struct{})
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)})
	for _, s := range spouts {
		if ch := s.Ready(); ch != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
	}
	out := make(chan struct{})
	go func() {
		if i, _, _ := reflect.Select(cases); i > 0 {
			close(out)
		}
	}()
	return out, func() { close(done) }
}

// spoutWaitMin is the first pause of a spout with nothing to emit: Storm's
// topology.sleep.spout.wait.strategy.time.ms (1.x) and
// topology.spout.wait.progressive.level3.sleep.millis (2.x), 1 ms.
const spoutWaitMin = time.Millisecond

// SpoutWaitMaxKey is the configuration key (milliseconds, default 16) of a
// localstorm extension: each further empty round of a spout doubles its
// pause, up to this; an emit or an ack brings it back to 1 ms. Storm pauses
// 1 ms every time, about 1,000 wake-ups a second per idle spout, ~1 % of a
// core; at 16 ms an idle worker costs a tenth of that, and a spout that
// finds a tuple after a long idle stretch emits it at most 16 ms late.
// 1 gives Storm's behaviour exactly.
const SpoutWaitMaxKey = "localstorm.spout.wait.max.ms"

// nextSpoutWait is the pause after an empty round that paused cur.
func nextSpoutWait(cur, limit time.Duration) time.Duration {
	return max(min(2*cur, limit), spoutWaitMin)
}

// syncActivation calls Activate or Deactivate when the topology's status changed.
func (e *executor) syncActivation() {
	want := e.rt.active.Load()
	if want == e.wasActive {
		return
	}
	e.wasActive = want
	for _, t := range e.tasks {
		if want {
			t.spout.Activate()
		} else {
			t.spout.Deactivate()
		}
	}
}

// drainInbox handles the acker's messages waiting for this spout.
func (e *executor) drainInbox() {
	for {
		select {
		case b := <-e.inbox:
			e.deferred = append(e.deferred, b)
			continue
		default:
		}
		if len(e.deferred) == 0 {
			return
		}
		batches := e.deferred
		e.deferred = nil
		for _, b := range batches {
			for i := range b {
				e.spoutMessage(&b[i])
			}
		}
	}
}

// spoutMessage handles one message from an acker: the tuple tree of a root
// completed or failed.
func (e *executor) spoutMessage(m *envelope) {
	if len(m.Anchors) != 1 {
		return
	}
	if m.Stream == topology.AckResetTimeoutStream {
		// A bolt called ResetTimeout: the tuple times out a whole message
		// timeout from now (Storm's SpoutExecutor puts it again).
		if p, found := e.pending.get(m.Anchors[0].Root); found {
			e.pending.put(m.Anchors[0].Root, p)
		}
		return
	}
	p, found := e.pending.remove(m.Anchors[0].Root)
	if !found {
		return // timed out already
	}
	t := e.taskFor(m.Dest)
	if t == nil {
		return
	}
	switch m.Stream {
	case topology.AckAckStream:
		e.stats.spoutAcked(p.stream, time.Since(p.start))
		t.spout.Ack(p.msgID)
	case topology.AckFailStream:
		e.stats.spoutFailed(p.stream)
		t.spout.Fail(p.msgID)
	}
}

// expirePending fails the spout tuples older than the message timeout.
func (e *executor) expirePending() {
	for _, p := range e.pending.rotate() {
		e.stats.spoutFailed(p.stream)
		p.task.spout.Fail(p.msgID)
	}
}

func (e *executor) ackImmediate() {
	for len(e.immediate) > 0 {
		acks := e.immediate
		e.immediate = nil
		for _, a := range acks {
			e.stats.spoutAcked(a.stream, 0)
			a.t.spout.Ack(a.msgID)
		}
	}
}

// spoutCollector is a spout task's SpoutCollector.
type spoutCollector struct{ t *task }

func (c *spoutCollector) Emit(values topology.Values, msgID any) []int {
	return c.EmitStream(topology.DefaultStream, values, msgID)
}

func (c *spoutCollector) EmitStream(stream string, values topology.Values, msgID any) []int {
	return c.t.spoutEmit(stream, values, msgID, -1)
}

func (c *spoutCollector) EmitDirect(task int, stream string, values topology.Values, msgID any) {
	c.t.spoutEmit(stream, values, msgID, task)
}

func (c *spoutCollector) ReportError(err error) { c.t.ex.rt.reportError(c.t.ex.component, err) }

// spoutEmit sends a spout tuple; with a message id and ackers its tree is
// tracked: a fresh root id, an edge id per target task, __ack_init with
// their XOR to the root's acker.
func (t *task) spoutEmit(stream string, values topology.Values, msgID any, direct int) []int {
	e := t.ex
	route := t.route(stream)
	targets := t.chooseTargets(route, stream, values, direct)
	e.emitted++
	tracked := msgID != nil && len(e.rt.ackerTasks) > 0
	var root, xor uint64
	if tracked {
		root = rand.Uint64()
	}
	for _, dest := range targets {
		env := envelope{Dest: dest, Tuple: topology.Tuple{
			Values: values, Component: e.component, Stream: stream, Task: t.id, Fields: route.def.Fields,
		}}
		if tracked {
			edge := rand.Uint64()
			xor ^= edge
			env.Anchors = e.anchor(root, edge)
		}
		e.out.add(env)
	}
	e.countEmit(route, len(targets))
	if e.rt.watchEmits {
		t.watchEmit(stream, values, msgID)
	}
	switch {
	case tracked && len(targets) > 0:
		e.pending.putNew(root, spoutPending{msgID: msgID, stream: stream, start: time.Now(), task: t})
		e.out.add(ackerTuple(e.rt.ackerFor(root), e.component, topology.AckInitStream, t.id, e.anchor(root, xor)))
	case msgID != nil:
		// Acking off, or a tuple that went nowhere: the tree is complete.
		e.immediate = append(e.immediate, immediateAck{t: t, msgID: msgID, stream: stream})
	}
	return t.result(targets)
}

// result copies the target tasks for the caller of Emit, who may keep them.
// The copies are cut from a chunk that is never reused, so an emit costs
// no allocation of its own.
func (t *task) result(targets []int) []int {
	n := len(targets)
	if n > len(t.arena) {
		t.arena = make([]int, max(1024, n))
	}
	out := t.arena[:n:n]
	t.arena = t.arena[n:]
	copy(out, targets)
	return out
}

// route returns the declared stream; emitting on an undeclared stream is a
// programming error, which Storm also reports by throwing.
func (t *task) route(stream string) *streamRoute {
	if t.lastRoute != nil && t.lastStream == stream {
		return t.lastRoute
	}
	r, ok := t.routes[stream]
	if !ok {
		panic(fmt.Sprintf("component %q emitted on stream %q, which it did not declare", t.ex.component, stream))
	}
	t.lastStream, t.lastRoute = stream, r
	return r
}

// chooseTargets applies the groupings of every subscriber (direct < 0) or
// checks the task of an EmitDirect.
func (t *task) chooseTargets(r *streamRoute, stream string, values topology.Values, direct int) []int {
	targets := t.targets[:0]
	if direct >= 0 {
		if !r.def.Direct {
			panic(fmt.Sprintf("component %q used EmitDirect on stream %q, which is not declared direct", t.ex.component, stream))
		}
		if r.directTargets[direct] {
			targets = append(targets, direct)
		}
	} else {
		if r.def.Direct {
			panic(fmt.Sprintf("component %q used Emit on direct stream %q: use EmitDirect", t.ex.component, stream))
		}
		for _, s := range r.subscribers {
			if s.grouper != nil {
				targets = append(targets, s.grouper.ChooseTasks(t.id, values)...)
			}
		}
	}
	t.targets = targets
	return targets
}

// ---- bolts ----

func (e *executor) runBolt() {
	for _, t := range e.tasks {
		if err := t.bolt.Prepare(t.ctx, &boltCollector{t: t}); err != nil {
			e.failStart(t, err)
			return
		}
		t.ctx.Metrics.Seal()
	}
	defer func() {
		for _, t := range e.tasks {
			t.bolt.Cleanup()
		}
	}()
	var tick, rotate <-chan time.Time
	if e.tickEvery > 0 {
		var stop func()
		tick, stop = e.rt.ticker(e.tickEvery)
		defer stop()
	}
	if e.rt.messageTimeout > 0 && len(e.rt.ackerTasks) > 0 {
		var stop func()
		rotate, stop = e.rt.ticker(e.rt.messageTimeout)
		defer stop()
	}
	for {
		var batch []envelope
		ticked := false
		select {
		case batch = <-e.inbox:
		case <-tick:
			ticked = true
		case <-rotate:
			e.mu.Lock()
			e.anchoredOld, e.anchored = e.anchored, make(map[*topology.Tuple]uint64)
			e.mu.Unlock()
			continue
		case b := <-e.metricsTick:
			e.tickMetrics(b)
			continue
		case <-e.stop:
			return
		}
		e.mu.Lock()
		e.inBatch, e.batchStart = true, time.Now()
		e.mu.Unlock()
		for i := range batch {
			if t := e.taskFor(batch[i].Dest); t != nil {
				e.execute(t, &batch[i].Tuple)
			}
		}
		if ticked {
			secs := int(e.tickEvery / time.Second)
			for _, t := range e.tasks {
				e.execute(t, &topology.Tuple{Values: topology.Values{secs}, Component: topology.SystemComponent, Stream: topology.TickStream, Task: -1})
			}
		}
		e.stats.execCache.publish()
		e.mu.Lock()
		e.inBatch = false
		e.flush()
		e.mu.Unlock()
	}
}

func (e *executor) execute(t *task, tp *topology.Tuple) {
	var start time.Time
	sampled := e.stats.sample()
	if sampled {
		start = time.Now()
	}
	t.bolt.Execute(tp)
	e.stats.executed(tp.Component, tp.Stream, sampled, start)
}

// boltCollector is a bolt task's BoltCollector.
type boltCollector struct{ t *task }

func (c *boltCollector) Emit(anchors []*topology.Tuple, values topology.Values) []int {
	return c.EmitStream(topology.DefaultStream, anchors, values)
}

func (c *boltCollector) EmitStream(stream string, anchors []*topology.Tuple, values topology.Values) []int {
	defer c.locked()()
	return c.t.boltEmit(stream, anchors, values, -1)
}

func (c *boltCollector) EmitDirect(task int, stream string, anchors []*topology.Tuple, values topology.Values) {
	defer c.locked()()
	c.t.boltEmit(stream, anchors, values, task)
}

func (c *boltCollector) Ack(tp *topology.Tuple) {
	defer c.locked()()
	c.t.ex.ack(tp)
}

func (c *boltCollector) Fail(tp *topology.Tuple) {
	defer c.locked()()
	c.t.ex.fail(tp)
}

func (c *boltCollector) ReportError(err error) { c.t.ex.rt.reportError(c.t.ex.component, err) }

// ResetTimeout is Storm's OutputCollector.resetTimeout: each root of tp's
// trees is sent to its acker on __ack_reset_timeout, which restarts the
// tree's timeout and passes it on to the spout task.
func (c *boltCollector) ResetTimeout(tp *topology.Tuple) {
	defer c.locked()()
	e := c.t.ex
	if tp == nil || len(e.rt.ackerTasks) == 0 {
		return
	}
	for _, a := range tp.Anchors {
		e.out.add(ackerTuple(e.rt.ackerFor(a.Root), e.component, topology.AckResetTimeoutStream, e.info.Start, e.anchor(a.Root, 0)))
	}
}

// locked takes the executor's lock for a collector call and returns its
// release, which flushes when the call came from outside an input batch
// (a bolt's own goroutine): nobody else would flush it soon.
func (c *boltCollector) locked() func() {
	e := c.t.ex
	e.mu.Lock()
	return func() {
		if !e.inBatch {
			e.flush()
		}
		e.mu.Unlock()
	}
}

func (t *task) anchorsOf(anchors []*topology.Tuple) bool {
	for _, a := range anchors {
		if a != nil && len(a.Anchors) > 0 {
			return true
		}
	}
	return false
}

// boltEmit sends a bolt tuple. Anchored to tracked inputs, each copy gets one
// fresh edge id per anchor, XORed into the copy's ids of that anchor's roots
// and into the anchor's own ack value (Storm's BoltOutputCollectorImpl).
func (t *task) boltEmit(stream string, anchors []*topology.Tuple, values topology.Values, direct int) []int {
	e := t.ex
	route := t.route(stream)
	targets := t.chooseTargets(route, stream, values, direct)
	e.emitted++
	track := len(e.rt.ackerTasks) > 0 && t.anchorsOf(anchors)
	for _, dest := range targets {
		env := envelope{Dest: dest, Tuple: topology.Tuple{
			Values: values, Component: e.component, Stream: stream, Task: t.id, Fields: route.def.Fields,
		}}
		if track {
			env.Anchors = e.newEdges(anchors)
		}
		e.out.add(env)
	}
	e.countEmit(route, len(targets))
	if e.rt.watchEmits {
		t.watchEmit(stream, values, nil)
	}
	return t.result(targets)
}

// newEdges makes the anchors of one emitted copy.
func (e *executor) newEdges(anchors []*topology.Tuple) []topology.Anchor {
	if len(anchors) == 1 && anchors[0] != nil && len(anchors[0].Anchors) == 1 {
		// The common case (one input from one tree) without allocation.
		a := anchors[0]
		edge := rand.Uint64()
		e.anchored[a] = e.ackValue(a) ^ edge
		return e.anchor(a.Anchors[0].Root, edge)
	}
	var out []topology.Anchor
	for _, a := range anchors {
		if a == nil || len(a.Anchors) == 0 {
			continue
		}
		edge := rand.Uint64()
		e.anchored[a] = e.ackValue(a) ^ edge
		for _, root := range a.Anchors {
			out = xorAnchor(out, root.Root, edge)
		}
	}
	return out
}

// xorAnchor XORs edge into the entry of root, adding it when missing.
func xorAnchor(anchors []topology.Anchor, root, edge uint64) []topology.Anchor {
	for i := range anchors {
		if anchors[i].Root == root {
			anchors[i].Edge ^= edge
			return anchors
		}
	}
	return append(anchors, topology.Anchor{Root: root, Edge: edge})
}

// ackValue returns the XOR of the edges anchored to tp so far, moving it to
// the current generation.
func (e *executor) ackValue(tp *topology.Tuple) uint64 {
	if v, ok := e.anchored[tp]; ok {
		return v
	}
	v := e.anchoredOld[tp]
	delete(e.anchoredOld, tp)
	return v
}

func (e *executor) takeAckValue(tp *topology.Tuple) uint64 {
	v := e.ackValue(tp)
	delete(e.anchored, tp)
	return v
}

// ack acks an input tuple: for each of its roots, __ack_ack with its edge
// XOR the edges of the tuples anchored to it.
func (e *executor) ack(tp *topology.Tuple) {
	if tp == nil {
		return
	}
	if len(e.rt.ackerTasks) > 0 && len(tp.Anchors) > 0 {
		v := e.takeAckValue(tp)
		for _, a := range tp.Anchors {
			e.out.add(ackerTuple(e.rt.ackerFor(a.Root), e.component, topology.AckAckStream, e.info.Start, e.anchor(a.Root, a.Edge^v)))
		}
	}
	// Process latency: from the arrival of the tuple's batch to its ack,
	// sampled as execute latencies are.
	var latency time.Duration
	if e.inBatch && e.stats.sampleAck() {
		latency = time.Since(e.batchStart)
	}
	e.stats.boltAcked(tp.Component, tp.Stream, latency)
}

// fail fails an input tuple: __ack_fail for each of its roots.
func (e *executor) fail(tp *topology.Tuple) {
	if tp == nil {
		return
	}
	if len(e.rt.ackerTasks) > 0 && len(tp.Anchors) > 0 {
		e.takeAckValue(tp)
		for _, a := range tp.Anchors {
			e.out.add(ackerTuple(e.rt.ackerFor(a.Root), e.component, topology.AckFailStream, e.info.Start, e.anchor(a.Root, 0)))
		}
	}
	e.stats.boltFailed(tp.Component, tp.Stream)
}

// flush sends the outbox's batches and publishes the counts of emits and
// bolt acks; called by whoever emits (the executor goroutine, or a
// collector call under the executor's lock) after a round of work.
func (e *executor) flush() {
	e.out.flush()
	for _, r := range e.emitRoutes {
		bump(&r.stats.emitted, r.emitted)
		bump(&r.stats.transferred, r.transferred)
		r.emitted, r.transferred = 0, 0
	}
	e.emitRoutes = e.emitRoutes[:0]
	e.stats.ackCache.publish()
}

// countEmit counts a tuple emitted on r and sent to n tasks, published at
// the next flush.
func (e *executor) countEmit(r *streamRoute, n int) {
	if r.emitted == 0 {
		e.emitRoutes = append(e.emitRoutes, r)
	}
	r.emitted++
	r.transferred += int64(n)
}

// ---- ackers ----

func (e *executor) runAcker() {
	var rotate <-chan time.Time
	if e.rt.messageTimeout > 0 {
		var stop func()
		rotate, stop = e.rt.ticker(rotationPeriod(e.rt.messageTimeout))
		defer stop()
	}
	for {
		select {
		case b := <-e.inbox:
			for i := range b {
				e.ackerMessage(&b[i])
			}
		case <-rotate:
			// Expired trees are dropped silently: their spouts time them out.
			e.ledger.pending.rotate()
		case b := <-e.metricsTick:
			e.tickMetrics(b)
		case <-e.stop:
			return
		}
		e.flush()
		e.stats.execCache.publish()
	}
}

func (e *executor) ackerMessage(m *envelope) {
	if len(m.Anchors) != 1 {
		return
	}
	root, xor := m.Anchors[0].Root, m.Anchors[0].Edge
	var outcome ackOutcome
	var spoutTask int
	switch m.Stream {
	case topology.AckInitStream:
		outcome, spoutTask, _ = e.ledger.init(root, xor, m.Task)
	case topology.AckAckStream:
		outcome, spoutTask, _ = e.ledger.ack(root, xor)
	case topology.AckFailStream:
		outcome, spoutTask, _ = e.ledger.fail(root)
	case topology.AckResetTimeoutStream:
		e.stats.executed(m.Component, m.Stream, false, time.Time{})
		if spoutTask = e.ledger.resetTimeout(root); spoutTask >= 0 {
			e.out.add(ackerTuple(spoutTask, topology.AckerComponent, topology.AckResetTimeoutStream, m.Dest, e.anchor(root, 0)))
		}
		return
	default:
		return
	}
	e.stats.executed(m.Component, m.Stream, false, time.Time{})
	stream := topology.AckAckStream
	switch outcome {
	case outcomePending:
		return
	case outcomeFailed:
		stream = topology.AckFailStream
	}
	e.out.add(ackerTuple(spoutTask, topology.AckerComponent, stream, m.Dest, e.anchor(root, 0)))
}

// Acker messages are tuples on Storm's acker streams whose one anchor
// carries the data Storm puts in their values: the root id and an XOR of
// edge ids. __ack_init comes from the spout task itself (Storm's third
// value), __ack_fail and the acker's answers carry 0 as XOR. Anchors are
// cheaper than boxed values and the user never sees these tuples.
func ackerTuple(dest int, component, stream string, from int, anchor []topology.Anchor) envelope {
	return envelope{Dest: dest, Tuple: topology.Tuple{Component: component, Stream: stream, Task: from, Anchors: anchor}}
}

// anchor returns a one-anchor slice cut from a chunk that is never reused
// (one allocation per 512 anchors).
func (e *executor) anchor(root, edge uint64) []topology.Anchor {
	if len(e.anchorArena) == 0 {
		e.anchorArena = make([]topology.Anchor, 512)
	}
	a := e.anchorArena[:1:1]
	e.anchorArena = e.anchorArena[1:]
	a[0] = topology.Anchor{Root: root, Edge: edge}
	return a
}

// failStart reports a component whose Open or Prepare failed; the worker stops.
func (e *executor) failStart(t *task, err error) {
	err = fmt.Errorf("%s %q task %d: open: %w", e.kind, e.component, t.id, err)
	e.rt.reportError(e.component, err)
	e.rt.fatal(err)
}

// tickInterval returns a bolt's topology.tick.tuple.freq.secs, 0 when unset.
func tickInterval(c config.Conf) (time.Duration, error) {
	r := config.NewReader(c)
	d := r.SecsOr(config.TopologyTickTupleFreqSecs, 0)
	return d, r.Err()
}
