package topology

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/localstorm/localstorm/topology/state"
)

// Stateful bolts, as Storm's IStatefulBolt and StatefulBoltExecutor: the
// bolt's state is given to it by InitState once the checkpoint protocol has
// recovered it; the tuples it acks are acked to their spouts only when the
// checkpoint that saved their effect commits, and failed on rollback, so a
// replay after a crash meets the state as it was before them (exactly-once
// state for acked input).

// StatefulBolt is a bolt with state (Storm's IStatefulBolt). Tuples arrive
// only after InitState; Ack defers the ack to the next commit.
type StatefulBolt interface {
	Bolt
	// InitState gives the bolt its state, as last committed.
	InitState(s state.KeyValueState)
}

// CheckpointHooks are optional hooks of a stateful bolt, called before the
// state's own prepare, commit and rollback (Storm's IStatefulComponent).
type CheckpointHooks interface {
	PrePrepare(txid int64)
	PreCommit(txid int64)
	PreRollback()
}

// StatefulWindowedBolt is a windowed bolt with state (Storm's
// IStatefulWindowedBolt): the tuples that leave its windows are acked at
// the next commit.
type StatefulWindowedBolt interface {
	WindowedBolt
	InitState(s state.KeyValueState)
}

// SetStatefulBolt declares a stateful bolt. Build then adds the checkpoint
// spout and the $checkpoint stream through every bolt, as Storm's
// TopologyBuilder does.
func (b *Builder) SetStatefulBolt(id string, factory func() StatefulBolt, parallelism int) *BoltDeclarer {
	var f func() Bolt
	if factory != nil {
		f = func() Bolt { return newStatefulExecutor(factory()) }
	}
	d := b.SetBolt(id, f, parallelism)
	d.def.Stateful = true
	return d
}

// SetStatefulWindowedBolt declares a stateful windowed bolt (see
// SetWindowedBolt for the window options and SetStatefulBolt for the state).
// With WithPersistence, the window itself is kept in the state (see
// window_persistent.go). Without it, WithMessageIdField is required, as
// Storm requires withMessageIdField: after
// a crash, windows evaluated and committed before it are rebuilt from the
// replayed tuples without being evaluated again (see window_recovery.go).
func (b *Builder) SetStatefulWindowedBolt(id string, factory func() StatefulWindowedBolt, parallelism int, opts ...WindowOption) *BoltDeclarer {
	var wf func() WindowedBolt
	if factory != nil {
		wf = func() WindowedBolt { return factory() }
	}
	d := b.SetWindowedBolt(id, wf, parallelism, opts...)
	conf := map[string]any{}
	for _, o := range opts {
		o(conf)
	}
	persistent, _ := conf[ConfWindowPersistence].(bool)
	if factory != nil {
		inner := d.factory
		d.factory = func() Bolt {
			w := inner().(*windowedExecutor)
			if persistent {
				return newStatefulExecutor(newPersistentWindowed(w))
			}
			return newStatefulExecutor(newStatefulWindowed(w))
		}
	}
	d.def.Stateful = true
	return d
}

// checkpointLock makes the checkpoint steps exclusive with the window's
// timer goroutine (one collector call at a time, no window half applied
// at prepare).
func (s *statefulWindowed) checkpointLock() sync.Locker { return &s.mu }

// wireCheckpoints adds the checkpoint spout and the $checkpoint inputs and
// outputs when def has a stateful bolt (Storm's TopologyBuilder
// createTopology), and wraps every other bolt factory so that it forwards
// checkpoint tuples (Storm's CheckpointTupleForwarder).
func wireCheckpoints(def *Definition, spouts map[string]func() Spout, bolts map[string]func() Bolt) error {
	stateful := false
	for _, c := range def.Bolts {
		stateful = stateful || c.Stateful
	}
	if !stateful {
		return nil
	}
	if def.component(CheckpointComponent) != nil {
		return fmt.Errorf("component id %q is reserved for the checkpoint spout of a topology with stateful bolts", CheckpointComponent)
	}
	def.Spouts[CheckpointComponent] = &ComponentDef{ID: CheckpointComponent, Parallelism: 1, NumTasks: 1,
		Outputs: map[string]StreamDef{CheckpointStream: checkpointStreamDef()}}
	spouts[CheckpointComponent] = newCheckpointSpout
	for _, id := range slices.Sorted(maps.Keys(def.Bolts)) {
		c := def.Bolts[id]
		if _, taken := c.Outputs[CheckpointStream]; taken {
			return fmt.Errorf("bolt %q: stream id %q is reserved for checkpoints in a topology with stateful bolts", id, CheckpointStream)
		}
		c.Outputs[CheckpointStream] = checkpointStreamDef()
		sources := map[string]bool{}
		for _, in := range c.Inputs {
			src := in.Component
			if def.Spouts[src] != nil {
				src = CheckpointComponent
			}
			sources[src] = true
		}
		for _, src := range slices.Sorted(maps.Keys(sources)) {
			c.Inputs = append(c.Inputs, InputDef{Component: src, Stream: CheckpointStream, Grouping: Grouping{Type: GroupAll}})
		}
		if f := bolts[id]; f != nil && !c.Stateful {
			bolts[id] = func() Bolt { return newCheckpointForwarder(f()) }
		}
	}
	return nil
}

func checkpointStreamDef() StreamDef {
	return StreamDef{Fields: Fields{CheckpointFieldTxid, CheckpointFieldAction}}
}

// subscribesToCheckpoints reports whether bolt c takes the $checkpoint stream.
func (c *ComponentDef) subscribesToCheckpoints() bool {
	for _, in := range c.Inputs {
		if in.Stream == CheckpointStream {
			return true
		}
	}
	return false
}

// ValidateState checks the state configuration of a topology with stateful
// bolts: the provider (Storm's class names) and its configuration, and the
// checkpoint interval. Nimbus calls it at submit, so an unknown provider is
// refused before any worker starts.
func ValidateState(d *Definition, topoConf map[string]any) error {
	if d.Spouts[CheckpointComponent] == nil {
		return nil
	}
	if _, err := checkpointInterval(topoConf); err != nil {
		return err
	}
	return state.Validate(topoConf)
}

// stateNamespace is a task's state namespace, "<component>-<task>" as Storm's.
func stateNamespace(ctx *Context) string { return ctx.ComponentID + "-" + strconv.Itoa(ctx.TaskID) }
