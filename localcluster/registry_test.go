package localcluster

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/localstorm/localstorm/localcluster/registry"
)

// The cluster record and a persistent data dir are readable by their owner
// only, even when an older version (or a crash) left them open to others.
func TestRecordAndDataDirAreOwnerOnly(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("LOCALSTORM_STATE_DIR", state)
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(registry.StateDir(), "c1.json")+".tmp", []byte("{}"), 0o644); err != nil { // a crash's leftover
		t.Fatal(err)
	}
	if err := registry.WriteRecord(registry.Record{Name: "c1", PID: os.Getpid(), APIURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	requireMode(t, filepath.Join(registry.StateDir(), "c1.json"), 0o600)
	fresh := filepath.Join(t.TempDir(), "fresh-state")
	t.Setenv("LOCALSTORM_STATE_DIR", fresh)
	if err := registry.WriteRecord(registry.Record{Name: "c2", PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	requireMode(t, fresh, 0o700)
	requireMode(t, filepath.Join(registry.StateDir(), "c2.json"), 0o600)

	for _, existed := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if existed {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		c := &Cluster{opts: Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)}}
		if err := c.prepareDataDir(); err != nil {
			t.Fatal(err)
		}
		c.lock.Close()
		requireMode(t, dir, 0o700)
	}
}

func requireMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}
