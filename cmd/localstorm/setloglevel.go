package main

// Storm's `storm set_log_level NAME -l LOGGER=LEVEL[:TIMEOUT] -r LOGGER`:
// change the log levels of a running topology's workers (Storm UI's
// logconfig page, Storm's setLogConfig).

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/worker"
	"github.com/localstorm/localstorm/internal/cli"
)

// parseLogLevelFlags reads -l LOGGER=LEVEL[:TIMEOUT] and -r LOGGER into
// Storm UI's logconfig body.
func parseLogLevelFlags(set, remove []string) (api.LogConfigPage, error) {
	out := api.LogConfigPage{NamedLoggerLevels: map[string]api.LoggerLevel{}}
	for _, s := range set {
		logger, rest, ok := strings.Cut(s, "=")
		level, timeout, hasTimeout := strings.Cut(rest, ":")
		if !ok || logger == "" || level == "" {
			return out, cli.Usagef("-l %q: expected LOGGER=LEVEL[:TIMEOUT-SECS], as -l ROOT=DEBUG:30", s)
		}
		if _, ok := worker.ParseLogLevel(level); !ok {
			return out, cli.Usagef("-l %q: level %q: use ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL or OFF", s, level)
		}
		secs := 0
		if hasTimeout {
			n, err := strconv.Atoi(timeout)
			if err != nil || n < 0 {
				return out, cli.Usagef("-l %q: timeout %q: give seconds (0: until changed)", s, timeout)
			}
			secs = n
		}
		level = strings.ToUpper(level)
		out.NamedLoggerLevels[logger] = api.LoggerLevel{TargetLevel: &level, Timeout: secs}
	}
	for _, logger := range remove {
		if logger == "" {
			return out, cli.Usagef("-r: give a LOGGER name (ROOT for the root logger)")
		}
		out.NamedLoggerLevels[logger] = api.LoggerLevel{}
	}
	if len(out.NamedLoggerLevels) == 0 {
		return out, cli.Usagef("set_log_level: give -l LOGGER=LEVEL[:TIMEOUT] or -r LOGGER")
	}
	return out, nil
}

// runSetLogLevel is Storm's set_log_level: it sends the change and prints
// the topology's log config as nimbus now has it.
func runSetLogLevel(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	var set, remove []string
	var req api.LogConfigPage
	c, name, err := topologyCommand(s, g, "set_log_level", "NAME [-l LOGGER=LEVEL[:TIMEOUT]]... [-r LOGGER]...", args, func(fs *pflag.FlagSet) {
		fs.StringArrayVarP(&set, "log-setting", "l", nil, "LOGGER=LEVEL[:TIMEOUT-SECS]: set a logger's level (ROOT, or a component id), for TIMEOUT seconds; repeatable")
		fs.StringArrayVarP(&remove, "remove-log-setting", "r", nil, "LOGGER: drop a logger's setting, back to its original level; repeatable")
	}, func() error {
		var err error
		req, err = parseLogLevelFlags(set, remove)
		return err
	})
	if err != nil {
		return err
	}
	id, err := c.TopologyIDByName(ctx, name)
	if err != nil {
		return err
	}
	page, err := c.SetLogConfig(ctx, id, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "Sent log config for topology %s (%s)\n", name, id)
	for _, logger := range slices.Sorted(maps.Keys(page.NamedLoggerLevels)) {
		l := page.NamedLoggerLevels[logger]
		target := ""
		if l.TargetLevel != nil {
			target = *l.TargetLevel
		}
		fmt.Fprintf(s.Out, "%s\t%s\ttimeout %ds\n", logger, target, l.Timeout)
	}
	return nil
}
