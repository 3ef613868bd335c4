package topology

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/localstorm/localstorm/internal/errlist"
)

// Windowed bolts, as Storm's IWindowedBolt and BaseWindowedBolt: the bolt
// sees windows of tuples instead of single tuples. Its window options are
// stored in the component's configuration under Storm's keys, so nimbus can
// check them at submit and the executor reads them at Prepare as Storm's
// WindowedBoltExecutor does.

// Storm's windowing configuration keys.
const (
	ConfWindowLengthCount      = "topology.bolts.window.length.count"
	ConfWindowLengthDurationMs = "topology.bolts.window.length.duration.ms"
	ConfSlidingIntervalCount   = "topology.bolts.sliding.interval.count"
	ConfSlidingIntervalMs      = "topology.bolts.sliding.interval.duration.ms"
	ConfTimestampField         = "topology.bolts.tuple.timestamp.field.name"
	ConfTimestampMaxLagMs      = "topology.bolts.tuple.timestamp.max.lag.ms"
	ConfWatermarkIntervalMs    = "topology.bolts.watermark.event.interval.ms"
	ConfLateTupleStream        = "topology.bolts.late.tuple.stream"
	ConfMessageIDField         = "topology.bolts.message.id.field.name"
	// ConfWindowPersistence is set by WithPersistence (Storm keeps it in
	// the bolt object, isPersistent, not in a configuration key).
	ConfWindowPersistence = "localstorm.bolts.window.persistence"
	// ConfMaxEventsInMemory is set by WithMaxEventsInMemory.
	ConfMaxEventsInMemory = "localstorm.bolts.window.max.events.in.memory"
)

// LateTupleField is the one field of the late tuple stream: the late
// tuple's values (Storm's WindowedBoltExecutor.LATE_TUPLE_FIELD carries the
// tuple itself).
const LateTupleField = "late_tuple"

// Default watermark interval and lag (Storm's WindowedBoltExecutor).
const (
	DefaultWatermarkInterval = time.Second
	DefaultMaxLag            = 0
)

// TupleWindow is one window as a windowed bolt sees it (Storm's TupleWindow).
type TupleWindow struct {
	// Tuples are all the tuples in the window, oldest first.
	Tuples []*Tuple
	// New are the tuples that were not in the previous window.
	New []*Tuple
	// Expired are the tuples that left since the previous window (already acked).
	Expired []*Tuple
	// EndTs is the window's end in milliseconds: 1 ms before the processing
	// time of the trigger (as Storm's: a tuple that arrives in the trigger's
	// millisecond is in the next window), or the event time of the window's
	// end with a timestamp field. Once running, a duration window holds the tuples whose
	// time t is StartTs < t ≤ EndTs.
	EndTs int64
	// StartTs is EndTs minus the window length when the length is a
	// duration; 0 for a count window.
	StartTs int64
}

// WindowCollector is how a windowed bolt emits: every tuple is anchored to
// all the tuples of the current window, as Storm's WindowedOutputCollector
// does. The window's tuples are acked by the executor when they expire.
type WindowCollector interface {
	Emit(values Values) []int
	EmitStream(stream string, values Values) []int
	EmitDirect(task int, stream string, values Values)
	ReportError(err error)
}

// WindowedBolt processes windows of tuples (Storm's IWindowedBolt).
type WindowedBolt interface {
	Component
	Prepare(ctx *Context, out WindowCollector) error
	Execute(w *TupleWindow)
	Cleanup()
}

// WindowLength is a window length or sliding interval: a number of tuples
// (Count) or a duration (Duration), as Storm's BaseWindowedBolt.Count and
// BaseWindowedBolt.Duration.
type WindowLength struct {
	count int
	dur   time.Duration
}

// Count is a length of n tuples.
func Count(n int) WindowLength { return WindowLength{count: n} }

// Duration is a length of d (millisecond precision).
func Duration(d time.Duration) WindowLength { return WindowLength{dur: d} }

// WindowOption configures a windowed bolt (SetWindowedBolt).
type WindowOption func(conf map[string]any)

func (l WindowLength) set(conf map[string]any, countKey, durKey string) {
	if l.count > 0 || l.dur <= 0 {
		conf[countKey] = l.count
		delete(conf, durKey)
		return
	}
	conf[durKey] = l.dur.Milliseconds()
	delete(conf, countKey)
}

// WithWindow sets a sliding window of the given length that slides by
// slide (Storm's withWindow(length, slide)).
func WithWindow(length, slide WindowLength) WindowOption {
	return func(conf map[string]any) {
		length.set(conf, ConfWindowLengthCount, ConfWindowLengthDurationMs)
		slide.set(conf, ConfSlidingIntervalCount, ConfSlidingIntervalMs)
	}
}

// WithTumblingWindow sets a window that slides by its own length (Storm's
// withTumblingWindow).
func WithTumblingWindow(length WindowLength) WindowOption { return WithWindow(length, length) }

// WithTimestampField windows by event time: field holds each tuple's
// timestamp in milliseconds (an integer); windows advance with watermarks.
func WithTimestampField(field string) WindowOption {
	return func(conf map[string]any) { conf[ConfTimestampField] = field }
}

// WithLag sets how far out of order event timestamps may arrive.
func WithLag(d time.Duration) WindowOption {
	return func(conf map[string]any) { conf[ConfTimestampMaxLagMs] = d.Milliseconds() }
}

// WithWatermarkInterval sets how often watermarks are computed.
func WithWatermarkInterval(d time.Duration) WindowOption {
	return func(conf map[string]any) { conf[ConfWatermarkIntervalMs] = d.Milliseconds() }
}

// WithLateTupleStream emits tuples that arrive behind the watermark on
// stream (one field, LateTupleField, holding the late tuple's values)
// instead of dropping them. Needs WithTimestampField.
func WithLateTupleStream(stream string) WindowOption {
	return func(conf map[string]any) { conf[ConfLateTupleStream] = stream }
}

// WithMessageIdField names the field that holds each tuple's message id,
// an integer that grows with each tuple a source task emits and that a
// replayed tuple keeps (Storm's BaseStatefulWindowedBolt.withMessageIdField).
// A stateful windowed bolt requires it: its recovery after a crash tells by
// these ids which replayed tuples were already evaluated in a window (they
// only rebuild the window) and which already left one (they are acked).
func WithMessageIdField(field string) WindowOption {
	return func(conf map[string]any) { conf[ConfMessageIDField] = field }
}

// WithPersistence keeps the tuples of a stateful windowed bolt's windows
// in its state (Storm's BaseStatefulWindowedBolt.withPersistence, run by
// Storm's PersistentWindowedBoltExecutor): each tuple is acked when the
// checkpoint that saved it commits, not when it leaves the window, so a
// window may be longer than topology.message.timeout.secs; the window
// manager's trigger and eviction state is saved with it, and after a crash
// the windows continue from the last commit. The bolt's emits are not
// anchored, and its windows carry no New and Expired tuples (Storm gives
// none either). WithMessageIdField is not needed. Only for
// SetStatefulWindowedBolt.
func WithPersistence() WindowOption {
	return func(conf map[string]any) { conf[ConfWindowPersistence] = true }
}

// WithMaxEventsInMemory bounds the tuples of a persistent window kept in
// memory (Storm's BaseStatefulWindowedBolt.withMaxEventsInMemory, default
// DefaultMaxEventsInMemory, at least 10000): the rest stay in the state
// and are read back when a window needs them. As in Storm, it means
// something only with WithPersistence, and a value that is not positive
// means the default.
func WithMaxEventsInMemory(n int64) WindowOption {
	return func(conf map[string]any) { conf[ConfMaxEventsInMemory] = n }
}

// SetWindowedBolt declares a windowed bolt; factory makes one instance per
// task, each run by a windowed bolt executor (see WrapWindowedBolt). A
// window length is required (WithWindow or WithTumblingWindow); Build
// reports its absence, and nimbus refuses a window whose length plus slide
// exceeds topology.message.timeout.secs (or, for counts,
// topology.max.spout.pending), as Storm does.
func (b *Builder) SetWindowedBolt(id string, factory func() WindowedBolt, parallelism int, opts ...WindowOption) *BoltDeclarer {
	conf := map[string]any{}
	for _, o := range opts {
		o(conf)
	}
	late, _ := conf[ConfLateTupleStream].(string)
	var f func() Bolt
	if factory != nil {
		f = func() Bolt { return newWindowedExecutor(factory(), late) }
	}
	d := b.SetBolt(id, f, parallelism)
	for k, v := range conf {
		d.addConfig(k, v)
	}
	d.def.Windowed = true
	return d
}

// windowSpec is a windowed bolt's configuration, read from its conf.
type windowSpec struct {
	lengthCount, slideCount int64
	lengthMs, slideMs       int64
	tsField                 string
	lagMs, watermarkMs      int64
	lateStream              string
	persistent              bool
}

func confInt(conf map[string]any, key string) (int64, bool, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch n := v.(type) {
	case int:
		return int64(n), true, nil
	case int64:
		return n, true, nil
	case int32:
		return int64(n), true, nil
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true, nil
		}
	case uint64:
		return int64(n), true, nil
	}
	return 0, true, fmt.Errorf("%s: %v is not an integer", key, v)
}

// readWindowSpec reads and checks a windowed bolt's configuration (its
// component configuration merged over the topology's), as Storm's
// WindowedBoltExecutor.initWindowManager and validate do, with Storm's
// messages for a window longer than the message timeout or max spout pending.
func readWindowSpec(conf map[string]any) (windowSpec, error) {
	var s windowSpec
	var err error
	get := func(key string) (int64, bool) {
		v, ok, e := confInt(conf, key)
		if e != nil && err == nil {
			err = e
		}
		return v, ok
	}
	lc, hasLC := get(ConfWindowLengthCount)
	ld, hasLD := get(ConfWindowLengthDurationMs)
	sc, hasSC := get(ConfSlidingIntervalCount)
	sd, hasSD := get(ConfSlidingIntervalMs)
	lag, hasLag := get(ConfTimestampMaxLagMs)
	wm, hasWM := get(ConfWatermarkIntervalMs)
	if err != nil {
		return s, err
	}
	switch {
	case hasLC:
		s.lengthCount = lc
	case hasLD:
		s.lengthMs = ld
	default:
		return s, fmt.Errorf("Window length is not specified")
	}
	switch {
	case hasSC:
		s.slideCount = sc
	case hasSD:
		s.slideMs = sd
	default:
		s.slideCount = 1 // Storm's default: a sliding window of count 1
	}
	if (hasLC && lc <= 0) || (!hasLC && ld <= 0) || (hasSC && sc <= 0) || (!hasSC && hasSD && sd <= 0) {
		return s, fmt.Errorf("window length and sliding interval must be positive")
	}
	s.tsField, _ = conf[ConfTimestampField].(string)
	s.lateStream, _ = conf[ConfLateTupleStream].(string)
	s.watermarkMs = DefaultWatermarkInterval.Milliseconds()
	if s.tsField != "" {
		if hasLag {
			s.lagMs = lag
		}
		if hasWM {
			if wm <= 0 {
				return s, fmt.Errorf("%s must be positive, not %d", ConfWatermarkIntervalMs, wm)
			}
			s.watermarkMs = wm
		}
	} else if s.lateStream != "" {
		return s, fmt.Errorf("Late tuple stream can be defined only when specifying a timestamp field")
	}

	s.persistent, _ = conf[ConfWindowPersistence].(bool)
	get(ConfMaxEventsInMemory) // read at prepare; checked here
	timeout := int64(-1)       // no check when the key is unset (Build, before nimbus's defaults)
	if on, ok := conf["topology.enable.message.timeouts"].(bool); ok && !on {
		timeout = -1
	} else if t, ok := get("topology.message.timeout.secs"); ok {
		timeout = t * 1000
	}
	pending, hasPending := get("topology.max.spout.pending")
	if err != nil {
		return s, err
	}
	if s.persistent {
		return s, checkPersistentTimeout(conf, timeout)
	}
	if d := s.lengthMs + s.slideMs; d > 0 && timeout >= 0 && d > timeout {
		return s, fmt.Errorf("Window duration (length + sliding interval) value %d is more than topology.message.timeout.secs value %d", d, timeout)
	}
	if c := s.lengthCount + s.slideCount; c > 0 && hasPending && c > pending {
		return s, fmt.Errorf("Window count (length + sliding interval) value %d is more than topology.max.spout.pending value %d", c, pending)
	}
	return s, nil
}

// checkPersistentTimeout is Storm's PersistentWindowedBoltExecutor.validate
// once the window length is known: its tuples are acked at a checkpoint,
// so the checkpoint interval, not the window, must fit in the message
// timeout (timeout in ms, -1 when unset). The message is Storm's, to the
// missing space after the key.
func checkPersistentTimeout(conf map[string]any, timeout int64) error {
	interval, ok, err := confInt(conf, ConfCheckpointInterval)
	if err != nil {
		return err
	}
	if !ok {
		interval = DefaultCheckpointMillis
	}
	if timeout >= 0 && interval > timeout {
		return fmt.Errorf("%s%d is more than topology.message.timeout.secs value %d", ConfCheckpointInterval, interval, timeout)
	}
	return nil
}

// isWindowed reports a windowed bolt: declared with SetWindowedBolt, or
// configured with a window length.
func (c *ComponentDef) isWindowed() bool {
	_, count := c.Conf[ConfWindowLengthCount]
	_, dur := c.Conf[ConfWindowLengthDurationMs]
	return c.Windowed || count || dur
}

// ValidateWindows checks every windowed bolt of d against topoConf (the
// merged topology configuration) as Storm's WindowedBoltExecutor does:
// nimbus calls it at submit so that a window longer than the message
// timeout is refused with Storm's reason before any worker starts.
func ValidateWindows(d *Definition, topoConf map[string]any) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(d.Bolts)) {
		c := d.Bolts[id]
		if c == nil || !c.isWindowed() {
			continue
		}
		conf := make(map[string]any, len(topoConf)+len(c.Conf))
		for k, v := range topoConf {
			conf[k] = v
		}
		for k, v := range c.Conf {
			conf[k] = v
		}
		s, err := readWindowSpec(conf)
		if err == nil && s.lateStream != "" {
			if _, ok := c.Outputs[s.lateStream]; !ok {
				err = fmt.Errorf("Stream for late tuples must be defined with the builder method withLateTupleStream")
			}
		}
		switch {
		case err != nil:
		case s.persistent && !c.Stateful:
			err = fmt.Errorf("withPersistence is for stateful windowed bolts (Storm's BaseStatefulWindowedBolt): declare it with SetStatefulWindowedBolt")
		case c.Stateful && !s.persistent:
			_, err = messageIDField(conf)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("windowed bolt %q: %w", id, err))
		}
	}
	return errlist.Join(errs...)
}
