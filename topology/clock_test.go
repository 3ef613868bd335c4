package topology

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSimulatedClockFiresDueCallsInOrder(t *testing.T) {
	type timer struct {
		name   string
		period time.Duration
	}
	ms := time.Millisecond
	tests := []struct {
		name     string
		timers   []timer         // registered in this order at the start
		advances []time.Duration // each Advance's step
		want     [][]string      // the calls each Advance made: name@time since the start
	}{
		{
			name:     "nothing before its time",
			timers:   []timer{{"a", 300 * ms}},
			advances: []time.Duration{299 * ms, 0, 1 * ms, 299 * ms},
			want:     [][]string{nil, nil, {"a@300ms"}, nil},
		},
		{
			name:     "one step of many periods makes every call, none skipped",
			timers:   []timer{{"a", 100 * ms}},
			advances: []time.Duration{350 * ms, 50 * ms},
			want:     [][]string{{"a@100ms", "a@200ms", "a@300ms"}, {"a@400ms"}},
		},
		{
			name:     "two timers interleave in time order",
			timers:   []timer{{"slow", 250 * ms}, {"fast", 100 * ms}},
			advances: []time.Duration{600 * ms},
			want:     [][]string{{"fast@100ms", "fast@200ms", "slow@250ms", "fast@300ms", "fast@400ms", "slow@500ms", "fast@500ms", "fast@600ms"}},
		},
		{
			name:     "timers due at once run in registration order",
			timers:   []timer{{"b", 200 * ms}, {"a", 100 * ms}},
			advances: []time.Duration{200 * ms},
			want:     [][]string{{"a@100ms", "b@200ms", "a@200ms"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.UnixMilli(0)
			c := NewSimulatedClock(start)
			var calls []string
			for _, tm := range tt.timers {
				stop := c.Every(tm.period, func() {
					calls = append(calls, fmt.Sprintf("%s@%v", tm.name, c.Now().Sub(start)))
				})
				defer stop()
			}
			for i, d := range tt.advances {
				before := c.Now()
				c.Advance(d)
				if got := c.Now().Sub(before); got != d {
					t.Errorf("advance %d by %v moved the clock %v", i, d, got)
				}
				if !slices.Equal(calls, tt.want[i]) {
					t.Errorf("advance %d (%v): calls %v, want %v", i, d, calls, tt.want[i])
				}
				calls = nil
			}
		})
	}
}

func TestSimulatedClockStop(t *testing.T) {
	c := NewSimulatedClock(time.UnixMilli(0))
	var n int
	stop := c.Every(time.Second, func() { n++ })
	c.Advance(2 * time.Second)
	stop()
	stop() // idempotent
	c.Advance(10 * time.Second)
	if n != 2 {
		t.Errorf("%d calls, want 2 (none after stop)", n)
	}

	// stop waits for a running call, and no call starts after it returns.
	running, release := make(chan struct{}), make(chan struct{})
	calls := 0
	stop = c.Every(time.Second, func() {
		calls++
		if calls == 1 {
			close(running)
			<-release
		}
	})
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		c.Advance(5 * time.Second)
	}()
	<-running
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		stop()
	}()
	select {
	case <-stopped:
		t.Fatal("stop returned while a call was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-stopped
	<-advanced
	if calls != 1 {
		t.Errorf("%d calls, want 1: none after stop", calls)
	}
}

// A backwards AdvanceTo leaves the clock where it is.
func TestSimulatedClockNeverGoesBack(t *testing.T) {
	c := NewSimulatedClock(time.UnixMilli(1000))
	c.AdvanceTo(time.UnixMilli(500))
	if got := c.Now().UnixMilli(); got != 1000 {
		t.Errorf("now %d ms, want 1000", got)
	}
}

func TestWallClockEvery(t *testing.T) {
	fired := make(chan struct{}, 1)
	stop := WallClock.Every(time.Millisecond, func() {
		select {
		case fired <- struct{}{}:
		default:
		}
	})
	<-fired
	stop()
	stop()
	select {
	case <-fired: // at most one call was in flight when stop began
	default:
	}
	select {
	case <-fired:
		t.Error("a call after stop returned")
	case <-time.After(20 * time.Millisecond):
	}
}

// spanBolt emits each window as its start, end and values joined with commas.
type spanBolt struct{ out WindowCollector }

func (b *spanBolt) DeclareOutputFields(OutputDeclarer) {}
func (b *spanBolt) Prepare(_ *Context, out WindowCollector) error {
	b.out = out
	return nil
}
func (b *spanBolt) Execute(w *TupleWindow) {
	var vs []string
	for _, t := range w.Tuples {
		vs = append(vs, t.String(0))
	}
	b.out.Emit(Values{w.StartTs, w.EndTs, strings.Join(vs, ",")})
}
func (b *spanBolt) Cleanup() {}

// A windowed bolt takes processing time and its time trigger from its
// context's clock: on a simulated clock its windows are exact.
func TestWindowedBoltOnSimulatedClock(t *testing.T) {
	conf := map[string]any{}
	WithWindow(Duration(300*time.Millisecond), Duration(100*time.Millisecond))(conf)
	clock := NewSimulatedClock(time.UnixMilli(0))
	out := &recordingCollector{}
	bolt := WrapWindowedBolt(&spanBolt{})
	if err := bolt.Prepare(&Context{ComponentID: "w", Conf: conf, Clock: clock}, out); err != nil {
		t.Fatal(err)
	}
	defer bolt.Cleanup()
	steps := []struct {
		feed  string // the tuple executed before advancing, if any
		want  string // the window emitted by advancing 100 ms, if any
		acked string // the tuples acked by then
	}{
		{"1", "-201..99 1", ""}, // 1 arrives at 0; the trigger at 100 ends its window at 99
		{"2", "-101..199 1,2", ""},
		{"3", "-1..299 1,2,3", ""},
		{"", "99..399 2,3", "1"},
		{"", "199..499 3", "1,2"},
		{"", "", "1,2,3"}, // an empty window is not activated
	}
	for i, s := range steps {
		if s.feed != "" {
			bolt.Execute(&Tuple{Values: Values{s.feed}})
		}
		out.values = nil
		clock.Advance(100 * time.Millisecond)
		var got []string
		for _, v := range out.values {
			got = append(got, fmt.Sprintf("%d..%d %s", v...))
		}
		if strings.Join(got, "; ") != s.want {
			t.Errorf("step %d: windows %q, want %q", i, got, s.want)
		}
		var acked []string
		for _, a := range out.acked {
			acked = append(acked, a.String(0))
		}
		if strings.Join(acked, ",") != s.acked {
			t.Errorf("step %d: acked %v, want %s", i, acked, s.acked)
		}
	}
}
