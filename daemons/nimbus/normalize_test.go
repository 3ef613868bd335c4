package nimbus

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// Storm's normalize-topology (ServerUtils.getComponentParallelism): a
// component's tasks are its own topology.tasks, else the topology's, else
// its parallelism hint, capped by topology.max.task.parallelism; an
// executor runs at least one task, so the cap bounds the executors too.
func TestStormNormalizeTopologyTasks(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701, 6702, 6703)
	tasksOf := func(id string) (map[string]int, int) {
		t.Helper()
		var def topology.Definition
		if err := readJSONFile(filepath.Join(e.dir, "nimbus", "stormdist", id, api.CodeFileDefinition), &def); err != nil {
			t.Fatal(err)
		}
		tasks := map[string]int{}
		for comp, ts := range def.ComponentTasks(0) {
			tasks[comp] = len(ts)
		}
		a, err := e.state.AssignmentInfo(id, nil)
		if err != nil || a == nil {
			t.Fatalf("assignment of %s: %v", id, err)
		}
		return tasks, len(a.Executors)
	}
	check := func(name string, conf map[string]any, own int, want map[string]int, wantExecutors int) {
		t.Helper()
		req := e.upload(name, []byte("#!/bin/true\n"+name))
		req.Conf = conf
		req.Definition.Spouts["words"].NumTasks = own
		id, err := e.n.Submit(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		tasks, executors := tasksOf(id)
		if len(tasks) != len(want) || tasks["words"] != want["words"] || tasks["count"] != want["count"] || executors != wantExecutors {
			t.Errorf("%s (%v, words' own tasks %d): tasks %v and %d executors, want %v and %d", name, conf, own, tasks, executors, want, wantExecutors)
		}
	}
	// words: parallelism 2, count: 3; one acker.
	check("hints", nil, 0, map[string]int{"words": 2, "count": 3}, 2+3+1)
	check("topology-tasks", map[string]any{config.TopologyTasks: 6}, 0, map[string]int{"words": 6, "count": 6}, 2+3+1)
	check("own-tasks-win", map[string]any{config.TopologyTasks: 6}, 4, map[string]int{"words": 4, "count": 6}, 2+3+1)
	check("max-parallelism", map[string]any{config.TopologyMaxTaskParallelism: 2}, 4, map[string]int{"words": 2, "count": 2}, 2+2+1)
}

// A submission that sets keys localstorm accepts but does not use hears of
// each once, in the API's answer and in nimbus's log; one that sets none
// hears nothing.
func TestSubmitReportsKeysNotUsed(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, nil)
	e.n.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.addSupervisor("a", 6700, 6701)
	c := api.NewClient(e.n.APIURL())
	req := e.upload("quiet", []byte("#!/bin/true\nquiet"))
	reply, err := c.SubmitWithReply(t.Context(), req)
	if err != nil || len(reply.NotUsed) != 0 {
		t.Errorf("a submission of used keys only: %v, notUsed %q", err, reply.NotUsed)
	}

	req = e.upload("noisy", []byte("#!/bin/true\nnoisy"))
	req.Definition.Conf = map[string]any{config.TopologyTransferBatchSize: 8}
	req.Definition.Bolts["count"].Conf = map[string]any{config.TopologyTransferBatchSize: 16}
	req.Conf = map[string]any{config.StormZookeeperRetryTimes: 3, config.TopologyWorkers: 1}
	reply, err = c.SubmitWithReply(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{config.StormZookeeperRetryTimes, config.TopologyTransferBatchSize}
	if len(reply.NotUsed) != len(want) {
		t.Fatalf("notUsed %q, want one line for each of %v", reply.NotUsed, want)
	}
	for i, key := range want {
		if !strings.HasPrefix(reply.NotUsed[i], "accepted, not used by localstorm: "+key+" (") {
			t.Errorf("notUsed[%d] = %q, want it to name %s", i, reply.NotUsed[i], key)
		}
		if n := strings.Count(logs.String(), "accepted, not used by localstorm: "+key); n != 1 {
			t.Errorf("nimbus logged %s %d times, want once:\n%s", key, n, logs.String())
		}
	}
}
