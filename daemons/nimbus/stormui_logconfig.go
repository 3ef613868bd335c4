package nimbus

import (
	"fmt"
	"net/http"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// Storm UI's log config page: GET and POST /api/v1/topology/<id>/logconfig
// (Storm's getTopologyLogconfig and putTopologyLogconfig), over
// Nimbus.LogConfig and SetLogConfig.

// registerLogConfig adds the routes of this file; post goes through the
// API's guard as every state-changing route.
func (h *apiHandler) registerLogConfig(handle func(string, handlerFunc), post func(path, contentType string, fn handlerFunc)) {
	n := h.svc
	path := api.PathTopology + "{id}/logconfig"
	handle("GET "+path, func(r *http.Request) (any, error) {
		c, err := n.LogConfig(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return logConfigPage(c), nil
	})
	post(path, api.ContentTypeJSON, func(r *http.Request) (any, error) {
		var body api.LogConfigPage
		if err := h.decodeJSON(r, &body); err != nil {
			return nil, err
		}
		id := r.PathValue("id")
		levels := map[string]cluster.LogLevel{}
		for name, l := range body.NamedLoggerLevels {
			if l.TargetLevel == nil || *l.TargetLevel == "" {
				levels[name] = cluster.LogLevel{Action: cluster.LogLevelRemove}
				continue
			}
			levels[name] = cluster.LogLevel{Action: cluster.LogLevelUpdate, TargetLevel: *l.TargetLevel, ResetTimeoutSecs: l.Timeout}
		}
		if err := n.SetLogConfig(r.Context(), id, levels); err != nil {
			return nil, fmt.Errorf("set log config of %s: %w", id, err)
		}
		c, err := n.LogConfig(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return logConfigPage(c), nil
	})
}

// logConfigPage is Storm UI's form of a log config.
func logConfigPage(c *cluster.LogConfig) *api.LogConfigPage {
	out := &api.LogConfigPage{NamedLoggerLevels: map[string]api.LoggerLevel{}}
	for name, l := range c.NamedLoggers {
		e := api.LoggerLevel{Timeout: l.ResetTimeoutSecs, TimeoutEpoch: l.ResetTimeoutEpochMillis}
		if l.TargetLevel != "" {
			target := l.TargetLevel
			e.TargetLevel = &target
		}
		if l.ResetLevel != "" {
			reset := l.ResetLevel
			e.ResetLevel = &reset
		}
		out.NamedLoggerLevels[name] = e
	}
	return out
}
