package nimbus

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// Dynamic log levels (Storm's setLogConfig/getLogConfig): nimbus keeps a
// topology's LogConfig in /logconfigs/<id>; its workers watch it and set
// their loggers' levels (daemons/worker/loglevels.go).

// LogLevelNames are the levels a LogLevel may name (log4j's, as Storm's).
var LogLevelNames = []string{"ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"}

// RootLogger is the name Storm gives the root logger in a LogConfig.
const RootLogger = "ROOT"

// LogConfig is the topology's log config (Storm's getLogConfig): empty
// when none was set.
func (n *Nimbus) LogConfig(ctx context.Context, id string) (*cluster.LogConfig, error) {
	if err := n.checkLive(id); err != nil {
		return nil, err
	}
	c, err := n.state.TopologyLogConfig(id, nil)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = &cluster.LogConfig{}
	}
	if c.NamedLoggers == nil {
		c.NamedLoggers = map[string]cluster.LogLevel{}
	}
	return c, nil
}

// SetLogConfig merges levels into the topology's log config as Storm's
// nimbus does: what was there is marked UNCHANGED, an UPDATE replaces the
// logger's entry (its timeout becomes an end time: now + timeout, in unix
// ms, or none for 0), a REMOVE deletes it, an UNCHANGED is ignored.
func (n *Nimbus) SetLogConfig(ctx context.Context, id string, levels map[string]cluster.LogLevel) error {
	for name, l := range levels {
		if err := checkLogLevel(name, l); err != nil {
			return fmt.Errorf("%w: %v", api.ErrInvalid, err)
		}
	}
	n.logConfigMu.Lock()
	defer n.logConfigMu.Unlock()
	merged, err := n.LogConfig(ctx, id)
	if err != nil {
		return err
	}
	out := maps.Clone(merged.NamedLoggers)
	for name, l := range out {
		l.Action = cluster.LogLevelUnchanged
		out[name] = l
	}
	now := n.clock.Now()
	for name, l := range levels {
		switch l.Action {
		case cluster.LogLevelUpdate:
			l.TargetLevel = strings.ToUpper(l.TargetLevel)
			l.ResetTimeoutEpochMillis = 0
			if l.ResetTimeoutSecs > 0 {
				l.ResetTimeoutEpochMillis = now.UnixMilli() + int64(l.ResetTimeoutSecs)*1000
			}
			out[name] = l
		case cluster.LogLevelRemove:
			delete(out, name)
		}
	}
	n.log.Info("setting log config", "id", id, "loggers", out)
	return n.state.SetTopologyLogConfig(id, &cluster.LogConfig{NamedLoggers: out}, n.topologyReadACL(id)...)
}

// checkLogLevel checks one logger's entry of a setLogConfig request.
func checkLogLevel(name string, l cluster.LogLevel) error {
	if name == "" {
		return fmt.Errorf("Named loggers need a valid name. Use ROOT for the root logger")
	}
	switch l.Action {
	case cluster.LogLevelUnchanged, cluster.LogLevelRemove:
		return nil
	case cluster.LogLevelUpdate:
	default:
		return fmt.Errorf("logger %s: action %q: use %s, %s or %s", name, l.Action, cluster.LogLevelUpdate, cluster.LogLevelRemove, cluster.LogLevelUnchanged)
	}
	if !isLogLevelName(l.TargetLevel) {
		return fmt.Errorf("logger %s: level %q: use one of %s", name, l.TargetLevel, strings.Join(LogLevelNames, ", "))
	}
	if l.ResetTimeoutSecs < 0 {
		return fmt.Errorf("logger %s: timeout %d: give seconds, or 0 to keep the level", name, l.ResetTimeoutSecs)
	}
	return nil
}

func isLogLevelName(s string) bool {
	for _, n := range LogLevelNames {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}

// checkLive is a NotFound error for a topology nimbus does not know.
func (n *Nimbus) checkLive(id string) error {
	base, err := n.state.StormBase(id, nil)
	if err != nil {
		return fmt.Errorf("read topology %s: %w", id, err)
	}
	if base == nil {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	return nil
}
