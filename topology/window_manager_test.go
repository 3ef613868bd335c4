package topology

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A step of a window manager test: at clock time at, add a tuple (value v,
// event time ts), a watermark, or fire the time trigger.
type wstep struct {
	at        int64
	add       int   // tuple value (>0)
	ts        int64 // event timestamp of add
	watermark bool  // run the watermark generator
	fire      bool  // fire the processing-time trigger
}

// runWindows drives a manager with a simulated clock and returns what the
// bolt saw ("[tuples] new=[...] exp=[...] end=E start=S" per window), the
// acked values and the late ones.
func runWindows(t *testing.T, spec windowSpec, steps []wstep) (windows, acked, late []string) {
	t.Helper()
	var now int64
	var ack []int
	m := newWindowManager(spec, func() int64 { return now }, func(ts []*Tuple) {
		for _, tp := range ts {
			ack = append(ack, tp.Values[0].(int))
		}
	}, func(w *TupleWindow) {
		windows = append(windows, fmt.Sprintf("%v new=%v exp=%v end=%d start=%d", vals(w.Tuples), vals(w.New), vals(w.Expired), w.EndTs, w.StartTs))
	})
	var g *watermarkGenerator
	if spec.tsField != "" {
		g = &watermarkGenerator{m: m, lagMs: spec.lagMs, inputs: 1, streamTs: map[streamID]int64{}}
	}
	for _, s := range steps {
		now = s.at
		switch {
		case s.fire:
			m.trigger.(*timeTrigger).fire()
		case s.watermark:
			g.run()
		case g != nil:
			tp := &Tuple{Values: Values{s.add}}
			if g.track(streamID{"src", "default"}, s.ts) {
				m.add(tp, s.ts)
			} else {
				late = append(late, fmt.Sprint(s.add))
			}
		default:
			m.add(&Tuple{Values: Values{s.add}}, now)
		}
	}
	for _, v := range ack {
		acked = append(acked, fmt.Sprint(v))
	}
	return windows, acked, late
}

func vals(ts []*Tuple) []int {
	out := []int{}
	for _, t := range ts {
		out = append(out, t.Values[0].(int))
	}
	return out
}

func adds(vs ...int) []wstep {
	var out []wstep
	for _, v := range vs {
		out = append(out, wstep{at: int64(v), add: v})
	}
	return out
}

func TestWindowManager(t *testing.T) {
	tests := []struct {
		name    string
		spec    windowSpec
		steps   []wstep
		windows []string
		acked   string
		late    string
	}{
		{
			name:  "tumbling count",
			spec:  windowSpec{lengthCount: 3, slideCount: 3},
			steps: adds(1, 2, 3, 4, 5, 6, 7),
			windows: []string{
				"[1 2 3] new=[1 2 3] exp=[] end=3 start=0",
				"[4 5 6] new=[4 5 6] exp=[1 2 3] end=6 start=0",
			},
			acked: "1 2 3",
		},
		{
			name:  "sliding count",
			spec:  windowSpec{lengthCount: 3, slideCount: 2},
			steps: adds(1, 2, 3, 4, 5, 6),
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=2 start=0",
				"[2 3 4] new=[3 4] exp=[1] end=4 start=0",
				"[4 5 6] new=[5 6] exp=[2 3] end=6 start=0",
			},
			acked: "1 2 3",
		},
		{
			name: "tumbling time",
			spec: windowSpec{lengthMs: 10, slideMs: 10},
			steps: []wstep{
				{at: 1, add: 1}, {at: 5, add: 2}, {at: 10, fire: true},
				{at: 12, add: 3}, {at: 20, fire: true},
				{at: 30, fire: true}, // nothing left: no window, 3 expires
			},
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=9 start=-1",
				"[3] new=[3] exp=[1 2] end=19 start=9",
			},
			acked: "1 2 3",
		},
		{
			// As Storm's, a trigger at T closes the window at T-1: a tuple
			// that arrives at T, after the trigger, is in the next window.
			name: "tumbling time, a tuple in the trigger's millisecond",
			spec: windowSpec{lengthMs: 10, slideMs: 10},
			steps: []wstep{
				{at: 1, add: 1}, {at: 10, fire: true},
				{at: 10, add: 2}, {at: 20, fire: true},
			},
			windows: []string{
				"[1] new=[1] exp=[] end=9 start=-1",
				"[2] new=[2] exp=[1] end=19 start=9",
			},
			acked: "1",
		},
		{
			// Storm's first time-triggered window holds every queued event:
			// tuples that arrived right after the timer started are a full
			// length old when it first fires (a little late), yet in it.
			name: "tumbling time, first fire late",
			spec: windowSpec{lengthMs: 10, slideMs: 10},
			steps: []wstep{
				{at: 0, add: 1}, {at: 1, add: 2}, {at: 12, fire: true},
				{at: 15, add: 3}, {at: 20, fire: true},
			},
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=11 start=1",
				"[3] new=[3] exp=[1 2] end=19 start=9",
			},
			acked: "1 2",
		},
		{
			// After a late fire (22) the next comes on time (30): the
			// window starts at the previous reference time, so a tuple of
			// the previous window is in no other, and one after it is.
			name: "tumbling time, late then on-time fire",
			spec: windowSpec{lengthMs: 10, slideMs: 10},
			steps: []wstep{
				{at: 1, add: 1}, {at: 10, fire: true},
				{at: 21, add: 2}, {at: 22, fire: true},
				{at: 23, add: 3}, {at: 30, fire: true},
			},
			windows: []string{
				"[1] new=[1] exp=[] end=9 start=-1",
				"[2] new=[2] exp=[1] end=21 start=11",
				"[3] new=[3] exp=[2] end=29 start=19",
			},
			acked: "1 2",
		},
		{
			name: "sliding time",
			spec: windowSpec{lengthMs: 20, slideMs: 10},
			steps: []wstep{
				{at: 1, add: 1}, {at: 10, fire: true},
				{at: 15, add: 2}, {at: 20, fire: true},
				{at: 25, add: 3}, {at: 30, fire: true},
			},
			windows: []string{
				"[1] new=[1] exp=[] end=9 start=-11",
				"[1 2] new=[2] exp=[] end=19 start=-1",
				"[2 3] new=[3] exp=[1] end=29 start=9",
			},
			acked: "1",
		},
		{
			name:  "time window with count slide",
			spec:  windowSpec{lengthMs: 10, slideCount: 2},
			steps: []wstep{{at: 1, add: 1}, {at: 2, add: 2}, {at: 12, add: 3}, {at: 13, add: 4}},
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=2 start=-8",
				"[3 4] new=[3 4] exp=[1 2] end=13 start=3",
			},
			acked: "1 2",
		},
		{
			name: "event time tumbling: watermark triggers aligned windows",
			spec: windowSpec{lengthMs: 10, slideMs: 10, tsField: "ts"},
			steps: []wstep{
				{add: 1, ts: 3}, {add: 2, ts: 8}, {add: 3, ts: 14}, {add: 4, ts: 25},
				{watermark: true}, // watermark 25: windows ending 10 and 20
			},
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=10 start=0",
				"[3] new=[3] exp=[1 2] end=20 start=10",
			},
			acked: "1 2",
		},
		{
			name: "event time skips empty windows",
			spec: windowSpec{lengthMs: 10, slideMs: 10, tsField: "ts"},
			steps: []wstep{
				{add: 1, ts: 5}, {add: 2, ts: 47}, {add: 3, ts: 61}, {watermark: true},
			},
			windows: []string{
				"[1] new=[1] exp=[] end=10 start=0",
				// 1 expired in the empty window ending 20: an empty window
				// is skipped with its expired tuples, as in Storm.
				"[2] new=[2] exp=[] end=50 start=40",
			},
			acked: "1 2", // 2 expires in the empty window ending 60
		},
		{
			name: "lag holds the watermark back and tuples behind it are late",
			spec: windowSpec{lengthMs: 10, slideMs: 10, tsField: "ts", lagMs: 5},
			steps: []wstep{
				{add: 1, ts: 3}, {add: 2, ts: 12}, {watermark: true}, // watermark 7: no window yet
				{add: 3, ts: 8},                     // within the lag: in time
				{add: 4, ts: 18}, {watermark: true}, // watermark 13: window ending 10
				{add: 5, ts: 9}, // behind the watermark: late
			},
			windows: []string{
				"[1 3] new=[1 3] exp=[] end=10 start=0",
			},
			late: "5",
		},
		{
			name: "event time count window",
			spec: windowSpec{lengthCount: 2, slideCount: 2, tsField: "ts"},
			steps: []wstep{
				{add: 1, ts: 1}, {add: 2, ts: 2}, {add: 3, ts: 3}, {add: 4, ts: 4}, {add: 5, ts: 9},
				{watermark: true},
			},
			windows: []string{
				"[1 2] new=[1 2] exp=[] end=2 start=0",
				"[3 4] new=[3 4] exp=[1 2] end=4 start=0",
			},
			acked: "1 2",
		},
		{
			name: "event time count window waits for the watermark",
			spec: windowSpec{lengthCount: 2, slideCount: 1, tsField: "ts"},
			steps: []wstep{
				{add: 1, ts: 10}, {add: 2, ts: 20}, {add: 3, ts: 30},
			},
		},
		{
			name: "late tuple at the watermark is in time",
			spec: windowSpec{lengthMs: 10, slideMs: 10, tsField: "ts"},
			steps: []wstep{
				{add: 1, ts: 12}, {watermark: true}, {add: 2, ts: 12}, {add: 3, ts: 11},
			},
			late: "3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			windows, acked, late := runWindows(t, tc.spec, tc.steps)
			if !slices.Equal(windows, tc.windows) {
				t.Errorf("windows:\n got %q\nwant %q", windows, tc.windows)
			}
			if got := strings.Join(acked, " "); got != tc.acked {
				t.Errorf("acked %q, want %q", got, tc.acked)
			}
			if got := strings.Join(late, " "); got != tc.late {
				t.Errorf("late %q, want %q", got, tc.late)
			}
		})
	}
}

func TestReadWindowSpec(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]any
		want string // "" for no error, else a substring of it
	}{
		{"count", map[string]any{ConfWindowLengthCount: 3}, ""},
		{"no length", map[string]any{}, "Window length is not specified"},
		{"duration over timeout", map[string]any{ConfWindowLengthDurationMs: 20_000, ConfSlidingIntervalMs: 15_000, "topology.message.timeout.secs": 30},
			"Window duration (length + sliding interval) value 35000 is more than topology.message.timeout.secs value 30000"},
		{"duration within timeout", map[string]any{ConfWindowLengthDurationMs: 20_000, ConfSlidingIntervalMs: 10_000, "topology.message.timeout.secs": 30}, ""},
		{"timeouts off", map[string]any{ConfWindowLengthDurationMs: 60_000, "topology.message.timeout.secs": 30, "topology.enable.message.timeouts": false}, ""},
		{"count over max pending", map[string]any{ConfWindowLengthCount: 8, ConfSlidingIntervalCount: 4, "topology.max.spout.pending": 10},
			"Window count (length + sliding interval) value 12 is more than topology.max.spout.pending value 10"},
		{"late without timestamps", map[string]any{ConfWindowLengthCount: 3, ConfLateTupleStream: "late"}, "Late tuple stream can be defined only when specifying a timestamp field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readWindowSpec(tc.conf)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
