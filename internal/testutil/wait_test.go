package testutil

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeT records what a helper reports; Fatalf ends the goroutine it runs in,
// as testing's does.
type fakeT struct {
	testing.TB
	fatal    string
	logs     []string
	cleanups []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeT) Log(args ...any) { f.logs = append(f.logs, fmt.Sprint(args...)) }

func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// run calls fn with a fakeT in a goroutine of its own, so that Fatalf can end it.
func run(fn func(t *fakeT)) *fakeT {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestEventually(t *testing.T) {
	calls := 0
	Eventually(t, time.Second, "third call", func() bool {
		calls++
		return calls == 3
	})
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
	for _, tc := range []struct {
		name string
		wait func(t *fakeT)
		want string
	}{
		{"bool", func(t *fakeT) {
			Eventually(t, 20*time.Millisecond, "never", func() bool { return false })
		}, "never: not within 20ms"},
		{"with what it saw", func(t *fakeT) {
			Eventually(t, 20*time.Millisecond, "never", func() (bool, string) { return false, "state 7" })
		}, "never: not within 20ms (last: state 7)"},
		{"an error ends the wait", func(t *fakeT) {
			Eventually(t, time.Hour, "never", func() (bool, error) { return false, errors.New("broken") })
		}, "never: broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f := run(tc.wait); f.fatal != tc.want {
				t.Errorf("failed with %q, want %q", f.fatal, tc.want)
			}
		})
	}
}

func TestLoggerStopsAtTheEndOfTheTest(t *testing.T) {
	f := &fakeT{}
	log := Logger(f, slog.LevelInfo)
	log.Debug("hidden")
	log.Info("shown", "k", 1)
	for _, fn := range f.cleanups {
		fn()
	}
	log.Info("after the test")
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "msg=shown k=1") || strings.HasSuffix(f.logs[0], "\n") {
		t.Fatalf("logged %q, want one line with msg=shown k=1", f.logs)
	}
}
