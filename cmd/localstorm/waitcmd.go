package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
)

// Exit codes of `localstorm wait`, for scripts: 0 the condition holds; 1 it
// did not within --timeout (the last state seen is printed on stderr), or
// another failure (no such cluster); exitUnreachable: it never will (the
// topology was killed, or --no-errors saw an error); 2 a usage error.
const exitUnreachable = 3

// verdict is what one look at the cluster says of a wait's condition.
type verdict int

const (
	pending verdict = iota
	met
	unreachable
)

// topologyCond is what `wait topology` waits for; every field set must hold.
type topologyCond struct {
	status    string // ACTIVE, INACTIVE, KILLED, REBALANCING or "gone"; "" any
	active    bool   // ACTIVE and every executor alive
	acked     int64  // the spouts acked at least this many (0: no condition)
	emitted   int64  // component (or, without one, the spouts) emitted at least this many
	component string
	noErrors  bool // no component has reported an error
}

var waitStatuses = []string{"ACTIVE", "INACTIVE", "KILLED", "REBALANCING", "gone"}

// judge is the pure decision of `wait topology` over one look: info is the
// topology, nil when no live topology has the name. A topology not there
// yet may still be submitted, so only "gone" is met by its absence; a KILLED
// one meets nothing but KILLED and gone.
func (c topologyCond) judge(info *api.TopologyInfo) (verdict, string) {
	if info == nil {
		if c.status == "gone" {
			return met, "gone"
		}
		return pending, "no live topology of that name"
	}
	var seen []string
	seen = append(seen, "status "+info.Status)
	if c.noErrors {
		if comp, msg := firstError(info); comp != "" {
			return unreachable, fmt.Sprintf("component %s reported an error: %s", comp, oneLine(msg))
		}
	}
	if info.Status == "KILLED" && c.status != "KILLED" && c.status != "gone" {
		return unreachable, "the topology was killed"
	}
	ok := c.status == "" || c.status == info.Status
	if c.active {
		alive, total := info.ExecutorsAlive()
		seen = append(seen, fmt.Sprintf("%d of %d executors up", alive, total))
		ok = ok && info.Status == "ACTIVE" && total > 0 && alive == total
	}
	if c.acked > 0 {
		acked := info.SpoutsAcked()
		seen = append(seen, fmt.Sprintf("acked %d of %d", acked, c.acked))
		ok = ok && acked >= c.acked
	}
	if c.emitted > 0 {
		emitted, found := emittedBy(info, c.component)
		what := "the spouts"
		if c.component != "" {
			what = c.component
		}
		if c.component != "" && !found {
			return unreachable, fmt.Sprintf("the topology has no component %q", c.component)
		}
		seen = append(seen, fmt.Sprintf("%s emitted %d of %d", what, emitted, c.emitted))
		ok = ok && emitted >= c.emitted
	}
	if ok {
		return met, strings.Join(seen, ", ")
	}
	return pending, strings.Join(seen, ", ")
}

// emittedBy is what component emitted, or, for "", all the spouts; found
// says whether the component exists.
func emittedBy(info *api.TopologyInfo, component string) (n int64, found bool) {
	for _, s := range info.Spouts {
		if component == "" || s.SpoutID == component {
			n, found = n+s.Emitted, true
		}
	}
	for _, b := range info.Bolts {
		if b.BoltID == component {
			n, found = n+b.Emitted, true
		}
	}
	return n, found
}

func firstError(info *api.TopologyInfo) (component, msg string) {
	for _, s := range info.Spouts {
		if s.LastError != "" {
			return s.SpoutID, s.LastError
		}
	}
	for _, b := range info.Bolts {
		if b.LastError != "" {
			return b.BoltID, b.LastError
		}
	}
	return "", ""
}

func runWait(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(s.Err, waitUsage)
			return cli.ErrHelp
		}
		return &cli.UsageError{Err: errors.New("wait needs what to wait for: cluster or topology NAME"), Usage: waitUsage}
	}
	switch args[0] {
	case "cluster":
		return waitCluster(ctx, s, g, args[1:])
	case "topology":
		return waitTopology(ctx, s, g, args[1:])
	}
	return &cli.UsageError{Err: fmt.Errorf("wait %q: wait for cluster or topology NAME", args[0]), Usage: waitUsage}
}

const waitUsage = `Usage: localstorm wait cluster [--supervisors N] [--timeout D]
       localstorm wait topology NAME [--status ACTIVE|INACTIVE|KILLED|REBALANCING|gone] [--active]
                                     [--acked N] [--emitted N [--component C]] [--no-errors] [--timeout D]

Exit codes: 0 reached; 1 not reached within --timeout (the last state seen is on stderr),
or another error; 3 can no longer be reached (killed, or an error seen with --no-errors); 2 usage.
Run 'localstorm wait cluster --help' or 'localstorm wait topology --help' for the flags.
`

func waitCluster(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "wait cluster", "[--supervisors N] [--timeout D]")
	g.register(fs)
	supervisors := fs.Int("supervisors", 1, "wait until at least N supervisors heartbeat")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if err := cli.Positive(fs, "supervisors"); err != nil {
		return err
	}
	if *timeout <= 0 {
		return cli.Usagef("--timeout %s: give a positive duration", *timeout)
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	var last *api.ClusterSummary
	return poll(ctx, s, *timeout, fmt.Sprintf("cluster with %d supervisors", *supervisors), func(ctx context.Context) (verdict, string, error) {
		sum, err := c.ClusterSummary(ctx)
		if err != nil {
			return pending, "", err
		}
		last = sum
		v := pending
		if sum.Supervisors >= *supervisors {
			v = met
		}
		return v, fmt.Sprintf("%d supervisors, %d free slots", sum.Supervisors, sum.SlotsFree), nil
	}, func() {
		if last != nil {
			fmt.Fprintf(s.Err, "last seen: nimbus up %s, %d supervisors, slots %d used of %d, %d topologies\n",
				last.NimbusUptime, last.Supervisors, last.SlotsUsed, last.SlotsTotal, last.Topologies)
		}
	})
}

func waitTopology(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "wait topology", "NAME [flags]")
	g.register(fs)
	var cond topologyCond
	fs.StringVar(&cond.status, "status", "", "wait for this status: "+strings.Join(waitStatuses, ", ")+" (gone: killed and removed)")
	fs.BoolVar(&cond.active, "active", false, "wait until it is ACTIVE with every executor up (testkit's WaitTopologyActive)")
	fs.Int64Var(&cond.acked, "acked", 0, "wait until its spouts have acked at least N tuples")
	fs.Int64Var(&cond.emitted, "emitted", 0, "wait until --component (default: the spouts) has emitted at least N tuples")
	fs.StringVar(&cond.component, "component", "", "the spout or bolt of --emitted")
	fs.BoolVar(&cond.noErrors, "no-errors", false, "fail at once (exit 3) when a component reports an error")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("wait topology needs exactly one topology NAME")
	}
	name := fs.Arg(0)
	if cond.status != "" && !slices.Contains(waitStatuses, cond.status) {
		return cli.Usagef("--status %q: use one of %s", cond.status, strings.Join(waitStatuses, ", "))
	}
	if cond.component != "" && cond.emitted == 0 {
		return cli.Usagef("--component names the component of --emitted N: give --emitted too")
	}
	if cond.acked < 0 || cond.emitted < 0 || *timeout <= 0 {
		return cli.Usagef("--acked, --emitted and --timeout take positive values")
	}
	if cond == (topologyCond{noErrors: cond.noErrors}) {
		cond.active = true // nothing named: wait until it runs
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	var last *api.TopologyInfo
	return poll(ctx, s, *timeout, "topology "+name, func(ctx context.Context) (verdict, string, error) {
		id, err := c.TopologyIDByName(ctx, name)
		if errors.Is(err, api.ErrNotFound) {
			last = nil
			v, seen := cond.judge(nil)
			return v, seen, nil
		}
		if err != nil {
			return pending, "", err
		}
		info, err := c.TopologyView(ctx, id, "", true)
		if errors.Is(err, api.ErrNotFound) {
			v, seen := cond.judge(nil) // removed between the two requests
			return v, seen, nil
		}
		if err != nil {
			return pending, "", err
		}
		last = info
		v, seen := cond.judge(info)
		return v, seen, nil
	}, func() {
		if last == nil {
			return
		}
		fmt.Fprintln(s.Err, "last seen:")
		tw := tabwriter.NewWriter(s.Err, 0, 4, 2, ' ', 0)
		printTopology(tw, last)
		tw.Flush()
	})
}

// poll looks every 200 ms until look says met or unreachable, or timeout
// passes; then report prints the last state seen on stderr. An error of a
// look (nimbus restarting, say) is retried and shown if it was the last.
func poll(ctx context.Context, s cli.Streams, timeout time.Duration, what string,
	look func(context.Context) (verdict, string, error), report func()) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastSeen string
	var lastErr error
	for {
		v, seen, err := look(ctx)
		switch {
		case err != nil:
			lastErr = err
		case v == met:
			fmt.Fprintf(s.Out, "%s: %s\n", what, seen)
			return nil
		case v == unreachable:
			report()
			return &cli.ExitError{Code: exitUnreachable, Err: fmt.Errorf("wait for %s: %s", what, seen)}
		default:
			lastSeen, lastErr = seen, nil
		}
		select {
		case <-ctx.Done():
			report()
			last := lastSeen
			if lastErr != nil {
				last = lastErr.Error()
			}
			return fmt.Errorf("wait for %s: not reached within %s (last: %s)", what, timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
