package timer

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source of a Timer. RealClock is the wall clock; a
// SimClock only moves when told to, which lets tests drive Storm's timers
// deterministically (Storm's Time.startSimulating / advanceTime).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has elapsed.
	After(d time.Duration) <-chan time.Time
	// Until returns a channel that receives the time once the clock reaches
	// deadline. The timer sleeps with it: an absolute deadline cannot drift
	// when a simulated clock moves between reading Now and going to sleep.
	Until(deadline time.Time) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) Until(deadline time.Time) <-chan time.Time {
	return time.After(time.Until(deadline))
}

// RealClock returns the wall clock.
func RealClock() Clock { return realClock{} }

// SimClock is a simulated clock: Now stays put until Advance moves it, and
// channels from After fire only when Advance passes their deadline.
// It is safe for concurrent use.
type SimClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []simWaiter
}

type simWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewSimClock returns a simulated clock that reads start until advanced.
func NewSimClock(start time.Time) *SimClock { return &SimClock{now: start} }

// Now returns the simulated time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that fires once the simulated time reaches now+d;
// a non-positive d fires at once.
func (c *SimClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.until(c.now.Add(d))
}

// Until returns a channel that fires once the simulated time reaches
// deadline; a deadline not after now fires at once.
func (c *SimClock) Until(deadline time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.until(deadline)
}

func (c *SimClock) until(at time.Time) <-chan time.Time {
	// Buffered so that firing never blocks Advance, even if nobody listens
	// any more (a timer woken by another channel abandons its wait).
	ch := make(chan time.Time, 1)
	if !at.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, simWaiter{at: at, ch: ch})
	return ch
}

// Advance moves the simulated time forward by d (a negative d is ignored:
// time never goes back) and fires every After channel now due.
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	sort.SliceStable(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	fired := 0
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			break
		}
		w.ch <- c.now
		fired++
	}
	c.waiters = append(c.waiters[:0], c.waiters[fired:]...)
}

// Pending returns how many After channels are still waiting for their
// deadline; tests use it to know that a timer has gone to sleep.
func (c *SimClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
