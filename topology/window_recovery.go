package topology

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/localstorm/localstorm/topology/state"
)

// Recovery of a stateful windowed bolt after a crash, as Storm's
// StatefulWindowedBoltExecutor. Besides the bolt's own state, the executor
// keeps a window state (namespace "<component>-<task>-window") that says,
// for each source task and stream, the greatest message id of a tuple that
// was new in an evaluated window (last evaluated) and of a tuple that left a
// window (last expired). It is prepared and committed with the bolt's state,
// in the same checkpoint transaction.
//
// After a restart the spouts replay every tuple not acked, which are the
// tuples still in a window and those whose expiry was not committed. While
// a stream has a saved window state, the executor is recovering it:
//   - a tuple up to last expired already left a committed window: acked;
//   - a tuple up to last evaluated was in a committed window: it rebuilds
//     the window (it is added) but does not count towards a trigger, so no
//     window evaluated and committed is evaluated again;
//   - the first tuple past last evaluated ends the recovery of its stream:
//     it waits, with the tuples of streams without saved state, until every
//     stream is recovered; then the triggers start and the waiting tuples
//     are executed as new ones.
//
// This relies, as Storm's does, on each source task replaying its tuples in
// the order of their message ids.

// windowState is what the executor saves per source task and stream
// (Storm's StatefulWindowedBoltExecutor.WindowState).
type windowState struct {
	LastExpired   int64 `json:"lastExpired"`
	LastEvaluated int64 `json:"lastEvaluated"`
}

// noWindowState is the state of a stream no window has seen yet.
var noWindowState = windowState{math.MinInt64, math.MinInt64}

// taskStream is a source task and stream, the key of a window state
// (Storm's TaskStream, with its GlobalStreamId).
type taskStream struct {
	SourceTask int          `json:"sourceTask"`
	StreamID   globalStream `json:"streamId"`
}

type globalStream struct {
	ComponentID string `json:"componentId"`
	StreamID    string `json:"streamId"`
}

func taskStreamOf(t *Tuple) taskStream {
	return taskStream{t.Task, globalStream{t.Component, t.Stream}}
}

// key is the state key of k: its JSON form.
func (k taskStream) key() string {
	b, _ := json.Marshal(k)
	return string(b)
}

// recoveryStep is what recovery does with a replayed tuple.
type recoveryStep int

const (
	recoverAck     recoveryStep = iota // it left a committed window
	recoverRebuild                     // it was in a committed window
	recoverDone                        // not evaluated yet: its stream is recovered
)

// step decides the fate of a tuple with message id msgID on a stream whose
// saved state is w (Storm's handleRecovery).
func (w windowState) step(msgID int64) recoveryStep {
	switch {
	case msgID <= w.LastExpired:
		return recoverAck
	case msgID <= w.LastEvaluated:
		return recoverRebuild
	}
	return recoverDone
}

// advance returns w moved past msgID, the id of a tuple that expired
// (expired) or was new in an evaluated window (Storm's getUpdatedState and
// updateStreamState: the greatest ids win).
func (w windowState) advance(msgID int64, expired bool) windowState {
	if expired {
		w.LastExpired = max(w.LastExpired, msgID)
	} else {
		w.LastEvaluated = max(w.LastEvaluated, msgID)
	}
	return w
}

// windowProgress is the window state an evaluated window brings, per
// stream, from its expired and new tuples, over saved (not modified).
func windowProgress(saved map[taskStream]windowState, expired, fresh []*Tuple, msgID func(*Tuple) int64) map[taskStream]windowState {
	out := map[taskStream]windowState{}
	for i, tuples := range [][]*Tuple{expired, fresh} {
		for _, t := range tuples {
			k := taskStreamOf(t)
			w, ok := out[k]
			if !ok {
				if w, ok = saved[k]; !ok {
					w = noWindowState
				}
			}
			out[k] = w.advance(msgID(t), i == 0)
		}
	}
	return out
}

// messageIDField reads the message id field a stateful windowed bolt needs.
func messageIDField(conf map[string]any) (string, error) {
	f, _ := conf[ConfMessageIDField].(string)
	if f == "" {
		return "", fmt.Errorf("%s is not set", ConfMessageIDField)
	}
	return f, nil
}

// statefulWindowed is a windowed executor whose bolt has state, with
// Storm's recovery (see the top of this file). The stateful executor
// around it drives its window state through checkpointParticipant, and
// calls its methods holding its mutex (checkpointLock), except Execute.
type statefulWindowed struct {
	*windowedExecutor
	msgIDField     string
	windowState    state.KeyValueState
	newWindowState func(ctx *Context) (state.KeyValueState, error)
	recovering     map[taskStream]windowState // streams still recovering
	waiting        []*Tuple                   // tuples held until recovery ends
	initialized    bool
	prePrepared    bool
}

func newStatefulWindowed(w *windowedExecutor) *statefulWindowed {
	return &statefulWindowed{windowedExecutor: w, newWindowState: func(ctx *Context) (state.KeyValueState, error) {
		return state.New(stateNamespace(ctx)+"-window", ctx.Conf)
	}}
}

func (s *statefulWindowed) Prepare(ctx *Context, out BoltCollector) error {
	field, err := messageIDField(ctx.Conf)
	if err != nil {
		return fmt.Errorf("stateful windowed bolt: %w", err)
	}
	ws, err := s.newWindowState(ctx)
	if err != nil {
		return fmt.Errorf("stateful windowed bolt %q: window state: %w", ctx.ComponentID, err)
	}
	if err := s.windowedExecutor.Prepare(ctx, out); err != nil {
		ws.Close()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgIDField, s.windowState = field, ws
	s.m.held = true // until the state is initialised and recovered
	activate := s.m.onActivation
	s.m.onActivation = func(w *TupleWindow) {
		activate(w)
		s.saveProgress(w)
	}
	return nil
}

// InitState gives the bolt its state; preInitState has read the window
// state, and the triggers start now unless a stream is to be recovered.
func (s *statefulWindowed) InitState(st state.KeyValueState) {
	s.bolt.(StatefulWindowedBolt).InitState(st)
	s.initialized = true
	s.m.held = len(s.recovering) > 0
}

func (s *statefulWindowed) Execute(t *Tuple) {
	id, ok := timestampOf(t, s.msgIDField) // an integer field, read as timestamps are
	if !ok {
		s.out.ReportError(fmt.Errorf("stateful windowed bolt: tuple from %s/%s has no integer message id field %q", t.Component, t.Stream, s.msgIDField))
		s.out.Fail(t)
		return
	}
	s.mu.Lock()
	run := s.recover(t, id)
	s.mu.Unlock()
	for _, r := range run {
		s.windowedExecutor.Execute(r)
	}
}

// recover applies recovery to t and returns the tuples to execute now.
func (s *statefulWindowed) recover(t *Tuple, id int64) []*Tuple {
	if len(s.recovering) == 0 {
		return []*Tuple{t}
	}
	k := taskStreamOf(t)
	w, ok := s.recovering[k]
	if !ok {
		s.waiting = append(s.waiting, t)
		return nil
	}
	switch w.step(id) {
	case recoverAck:
		s.out.Ack(t) // at the next commit, through the stateful executor
		return nil
	case recoverRebuild:
		return []*Tuple{t}
	}
	s.waiting = append(s.waiting, t)
	delete(s.recovering, k)
	if len(s.recovering) > 0 {
		return nil
	}
	s.m.held = false
	run := s.waiting
	s.waiting = nil
	return run
}

// saveProgress records in the window state what the evaluated window w
// brings (Storm's updateWindowState).
func (s *statefulWindowed) saveProgress(w *TupleWindow) {
	saved := map[taskStream]windowState{}
	for _, t := range slices.Concat(w.Expired, w.New) {
		k := taskStreamOf(t)
		if _, done := saved[k]; done {
			continue
		}
		ws, ok, err := s.loadWindowState(k)
		if err != nil {
			s.out.ReportError(fmt.Errorf("stateful windowed bolt: window state of %s/%s task %d: %w", k.StreamID.ComponentID, k.StreamID.StreamID, k.SourceTask, err))
			return
		}
		if ok {
			saved[k] = ws
		} else {
			saved[k] = noWindowState
		}
	}
	msgID := func(t *Tuple) int64 {
		id, _ := timestampOf(t, s.msgIDField)
		return id
	}
	for k, ws := range windowProgress(saved, w.Expired, w.New, msgID) {
		raw, _ := json.Marshal(ws)
		s.windowState.Put(k.key(), raw)
	}
}

func (s *statefulWindowed) loadWindowState(k taskStream) (windowState, bool, error) {
	raw, ok, err := s.windowState.Get(k.key())
	if err != nil || !ok {
		return windowState{}, false, err
	}
	var w windowState
	if err := json.Unmarshal(raw, &w); err != nil {
		return windowState{}, false, fmt.Errorf("saved %q: %w", raw, err)
	}
	return w, true, nil
}

// preInitState reads the saved window state of every input task and
// stream: those found are to be recovered (Storm's initState).
func (s *statefulWindowed) preInitState() error {
	if s.initialized {
		return nil // Storm ignores a second INITSTATE
	}
	s.recovering = map[taskStream]windowState{}
	for _, in := range s.ctx.Definition.Bolts[s.ctx.ComponentID].Inputs {
		if in.Stream == CheckpointStream {
			continue
		}
		for _, task := range s.ctx.ComponentTasks[in.Component] {
			k := taskStream{task, globalStream{in.Component, in.Stream}}
			w, ok, err := s.loadWindowState(k)
			if err != nil {
				return fmt.Errorf("window state of %s/%s task %d: %w", in.Component, in.Stream, task, err)
			}
			if ok {
				s.recovering[k] = w
			}
		}
	}
	return nil
}

// prePrepare prepares the window state, unless the bolt is recovering
// (Storm's prePrepare).
func (s *statefulWindowed) prePrepare(txid int64) error {
	if !s.initialized || len(s.recovering) > 0 {
		return nil
	}
	if err := s.windowState.PrepareCommit(txid); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	s.prePrepared = true
	return nil
}

// preCommit commits the window state: before INITSTATE, the recovery's
// COMMIT of a transaction prepared before the crash; after it, once a
// prepare happened and recovery is over (Storm's preCommit).
func (s *statefulWindowed) preCommit(txid int64) error {
	if s.initialized && (len(s.recovering) > 0 || !s.prePrepared) {
		return nil
	}
	if err := s.windowState.Commit(txid); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	return nil
}

func (s *statefulWindowed) preRollback() error {
	if err := s.windowState.Rollback(); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	return nil
}

func (s *statefulWindowed) Cleanup() {
	s.windowedExecutor.Cleanup()
	if s.windowState != nil {
		s.windowState.Close()
	}
}
