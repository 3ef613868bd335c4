package topology

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/localstorm/localstorm/topology/state"
)

// Checkpointing, as Storm's CheckpointSpout and CheckPointState: when a
// topology has stateful bolts, Build adds the checkpoint spout, which drives
// Storm's two-phase protocol over the $checkpoint stream: PREPARE and COMMIT
// every topology.state.checkpoint.interval.ms, and after a failure ROLLBACK
// then INITSTATE. Each action is one tracked tuple (message id = txid); the
// next one waits for its ack, and a fail starts recovery.

// Storm's checkpoint component, stream, fields and configuration key.
const (
	CheckpointComponent     = "$checkpointspout"
	CheckpointStream        = "$checkpoint"
	CheckpointFieldTxid     = "txid"
	CheckpointFieldAction   = "action"
	ConfCheckpointInterval  = "topology.state.checkpoint.interval.ms"
	DefaultCheckpointMillis = 1000 // Storm's defaults.yaml
	minCheckpointMillis     = 100  // Storm's floor
	checkpointStateKey      = "__state"
)

// CheckpointAction is the action of a checkpoint tuple (Storm's
// CheckPointState.Action), sent as its name.
type CheckpointAction string

// Storm's checkpoint actions.
const (
	ActionPrepare   CheckpointAction = "PREPARE"
	ActionCommit    CheckpointAction = "COMMIT"
	ActionRollback  CheckpointAction = "ROLLBACK"
	ActionInitState CheckpointAction = "INITSTATE"
)

// txPhase is the phase of the checkpoint transaction (Storm's CheckPointState.State).
type txPhase string

const (
	phasePreparing  txPhase = "PREPARING"
	phaseCommitting txPhase = "COMMITTING"
	phaseCommitted  txPhase = "COMMITTED"
)

// txState is the checkpoint spout's saved state: a transaction id and its phase.
type txState struct {
	Txid  int64   `json:"txid"`
	Phase txPhase `json:"state"`
}

// next is the state after the current action is acked (Storm's nextState).
func (s txState) next(recovering bool) txState {
	switch s.Phase {
	case phasePreparing:
		if recovering {
			return txState{s.Txid - 1, phaseCommitted}
		}
		return txState{s.Txid, phaseCommitting}
	case phaseCommitting:
		return txState{s.Txid, phaseCommitted}
	default:
		if recovering {
			return s
		}
		return txState{s.Txid + 1, phasePreparing}
	}
}

// action is the action to send in the current state (Storm's nextAction).
func (s txState) action(recovering bool) CheckpointAction {
	switch s.Phase {
	case phasePreparing:
		if recovering {
			return ActionRollback
		}
		return ActionPrepare
	case phaseCommitting:
		return ActionCommit
	default:
		if recovering {
			return ActionInitState
		}
		return ActionPrepare
	}
}

// checkpointSpout is Storm's CheckpointSpout (one task per topology).
type checkpointSpout struct {
	out         SpoutCollector
	store       state.KeyValueState
	cur         txState
	interval    time.Duration
	lastCheckpt time.Time
	now         func() time.Time
	recovering  bool
	inProgress  bool // the current step's tuple awaits its ack or fail
}

func newCheckpointSpout() Spout { return &checkpointSpout{now: time.Now} }

func (s *checkpointSpout) DeclareOutputFields(d OutputDeclarer) {
	d.DeclareStream(CheckpointStream, false, Fields{CheckpointFieldTxid, CheckpointFieldAction})
}

// checkpointInterval reads Storm's interval, with Storm's floor of 100 ms.
func checkpointInterval(conf map[string]any) (time.Duration, error) {
	ms, ok, err := confInt(conf, ConfCheckpointInterval)
	if err != nil {
		return 0, err
	}
	if !ok {
		ms = DefaultCheckpointMillis
	}
	return time.Duration(max(ms, minCheckpointMillis)) * time.Millisecond, nil
}

func (s *checkpointSpout) Open(ctx *Context, out SpoutCollector) error {
	interval, err := checkpointInterval(ctx.Conf)
	if err != nil {
		return err
	}
	st, err := state.New(ctx.ComponentID+"-"+strconv.Itoa(ctx.TaskID), ctx.Conf)
	if err != nil {
		return fmt.Errorf("checkpoint spout: %w", err)
	}
	return s.open(out, st, interval)
}

// open loads the saved transaction state (Storm starts at txid -1,
// committed) and begins in recovery.
func (s *checkpointSpout) open(out SpoutCollector, st state.KeyValueState, interval time.Duration) error {
	s.out, s.store, s.interval = out, st, interval
	if s.now == nil {
		s.now = time.Now
	}
	raw, ok, err := st.Get(checkpointStateKey)
	if err != nil {
		return fmt.Errorf("checkpoint spout: %w", err)
	}
	if ok {
		if err := json.Unmarshal(raw, &s.cur); err != nil {
			return fmt.Errorf("checkpoint spout: saved state %q: %w", raw, err)
		}
	} else if err := s.save(txState{-1, phaseCommitted}); err != nil {
		return err
	}
	s.recovering, s.inProgress = true, false
	return nil
}

func (s *checkpointSpout) save(st txState) error {
	raw, _ := json.Marshal(st)
	s.store.Put(checkpointStateKey, raw)
	if err := s.store.CommitNow(); err != nil {
		return fmt.Errorf("checkpoint spout: save %+v: %w", st, err)
	}
	s.cur = st
	return nil
}

func (s *checkpointSpout) NextTuple() {
	switch {
	case s.recovering && !s.inProgress:
		s.emit(s.cur.action(true))
	case !s.recovering && !s.inProgress && (s.cur.Phase != phaseCommitted || s.now().Sub(s.lastCheckpt) > s.interval):
		if s.cur.Phase == phaseCommitted {
			if !s.saveOrReport(s.cur.next(false)) {
				return
			}
			s.lastCheckpt = s.now()
		}
		s.emit(s.cur.action(false))
	}
}

func (s *checkpointSpout) emit(a CheckpointAction) {
	s.out.EmitStream(CheckpointStream, Values{s.cur.Txid, string(a)}, s.cur.Txid)
	s.inProgress = true
}

func (s *checkpointSpout) saveOrReport(st txState) bool {
	if err := s.save(st); err != nil {
		s.out.ReportError(err)
		return false
	}
	return true
}

func (s *checkpointSpout) Ack(msgID any) {
	s.inProgress = false
	if txid, ok := msgID.(int64); !ok || txid != s.cur.Txid {
		return // a stale ack (Storm logs the mismatch)
	}
	next := s.cur.next(s.recovering)
	if s.recovering && next == s.cur {
		s.recovering = false // INITSTATE acked: recovery is complete
		return
	}
	s.saveOrReport(next)
}

// Ready makes the checkpoint spout a ReadySpout: while a checkpoint is in
// flight only its ack or fail (which reach it anyway) moves it on; between
// checkpoints it sleeps until the next one is due.
func (s *checkpointSpout) Ready() <-chan struct{} {
	switch {
	case s.inProgress:
		return nil
	case s.recovering || s.cur.Phase != phaseCommitted:
		return ReadyAfter(0)
	}
	// NextTuple starts a checkpoint once more than the interval has passed.
	return ReadyAfter(s.interval - s.now().Sub(s.lastCheckpt) + time.Millisecond)
}

func (s *checkpointSpout) Fail(any) {
	s.inProgress = false
	s.recovering = true
}

func (s *checkpointSpout) Close() {
	if s.store != nil {
		s.store.Close()
	}
}
func (s *checkpointSpout) Activate()   {}
func (s *checkpointSpout) Deactivate() {}
