package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// stormFixture is a StormClusterState under test (over its own ClusterState,
// so tests can reach the raw state) and a writer on another connection.
type stormFixture struct {
	opts   Options
	state  *zkState
	storm  *stormState
	writer StormClusterState
	fatals chan error
}

func newStormFixture(t *testing.T, tg target) *stormFixture {
	t.Helper()
	f := &stormFixture{opts: tg.options(t), fatals: make(chan error, 10)}
	f.state = connectState(t, f.opts)
	s, err := NewStormClusterState(f.state, f.opts.Logger, func(err error) { f.fatals <- err })
	if err != nil {
		t.Fatal(err)
	}
	f.storm = s.(*stormState)
	t.Cleanup(func() { _ = s.Disconnect() })
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	f.writer, err = ConnectStorm(ctx, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.writer.Disconnect() })
	return f
}

func testAssignment(node string, ports ...int) *Assignment {
	a := &Assignment{CodeDir: "/nimbus/stormdist/t", NodeHost: map[string]string{node: "localhost"}}
	for i, p := range ports {
		a.Executors = append(a.Executors, ExecutorAssignment{
			Executor: ExecutorInfo{Start: i + 1, End: i + 1}, Slot: NodePort{Node: node, Port: p}, StartSecs: 100})
	}
	return a
}

func testStormRecords(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	s, w := f.storm, f.writer
	for _, p := range subtrees {
		if v, err := f.state.GetVersion(p, false); err != nil || v < 0 {
			t.Errorf("subtree %s not created eagerly (version %d, err %v)", p, v, err)
		}
	}
	const id = "wc-1-1700000000"
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"assignment round trip with version", func(t *testing.T) {
			a := testAssignment("sup-1", 6700, 6701)
			if err := w.SetAssignment(id, a); err != nil {
				t.Fatal(err)
			}
			if a.V != 0 {
				t.Fatal("SetAssignment modified the caller's record")
			}
			got, err := s.AssignmentInfo(id, nil)
			want := *a
			want.V = SchemaVersion
			if err != nil || !reflect.DeepEqual(got, &want) {
				t.Fatalf("AssignmentInfo = %+v, %v; want %+v", got, err, want)
			}
			v1, err := s.AssignmentVersion(id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SetAssignment(id, a); err != nil {
				t.Fatal(err)
			}
			got, v2, err := s.AssignmentInfoWithVersion(id, nil)
			if err != nil || got == nil || v2 != v1+1 {
				t.Fatalf("AssignmentInfoWithVersion = %v, %d, %v; want version %d", got, v2, err, v1+1)
			}
			ids, err := s.Assignments(nil)
			if err != nil || !slices.Equal(ids, []string{id}) {
				t.Fatalf("Assignments = %v, %v", ids, err)
			}
		}},
		{"records are JSON with v, readable by any client", func(t *testing.T) {
			raw, err := f.state.GetData(AssignmentPath(id), false)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("assignment is not JSON: %v: %s", err, raw)
			}
			if m["v"] != float64(SchemaVersion) || m["codeDir"] != "/nimbus/stormdist/t" {
				t.Fatalf("assignment JSON %s: want v=%d and codeDir", raw, SchemaVersion)
			}
		}},
		{"a record of an unknown schema version is an error", func(t *testing.T) {
			if err := f.state.SetData(AssignmentPath("future-1-1"), []byte(`{"v":99}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AssignmentInfo("future-1-1", nil); err == nil || !strings.Contains(err.Error(), "schema version 99") {
				t.Fatalf("AssignmentInfo of a v99 record: %v, want a schema version error", err)
			}
		}},
		{"missing records read as nil", func(t *testing.T) {
			a, err := s.AssignmentInfo("nope-1-1", nil)
			if err != nil || a != nil {
				t.Fatalf("AssignmentInfo(missing) = %v, %v", a, err)
			}
			b, err := s.StormBase("nope-1-1", nil)
			if err != nil || b != nil {
				t.Fatalf("StormBase(missing) = %v, %v", b, err)
			}
			v, err := s.AssignmentVersion("nope-1-1", nil)
			if err != nil || v != -1 {
				t.Fatalf("AssignmentVersion(missing) = %d, %v", v, err)
			}
			if hb, err := s.WorkerHeartbeat(id, "sup-9", 1); err != nil || hb != nil {
				t.Fatalf("WorkerHeartbeat(missing) = %v, %v", hb, err)
			}
		}},
		{"storm base: activate, list, remove", func(t *testing.T) {
			base := &StormBase{Name: "wc", Status: StatusActive, NumWorkers: 2, ComponentExecutors: map[string]int{"spout": 1}, LaunchTimeSecs: 1700000000}
			if err := w.ActivateStorm(id, base); err != nil {
				t.Fatal(err)
			}
			got, err := s.StormBase(id, nil)
			if err != nil || got.Name != "wc" || got.Status != StatusActive || got.V != SchemaVersion {
				t.Fatalf("StormBase = %+v, %v", got, err)
			}
			if ids, err := s.ActiveStorms(); err != nil || !slices.Equal(ids, []string{id}) {
				t.Fatalf("ActiveStorms = %v, %v", ids, err)
			}
			if err := w.RemoveStormBase(id); err != nil {
				t.Fatal(err)
			}
			if ids, err := s.ActiveStorms(); err != nil || len(ids) != 0 {
				t.Fatalf("ActiveStorms after RemoveStormBase = %v, %v", ids, err)
			}
		}},
		{"supervisor heartbeat is ephemeral", func(t *testing.T) {
			info := &SupervisorInfo{TimeSecs: 5, Hostname: "h", SlotPorts: []int{6700, 6701}, UsedPorts: []int{6700}}
			if err := w.SupervisorHeartbeat("sup-1", info); err != nil {
				t.Fatal(err)
			}
			got, err := s.SupervisorInfo("sup-1")
			if err != nil || got.Hostname != "h" || !slices.Equal(got.SlotPorts, []int{6700, 6701}) {
				t.Fatalf("SupervisorInfo = %+v, %v", got, err)
			}
			if ids, err := s.Supervisors(nil); err != nil || !slices.Equal(ids, []string{"sup-1"}) {
				t.Fatalf("Supervisors = %v, %v", ids, err)
			}
			if err := w.Disconnect(); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, waitFor, "supervisor gone with its writer's session", func() (bool, error) {
				ids, err := s.Supervisors(nil)
				return len(ids) == 0, err
			})
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.run)
	}
}

func testStormErrors(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	s := f.storm
	const id = "err-1-1"
	if errs, err := s.Errors(id, "split"); err != nil || len(errs) != 0 {
		t.Fatalf("Errors before any report = %v, %v", errs, err)
	}
	if last, err := s.LastError(id, "split"); err != nil || last != nil {
		t.Fatalf("LastError before any report = %v, %v", last, err)
	}
	for i := range 13 {
		if err := f.writer.ReportError(id, "split", "host", 6700, fmt.Errorf("boom %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	errs, err := s.Errors(id, "split")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error)
		if e.Host != "host" || e.Port != 6700 || e.V != SchemaVersion || e.Component != "split" {
			t.Fatalf("error record %+v", e)
		}
	}
	want := []string{"boom 12", "boom 11", "boom 10", "boom 9", "boom 8", "boom 7", "boom 6", "boom 5", "boom 4", "boom 3"}
	if !slices.Equal(got, want) {
		t.Fatalf("Errors = %v, want the newest 10 newest first %v", got, want)
	}
	children, err := f.state.GetChildren(ErrorsPath(id, "split"), false)
	if err != nil || len(children) != 10 {
		t.Fatalf("%d error nodes kept (%v), want 10", len(children), err)
	}
	last, err := s.LastError(id, "split")
	if err != nil || last == nil || last.Error != "boom 12" {
		t.Fatalf("LastError = %+v, %v; want boom 12", last, err)
	}
	// A component id with characters a znode name cannot hold is URL-encoded.
	if err := f.writer.ReportError(id, "a/b c", "host", 1, errors.New("odd")); err != nil {
		t.Fatal(err)
	}
	if errs, err := s.Errors(id, "a/b c"); err != nil || len(errs) != 1 {
		t.Fatalf("Errors of component a/b c = %v, %v", errs, err)
	}
	if tops, err := s.ErrorTopologies(); err != nil || !slices.Equal(tops, []string{id}) {
		t.Fatalf("ErrorTopologies = %v, %v", tops, err)
	}
	if err := f.writer.TeardownTopologyErrors(id); err != nil {
		t.Fatal(err)
	}
	if tops, err := s.ErrorTopologies(); err != nil || len(tops) != 0 {
		t.Fatalf("ErrorTopologies after teardown = %v, %v", tops, err)
	}
	for _, bad := range []struct {
		id, comp string
		err      error
	}{{"", "c", errors.New("x")}, {"a/b", "c", errors.New("x")}, {id, "", errors.New("x")}, {id, "c", nil}} {
		if err := f.writer.ReportError(bad.id, bad.comp, "h", 1, bad.err); err == nil {
			t.Errorf("ReportError(%q, %q, %v) succeeded; want an error", bad.id, bad.comp, bad.err)
		}
	}
}

func testUpdateStorm(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	base := StormBase{Name: "wc", Status: StatusActive, NumWorkers: 2, ComponentExecutors: map[string]int{"spout": 1, "split": 2}, LaunchTimeSecs: 10, Owner: "me"}
	kill := &TopologyActionOptions{Action: "kill", WaitSecs: 30}
	cases := []struct {
		name   string
		update StormBase
		want   StormBase
	}{
		{"status only", StormBase{Status: StatusInactive},
			StormBase{Name: "wc", Status: StatusInactive, NumWorkers: 2, ComponentExecutors: map[string]int{"spout": 1, "split": 2}, LaunchTimeSecs: 10, Owner: "me"}},
		{"executors merged key by key", StormBase{ComponentExecutors: map[string]int{"split": 4, "count": 3}},
			StormBase{Name: "wc", Status: StatusActive, NumWorkers: 2, ComponentExecutors: map[string]int{"spout": 1, "split": 4, "count": 3}, LaunchTimeSecs: 10, Owner: "me"}},
		{"kill with options and prev status", StormBase{Status: StatusKilled, TopologyActionOptions: kill, PrevStatus: StatusActive, NumWorkers: 3},
			StormBase{Name: "wc", Status: StatusKilled, NumWorkers: 3, ComponentExecutors: map[string]int{"spout": 1, "split": 2}, LaunchTimeSecs: 10, Owner: "me", TopologyActionOptions: kill, PrevStatus: StatusActive}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("wc-%d-10", i)
			b := base
			if err := f.writer.ActivateStorm(id, &b); err != nil {
				t.Fatal(err)
			}
			u := c.update
			if err := f.writer.UpdateStorm(id, &u); err != nil {
				t.Fatal(err)
			}
			got, err := f.storm.StormBase(id, nil)
			want := c.want
			want.V = SchemaVersion
			if err != nil || !reflect.DeepEqual(*got, want) {
				t.Fatalf("after UpdateStorm: %+v, %v; want %+v", got, err, want)
			}
		})
	}
	t.Run("missing base is an error", func(t *testing.T) {
		err := f.writer.UpdateStorm("gone-1-1", &StormBase{Status: StatusActive})
		if err == nil || !strings.Contains(err.Error(), "gone-1-1") {
			t.Fatalf("UpdateStorm of a missing base: %v", err)
		}
		if b, _ := f.storm.StormBase("gone-1-1", nil); b != nil {
			t.Fatal("UpdateStorm brought a removed storm back")
		}
	})
	t.Run("RemoveStorm removes assignment, credentials, log config and base", func(t *testing.T) {
		const id = "wc-0-10"
		for _, p := range []string{AssignmentPath(id), CredentialsPath(id), LogconfigPath(id)} {
			if err := f.state.SetData(p, []byte(`{"v":1}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.writer.RemoveStorm(id); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{AssignmentPath(id), CredentialsPath(id), LogconfigPath(id), StormPath(id)} {
			if v, err := f.state.GetVersion(p, false); err != nil || v != -1 {
				t.Errorf("%s still there after RemoveStorm (version %d, err %v)", p, v, err)
			}
		}
	})
}

func testExecutorBeats(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	const id = "beats-1-1"
	w := f.writer
	if err := w.SetupHeartbeats(id); err != nil {
		t.Fatal(err)
	}
	if ids, err := f.storm.HeartbeatStorms(); err != nil || !slices.Equal(ids, []string{id}) {
		t.Fatalf("HeartbeatStorms = %v, %v", ids, err)
	}
	beat := func(execs ...int) *WorkerHeartbeat {
		hb := &WorkerHeartbeat{TopologyID: id, TimeSecs: 7, TimeMillis: 7000, UptimeSecs: 3}
		for _, e := range execs {
			hb.Executors = append(hb.Executors, ExecutorHeartbeat{Executor: ExecutorInfo{e, e}, Component: "c", UptimeSecs: int64(e)})
		}
		return hb
	}
	// Executors 1 and 2 are assigned to sup-1:6700, 3 to sup-1:6701; a stale
	// worker on 6702 still claims executor 3, and 6700 claims 3 as well.
	a := &Assignment{Executors: []ExecutorAssignment{
		{Executor: ExecutorInfo{1, 1}, Slot: NodePort{"sup-1", 6700}},
		{Executor: ExecutorInfo{2, 2}, Slot: NodePort{"sup-1", 6700}},
		{Executor: ExecutorInfo{3, 3}, Slot: NodePort{"sup-1", 6701}},
		{Executor: ExecutorInfo{4, 4}, Slot: NodePort{"sup-2", 6700}}, // no heartbeat yet
	}}
	for port, hb := range map[int]*WorkerHeartbeat{6700: beat(1, 2, 3), 6701: beat(3), 6702: beat(3, 9)} {
		if err := w.SetWorkerHeartbeat(id, "sup-1", port, hb); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.storm.ExecutorBeats(id, a)
	if err != nil {
		t.Fatal(err)
	}
	var keys []ExecutorInfo
	for k := range got {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y ExecutorInfo) int { return x.Start - y.Start })
	if !slices.Equal(keys, []ExecutorInfo{{1, 1}, {2, 2}, {3, 3}}) {
		t.Fatalf("ExecutorBeats executors = %v, want 1, 2, 3", keys)
	}
	if e2 := got[ExecutorInfo{2, 2}]; e2.UptimeSecs != 2 || e2.TimeSecs != 7 || e2.TimeMillis != 7000 {
		t.Fatalf("executor 2 beat = %+v, want its uptime 2 and the worker heartbeat's time 7 s / 7000 ms", e2)
	}
	if m, err := f.storm.ExecutorBeats(id, nil); err != nil || len(m) != 0 {
		t.Fatalf("ExecutorBeats(nil assignment) = %v, %v", m, err)
	}
	hb, err := f.storm.WorkerHeartbeat(id, "sup-1", 6702)
	if err != nil || hb == nil || len(hb.Executors) != 2 || hb.V != SchemaVersion {
		t.Fatalf("WorkerHeartbeat = %+v, %v", hb, err)
	}
	if err := w.RemoveWorkerHeartbeat(id, "sup-1", 6702); err != nil {
		t.Fatal(err)
	}
	if hb, err := f.storm.WorkerHeartbeat(id, "sup-1", 6702); err != nil || hb != nil {
		t.Fatalf("WorkerHeartbeat after remove = %+v, %v", hb, err)
	}
	if err := w.TeardownHeartbeats(id); err != nil {
		t.Fatal(err)
	}
	if ids, err := f.storm.HeartbeatStorms(); err != nil || len(ids) != 0 {
		t.Fatalf("HeartbeatStorms after teardown = %v, %v", ids, err)
	}
	if err := w.SetWorkerHeartbeat(id, "sup/1", 1, beat()); err == nil {
		t.Fatal("SetWorkerHeartbeat with a node id holding / succeeded")
	}
}

// callbackCase is one getter with a callback and the change that must fire it.
type callbackCase struct {
	name     string
	prepare  func(w StormClusterState) error
	register func(s StormClusterState, cb Callback) error
	trigger  func(w StormClusterState, round int) error
}

const cbID = "cb-1-1"

func callbackCases() []callbackCase {
	setAssignment := func(w StormClusterState, round int) error {
		return w.SetAssignment(cbID, testAssignment("sup-1", 6700+round))
	}
	activate := func(w StormClusterState) error {
		return w.ActivateStorm(cbID, &StormBase{Name: "cb", Status: StatusActive})
	}
	return []callbackCase{
		{"Assignments", nil,
			func(s StormClusterState, cb Callback) error { _, err := s.Assignments(cb); return err },
			func(w StormClusterState, round int) error {
				return w.SetAssignment(fmt.Sprintf("new-%d-1", round), testAssignment("sup-1", 6700))
			}},
		{"AssignmentInfo", func(w StormClusterState) error { return setAssignment(w, 99) },
			func(s StormClusterState, cb Callback) error { _, err := s.AssignmentInfo(cbID, cb); return err },
			setAssignment},
		{"AssignmentInfo of a missing assignment", nil,
			func(s StormClusterState, cb Callback) error { _, err := s.AssignmentInfo(cbID, cb); return err },
			setAssignment},
		{"AssignmentInfoWithVersion", func(w StormClusterState) error { return setAssignment(w, 99) },
			func(s StormClusterState, cb Callback) error {
				_, _, err := s.AssignmentInfoWithVersion(cbID, cb)
				return err
			},
			setAssignment},
		{"AssignmentVersion", func(w StormClusterState) error { return setAssignment(w, 99) },
			func(s StormClusterState, cb Callback) error { _, err := s.AssignmentVersion(cbID, cb); return err },
			setAssignment},
		{"Supervisors", nil,
			func(s StormClusterState, cb Callback) error { _, err := s.Supervisors(cb); return err },
			func(w StormClusterState, round int) error {
				return w.SupervisorHeartbeat(fmt.Sprintf("sup-%d", round), &SupervisorInfo{Hostname: "h"})
			}},
		{"StormBase", activate,
			func(s StormClusterState, cb Callback) error { _, err := s.StormBase(cbID, cb); return err },
			func(w StormClusterState, round int) error {
				return w.UpdateStorm(cbID, &StormBase{NumWorkers: round + 1})
			}},
		{"TopologyLogConfig", nil,
			func(s StormClusterState, cb Callback) error { _, err := s.TopologyLogConfig(cbID, cb); return err },
			func(w StormClusterState, round int) error {
				return w.SetTopologyLogConfig(cbID, &LogConfig{NamedLoggers: map[string]LogLevel{
					"ROOT": {Action: LogLevelUpdate, TargetLevel: "DEBUG", ResetTimeoutSecs: round},
				}})
			}},
	}
}

// sentinel registers a StormBase callback on a sentinel topology and changes
// it: once it ran, every event of earlier changes was delivered (ZooKeeper
// delivers notifications in order).
func sentinel(t *testing.T, s, w StormClusterState) {
	t.Helper()
	id := fmt.Sprintf("sentinel-%d-1", rootSeq.Add(1))
	if err := w.ActivateStorm(id, &StormBase{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	c := newCounter()
	if _, err := s.StormBase(id, c.callback()); err != nil {
		t.Fatal(err)
	}
	if err := w.UpdateStorm(id, &StormBase{Status: StatusActive}); err != nil {
		t.Fatal(err)
	}
	c.wait(t, "sentinel")
}

func testCallbacks(t *testing.T, tg target) {
	for _, c := range callbackCases() {
		t.Run(c.name, func(t *testing.T) {
			f := newStormFixture(t, tg)
			s, w := f.storm, f.writer
			if c.prepare != nil {
				if err := c.prepare(w); err != nil {
					t.Fatal(err)
				}
			}
			// Fires once: a second change without re-registering is not seen.
			once := newCounter()
			if err := c.register(s, once.callback()); err != nil {
				t.Fatal(err)
			}
			if err := c.trigger(w, 1); err != nil {
				t.Fatal(err)
			}
			once.wait(t, "first change")
			if err := c.trigger(w, 2); err != nil {
				t.Fatal(err)
			}
			sentinel(t, s, w)
			if n := once.n.Load(); n != 1 {
				t.Fatalf("one-shot callback ran %d times, want 1", n)
			}
			// Re-registration from inside the callback: the slot was emptied
			// before the callback ran, so the new registration stays.
			var again atomic.Int32
			rereg := make(chan struct{}, 10)
			var cb Callback
			cb = func() {
				if again.Add(1) == 1 {
					if err := c.register(s, cb); err != nil {
						t.Error(err)
					}
				}
				rereg <- struct{}{}
			}
			if err := c.register(s, cb); err != nil {
				t.Fatal(err)
			}
			for round := 3; round <= 4; round++ {
				if err := c.trigger(w, round); err != nil {
					t.Fatal(err)
				}
				select {
				case <-rereg:
				case <-time.After(waitFor):
					t.Fatalf("re-registered callback did not run for change %d", round)
				}
			}
			if err := c.trigger(w, 5); err != nil {
				t.Fatal(err)
			}
			sentinel(t, s, w)
			if n := again.Load(); n != 2 {
				t.Fatalf("re-registered callback ran %d times, want 2", n)
			}
		})
	}
}

func testNoWatchWithoutCallback(t *testing.T, tg target) {
	for _, c := range callbackCases() {
		t.Run(c.name, func(t *testing.T) {
			f := newStormFixture(t, tg)
			rec := newRecorder()
			f.state.Register(rec.record)
			if c.prepare != nil {
				if err := c.prepare(f.writer); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.register(f.storm, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.trigger(f.writer, 1); err != nil {
				t.Fatal(err)
			}
			sentinel(t, f.storm, f.writer)
			if ev := rec.next(t); !strings.HasPrefix(ev.Path, "/storms/sentinel-") {
				t.Fatalf("event %+v before the sentinel's: a getter without callback set a watch", ev)
			}
		})
	}
}

func testFatalUnknownSubtree(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	// A watch under a subtree StormClusterState has no callback for, set on
	// the shared ClusterState, as a misbehaving owner could.
	if _, err := f.state.GetData(WorkerbeatRoot("x"), true); err != nil {
		t.Fatal(err)
	}
	if err := f.writer.SetupHeartbeats("x"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.fatals:
		if !strings.Contains(err.Error(), "/workerbeats") {
			t.Fatalf("fatal error %v does not name the subtree", err)
		}
	case <-time.After(waitFor):
		t.Fatal("an event under /workerbeats did not reach OnFatal")
	}
}

func testStormReconnected(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	if err := f.writer.SetAssignment(cbID, testAssignment("sup-1", 6700)); err != nil {
		t.Fatal(err)
	}
	info, sups := newCounter(), newCounter()
	if _, err := f.storm.AssignmentInfo(cbID, info.callback()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.storm.Supervisors(sups.callback()); err != nil {
		t.Fatal(err)
	}
	reconnects := make(chan struct{}, 10)
	f.storm.OnReconnect(func() { reconnects <- struct{}{} })
	f.state.mu.RLock()
	gen := f.state.gen
	f.state.mu.RUnlock()
	f.state.events.push(connEvent{gen: gen, ev: expiredEvent})
	info.wait(t, "assignment-info callback after reconnect")
	sups.wait(t, "supervisors callback after reconnect")
	select {
	case <-reconnects:
	case <-time.After(waitFor):
		t.Fatal("OnReconnect function not called")
	}
	// The slots were emptied: a change after the reconnect does not run them again.
	if err := f.writer.SetAssignment(cbID, testAssignment("sup-1", 6701)); err != nil {
		t.Fatal(err)
	}
	sentinel(t, f.storm, f.writer)
	if info.n.Load() != 1 || sups.n.Load() != 1 {
		t.Fatalf("callbacks ran %d and %d times, want once each", info.n.Load(), sups.n.Load())
	}
}

// testSessionExpiry expires the session on the server: the ephemeral node
// comes back under the new session, one-shot callbacks and OnReconnect run,
// and watches set afterwards work.
func testSessionExpiry(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	raw := rawConn(t, tg.addr)
	if err := f.storm.SupervisorHeartbeat("sup-1", &SupervisorInfo{Hostname: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := f.writer.SetAssignment(cbID, testAssignment("sup-1", 6700)); err != nil {
		t.Fatal(err)
	}
	info := newCounter()
	if _, err := f.storm.AssignmentInfo(cbID, info.callback()); err != nil {
		t.Fatal(err)
	}
	reconnects := make(chan struct{}, 10)
	f.storm.OnReconnect(func() { reconnects <- struct{}{} })
	old := f.state.SessionID()
	if id := f.storm.SessionID(); id != old {
		t.Fatalf("StormClusterState SessionID %#x, ClusterState %#x", id, old)
	}
	if err := tg.expire(old); err != nil {
		t.Fatalf("expire session %#x: %v", old, err)
	}
	select {
	case <-reconnects:
	case <-time.After(waitFor):
		t.Fatal("OnReconnect not called after the session expired")
	}
	info.wait(t, "assignment-info callback after expiry")
	now := f.state.SessionID()
	if now == old || now == 0 {
		t.Fatalf("session %#x after expiry of %#x: want a new one", now, old)
	}
	ok, stat, err := raw.Exists(f.opts.Root + SupervisorPath("sup-1"))
	if err != nil || !ok || stat.EphemeralOwner != now {
		t.Fatalf("supervisor node after expiry: exists=%v err=%v, want owned by the new session %#x", ok, err, now)
	}
	// Re-registered watches work under the new session.
	again := newCounter()
	if _, err := f.storm.AssignmentInfo(cbID, again.callback()); err != nil {
		t.Fatal(err)
	}
	if err := f.writer.SetAssignment(cbID, testAssignment("sup-1", 6701)); err != nil {
		t.Fatal(err)
	}
	again.wait(t, "re-registered callback under the new session")
}

// testConcurrentUse runs every kind of operation from several goroutines at
// once (the race detector checks the state's own synchronisation) and checks
// the invariants that must hold whatever the interleaving.
func testConcurrentUse(t *testing.T, tg target) {
	f := newStormFixture(t, tg)
	const workers, rounds = 6, 15
	errs := make(chan error, workers*rounds*4)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			id := fmt.Sprintf("conc-%d-1", w)
			for r := range rounds {
				regID := f.state.Register(func(Event) {})
				errs <- f.storm.ReportError("shared-1-1", "bolt", "h", w, fmt.Errorf("w%d r%d", w, r))
				errs <- f.writer.SetAssignment(id, testAssignment("sup-1", 6700+r))
				_, err := f.storm.AssignmentInfo(id, func() {})
				errs <- err
				errs <- f.storm.SupervisorHeartbeat(fmt.Sprintf("sup-%d", w), &SupervisorInfo{TimeSecs: int64(r)})
				f.state.Unregister(regID)
			}
		}()
	}
	for range workers {
		select {
		case <-done:
		case <-time.After(2 * waitFor):
			t.Fatal("concurrent workers did not finish")
		}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := f.storm.Errors("shared-1-1", "bolt")
	if err != nil || len(got) != maxErrorsKept {
		t.Fatalf("after concurrent reports: %d errors kept (%v), want %d", len(got), err, maxErrorsKept)
	}
	sups, err := f.storm.Supervisors(nil)
	if err != nil || len(sups) != workers {
		t.Fatalf("supervisors after concurrent heartbeats = %v, %v", sups, err)
	}
}

// TestLogConfigRecord: a log config goes to /logconfigs/<id> as JSON with
// Storm's field names and comes back.
func TestLogConfigRecord(t *testing.T) {
	c := &LogConfig{NamedLoggers: map[string]LogLevel{"ROOT": {Action: LogLevelUpdate, TargetLevel: "DEBUG", ResetTimeoutSecs: 30, ResetTimeoutEpochMillis: 1700000000000}}}
	b, err := EncodeRecord(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"named_logger_level"`, `"target_log_level":"DEBUG"`, `"reset_log_level_timeout_epoch":1700000000000`, `"action":"UPDATE"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded log config %s lacks %s", b, want)
		}
	}
	back, err := DecodeRecord[LogConfig](b)
	if err != nil || back.NamedLoggers["ROOT"] != c.NamedLoggers["ROOT"] {
		t.Fatalf("decoded %+v, %v; want %+v", back, err, c)
	}
}
