package topology

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// WrapWindowedBolt runs a WindowedBolt as a Bolt, as Storm's
// WindowedBoltExecutor does. The window comes from the component's
// configuration (Storm's topology.bolts.window.* keys, which
// SetWindowedBolt's options set). Each input tuple joins the window and is
// acked when it expires from it; a tuple that arrives behind the watermark
// is emitted on the late tuple stream when there is one, and acked. Emits
// are anchored to every tuple of the window. A bolt built with
// WrapWindowedBolt and a late tuple stream must declare that stream itself
// (SetWindowedBolt declares it).
func WrapWindowedBolt(b WindowedBolt) Bolt { return newWindowedExecutor(b, "") }

func newWindowedExecutor(b WindowedBolt, late string) *windowedExecutor {
	return &windowedExecutor{bolt: b, declaredLate: late, clock: func() int64 { return time.Now().UnixMilli() }}
}

type windowedExecutor struct {
	bolt         WindowedBolt
	declaredLate string
	clock        func() int64 // processing time in ms

	// mu serialises the executor goroutine (Execute) and the timer goroutine
	// (time triggers and watermarks): the manager and the collector see one
	// call at a time.
	mu      sync.Mutex
	ctx     *Context
	out     BoltCollector
	spec    windowSpec
	m       *windowManager
	wm      *watermarkGenerator
	tt      *timeTrigger
	anchors []*Tuple // the tuples of the window being executed
	// stopTimer stops the clock's calls of the time trigger or the
	// watermark generator (nil when the window needs neither).
	stopTimer func()
	broken    bool // a timer call panicked: no further calls
}

func (e *windowedExecutor) DeclareOutputFields(d OutputDeclarer) {
	if e.declaredLate != "" {
		d.DeclareStream(e.declaredLate, false, Fields{LateTupleField})
	}
	e.bolt.DeclareOutputFields(d)
}

func (e *windowedExecutor) Prepare(ctx *Context, out BoltCollector) error {
	spec, err := readWindowSpec(ctx.Conf)
	if err != nil {
		return fmt.Errorf("windowed bolt: %w", err)
	}
	if spec.lateStream != "" {
		if _, ok := ctx.Outputs[ctx.ComponentID][spec.lateStream]; !ok {
			return fmt.Errorf("windowed bolt: Stream for late tuples must be defined with the builder method withLateTupleStream")
		}
	}
	e.ctx, e.out, e.spec = ctx, out, spec
	clock := clockOf(ctx)
	if clock != WallClock {
		e.clock = func() int64 { return clock.Now().UnixMilli() }
	}
	e.m = newWindowManager(spec, e.clock, e.expire, e.activate)
	if spec.tsField != "" {
		e.wm = &watermarkGenerator{m: e.m, lagMs: spec.lagMs, inputs: countInputs(ctx), streamTs: map[streamID]int64{}}
	}
	e.tt, _ = e.m.trigger.(*timeTrigger)
	if err := e.bolt.Prepare(ctx, windowCollector{e}); err != nil {
		return err
	}
	// A time trigger (processing time) and a watermark generator (event
	// time) never go together: one timer at most.
	switch {
	case e.tt != nil:
		e.stopTimer = clock.Every(time.Duration(e.tt.slideMs)*time.Millisecond, func() { e.onTimer(e.tt.fire) })
	case e.wm != nil:
		e.stopTimer = clock.Every(time.Duration(e.spec.watermarkMs)*time.Millisecond, func() { e.onTimer(e.wm.run) })
	}
	return nil
}

// newWindowManager makes the manager with the policies spec asks for, as
// Storm's WindowedBoltExecutor.initWindowManager.
func newWindowManager(spec windowSpec, clock func() int64, onExpiry func([]*Tuple), onActivation func(*TupleWindow)) *windowManager {
	m := &windowManager{now: clock, lengthMs: spec.lengthMs, onExpiry: onExpiry, onActivation: onActivation}
	eventTime := spec.tsField != ""
	switch {
	case spec.lengthCount > 0 && eventTime:
		m.eviction = &watermarkCountEviction{countEviction: countEviction{threshold: spec.lengthCount}}
	case spec.lengthCount > 0:
		m.eviction = &countEviction{threshold: spec.lengthCount}
	case eventTime:
		m.eviction = &watermarkTimeEviction{timeEviction: timeEviction{lengthMs: spec.lengthMs, now: clock}, lagMs: spec.lagMs}
	default:
		m.eviction = &timeEviction{lengthMs: spec.lengthMs, now: clock}
	}
	switch {
	case spec.slideCount > 0 && eventTime:
		m.trigger = &watermarkCountTrigger{count: spec.slideCount, m: m}
	case spec.slideCount > 0:
		m.trigger = &countTrigger{count: spec.slideCount, m: m}
	case eventTime:
		m.trigger = &watermarkTimeTrigger{slideMs: spec.slideMs, m: m}
	default:
		m.trigger = &timeTrigger{slideMs: spec.slideMs, m: m}
	}
	return m
}

// countInputs is the number of streams the bolt subscribes to (a watermark
// waits for a tuple from each), 0 when the definition is not given.
func countInputs(ctx *Context) int {
	if ctx.Definition == nil || ctx.Definition.Bolts[ctx.ComponentID] == nil {
		return 0
	}
	seen := map[streamID]bool{}
	for _, in := range ctx.Definition.Bolts[ctx.ComponentID].Inputs {
		if in.Stream == CheckpointStream {
			continue // checkpoints stop at the stateful executor or forwarder
		}
		seen[streamID{in.Component, in.Stream}] = true
	}
	return len(seen)
}

func (e *windowedExecutor) Execute(t *Tuple) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.wm == nil {
		e.m.add(t, e.clock())
		return
	}
	ts, ok := timestampOf(t, e.spec.tsField)
	if !ok {
		e.out.ReportError(fmt.Errorf("windowed bolt: tuple from %s/%s has no integer timestamp field %q", t.Component, t.Stream, e.spec.tsField))
		e.out.Fail(t)
		return
	}
	if e.wm.track(streamID{t.Component, t.Stream}, ts) {
		e.m.add(t, ts)
		return
	}
	if e.spec.lateStream != "" {
		e.out.EmitStream(e.spec.lateStream, []*Tuple{t}, Values{[]any(t.Values)})
	}
	e.out.Ack(t)
}

// timestampOf reads an integer timestamp (ms) from field.
func timestampOf(t *Tuple, field string) (int64, bool) {
	switch v := t.Value(field).(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint64:
		return int64(v), true
	case uint32:
		return int64(v), true
	case float64:
		return int64(v), v == float64(int64(v))
	}
	return 0, false
}

func (e *windowedExecutor) expire(tuples []*Tuple) {
	for _, t := range tuples {
		e.out.Ack(t)
	}
}

func (e *windowedExecutor) activate(w *TupleWindow) {
	e.anchors = w.Tuples
	defer func() { e.anchors = nil }()
	e.bolt.Execute(w)
}

// onTimer runs the time trigger or the watermark generator from the
// clock's goroutine; a panic there stops the worker (ctx.Fatal).
func (e *windowedExecutor) onTimer(run func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.broken {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.broken = true
			err := fmt.Errorf("windowed bolt %q: panicked: %v\n%s", e.ctx.ComponentID, r, debug.Stack())
			e.out.ReportError(err)
			if e.ctx.Fatal != nil {
				e.ctx.Fatal(err)
			}
		}
	}()
	run()
}

func (e *windowedExecutor) Cleanup() {
	if e.stopTimer != nil {
		e.stopTimer()
	}
	e.bolt.Cleanup()
}

// windowCollector anchors a windowed bolt's emits to its window.
type windowCollector struct{ e *windowedExecutor }

func (c windowCollector) Emit(values Values) []int {
	return c.e.out.EmitStream(DefaultStream, c.e.anchors, values)
}

func (c windowCollector) EmitStream(stream string, values Values) []int {
	return c.e.out.EmitStream(stream, c.e.anchors, values)
}

func (c windowCollector) EmitDirect(task int, stream string, values Values) {
	c.e.out.EmitDirect(task, stream, c.e.anchors, values)
}

func (c windowCollector) ReportError(err error) { c.e.out.ReportError(err) }
