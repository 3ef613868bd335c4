package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
)

// workerConf reads the stormconf.json of the code dir a running worker
// process was started with (its --code-dir argument).
func workerConf(t *testing.T, pid int) (map[string]any, error) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	args := strings.Split(string(b), "\x00")
	i := slices.Index(args, "--code-dir")
	if i < 0 || i+1 >= len(args) {
		return nil, fmt.Errorf("worker %d has no --code-dir: %q", pid, args)
	}
	data, err := os.ReadFile(filepath.Join(args[i+1], "stormconf.json"))
	if err != nil {
		return nil, err
	}
	var conf map[string]any
	return conf, json.Unmarshal(data, &conf)
}

// Storm's `rebalance NAME -t JSON`: the keys given are merged into the
// running topology's configuration, shown by the topology API, and its
// workers are restarted with the new conf; a key a rebalance may not change
// is refused with the reason.
func TestEndToEndRebalanceTopologyConf(t *testing.T) {
	e := newEnv(t)
	up := e.up("--cluster", "rbconf", "--supervisors", "1", "--slots", "2", "--dir", t.TempDir(), "--demo")
	var info api.TopologyInfo
	testutil.Eventually(t, 60*time.Second, "word count acks tuples", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "rbconf")
		_, acked, _ := spoutTotals(&info)
		return acked > 0 && len(info.Workers) > 0, fmt.Sprintf("acked %d", acked)
	})
	port := info.Workers[0].Port
	before := workerPid(descendants(up.pid), info.ID, port)
	if conf, err := workerConf(t, before); err != nil || conf["topology.max.spout.pending"] == nil || conf["topology.max.spout.pending"] == float64(7) {
		t.Fatalf("worker %d's conf before the rebalance: max pending %v (%v)", before, conf["topology.max.spout.pending"], err)
	}

	if _, errs, code := e.run("rebalance", "wordcount", "--cluster", "rbconf", "-t", `{"topology.submitter.user": "mallory"}`); code != 1 ||
		!strings.Contains(errs, "a rebalance cannot change topology.submitter.user") {
		t.Errorf("rebalance -t with a refused key: exit %d, stderr %q", code, errs)
	}
	e.ok("rebalance", "wordcount", "--cluster", "rbconf", "-w", "0", "-t", `{"topology.max.spout.pending": 7}`)
	testutil.Eventually(t, 30*time.Second, "the new conf in the topology API", func() (bool, string) {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "rbconf")
		return info.Status == "ACTIVE" && info.Configuration["topology.max.spout.pending"] == float64(7),
			fmt.Sprintf("status %s, max pending %v", info.Status, info.Configuration["topology.max.spout.pending"])
	})
	testutil.Eventually(t, 60*time.Second, "a worker restarted with the new conf", func() (bool, string) {
		var now api.TopologyInfo
		e.jsonOf(&now, "topology", "wordcount", "--cluster", "rbconf")
		for _, w := range now.Workers {
			pid := workerPid(descendants(up.pid), now.ID, w.Port)
			if pid == 0 || pid == before {
				return false, fmt.Sprintf("worker on port %d: pid %d (was %d)", w.Port, pid, before)
			}
			conf, err := workerConf(t, pid)
			if err != nil || conf["topology.max.spout.pending"] != float64(7) {
				return false, fmt.Sprintf("worker %d: max pending %v (%v)", pid, conf["topology.max.spout.pending"], err)
			}
		}
		return len(now.Workers) > 0, fmt.Sprintf("%d workers", len(now.Workers))
	})
	acked := func() int64 {
		e.jsonOf(&info, "topology", "wordcount", "--cluster", "rbconf")
		_, a, _ := spoutTotals(&info)
		return a
	}
	after := acked()
	testutil.Eventually(t, 60*time.Second, "tuples acked after the rebalance", func() (bool, string) {
		a := acked()
		return a > after, fmt.Sprintf("acked %d, %d right after", a, after)
	})
	e.ok("down", "--cluster", "rbconf")
	up.stopped(t, 30*time.Second)
}
