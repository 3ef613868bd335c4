package nimbus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

func TestSubmitWritesCodeStateAndAssignment(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	e.addSupervisor("b", 6700)
	code := []byte("binary-code")
	req := e.upload("wc", code)
	req.Conf = map[string]any{config.TopologyWorkers: 2}
	id, err := e.n.Submit(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`^wc-1-%d$`, testStart.Unix()); !regexp.MustCompile(want).MatchString(id) {
		t.Errorf("id %q does not match %s", id, want)
	}
	dist := filepath.Join(e.dir, "nimbus", "stormdist", id)
	got, err := os.ReadFile(filepath.Join(dist, api.CodeFileBinary))
	if err != nil || string(got) != string(code) {
		t.Errorf("stormcode = %q, %v; want the uploaded code", got, err)
	}
	if st, err := os.Stat(filepath.Join(dist, api.CodeFileBinary)); err != nil || st.Mode()&0o100 == 0 {
		t.Errorf("stormcode is not executable: %v %v", st, err)
	}
	var conf config.Conf
	if err := readJSONFile(filepath.Join(dist, api.CodeFileConf), &conf); err != nil {
		t.Fatal(err)
	}
	if n, _ := conf.Int(config.TopologyAckerExecutors); n != 2 {
		t.Errorf("stormconf %s = %v, want 2 (one per worker, made explicit)", config.TopologyAckerExecutors, conf[config.TopologyAckerExecutors])
	}
	if conf[config.TopologyName] != "wc" {
		t.Errorf("stormconf %s = %v", config.TopologyName, conf[config.TopologyName])
	}
	var def topology.Definition
	if err := readJSONFile(filepath.Join(dist, api.CodeFileDefinition), &def); err != nil || def.Bolts["count"] == nil {
		t.Errorf("stormtopology.json: %v %+v", err, def)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "nimbus", "inbox")); len(entries) != 0 {
		t.Errorf("the inbox still holds %d files after submit", len(entries))
	}

	base, _ := e.state.StormBase(id, nil)
	want := map[string]int{"words": 2, "count": 3, topology.AckerComponent: 2}
	if base == nil || base.Status != cluster.StatusActive || base.NumWorkers != 2 || fmt.Sprint(base.ComponentExecutors) != fmt.Sprint(want) {
		t.Fatalf("storm base %+v, want ACTIVE, 2 workers, executors %v", base, want)
	}
	if !e.state.hbStorms[id] {
		t.Error("heartbeats were not set up")
	}
	// Assigned at once, without waiting for the monitor timer.
	a, _ := e.state.AssignmentInfo(id, nil)
	if a == nil || len(a.Executors) != 7 || len(slotsOf(a)) != 2 {
		t.Fatalf("assignment right after submit: %+v, want 7 executors on 2 slots", a)
	}
	// Task ids 1..7 in sorted component order: __acker 1-2, count 3-5, words 6-7.
	for _, ea := range a.Executors {
		if ea.Executor.Start != ea.Executor.End || ea.Executor.Start < 1 || ea.Executor.Start > 7 {
			t.Errorf("unexpected executor %+v", ea.Executor)
		}
		if ea.StartSecs != testStart.Unix() {
			t.Errorf("executor start %d, want the nimbus clock %d", ea.StartSecs, testStart.Unix())
		}
	}

	// A second submit gets the next counter; an INACTIVE start is honoured.
	req2 := e.upload("wc2", code)
	req2.InitialStatus = string(cluster.StatusInactive)
	id2, err := e.n.Submit(t.Context(), req2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id2, "wc2-2-") || e.state.status(id2) != cluster.StatusInactive {
		t.Errorf("second submit: id %s status %s", id2, e.state.status(id2))
	}
}

func TestSubmitValidationWritesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	alive := e.submit("taken", nil)
	if alive == "" {
		t.Fatal("no id")
	}
	tests := []struct {
		name   string
		mutate func(*api.SubmitRequest)
		kind   error
		msg    string
	}{
		{"empty name", func(r *api.SubmitRequest) { r.Name = "" }, api.ErrInvalid, "name is empty"},
		{"blank name", func(r *api.SubmitRequest) { r.Name = "  " }, api.ErrInvalid, "name is empty"},
		{"slash in name", func(r *api.SubmitRequest) { r.Name = "a/b" }, api.ErrInvalid, "contains one of"},
		{"dot in name", func(r *api.SubmitRequest) { r.Name = "a.b" }, api.ErrInvalid, "contains one of"},
		{"colon in name", func(r *api.SubmitRequest) { r.Name = "a:b" }, api.ErrInvalid, "contains one of"},
		{"backslash in name", func(r *api.SubmitRequest) { r.Name = `a\b` }, api.ErrInvalid, "contains one of"},
		{"name too long", func(r *api.SubmitRequest) { r.Name = strings.Repeat("x", maxNameLen+1) }, api.ErrInvalid, "at most 200"},
		{"control character", func(r *api.SubmitRequest) { r.Name = "a\nb" }, api.ErrInvalid, "control character"},
		{"name alive", func(r *api.SubmitRequest) { r.Name = "taken" }, api.ErrConflict, "already alive as " + alive},
		{"no definition", func(r *api.SubmitRequest) { r.Definition = nil }, api.ErrInvalid, "no topology definition"},
		{"unknown component in grouping", func(r *api.SubmitRequest) {
			r.Definition.Bolts["count"].Inputs[0].Component = "nope"
		}, api.ErrInvalid, "nope"},
		{"no spout", func(r *api.SubmitRequest) { r.Definition.Spouts = nil }, api.ErrInvalid, "no spout"},
		{"zero parallelism", func(r *api.SubmitRequest) { r.Definition.Bolts["count"].Parallelism = 0 }, api.ErrInvalid, "parallelism 0"},
		{"too many tasks", func(r *api.SubmitRequest) { r.Definition.Bolts["count"].NumTasks = maxTasks + 1 }, api.ErrInvalid, "tasks, at most"},
		{"zero workers", func(r *api.SubmitRequest) { r.Conf = map[string]any{config.TopologyWorkers: 0} }, api.ErrInvalid, "topology.workers"},
		{"workers not a number", func(r *api.SubmitRequest) { r.Conf = map[string]any{config.TopologyWorkers: "two"} }, api.ErrInvalid, "topology.workers"},
		{"workers from the definition conf", func(r *api.SubmitRequest) { r.Definition.Conf = map[string]any{config.TopologyWorkers: -1} }, api.ErrInvalid, "topology.workers"},
		{"zero message timeout", func(r *api.SubmitRequest) { r.Conf = map[string]any{config.TopologyMessageTimeoutSecs: 0} }, api.ErrInvalid, config.TopologyMessageTimeoutSecs},
		{"negative ackers", func(r *api.SubmitRequest) { r.Conf = map[string]any{config.TopologyAckerExecutors: -2} }, api.ErrInvalid, config.TopologyAckerExecutors},
		{"zero max spout pending", func(r *api.SubmitRequest) { r.Conf = map[string]any{config.TopologyMaxSpoutPending: 0} }, api.ErrInvalid, config.TopologyMaxSpoutPending},
		{"window longer than the default message timeout", func(r *api.SubmitRequest) {
			c := r.Definition.Bolts["count"]
			c.Windowed = true
			c.Conf = map[string]any{topology.ConfWindowLengthDurationMs: 20_000, topology.ConfSlidingIntervalMs: 15_000}
		}, api.ErrInvalid, "Window duration (length + sliding interval) value 35000 is more than topology.message.timeout.secs value 30000"},
		{"window longer than the submitted message timeout", func(r *api.SubmitRequest) {
			c := r.Definition.Bolts["count"]
			c.Windowed = true
			c.Conf = map[string]any{topology.ConfWindowLengthDurationMs: 10_000}
			r.Conf = map[string]any{config.TopologyMessageTimeoutSecs: 5}
		}, api.ErrInvalid, "value 10000 is more than topology.message.timeout.secs value 5000"},
		{"unknown state provider", func(r *api.SubmitRequest) {
			r.Definition.Spouts[topology.CheckpointComponent] = &topology.ComponentDef{ID: topology.CheckpointComponent, Parallelism: 1,
				Outputs: map[string]topology.StreamDef{topology.CheckpointStream: {Fields: topology.Fields{"txid", "action"}}}}
			r.Conf = map[string]any{"topology.state.provider": "com.example.NoSuchStateProvider"}
		}, api.ErrInvalid, `unknown state provider "com.example.NoSuchStateProvider"`},
		{"bad redis state config", func(r *api.SubmitRequest) {
			r.Definition.Spouts[topology.CheckpointComponent] = &topology.ComponentDef{ID: topology.CheckpointComponent, Parallelism: 1,
				Outputs: map[string]topology.StreamDef{topology.CheckpointStream: {Fields: topology.Fields{"txid", "action"}}}}
			r.Conf = map[string]any{"topology.state.provider": "org.apache.storm.redis.state.RedisKeyValueStateProvider",
				"topology.state.provider.config": `{"jedisPoolConfig":{"port":"six"}}`}
		}, api.ErrInvalid, "topology.state.provider.config"},
		{"unknown upload", func(r *api.SubmitRequest) { r.UploadID = strings.Repeat("ab", 16) }, api.ErrInvalid, "not found"},
		{"malformed upload id", func(r *api.SubmitRequest) { r.UploadID = "../../etc/passwd" }, api.ErrInvalid, "not one nimbus hands out"},
		{"checksum mismatch", func(r *api.SubmitRequest) { r.SHA256 = strings.Repeat("0", 64) }, api.ErrInvalid, "checksum mismatch"},
		{"no checksum", func(r *api.SubmitRequest) { r.SHA256 = "" }, api.ErrInvalid, "checksum mismatch"},
		{"unknown kind", func(r *api.SubmitRequest) { r.Kind = "jar" }, api.ErrInvalid, `kind "jar"`},
		{"bad initial status", func(r *api.SubmitRequest) { r.InitialStatus = "KILLED" }, api.ErrInvalid, "initial status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := e.upload("fresh", []byte("code of "+tt.name))
			tt.mutate(&req)
			writes := e.state.writeCount()
			dist, _ := os.ReadDir(filepath.Join(e.dir, "nimbus", "stormdist"))
			_, err := e.n.Submit(t.Context(), req)
			if err == nil {
				t.Fatal("submit succeeded")
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q (kind %v), want kind %v containing %q", err, api.StatusOf(err), tt.kind, tt.msg)
			}
			if got := e.state.writeCount(); got != writes {
				t.Errorf("%d ZooKeeper writes during a refused submit", got-writes)
			}
			if after, _ := os.ReadDir(filepath.Join(e.dir, "nimbus", "stormdist")); len(after) != len(dist) {
				t.Errorf("stormdist changed: %d entries, was %d", len(after), len(dist))
			}
			if _, err := os.Stat(filepath.Join(e.dir, "nimbus", "inbox", req.UploadID)); req.UploadID != "" && uploadIDPattern.MatchString(req.UploadID) && tt.name != "unknown upload" && err != nil {
				t.Errorf("the upload was consumed by a refused submit: %v", err)
			}
		})
	}
}

func TestSubmitFailureInZooKeeperLeavesNoCode(t *testing.T) {
	e := newEnv(t, nil)
	req := e.upload("wc", []byte("x"))
	e.state.mu.Lock()
	e.state.failWrites = errors.New("connection loss")
	e.state.mu.Unlock()
	if _, err := e.n.Submit(t.Context(), req); err == nil || !strings.Contains(err.Error(), "connection loss") {
		t.Fatalf("submit with ZooKeeper failing: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "nimbus", "stormdist")); len(entries) != 0 {
		t.Errorf("stormdist keeps %d entries after a failed submit", len(entries))
	}
}

func TestUploadChecks(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.n.Upload(t.Context(), strings.NewReader("abc"), "zz"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("malformed checksum: %v", err)
	}
	if _, err := e.n.Upload(t.Context(), strings.NewReader("abc"), sum([]byte("abd"))); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("wrong checksum: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "nimbus", "inbox")); len(entries) != 0 {
		t.Errorf("refused uploads left %d files in the inbox", len(entries))
	}
}

func TestValidateTopologyName(t *testing.T) {
	for _, ok := range []string{"wc", "word-count_2", "ünïcode", strings.Repeat("a", maxNameLen)} {
		if err := ValidateTopologyName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

// An in-process caller's binary is linked into the inbox, not copied, and
// the stored topology runs that very file, whose mode nimbus leaves alone.
func TestImportCodeLinksTheCallersBinary(t *testing.T) {
	e := newEnv(t, nil)
	code := []byte("#!/bin/true\nimported")
	path, f := codeFile(t, code, 0o755)
	r, err := e.n.ImportCode(t.Context(), f, sum(code))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.Stat(path)
	if in, err := os.Stat(filepath.Join(e.dir, "nimbus", "inbox", r.UploadID)); err != nil || !os.SameFile(in, orig) {
		t.Fatalf("the upload is not a link to the caller's file (%v)", err)
	}
	id, err := e.n.Submit(t.Context(), api.SubmitRequest{Name: "imported", UploadID: r.UploadID, SHA256: r.SHA256, Kind: api.KindBinary, Definition: wordCount()})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := os.Stat(filepath.Join(e.dir, "nimbus", "stormdist", id, api.CodeFileBinary))
	if err != nil || !os.SameFile(stored, orig) {
		t.Fatalf("stormdist does not hold the caller's binary (%v)", err)
	}
	if after, _ := os.Stat(path); after.Mode().Perm() != 0o755 || !after.ModTime().Equal(orig.ModTime()) {
		t.Errorf("the caller's file changed: mode %v, mtime %v → %v", after.Mode(), orig.ModTime(), after.ModTime())
	}
}

// A file nimbus cannot link (here: not 0755, whose mode it would have to
// change) is copied; the caller's file is not touched, and what is not a
// regular file is refused.
func TestImportCodeCopiesWhatItCannotLink(t *testing.T) {
	e := newEnv(t, nil)
	code := []byte("not executable")
	path, f := codeFile(t, code, 0o640)
	r, err := e.n.ImportCode(t.Context(), f, sum(code))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.Stat(path)
	stored := filepath.Join(e.dir, "nimbus", "inbox", r.UploadID)
	if in, err := os.Stat(stored); err != nil || os.SameFile(in, orig) {
		t.Fatalf("a 0640 file was linked, not copied (%v)", err)
	}
	if got, _ := os.ReadFile(stored); string(got) != string(code) {
		t.Errorf("the copy holds %q", got)
	}
	if orig.Mode().Perm() != 0o640 {
		t.Errorf("the caller's file mode changed to %v", orig.Mode())
	}
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if _, err := e.n.ImportCode(t.Context(), dir, sum(code)); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("importing a directory: %v", err)
	}
	if _, err := e.n.ImportCode(t.Context(), f, "zz"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a malformed checksum: %v", err)
	}
}

// codeFile writes code with mode to a file of the test and opens it.
func codeFile(t *testing.T, code []byte, mode os.FileMode) (string, *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "code")
	if err := os.WriteFile(path, code, mode); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, f
}
