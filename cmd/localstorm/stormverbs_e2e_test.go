package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
)

// Storm's verbs against a running cluster with the word count: get-errors,
// monitor, remoteconfvalue, heartbeats, kill_workers, list's columns and
// kill --wait-time-secs, each printing what Storm's prints.
func TestEndToEndStormVerbs(t *testing.T) {
	e := newEnv(t)
	upProc := e.up("--cluster", "verbs", "--supervisors", "2", "--slots", "2", "--demo", "-c", "worker.log.level.reset.poll.secs=1")
	cl := []string{"--cluster", "verbs"}
	run := func(args ...string) string { t.Helper(); return e.ok(append(args, cl...)...) }

	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "word count acks tuples", func() (bool, string) {
		e.jsonOf(&info, append([]string{"topology", "wordcount"}, cl...)...)
		_, acked, _ := spoutTotals(&info)
		return acked > 0, fmt.Sprintf("acked %d", acked)
	})

	if out := run("list"); !strings.HasPrefix(out, "Topology_name        Status     Num_tasks  Num_workers  Uptime_secs  Topology_Id") ||
		!strings.Contains(out, "wordcount            ACTIVE") || !strings.Contains(out, info.ID) {
		t.Errorf("list:\n%s", out)
	}

	if out := run("get-errors", "wordcount"); out != `{"Comp-Errors":{},"Topology Name":"wordcount"}`+"\n" {
		t.Errorf("get-errors wordcount: %q", out)
	}
	if out := run("get-errors", "nosuch"); out != `{"Failure":"No topologies running with name nosuch"}`+"\n" {
		t.Errorf("get-errors nosuch: %q", out)
	}

	if out := run("monitor", "wordcount"); !strings.Contains(out, "Available components for wordcount :\n------------------\n__acker\ncount\nsentences\nsplit\n------------------\nPlease use -m") {
		t.Errorf("monitor without -m:\n%s", out)
	}
	out := run("monitor", "wordcount", "-m", "split", "-i", "1", "--count", "3", "-w", "transferred")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != "topology\tcomponent\tparallelism\tstream\ttime-diff ms\ttransferred\tthroughput (Kt/s)" {
		t.Fatalf("monitor -m split --count 3:\n%s", out)
	}
	for i, l := range lines[1:] {
		f := strings.Split(l, "\t")
		ms, _ := strconv.Atoi(f[4])
		if len(f) != 7 || f[0] != "wordcount" || f[1] != "split" || f[2] != "2" || f[3] != "default" ||
			(i == 0 && ms != 0) || (i > 0 && (ms < 500 || ms > 2500)) {
			t.Errorf("monitor line %d: %q", i+1, l)
		}
	}
	if _, errs, code := e.run(append([]string{"monitor", "wordcount", "-m", "nosuch", "--count", "1"}, cl...)...); code != 1 || !strings.Contains(errs, "component: nosuch not found") {
		t.Errorf("monitor of an unknown component: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := e.run(append([]string{"monitor", "wordcount", "-m", "split", "-s", "nosuch", "--count", "1"}, cl...)...); code != 1 || !strings.Contains(errs, "stream: nosuch not found") {
		t.Errorf("monitor of an unknown stream: exit %d, stderr %q", code, errs)
	}

	if out := run("remoteconfvalue", "storm.zookeeper.root"); out != "storm.zookeeper.root: /storm\n" {
		t.Errorf("remoteconfvalue: %q", out)
	}

	if out := run("heartbeats", "list", "/workerbeats"); out != "list /workerbeats:\n"+info.ID+"\n" {
		t.Errorf("heartbeats list /workerbeats: %q", out)
	}
	var beats []string
	testutil.Eventually(t, 30*time.Second, "a heartbeat per worker", func() (bool, string) {
		e.jsonOf(&beats, append([]string{"heartbeats", "list", "/workerbeats/" + info.ID}, cl...)...)
		return len(beats) == 2, fmt.Sprintf("%v", beats)
	})
	var hb struct {
		TopologyID string `json:"topologyId"`
		Executors  []any  `json:"executors"`
	}
	if err := json.Unmarshal([]byte(run("heartbeats", "get", "/workerbeats/"+info.ID+"/"+beats[0])), &hb); err != nil || hb.TopologyID != info.ID || len(hb.Executors) == 0 {
		t.Errorf("heartbeats get: %+v, %v", hb, err)
	}
	if out := run("heartbeats", "get", "/workerbeats/nosuch"); out != "No Heartbeats found\n" {
		t.Errorf("heartbeats get of nothing: %q", out)
	}

	// set_log_level: every worker applies the levels, and ROOT's returns
	// to its original level when its timeout has passed.
	if out := run("set_log_level", "wordcount", "-l", "ROOT=debug:2", "-l", "split=ERROR"); !strings.Contains(out, "ROOT\tDEBUG\ttimeout 2s\n") || !strings.Contains(out, "split\tERROR\ttimeout 0s\n") {
		t.Errorf("set_log_level: %q", out)
	}
	testutil.Eventually(t, 30*time.Second, "both workers apply the log config and reset ROOT after 2 s", func() (bool, string) {
		out := run("logs", "wordcount")
		applied, reset := 0, 0
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, `msg="log config applied"`) && strings.Contains(l, `loggers="[ROOT=DEBUG split=ERROR]"`) {
				applied++
			}
			if strings.Contains(l, `msg="log level timeout passed: level reset"`) && strings.HasSuffix(l, "logger=ROOT") {
				reset++
			}
		}
		return applied == 2 && reset == 2, fmt.Sprintf("applied by %d, reset by %d workers", applied, reset)
	})
	if out := run("set_log_level", "wordcount", "-r", "split"); strings.Contains(out, "split") {
		t.Errorf("set_log_level -r split: %q", out)
	}

	// kill_workers kills every worker; the supervisors relaunch them.
	up := upProc.pid
	before := map[int]int{}
	for _, w := range info.Workers {
		before[w.Port] = workerPid(descendants(up), info.ID, w.Port)
	}
	if out := run("kill_workers"); strings.Count(out, "killed worker") != 2 {
		t.Errorf("kill_workers: %q", out)
	}
	testutil.Eventually(t, 60*time.Second, "workers relaunched with new pids", func() (bool, string) {
		pids := descendants(up)
		for port, old := range before {
			if p := workerPid(pids, info.ID, port); p == 0 || p == old {
				return false, fmt.Sprintf("port %d: pid %d (was %d)", port, p, old)
			}
		}
		return true, ""
	})

	run("kill", "wordcount", "--wait-time-secs", "0")
	testutil.Eventually(t, 30*time.Second, "killed topology removed", func() (bool, string) {
		out := run("list")
		return out == "No topologies running.\n", out
	})
	if out := run("get-errors", "wordcount"); out != `{"Failure":"No topologies running with name wordcount"}`+"\n" {
		t.Errorf("get-errors after kill: %q", out)
	}
	run("down")
}
