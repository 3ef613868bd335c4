package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// The demo word count with Storm's logging metrics consumer and an event
// logger: `logs --metrics` shows its metrics log, and after `debug enable`
// `logs --events` its sampled tuples.
func TestEndToEndMetricsAndDebug(t *testing.T) {
	e := newEnv(t)
	up := e.up("--cluster", "dbg", "--supervisors", "1", "--slots", "2", "--dir", t.TempDir(), "--demo",
		"-c", "topology.metrics.consumer.register=[{class: org.apache.storm.metric.LoggingMetricsConsumer, parallelism.hint: 1}]",
		"-c", "topology.builtin.metrics.bucket.size.secs=1",
		"-c", "topology.eventlogger.executors=1")
	defer func() {
		e.ok("down", "--cluster", "dbg")
		up.stopped(t, 30*time.Second)
	}()
	testutil.Eventually(t, 60*time.Second, "built-in metrics in the metrics log", func() (bool, string) {
		out, errs, code := e.run("logs", "wordcount", "--metrics", "--cluster", "dbg")
		return code == 0 && strings.Contains(out, "__ack-count") && strings.Contains(out, ":sentences"),
			fmt.Sprintf("exit %d, stderr %q, %d bytes", code, errs, len(out))
	})
	if out, _, _ := e.run("logs", "wordcount", "--events", "--cluster", "dbg"); strings.Contains(out, ",sentences,") {
		t.Errorf("events logged before debug was enabled:\n%.500s", out)
	}
	e.ok("debug", "wordcount", "enable", "--component", "sentences", "--pct", "100", "--cluster", "dbg")
	testutil.Eventually(t, 30*time.Second, "the spout's tuples in the event log", func() (bool, string) {
		out, errs, code := e.run("logs", "wordcount", "--events", "--cluster", "dbg")
		return code == 0 && strings.Contains(out, ",sentences,"), fmt.Sprintf("exit %d, stderr %q", code, errs)
	})
	if _, errs, code := e.run("debug", "wordcount", "enable", "--component", "nope", "--cluster", "dbg"); code != 1 || !strings.Contains(errs, `no component "nope"`) {
		t.Errorf("debug of an unknown component: exit %d, stderr %q", code, errs)
	}
}
