package nimbus

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Totals survive a restart of nimbus: saved, reloaded, and then continued by
// a worker that outlived nimbus, or added to by a worker that restarted with
// it. Without the saved file, both would start from the new counts only.
func TestStatsSurviveNimbusRestart(t *testing.T) {
	e := cluster.ExecutorInfo{Start: 1, End: 1}
	t0 := testStart
	before := newStatsStore()
	// A worker ran to 100 acked, restarted, and ran to 40 more.
	before.record("topo-1", map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat{e: spoutBeat(60, 200, 100, 0)}, nil, t0)
	before.record("topo-1", map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat{e: spoutBeat(10, 80, 40, 0)}, nil, t0.Add(time.Minute))
	if got := before.history("topo-1", e).window(0, t0.Add(time.Minute)).Acked; got != 140 {
		t.Fatalf("all-time acked before the restart = %d, want 140", got)
	}
	data, err := json.Marshal(before.save())
	if err != nil {
		t.Fatal(err)
	}
	reload := func() *statsStore {
		var saved savedStats
		if err := json.Unmarshal(data, &saved); err != nil {
			t.Fatal(err)
		}
		s := newStatsStore()
		s.restore(saved, t0.Add(2*time.Minute))
		return s
	}
	for _, tc := range []struct {
		name string
		beat cluster.ExecutorHeartbeat
		want int64
	}{
		{"the worker outlived nimbus", spoutBeat(70, 100, 50, 0), 150}, // 100 + 50 of its run
		{"the worker restarted too", spoutBeat(5, 10, 5, 0), 145},      // 100 + 40 + 5
		{"no heartbeat yet", cluster.ExecutorHeartbeat{}, 140},         // what was saved
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := reload()
			now := t0.Add(3 * time.Minute)
			if tc.beat.UptimeSecs > 0 {
				s.record("topo-1", map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat{e: tc.beat}, nil, now)
			}
			if got := s.history("topo-1", e).window(0, now).Acked; got != tc.want {
				t.Errorf("all-time acked after the restart = %d, want %d", got, tc.want)
			}
		})
	}
}
