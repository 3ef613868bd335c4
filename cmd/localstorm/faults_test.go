package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/localcluster"
)

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), cli.Streams{Out: &out, Err: &errb}, args)
	code = cli.Exit(&errb, err)
	return out.String(), errb.String(), code
}

// TestFaultVerbs: `localstorm fault` against a cluster that serves faults,
// as `up` does; usage errors are refused before any request.
func TestFaultVerbs(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	for _, args := range [][]string{
		{"fault"},
		{"fault", "explode"},
		{"fault", "kill-worker"},
		{"fault", "stop-supervisor", "one"},
		{"fault", "restart-nimbus", "--port", "6700"},
		{"fault", "expire-session"},
		{"fault", "add-supervisor", "3"},
	} {
		if _, stderr, code := runCLI(args...); code != 2 || !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("localstorm %s: exit %d, %q; want a usage error", strings.Join(args, " "), code, stderr)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "cli-faults", Supervisors: 2, Slots: 1, DataDir: t.TempDir(), ServeFaults: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	api := "--api=" + c.APIURL()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fault", "stop-supervisor", "1", api}, 0, "supervisor 1 stopped"},
		{[]string{"fault", "stop-supervisor", "1", api}, 1, "not running"},
		{[]string{"fault", "start-supervisor", "1", api, "-o", "json"}, 0, `"fault": "start-supervisor"`},
		{[]string{"fault", "kill-worker", "nosuch", api}, 1, "no live topology"},
		{[]string{"fault", "add-supervisor", api}, 0, "supervisor 2 added"},
		{[]string{"fault", "restart-zookeeper", api}, 0, "restarted"},
		{[]string{"fault", "restart-nimbus", api}, 0, "answers again"},
		{[]string{"fault", "expire-session", "nimbus", api}, 0, "expired"},
	} {
		stdout, stderr, code := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("localstorm %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.want)
		}
	}
	if _, err := c.Client().ClusterSummary(ctx); err != nil {
		t.Errorf("nimbus does not answer after the faults: %v", err)
	}
}
