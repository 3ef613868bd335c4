package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Storm's EventManagerImp: a failing event is "Error when processing an
// event", then Utils.exitProcess(20). Ours stops the supervisor and reports
// the error with code 20 on Err().
func TestStormEventManagerFailureExits20(t *testing.T) {
	e := newEnv(t)
	sup := e.start()
	sup.syncEvents.Add(func() error { return errors.New("cannot write local state") })
	select {
	case err := <-sup.Err():
		if code, ok := cluster.ExitCode(err); !ok || code != cluster.ExitTaskFailed {
			t.Errorf("Err() = %v with exit code %d (%v), want Storm's 20", err, code, ok)
		}
		if !strings.Contains(err.Error(), "cannot write local state") {
			t.Errorf("Err() = %v, want the event's error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no error on Err() after a failed event")
	}
}
