package worker

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
)

// The event logger (Storm's debug mode). When a topology has event loggers
// (topology.eventlogger.executors null or above 0; Storm's default is 0) and
// debug is enabled for a component or the whole topology (the storm base's
// component debug map, set by `localstorm debug` or Storm UI's debug
// action), each tuple the component emits is logged with that sampling
// percentage: time, component, task, message id (a spout's; none for a
// bolt, as Storm) and values, in the line format of Storm's
// FileBasedEventLogger, to events.log in the worker's logs dir. Storm sends
// the samples to __eventlogger bolts, whose workers write the file; here
// every worker writes its own.
//
// topology.debug true logs every emit in the worker's log, as Storm's
// executors do ("Emitting: ...").

// eventLog is a worker's events.log, flushed every second and rotated as
// Storm's (topology.eventlogger.rotation.size.mb, default 100, keeping
// topology.eventlogger.max.retained.files, default 5).
type eventLog struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	w        *bufio.Writer
	size     int64
	maxSize  int64
	keep     int
	dirty    bool
	stop     chan struct{}
	done     chan struct{}
	failures int // write errors, logged once
}

// Storm's keys of the event log's rotation.
const (
	eventLogRotationMB = "topology.eventlogger.rotation.size.mb"
	eventLogRetained   = "topology.eventlogger.max.retained.files"
)

// hasEventLoggers is Storm's StormCommon.hasEventLoggers: null (one per
// worker) or a positive count.
func hasEventLoggers(conf config.Conf) bool {
	if conf.IsNil(config.TopologyEventLoggerExecutors) {
		return true
	}
	n, err := conf.Int(config.TopologyEventLoggerExecutors)
	return err == nil && n > 0
}

func openEventLog(conf config.Conf, logsDir string) (*eventLog, error) {
	r := config.NewReader(conf)
	l := &eventLog{
		path:    filepath.Join(logsDir, workercontract.EventsLogName),
		maxSize: int64(max(r.IntOr(eventLogRotationMB, 100), 1)) << 20,
		keep:    max(r.IntOr(eventLogRetained, 5), 1),
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	if err := os.MkdirAll(logsDir, 0o755); err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	go l.flusher()
	return l, nil
}

func (l *eventLog) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	l.f, l.w, l.size = f, bufio.NewWriter(f), 0
	if st, err := f.Stat(); err == nil {
		l.size = st.Size()
	}
	return nil
}

func (l *eventLog) flusher() {
	defer close(l.done)
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tk.C:
			l.mu.Lock()
			if l.dirty {
				_ = l.w.Flush()
				l.dirty = false
			}
			l.mu.Unlock()
		}
	}
}

// log writes one event: Storm's EventInfo.toString.
func (l *eventLog) log(now time.Time, component string, task int, msgID any, values topology.Values) {
	id := ""
	if msgID != nil {
		id = topology.JavaString(msgID)
	}
	line := now.Format("Mon Jan 02 15:04:05 MST 2006") + "," + component + "," + strconv.Itoa(task) + "," +
		id + "," + topology.JavaString([]any(values)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+int64(len(line)) > l.maxSize {
		l.rotate()
	}
	n, err := l.w.WriteString(line)
	l.size += int64(n)
	l.dirty = true
	if err != nil {
		l.failures++
	}
}

// rotate moves events.log to events.log.1, shifting the older files up and
// dropping those beyond keep.
func (l *eventLog) rotate() {
	_ = l.w.Flush()
	l.f.Close()
	for i := l.keep; ; i++ {
		if os.Remove(l.path+"."+strconv.Itoa(i)) != nil {
			break
		}
	}
	for i := l.keep - 1; i >= 1; i-- {
		_ = os.Rename(l.path+"."+strconv.Itoa(i), l.path+"."+strconv.Itoa(i+1))
	}
	_ = os.Rename(l.path, l.path+".1")
	if err := l.open(); err != nil {
		l.failures++
	}
}

func (l *eventLog) close() {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Flush()
	l.f.Close()
}

// debugPcts maps each component to its effective sampling percentage
// (0: not sampled), from the storm base's component debug map.
type debugPcts map[string]float64

func newDebugPcts(base *cluster.StormBase, id string, components []string) debugPcts {
	out := debugPcts{}
	if base == nil {
		return out
	}
	for _, c := range components {
		if o, ok := base.DebugFor(id, c); ok && o.Enable && o.SamplingPct > 0 {
			out[c] = o.SamplingPct
		}
	}
	return out
}

// watchEmit logs an emit to the event log when it is sampled, and to the
// worker log under topology.debug. Only called when either is on.
func (t *task) watchEmit(stream string, values topology.Values, msgID any) {
	rt := t.ex.rt
	if rt.debugEmits {
		rt.logger.Info(fmt.Sprintf("Emitting: %s %s %s", t.ex.component, stream, topology.JavaString([]any(values))))
	}
	if rt.events == nil {
		return
	}
	if pct := (*rt.debug.Load())[t.ex.component]; pct > 0 && rand.Float64()*100 < pct {
		rt.events.log(time.Now(), t.ex.component, t.id, msgID, values)
	}
}
