package timer

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/timer/timertest"
)

// recorder collects task names in run order.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) task(name string) func() error {
	return func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ran = append(r.ran, name)
		return nil
	}
}

func (r *recorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.ran, ",")
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newSim(t *testing.T) (*Timer, *SimClock, *[]error, *sync.Mutex) {
	t.Helper()
	clock := NewSimClock(epoch)
	var mu sync.Mutex
	var errs []error
	tm := New("test", clock, func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	t.Cleanup(tm.Close)
	return tm, clock, &errs, &mu
}

// advance moves the simulated clock and waits until the timer has run all
// that is due and gone back to sleep.
func advance(t *testing.T, tm *Timer, c *SimClock, d time.Duration) {
	t.Helper()
	timertest.Advance(t, c, d, tm)
}

func TestScheduleRunsInDueOrderThenSchedulingOrder(t *testing.T) {
	tm, clock, errs, _ := newSim(t)
	var r recorder
	tm.Schedule(3*time.Second, r.task("c"))
	tm.Schedule(1*time.Second, r.task("a1"))
	tm.Schedule(2*time.Second, r.task("b"))
	tm.Schedule(1*time.Second, r.task("a2")) // same time as a1: runs after it

	steps := []struct {
		by   time.Duration
		want string
	}{
		{999 * time.Millisecond, ""},
		{time.Millisecond, "a1,a2"},
		{500 * time.Millisecond, "a1,a2"},
		{time.Second, "a1,a2,b"},
		{time.Hour, "a1,a2,b,c"},
	}
	timertest.WaitIdle(t, tm)
	for i, s := range steps {
		advance(t, tm, clock, s.by)
		if got := r.get(); got != s.want {
			t.Fatalf("step %d (advance %v): ran %q, want %q", i, s.by, got, s.want)
		}
	}
	if len(*errs) != 0 {
		t.Fatalf("unexpected errors: %v", *errs)
	}
}

func TestRecurringReschedulesAfterEachRunUntilCancelled(t *testing.T) {
	tm, clock, _, _ := newSim(t)
	var r recorder
	cancel := tm.ScheduleRecurring(time.Second, 2*time.Second, r.task("x"))
	timertest.WaitIdle(t, tm)
	steps := []struct {
		by   time.Duration
		want string
	}{
		{time.Second, "x"},         // t=1: first run
		{time.Second, "x"},         // t=2: not due (next at 3)
		{time.Second, "x,x"},       // t=3
		{2 * time.Second, "x,x,x"}, // t=5
	}
	for i, s := range steps {
		advance(t, tm, clock, s.by)
		if got := r.get(); got != s.want {
			t.Fatalf("step %d: ran %q, want %q", i, got, s.want)
		}
	}
	cancel()
	cancel() // idempotent
	advance(t, tm, clock, time.Hour)
	if got := r.get(); got != "x,x,x" {
		t.Fatalf("after cancel: ran %q, want no more runs", got)
	}
}

func TestRecurringTaskCancellingItselfStops(t *testing.T) {
	tm, clock, _, _ := newSim(t)
	var runs int
	var cancel func()
	var mu sync.Mutex
	mu.Lock()
	cancel = tm.ScheduleRecurring(0, time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		runs++
		if runs == 2 {
			cancel()
		}
		return nil
	})
	mu.Unlock()
	for range 5 {
		advance(t, tm, clock, time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs != 2 {
		t.Fatalf("runs = %d, want 2 (cancelled from inside its second run)", runs)
	}
}

func TestCancelBeforeDue(t *testing.T) {
	tm, clock, _, _ := newSim(t)
	var r recorder
	cancel := tm.Schedule(time.Second, r.task("gone"))
	tm.Schedule(2*time.Second, r.task("kept"))
	cancel()
	advance(t, tm, clock, time.Minute)
	if got := r.get(); got != "kept" {
		t.Fatalf("ran %q, want only kept", got)
	}
}

func TestWaitingIsFalseWhileATaskIsDue(t *testing.T) {
	tm, clock, _, _ := newSim(t)
	release := make(chan struct{})
	started := make(chan struct{})
	tm.Schedule(time.Second, func() error { close(started); <-release; return nil })
	timertest.WaitIdle(t, tm)
	clock.Advance(time.Second)
	<-started
	if tm.Waiting() {
		t.Fatal("Waiting() = true while a task runs")
	}
	close(release)
	timertest.WaitIdle(t, tm)
}

func TestFailingTaskStopsTimerAndReportsError(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name  string
		fn    func() error
		check func(t *testing.T, err error)
	}{
		{"error", func() error { return boom }, func(t *testing.T, err error) {
			if !errors.Is(err, boom) {
				t.Fatalf("error %v does not wrap the task's error", err)
			}
		}},
		{"panic", func() error { panic("kaput") }, func(t *testing.T, err error) {
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value != "kaput" {
				t.Fatalf("error %v is not a PanicError carrying the panic value", err)
			}
			if !strings.Contains(string(pe.Stack), "timer_test.go") {
				t.Fatalf("panic stack does not show the panicking task:\n%s", pe.Stack)
			}
		}},
		{"panic with error", func() error { panic(boom) }, func(t *testing.T, err error) {
			if !errors.Is(err, boom) {
				t.Fatalf("error %v does not unwrap to the panic's error", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm, clock, errs, mu := newSim(t)
			var r recorder
			tm.Schedule(time.Second, tc.fn)
			tm.Schedule(2*time.Second, r.task("after"))
			advance(t, tm, clock, time.Hour)
			timertest.WaitFor(t, "error handler", func() bool { mu.Lock(); defer mu.Unlock(); return len(*errs) == 1 })
			mu.Lock()
			err := (*errs)[0]
			mu.Unlock()
			var te *TaskError
			if !errors.As(err, &te) || te.Timer != "test" {
				t.Fatalf("error %v is not a TaskError naming the timer", err)
			}
			tc.check(t, err)
			tm.Schedule(0, r.task("late"))
			advance(t, tm, clock, time.Hour)
			if got := r.get(); got != "" {
				t.Fatalf("tasks ran after the failure: %q", got)
			}
		})
	}
}

func TestCloseWaitsForRunningTaskAndDropsQueued(t *testing.T) {
	tm := New("real", RealClock(), nil)
	var r recorder
	release := make(chan struct{})
	started := make(chan struct{})
	tm.Schedule(0, func() error { close(started); <-release; return nil })
	tm.Schedule(0, r.task("queued"))
	<-started
	closed := make(chan struct{})
	go func() { tm.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a task was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the task finished")
	}
	if got := r.get(); got != "" {
		t.Fatalf("queued task ran after Close: %q", got)
	}
	tm.Close() // idempotent
	tm.Schedule(0, r.task("after close"))
	if !tm.Waiting() {
		t.Fatal("a closed timer should report Waiting")
	}
}

func TestErrorHandlerMayCloseTheTimer(t *testing.T) {
	var tm *Timer
	handled := make(chan struct{})
	tm = New("self-closing", RealClock(), func(error) { tm.Close(); close(handled) })
	tm.Schedule(0, func() error { return errors.New("fatal") })
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("error handler calling Close deadlocked")
	}
}

func TestRealClockRunsDueTasks(t *testing.T) {
	tm := New("real", nil, nil)
	defer tm.Close()
	done := make(chan time.Time, 1)
	start := time.Now()
	tm.Schedule(20*time.Millisecond, func() error { done <- time.Now(); return nil })
	select {
	case at := <-done:
		if at.Sub(start) < 20*time.Millisecond {
			t.Fatalf("task ran after %v, before its 20ms delay", at.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("task never ran")
	}
}

func TestSimClock(t *testing.T) {
	c := NewSimClock(epoch)
	early, late := c.After(time.Second), c.Until(epoch.Add(2*time.Second))
	now := c.After(0)
	select {
	case <-now:
	default:
		t.Fatal("After(0) did not fire at once")
	}
	c.Advance(time.Second)
	select {
	case got := <-early:
		if !got.Equal(epoch.Add(time.Second)) {
			t.Fatalf("fired with %v", got)
		}
	default:
		t.Fatal("After(1s) did not fire after Advance(1s)")
	}
	select {
	case <-late:
		t.Fatal("Until(+2s) fired at +1s")
	default:
	}
	c.Advance(-time.Hour) // ignored: time never goes back
	if !c.Now().Equal(epoch.Add(time.Second)) {
		t.Fatalf("Now() = %v after a negative Advance", c.Now())
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending() = %d, want 1", c.Pending())
	}
}
