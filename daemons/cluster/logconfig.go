package cluster

import "fmt"

// A topology's dynamic log levels: /logconfigs/<topology-id>, Storm's
// LogConfig. Nimbus writes it (setLogConfig, Storm UI's logconfig page,
// `set_log_level`); every worker of the topology watches it and applies it
// to its loggers.

// Storm's LogLevelAction.
const (
	LogLevelUnchanged = "UNCHANGED"
	LogLevelUpdate    = "UPDATE"
	LogLevelRemove    = "REMOVE"
)

// LogLevel is one logger's entry of a LogConfig (Storm's LogLevel; the JSON
// names are the Thrift field names).
type LogLevel struct {
	// Action is LogLevelUpdate or LogLevelUnchanged in a stored config
	// (nimbus marks every earlier entry unchanged when it merges a new
	// request), and may be LogLevelRemove in a request.
	Action string `json:"action"`
	// TargetLevel is the level the logger is set to (Storm's log4j names:
	// ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF).
	TargetLevel string `json:"target_log_level,omitempty"`
	// ResetTimeoutSecs is how long the level holds; 0 for ever.
	ResetTimeoutSecs int `json:"reset_log_level_timeout_secs,omitempty"`
	// ResetTimeoutEpochMillis is when the level ends (unix ms), set by
	// nimbus from ResetTimeoutSecs; 0 when it holds for ever.
	ResetTimeoutEpochMillis int64 `json:"reset_log_level_timeout_epoch,omitempty"`
	// ResetLevel is the level the logger returns to (the worker fills it).
	ResetLevel string `json:"reset_log_level,omitempty"`
}

// LogConfig is /logconfigs/<topology-id>: logger name (ROOT for the root
// logger) to its level.
type LogConfig struct {
	V            int                 `json:"v"`
	NamedLoggers map[string]LogLevel `json:"named_logger_level"`
}

func (r *LogConfig) schemaVersion() int     { return r.V }
func (r *LogConfig) setSchemaVersion(v int) { r.V = v }

// TopologyLogConfig reads the topology's log config (nil when none was set);
// cb, when given, is called once when it changes.
func (s *stormState) TopologyLogConfig(topologyID string, cb Callback) (*LogConfig, error) {
	if err := checkID("topology id", topologyID); err != nil {
		return nil, fmt.Errorf("read log config: %w", err)
	}
	s.storeMap(s.logConfigCB, topologyID, cb)
	c, _, err := readRecord[LogConfig](s.state, LogconfigPath(topologyID), cb != nil)
	if err != nil {
		return nil, fmt.Errorf("read log config of %s: %w", topologyID, err)
	}
	return c, nil
}

// SetTopologyLogConfig writes the topology's log config; acl is the node's
// ACL when it is created (Storm's mkTopoReadOnlyAcls; none: the default).
func (s *stormState) SetTopologyLogConfig(topologyID string, c *LogConfig, acl ...ACL) error {
	return s.onTopology("set log config", topologyID, func() error {
		return writeRecord(s.setData(acl), LogconfigPath(topologyID), c)
	})
}
