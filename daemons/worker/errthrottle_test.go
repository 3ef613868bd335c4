package worker

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
)

// errorRecorder is a cluster state that counts the errors reported to it.
type errorRecorder struct {
	cluster.StormClusterState // nil: only ReportError is called
	mu                        sync.Mutex
	reported                  map[string]int
}

func (r *errorRecorder) ReportError(topologyID, component, host string, port int, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reported[component]++
	return nil
}

// Storm's executor reports at most topology.max.error.report.per.interval
// errors of a component in each topology.error.throttle.interval.secs; the
// worker reads both from the topology's configuration (Storm's defaults 5
// in 10 s).
func TestStormErrorThrottleKeys(t *testing.T) {
	w := &worker{rt: &runtime{}, conf: config.Defaults().Merge(config.Conf{
		config.TopologyErrorThrottleSecs:     3600,
		config.TopologyMaxErrorReportPerIntv: 2,
	})}
	if err := w.readSettings(); err != nil {
		t.Fatal(err)
	}
	if w.periods.errorInterval != time.Hour || w.periods.errorsPerInterval != 2 {
		t.Fatalf("read %s and %d, want 1h and 2", w.periods.errorInterval, w.periods.errorsPerInterval)
	}
	defaults := &worker{rt: &runtime{}, conf: config.Defaults()}
	if err := defaults.readSettings(); err != nil {
		t.Fatal(err)
	}
	if defaults.periods.errorInterval != 10*time.Second || defaults.periods.errorsPerInterval != 5 {
		t.Errorf("Storm's defaults read as %s and %d, want 10s and 5", defaults.periods.errorInterval, defaults.periods.errorsPerInterval)
	}

	rec := &errorRecorder{reported: map[string]int{}}
	w.zk, w.logger = rec, testutil.Logger(t, slog.LevelInfo)
	errs, done := make(chan componentError, 10), make(chan struct{})
	for range 5 {
		errs <- componentError{component: "a", err: errors.New("a failed")}
	}
	errs <- componentError{component: "b", err: errors.New("b failed")}
	close(errs)
	w.reportErrors(errs, done)
	<-done
	if rec.reported["a"] != 2 || rec.reported["b"] != 1 {
		t.Errorf("reported %v, want a: 2 (throttled) and b: 1", rec.reported)
	}
}
