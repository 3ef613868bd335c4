package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

func TestDefaultsMatchStorm(t *testing.T) {
	d := Defaults()
	// Spot checks against Storm's conf/defaults.yaml, with the types a YAML
	// decoder gives.
	want := map[string]any{
		NimbusMonitorFreqSecs:         10,
		NimbusTaskTimeoutSecs:         30,
		NimbusSupervisorTimeoutSecs:   60,
		NimbusTaskLaunchSecs:          120,
		NimbusCleanupInboxFreqSecs:    600,
		NimbusInboxJarExpirationSecs:  3600,
		SupervisorHeartbeatFreqSecs:   5,
		SupervisorMonitorFreqSecs:     3,
		SupervisorWorkerStartTimeout:  120,
		SupervisorWorkerTimeoutSecs:   30,
		WorkerHeartbeatFreqSecs:       1,
		TaskHeartbeatFreqSecs:         3,
		TopologyMessageTimeoutSecs:    30,
		TopologyMaxSpoutPending:       nil,
		TopologyWorkers:               1,
		TopologyAckerExecutors:        nil,
		TopologyStatsSampleRate:       0.05,
		SupervisorSlotsPorts:          []any{6700, 6701, 6702, 6703},
		StormZookeeperServers:         []any{"localhost"},
		StormZookeeperPort:            2181,
		StormZookeeperRoot:            "/storm",
		StormZookeeperSessionTimeout:  20000,
		StormLocalDir:                 "storm-local",
		TopologyEnableMessageTimeouts: true,
		// The keys issue 14 audited (accepted; honoured or reported at submit).
		StormZookeeperConnTimeout:       15000,
		StormZookeeperRetryTimes:        5,
		StormZookeeperRetryInterval:     1000,
		TopologyMaxTaskParallelism:      nil,
		TopologyTasks:                   nil,
		TopologyErrorThrottleSecs:       10,
		TopologyMaxErrorReportPerIntv:   5,
		TopologyProducerBatchSize:       1,
		TopologyTransferBatchSize:       1,
		TopologyBatchFlushIntervalMs:    1,
		TopologyBuiltinMetricsBucketSec: 60,
		TopologyEventLoggerExecutors:    0,
		TopologyTransferBufferSize:      1000,
		TopologyExecutorReceiveBufSize:  32768,
		TopologyShellBoltMaxPending:     100,
		TopologyTickTupleFreqSecs:       nil,
		ExecutorMetricsFreqSecs:         60,
		StormHealthCheckDir:             "healthchecks",
		StormHealthCheckTimeoutMs:       5000,
		NimbusThriftPort:                6627,
		UIPort:                          8080,
		LogviewerPort:                   8000,
		DevZookeeperPath:                "/tmp/dev-storm-zookeeper",
	}
	for k, v := range want {
		got, ok := d[k]
		if !ok {
			t.Errorf("Defaults() lacks %s", k)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("Defaults()[%s] = %#v, want %#v", k, got, v)
		}
	}
	// Every key constant in conf.go has a default (possibly null).
	for k := range rules {
		if _, ok := d[k]; !ok {
			t.Errorf("known key %s has no default", k)
		}
	}
	if err := Validate(d); err != nil {
		t.Fatalf("Storm's defaults do not validate: %v", err)
	}
	d[TopologyWorkers] = 99
	if Defaults()[TopologyWorkers] != 1 {
		t.Fatal("Defaults() returned a shared map")
	}
}

func TestProfiles(t *testing.T) {
	local := Defaults().Merge(LocalProfile())
	for _, k := range []string{NimbusMonitorFreqSecs, SupervisorMonitorFreqSecs} {
		if d, _ := local.Secs(k); d != time.Second {
			t.Errorf("local profile %s = %v, want 1s (Storm's LocalCluster)", k, d)
		}
	}
	test := Defaults().Merge(TestProfile())
	if err := Validate(test); err != nil {
		t.Fatalf("test profile does not validate: %v", err)
	}
	for _, k := range []string{WorkerHeartbeatFreqSecs, TaskHeartbeatFreqSecs, SupervisorHeartbeatFreqSecs,
		SupervisorMonitorFreqSecs, NimbusMonitorFreqSecs} {
		if d, err := test.Secs(k); err != nil || d != 100*time.Millisecond {
			t.Errorf("test profile %s = %v (%v), want 100ms", k, d, err)
		}
	}
	// Every timeout leaves room for many missed heartbeats.
	for _, b := range beats {
		hb, _ := test.Secs(b.heartbeat)
		to, _ := test.Secs(b.timeout)
		if to < 10*hb {
			t.Errorf("test profile %s = %v is under 10 × %s (%v)", b.timeout, to, b.heartbeat, hb)
		}
	}
}

// checkErr fails the test unless err matches wantErr (a fragment of the
// message, or "" for no error) and reports whether to go on checking values.
func checkErr(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("err = %v, want one containing %q", err, wantErr)
	}
	return false
}

func TestParseOverride(t *testing.T) {
	cases := []struct {
		in      string
		key     string
		value   any
		wantErr string
	}{
		{"topology.workers=3", "topology.workers", 3, ""},
		{"supervisor.slots.ports=[6700,6701]", "supervisor.slots.ports", []any{6700, 6701}, ""},
		{"topology.debug=true", "topology.debug", true, ""},
		{"topology.stats.sample.rate=0.5", "topology.stats.sample.rate", 0.5, ""},
		{"storm.local.dir=/var/storm", "storm.local.dir", "/var/storm", ""},
		{"topology.name=a=b", "topology.name", "a=b", ""},
		{"topology.max.spout.pending=", "topology.max.spout.pending", nil, ""},
		{"topology.max.spout.pending=null", "topology.max.spout.pending", nil, ""},
		{" topology.workers =2", "topology.workers", 2, ""},
		{`storm.zookeeper.servers=["a", "b"]`, "storm.zookeeper.servers", []any{"a", "b"}, ""},
		{"topology.environment={A: b}", "topology.environment", map[string]any{"A": "b"}, ""},
		{"topology.workers", "", nil, "want key=value"},
		{"=3", "", nil, "empty key"},
		{"supervisor.slots.ports=[6700,", "", nil, "not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			key, value, err := ParseOverride(tc.in)
			if !checkErr(t, err, tc.wantErr) {
				return
			}
			if key != tc.key || !reflect.DeepEqual(value, tc.value) {
				t.Fatalf("got %q=%#v, want %q=%#v", key, value, tc.key, tc.value)
			}
		})
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "storm.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadLayers(t *testing.T) {
	yamlPath := writeFile(t, `
topology.workers: 2
supervisor.slots.ports:
  - 7000
nimbus.monitor.freq.secs: 0.5
storm.zookeeper.servers: ["zk1"]
`)
	cases := []struct {
		name      string
		path      string
		overrides []string
		want      map[string]any
		wantErr   string
	}{
		{"defaults only", "", nil, map[string]any{TopologyWorkers: 1, NimbusMonitorFreqSecs: 10}, ""},
		{"file over defaults", yamlPath, nil, map[string]any{
			TopologyWorkers: 2, SupervisorSlotsPorts: []any{7000}, NimbusMonitorFreqSecs: 0.5,
			StormZookeeperServers: []any{"zk1"}, StormZookeeperPort: 2181}, ""},
		{"overrides over file", yamlPath, []string{"topology.workers=3", "topology.workers=4", "supervisor.slots.ports=[6700,6701]"},
			map[string]any{TopologyWorkers: 4, SupervisorSlotsPorts: []any{6700, 6701}, NimbusMonitorFreqSecs: 0.5}, ""},
		{"missing explicit file", filepath.Join(t.TempDir(), "nope.yaml"), nil, nil, "nope.yaml"},
		{"bad override", "", []string{"oops"}, nil, "want key=value"},
		{"not a mapping", writeFile(t, "- a\n- b\n"), nil, nil, "want a mapping"},
		{"bad yaml", writeFile(t, "a: [1,\n"), nil, nil, "parse YAML"},
		{"empty file", writeFile(t, ""), nil, map[string]any{TopologyWorkers: 1}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.path, tc.overrides)
			if !checkErr(t, err, tc.wantErr) {
				return
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(c[k], v) {
					t.Errorf("%s = %#v, want %#v", k, c[k], v)
				}
			}
		})
	}
}

func TestLoadMissingFileIsNotExist(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "storm.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		set  Conf
		// each problem: the key and a fragment of what was expected
		problems map[string]string
	}{
		{"fractional seconds are fine", Conf{NimbusMonitorFreqSecs: 0.1, WorkerHeartbeatFreqSecs: 0.05}, nil},
		{"null where allowed", Conf{TopologyMaxSpoutPending: nil, TopologyAckerExecutors: nil}, nil},
		{"zero ackers allowed", Conf{TopologyAckerExecutors: 0}, nil},
		{"zero frequency", Conf{NimbusMonitorFreqSecs: 0}, map[string]string{NimbusMonitorFreqSecs: "positive number"}},
		{"negative frequency", Conf{SupervisorHeartbeatFreqSecs: -1}, map[string]string{SupervisorHeartbeatFreqSecs: "positive number"}},
		{"string frequency", Conf{TaskHeartbeatFreqSecs: "fast"}, map[string]string{TaskHeartbeatFreqSecs: "positive number"}},
		{"workers zero", Conf{TopologyWorkers: 0}, map[string]string{TopologyWorkers: "integer ≥ 1"}},
		{"workers fractional", Conf{TopologyWorkers: 1.5}, map[string]string{TopologyWorkers: "integer ≥ 1"}},
		{"spout pending zero", Conf{TopologyMaxSpoutPending: 0}, map[string]string{TopologyMaxSpoutPending: "or null"}},
		{"port out of range", Conf{StormZookeeperPort: 70000}, map[string]string{StormZookeeperPort: "1..65535"}},
		{"port zero", Conf{NimbusThriftPort: 0}, map[string]string{NimbusThriftPort: "1..65535"}},
		{"slot ports empty", Conf{SupervisorSlotsPorts: []any{}}, map[string]string{SupervisorSlotsPorts: "non-empty list"}},
		{"slot ports duplicate", Conf{SupervisorSlotsPorts: []any{6700, 6700}}, map[string]string{SupervisorSlotsPorts: "distinct"}},
		{"slot ports not a list", Conf{SupervisorSlotsPorts: 6700}, map[string]string{SupervisorSlotsPorts: "list"}},
		{"zk servers empty", Conf{StormZookeeperServers: []any{}}, map[string]string{StormZookeeperServers: "non-empty list"}},
		{"zk root relative", Conf{StormZookeeperRoot: "storm"}, map[string]string{StormZookeeperRoot: "absolute"}},
		{"bool as string", Conf{TopologyDebug: "yes"}, map[string]string{TopologyDebug: "true or false"}},
		{"sample rate above one", Conf{TopologyStatsSampleRate: 2.0}, map[string]string{TopologyStatsSampleRate: "(0, 1]"}},
		{"cluster mode", Conf{StormClusterMode: "remote"}, map[string]string{StormClusterMode: "one of"}},
		{"timeout not above heartbeat", Conf{WorkerHeartbeatFreqSecs: 5, SupervisorWorkerTimeoutSecs: 5},
			map[string]string{SupervisorWorkerTimeoutSecs: "greater than worker.heartbeat.frequency.secs"}},
		{"all problems reported", Conf{TopologyWorkers: -1, UIPort: "x", TopologyDebug: 1},
			map[string]string{TopologyWorkers: "integer", UIPort: "port", TopologyDebug: "true or false"}},
		{"unknown keys pass", Conf{"my.topology.setting": []any{1, "x"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(Defaults().Merge(tc.set))
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var merr *multierror.Error
			if !errors.As(err, &merr) {
				t.Fatalf("err = %v, want a multierror", err)
			}
			if len(merr.Errors) != len(tc.problems) {
				t.Fatalf("got %d problems, want %d: %v", len(merr.Errors), len(tc.problems), err)
			}
			for _, e := range merr.Errors {
				var te *TypeError
				if !errors.As(e, &te) {
					t.Fatalf("problem %v is not a *TypeError", e)
				}
				frag, ok := tc.problems[te.Key]
				if !ok || !strings.Contains(te.Expected, frag) {
					t.Errorf("problem %v: want key in %v expecting %q", e, tc.problems, frag)
				}
				// The message names key, value and expectation.
				msg := e.Error()
				if !strings.Contains(msg, te.Key) || !strings.Contains(msg, te.Expected) {
					t.Errorf("message %q lacks the key or the expectation", msg)
				}
			}
		})
	}
}

func TestGetters(t *testing.T) {
	c := Conf{"a": 0.25, "b": 3, "c": []any{"x", "y"}, "d": []any{1, 2.0}, "e": "s", "f": true, "g": 1.5}
	if d, err := c.Secs("a"); err != nil || d != 250*time.Millisecond {
		t.Errorf("Secs = %v, %v", d, err)
	}
	if d, err := c.Millis("b"); err != nil || d != 3*time.Millisecond {
		t.Errorf("Millis = %v, %v", d, err)
	}
	if s, err := c.Strings("c"); err != nil || !reflect.DeepEqual(s, []string{"x", "y"}) {
		t.Errorf("Strings = %v, %v", s, err)
	}
	if n, err := c.Ints("d"); err != nil || !reflect.DeepEqual(n, []int{1, 2}) {
		t.Errorf("Ints = %v, %v", n, err)
	}
	if _, err := c.Int("g"); err == nil {
		t.Error("Int(1.5) succeeded")
	}
	if _, err := c.Bool("e"); err == nil {
		t.Error(`Bool("s") succeeded`)
	}
}
