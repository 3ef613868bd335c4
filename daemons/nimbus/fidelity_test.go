package nimbus

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// Storm's nimbus timer handler: "Error while processing event", then
// Utils.exitProcess(20). A library nimbus cannot exit: its Err() carries code
// 20 and its API stops serving (503 with the cause) instead of answering
// with a dead monitor.
func TestStormTimerFailureExits20AndStopsServing(t *testing.T) {
	e := newEnv(t, nil)
	e.n.timer.Schedule(0, func() error { return errors.New("disk on fire") })
	e.clock.Advance(time.Second)
	var err error
	select {
	case err = <-e.n.Err():
	case <-time.After(10 * time.Second):
		t.Fatal("no error on Err() after a failed timer task")
	}
	if code, ok := cluster.ExitCode(err); !ok || code != cluster.ExitTaskFailed {
		t.Errorf("Err() = %v with exit code %d (%v), want Storm's 20", err, code, ok)
	}
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Err() = %v, want the task's error", err)
	}
	rec := httptest.NewRecorder()
	e.n.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/cluster/summary", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET cluster/summary after the failure: %d %s, want 503", rec.Code, rec.Body)
	}
	var reply api.ErrorReply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || !strings.Contains(reply.ErrorMessage, "disk on fire") {
		t.Errorf("503 body %s (%v), want the cause in errorMessage", rec.Body, err)
	}
}
