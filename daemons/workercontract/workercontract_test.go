package workercontract

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/procs"
)

func sample() Worker {
	return Worker{TopologyID: "wc-1-2", SupervisorID: "sup", WorkerID: "w1", Port: 6700,
		ZooKeeper: []string{"127.0.0.1:2181", "127.0.0.1:2182"}, ZKRoot: "/s", LocalDir: "/l", CodeDir: "/c"}
}

func TestArgsRoundTrip(t *testing.T) {
	want := sample()
	got, err := Parse(want.Args())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse(Args()) = %+v, want %+v", got, want)
	}
	// Every field travels: a struct field that Args forgets fails here.
	v := reflect.ValueOf(got)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("field %s did not survive the round trip", v.Type().Field(i).Name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	full := sample().Args()
	without := func(flag string) []string {
		i := slices.Index(full, flag)
		return append(slices.Clone(full[:i]), full[i+2:]...)
	}
	if w, err := Parse(without("--zookeeper-root")); err != nil || w.ZKRoot != DefaultZKRoot {
		t.Fatalf("default root: %+v, %v", w, err)
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
		{"flux left in", append(FluxCommand("f.yaml")[1:], full...), "not defined: -flux"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), Usage) {
				t.Fatalf("err = %v, want one saying %q with the usage", err, c.want)
			}
		})
	}
}

func TestSplitFlux(t *testing.T) {
	flags := sample().Args()
	for _, args := range [][]string{
		append(FluxCommand("/r/t.yaml")[1:], flags...),
		append(slices.Clone(flags), FluxFlag+"=/r/t.yaml"),
	} {
		file, rest := SplitFlux(args)
		if file != "/r/t.yaml" || !slices.Equal(rest, flags) {
			t.Errorf("SplitFlux(%q) = %q, %q", args, file, rest)
		}
	}
	if file, rest := SplitFlux(flags); file != "" || !slices.Equal(rest, flags) {
		t.Errorf("SplitFlux without flux = %q, %q", file, rest)
	}
}

func TestReadyRoundTrip(t *testing.T) {
	want := Ready{Port: 6701, Pid: 4242}
	line := want.String()
	if !strings.HasPrefix(line, ReadyPrefix) {
		t.Fatalf("%q does not start with %q: the supervisor's launch would never see it", line, ReadyPrefix)
	}
	got, err := ParseReady(line + "\n")
	if err != nil || got != want {
		t.Fatalf("ParseReady(%q) = %+v, %v; want %+v", line, got, err, want)
	}
	for _, bad := range []string{"", "hello", ReadyPrefix, ReadyPrefix + " port=1", ReadyPrefix + " pid=1 port=2",
		ReadyPrefix + " port=x pid=2", ReadyPrefix + " port=0 pid=2", ReadyPrefix + " port=1 pid=2 extra=3"} {
		if r, err := ParseReady(bad); err == nil {
			t.Errorf("ParseReady(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestLayout(t *testing.T) {
	data := DataDir("/d")
	sup := data.Supervisor(1)
	cases := []struct{ got, want string }{
		{string(data.Nimbus()), "/d/nimbus"},
		{data.Nimbus().NimbusStormdist(), "/d/nimbus/nimbus/stormdist"},
		{data.Nimbus().NimbusInbox(), "/d/nimbus/nimbus/inbox"},
		{string(sup), "/d/supervisor-1"},
		{sup.SupervisorLocalState(), "/d/supervisor-1/supervisor/localstate"},
		{sup.SupervisorISupervisor(), "/d/supervisor-1/supervisor/isupervisor"},
		{sup.SupervisorTmp(), "/d/supervisor-1/supervisor/tmp"},
		{sup.CodeDir("t-1-2"), "/d/supervisor-1/supervisor/stormdist/t-1-2"},
		{sup.Heartbeats("w"), "/d/supervisor-1/workers/w/heartbeats"},
		{sup.Pids("w"), "/d/supervisor-1/workers/w/pids"},
		{sup.MultilangPids("w"), "/d/supervisor-1/workers/w/multilang-pids"},
		{sup.Logs("t-1-2", 6700), "/d/supervisor-1/logs/t-1-2/6700"},
		{data.WorkerLogs("", 0), "/d/supervisor-*/logs/*/*/worker.*.log"},
		{data.WorkerLogs("t-1-2", 6700), "/d/supervisor-*/logs/t-1-2/6700/worker.*.log"},
	}
	for _, c := range cases {
		if c.got != filepath.FromSlash(c.want) {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// The log glob finds what procs writes.
func TestWorkerLogPatternMatchesProcs(t *testing.T) {
	for _, name := range []string{procs.OutLogName, procs.ErrLogName} {
		if ok, err := filepath.Match(WorkerLogPattern, name); !ok || err != nil {
			t.Errorf("%q does not match %q", name, WorkerLogPattern)
		}
		dir := DataDir("/d").Supervisor(0).Logs("t-1-2", 6700)
		if ok, _ := filepath.Match(DataDir("/d").WorkerLogs("t-1-2", 0), filepath.Join(dir, name)); !ok {
			t.Errorf("WorkerLogs does not match %s", filepath.Join(dir, name))
		}
	}
}

// FuzzParseReady: a child's stdout is untrusted; whatever ParseReady
// accepts prints back to the same line.
func FuzzParseReady(f *testing.F) {
	f.Add(Ready{Port: 6700, Pid: 1}.String())
	f.Add(ReadyPrefix + " port=-1 pid=2")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseReady(line)
		if err != nil {
			return
		}
		again, err := ParseReady(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseReady(%q) = %+v, but its String %q parses to %+v, %v", line, r, r.String(), again, err)
		}
	})
}
