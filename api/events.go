package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/daemons/timeline"
)

// The cluster's event timeline (package daemons/timeline says who records what):
//
//	GET /api/v1/events?topology=NAME|ID&since=SEQ          EventsReply
//	GET /api/v1/events/stream?topology=NAME|ID&since=SEQ   text/event-stream
//
// The stream is Server-Sent Events: each event is "id: <seq>" and
// "data: <Event as JSON>"; a comment line every few seconds keeps it open.
// since (default 0: every event held) is the last Seq the reader saw; a
// reader reconnecting gives it (or the Last-Event-ID header) to miss nothing
// the cluster still holds.
const (
	PathEvents       = "/api/v1/events"
	PathEventsStream = "/api/v1/events/stream"
)

// Event is one event of the timeline.
type Event = timeline.Event

// EventsReply is GET /api/v1/events.
type EventsReply struct {
	Events []Event `json:"events"`
	// Last is the Seq of the newest event the cluster holds (matched or
	// not): pass it as since to read only what comes next.
	Last uint64 `json:"last"`
}

func eventsQuery(topology string, since uint64) string {
	q := url.Values{}
	if topology != "" {
		q.Set("topology", topology)
	}
	if since > 0 {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Events returns the events after since, of topology (a name or an id; ""
// for all), oldest first.
func (c *Client) Events(ctx context.Context, topology string, since uint64) (*EventsReply, error) {
	var out EventsReply
	return &out, c.get(ctx, "events", PathEvents+eventsQuery(topology, since), &out)
}

// FollowEvents streams the events after since to fn until ctx ends, the
// stream ends (nimbus stopped: the error says so) or fn returns an error.
func (c *Client) FollowEvents(ctx context.Context, topology string, since uint64, fn func(Event) error) error {
	resp, err := c.send(ctx, http.MethodGet, PathEventsStream+eventsQuery(topology, since), nil, http.Header{"Accept": {"text/event-stream"}})
	if err != nil {
		return fmt.Errorf("follow events: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue // id:, comments, blank separators
		}
		var e Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("follow events: decode %q: %w", data, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("follow events: %w", err)
	}
	return fmt.Errorf("follow events: the stream ended (%w)", ErrShutdown)
}
