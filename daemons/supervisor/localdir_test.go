package supervisor

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/localstorm/localstorm/daemons/localstate"
	"github.com/localstorm/localstorm/daemons/workercontract"
)

// Storm's StandaloneSupervisor.prepare keeps the supervisor's id in the
// LocalState of {storm.local.dir}/supervisor/isupervisor (key
// supervisor-id), apart from the supervisor's own LocalState
// ({local}/supervisor/localstate); a new id is a UUID, and a restart reads
// the stored one.
func TestStormSupervisorIDInISupervisorLocalState(t *testing.T) {
	e := newEnv(t)
	d := workercontract.LocalDir(e.dir)
	sup := e.start()
	if _, err := uuid.Parse(sup.ID()); err != nil {
		t.Errorf("new supervisor id %q is not a UUID: %v", sup.ID(), err)
	}
	for _, dir := range []string{d.SupervisorISupervisor(), d.SupervisorLocalState(), d.SupervisorTmp(), d.SupervisorStormdist(), d.Workers()} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("the local dir lacks Storm's %s: %v", dir, err)
		}
	}
	if got := storedID(t, d.SupervisorISupervisor()); got != sup.ID() {
		t.Errorf("isupervisor's supervisor-id = %q, want the supervisor's %q", got, sup.ID())
	}
	if got := storedID(t, d.SupervisorLocalState()); got != "" {
		t.Errorf("the supervisor's own LocalState holds supervisor-id %q too; Storm keeps it in isupervisor only", got)
	}
	if err := sup.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The id a restart takes is the one isupervisor holds.
	is, err := localstate.Open(d.SupervisorISupervisor())
	if err != nil {
		t.Fatal(err)
	}
	stored := uuid.NewString()
	if err := is.Put(keySupervisorID, stored); err != nil {
		t.Fatal(err)
	}
	if again := e.start(); again.ID() != stored {
		t.Errorf("id after restart = %q, want isupervisor's %q", again.ID(), stored)
	}
}

// A local dir written by an older localstorm, which kept the id in the
// supervisor's LocalState, keeps its id: it moves to isupervisor.
func TestSupervisorIDMovesToISupervisor(t *testing.T) {
	e := newEnv(t)
	d := workercontract.LocalDir(e.dir)
	old, err := localstate.Open(d.SupervisorLocalState())
	if err != nil {
		t.Fatal(err)
	}
	former := uuid.NewString()
	if err := old.Put(keySupervisorID, former); err != nil {
		t.Fatal(err)
	}
	if sup := e.start(); sup.ID() != former {
		t.Errorf("id = %q, want the former %q", sup.ID(), former)
	}
	if got := storedID(t, d.SupervisorISupervisor()); got != former {
		t.Errorf("isupervisor's supervisor-id = %q, want %q", got, former)
	}
	if got := storedID(t, d.SupervisorLocalState()); got != "" {
		t.Errorf("the supervisor's own LocalState still holds supervisor-id %q", got)
	}
}

// storedID is the supervisor-id that the LocalState in dir holds ("" none).
func storedID(t *testing.T, dir string) string {
	t.Helper()
	ls, err := localstate.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if _, err := ls.Get(keySupervisorID, &id); err != nil {
		t.Fatal(err)
	}
	return id
}
