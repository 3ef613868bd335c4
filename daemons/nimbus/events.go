package nimbus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// Nimbus's part of the event timeline (package timeline): the topology
// transitions, the assignments it writes (and why executors moved) and the
// supervisors it sees come and go in ZooKeeper. The API serves the whole
// Log, including what supervisors and the owning process record in it.

// sseKeepAlive is how often an idle event stream gets a comment line, so
// that proxies and clients see it alive.
const sseKeepAlive = 15 * time.Second

// EventLog returns the timeline nimbus records in and serves.
func (n *Nimbus) EventLog() *timeline.Log { return n.events }

// record adds an event seen by nimbus.
func (n *Nimbus) record(kind timeline.Kind, topologyID, cause, details string) {
	n.events.Record(timeline.Event{Kind: kind, Topology: topologyID, Daemon: "nimbus", Cause: cause, Details: details})
}

// recordSupervisors compares the supervisors alive now with those of the
// last round and records who joined, was lost or came back. The first
// round of a nimbus only learns who is there (a restarted nimbus does not
// announce every supervisor as new). Called under mu.
func (n *Nimbus) recordSupervisors(sups map[string]SupervisorSnapshot) {
	alive := map[string]bool{}
	for id, s := range sups {
		if s.Alive {
			alive[id] = true
		}
	}
	if n.supsAlive == nil {
		n.supsAlive, n.supsSeen = alive, map[string]bool{}
		for id := range alive {
			n.supsSeen[id] = true
		}
		return
	}
	for _, id := range sortedKeys(alive) {
		if n.supsAlive[id] {
			continue
		}
		kind, what := timeline.SupervisorJoined, "joined the cluster"
		if n.supsSeen[id] {
			kind, what = timeline.SupervisorBack, "is back"
		}
		n.events.Record(timeline.Event{Kind: kind, Daemon: "nimbus", Supervisor: id,
			Details: fmt.Sprintf("supervisor %s (%s, %d slots) %s", id, sups[id].Host, len(sups[id].Ports), what)})
		n.supsSeen[id] = true
	}
	for _, id := range sortedKeys(n.supsAlive) {
		if alive[id] {
			continue
		}
		why := "its heartbeat timed out"
		if _, present := sups[id]; !present {
			why = "its ZooKeeper node is gone (session ended)"
		}
		n.events.Record(timeline.Event{Kind: timeline.SupervisorLost, Daemon: "nimbus", Supervisor: id, Cause: why,
			Details: "supervisor " + id + " lost"})
	}
	n.supsAlive = alive
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// recordAssignment tells what a new assignment of topology t changed and
// why: a first assignment, a rebalance, a supervisor lost or a worker dead.
func (n *Nimbus) recordAssignment(t liveTopology, next *cluster.Assignment, scratch bool, sups map[string]SupervisorSnapshot) {
	if next == nil {
		return
	}
	if t.current == nil || len(t.current.Executors) == 0 {
		n.record(timeline.ExecutorsAssigned, t.id, timeline.CauseNewTopology,
			fmt.Sprintf("%d executors assigned to %d workers: %s", len(next.Executors), len(slotsOf(next)), slotList(slotsOf(next))))
		return
	}
	old := map[cluster.ExecutorInfo]cluster.NodePort{}
	for _, ea := range t.current.Executors {
		old[ea.Executor] = ea.Slot
	}
	from, to := map[cluster.NodePort]bool{}, map[cluster.NodePort]bool{}
	moved := 0
	for _, ea := range next.Executors {
		if prev, ok := old[ea.Executor]; !ok || prev != ea.Slot {
			moved++
			to[ea.Slot] = true
			if ok {
				from[prev] = true
			}
		}
	}
	if moved == 0 && len(next.Executors) == len(t.current.Executors) {
		return // only start times or hosts changed
	}
	cause := timeline.CauseWorkerDead
	switch {
	case scratch:
		cause = timeline.CauseRebalance
	default:
		for slot := range from {
			if s, ok := sups[slot.Node]; !ok || !s.Alive {
				cause = timeline.CauseSupervisorLost
			}
		}
	}
	n.record(timeline.ExecutorsMoved, t.id, cause,
		fmt.Sprintf("%d of %d executors moved from %s to %s", moved, len(next.Executors), slotList(from), slotList(to)))
}

func slotList(slots map[cluster.NodePort]bool) string {
	if len(slots) == 0 {
		return "-"
	}
	var parts []string
	for _, s := range sortedSlots(slots) {
		parts = append(parts, fmt.Sprintf("%s:%d", s.Node, s.Port))
	}
	return strings.Join(parts, ", ")
}

// topologyErrors are the problems of topology id that are no component's
// error: its workers that keep crashing.
func (n *Nimbus) topologyErrors(id string) []string {
	var out []string
	for _, e := range n.events.CrashLoops(id) {
		out = append(out, e.Details)
	}
	return out
}

// eventsParams reads ?topology= and ?since= (or Last-Event-ID).
func eventsParams(r *http.Request) (timeline.Filter, uint64, error) {
	q := r.URL.Query()
	since := q.Get("since")
	if since == "" {
		since = r.Header.Get("Last-Event-ID")
	}
	var seq uint64
	if since != "" {
		var err error
		if seq, err = strconv.ParseUint(since, 10, 64); err != nil {
			return timeline.Filter{}, 0, fmt.Errorf("%w: since=%q: give the last event's seq, a non-negative integer", api.ErrInvalid, since)
		}
	}
	return timeline.Filter{Topology: q.Get("topology")}, seq, nil
}

// registerEvents serves the timeline: a JSON read and an SSE stream.
func (h *apiHandler) registerEvents(mux *http.ServeMux, handle func(string, handlerFunc), log *timeline.Log, stop <-chan struct{}) {
	handle("GET "+api.PathEvents, func(r *http.Request) (any, error) {
		f, since, err := eventsParams(r)
		if err != nil {
			return nil, err
		}
		events, last := log.Since(since, f)
		if events == nil {
			events = []timeline.Event{}
		}
		return &api.EventsReply{Events: events, Last: last}, nil
	})
	mux.Handle("GET "+api.PathEventsStream, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, since, err := eventsParams(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		streamEvents(w, r, log, f, since, stop)
	}))
}

// streamEvents writes the events after since, then each new one, as
// Server-Sent Events until the client goes or nimbus stops.
func streamEvents(w http.ResponseWriter, r *http.Request, log *timeline.Log, f timeline.Filter, since uint64, stop <-chan struct{}) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		changed := log.Changed()
		events, last := log.Since(since, f)
		since = last
		for _, e := range events {
			data, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, data); err != nil {
				return
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		case <-changed:
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
	}
}
