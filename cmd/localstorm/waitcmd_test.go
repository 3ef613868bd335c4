package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
)

func TestWaitJudge(t *testing.T) {
	running := &api.TopologyInfo{Status: "ACTIVE",
		Spouts: []api.SpoutSummary{{SpoutID: "s", Emitted: 50, Acked: 40, ExecutorStats: []api.ExecutorSummary{{Alive: true}}}},
		Bolts:  []api.BoltSummary{{BoltID: "b", Emitted: 7, ExecutorStats: []api.ExecutorSummary{{Alive: true}, {Alive: false}}}},
	}
	failing := &api.TopologyInfo{Status: "ACTIVE", Bolts: []api.BoltSummary{{BoltID: "b", ComponentError: api.ComponentError{LastError: "boom\nat ..."}}}}
	killed := &api.TopologyInfo{Status: "KILLED"}
	for _, tc := range []struct {
		name string
		cond topologyCond
		info *api.TopologyInfo
		want verdict
	}{
		{"not submitted yet", topologyCond{active: true}, nil, pending},
		{"gone", topologyCond{status: "gone"}, nil, met},
		{"still there", topologyCond{status: "gone"}, running, pending},
		{"status", topologyCond{status: "ACTIVE"}, running, met},
		{"an executor down", topologyCond{active: true}, running, pending},
		{"acked", topologyCond{acked: 40}, running, met},
		{"acked not yet", topologyCond{acked: 41}, running, pending},
		{"spouts emitted", topologyCond{emitted: 50}, running, met},
		{"bolt emitted not yet", topologyCond{emitted: 8, component: "b"}, running, pending},
		{"no such component", topologyCond{emitted: 1, component: "x"}, running, unreachable},
		{"killed", topologyCond{acked: 1}, killed, unreachable},
		{"killed awaited", topologyCond{status: "KILLED"}, killed, met},
		{"errors refused", topologyCond{noErrors: true, status: "ACTIVE"}, failing, unreachable},
		{"errors allowed", topologyCond{status: "ACTIVE"}, failing, met},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, seen := tc.cond.judge(tc.info); got != tc.want {
				t.Errorf("judge = %v (%s), want %v", got, seen, tc.want)
			}
		})
	}
}

// Argument errors are usage errors (exit 2), found before any cluster is looked for.
func TestCIArgumentErrors(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"wait"}, "cluster or topology"},
		{[]string{"wait", "nimbus"}, "cluster or topology"},
		{[]string{"wait", "topology"}, "exactly one topology NAME"},
		{[]string{"wait", "topology", "wc", "--status", "RUNNING"}, "--status"},
		{[]string{"wait", "topology", "wc", "--component", "count"}, "--emitted"},
		{[]string{"wait", "topology", "wc", "--timeout", "0s"}, "positive"},
		{[]string{"wait", "cluster", "--supervisors", "0"}, "--supervisors"},
		{[]string{"up", "-o", "json"}, "--detach"},
		{[]string{"up", "-d", "-o", "yaml"}, "-o"},
		{[]string{"up", "-d", "--wait-timeout", "0s"}, "--wait-timeout"},
		{[]string{"down", "--all", "--cluster", "x"}, "not both"},
		{[]string{"export", "logs"}, "DIR"},
		{[]string{"export", "pictures", "d"}, "export logs"},
	} {
		var out, errb bytes.Buffer
		code := cli.Exit(&errb, Run(context.Background(), cli.Streams{Out: &out, Err: &errb}, tc.args))
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
