package worker

import (
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Dynamic log levels (Storm's LogConfigManager): a worker watches its
// topology's log config (/logconfigs/<id>) and sets the levels of its
// loggers: ROOT, and one logger per component, named by its id, which
// holds the records that carry that component ("component" attribute, as
// the shell components' and the worker's own records about a component).
// An entry with a timeout returns to the logger's original level when its
// end time (set by nimbus) has passed, checked every
// worker.log.level.reset.poll.secs; an entry removed from the config
// returns at once.

// WorkerLogLevelResetPollSecs is Storm's key of how often a worker looks
// for log levels whose timeout has passed (default 30).
const WorkerLogLevelResetPollSecs = "worker.log.level.reset.poll.secs"

// RootLogger is the root logger's name in a log config.
const RootLogger = "ROOT"

// ParseLogLevel reads a log4j level name (as Storm's LogLevel gives it).
func ParseLogLevel(name string) (slog.Level, bool) {
	switch strings.ToUpper(name) {
	case "ALL":
		return slog.LevelDebug - 8, true
	case "TRACE":
		return slog.LevelDebug - 4, true
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "FATAL":
		return slog.LevelError + 4, true
	case "OFF":
		return slog.LevelError + 100, true
	}
	return 0, false
}

// LogLevels are the levels of a worker's loggers.
type LogLevels struct {
	mu       sync.RWMutex
	original slog.Level            // ROOT's level at start
	root     slog.Level            // ROOT's level now
	named    map[string]slog.Level // components' levels set by the config
	min      slog.Level            // the lowest of them all
	applied  map[string]bool       // config entries this worker applied
	timed    map[string]int64      // logger → end time (unix ms) still to reset
}

// NewLogLevels starts with ROOT at root and no named levels.
func NewLogLevels(root slog.Level) *LogLevels {
	return &LogLevels{original: root, root: root, min: root, named: map[string]slog.Level{}, applied: map[string]bool{}, timed: map[string]int64{}}
}

// Level is the level of the logger named name (ROOT, or a component id
// without a level of its own, is ROOT's).
func (l *LogLevels) Level(name string) slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if lv, ok := l.named[name]; ok && name != "" {
		return lv
	}
	return l.root
}

// set sets (or with reset, clears) one logger's level. Called under mu.
func (l *LogLevels) set(name string, lv slog.Level, reset bool) {
	switch {
	case strings.EqualFold(name, RootLogger) && reset:
		l.root = l.original
	case strings.EqualFold(name, RootLogger):
		l.root = lv
	case reset:
		delete(l.named, name)
	default:
		l.named[name] = lv
	}
	l.min = l.root
	for _, v := range l.named {
		l.min = min(l.min, v)
	}
}

// Apply applies a log config read at nowMillis: an entry this worker has
// not applied yet (it started after it was set) or one marked UPDATE sets
// its logger unless its end time has passed; an entry the worker applied
// that is no longer there resets its logger.
func (l *LogLevels) Apply(c *cluster.LogConfig, nowMillis int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var entries map[string]cluster.LogLevel
	if c != nil {
		entries = c.NamedLoggers
	}
	for name := range l.applied {
		if _, still := entries[name]; !still {
			l.set(name, 0, true)
			delete(l.applied, name)
			delete(l.timed, name)
		}
	}
	for name, e := range entries {
		if e.Action != cluster.LogLevelUpdate && l.applied[name] {
			continue
		}
		lv, ok := ParseLogLevel(e.TargetLevel)
		if !ok || (e.ResetTimeoutEpochMillis > 0 && e.ResetTimeoutEpochMillis <= nowMillis) {
			continue
		}
		l.set(name, lv, false)
		l.applied[name] = true
		delete(l.timed, name)
		if e.ResetTimeoutEpochMillis > 0 {
			l.timed[name] = e.ResetTimeoutEpochMillis
		}
	}
}

// ResetExpired returns the loggers whose end time is before nowMillis to
// their original level, and names them.
func (l *LogLevels) ResetExpired(nowMillis int64) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var reset []string
	for name, end := range l.timed {
		if end < nowMillis {
			l.set(name, 0, true)
			delete(l.timed, name)
			reset = append(reset, name)
		}
	}
	return reset
}

// Handler wraps h (which must pass every level) so that a record is
// written when its level is at least its logger's.
func (l *LogLevels) Handler(h slog.Handler) slog.Handler {
	return &levelHandler{levels: l, next: h}
}

// componentAttr is the attribute that names a record's logger.
const componentAttr = "component"

type levelHandler struct {
	levels *LogLevels
	next   slog.Handler
	logger string // from a "component" attribute given to With
}

func (h *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	if h.logger != "" {
		return lv >= h.levels.Level(h.logger) && h.next.Enabled(ctx, lv)
	}
	h.levels.mu.RLock()
	least := h.levels.min
	h.levels.mu.RUnlock()
	return lv >= least && h.next.Enabled(ctx, lv)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	name := h.logger
	if name == "" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == componentAttr {
				name = a.Value.String()
				return false
			}
			return true
		})
	}
	if r.Level < h.levels.Level(name) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &levelHandler{levels: h.levels, next: h.next.WithAttrs(attrs), logger: h.logger}
	for _, a := range attrs {
		if a.Key == componentAttr {
			c.logger = a.Value.String()
		}
	}
	return c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{levels: h.levels, next: h.next.WithGroup(name), logger: h.logger}
}

// watchLogConfig applies the topology's log config now and on every change
// of it, and resets timed-out levels every worker.log.level.reset.poll.secs,
// until ctx is done.
func (w *worker) watchLogConfig(ctx context.Context, levels *LogLevels) {
	changed := make(chan struct{}, 1)
	w.zk.OnReconnect(func() { notify(changed) })
	poll := 30 * time.Second
	if secs, err := w.conf.Int(WorkerLogLevelResetPollSecs); err == nil && secs > 0 {
		poll = time.Duration(secs) * time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	notify(changed)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			c, err := w.zk.TopologyLogConfig(w.opts.TopologyID, func() { notify(changed) })
			if err != nil {
				w.logger.Warn("read the topology's log config", "err", err)
				continue
			}
			levels.Apply(c, time.Now().UnixMilli())
			w.logger.Info("log config applied", "loggers", loggerNames(c))
		case <-tick.C:
			for _, name := range levels.ResetExpired(time.Now().UnixMilli()) {
				w.logger.Info("log level timeout passed: level reset", "logger", name)
			}
		}
	}
}

func loggerNames(c *cluster.LogConfig) []string {
	var out []string
	if c != nil {
		for name, e := range c.NamedLoggers {
			out = append(out, name+"="+e.TargetLevel)
		}
	}
	slices.Sort(out)
	return out
}

// UseProcessLogger gives opts the logger of a worker process, which writes
// text to w at the levels the topology's log config sets (INFO until
// then), and makes it the process's default logger, which the shell
// components log to. A worker process's main calls it before Run.
func UseProcessLogger(opts *Options, w io.Writer) {
	opts.LogLevels = NewLogLevels(slog.LevelInfo)
	// Every level reaches the text handler; the log levels filter.
	opts.Logger = slog.New(opts.LogLevels.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.Level(math.MinInt32)})))
	slog.SetDefault(opts.Logger)
}
