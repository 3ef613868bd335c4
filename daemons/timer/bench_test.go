package timer

import (
	"testing"
	"time"
)

// BenchmarkScheduleRun measures scheduling a due task and the timer
// goroutine picking it up and running it (the cost of one heartbeat tick).
func BenchmarkScheduleRun(b *testing.B) {
	tm := New("bench", RealClock(), nil)
	defer tm.Close()
	ran := make(chan struct{})
	for b.Loop() {
		tm.Schedule(0, func() error { ran <- struct{}{}; return nil })
		<-ran
	}
}

// BenchmarkScheduleCancel measures queue maintenance with many pending
// tasks: schedule one far in the future and cancel it.
func BenchmarkScheduleCancel(b *testing.B) {
	tm := New("bench", RealClock(), nil)
	defer tm.Close()
	for range 1000 {
		tm.Schedule(time.Hour, func() error { return nil })
	}
	for b.Loop() {
		cancel := tm.Schedule(time.Minute, func() error { return nil })
		cancel()
	}
}
