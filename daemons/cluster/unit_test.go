package cluster

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
)

// TestDispatch checks Storm's watch dispatch: which slots an event empties
// and runs, and that an unknown subtree is fatal, once.
// TestDispatch pins Storm's watch dispatch (cluster.clj's condp in
// mk-storm-cluster-state): the subtree routes, the one-shot slots, and which
// paths exit the daemon with code 30.
func TestDispatch(t *testing.T) {
	cases := []struct {
		path  string
		fired []string
		fatal bool
	}{
		{"/assignments", []string{"assignments"}, false},
		{"/assignments/t1", []string{"info:t1", "version:t1", "infoWithVersion:t1"}, false},
		{"/assignments/t2", nil, false},
		{"/supervisors", []string{"supervisors"}, false},
		{"/supervisors/s1", []string{"supervisors"}, false},
		{"/storms/t1", []string{"base:t1"}, false},
		{"/storms/t2", nil, false},
		{"/blobstore/k", nil, false},
		{"/credentials/t1", nil, false},
		{"/logconfigs/t1", nil, false},
		{"/backpressure/t1", nil, false},
		{"/credentials", nil, false},
		{"/logconfigs", nil, false},
		{"/backpressure", nil, false},
		// Storm 1.x's condp (cluster.clj): the root has no subtree and is
		// fatal; /storms without an id issues no callback and is no error.
		{"/", nil, true},
		{"", nil, true},
		{"/storms", nil, false},
		{"/workerbeats/t1", nil, true},
		{"/errors/t1/c", nil, true},
		{"/nonsense", nil, true},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			var fired []string
			var fatals []error
			s := &stormState{
				onFatal:                     func(err error) { fatals = append(fatals, err) },
				log:                         testutil.Logger(t, slog.LevelDebug),
				assignmentInfoCB:            map[string]Callback{},
				assignmentInfoWithVersionCB: map[string]Callback{},
				assignmentVersionCB:         map[string]Callback{},
				stormBaseCB:                 map[string]Callback{},
				logConfigCB:                 map[string]Callback{},
			}
			mark := func(name string) Callback { return func() { fired = append(fired, name) } }
			s.assignmentsCB = mark("assignments")
			s.supervisorsCB = mark("supervisors")
			s.assignmentInfoCB["t1"] = mark("info:t1")
			s.assignmentVersionCB["t1"] = mark("version:t1")
			s.assignmentInfoWithVersionCB["t1"] = mark("infoWithVersion:t1")
			s.stormBaseCB["t1"] = mark("base:t1")

			for range 2 { // the second delivery finds the slots empty
				s.dispatch(Event{Type: "changed", Path: c.path})
			}
			if !slices.Equal(fired, c.fired) {
				t.Fatalf("fired %v, want %v", fired, c.fired)
			}
			if c.fatal != (len(fatals) == 1) || len(fatals) > 1 {
				t.Fatalf("OnFatal called %d times (%v), want fatal=%v once", len(fatals), fatals, c.fatal)
			}
			if c.fatal && !strings.Contains(fatals[0].Error(), "unknown callback for subtree") {
				t.Fatalf("fatal error %q", fatals[0])
			}
			if c.fatal {
				if code, _ := ExitCode(fatals[0]); code != ExitUnknownSubtree {
					t.Fatalf("fatal error %q has exit code %d, want Storm's 30", fatals[0], code)
				}
			}
		})
	}
}

func TestOptionsFromConf(t *testing.T) {
	cases := []struct {
		name    string
		conf    config.Conf
		want    Options
		wantErr string
	}{
		{"defaults", config.Conf{}, Options{Servers: []string{"localhost:2181"}, Root: "/storm", SessionTimeout: 20 * time.Second}, ""},
		{"servers, port, root, timeout", config.Conf{
			config.StormZookeeperServers:        []any{"a", "b:2182"},
			config.StormZookeeperPort:           2000,
			config.StormZookeeperRoot:           "/ls",
			config.StormZookeeperSessionTimeout: 1500,
		}, Options{Servers: []string{"a:2000", "b:2182"}, Root: "/ls", SessionTimeout: 1500 * time.Millisecond}, ""},
		{"servers not a list", config.Conf{config.StormZookeeperServers: "a"}, Options{}, config.StormZookeeperServers},
		{"empty server list", config.Conf{config.StormZookeeperServers: []any{}}, Options{}, config.StormZookeeperServers},
		{"port out of range", config.Conf{config.StormZookeeperPort: 70000}, Options{}, config.StormZookeeperPort},
		{"relative root", config.Conf{config.StormZookeeperRoot: "storm"}, Options{}, config.StormZookeeperRoot},
		{"negative timeout", config.Conf{config.StormZookeeperSessionTimeout: -1}, Options{}, config.StormZookeeperSessionTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := OptionsFromConf(c.conf)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Servers, c.want.Servers) || got.Root != c.want.Root || got.SessionTimeout != c.want.SessionTimeout {
				t.Fatalf("OptionsFromConf = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestConnectRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{}, {Servers: []string{"127.0.0.1:1"}, Root: "relative"}, {Servers: []string{"127.0.0.1:1"}, Root: "/a//b"}} {
		if s, err := Connect(t.Context(), opts); err == nil || s != nil {
			t.Errorf("Connect(%+v) = %v, %v; want nil and an error", opts, s, err)
		}
	}
}

func TestPaths(t *testing.T) {
	cases := []struct{ got, want string }{
		{AssignmentPath("t-1-2"), "/assignments/t-1-2"},
		{StormPath("t-1-2"), "/storms/t-1-2"},
		{SupervisorPath("s"), "/supervisors/s"},
		{WorkerbeatPath("t-1-2", "s", 6700), "/workerbeats/t-1-2/s-6700"},
		{ErrorsPath("t-1-2", "split"), "/errors/t-1-2/split"},
		{ErrorsPath("t-1-2", "a/b c~é"), "/errors/t-1-2/a%2Fb+c%7E%C3%A9"},
		{LastErrorPath("t-1-2", "split"), "/errors/t-1-2/split-last-error"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("path %q, want %q", c.got, c.want)
		}
	}
}

func TestEncodeRecordRejectsNil(t *testing.T) {
	var a *Assignment
	if _, err := EncodeRecord(a); err == nil {
		t.Fatal("EncodeRecord(nil) succeeded")
	}
}

// FuzzDecodeRecord feeds untrusted bytes (anything a ZooKeeper client may have
// written) to every record decoder: no panic, and what decodes re-encodes
// to a fixed point.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"codeDir":"x","nodeHost":{"a":"b"},"executors":[{"executor":{"start":1,"end":2},"slot":{"node":"a","port":1}}]}`))
	f.Add([]byte(`{"v":1,"name":"wc","status":"ACTIVE","componentExecutors":{"a":1},"topologyActionOptions":{"action":"kill"}}`))
	f.Add([]byte(`{"v":1,"executors":[{"executor":{"start":1,"end":1},"stats":{"type":"bolt","acked":{"s":1}}}]}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFixedPoint[Assignment](t, data)
		checkFixedPoint[StormBase](t, data)
		checkFixedPoint[SupervisorInfo](t, data)
		checkFixedPoint[WorkerHeartbeat](t, data)
		checkFixedPoint[ErrorInfo](t, data)
	})
}

func checkFixedPoint[T any, P interface {
	*T
	record
}](t *testing.T, data []byte) {
	r, err := DecodeRecord[T, P](data)
	if err != nil || r == nil {
		return
	}
	if v := P(r).schemaVersion(); v != SchemaVersion {
		t.Fatalf("decoded %T with schema version %d", r, v)
	}
	enc1, err := EncodeRecord[T, P](r)
	if err != nil {
		t.Fatalf("re-encode %T: %v", r, err)
	}
	r2, err := DecodeRecord[T, P](enc1)
	if err != nil {
		t.Fatalf("decode own encoding %s: %v", enc1, err)
	}
	enc2, err := EncodeRecord[T, P](r2)
	if err != nil || !bytes.Equal(enc1, enc2) {
		t.Fatalf("encoding not a fixed point: %s then %s (%v)", enc1, enc2, err)
	}
}

// FuzzDecodeNode: the explorer decodes whatever bytes a znode holds at any
// path without panicking; a record it returns re-encodes.
func FuzzDecodeNode(f *testing.F) {
	f.Add("/assignments/t-1", []byte(`{"v":1,"executors":[]}`))
	f.Add("/workerbeats/t-1/n-6700", []byte(`{"v":1,"executors":null}`))
	f.Add("/errors/t-1/c/e0000000001", []byte(`{"v":99}`))
	f.Add("/storms/t-1", []byte{0xff, 0})
	f.Fuzz(func(t *testing.T, path string, data []byte) {
		kind, rec, err := DecodeNode(path, data)
		if kind == "" && (rec != nil || err != nil) {
			t.Fatalf("DecodeNode(%q): no kind but record %v, error %v", path, rec, err)
		}
		if rec != nil {
			if _, err := json.Marshal(rec); err != nil {
				t.Fatalf("decoded record does not re-encode: %v", err)
			}
		}
	})
}

func TestDecodeNodeKinds(t *testing.T) {
	for _, tc := range []struct{ path, kind string }{
		{"/assignments/t-1", KindAssignment},
		{"/storms/t-1", KindStormBase},
		{"/supervisors/s-1", KindSupervisorInfo},
		{"/workerbeats/t-1/n-6700", KindWorkerHeartbeat},
		{"/errors/t-1/count/e0000000003", KindError},
		{"/errors/t-1/count-last-error", KindError},
		{"/errors/t-1/count", ""},
		{"/assignments", ""},
		{"/nimbuses/n", ""},
	} {
		kind, rec, err := DecodeNode(tc.path, []byte(`{"v":1}`))
		if kind != tc.kind || err != nil || (kind != "") != (rec != nil) {
			t.Errorf("DecodeNode(%s) = %q, %v, %v; want kind %q", tc.path, kind, rec, err, tc.kind)
		}
	}
	if _, _, err := DecodeNode("/assignments/t-1", []byte("not json")); err == nil {
		t.Error("DecodeNode of bad data: no error")
	}
}
