package event

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/timer"
	"github.com/localstorm/localstorm/daemons/timer/timertest"
)

type log struct {
	mu  sync.Mutex
	got []int
}

func (l *log) add(i int) func() error {
	return func() error { l.mu.Lock(); l.got = append(l.got, i); l.mu.Unlock(); return nil }
}

func (l *log) snapshot() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.got...)
}

func TestRunsEventsInOrder(t *testing.T) {
	m := New("order", nil)
	defer m.Close()
	var l log
	const n = 200
	for i := range n {
		m.Add(l.add(i))
	}
	timertest.WaitIdle(t, m)
	got := l.snapshot()
	if len(got) != n {
		t.Fatalf("ran %d events, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d ran in position %d", v, i)
		}
	}
}

func TestWaitingIsFalseWhileAnEventRuns(t *testing.T) {
	m := New("busy", nil)
	defer m.Close()
	if !m.Waiting() {
		t.Fatal("a new manager is not waiting")
	}
	started, release := make(chan struct{}), make(chan struct{})
	m.Add(func() error { close(started); <-release; return nil })
	<-started
	if m.Waiting() {
		t.Fatal("Waiting() = true while an event runs")
	}
	close(release)
	timertest.WaitIdle(t, m)
}

func TestFailingEventStopsManager(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		fn   func() error
		is   func(error) bool
	}{
		{"error", func() error { return boom }, func(err error) bool { return errors.Is(err, boom) }},
		{"panic", func() error { panic("kaput") }, func(err error) bool {
			var pe *timer.PanicError
			return errors.As(err, &pe) && pe.Value == "kaput"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errc := make(chan error, 2)
			m := New("failing", func(err error) { errc <- err })
			defer m.Close()
			var l log
			gate := make(chan struct{})
			m.Add(func() error { <-gate; return nil }) // hold the queue so the next two are queued together
			m.Add(tc.fn)
			m.Add(l.add(1))
			close(gate)
			var err error
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				t.Fatal("error handler not called")
			}
			var ee *EventError
			if !errors.As(err, &ee) || ee.Manager != "failing" || !tc.is(err) {
				t.Fatalf("got error %v, want an EventError of %q wrapping the failure", err, "failing")
			}
			m.Add(l.add(2))
			timertest.WaitIdle(t, m)
			if got := l.snapshot(); len(got) != 0 {
				t.Fatalf("events ran after the failure: %v", got)
			}
			if len(errc) != 0 {
				t.Fatal("error handler called more than once")
			}
		})
	}
}

func TestCloseFinishesRunningEventAndDropsQueued(t *testing.T) {
	m := New("closing", nil)
	var l log
	started, release := make(chan struct{}), make(chan struct{})
	m.Add(func() error { close(started); <-release; return nil })
	m.Add(l.add(1))
	m.Add(l.add(2))
	<-started
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned before the running event finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	m.Add(l.add(3)) // dropped
	m.Close()       // idempotent
	if got := l.snapshot(); len(got) != 0 {
		t.Fatalf("queued or late events ran: %v", got)
	}
}

func TestErrorHandlerMayClose(t *testing.T) {
	var m *Manager
	done := make(chan struct{})
	m = New("self-closing", func(error) { m.Close(); close(done) })
	m.Add(func() error { return errors.New("fatal") })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from the error handler deadlocked")
	}
}

func TestConcurrentAdders(t *testing.T) {
	m := New("concurrent", nil)
	defer m.Close()
	var mu sync.Mutex
	count := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.Add(func() error { mu.Lock(); count++; mu.Unlock(); return nil })
			}
		})
	}
	wg.Wait()
	timertest.WaitIdle(t, m)
	mu.Lock()
	defer mu.Unlock()
	if count != 800 {
		t.Fatalf("ran %d events, want 800", count)
	}
}

func BenchmarkAddRun(b *testing.B) {
	m := New("bench", nil)
	defer m.Close()
	done := make(chan struct{})
	for i := range b.N {
		last := i == b.N-1
		m.Add(func() error {
			if last {
				close(done)
			}
			return nil
		})
	}
	<-done
}
