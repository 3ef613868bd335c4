package worker

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

func eventsLog(p *inProcess) string { return workerFile(p, workercontract.EventsLogName) }

// debugTopology runs the word count with event loggers and the given
// component debug options in the storm base.
func debugTopology(t *testing.T, n int, debug map[string]cluster.DebugOptions) (*inProcess, *record) {
	rec := newRecord()
	p := startInProcess(t, wordCount(rec, n, true), config.Conf{config.TopologyAckerExecutors: 1, config.TopologyEventLoggerExecutors: 1},
		func(w *worker) { w.rt.debug.Store(w.debugPcts(&cluster.StormBase{ComponentDebug: debug})) })
	return p, rec
}

func TestEventLogSamplesEmits(t *testing.T) {
	const n = 200
	// The topology at 100%, the split bolt's own entry off.
	p, rec := debugTopology(t, n, map[string]cluster.DebugOptions{
		"test-1-1": {Enable: true, SamplingPct: 100},
		"split":    {Enable: false, SamplingPct: 100},
	})
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == n
	})
	p.stop() // flushes the log
	lines := strings.Split(strings.TrimSpace(eventsLog(p)), "\n")
	spout, other := 0, 0
	for _, l := range lines {
		f := strings.SplitN(l, ",", 5)
		if len(f) != 5 {
			t.Fatalf("event line %q is not date,component,task,msgid,values", l)
		}
		if _, err := time.Parse("Mon Jan 02 15:04:05 MST 2006", f[0]); err != nil {
			t.Errorf("date of %q: %v", l, err)
		}
		switch f[1] {
		case "sentences":
			spout++
			if f[3] == "" || !strings.HasPrefix(f[4], "[") {
				t.Errorf("spout event without message id or values: %q", l)
			}
		default:
			other++
		}
	}
	if spout != n {
		t.Errorf("%d spout events, want %d (100%% sampling)", spout, n)
	}
	if other != 0 {
		t.Errorf("%d events of other components: split's own entry disables it", other)
	}
}

func TestEventLogOffWithoutDebugOrLoggers(t *testing.T) {
	p, rec := debugTopology(t, 50, map[string]cluster.DebugOptions{"test-1-1": {Enable: false, SamplingPct: 100}})
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == 50
	})
	p.stop()
	if got := eventsLog(p); got != "" {
		t.Errorf("events logged with debug disabled:\n%s", got)
	}
	// Storm's default 0: no event loggers, nothing opened; null: one per worker.
	q := startInProcess(t, wordCount(newRecord(), 1, true), config.Conf{config.TopologyEventLoggerExecutors: 0})
	if q.w.rt.events != nil || q.w.rt.watchEmits {
		t.Error("an event log is open with topology.eventlogger.executors 0")
	}
	if !hasEventLoggers(config.Conf{config.TopologyEventLoggerExecutors: nil}) || hasEventLoggers(config.Defaults()) {
		t.Error("null must mean event loggers, Storm's default 0 none")
	}
}

func TestEventLogRotates(t *testing.T) {
	dir := t.TempDir()
	l, err := openEventLog(config.Conf{eventLogRotationMB: 1, eventLogRetained: 2}, dir)
	if err != nil {
		t.Fatal(err)
	}
	big := topology.Values{strings.Repeat("x", 100_000)}
	for range 35 {
		l.log(time.Now(), "c", 1, nil, big)
	}
	l.close()
	names, _ := filepath.Glob(filepath.Join(dir, "events.log*"))
	if len(names) != 3 {
		t.Errorf("files %v, want events.log and 2 rotated", names)
	}
}

// topology.debug logs every emit in the worker log, as Storm's executors.
func TestTopologyDebugLogsEmits(t *testing.T) {
	var buf testutil.Buffer
	rec := newRecord()
	startInProcess(t, wordCount(rec, 5, true), config.Conf{config.TopologyAckerExecutors: 1, config.TopologyDebug: true},
		func(w *worker) { w.rt.logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	testutil.Eventually(t, 20*time.Second, "every sentence acked", func() bool {
		_, acked, _ := rec.snapshot()
		return acked == 5
	})
	for _, want := range []string{`"Emitting: sentences default [w4 x4 y4]"`, `"Emitting: split default [y4]"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("worker log has no %s:\n%.1500s", want, buf.String())
		}
	}
}
