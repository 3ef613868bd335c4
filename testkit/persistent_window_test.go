package testkit_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// persistentResult is one window result of the persistent moving sum: its
// number in the bolt's state, its readings' message ids and their sum.
type persistentResult struct {
	window int64
	ids    []int64
	sum    int64
}

// The persistent moving sum (examples/movingaverage PersistentBuilderWith:
// 5 readings every 3, withPersistence) on Redis state, its only worker
// killed with SIGKILL in the middle of the stream. The readings in the
// window at the last commit were acked then and are never replayed: the
// windows after the kill contain them all the same, read back from the
// state, and slide on from the committed trigger count as if the worker
// had not died. Every reading is in the windows, none more often than it
// was emitted (a reading saved and committed whose ack died with the
// worker comes again: Storm's at-least-once), and the committed state of
// the bolt counts each window once.
func TestPersistentWindowedMovingSumRedisSurvivesKill9(t *testing.T) {
	c, feeder, addr, id := startMovingSum(t, "persistentsum", movingaverage.PersistentBuilderWith, nil)

	const readings = 300
	for i := 1; i <= readings; i++ {
		feeder.Feed(topology.Values{i, int64(i)}) // feeder id i-1
	}
	testutil.Eventually(t, 60*time.Second, "60 readings acked", func() (bool, string) {
		return feeder.Acked() >= 60, fmt.Sprintf("%d acked", feeder.Acked())
	})
	killed := c.KillWorker(t, id)
	ackedBefore := map[int64]bool{}
	for i := 1; i <= readings; i++ {
		if acked, _ := feeder.Result(i - 1); acked {
			ackedBefore[int64(i)] = true
		}
	}
	if len(ackedBefore) >= readings-5 {
		t.Fatalf("%d readings acked before the kill: the fault did not land mid-stream", len(ackedBefore))
	}
	recordedBefore := len(persistentResults(t, addr))
	waitReplaced(t, c, id, killed)

	// Every reading is acked once saved, those still in the window too.
	testutil.Eventually(t, 120*time.Second, "every reading acked", func() (bool, string) {
		return feeder.Acked() == readings, fmt.Sprintf("%d of %d acked", feeder.Acked(), readings)
	})
	var results []persistentResult
	testutil.Eventually(t, 60*time.Second, "a window with one of the last 3 readings recorded", func() (bool, string) {
		results = persistentResults(t, addr)
		for _, r := range results {
			if slices.Max(r.ids) > readings-3 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d results", len(results))
	})

	latest := map[int64]persistentResult{} // a window evaluated again (rolled back) counts once
	carried := 0                           // readings acked before the kill in windows after it
	for i, r := range results {
		var sum int64
		for _, v := range r.ids {
			sum += v
		}
		if sum != r.sum {
			t.Errorf("window %d %v: sum %d, want %d", r.window, r.ids, r.sum, sum)
		}
		latest[r.window] = r
		if i >= recordedBefore {
			for _, v := range r.ids {
				if ackedBefore[v] {
					carried++
				}
			}
		}
	}
	if carried == 0 {
		t.Errorf("no window after the kill holds a reading acked before it: the window was not read back from the state")
	}
	stream := checkSlides(t, latest)
	checkStream(t, stream, readings, func(v int64) int { return feeder.Attempts(int(v - 1)) })
	checkPersistentState(t, addr, latest)
}

// checkSlides checks that the windows, by number, slide as a count window
// of 5 every 3 over one stream, and returns that stream: each window's last
// 3 readings are new, and the window is the last 5 readings so far.
func checkSlides(t *testing.T, windows map[int64]persistentResult) []int64 {
	t.Helper()
	var stream []int64
	for n := range int64(len(windows)) {
		w, ok := windows[n]
		if !ok {
			t.Fatalf("no result for window %d of %d", n, len(windows))
		}
		if len(w.ids) < 3 {
			t.Fatalf("window %d %v: fewer than 3 readings", n, w.ids)
		}
		stream = append(stream, w.ids[len(w.ids)-3:]...)
		if want := stream[max(0, len(stream)-5):]; !slices.Equal(w.ids, want) {
			t.Fatalf("window %d is %v, want %v: the window did not slide on from the state", n, w.ids, want)
		}
	}
	return stream
}

// checkStream checks that the stream the windows saw has every reading up
// to the last 2 (those after the last trigger), none more often than it
// was emitted.
func checkStream(t *testing.T, stream []int64, readings int64, attempts func(int64) int) {
	t.Helper()
	seen := map[int64]int{}
	for _, v := range stream {
		seen[v]++
	}
	for v := int64(1); v <= readings-2; v++ {
		if seen[v] == 0 {
			t.Errorf("reading %d is in no window (lost)", v)
		}
	}
	for v, n := range seen {
		if n > attempts(v) {
			t.Errorf("reading %d is in the windows %d times, emitted %d times", v, n, attempts(v))
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("stream of %d readings in %d windows, %d readings again (saved, committed, ack lost with the worker)", len(stream), len(stream)/3, dups)
}

// checkPersistentState checks the committed state of bolt "sum" in Redis:
// the bolt's own (every window once) and the window's, with Storm's
// namespaces and keys.
func checkPersistentState(t *testing.T, addr string, windows map[int64]persistentResult) {
	t.Helper()
	var total int64
	for _, w := range windows {
		total += w.sum
	}
	hashes := redisHashes(t, addr, "sum-*")
	for k, h := range hashes {
		switch {
		case strings.HasSuffix(k, "-window-partitions"):
			if _, ok := h["pk"]; !ok {
				t.Errorf("%s has no key pk (the partition ids)", k)
			}
		case strings.HasSuffix(k, "-window-systemstate"):
			if _, ok := h["es"]; !ok {
				t.Errorf("%s has no key es (the eviction policy's state)", k)
			}
		case strings.HasSuffix(k, "-window"):
			if len(h) == 0 {
				t.Errorf("%s holds no partition", k)
			}
		default:
			var n, sum int64
			if json.Unmarshal(h["windows"], &n) != nil || json.Unmarshal(h["total"], &sum) != nil || n != int64(len(windows)) || sum != total {
				t.Errorf("committed state %s: windows %s total %s, want %d and %d", k, h["windows"], h["total"], len(windows), total)
			}
		}
	}
	if len(hashes) != 4 {
		t.Errorf("states of bolt sum in Redis: %v, want the bolt's and the window's 3", slices.Sorted(maps.Keys(hashes)))
	}
}

// persistentResults reads the recorded results: window, ids..., sum.
func persistentResults(t *testing.T, addr string) []persistentResult {
	t.Helper()
	var out []persistentResult
	for _, nums := range recordedIntegers(t, addr) {
		if len(nums) < 3 {
			t.Fatalf("result %v: want window, ids and sum", nums)
		}
		out = append(out, persistentResult{window: nums[0], ids: nums[1 : len(nums)-1], sum: nums[len(nums)-1]})
	}
	return out
}
