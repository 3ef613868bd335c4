package worker

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// DefaultGCPercent is the GC target of a busy worker process unless GOGC is
// set: tuples are short-lived garbage and the live heap of a worker is
// small (bounded queues), so collecting less often costs little memory and
// saves about a third of the CPU of a busy worker (docs/benchmarks.md,
// "Worker runtime").
const DefaultGCPercent = 400

// IdleGCPercent is the GC target of an idle worker. An idle worker's
// allocations are its heartbeats (kilobytes a second) and its live heap a
// megabyte or two, so a tight target costs a collection of that heap every
// half minute or so (under a millisecond) and keeps its memory at its live
// heap. At 400 the runtime's smallest heap goal is 16 MB (4 MB × GOGC/100),
// which those heartbeats fill over minutes and the scavenger never gives
// back; at 25 it is 1 MB.
const IdleGCPercent = 25

// The tuner's thresholds: a worker allocating busyAllocsPerSec or more is
// busy; one below it for idleAfter in a row is idle.
const (
	busyAllocsPerSec = 1 << 20
	idleAfter        = 10 * time.Second
)

// tuneGC is set by TuneGC: the worker's loop then runs a gcTuner.
var tuneGC atomic.Bool

// TuneGC makes the worker switch its GC target with its load, between
// DefaultGCPercent while busy and IdleGCPercent while idle, unless the GOGC
// environment variable is set; a worker process's main calls it before Run.
// Run in a process that did not call it leaves the GC alone.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		tuneGC.Store(true)
		debug.SetGCPercent(IdleGCPercent)
	}
}

// gcTuner follows the process's allocation rate (the worker's heartbeat
// loop calls tick every second or so): GC work is
// proportional to allocations, so the rate is what tells whether the
// larger target pays. Going idle also returns the memory the busy heap
// left behind to the OS, once.
type gcTuner struct {
	allocs  func() uint64 // bytes allocated since the process started
	setGC   func(percent int)
	release func() // debug.FreeOSMemory

	last   uint64
	lastAt time.Time
	busy   bool
	quiet  time.Duration // below the busy rate for so long
}

func newGCTuner() *gcTuner {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	t := &gcTuner{
		allocs: func() uint64 {
			metrics.Read(sample)
			return sample[0].Value.Uint64()
		},
		setGC:   func(p int) { debug.SetGCPercent(p) },
		release: debug.FreeOSMemory,
	}
	t.last, t.lastAt = t.allocs(), time.Now()
	return t
}

// tick takes the allocations since the last tick.
func (t *gcTuner) tick(at time.Time) {
	now := t.allocs()
	bytes, elapsed := now-t.last, at.Sub(t.lastAt)
	t.last, t.lastAt = now, at
	switch {
	case elapsed > 0 && float64(bytes)/elapsed.Seconds() >= busyAllocsPerSec:
		t.quiet = 0
		if !t.busy {
			t.busy = true
			t.setGC(DefaultGCPercent)
		}
	case t.busy:
		t.quiet += elapsed
		if t.quiet >= idleAfter {
			t.busy, t.quiet = false, 0
			t.setGC(IdleGCPercent)
			t.release()
		}
	}
}
