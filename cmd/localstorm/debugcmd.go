package main

import (
	"context"
	"fmt"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/cli"
)

// runDebug is `localstorm debug NAME enable|disable [--component C] [--pct P]`:
// Storm UI's debug action (nimbus's debug), which samples the tuples a
// component (or every component) emits into the event log of each worker
// (`localstorm logs NAME --events`).
func runDebug(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "debug", "NAME enable|disable [--component C] [--pct P]")
	g.register(fs)
	component := fs.String("component", "", "only this component (default: the whole topology)")
	pct := fs.Int("pct", 10, "percentage of the emitted tuples to log, 0 to 100 (Storm UI's default: 10)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(1) != "enable" && fs.Arg(1) != "disable") {
		return cli.Usagef("debug needs a topology NAME and enable or disable")
	}
	if *pct < 0 || *pct > 100 {
		return cli.Usagef("--pct %d: give a percentage from 0 to 100", *pct)
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	name, enable := fs.Arg(0), fs.Arg(1) == "enable"
	id, err := topologyID(ctx, c, name)
	if err != nil {
		return err
	}
	if err := c.Debug(ctx, id, *component, enable, *pct); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "debug %s %s: ok\n", fs.Arg(1), name)
	// As Storm, a topology without event loggers logs no events.
	if conf, err := c.TopologyConf(ctx, id); enable && err == nil {
		if n, err := config.Conf(conf).Int(config.TopologyEventLoggerExecutors); err == nil && n == 0 {
			fmt.Fprintf(s.Err, "note: %s has %s = 0, so no event is logged: submit it with -c %s=1\n",
				name, config.TopologyEventLoggerExecutors, config.TopologyEventLoggerExecutors)
		}
	}
	return nil
}
