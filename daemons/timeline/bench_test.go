package timeline

import (
	"runtime"
	"strings"
	"testing"
)

// BenchmarkRecord measures adding an event to a full ring, and reports the
// heap a full ring of DefaultCapacity events holds (details of 200 bytes,
// about what the daemons write).
func BenchmarkRecord(b *testing.B) {
	details := strings.Repeat("x", 200)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := New(DefaultCapacity)
	for range DefaultCapacity {
		l.Record(Event{Kind: WorkerExited, Topology: "wordcount-1-1796262557", Details: strings.Clone(details)})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	full := float64(after.HeapAlloc-before.HeapAlloc) / 1e3
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Record(Event{Kind: WorkerExited, Topology: "wordcount-1-1796262557", Details: details})
	}
	runtime.KeepAlive(l)
	b.ReportMetric(full, "KB-full-ring") // after ResetTimer, which drops metrics
}
