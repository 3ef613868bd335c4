// Package timertest helps tests of code driven by timers and event managers:
// bounded polling instead of sleeps, and Storm-style simulated time where the
// clock moves only once every timer and event manager is idle (Storm's
// advance-cluster-time).
package timertest

import (
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// DefaultTimeout bounds every wait of this package.
const DefaultTimeout = 10 * time.Second

// Waiter is anything that can say it is idle: *timer.Timer and
// *event.Manager.
type Waiter interface{ Waiting() bool }

// Advancer is a simulated clock: *timer.SimClock.
type Advancer interface{ Advance(d time.Duration) }

// WaitFor polls cond until it holds, failing the test with what when
// DefaultTimeout passes first.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, DefaultTimeout, what, cond)
}

// WaitIdle waits until every waiter reports Waiting.
func WaitIdle(t testing.TB, ws ...Waiter) {
	t.Helper()
	WaitFor(t, "timers and event managers to go idle", func() bool {
		for _, w := range ws {
			if !w.Waiting() {
				return false
			}
		}
		return true
	})
}

// Advance moves the simulated clock by d and waits until every waiter has
// run what became due and is idle again.
func Advance(t testing.TB, clock Advancer, d time.Duration, ws ...Waiter) {
	t.Helper()
	clock.Advance(d)
	WaitIdle(t, ws...)
}
