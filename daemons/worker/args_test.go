package worker

import (
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	full := []string{"--topology-id", "wc-1-2", "--supervisor-id", "sup", "--port", "6700", "--worker-id", "w1",
		"--zookeeper", "127.0.0.1:2181,127.0.0.1:2182", "--zookeeper-root", "/s", "--local-dir", "/l", "--code-dir", "/c"}
	o, err := ParseArgs(full)
	if err != nil {
		t.Fatal(err)
	}
	if o.TopologyID != "wc-1-2" || o.SupervisorID != "sup" || o.Port != 6700 || o.WorkerID != "w1" ||
		!slices.Equal(o.ZooKeeper, []string{"127.0.0.1:2181", "127.0.0.1:2182"}) || o.ZKRoot != "/s" ||
		o.LocalDir != "/l" || o.CodeDir != "/c" {
		t.Fatalf("parsed %+v", o)
	}
	without := func(flag string) []string {
		i := slices.Index(full, flag)
		return append(slices.Clone(full[:i]), full[i+2:]...)
	}
	if o, err := ParseArgs(without("--zookeeper-root")); err != nil || o.ZKRoot != "/storm" {
		t.Fatalf("default root: %+v, %v", o, err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing port", without("--port"), "missing --port"},
		{"missing two", without("--code-dir")[:len(without("--code-dir"))-2], "missing --local-dir, --code-dir"},
		{"bad port", append(without("--port"), "--port", "70000"), "not a TCP port"},
		{"port not a number", append(without("--port"), "--port", "x"), "invalid value"},
		{"unknown flag", append(slices.Clone(full), "--nope"), "not defined: -nope"},
		{"stray argument", append(slices.Clone(full), "extra"), `unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseArgs(c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "usage: worker") {
				t.Fatalf("err = %v, want one saying %q with the usage", err, c.want)
			}
		})
	}
}
