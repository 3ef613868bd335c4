package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/internal/cli"
)

// Flags whose zero would silently mean a default, malformed addresses and bad
// configuration are refused, in process, before anything starts: no
// "starting cluster" line, nothing listening, a clear error and its exit code.
func TestBadFlagsAreRefusedBeforeStarting(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no supervisors", []string{"up", "--supervisors", "0"}, 2, "--supervisors 0: give 1 or more"},
		{"negative supervisors", []string{"up", "--supervisors", "-1"}, 2, "--supervisors -1: give 1 or more"},
		{"no slots", []string{"up", "--slots", "0"}, 2, "--slots 0: give 1 or more"},
		{"negative demo rate", []string{"up", "--demo", "--demo-rate", "-5"}, 2, "--demo-rate -5: give sentences per second"},
		{"too many slots", []string{"up", "--slots", "65"}, 1, "give 1 to 64"},
		{"zookeeper tick time 0", []string{"zookeeper", "--tick-time", "0"}, 2, "--tick-time 0: give 1 or more"},
		{"malformed api addr", []string{"up", "--api-addr", "nonsense"}, 2, `--api-addr "nonsense" is malformed`},
		{"malformed api addr of nimbus", []string{"nimbus", "--api-addr", "nonsense"}, 2, `--api-addr "nonsense" is malformed`},
		{"api port in use", []string{"up", "--api-addr", busy.Addr().String()}, 1, "the port is in use"},
		{"bad configuration value", []string{"up", "-c", "nimbus.monitor.freq.secs=abc"}, 1, "nimbus.monitor.freq.secs"},
		{"malformed override", []string{"up", "-c", "novalue"}, 2, "want key=value"},
		// Storm's nimbus and supervisor exit 13 when they fail to initialise.
		{"nimbus fails to initialise", []string{"nimbus", "-c", "nimbus.monitor.freq.secs=abc"}, 13, "nimbus.monitor.freq.secs"},
		{"supervisor fails to initialise", []string{"supervisor", "-c", "supervisor.monitor.frequency.secs=abc"}, 13, "supervisor.monitor.frequency.secs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := Run(context.Background(), cli.Streams{Out: &out, Err: &errb}, tc.args)
			code := cli.Exit(&errb, err)
			stderr := errb.String()
			if code != tc.code || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("localstorm %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
			}
			if strings.Contains(stderr, "starting cluster") || out.Len() > 0 {
				t.Errorf("localstorm %s started before refusing: stdout %q, stderr %q", strings.Join(tc.args, " "), out.String(), stderr)
			}
			if strings.Contains(tc.want, "malformed") && strings.Contains(stderr, "in use") {
				t.Errorf("a malformed address is not a port in use: %q", stderr)
			}
		})
	}
}
