package localcluster_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// needThriftTools skips unless Debian's thrift-compiler and python3-thrift
// are installed (.ci/run installs both, so CI runs the test), and returns
// the python3 that imports thrift: the one on PATH, else Debian's (a pyenv
// shim on PATH does not see Debian's packages).
func needThriftTools(t *testing.T) string {
	t.Helper()
	// CI installs the tools (.ci/run sets LOCALSTORM_CI): there a missing
	// one fails the test instead of skipping what was never run.
	missing := t.Skip
	if os.Getenv("LOCALSTORM_CI") != "" {
		missing = t.Fatal
	}
	if _, err := exec.LookPath("thrift"); err != nil {
		missing("thrift-compiler is not installed (apt-get install thrift-compiler python3-thrift)")
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import thrift").Run() == nil {
			return py
		}
	}
	missing("python3-thrift is not installed (apt-get install python3-thrift)")
	return ""
}

// A client the project did not write: thrift-compiler generates a Python
// client from the project's IDL, and python3-thrift drives a real cluster's
// nimbus with it over Storm's wire through list, info, confs, activate,
// deactivate, rebalance and kill of a running Flux topology.
func TestThriftPythonClient(t *testing.T) {
	python := needThriftTools(t)
	bs := buildBinaries(t)
	gen := t.TempDir()
	if out, err := exec.Command("thrift", "-gen", "py", "-out", gen, "../daemons/nimbusthrift/storm.thrift").CombinedOutput(); err != nil {
		t.Fatalf("thrift -gen py: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Name: "thrift-py", Supervisors: 1, Slots: 2, DataDir: t.TempDir(), Conf: config.TestProfile(), Executable: bs.localstorm,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if c.ThriftPort() == 0 {
		t.Fatal("no Thrift port")
	}
	id, err := submit.Flux(ctx, c.Client(), "../topology/flux/testdata/wordcount.yaml", submit.Options{Name: "pywc", Wait: true})
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, python, "testdata/storm_client.py", strconv.Itoa(c.ThriftPort()), "pywc")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+gen)
	var stderr testutil.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, stderr.String())
	}
	var got struct {
		Supervisors, Slots int
		Leader             []int
		Topologies         map[string]string
		Info               struct {
			Status    string
			Executors []string
			Errors    []string
		}
		ByName, TopologyConf                           string
		NimbusConf                                     bool
		Spouts, Bolts                                  []string
		NameAllowed                                    []bool
		AfterDeactivate, AfterActivate, AfterRebalance string
		NotAlive                                       *string
		AfterKill                                      []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python client printed %q: %v", out, err)
	}
	t.Logf("python client saw %s", out)
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: python client saw %s", what, out)
		}
	}
	check("supervisors and slots", got.Supervisors == 1 && got.Slots == 2)
	check("leader at the Thrift port", slices.Equal(got.Leader, []int{c.ThriftPort()}))
	check("topology listed", got.Topologies["pywc"] == id)
	check("topology info", got.Info.Status == "ACTIVE" && slices.Equal(got.Info.Executors, []string{"__acker", "counter", "logger", "words"}) && slices.Contains(got.Info.Errors, "counter"))
	check("info by name", got.ByName == id)
	check("confs", got.TopologyConf == "pywc" && got.NimbusConf)
	check("user topology", slices.Equal(got.Spouts, []string{"words"}) && slices.Equal(got.Bolts, []string{"counter", "logger"}))
	check("isTopologyNameAllowed", slices.Equal(got.NameAllowed, []bool{false, true}))
	check("deactivate, activate, rebalance", got.AfterDeactivate == "INACTIVE" && got.AfterActivate == "ACTIVE" && got.AfterRebalance == "REBALANCING")
	check("NotAliveException", got.NotAlive != nil && *got.NotAlive == "no-such-topology is not alive")
	check("kill", len(got.AfterKill) == 0 || slices.Equal(got.AfterKill, []string{"KILLED"}))
}
