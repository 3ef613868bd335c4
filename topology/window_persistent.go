package topology

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/localstorm/localstorm/topology/state"
)

// persistentWindowed runs a stateful windowed bolt with persistence
// (WithPersistence), as Storm's PersistentWindowedBoltExecutor: the
// window's tuples live in the task's state (see window_partitions.go) and
// in the window manager's queue, up to WithMaxEventsInMemory of them (see
// window_partition_cache.go); every input tuple is acked through
// the stateful executor, so at the commit of the checkpoint that saved it,
// and not when it leaves the window; emits are not anchored (the
// checkpoint that follows saves their effect downstream). At each PREPARE
// the partitions that changed and the policies' state are written and the
// three window states prepared with the bolt's state; after a restart, or a
// rollback, the window and its policies are read back as last committed and
// the windows continue from there. The stateful executor around it calls
// the checkpoint steps holding its mutex (checkpointLock), not Execute.
//
// One difference from Storm: the window is read at INITSTATE, after the
// recovery's COMMIT or ROLLBACK of a transaction the crash interrupted,
// where Storm reads the partition ids at prepare, before that recovery.
type persistentWindowed struct {
	*windowedExecutor
	acks        BoltCollector // the stateful executor's ack tracker
	noAck       *noAckCollector
	window      *partitionedWindow
	newStates   func(ctx *Context) (windowStates, error)
	initialized bool
	prePrepared bool
}

func newPersistentWindowed(w *windowedExecutor) *persistentWindowed {
	return &persistentWindowed{windowedExecutor: w, newStates: openWindowStates}
}

// openWindowStates opens the three states of a task's window with Storm's
// namespaces.
func openWindowStates(ctx *Context) (windowStates, error) {
	ns := stateNamespace(ctx) + "-window"
	var sts [3]state.KeyValueState
	for i, suffix := range []string{"", "-partitions", "-systemstate"} {
		st, err := state.New(ns+suffix, ctx.Conf)
		if err != nil {
			closeStates(windowStates{sts[0], sts[1], sts[2]})
			return windowStates{}, err
		}
		sts[i] = st
	}
	return windowStates{partitions: sts[0], ids: sts[1], system: sts[2]}, nil
}

// noAckCollector drops the window executor's acks (the persistent executor
// acks each tuple itself) and remembers the tuple it last failed.
type noAckCollector struct {
	BoltCollector
	failed atomic.Pointer[Tuple]
}

func (c *noAckCollector) Ack(*Tuple) {}
func (c *noAckCollector) Fail(t *Tuple) {
	c.failed.Store(t)
	c.BoltCollector.Fail(t)
}

func (p *persistentWindowed) Prepare(ctx *Context, out BoltCollector) error {
	maxEvents, _, err := confInt(ctx.Conf, ConfMaxEventsInMemory)
	if err != nil {
		return fmt.Errorf("stateful windowed bolt %q: %w", ctx.ComponentID, err)
	}
	sts, err := p.newStates(ctx)
	if err != nil {
		return fmt.Errorf("stateful windowed bolt %q: window state: %w", ctx.ComponentID, err)
	}
	noAck := &noAckCollector{BoltCollector: out}
	if err := p.windowedExecutor.Prepare(ctx, noAck); err != nil {
		closeStates(sts)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acks, p.noAck = out, noAck
	p.window = &partitionedWindow{st: sts, capacity: partitionsInMemory(maxEvents)}
	p.m.store = p.window
	p.m.held = true                                               // until the state is initialised
	p.m.onExpiry = func([]*Tuple) {}                              // acked when saved, not when expired
	p.m.onActivation = func(w *TupleWindow) { p.bolt.Execute(w) } // no anchors
	return nil
}

func closeStates(w windowStates) {
	for _, st := range w.all() {
		if st != nil {
			st.Close()
		}
	}
}

func (p *persistentWindowed) Execute(t *Tuple) {
	p.windowedExecutor.Execute(t)
	if p.noAck.failed.Swap(nil) != t {
		p.acks.Ack(t) // at the next commit, through the stateful executor
	}
}

// InitState gives the bolt its state; preInitState has restored the
// window, and its triggers start now.
func (p *persistentWindowed) InitState(st state.KeyValueState) {
	p.bolt.(StatefulWindowedBolt).InitState(st)
	p.initialized = true
	p.m.held = false
}

// preInitState reads the window and its policies' state as last committed.
func (p *persistentWindowed) preInitState() error {
	if p.initialized {
		return nil // Storm ignores a second INITSTATE
	}
	return p.restore()
}

func (p *persistentWindowed) restore() error {
	events, system, err := p.window.load()
	if err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	p.m.queue, p.m.prev, p.m.expired = events, nil, nil
	if err := p.m.restoreManagerState(system); err != nil {
		return fmt.Errorf("window system state: %w", err)
	}
	return nil
}

// prePrepare writes the window and the policies' state and prepares the
// window states (Storm's prePrepare and WindowState.prepareCommit).
func (p *persistentWindowed) prePrepare(txid int64) error {
	if !p.initialized {
		return fmt.Errorf("Cannot prepare before initState")
	}
	system, err := p.m.managerState()
	if err == nil {
		err = p.window.flush(system)
	}
	for _, st := range p.window.st.all() {
		if err == nil {
			err = st.PrepareCommit(txid)
		}
	}
	if err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	p.prePrepared = true
	return nil
}

// preCommit commits the window states: before INITSTATE, the recovery's
// COMMIT of a transaction prepared before the crash (Storm's preCommit).
func (p *persistentWindowed) preCommit(txid int64) error {
	if p.initialized && !p.prePrepared {
		return fmt.Errorf("preCommit before prePrepare in initialized state")
	}
	for _, st := range p.window.st.all() {
		if err := st.Commit(txid); err != nil {
			return fmt.Errorf("window state: %w", err)
		}
	}
	return nil
}

// preRollback drops what was not committed and, once initialised, reads
// the window back as committed (Storm's WindowState.rollback(reInit)).
func (p *persistentWindowed) preRollback() error {
	var errs []error
	for _, st := range p.window.st.all() {
		errs = append(errs, st.Rollback())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	if !p.initialized {
		return nil
	}
	return p.restore()
}

func (p *persistentWindowed) Cleanup() {
	p.windowedExecutor.Cleanup()
	if p.window != nil {
		closeStates(p.window.st)
	}
}
