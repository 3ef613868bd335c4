package localcluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
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
	if _, err := exec.LookPath("thrift"); err != nil {
		testutil.MissingTool(t, "thrift-compiler is not installed (apt-get install thrift-compiler python3-thrift)")
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import thrift").Run() == nil {
			return py
		}
	}
	testutil.MissingTool(t, "python3-thrift is not installed (apt-get install python3-thrift)")
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

	py := pythonClient{python: python, gen: gen, port: strconv.Itoa(c.ThriftPort())}
	stormdist := workercontract.DataDir(c.DataDir()).Nimbus().NimbusStormdist()
	// The client kills the topology last, and its code may be gone by the
	// time it has printed: take the code's checksum first.
	code := codeSum(t, stormdist, id)
	out := py.run(ctx, t, "pywc", stormdist)
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
		RefusedConf                                    *string
		AfterKill                                      []string
		TopologyPage                                   struct {
			Name                   string
			Spouts, Bolts, Windows []string
		}
		ComponentPage struct {
			Type, Executors int
			Windows, Inputs []string
		}
		SupervisorPage struct{ Supervisors, WorkerTopologies []string }
		PageNotAlive   *string
		ExecutorStats  []string
		Download       struct {
			Size   int
			SHA256 string
		}
		LogConfig struct {
			Target   string
			Timeout  int
			HasEpoch bool
		}
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
	check("rebalance's topology_conf_overrides refused for a key a rebalance cannot change",
		got.RefusedConf != nil && strings.Contains(*got.RefusedConf, "cannot change topology.name"))
	check("NotAliveException", got.NotAlive != nil && *got.NotAlive == "no-such-topology is not alive")
	check("kill", len(got.AfterKill) == 0 || slices.Equal(got.AfterKill, []string{"KILLED"}))
	windows := []string{"10800", "600", "86400", ":all-time"} // Python's sorted order
	check("getTopologyPageInfo", got.TopologyPage.Name == "pywc" && slices.Equal(got.TopologyPage.Spouts, []string{"words"}) &&
		slices.Equal(got.TopologyPage.Bolts, []string{"counter", "logger"}) && slices.Equal(got.TopologyPage.Windows, windows))
	check("getComponentPageInfo", got.ComponentPage.Type == 1 && got.ComponentPage.Executors > 0 &&
		slices.Equal(got.ComponentPage.Windows, windows) && slices.Equal(got.ComponentPage.Inputs, []string{"words"}))
	check("getSupervisorPageInfo", len(got.SupervisorPage.Supervisors) == 1 && slices.Equal(got.SupervisorPage.WorkerTopologies, []string{id}))
	check("NotAliveException of a page", got.PageNotAlive != nil && *got.PageNotAlive == "no-such-id")
	check("executor stats", slices.Equal(got.ExecutorStats, []string{"__acker", "counter", "logger", "words"}))
	check("beginFileDownload/downloadChunk", got.Download.Size > 0 && got.Download.SHA256 == code)
	check("setLogConfig/getLogConfig", got.LogConfig.Target == "DEBUG" && got.LogConfig.Timeout == 60 && got.LogConfig.HasEpoch)

	pythonSubmit(ctx, t, c, py)
}

// codeSum is the sha256 of a topology's code in nimbus's stormdist dir
// (stormcode, or stormcode.tgz for Flux).
func codeSum(t *testing.T, stormdist, id string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(stormdist, id, "stormcode*"))
	if len(files) != 1 {
		t.Fatalf("code files of %s: %v", id, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pythonClient runs testdata/storm_client.py with the generated client.
type pythonClient struct{ python, gen, port string }

func (p pythonClient) run(ctx context.Context, t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, p.python, append([]string{"testdata/storm_client.py", p.port}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+p.gen)
	var stderr testutil.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python client %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// pythonSubmit submits over Thrift, as Storm's non-JVM tools do, a jar whose
// resources/ holds storm.py-style scripts and a topology of shell
// components (and one built-in class), and waits until its tuples are acked.
func pythonSubmit(ctx context.Context, t *testing.T, c *localcluster.Cluster, py pythonClient) {
	out := py.run(ctx, t, "submit", "pyshell", "../examples/flux")
	t.Logf("python submit saw %s", out)
	var got struct {
		ID, AlreadyAlive, Invalid string
		Bolts, SplitCommand       []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python submit printed %q: %v", out, err)
	}
	if got.AlreadyAlive != "pyshell is already alive" {
		t.Errorf("a second submit of the name: %q", got.AlreadyAlive)
	}
	if !strings.Contains(got.Invalid, "bolt count: class com.example.WordCountBolt cannot run here: localstorm runs only shell components") {
		t.Errorf("a Java bolt: %q", got.Invalid)
	}
	if !slices.Equal(got.Bolts, []string{"count", "log", "split"}) || !slices.Equal(got.SplitCommand, []string{"python3", "splitsentence.py"}) {
		t.Errorf("user topology: bolts %v, split %v", got.Bolts, got.SplitCommand)
	}
	testutil.Eventually(t, 90*time.Second, "tuples of the Thrift-submitted shell topology acked", func() (bool, string) {
		info, err := c.Client().TopologyView(ctx, got.ID, "", false)
		if err != nil {
			return false, err.Error()
		}
		var acked, countExecuted int64
		for _, s := range info.Spouts {
			acked += s.Acked
		}
		for _, b := range info.Bolts {
			if b.BoltID == "count" {
				countExecuted = b.Executed
			}
		}
		return acked > 0 && countExecuted > 0, fmt.Sprintf("status %s, spout acked %d, count executed %d", info.Status, acked, countExecuted)
	})
}
