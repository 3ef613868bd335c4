package worker

import (
	"slices"
	"testing"
	"time"
)

// TestGCTuner: a worker allocating fast gets the throughput target at once;
// after idleAfter below the rate it gets the footprint target back and its
// memory is returned to the OS, once; a short lull changes nothing.
func TestGCTuner(t *testing.T) {
	var allocs uint64
	var sets []int
	releases := 0
	at := time.Unix(0, 0)
	tu := &gcTuner{
		allocs:  func() uint64 { return allocs },
		setGC:   func(p int) { sets = append(sets, p) },
		release: func() { releases++ },
		lastAt:  at,
	}
	second := func(bytes uint64) {
		allocs += bytes
		at = at.Add(time.Second)
		tu.tick(at)
	}
	second(10 << 10) // an idle worker's heartbeats
	if len(sets) != 0 {
		t.Fatalf("an idle worker's target changed: %v", sets)
	}
	second(50 << 20)
	if !slices.Equal(sets, []int{DefaultGCPercent}) {
		t.Fatalf("a busy worker's targets %v, want [%d]", sets, DefaultGCPercent)
	}
	for range 5 {
		second(10 << 10)
	}
	second(50 << 20) // a lull of 5 s
	for range int(idleAfter/time.Second) - 1 {
		second(10 << 10)
	}
	if len(sets) != 1 || releases != 0 {
		t.Fatalf("targets %v and %d releases before %s idle, want only the busy one", sets, releases, idleAfter)
	}
	second(10 << 10)
	if !slices.Equal(sets, []int{DefaultGCPercent, IdleGCPercent}) || releases != 1 {
		t.Fatalf("after %s idle: targets %v, %d releases; want [%d %d] and 1", idleAfter, sets, releases, DefaultGCPercent, IdleGCPercent)
	}
	for range 30 {
		second(10 << 10)
	}
	if len(sets) != 2 || releases != 1 {
		t.Fatalf("an idle worker kept changing: targets %v, %d releases", sets, releases)
	}
	// The rate is per second of elapsed time: 1.5 MB over 3 s is idle.
	allocs += 3 << 19
	at = at.Add(3 * time.Second)
	tu.tick(at)
	if len(sets) != 2 {
		t.Fatalf("0.5 MB/s made the worker busy: %v", sets)
	}
}
