package nimbus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/timeline"
)

func kinds(es []timeline.Event) []timeline.Kind {
	var out []timeline.Kind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

func find(es []timeline.Event, k timeline.Kind, supervisor string) *timeline.Event {
	for i := range es {
		if es[i].Kind == k && (supervisor == "" || es[i].Supervisor == supervisor) {
			return &es[i]
		}
	}
	return nil
}

// TestEventsOfSupervisorsAndAssignments: nimbus records supervisors
// joining, timing out and coming back, and why executors moved.
func TestEventsOfSupervisorsAndAssignments(t *testing.T) {
	e := newEnv(t, nil)
	// A nimbus's first round only learns who is there: let it run before
	// the supervisors arrive, so that they join.
	e.waitQuiet()
	e.addSupervisor("a", 6700)
	e.addSupervisor("b", 6700)
	id := e.submit("wc", map[string]any{"topology.workers": 1})
	log := e.n.EventLog()
	all, _ := log.Since(0, timeline.Filter{})
	if find(all, timeline.SupervisorJoined, "a") == nil || find(all, timeline.SupervisorJoined, "b") == nil {
		t.Fatalf("joined: %v", kinds(all))
	}
	assigned := find(all, timeline.ExecutorsAssigned, "")
	if assigned == nil || assigned.Topology != id || assigned.Cause != timeline.CauseNewTopology {
		t.Fatalf("assigned: %+v in %v", assigned, kinds(all))
	}
	a, err := e.state.AssignmentInfo(id, nil)
	if err != nil || len(a.Executors) == 0 {
		t.Fatalf("assignment %+v, %v", a, err)
	}
	host := a.Executors[0].Slot.Node
	other := map[string]string{"a": "b", "b": "a"}[host]
	// The host's heartbeat stops; the other's goes on.
	_, last := log.Since(0, timeline.Filter{})
	for range 6 {
		e.addSupervisor(other, 6700)
		e.advance(time.Second)
	}
	e.advance(10 * time.Second)
	got, _ := log.Since(last, timeline.Filter{})
	lost := find(got, timeline.SupervisorLost, host)
	moved := find(got, timeline.ExecutorsMoved, "")
	if lost == nil || lost.Cause != "its heartbeat timed out" || moved == nil || moved.Cause != timeline.CauseSupervisorLost {
		t.Fatalf("after %s's heartbeat stopped: %+v", host, got)
	}
	e.addSupervisor(host, 6700)
	e.addSupervisor(other, 6700)
	e.advance(10 * time.Second)
	got, _ = log.Since(last, timeline.Filter{})
	if find(got, timeline.SupervisorBack, host) == nil {
		t.Fatalf("no supervisor-back for %s: %v", host, kinds(got))
	}
	// The API: by name, since, and a bad since.
	c := api.NewClient(e.n.APIURL())
	r, err := c.Events(t.Context(), "wc", 0)
	if err != nil || len(r.Events) == 0 || r.Events[0].Kind != timeline.TopologySubmitted {
		t.Fatalf("events of wc: %+v, %v", r, err)
	}
	if r, err := c.Events(t.Context(), "", r.Last); err != nil || len(r.Events) != 0 {
		t.Fatalf("events since the last: %+v, %v", r, err)
	}
	if _, err := c.Events(t.Context(), "", 0); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.n.APIURL() + api.PathEvents + "?since=-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=-1: %d, want 400", resp.StatusCode)
	}
	// A restarted nimbus learns the supervisors there: it announces none.
	if err := e.n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.addSupervisor("a", 6700)
	e.addSupervisor("b", 6700)
	e.advance(10 * time.Second)
	if got, _ := e.n.EventLog().Since(0, timeline.Filter{}); find(got, timeline.SupervisorJoined, "") != nil {
		t.Errorf("a restarted nimbus announced supervisors: %v", kinds(got))
	}
}

// TestEventStreamEndsWithNimbus: an open event stream does not hold up
// Close, and ends when nimbus stops.
func TestEventStreamEndsWithNimbus(t *testing.T) {
	e := newEnv(t, nil)
	c := api.NewClient(e.n.APIURL())
	first := make(chan api.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.FollowEvents(context.Background(), "", 0, func(ev api.Event) error { first <- ev; return nil })
	}()
	if ev := <-first; ev.Kind != timeline.NimbusStarted {
		t.Fatalf("first event %+v", ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.n.Close(ctx); err != nil {
		t.Fatalf("close with a stream open: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("close took %s with a stream open", took)
	}
	if err := <-done; !errors.Is(err, api.ErrShutdown) {
		t.Errorf("the stream ended with %v, want a shutdown", err)
	}
}

// TestEventsWorkerDeadMovesExecutors: the executors of a worker that stopped
// heartbeating, on a supervisor that is alive, move (to the first free slot,
// here on another supervisor) because the worker is dead.
func TestEventsWorkerDeadMovesExecutors(t *testing.T) {
	e := newEnv(t, nil) // task launch 5 s, task timeout 3 s
	e.addSupervisor("b", 6700)
	id := e.submit("wc", map[string]any{"topology.workers": 1})
	a, _ := e.state.AssignmentInfo(id, nil)
	slot := onlySlot(t, a)
	beats := func(worker bool) {
		for range 4 {
			e.clock.Advance(2 * time.Second)
			if worker {
				e.beat(id, slot, e.clock.Now().UnixMilli())
			}
			e.addSupervisor("a", 6700)
			e.addSupervisor("b", 6700)
			if err := e.n.MkAssignments(""); err != nil {
				t.Fatal(err)
			}
		}
	}
	beats(true) // alive past the launch grace, while a joins
	_, last := e.n.EventLog().Since(0, timeline.Filter{})
	beats(false) // the worker's heartbeat stops; both supervisors' go on
	got, _ := e.n.EventLog().Since(last, timeline.Filter{Topology: id})
	moved := find(got, timeline.ExecutorsMoved, "")
	if moved == nil || moved.Cause != timeline.CauseWorkerDead {
		t.Fatalf("after the worker's heartbeat stopped: %+v", got)
	}
}
