package testutil

import (
	"fmt"
	"testing"
	"time"
)

// A Condition is what Eventually polls. It returns whether the awaited state
// is reached and, in its longer forms, either what it saw instead (shown if the
// wait times out) or an error that ends the wait and fails the test at once.
type Condition interface {
	func() bool | func() (bool, string) | func() (bool, error)
}

// Eventually calls cond until it reports true and fails the test (t.Fatalf, so
// from the test's goroutine only) if timeout passes first, naming what was
// awaited and what cond last saw. Between calls it sleeps 1 ms, doubling up to
// timeout/500 within [5 ms, 50 ms]: a quick state is seen at once, and a
// condition that is slow to check (one that runs a command) is not run
// hundreds of times a second through a long wait.
func Eventually[C Condition](t testing.TB, timeout time.Duration, what string, cond C) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause, maxPause := time.Millisecond, min(max(timeout/500, 5*time.Millisecond), 50*time.Millisecond)
	for {
		done, last, err := check(cond)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			if last != "" {
				t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
			}
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
}

func check[C Condition](cond C) (done bool, last string, err error) {
	switch c := any(cond).(type) {
	case func() bool:
		return c(), "", nil
	case func() (bool, string):
		done, last = c()
		return done, last, nil
	case func() (bool, error):
		done, err = c()
		return done, "", err
	}
	panic(fmt.Sprintf("testutil: condition of type %T", cond)) // unreachable: Condition lists the types
}
