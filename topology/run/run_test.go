package run

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
)

type nopSpout struct{}

func (nopSpout) DeclareOutputFields(d topology.OutputDeclarer)         { d.Declare(topology.Fields{"word"}) }
func (nopSpout) Open(*topology.Context, topology.SpoutCollector) error { return nil }
func (nopSpout) Close()                                                {}
func (nopSpout) Activate()                                             {}
func (nopSpout) Deactivate()                                           {}
func (nopSpout) NextTuple()                                            {}
func (nopSpout) Ack(any)                                               {}
func (nopSpout) Fail(any)                                              {}

type nopBolt struct{}

func (nopBolt) DeclareOutputFields(topology.OutputDeclarer)             {}
func (nopBolt) Prepare(*topology.Context, topology.BoltCollector) error { return nil }
func (nopBolt) Execute(*topology.Tuple)                                 {}
func (nopBolt) Cleanup()                                                {}

func builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("words", func() topology.Spout { return nopSpout{} }, 2)
	b.SetBolt("sink", func() topology.Bolt { return nopBolt{} }, 3).FieldsGrouping("words", topology.Fields{"word"})
	return b
}

func execute(b *topology.Builder, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Execute(context.Background(), &Env{Name: "wc", Builder: b, Streams: cli.Streams{Out: &out, Err: &errb}}, args)
	return code, out.String(), errb.String()
}

func TestDescribe(t *testing.T) {
	code, out, errs := execute(builder(), "describe")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var d Description
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("describe printed no JSON: %v\n%s", err, out)
	}
	if d.Name != "wc" || d.Definition.Spouts["words"].Parallelism != 2 || len(d.Definition.Bolts["sink"].Inputs) != 1 {
		t.Fatalf("describe gave %+v", d)
	}
}

func TestExitCodes(t *testing.T) {
	bad := topology.NewBuilder()
	bad.SetBolt("lonely", func() topology.Bolt { return nopBolt{} }, 0)
	cases := []struct {
		name string
		b    *topology.Builder
		args []string
		code int
		want string
	}{
		{"no command", builder(), nil, 2, "Commands:\n  describe"},
		{"help", builder(), []string{"--help"}, 0, "  submit "},
		{"unknown", builder(), []string{"dance"}, 2, `error: unknown command "dance"`},
		{"worker bad flags", builder(), []string{"worker", "--port", "1"}, 2, "missing --topology-id"},
		{"invalid topology", bad, []string{"describe"}, 1, "lonely"},
		{"describe extra args", builder(), []string{"describe", "x"}, 2, "takes no arguments"},
		{"bad flag shows the usage", builder(), []string{"storm-package", "--nope"}, 2, "unknown flag: --nope\nUsage: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := execute(c.b, c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errs, c.code, c.want)
			}
		})
	}
}

// TestSubmitAndLocalAreLocalstorms: a topology binary's submit and local
// run `localstorm VERB THIS-BINARY ARGS` (found next to the binary, then on
// PATH) and keep its exit code; without localstorm they say how to get it.
func TestSubmitAndLocalAreLocalstorms(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake localstorm is a shell script")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"$@\"\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "localstorm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	for _, verb := range []string{"submit", "local"} {
		code, out, errs := execute(builder(), verb, "--ttl", "1s", "-c", "a=b")
		if want := verb + " " + self + " --ttl 1s -c a=b\n"; out != want || code != 3 {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit 3 and %q", verb, code, out, errs, want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	code, _, errs := execute(builder(), "local")
	if code != 1 || !strings.Contains(errs, "go install github.com/localstorm/localstorm/cmd/localstorm@latest") {
		t.Fatalf("without localstorm: exit %d, stderr %q; want exit 1 and how to install it", code, errs)
	}
}

// TestTopologyBinaryLinksNoCluster: what every topology binary links (this
// package and the worker) holds no daemon but the worker, no HTTP stack and
// no TLS: each worker process is a topology binary, and these would cost it
// half as much memory again (docs/benchmarks.md, "How cost grows").
func TestTopologyBinaryLinksNoCluster(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(pkg, "github.com/localstorm/localstorm/localcluster"),
			strings.HasPrefix(pkg, "github.com/localstorm/localstorm/daemons/nimbus"),
			strings.HasPrefix(pkg, "github.com/localstorm/localstorm/daemons/supervisor"),
			strings.HasPrefix(pkg, "github.com/localstorm/localstorm/daemons/zookeeper"),
			strings.HasPrefix(pkg, "github.com/localstorm/localstorm/api"),
			pkg == "net/http", pkg == "crypto/tls":
			t.Errorf("topology/run links %s", pkg)
		}
	}
}
