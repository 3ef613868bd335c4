package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
)

// TestEventsCommand: `events` prints the timeline, `events -f` streams what
// happens next (a fault and what followed it) until interrupted, across a
// restart of nimbus, and `-o json` gives one event per line.
func TestEventsCommand(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	if _, stderr, code := runCLI("events", "extra"); code != 2 || !strings.HasPrefix(stderr, "error: ") {
		t.Errorf("events extra: exit %d, %q; want a usage error", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "cli-events", Supervisors: 1, Slots: 1, DataDir: t.TempDir(), ServeFaults: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	apiFlag := "--api=" + c.APIURL()

	// Nimbus sees the supervisor join at its next round, maybe after Start returned.
	testutil.Eventually(t, 30*time.Second, "events printing nimbus's start and the supervisor joining", func() (bool, string) {
		stdout, stderr, code := runCLI("events", apiFlag)
		return code == 0 && strings.Contains(stdout, "nimbus-started") && strings.Contains(stdout, "supervisor-joined"),
			fmt.Sprintf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	})

	follow := func(args ...string) (*testutil.Buffer, func() int) {
		var out, errb testutil.Buffer
		fctx, stop := context.WithCancel(ctx)
		done := make(chan int, 1)
		go func() {
			err := Run(fctx, cli.Streams{Out: &out, Err: &errb}, append([]string{"events", "-f", apiFlag}, args...))
			done <- cli.Exit(&errb, err)
		}()
		return &out, func() int { stop(); return <-done }
	}
	text, stopText := follow()
	jsonOut, stopJSON := follow("-o", "json")
	testutil.Eventually(t, 30*time.Second, "the held events streamed", func() bool {
		return strings.Contains(text.String(), "supervisor-joined") && strings.Contains(jsonOut.String(), "supervisor-joined")
	})
	if _, err := c.Client().Fault(ctx, api.FaultRestartNimbus, api.FaultRequest{}); err != nil {
		t.Fatal(err)
	}
	// Streamed across the restart: the followers reconnect and go on.
	testutil.Eventually(t, time.Minute, "the fault and nimbus's restart streamed", func() bool {
		return strings.Contains(text.String(), "fault-injected") && strings.Contains(text.String(), "nimbus-restarted") &&
			strings.Contains(jsonOut.String(), "nimbus-restarted")
	})
	if code := stopText(); code != 0 {
		t.Errorf("events -f ended with exit %d on interrupt", code)
	}
	if code := stopJSON(); code != 0 {
		t.Errorf("events -f -o json ended with exit %d", code)
	}
	if n := strings.Count(text.String(), "nimbus-started"); n != 2 {
		t.Errorf("nimbus-started %d times on the stream, want 2 (start and restart, none repeated):\n%s", n, text.String())
	}
	var seq uint64
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.String()), "\n") {
		var e api.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Seq <= seq {
			t.Fatalf("json line %q: %v (after seq %d)", line, err, seq)
		}
		seq = e.Seq
	}
}
