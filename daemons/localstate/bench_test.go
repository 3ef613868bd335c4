package localstate

import (
	"fmt"
	"testing"
)

// supervisorState is about what a supervisor keeps: its id, the local
// assignments of four slots and the approved workers.
func supervisorState(b *testing.B) *LocalState {
	s := open(b)
	mustPut(b, s, "supervisor-id", "7a1c0d4e-sup")
	assignments := map[int]assignment{}
	approved := map[string]int{}
	for p := range 4 {
		assignments[6700+p] = assignment{"wordcount-1-1700000000", [][]int{{p*4 + 1, p*4 + 2}, {p*4 + 3, p*4 + 4}}}
		approved[fmt.Sprintf("worker-%d", p)] = 6700 + p
	}
	mustPut(b, s, "local-assignments", assignments)
	mustPut(b, s, "approved-workers", approved)
	return s
}

func BenchmarkPut(b *testing.B) {
	s := supervisorState(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Put("worker-heartbeat", map[string]any{"time-secs": i, "port": 6700}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := supervisorState(b)
	var got map[int]assignment
	for b.Loop() {
		if found, err := s.Get("local-assignments", &got); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}
