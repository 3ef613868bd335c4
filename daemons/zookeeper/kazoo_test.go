package zookeeper_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/zktest"
)

// kazooPython finds a python3 that can import kazoo: Debian's python3-kazoo
// installs into the system interpreter, which a PATH python (pyenv, venv) may
// not see. Missing kazoo fails the test: CI installs python3-kazoo.
func kazooPython(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		if err := exec.Command(py, "-c", "import kazoo").Run(); err == nil {
			return py
		}
	}
	t.Fatalf("no python3 with kazoo among %v: apt-get install python3-kazoo", candidates)
	return ""
}

// TestKazooClient runs testdata/kazoo_client.py (CRUD, watches, transactions,
// the Lock and Election recipes with three contending clients) against each
// target; the real server shows the script itself is right.
func TestKazooClient(t *testing.T) {
	py := kazooPython(t)
	eachTarget(t, zktest.Config{}, func(t *testing.T, in *zktest.Instance) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, "testdata/kazoo_client.py", in.Addr(), in.Path("kazoo"))
		out, err := cmd.CombinedOutput()
		t.Logf("kazoo_client.py:\n%s", out)
		if err != nil {
			t.Fatalf("kazoo_client.py against %s: %v", in.Target, err)
		}
		for _, step := range []string{"crud", "watches", "transactions", "lock", "election", "session end"} {
			if !strings.Contains(string(out), "ok "+step+"\n") {
				t.Errorf("step %q did not pass", step)
			}
		}
	})
}
