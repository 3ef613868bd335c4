package api

import (
	"context"
	"net/http"
)

// Storm UI's log config of a topology: GET and POST
// /api/v1/topology/<id>/logconfig, in Storm's body and answer shape.

// LogConfigPage is the body of a POST and the answer of both:
// {"namedLoggerLevels": {"ROOT": {"target_level": "DEBUG", "timeout": 30}}}.
type LogConfigPage struct {
	NamedLoggerLevels map[string]LoggerLevel `json:"namedLoggerLevels"`
}

// LoggerLevel is one logger's entry. In a POST, a target_level sets the
// logger's level for timeout seconds (0: until changed); no target_level
// (or null) removes the logger's entry. An answer has all four fields.
type LoggerLevel struct {
	TargetLevel *string `json:"target_level"`
	ResetLevel  *string `json:"reset_level,omitempty"`
	Timeout     int     `json:"timeout"`
	// TimeoutEpoch is when the level ends (unix ms); 0 for never.
	TimeoutEpoch int64 `json:"timeout_epoch"`
}

// LogConfig is the topology's log config.
func (c *Client) LogConfig(ctx context.Context, id string) (*LogConfigPage, error) {
	var out LogConfigPage
	return &out, c.get(ctx, "log config of "+id, topologyPath(id, "logconfig"), &out)
}

// SetLogConfig changes the topology's log config (merged with what is set)
// and returns it.
func (c *Client) SetLogConfig(ctx context.Context, id string, req LogConfigPage) (*LogConfigPage, error) {
	r, h, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out LogConfigPage
	if err := c.do(ctx, http.MethodPost, topologyPath(id, "logconfig"), r, h, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
