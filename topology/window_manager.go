package topology

import "math"

// The window manager and its trigger and eviction policies, after Storm's
// org.apache.storm.windowing (WindowManager, Count/Time/Watermark*Policy,
// WaterMarkEventGenerator). Time is in milliseconds: processing time from
// the manager's clock, or event time from a tuple's timestamp field. The
// manager is not safe for concurrent use; the windowed bolt executor
// serialises every call.

// windowEvent is one tuple in the manager's queue, or a watermark.
type windowEvent struct {
	t         *Tuple
	ts        int64
	watermark bool
	// part is the window partition that holds the event in a persistent
	// windowed bolt's state; removed is set when it left the window.
	part    int64
	removed bool
}

// evictAction is what an eviction policy says of one event.
type evictAction int

const (
	actProcess evictAction = iota // in the window
	actExpire                     // out of the window for good
	actKeep                       // not in this window, maybe in a later one
	actStop                       // this and every later event stay (stop scanning)
)

// evictionContext is Storm's EvictionContext: the reference time of a
// window (its end), and the counts the watermark count policy needs.
type evictionContext struct {
	ref          int64
	slide        int64 // the sliding interval in ms when a timer triggers, else 0
	currentCount int64 // -1 when unknown
	slidingCount int64
}

type evictionPolicy interface {
	evict(ev *windowEvent) evictAction
	track(ev *windowEvent)
	setContext(c *evictionContext)
	context() *evictionContext
	policyState
}

type triggerPolicy interface {
	track(ev *windowEvent)
	reset()
	policyState
}

// windowManager holds the queue of events and activates windows when its
// trigger policy fires, as Storm's WindowManager.
type windowManager struct {
	now      func() int64 // processing time, ms
	queue    []*windowEvent
	prev     map[*windowEvent]bool // the events of the last window
	expired  []*Tuple              // expired since the last window
	eviction evictionPolicy
	trigger  triggerPolicy
	// lengthMs is the window length when it is a duration (for a window's
	// start timestamp), else 0.
	lengthMs    int64
	sinceExpiry int
	// onExpiry receives the tuples that leave the window (acked by the executor).
	onExpiry func([]*Tuple)
	// onActivation receives each non-empty window.
	onActivation func(w *TupleWindow)
	// held keeps the trigger policy from firing and watermarks from being
	// generated, as Storm's policies before start(): a stateful windowed
	// bolt rebuilds its windows from replayed tuples first.
	held bool
	// store, when set, keeps the queue in a persistent windowed bolt's
	// state (Storm's StatefulWindowManager over a WindowState): it sees
	// every event added and removed; windows then carry no new and expired
	// tuples, and nothing is expired between windows.
	store windowStore
}

// windowStore is told of the events a window manager adds and removes.
type windowStore interface {
	added(ev *windowEvent)
	removed(evs []*windowEvent)
	// tuple returns the tuple of ev, which may be kept out of memory.
	tuple(ev *windowEvent) *Tuple
}

// compactEvery is how many additions trigger a scan for expired events
// between windows (Storm's EXPIRE_EVENTS_THRESHOLD).
const compactEvery = 100

// add queues a tuple with timestamp ts (ms) and lets the policies track it.
func (m *windowManager) add(t *Tuple, ts int64) {
	ev := &windowEvent{t: t, ts: ts}
	m.queue = append(m.queue, ev)
	if m.store != nil {
		m.store.added(ev)
	}
	m.track(ev)
	m.compact()
}

// addWatermark tells the policies that no event older than ts is to come.
func (m *windowManager) addWatermark(ts int64) {
	m.track(&windowEvent{ts: ts, watermark: true})
}

func (m *windowManager) track(ev *windowEvent) {
	m.eviction.track(ev)
	if !m.held {
		m.trigger.track(ev)
	}
}

func (m *windowManager) compact() {
	if m.store != nil {
		return // as Storm's StatefulWindowManager: expiry at the next window only
	}
	m.sinceExpiry++
	if m.sinceExpiry >= compactEvery {
		m.scan(false)
	}
}

// onTrigger activates the window the eviction policy's context describes.
// It reports whether the window had any tuple (an empty one is skipped).
func (m *windowManager) onTrigger() bool {
	events := m.scan(true)
	expired := m.expired
	m.expired = nil
	var tuples, fresh []*Tuple
	for _, ev := range events {
		t := ev.t
		if m.store != nil {
			t = m.store.tuple(ev)
		}
		tuples = append(tuples, t)
		if !m.prev[ev] {
			fresh = append(fresh, ev.t)
		}
	}
	m.prev = make(map[*windowEvent]bool, len(events))
	if len(tuples) > 0 {
		for _, ev := range events {
			m.prev[ev] = true
		}
		w := &TupleWindow{Tuples: tuples, New: fresh, Expired: expired}
		if m.store != nil {
			w.New, w.Expired = nil, nil // as Storm's, which has no new and expired tuples to give then
		}
		if c := m.eviction.context(); c != nil {
			w.EndTs = c.ref
		} else {
			w.EndTs = m.now()
		}
		if m.lengthMs > 0 {
			w.StartTs = w.EndTs - m.lengthMs
		}
		m.onActivation(w)
	}
	m.trigger.reset()
	return len(tuples) > 0
}

// scan removes the expired events from the queue (reporting them to
// onExpiry) and, on a full scan, returns the events of the window.
func (m *windowManager) scan(full bool) []*windowEvent {
	var expire []*Tuple
	var expireEvents, process []*windowEvent
	kept := m.queue[:0]
	stopped := false
	for _, ev := range m.queue {
		if stopped {
			kept = append(kept, ev)
			continue
		}
		switch m.eviction.evict(ev) {
		case actExpire:
			expire = append(expire, ev.t)
			expireEvents = append(expireEvents, ev)
			continue
		case actProcess:
			if full {
				process = append(process, ev)
			} else {
				stopped = true
			}
		case actStop:
			stopped = true
		case actKeep:
			if !full {
				stopped = true
			}
		}
		kept = append(kept, ev)
	}
	clear(m.queue[len(kept):])
	m.queue = kept
	m.expired = append(m.expired, expire...)
	m.sinceExpiry = 0
	if m.store != nil && len(expireEvents) > 0 {
		m.store.removed(expireEvents)
	}
	if len(expire) > 0 {
		m.onExpiry(expire)
	}
	return process
}

// eventCount is the number of queued events with a timestamp up to ts.
func (m *windowManager) eventCount(ts int64) int64 {
	var n int64
	for _, ev := range m.queue {
		if ev.ts <= ts {
			n++
		}
	}
	return n
}

// earliestEventTs is the least timestamp in (start, end], MaxInt64 if none.
func (m *windowManager) earliestEventTs(start, end int64) int64 {
	min := int64(math.MaxInt64)
	for _, ev := range m.queue {
		if ev.ts > start && ev.ts <= end && ev.ts < min {
			min = ev.ts
		}
	}
	return min
}

// slidingCountTimestamps returns, for every count-th event with a timestamp
// in (start, end] in queue order, the greatest timestamp seen so far: the
// ends of the count windows a watermark at end completes.
func (m *windowManager) slidingCountTimestamps(start, end int64, count int64) []int64 {
	var out []int64
	if end <= start {
		return out
	}
	var n int64
	ts := int64(math.MinInt64)
	for _, ev := range m.queue {
		if ev.ts > start && ev.ts <= end {
			ts = max(ts, ev.ts)
			n++
			if n%count == 0 {
				out = append(out, ts)
			}
		}
	}
	return out
}

// ---- eviction policies ----

// countEviction keeps the last threshold events (Storm's CountEvictionPolicy).
type countEviction struct {
	threshold int64
	current   int64
	ctx       *evictionContext
}

func (p *countEviction) evict(*windowEvent) evictAction {
	if p.current > p.threshold {
		p.current--
		return actExpire
	}
	return actProcess
}

func (p *countEviction) track(ev *windowEvent) {
	if !ev.watermark {
		p.current++
	}
}

func (p *countEviction) setContext(c *evictionContext) { p.ctx = c }
func (p *countEviction) context() *evictionContext     { return p.ctx }

// timeEviction keeps the events of the last lengthMs before the reference
// time (Storm's TimeEvictionPolicy); delta adjusts the window by the drift of
// the trigger's timer, so that a window starts where the previous one's
// reference time says it should, however late or early the timer fired.
type timeEviction struct {
	lengthMs int64
	delta    int64
	ctx      *evictionContext
	now      func() int64
}

func (p *timeEviction) evict(ev *windowEvent) evictAction {
	ref := p.now()
	if p.ctx != nil {
		ref = p.ctx.ref
	}
	diff := ref - ev.ts
	switch {
	case diff >= p.lengthMs+p.delta:
		return actExpire
	case diff < 0:
		return actKeep
	}
	return actProcess
}

func (p *timeEviction) track(*windowEvent) {}

// firstWindowDelta is the delta of the first time-triggered window: it
// holds every event queued so far, as Storm's (Integer.MAX_VALUE there).
// Without it, tuples that arrived just after the trigger's timer started
// are a full window length old when it first fires, and would expire
// without ever being in a window.
const firstWindowDelta = math.MaxInt32

func (p *timeEviction) setContext(c *evictionContext) {
	prev := p.ctx
	p.ctx = c
	if c.slide <= 0 {
		return
	}
	if prev == nil {
		p.delta = firstWindowDelta
		return
	}
	// Negative when the timer fired early (or the previous fire was late):
	// the window then starts at the previous reference time plus the slide
	// minus its length, so that tumbling windows neither overlap nor skip.
	p.delta = c.ref - prev.ref - c.slide
}

func (p *timeEviction) context() *evictionContext { return p.ctx }

// watermarkTimeEviction is the time eviction of event time (Storm's
// WatermarkTimeEvictionPolicy): events past the window end by more than the
// lag stop the scan.
type watermarkTimeEviction struct {
	timeEviction
	lagMs int64
}

func (p *watermarkTimeEviction) evict(ev *windowEvent) evictAction {
	if p.ctx == nil {
		return actStop // no watermark yet: hold everything
	}
	diff := p.ctx.ref - ev.ts
	switch {
	case diff < -p.lagMs:
		return actStop
	case diff < 0:
		return actKeep
	}
	return p.timeEviction.evict(ev)
}

func (p *watermarkTimeEviction) setContext(c *evictionContext) { p.ctx = c }

// watermarkCountEviction is the count eviction of event time (Storm's
// WatermarkCountEvictionPolicy): it counts only events up to the window end.
type watermarkCountEviction struct {
	countEviction
	processed int64
}

func (p *watermarkCountEviction) evict(ev *windowEvent) evictAction {
	if p.ctx == nil {
		return actStop
	}
	if ev.ts <= p.ctx.ref && p.processed < p.current {
		a := p.countEviction.evict(ev)
		if a == actProcess {
			p.processed++
		}
		return a
	}
	return actKeep
}

func (p *watermarkCountEviction) track(*windowEvent) {}

func (p *watermarkCountEviction) setContext(c *evictionContext) {
	p.ctx = c
	if c.currentCount >= 0 {
		p.current = c.currentCount
	} else {
		p.current = p.processed + c.slidingCount
	}
	p.processed = 0
}

// ---- trigger policies ----

// countTrigger fires every count tuples (Storm's CountTriggerPolicy).
type countTrigger struct {
	count, current int64
	m              *windowManager
}

func (p *countTrigger) track(ev *windowEvent) {
	if ev.watermark {
		return
	}
	p.current++
	if p.current >= p.count {
		p.m.eviction.setContext(&evictionContext{ref: p.m.now(), currentCount: -1})
		p.m.onTrigger()
	}
}

func (p *countTrigger) reset() { p.current = 0 }

// timeTrigger fires every slideMs of processing time (Storm's
// TimeTriggerPolicy); the executor calls fire from its timer.
type timeTrigger struct {
	slideMs int64
	m       *windowManager
}

func (p *timeTrigger) track(*windowEvent) {}
func (p *timeTrigger) reset()             {}

func (p *timeTrigger) fire() {
	if p.m.held {
		return
	}
	// As Storm's: the window ends 1 ms before now, so that a tuple that
	// arrives in the trigger's millisecond, after it fired, is in the next
	// window rather than expired from this one unseen.
	p.m.eviction.setContext(&evictionContext{ref: p.m.now() - 1, slide: p.slideMs, currentCount: -1})
	p.m.onTrigger()
}

// watermarkTimeTrigger fires, on each watermark, every window whose end the
// watermark has passed, aligned on the sliding interval (Storm's
// WatermarkTimeTriggerPolicy).
type watermarkTimeTrigger struct {
	slideMs int64
	nextEnd int64
	m       *windowManager
}

func (p *watermarkTimeTrigger) reset() {}

func (p *watermarkTimeTrigger) track(ev *windowEvent) {
	if !ev.watermark {
		return
	}
	end := p.nextEnd
	for end <= ev.ts {
		p.m.eviction.setContext(&evictionContext{ref: end, currentCount: p.m.eventCount(end)})
		if p.m.onTrigger() {
			end += p.slideMs
			continue
		}
		// An empty window: jump to the first window end that has an event.
		next := p.m.earliestEventTs(end, ev.ts)
		if next == math.MaxInt64 {
			break
		}
		if r := next % p.slideMs; r != 0 {
			next += p.slideMs - r
		}
		end = next
	}
	p.nextEnd = end
}

// watermarkCountTrigger fires, on each watermark, a window for every count
// events up to the watermark (Storm's WatermarkCountTriggerPolicy).
type watermarkCountTrigger struct {
	count         int64
	lastProcessed int64
	m             *windowManager
}

func (p *watermarkCountTrigger) reset() {}

func (p *watermarkCountTrigger) track(ev *windowEvent) {
	if !ev.watermark {
		return
	}
	for _, ts := range p.m.slidingCountTimestamps(p.lastProcessed, ev.ts, p.count) {
		p.m.eviction.setContext(&evictionContext{ref: ts, currentCount: -1, slidingCount: p.count})
		p.m.onTrigger()
		p.lastProcessed = ts
	}
}

// ---- watermarks ----

// watermarkGenerator tracks the greatest timestamp seen on each input
// stream and, every watermark interval, emits a watermark at the least of
// them minus the lag, once every input stream has been seen (Storm's
// WaterMarkEventGenerator). A tuple older than the last watermark is late.
type watermarkGenerator struct {
	m             *windowManager
	lagMs         int64
	inputs        int // number of input streams
	streamTs      map[streamID]int64
	lastWatermark int64
}

type streamID struct{ component, stream string }

// track records ts for the tuple's stream and reports whether the tuple is
// in time (not late).
func (g *watermarkGenerator) track(s streamID, ts int64) bool {
	if cur, ok := g.streamTs[s]; !ok || ts > cur {
		g.streamTs[s] = ts
	}
	return ts >= g.lastWatermark
}

// run computes the watermark and, when it advanced, hands it to the manager.
func (g *watermarkGenerator) run() {
	if g.m.held {
		return
	}
	var ts int64
	if len(g.streamTs) >= g.inputs {
		ts = math.MaxInt64
		for _, v := range g.streamTs {
			ts = min(ts, v)
		}
	}
	ts -= g.lagMs
	if ts > g.lastWatermark {
		g.lastWatermark = ts
		g.m.addWatermark(ts)
	}
}
