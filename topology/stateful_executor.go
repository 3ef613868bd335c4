package topology

import (
	"errors"
	"fmt"
	"sync"

	"github.com/localstorm/localstorm/topology/state"
)

// checkpointBarrier is what Storm's BaseStatefulBoltExecutor does with
// checkpoint tuples before acting on one: it waits for the same action and
// txid from every input task of the $checkpoint stream, acking the earlier
// ones, and ignores a transaction older than the last one handled.
type checkpointBarrier struct {
	inputTasks int
	requests   map[checkpointRequest]int
	lastTxid   int64
	started    bool
}

type checkpointRequest struct {
	action CheckpointAction
	txid   int64
}

func newCheckpointBarrier(ctx *Context) (*checkpointBarrier, error) {
	if ctx.Definition == nil || ctx.Definition.Bolts[ctx.ComponentID] == nil {
		return nil, fmt.Errorf("bolt %q: the runtime gives no topology definition: the checkpoint barrier cannot count its input tasks", ctx.ComponentID)
	}
	n := 0
	for _, in := range ctx.Definition.Bolts[ctx.ComponentID].Inputs {
		if in.Stream == CheckpointStream {
			n += len(ctx.ComponentTasks[in.Component])
		}
	}
	return &checkpointBarrier{inputTasks: max(n, 1), requests: map[checkpointRequest]int{}}, nil
}

// checkpointOf reads a checkpoint tuple's action and txid.
func checkpointOf(t *Tuple) (CheckpointAction, int64, error) {
	a, _ := t.Value(CheckpointFieldAction).(string)
	txid, ok := t.Value(CheckpointFieldTxid).(int64)
	if !ok || a == "" {
		return "", 0, fmt.Errorf("malformed checkpoint tuple %v from %s", t.Values, t.Component)
	}
	return CheckpointAction(a), txid, nil
}

// process runs handle once every input task has sent action/txid; the
// tuples before that, and those of an old transaction, are acked.
func (b *checkpointBarrier) process(t *Tuple, out BoltCollector, handle func(t *Tuple, a CheckpointAction, txid int64) error) {
	action, txid, err := checkpointOf(t)
	if err != nil {
		out.ReportError(err)
		out.Fail(t)
		return
	}
	req := checkpointRequest{action, txid}
	b.requests[req]++
	if b.requests[req] < b.inputTasks {
		out.Ack(t)
		return
	}
	delete(b.requests, req)
	if b.started && txid < b.lastTxid {
		out.Ack(t) // an old transaction
		return
	}
	if err := handle(t, action, txid); err != nil {
		out.ReportError(fmt.Errorf("checkpoint %s of txid %d: %w", action, txid, err))
		out.Fail(t)
		return
	}
	b.started = true
	b.lastTxid = txid
	if action == ActionRollback {
		b.lastTxid = txid - 1
	}
}

// forwardCheckpoint sends a handled checkpoint tuple on, anchored to it, and acks it.
func forwardCheckpoint(out BoltCollector, t *Tuple, a CheckpointAction, txid int64) {
	out.EmitStream(CheckpointStream, []*Tuple{t}, Values{txid, string(a)})
	out.Ack(t)
}

// checkpointForwarder runs a bolt that has no state in a topology that has
// stateful bolts (Storm's CheckpointTupleForwarder): checkpoint tuples pass
// through it to the bolts downstream.
type checkpointForwarder struct {
	bolt    Bolt
	out     BoltCollector
	barrier *checkpointBarrier
}

func newCheckpointForwarder(b Bolt) Bolt { return &checkpointForwarder{bolt: b} }

func (f *checkpointForwarder) DeclareOutputFields(d OutputDeclarer) { f.bolt.DeclareOutputFields(d) }

func (f *checkpointForwarder) Prepare(ctx *Context, out BoltCollector) error {
	barrier, err := newCheckpointBarrier(ctx)
	if err != nil {
		return err
	}
	f.out, f.barrier = out, barrier
	return f.bolt.Prepare(ctx, out)
}

func (f *checkpointForwarder) Execute(t *Tuple) {
	if t.Stream != CheckpointStream {
		f.bolt.Execute(t)
		return
	}
	lock := lockOf(f.bolt)
	lock.Lock()
	defer lock.Unlock()
	f.barrier.process(t, f.out, func(t *Tuple, a CheckpointAction, txid int64) error {
		forwardCheckpoint(f.out, t, a, txid)
		return nil
	})
}

func (f *checkpointForwarder) Cleanup() { f.bolt.Cleanup() }

// lockOf is the lock a wrapped bolt shares with its own goroutines (a
// windowed bolt's timers), or a no-op.
func lockOf(b any) sync.Locker {
	if l, ok := b.(interface{ checkpointLock() sync.Locker }); ok {
		return l.checkpointLock()
	}
	return noLock{}
}

type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

// windowedExecutor shares its mutex when forwarded without state.
func (e *windowedExecutor) checkpointLock() sync.Locker { return &e.mu }

// statefulExecutor runs a StatefulBolt (Storm's StatefulBoltExecutor).
type statefulExecutor struct {
	bolt        StatefulBolt
	out         BoltCollector
	tracker     *ackTracker
	barrier     *checkpointBarrier
	state       state.KeyValueState
	newState    func(ctx *Context) (state.KeyValueState, error)
	initialized bool
	pending     []*Tuple // tuples that arrived before the state was initialised
	prepared    []*Tuple // acked tuples whose effect the prepared transaction holds
}

func newStatefulExecutor(b StatefulBolt) *statefulExecutor {
	return &statefulExecutor{bolt: b, newState: func(ctx *Context) (state.KeyValueState, error) {
		return state.New(stateNamespace(ctx), ctx.Conf)
	}}
}

func (e *statefulExecutor) DeclareOutputFields(d OutputDeclarer) { e.bolt.DeclareOutputFields(d) }

func (e *statefulExecutor) Prepare(ctx *Context, out BoltCollector) error {
	barrier, err := newCheckpointBarrier(ctx)
	if err != nil {
		return err
	}
	st, err := e.newState(ctx)
	if err != nil {
		return fmt.Errorf("stateful bolt %q: %w", ctx.ComponentID, err)
	}
	e.state, e.out, e.barrier = st, out, barrier
	e.tracker = &ackTracker{BoltCollector: out}
	return e.bolt.Prepare(ctx, e.tracker)
}

func (e *statefulExecutor) Execute(t *Tuple) {
	if t.Stream == CheckpointStream {
		lock := lockOf(e.bolt)
		lock.Lock()
		e.barrier.process(t, e.out, e.handleCheckpoint)
		lock.Unlock()
		// The tuples buffered until INITSTATE run outside the lock (a
		// windowed bolt takes it in Execute).
		pending := e.pending
		if e.initialized && len(pending) > 0 {
			e.pending = nil
			for _, p := range pending {
				e.bolt.Execute(p)
			}
		}
		return
	}
	if !e.initialized {
		e.pending = append(e.pending, t)
		return
	}
	e.bolt.Execute(t)
}

// checkpointParticipant is a bolt executor with a state of its own (the
// window state of a stateful windowed bolt) that the checkpoint protocol
// drives before the bolt's state, as Storm's StatefulBoltExecutor calls
// its bolt's pre* hooks; an error fails the checkpoint tuple.
type checkpointParticipant interface {
	prePrepare(txid int64) error
	preCommit(txid int64) error
	preRollback() error
	preInitState() error
}

// noParticipant is the participant of a bolt that has none.
type noParticipant struct{}

func (noParticipant) prePrepare(int64) error { return nil }
func (noParticipant) preCommit(int64) error  { return nil }
func (noParticipant) preRollback() error     { return nil }
func (noParticipant) preInitState() error    { return nil }

// handleCheckpoint is one step of Storm's protocol on this bolt's state.
func (e *statefulExecutor) handleCheckpoint(t *Tuple, a CheckpointAction, txid int64) error {
	hooks, _ := e.bolt.(CheckpointHooks)
	part, ok := e.bolt.(checkpointParticipant)
	if !ok {
		part = noParticipant{}
	}
	switch a {
	case ActionPrepare:
		if !e.initialized {
			// The task restarted in the middle: fail, so that the spout
			// starts recovery.
			return fmt.Errorf("PREPARE before the state is initialised")
		}
		if hooks != nil {
			hooks.PrePrepare(txid)
		}
		if err := part.prePrepare(txid); err != nil {
			return err
		}
		if err := e.state.PrepareCommit(txid); err != nil {
			return err
		}
		e.prepared = append(e.prepared, e.tracker.take()...)
	case ActionCommit:
		if hooks != nil {
			hooks.PreCommit(txid)
		}
		if err := part.preCommit(txid); err != nil {
			return err
		}
		if err := e.state.Commit(txid); err != nil {
			return err
		}
		for _, p := range e.prepared {
			e.out.Ack(p)
		}
		e.prepared = nil
	case ActionRollback:
		if hooks != nil {
			hooks.PreRollback()
		}
		if err := errors.Join(part.preRollback(), e.state.Rollback()); err != nil {
			return err
		}
		for _, p := range append(e.prepared, e.tracker.take()...) {
			e.out.Fail(p)
		}
		e.prepared = nil
	case ActionInitState:
		if !e.initialized {
			if err := part.preInitState(); err != nil {
				return err
			}
			e.bolt.InitState(e.state)
			e.initialized = true // Execute runs the pending tuples next
		}
	default:
		return fmt.Errorf("unknown checkpoint action %q", a)
	}
	forwardCheckpoint(e.out, t, a, txid)
	return nil
}

func (e *statefulExecutor) Cleanup() {
	e.bolt.Cleanup()
	if e.state != nil {
		e.state.Close()
	}
}

// checkpointLock lets an outer executor share the inner bolt's lock.
func (e *statefulExecutor) checkpointLock() sync.Locker { return lockOf(e.bolt) }

// ackTracker is the collector a stateful bolt acks through (Storm's
// AckTrackingOutputCollector): acks are kept until the next commit.
type ackTracker struct {
	BoltCollector
	mu    sync.Mutex
	acked []*Tuple
}

func (a *ackTracker) Ack(t *Tuple) {
	a.mu.Lock()
	a.acked = append(a.acked, t)
	a.mu.Unlock()
}

func (a *ackTracker) take() []*Tuple {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.acked
	a.acked = nil
	return out
}
