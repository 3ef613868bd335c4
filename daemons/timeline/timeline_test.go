package timeline

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestRingKeepsTheNewest(t *testing.T) {
	l := New(5)
	for i := range 23 {
		l.Record(Event{Kind: WorkerExited, Details: fmt.Sprint(i)})
	}
	got, last := l.Since(0, Filter{})
	if len(got) != 5 || l.Len() != 5 || last != 23 {
		t.Fatalf("kept %d (Len %d), last %d; want 5 and 23", len(got), l.Len(), last)
	}
	for i, e := range got {
		if want := uint64(19 + i); e.Seq != want || e.Details != fmt.Sprint(want-1) || e.Time.IsZero() {
			t.Fatalf("event %d: %+v, want seq %d", i, e, want)
		}
	}
	more, _ := l.Since(21, Filter{})
	if len(more) != 2 || more[0].Seq != 22 {
		t.Fatalf("since 21: %+v", more)
	}
}

// TestBoundedMemory: however many and however long the events, the ring
// holds its capacity of events of bounded size.
func TestBoundedMemory(t *testing.T) {
	l := New(100)
	long := strings.Repeat("é", 10*MaxDetails)
	for range 10_000 {
		l.Record(Event{Kind: FaultInjected, Details: long, Cause: long})
	}
	got, _ := l.Since(0, Filter{})
	if len(got) != 100 || cap(l.ring) != 100 {
		t.Fatalf("holds %d events in a ring of %d", len(got), cap(l.ring))
	}
	for _, e := range got {
		if len(e.Details) > MaxDetails || len(e.Cause) > MaxDetails || !utf8.ValidString(e.Details) {
			t.Fatalf("details of %d bytes (valid UTF-8: %v)", len(e.Details), utf8.ValidString(e.Details))
		}
	}
}

func TestFilterByTopologyNameOrID(t *testing.T) {
	l := New(0)
	l.Record(Event{Kind: TopologySubmitted, Topology: "wc-1-1700000000"})
	l.Record(Event{Kind: TopologySubmitted, Topology: "wc-two-2-1700000000"})
	l.Record(Event{Kind: SupervisorLost, Supervisor: "s1"})
	for _, tc := range []struct {
		f    string
		want int
	}{{"", 3}, {"wc", 1}, {"wc-1-1700000000", 1}, {"wc-two", 1}, {"nope", 0}} {
		got, _ := l.Since(0, Filter{Topology: tc.f})
		if len(got) != tc.want {
			t.Errorf("filter %q: %d events, want %d", tc.f, len(got), tc.want)
		}
	}
	if TopologyName("odd") != "odd" || TopologyName("a-b-1-2") != "a-b" {
		t.Errorf("TopologyName: %q %q", TopologyName("odd"), TopologyName("a-b-1-2"))
	}
}

func TestChangedWakesReaders(t *testing.T) {
	l := New(10)
	ch := l.Changed()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ch
	}()
	select {
	case <-ch:
		t.Fatal("woken before any event")
	default:
	}
	l.Record(Event{Kind: NimbusStarted})
	wg.Wait()
	if l.Changed() == ch {
		t.Fatal("the next wait would not block")
	}
}

func TestCrashLoopsOpenAndClose(t *testing.T) {
	l := New(3) // the open loops outlive the ring's events
	open := func(topo, sup string, port int) {
		l.Record(Event{Kind: WorkerCrashLooping, Topology: topo, Supervisor: sup, Port: port})
	}
	open("a-1-1", "s1", 6700)
	open("a-1-1", "s2", 6701)
	open("b-2-1", "s1", 6702)
	for range 5 {
		l.Record(Event{Kind: WorkerExited})
	}
	if n := len(l.CrashLoops("a-1-1")); n != 2 {
		t.Fatalf("a: %d loops, want 2", n)
	}
	l.Record(Event{Kind: WorkerRecovered, Topology: "a-1-1", Supervisor: "s2", Port: 6701})
	l.Record(Event{Kind: SupervisorLost, Supervisor: "s1"})
	if n := len(l.CrashLoops("")); n != 0 {
		t.Fatalf("%d loops left: %+v", n, l.CrashLoops(""))
	}
	open("b-2-1", "s3", 6703)
	l.Record(Event{Kind: TopologyRemoved, Topology: "b-2-1"})
	if n := len(l.CrashLoops("")); n != 0 {
		t.Fatalf("a removed topology keeps %d loops", n)
	}
}

func TestNilLogRecordsNothing(t *testing.T) {
	var l *Log
	l.Record(Event{Kind: NimbusStarted})
	if got, _ := l.Since(0, Filter{}); got != nil || l.Len() != 0 || l.CrashLoops("") != nil || l.Changed() != nil {
		t.Fatal("a nil log answered")
	}
}
