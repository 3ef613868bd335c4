package browsertest

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
)

// upDemo builds localstorm and runs `localstorm up --demo` (one supervisor
// with two slots, its state and data in temporary dirs) until t ends, and
// returns its API client and the demo topology's id, read from its banner.
// At the end it is stopped with SIGTERM, as Ctrl-C does, and killed by its
// pid if it has not exited a minute later.
func upDemo(t *testing.T) (*api.Client, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "localstorm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/localstorm/localstorm/cmd/localstorm").CombinedOutput(); err != nil {
		t.Fatalf("build localstorm: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "up", "--demo", "--cluster", "browsertest", "--supervisors", "1", "--slots", "2", "--dir", filepath.Join(dir, "data"))
	cmd.Env = append(cmd.Environ(), "LOCALSTORM_STATE_DIR="+filepath.Join(dir, "state"))
	out, errs := &testutil.Buffer{}, &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("localstorm up (pid %d) still running a minute after SIGTERM: killed", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("localstorm up stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
		}
	})
	banner := regexp.MustCompile(`(?m)^\s+api\s+(http://\S+)\n(?s:.*)^\s+demo\s+(\S+)`)
	var m []string
	testutil.Eventually(t, 2*time.Minute, "localstorm up --demo prints its API and the demo topology", func() (bool, string) {
		select {
		case <-done:
			t.Fatalf("localstorm up exited: %s\n%s", out.String(), errs.String())
		default:
		}
		m = banner.FindStringSubmatch(out.String())
		return m != nil, out.String()
	})
	return api.NewClient(m[1]), m[2]
}

// TestWorkshopUpDemo is the workshop as README tells it, against the real
// `localstorm up --demo`: open the demo topology, see its chart, kill a
// worker with the button and watch it come back on the timeline.
func TestWorkshopUpDemo(t *testing.T) {
	client, id := upDemo(t)
	b := Start(t)
	killWorkerFromUI(t, b, client, id)
}
