package api

import "testing"

func TestTopologyInfoCounts(t *testing.T) {
	info := &TopologyInfo{
		Spouts: []SpoutSummary{
			{Acked: 3, ExecutorStats: []ExecutorSummary{{Alive: true}, {Alive: false}}},
			{Acked: 4, ExecutorStats: []ExecutorSummary{{Alive: true}}},
		},
		Bolts: []BoltSummary{{ExecutorStats: []ExecutorSummary{{Alive: true}, {Alive: false}, {Alive: true}}}},
	}
	if alive, total := info.ExecutorsAlive(); alive != 4 || total != 6 {
		t.Errorf("ExecutorsAlive = %d of %d, want 4 of 6", alive, total)
	}
	if got := info.SpoutsAcked(); got != 7 {
		t.Errorf("SpoutsAcked = %d, want 7", got)
	}
	empty := &TopologyInfo{}
	if alive, total := empty.ExecutorsAlive(); alive != 0 || total != 0 || empty.SpoutsAcked() != 0 {
		t.Errorf("an empty topology counts %d of %d executors, %d acked", alive, total, empty.SpoutsAcked())
	}
}
