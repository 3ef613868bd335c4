// Package statetest checks a state provider against the two-phase
// contract of package state: what the in-memory and Redis providers pass.
package statetest

import (
	"fmt"
	"testing"

	"github.com/localstorm/localstorm/topology/state"
)

func mustGet(t *testing.T, s state.KeyValueState, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

// WantValue fails t unless key has value want ("" means absent).
func WantValue(t *testing.T, s state.KeyValueState, key, want string) {
	t.Helper()
	got, ok := mustGet(t, s, key)
	if want == "" && ok {
		t.Fatalf("Get(%q) = %q, want absent", key, got)
	}
	if want != "" && got != want {
		t.Fatalf("Get(%q) = %q (present %v), want %q", key, got, ok, want)
	}
}

// Must fails t on err.
func Must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TwoPhase is what every state provider must do: changes are seen at once,
// survive a rollback only once committed, and a rollback drops a prepared
// transaction.
func TwoPhase(t *testing.T, s state.KeyValueState) {
	s.Put("a", []byte("1"))
	s.Put("b", []byte("2"))
	WantValue(t, s, "a", "1")
	Must(t, s.PrepareCommit(0))
	Must(t, s.Commit(0))

	s.Put("a", []byte("10"))
	s.Delete("b")
	s.Put("c", []byte("3"))
	WantValue(t, s, "b", "")
	Must(t, s.PrepareCommit(1))
	Must(t, s.Rollback()) // a failed checkpoint: transaction 1 is dropped
	WantValue(t, s, "a", "1")
	WantValue(t, s, "b", "2")
	WantValue(t, s, "c", "")

	s.Put("a", []byte("11"))
	s.Delete("b")
	Must(t, s.PrepareCommit(1))
	Must(t, s.Commit(1))
	Must(t, s.Rollback()) // nothing uncommitted: no change
	WantValue(t, s, "a", "11")
	WantValue(t, s, "b", "")

	got := map[string]string{}
	Must(t, s.Range(func(k string, v []byte) bool { got[k] = string(v); return true }))
	if fmt.Sprint(got) != "map[a:11]" {
		t.Fatalf("Range = %v, want map[a:11]", got)
	}
	m := state.Map[int]{State: s}
	Must(t, m.Put("n", 41))
	if n, ok, err := m.Get("n"); err != nil || !ok || n != 41 {
		t.Fatalf("Map.Get = %d %v %v, want 41", n, ok, err)
	}
}
