package nimbus

import (
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

func spoutBeat(uptime, emitted, acked int64, latencySum float64) cluster.ExecutorHeartbeat {
	return cluster.ExecutorHeartbeat{UptimeSecs: uptime, Stats: cluster.ExecutorStats{
		Type:                 "spout",
		Emitted:              map[string]int64{"default": emitted, "__ack_init": emitted},
		Transferred:          map[string]int64{"default": emitted},
		Acked:                map[string]int64{"default": acked},
		CompleteLatencyMsSum: latencySum,
	}}
}

func TestStatsWindows(t *testing.T) {
	t0 := testStart
	var h executorHistory
	// One heartbeat a minute for 4 hours: 10 emitted and 5 acked per minute,
	// each ack taking 2 ms.
	for m := int64(0); m <= 240; m++ {
		h.record(spoutBeat(m*60, 10*m, 5*m, float64(10*m)), t0.Add(time.Duration(m)*time.Minute))
	}
	now := t0.Add(240 * time.Minute)
	tests := []struct {
		window         time.Duration
		emitted, acked int64
	}{
		{10 * time.Minute, 100, 50},
		{3 * time.Hour, 1800, 900},
		{24 * time.Hour, 2400, 1200}, // started within the day: everything counts
		{0, 2400, 1200},              // all time
	}
	for _, tt := range tests {
		got := h.window(tt.window, now)
		if got.Emitted != tt.emitted || got.Acked != tt.acked {
			t.Errorf("window %v: emitted %d acked %d, want %d and %d", tt.window, got.Emitted, got.Acked, tt.emitted, tt.acked)
		}
		if l := latency(got.CompleteLatencyMs, got.Acked); l != "2.000" {
			t.Errorf("window %v: complete latency %s, want 2.000", tt.window, l)
		}
	}
	if len(h.samples) > 240 {
		t.Errorf("history kept %d samples; old ones should be thinned", len(h.samples))
	}
}

func TestStatsSurviveWorkerRestart(t *testing.T) {
	t0 := testStart
	var h executorHistory
	h.record(spoutBeat(10, 100, 50, 0), t0)
	h.record(spoutBeat(20, 200, 100, 0), t0.Add(10*time.Second))
	// The worker restarted: its counters start again from zero.
	h.record(spoutBeat(5, 30, 10, 0), t0.Add(20*time.Second))
	all := h.window(0, t0.Add(20*time.Second))
	if all.Emitted != 230 || all.Acked != 110 {
		t.Errorf("all time after restart: emitted %d acked %d, want 230 and 110", all.Emitted, all.Acked)
	}
	last := h.window(5*time.Second, t0.Add(20*time.Second))
	if last.Emitted != 30 {
		t.Errorf("last 5 s: emitted %d, want 30 (the new run since the sample at 10 s)", last.Emitted)
	}
}

func TestStatsSkipSystemStreams(t *testing.T) {
	got := totalsOf(spoutBeat(1, 7, 3, 0).Stats)
	if got.Emitted != 7 || got.Transferred != 7 {
		t.Errorf("emitted %d transferred %d, want 7: __ack_init is a system stream", got.Emitted, got.Transferred)
	}
}

func TestPrettyUptime(t *testing.T) {
	for secs, want := range map[int64]string{0: "0s", 59: "59s", 61: "1m 1s", 3600: "1h 0m 0s", 90061: "1d 1h 1m 1s", -5: "0s"} {
		if got := prettyUptime(secs); got != want {
			t.Errorf("prettyUptime(%d) = %q, want %q", secs, got, want)
		}
	}
	if got := windowPretty("600"); got != "10m 0s" {
		t.Errorf("windowPretty(600) = %q", got)
	}
	if got := windowPretty(":all-time"); got != "All time" {
		t.Errorf("windowPretty(:all-time) = %q", got)
	}
}

// A heartbeat read again adds no sample, and the windows come out as if it
// had: the sample would repeat the counts of the one before.
func TestStatsRecordEachHeartbeatOnce(t *testing.T) {
	e := cluster.ExecutorInfo{Start: 1, End: 1}
	s := newStatsStore()
	at := func(sec int) time.Time { return testStart.Add(time.Duration(sec) * time.Second) }
	// Written every 3 s, read every second for a minute.
	for sec := 0; sec < 60; sec++ {
		beat := int64(sec / 3 * 3)
		hb := spoutBeat(beat, 10*beat, 5*beat, 0)
		s.record("t", map[cluster.ExecutorInfo]cluster.ExecutorHeartbeat{e: hb}, map[cluster.ExecutorInfo]int64{e: 1000 + beat*1000}, at(sec))
	}
	h := s.history("t", e)
	if len(h.samples) != 20 {
		t.Errorf("%d samples of 20 heartbeats read 60 times, want 20", len(h.samples))
	}
	// The newest heartbeat (57 s) was first read at 57 s, the one before at 54 s.
	for _, tt := range []struct {
		window  time.Duration
		emitted int64
	}{{time.Second, 0}, {2 * time.Second, 0}, {4 * time.Second, 30}, {30 * time.Second, 300}, {0, 570}} {
		if got := h.window(tt.window, at(59)); got.Emitted != tt.emitted {
			t.Errorf("window %v at 59 s: emitted %d, want %d", tt.window, got.Emitted, tt.emitted)
		}
	}
	if !h.beat.fresh(at(59), 3*time.Second) || h.beat.fresh(at(61), 3*time.Second) {
		t.Error("the heartbeat's freshness should date from its first read (57 s)")
	}
}

// An idle executor's heartbeats (new, with the same counts) add no sample,
// and its windows are what they were.
func TestStatsIdleExecutorKeepsItsHistorySmall(t *testing.T) {
	var h executorHistory
	at := func(sec int) time.Time { return testStart.Add(time.Duration(sec) * time.Second) }
	// Busy for 10 minutes (1 emitted a second), then idle for 50, a
	// heartbeat every 3 s throughout.
	for sec := 0; sec <= 3600; sec += 3 {
		n := int64(min(sec, 600))
		h.record(spoutBeat(int64(sec), n, n, 0), at(sec))
	}
	if len(h.samples) > 210 {
		t.Errorf("%d samples after 50 idle minutes, want at most the busy 10 minutes' 201", len(h.samples))
	}
	for _, tt := range []struct {
		window  time.Duration
		now     int
		emitted int64
	}{
		{10 * time.Minute, 3600, 0},
		{3 * time.Hour, 3600, 600},
		{10 * time.Minute, 900, 300}, // from 300 s: the 300 emitted up to 600 s
		{0, 3600, 600},
	} {
		if got := h.window(tt.window, at(tt.now)); got.Emitted != tt.emitted {
			t.Errorf("window %v at %d s: emitted %d, want %d", tt.window, tt.now, got.Emitted, tt.emitted)
		}
	}
}
