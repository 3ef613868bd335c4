package nimbus

import (
	"errors"
	"testing"

	"github.com/localstorm/localstorm/api"
)

func TestCheckSubmitName(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	if _, err := e.n.Submit(t.Context(), e.upload("wc", []byte("code"))); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{"fresh": nil, "wc": api.ErrConflict, "a/b": api.ErrInvalid, " ": api.ErrInvalid} {
		err := e.n.CheckSubmitName(t.Context(), name)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("CheckSubmitName(%q) = %v, want %v", name, err, want)
		}
	}
}
