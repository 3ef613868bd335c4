package nimbus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/internal/testutil"
)

// storedConf reads stormconf.json of id from nimbus's stormdist and its
// SHA-256.
func (e *testEnv) storedConf(id string) (map[string]any, string) {
	e.t.Helper()
	path := filepath.Join(e.dir, "nimbus", "stormdist", id, api.CodeFileConf)
	var conf map[string]any
	if err := readJSONFile(path, &conf); err != nil {
		e.t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return conf, sum(data)
}

// The conf given on rebalance is merged at do-rebalance into the stored
// conf (file, cache and API), the assignment carries the new file's
// checksum, and a hard link to the old file (a supervisor's copy) keeps
// the old content.
func TestRebalanceMergesTopologyConf(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	id := e.submit("wc", map[string]any{"topology.max.spout.pending": 3, "wc.keep": "yes"})
	_, before := e.storedConf(id)
	a, _ := e.state.AssignmentInfo(id, nil)
	if a.ConfSHA256 != before {
		t.Fatalf("assignment's conf checksum %q, want the stored conf's %q", a.ConfSHA256, before)
	}
	oldLink := filepath.Join(t.TempDir(), "old.json")
	if err := os.Link(filepath.Join(e.dir, "nimbus", "stormdist", id, api.CodeFileConf), oldLink); err != nil {
		t.Fatal(err)
	}

	o := api.RebalanceOptions{TopologyConf: map[string]any{"topology.max.spout.pending": 7, "wc.new": "added"}}
	if err := e.n.Rebalance(t.Context(), id, 20, o); err != nil {
		t.Fatal(err)
	}
	if conf, _ := e.n.TopologyConf(t.Context(), id); conf["topology.max.spout.pending"] != 3 && conf["topology.max.spout.pending"] != float64(3) {
		t.Errorf("conf changed before do-rebalance: max pending %v", conf["topology.max.spout.pending"])
	}
	// The pending change survives a nimbus restart, in the storm base.
	e.stop()
	e.start()
	e.advance(21 * time.Second)
	testutil.Eventually(t, 10*time.Second, "do-rebalance", func() bool { return e.state.status(id) == cluster.StatusActive })

	conf, after := e.storedConf(id)
	if conf["topology.max.spout.pending"] != float64(7) || conf["wc.new"] != "added" || conf["wc.keep"] != "yes" || conf["storm.id"] != id {
		t.Errorf("stored conf after rebalance: %v", conf)
	}
	apiConf, err := e.n.TopologyConf(t.Context(), id)
	if err != nil || apiConf["topology.max.spout.pending"] != 7 && apiConf["topology.max.spout.pending"] != float64(7) {
		t.Errorf("topology conf API after rebalance: max pending %v (%v)", apiConf["topology.max.spout.pending"], err)
	}
	a, _ = e.state.AssignmentInfo(id, nil)
	if after == before || a.ConfSHA256 != after {
		t.Errorf("assignment's conf checksum %q; stored conf %q, was %q", a.ConfSHA256, after, before)
	}
	var old map[string]any
	if err := readJSONFile(oldLink, &old); err != nil || old["topology.max.spout.pending"] != float64(3) {
		t.Errorf("the old conf file was written in place: a hard link now reads %v (%v)", old["topology.max.spout.pending"], err)
	}
	base, _ := e.state.StormBase(id, nil)
	if base.TopologyActionOptions != nil {
		t.Errorf("pending action left after do-rebalance: %+v", base.TopologyActionOptions)
	}
}

// Keys a rebalance cannot change and values the submit checks refuse are
// errors when the rebalance is asked for, and nothing changes.
func TestRebalanceRefusesTopologyConf(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	id := e.submit("wc", nil)
	_, before := e.storedConf(id)
	for _, bad := range []struct {
		conf map[string]any
		msg  string
	}{
		{map[string]any{"topology.submitter.user": "mallory"}, "cannot change topology.submitter.user (nimbus sets who submitted the topology)"},
		{map[string]any{"storm.zookeeper.topology.auth.payload": "a:b", "wc.x": 1}, "cannot change storm.zookeeper.topology.auth.payload"},
		{map[string]any{"storm.zookeeper.superACL": "sasl:x"}, "cannot change storm.zookeeper.superACL"},
		{map[string]any{"topology.acker.executors": 4}, "-e __acker=N"},
		{map[string]any{"topology.name": "other"}, "cannot change topology.name"},
		{map[string]any{"topology.max.spout.pending": 0}, "topology.max.spout.pending"},
		{map[string]any{"topology.message.timeout.secs": "soon"}, "topology.message.timeout.secs"},
	} {
		err := e.n.Rebalance(t.Context(), id, 0, api.RebalanceOptions{TopologyConf: bad.conf})
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("rebalance -t %v: %v, want invalid naming %q", bad.conf, err, bad.msg)
		}
	}
	e.waitQuiet()
	if base, _ := e.state.StormBase(id, nil); base.Status != cluster.StatusActive || base.TopologyActionOptions != nil {
		t.Errorf("a refused rebalance changed the storm base: %+v", base)
	}
	if _, now := e.storedConf(id); now != before {
		t.Error("a refused rebalance changed stormconf.json")
	}
	if err := e.n.Rebalance(t.Context(), "nope-1-1", 0, api.RebalanceOptions{TopologyConf: map[string]any{"a": 1}}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("rebalance -t of an unknown topology: %v, want not found", err)
	}
}
