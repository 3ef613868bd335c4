package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
)

// faultArgs says what each fault verb takes after it.
var faultArgs = map[string]string{
	api.FaultKillWorker:       "TOPOLOGY [--port P]",
	api.FaultPauseWorker:      "TOPOLOGY [--port P]",
	api.FaultResumeWorker:     "TOPOLOGY [--port P]",
	api.FaultStopSupervisor:   "N",
	api.FaultStartSupervisor:  "N",
	api.FaultAddSupervisor:    "",
	api.FaultRestartNimbus:    "",
	api.FaultRestartZooKeeper: "",
	api.FaultExpireSession:    "nimbus|supervisor-N",
}

func faultSynopsis() string {
	var b strings.Builder
	b.WriteString("VERB [ARGS] [flags], VERB one of:")
	for _, f := range api.Faults {
		b.WriteString("\n  " + strings.TrimSpace(f+" "+faultArgs[f]))
	}
	return b.String()
}

// runFault asks the `up` process that owns the cluster to break it on purpose.
func runFault(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "fault", faultSynopsis())
	g.register(fs)
	g.registerOutput(fs)
	port := fs.Int("port", 0, "kill-worker, pause-worker, resume-worker: the worker's slot port (default: the topology's lowest)")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the fault (restart-nimbus: until the API answers again)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return cli.Usagef("fault needs a VERB: %s", strings.Join(api.Faults, ", "))
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	want, ok := faultArgs[verb]
	if !ok {
		return cli.Usagef("no fault %q: use %s", verb, strings.Join(api.Faults, ", "))
	}
	if *port != 0 && !strings.HasPrefix(want, "TOPOLOGY") {
		return cli.Usagef("fault %s takes no --port", verb)
	}
	if *port < 0 {
		return cli.Usagef("--port %d: give a slot port", *port)
	}
	wantN := len(strings.Fields(strings.ReplaceAll(want, "[--port P]", "")))
	if len(rest) != wantN {
		return cli.Usagef("usage: fault %s %s", verb, want)
	}
	req := api.FaultRequest{Port: *port}
	switch {
	case strings.HasPrefix(want, "TOPOLOGY"):
		req.Topology = rest[0]
	case want == "N":
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return cli.Usagef("fault %s %q: N is a supervisor's index (0, 1, ...)", verb, rest[0])
		}
		req.Supervisor = n
	case verb == api.FaultExpireSession:
		req.Daemon = rest[0]
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var uptime int64
	if verb == api.FaultRestartNimbus {
		uptime = nimbusUptime(ctx, c)
	}
	since := time.Now()
	reply, err := c.Fault(ctx, verb, req)
	if api.IsNotFound(err) && strings.Contains(err.Error(), "no API at") {
		return fmt.Errorf("%w (faults are served only by `localstorm up`, not by a standalone nimbus)", err)
	}
	if err != nil {
		return err
	}
	if verb == api.FaultRestartNimbus {
		if err := waitAPIBack(ctx, c, uptime, since); err != nil {
			return err
		}
		reply.Message = "nimbus restarted on the same address and answers again"
	}
	return printOut(s, g, reply, func(w io.Writer) { fmt.Fprintln(w, reply.Message) })
}

// waitAPIBack waits until nimbus, which restarts after its reply, answers
// again: it was seen down, or its uptime (whole seconds) is below what the
// old one's is by now. That tells them apart when the old uptime was 2 s or
// more (nimbusUptime waits for that), however fast the restart.
func waitAPIBack(ctx context.Context, c *api.Client, before int64, since time.Time) error {
	down := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("restart-nimbus: the API did not answer again: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		n, err := c.NimbusSummary(ctx)
		switch {
		case err != nil:
			down = true
		case len(n.Nimbuses) == 0:
		case down, before >= 2 && n.Nimbuses[0].NimbusUpTimeSeconds < before+int64(time.Since(since).Seconds())-1:
			return nil
		}
	}
}

// nimbusUptime is nimbus's uptime in seconds (-1 when unknown), once it is
// 2 s or more: a nimbus just started waits that long before a restart.
func nimbusUptime(ctx context.Context, c *api.Client) int64 {
	for {
		n, err := c.NimbusSummary(ctx)
		if err != nil || len(n.Nimbuses) == 0 {
			return -1
		}
		if up := n.Nimbuses[0].NimbusUpTimeSeconds; up >= 2 {
			return up
		}
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(100 * time.Millisecond):
		}
	}
}
