package localcluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// waitEvent waits until the cluster's timeline, read over the API, holds an
// event after since that match accepts, and returns it.
func waitEvent(t *testing.T, cl *api.Client, since uint64, what string, match func(api.Event) bool) api.Event {
	t.Helper()
	var found api.Event
	testutil.Eventually(t, time.Minute, what, func() (bool, string) {
		r, err := cl.Events(context.Background(), "", since)
		if err != nil {
			return false, err.Error()
		}
		var kinds []string
		for _, e := range r.Events {
			if match(e) {
				found = e
				return true, ""
			}
			kinds = append(kinds, string(e.Kind))
		}
		return false, strings.Join(kinds, " ")
	})
	return found
}

func kindOf(k timeline.Kind, topology string) func(api.Event) bool {
	return func(e api.Event) bool { return e.Kind == k && (topology == "" || e.Topology == topology) }
}

// lastSeq is the newest event's Seq: what a test waits after.
func lastSeq(t *testing.T, cl *api.Client) uint64 {
	t.Helper()
	r, err := cl.Events(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return r.Last
}

// TestTimelineTellsWhatHappened drives each cause on a real cluster and
// sees its events on the timeline, in order after the fault that caused them.
func TestTimelineTellsWhatHappened(t *testing.T) {
	c, id := startWordcount(t, localcluster.Options{Name: "timeline", Supervisors: 2, Slots: 2, ServeFaults: true}, "wc")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cl := c.Client()
	for _, k := range []timeline.Kind{timeline.NimbusStarted, timeline.SupervisorJoined, timeline.TopologySubmitted,
		timeline.ExecutorsAssigned, timeline.WorkerLaunched, timeline.WorkerReady} {
		waitEvent(t, cl, 0, string(k), kindOf(k, ""))
	}
	fault := func(name string, req api.FaultRequest) uint64 {
		t.Helper()
		since := lastSeq(t, cl)
		if _, err := cl.Fault(ctx, name, req); err != nil {
			t.Fatal(err)
		}
		f := waitEvent(t, cl, since, "the fault "+name, func(e api.Event) bool { return e.Kind == timeline.FaultInjected && e.Cause == name })
		return f.Seq
	}

	t.Run("kill-worker", func(t *testing.T) {
		seq := fault(api.FaultKillWorker, api.FaultRequest{Topology: "wc"})
		exited := waitEvent(t, cl, seq, "the killed worker's exit", kindOf(timeline.WorkerExited, id))
		if !strings.Contains(exited.Details, "signal") || exited.Port == 0 {
			t.Errorf("exit %+v does not say the signal", exited)
		}
		re := waitEvent(t, cl, exited.Seq, "the relaunch", kindOf(timeline.WorkerRelaunched, id))
		if re.Port != exited.Port || !strings.Contains(re.Cause, "killed") {
			t.Errorf("relaunch %+v after exit %+v", re, exited)
		}
		waitEvent(t, cl, re.Seq, "the relaunched worker ready", kindOf(timeline.WorkerReady, id))
	})
	t.Run("stop-supervisor", func(t *testing.T) {
		var busy int
		for i, s := range c.Supervisors() {
			if len(s.Workers()) > 0 {
				busy = i
			}
		}
		lostID := c.Supervisors()[busy].ID()
		seq := fault(api.FaultStopSupervisor, api.FaultRequest{Supervisor: busy})
		lost := waitEvent(t, cl, seq, "the supervisor lost", func(e api.Event) bool {
			return e.Kind == timeline.SupervisorLost && e.Supervisor == lostID
		})
		moved := waitEvent(t, cl, lost.Seq-1, "its executors moved", kindOf(timeline.ExecutorsMoved, id))
		if moved.Cause != timeline.CauseSupervisorLost || !strings.Contains(moved.Details, lostID) {
			t.Errorf("moved %+v: want the cause %q and the lost supervisor", moved, timeline.CauseSupervisorLost)
		}
		seq = fault(api.FaultStartSupervisor, api.FaultRequest{Supervisor: busy})
		waitEvent(t, cl, seq, "the supervisor back", func(e api.Event) bool {
			return e.Kind == timeline.SupervisorBack && e.Supervisor == lostID
		})
	})
	t.Run("add-supervisor", func(t *testing.T) {
		seq := fault(api.FaultAddSupervisor, api.FaultRequest{})
		joined := waitEvent(t, cl, seq, "the new supervisor joined", kindOf(timeline.SupervisorJoined, ""))
		if joined.Supervisor != c.Supervisors()[2].ID() {
			t.Errorf("joined %q, want the third supervisor %q", joined.Supervisor, c.Supervisors()[2].ID())
		}
	})
	t.Run("expire-session", func(t *testing.T) {
		seq := fault(api.FaultExpireSession, api.FaultRequest{Daemon: "nimbus"})
		exp := waitEvent(t, cl, seq, "the session expired", kindOf(timeline.SessionExpired, ""))
		waitEvent(t, cl, exp.Seq, "the session restored", kindOf(timeline.SessionRestored, ""))
	})
	t.Run("restart-nimbus", func(t *testing.T) {
		seq := fault(api.FaultRestartNimbus, api.FaultRequest{})
		waitEvent(t, cl, seq, "nimbus restarted", kindOf(timeline.NimbusRestarted, ""))
		// The timeline outlived nimbus: the events before it are still there.
		if r, err := cl.Events(ctx, "", 0); err != nil || len(r.Events) == 0 || r.Events[0].Kind != timeline.NimbusStarted || r.Events[0].Seq != 1 {
			t.Fatalf("after a restart the timeline starts with %+v (err %v)", r, err)
		}
	})
	t.Run("transitions", func(t *testing.T) {
		since := lastSeq(t, cl)
		for _, step := range []func() error{
			func() error { return cl.Deactivate(ctx, id) },
			func() error { return cl.Activate(ctx, id) },
			func() error { return cl.Rebalance(ctx, id, 0, 1, nil) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []timeline.Kind{timeline.TopologyDeactivated, timeline.TopologyActivated, timeline.TopologyRebalancing, timeline.TopologyRebalanced} {
			waitEvent(t, cl, since, string(k), kindOf(k, id))
		}
		moved := waitEvent(t, cl, since, "executors moved by the rebalance", kindOf(timeline.ExecutorsMoved, id))
		if moved.Cause != timeline.CauseRebalance {
			t.Errorf("moved %+v: want the cause %q", moved, timeline.CauseRebalance)
		}
		if err := cl.Kill(ctx, id, 0); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, cl, since, "killed", kindOf(timeline.TopologyKilled, id))
		waitEvent(t, cl, since, "removed", kindOf(timeline.TopologyRemoved, id))
	})
}

// crashloopBinary builds internal/crashloop once per test binary.
func crashloopBinary(t *testing.T) string {
	return buildTestBinary(t, "./internal/crashloop", "test-crashloop")
}

// TestCrashLoopIsATopologyError: a worker that keeps dying is an error on
// its topology (the summary and the topology page) and on the timeline,
// and the error goes with the topology.
func TestCrashLoopIsATopologyError(t *testing.T) {
	bin := crashloopBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "crashloop", Supervisors: 1, Slots: 1, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	cl := c.Client()
	id, err := submit.Binary(ctx, cl, bin, submit.Options{Name: "doomed"})
	if err != nil {
		t.Fatal(err)
	}
	loop := waitEvent(t, cl, 0, "the crash loop", kindOf(timeline.WorkerCrashLooping, id))
	if !strings.Contains(loop.Details, "keeps crashing") {
		t.Errorf("crash loop %+v", loop)
	}
	sum, err := cl.TopologySummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Topologies) != 1 || len(sum.Topologies[0].TopologyErrors) != 1 || sum.Topologies[0].Status != "ACTIVE" {
		t.Fatalf("summary %+v: want the ACTIVE topology with its crash loop as an error", sum.Topologies)
	}
	info, err := cl.Topology(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.TopologyErrors) != 1 || !strings.Contains(info.TopologyErrors[0], "keeps crashing") {
		t.Fatalf("topology page errors %q", info.TopologyErrors)
	}
	if err := cl.Kill(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, cl, loop.Seq, "the topology removed", kindOf(timeline.TopologyRemoved, id))
	if loops := c.Events().CrashLoops(""); len(loops) != 0 {
		t.Fatalf("crash loops outlive their topology: %+v", loops)
	}
}

// TestFollowEvents: the stream delivers the events held, then each new one
// as it happens.
func TestFollowEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "follow", Supervisors: 1, Slots: 1, DataDir: t.TempDir(), ServeFaults: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	got := make(chan api.Event, 100)
	followCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- c.Client().FollowEvents(followCtx, "", 0, func(e api.Event) error { got <- e; return nil })
	}()
	next := func(what string, match func(api.Event) bool) api.Event {
		t.Helper()
		for {
			select {
			case e := <-got:
				if match(e) {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %s on the stream", what)
			}
		}
	}
	first := next("first event", func(api.Event) bool { return true })
	if first.Seq != 1 || first.Kind != timeline.NimbusStarted {
		t.Fatalf("the stream starts with %+v", first)
	}
	c.Events().Record(timeline.Event{Kind: timeline.FaultInjected, Details: "by the test"})
	e := next("the new event", func(e api.Event) bool { return e.Details == "by the test" })
	if e.Kind != timeline.FaultInjected {
		t.Fatalf("got %+v", e)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow ended with %v, want context.Canceled", err)
	}
}
