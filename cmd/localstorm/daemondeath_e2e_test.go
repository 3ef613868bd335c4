package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/workercontract"
)

// Storm's nimbus exits with code 20 when a timer task fails. `up` owns its
// daemons: it prints which daemon died and why, shuts the rest of the
// cluster down and exits with the daemon's code, and the cluster is no
// longer listed.
func TestUpExitsWithTheCodeOfADeadDaemon(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	up := e.up("--cluster", "dies", "--supervisors", "1", "--slots", "1", "--dir", dir,
		"-c", "nimbus.cleanup.inbox.freq.secs=1")
	// The inbox cleaner's next round cannot read its directory: a failed
	// timer task, which Storm's nimbus does not survive.
	inbox := workercontract.DataDir(dir).Nimbus().NimbusInbox()
	if err := os.RemoveAll(inbox); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inbox, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.stopped(t, 60*time.Second)
	if code := up.cmd.ProcessState.ExitCode(); code != cluster.ExitTaskFailed {
		t.Errorf("up exited %d, want Storm's %d\nstderr: %s", code, cluster.ExitTaskFailed, tail(up.err.String(), 2000))
	}
	stderr := up.err.String() + up.out.String()
	for _, want := range []string{"nimbus", "clean inbox"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("up's output does not name %q:\n%s", want, tail(stderr, 2000))
		}
	}
	// Its registry entry went with it: not "stale", simply unknown.
	if _, errs, code := e.run("status", "--cluster", "dies"); code == 0 || strings.Contains(errs, "stale") {
		t.Errorf("status of the dead cluster: exit %d, %s; want it unknown", code, errs)
	}
}
