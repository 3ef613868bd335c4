package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
)

// followRetry is how long `events -f` keeps trying to reconnect to a nimbus
// that went away (restart-nimbus) before giving up.
const followRetry = 2 * time.Minute

// runEvents prints the cluster's event timeline; -f follows it.
func runEvents(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "events", "[-f] [--topology NAME] [flags]")
	g.register(fs)
	g.registerOutput(fs)
	follow := fs.BoolP("follow", "f", false, "keep printing events as they happen (-o json: one JSON object per line)")
	topo := fs.String("topology", "", "only the events of this topology (a name or an id)")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if g.output != "text" && g.output != "json" {
		return cli.Usagef("-o %q: use text or json", g.output)
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	if !*follow {
		reply, err := c.Events(ctx, *topo, 0)
		if err != nil {
			return err
		}
		return printOut(s, g, reply, func(w io.Writer) {
			for _, e := range reply.Events {
				printEvent(w, e)
			}
		})
	}
	return followEvents(ctx, s, g, c, *topo)
}

// followEvents streams events until ctx ends; when the stream breaks (nimbus
// restarting) it reconnects from the last event seen, for up to followRetry.
func followEvents(ctx context.Context, s cli.Streams, g *globals, c *api.Client, topo string) error {
	var last uint64
	enc := json.NewEncoder(s.Out)
	print := func(e api.Event) error {
		last = e.Seq
		if g.output == "json" {
			return enc.Encode(e)
		}
		printEvent(s.Out, e)
		return nil
	}
	lostSince := time.Time{}
	for {
		err := c.FollowEvents(ctx, topo, last, func(e api.Event) error {
			lostSince = time.Time{}
			return print(e)
		})
		if ctx.Err() != nil {
			return nil // Ctrl-C: a normal end
		}
		if api.IsNotFound(err) || errors.Is(err, api.ErrInvalid) {
			return err
		}
		if lostSince.IsZero() {
			lostSince = time.Now()
			fmt.Fprintf(s.Err, "events: %v; reconnecting\n", err)
		} else if time.Since(lostSince) > followRetry {
			return fmt.Errorf("events: nimbus did not come back within %s: %w", followRetry, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// printEvent writes one event as a line: local time, kind, topology, what
// happened and why.
func printEvent(w io.Writer, e api.Event) {
	line := fmt.Sprintf("%s  %-27s %s", e.Time.Local().Format("15:04:05.000"), e.Kind, e.Details)
	if e.Cause != "" && !strings.Contains(e.Details, e.Cause) {
		line += " [" + e.Cause + "]"
	}
	fmt.Fprintln(w, line)
}
