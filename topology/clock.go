package topology

import (
	"sync"
	"time"
)

// Clock is the time a worker's components run on: the wall clock, or a
// simulated clock that moves only when a test advances it (testkit's
// Options.SimulatedTime), as Storm's Time.startSimulating. Windowed bolts
// take their processing time, their time trigger and their watermark
// interval from their context's clock; components with timers of their own
// may do the same to become testable on simulated time.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Every calls fn every period (> 0), the first time one period from
	// now, until stop is called. Calls never overlap; stop returns once no
	// call is running and none will start, so fn must not call stop.
	Every(period time.Duration, fn func()) (stop func())
}

// WallClock is real time: time.Now, and a goroutine with a time.Ticker for
// Every (a slow fn makes it skip ticks, as a time.Ticker drops them).
var WallClock Clock = wallClock{}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Every(period time.Duration, fn func()) func() {
	tk := time.NewTicker(period)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				fn()
			case <-stop:
				return
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(stop)
		<-done
	})
}

// clockOf is the context's clock, the wall clock when it has none.
func clockOf(ctx *Context) Clock {
	if ctx == nil || ctx.Clock == nil {
		return WallClock
	}
	return ctx.Clock
}

// SimulatedClock is a Clock that moves only when told to: Advance and
// AdvanceTo run every call of Every that falls due, in time order, each
// with Now at its due time, and return once they all ran. Unlike a
// time.Ticker, it never skips a period: advancing by ten periods makes ten
// calls. It is safe for concurrent use.
type SimulatedClock struct {
	advancing sync.Mutex // one advance at a time, so calls stay in order

	mu     sync.Mutex
	now    time.Time
	seq    int // registrations so far: breaks ties between timers due at once
	timers map[*simTimer]bool
}

// simTimer is one Every registration.
type simTimer struct {
	next   time.Time // guarded by the clock's mu
	period time.Duration
	seq    int
	fn     func()

	running sync.Mutex // held while fn runs, and by stop
	stopped bool       // guarded by running
}

// NewSimulatedClock makes a simulated clock that reads start until advanced.
func NewSimulatedClock(start time.Time) *SimulatedClock {
	return &SimulatedClock{now: start, timers: map[*simTimer]bool{}}
}

// Now is the simulated time.
func (c *SimulatedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Every calls fn at now+period, now+2·period, ... as the clock reaches
// those times, from the goroutine that advances it.
func (c *SimulatedClock) Every(period time.Duration, fn func()) func() {
	if period <= 0 {
		panic("topology: SimulatedClock.Every: non-positive period")
	}
	c.mu.Lock()
	c.seq++
	tm := &simTimer{next: c.now.Add(period), period: period, seq: c.seq, fn: fn}
	c.timers[tm] = true
	c.mu.Unlock()
	return sync.OnceFunc(func() {
		c.mu.Lock()
		delete(c.timers, tm)
		c.mu.Unlock()
		tm.running.Lock()
		tm.stopped = true
		tm.running.Unlock()
	})
}

// Advance moves the clock d (≥ 0) forward; see AdvanceTo.
func (c *SimulatedClock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t, running every call that falls due up to
// and including t in time order (timers due at the same instant in the
// order they were registered), and returns once they all ran. A t before
// the clock's time leaves it unchanged.
func (c *SimulatedClock) AdvanceTo(t time.Time) {
	c.advancing.Lock()
	defer c.advancing.Unlock()
	for {
		tm := c.nextDue(t)
		if tm == nil {
			return
		}
		tm.running.Lock()
		if !tm.stopped {
			tm.fn()
		}
		tm.running.Unlock()
	}
}

// nextDue returns the earliest timer due by t with the clock set to its due
// time and the timer to its next period, or nil with the clock set to t.
func (c *SimulatedClock) nextDue(t time.Time) *simTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var due *simTimer
	for tm := range c.timers {
		if tm.next.After(t) {
			continue
		}
		if due == nil || tm.next.Before(due.next) || tm.next.Equal(due.next) && tm.seq < due.seq {
			due = tm
		}
	}
	if due == nil {
		if t.After(c.now) {
			c.now = t
		}
		return nil
	}
	c.now = due.next
	due.next = due.next.Add(due.period)
	return due
}
