// Package timer is Storm's timer (StormTimer): one goroutine running
// scheduled functions from a priority queue ordered by due time, with
// one-shot and recurring tasks, cancellation, a Waiting probe for simulated
// time, and an error handler that receives the first failing or panicking
// task, after which the timer stops, as Storm kills the owning daemon.
package timer

import (
	"container/heap"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// PanicError is a panic recovered from a task, with the goroutine's stack at
// the time of the panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error, so errors.Is/As see it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// SafeCall runs fn and turns a panic into a *PanicError. The event manager
// shares it so that both mechanisms report a failing function the same way.
func SafeCall(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// TaskError is a task's failure as handed to the error handler.
type TaskError struct {
	Timer string
	Err   error
}

func (e *TaskError) Error() string { return fmt.Sprintf("timer %s: task failed: %v", e.Timer, e.Err) }
func (e *TaskError) Unwrap() error { return e.Err }

type task struct {
	at        time.Time
	seq       uint64 // ties broken by scheduling order, as Storm's queue does
	fn        func() error
	period    time.Duration // > 0 for recurring tasks
	index     int           // position in the heap; -1 when not queued
	cancelled bool
}

type queue []*task

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *queue) Push(x any) {
	t := x.(*task)
	t.index = len(*q)
	*q = append(*q, t)
}
func (q *queue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*q = old[:len(old)-1]
	return t
}

// Timer runs scheduled tasks one at a time on its own goroutine.
type Timer struct {
	name    string
	clock   Clock
	onError func(error)

	mu       sync.Mutex
	queue    queue
	seq      uint64
	sleeping bool // the goroutine is blocked waiting for time or a wake-up
	stopped  bool // closed or failed: no more tasks run or get queued

	wake chan struct{} // a task was added or cancelled; re-examine the head
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the goroutine has stopped running tasks
	once sync.Once
}

// New starts a timer named name (used in errors) reading time from clock
// (RealClock when nil). onError receives the first task failure (a
// *TaskError wrapping the task's error or a *PanicError); the timer has
// stopped by then, so onError may call Close. A nil onError ignores errors
// but the timer still stops.
func New(name string, clock Clock, onError func(error)) *Timer {
	if clock == nil {
		clock = RealClock()
	}
	t := &Timer{
		name:    name,
		clock:   clock,
		onError: onError,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go t.loop()
	return t
}

// Schedule runs fn once after delay. The returned cancel removes it if it has
// not started; calling it more than once, or after the task ran, is harmless.
// Once the timer has stopped (Close, or a task failed) fn is dropped: the
// owning daemon is going down.
func (t *Timer) Schedule(delay time.Duration, fn func() error) (cancel func()) {
	return t.add(delay, 0, fn)
}

// ScheduleRecurring runs fn after delay and then again period after each run
// ends (Storm reschedules once the function returns, so slow runs never
// overlap or pile up). cancel stops further runs; a run in progress finishes.
// A non-positive period is treated as one millisecond rather than spinning.
func (t *Timer) ScheduleRecurring(delay, period time.Duration, fn func() error) (cancel func()) {
	if period <= 0 {
		period = time.Millisecond
	}
	return t.add(delay, period, fn)
}

func (t *Timer) add(delay, period time.Duration, fn func() error) func() {
	tk := &task{fn: fn, period: period, index: -1}
	t.mu.Lock()
	if !t.stopped {
		t.seq++
		tk.seq = t.seq
		tk.at = t.clock.Now().Add(delay)
		heap.Push(&t.queue, tk)
	}
	t.mu.Unlock()
	t.poke()
	return func() {
		t.mu.Lock()
		tk.cancelled = true
		if tk.index >= 0 {
			heap.Remove(&t.queue, tk.index)
		}
		t.mu.Unlock()
		t.poke()
	}
}

func (t *Timer) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Waiting reports whether the timer goroutine is asleep with no task due at
// the clock's current time: under a simulated clock, the point where the
// test may advance time (Storm's timer-waiting?). A stopped timer is waiting.
func (t *Timer) Waiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return true
	}
	if !t.sleeping {
		return false
	}
	return len(t.queue) == 0 || t.queue[0].at.After(t.clock.Now())
}

// Close stops the timer: queued tasks are dropped and Close waits for a task
// that is running to return. It is idempotent. It must not be called from a
// task (use the task's cancel instead); it may be called from onError.
func (t *Timer) Close() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}

func (t *Timer) loop() {
	var failure error
	defer func() {
		t.mu.Lock()
		t.stopped = true
		t.queue = nil
		t.mu.Unlock()
		// done closes before onError runs, so that an error handler which
		// shuts its daemon down (and so calls Close) does not wait on itself.
		close(t.done)
		if failure != nil && t.onError != nil {
			t.onError(failure)
		}
	}()
	for {
		select {
		case <-t.stop:
			return
		default:
		}
		t.mu.Lock()
		var due <-chan time.Time
		if len(t.queue) > 0 {
			head := t.queue[0]
			if !head.at.After(t.clock.Now()) {
				heap.Pop(&t.queue)
				t.mu.Unlock()
				if err := t.run(head); err != nil {
					failure = &TaskError{Timer: t.name, Err: err}
					return
				}
				continue
			}
			due = t.clock.Until(head.at)
		}
		t.sleeping = true
		t.mu.Unlock()

		select {
		case <-t.stop:
		case <-t.wake:
		case <-due:
		}
		t.mu.Lock()
		t.sleeping = false
		t.mu.Unlock()
	}
}

// run executes one task and, for a recurring task not cancelled meanwhile,
// queues its next run a period after this one ends.
func (t *Timer) run(tk *task) error {
	if err := SafeCall(tk.fn); err != nil {
		return err
	}
	if tk.period > 0 {
		t.mu.Lock()
		if !tk.cancelled && !t.stopped {
			tk.at = t.clock.Now().Add(tk.period)
			t.seq++
			tk.seq = t.seq
			heap.Push(&t.queue, tk)
		}
		t.mu.Unlock()
	}
	return nil
}
