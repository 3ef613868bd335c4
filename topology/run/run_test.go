package run

import (
	"bytes"
	"context"
	"encoding/json"
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
		{"local without supervisors", builder(), []string{"local", "--supervisors", "0"}, 2, "--supervisors 0: give 1 or more"},
		{"bad flag shows the usage", builder(), []string{"local", "--nope"}, 2, "unknown flag: --nope\nUsage: "},
		// --help prints the flags and runs nothing (no cluster is looked for).
		{"submit help", builder(), []string{"submit", "--help", "--cluster", "nothere"}, 0, "--topology-name"},
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
