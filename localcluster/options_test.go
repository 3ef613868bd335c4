package localcluster

import (
	"strings"
	"testing"
)

// Validate refuses what Start would, before anything starts, and says what
// is wrong with the value (a malformed address is not a busy port).
func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string // "" = valid
	}{
		{"zero value", Options{}, ""},
		{"api on port 0", Options{APIAddr: "127.0.0.1:0"}, ""},
		{"malformed api addr", Options{APIAddr: "nonsense"}, `api addr "nonsense" is malformed`},
		{"api port out of range", Options{APIAddr: "127.0.0.1:99999"}, "port must be a number from 0 to 65535"},
		{"negative supervisors", Options{Supervisors: -1}, "negative"},
		{"too many slots", Options{Slots: 65}, "give 1 to 64"},
		{"bad configuration", Options{Conf: map[string]any{"nimbus.monitor.freq.secs": "abc"}}, "nimbus.monitor.freq.secs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
