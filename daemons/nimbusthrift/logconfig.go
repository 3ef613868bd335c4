package nimbusthrift

import (
	"context"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// Storm's dynamic log levels: setLogConfig and getLogConfig take a topology
// id (Storm's IDL calls it name). Storm declares no exceptions for them, so
// an unknown id reaches the client as a TApplicationException naming it.

var logActions = map[storm.LogLevelAction]string{
	storm.LogLevelAction_UNCHANGED: cluster.LogLevelUnchanged,
	storm.LogLevelAction_UPDATE:    cluster.LogLevelUpdate,
	storm.LogLevelAction_REMOVE:    cluster.LogLevelRemove,
}

// SetLogConfig is setLogConfig.
func (h *Handler) SetLogConfig(ctx context.Context, id string, config *storm.LogConfig) error {
	levels := map[string]cluster.LogLevel{}
	if config != nil {
		for name, l := range config.NamedLoggerLevel {
			if l == nil {
				continue
			}
			action, ok := logActions[l.Action]
			if !ok {
				action = l.Action.String()
			}
			levels[name] = cluster.LogLevel{
				Action: action, TargetLevel: l.GetTargetLogLevel(), ResetTimeoutSecs: int(l.GetResetLogLevelTimeoutSecs()),
			}
		}
	}
	return idError(id, h.b.SetLogConfig(ctx, id, levels))
}

// GetLogConfig is getLogConfig.
func (h *Handler) GetLogConfig(ctx context.Context, id string) (*storm.LogConfig, error) {
	c, err := h.b.LogConfig(ctx, id)
	if err != nil {
		return nil, idError(id, err)
	}
	out := &storm.LogConfig{NamedLoggerLevel: map[string]*storm.LogLevel{}}
	for name, l := range c.NamedLoggers {
		sl := &storm.LogLevel{Action: storm.LogLevelAction_UNCHANGED}
		for a, s := range logActions {
			if s == l.Action {
				sl.Action = a
			}
		}
		if l.TargetLevel != "" {
			sl.TargetLogLevel = &l.TargetLevel
		}
		if l.ResetTimeoutSecs != 0 {
			sl.ResetLogLevelTimeoutSecs = i32p(l.ResetTimeoutSecs)
		}
		if l.ResetTimeoutEpochMillis != 0 {
			sl.ResetLogLevelTimeoutEpoch = &l.ResetTimeoutEpochMillis
		}
		if l.ResetLevel != "" {
			sl.ResetLogLevel = &l.ResetLevel
		}
		out.NamedLoggerLevel[name] = sl
	}
	return out, nil
}
