package topology

import (
	"fmt"
	"slices"
)

// The bound on the tuples a persistent window keeps in memory (Storm's
// withMaxEventsInMemory and WindowState's partition cache): at most
// max(maxEventsInMemory, 10000) / 1000 partitions hold their tuples; when
// one more is needed, the least recently used one (never the newest) is
// written to the state, if it changed, and its tuples are dropped. Its
// events stay in the window manager's queue with their timestamps (what the
// eviction and trigger policies read); a window that needs its tuples
// reads the partition back from the state. Storm's partitions leave the
// manager's queue altogether; here the queue keeps a small record per event.

// Storm's defaults: IStatefulWindowedBolt.maxEventsInMemory and
// WindowState.MIN_PARTITIONS.
const (
	DefaultMaxEventsInMemory = 1_000_000
	minPartitions            = 10
)

// partitionsInMemory is how many partitions keep their tuples for a bound
// of maxEvents (not positive: Storm's default).
func partitionsInMemory(maxEvents int64) int {
	if maxEvents <= 0 {
		maxEvents = DefaultMaxEventsInMemory
	}
	return int(max(maxEvents, maxPartitionEvents*minPartitions) / maxPartitionEvents)
}

// touch marks p as the most recently used partition in memory and pages
// out the least recently used ones over the bound.
func (w *partitionedWindow) touch(p *windowPartition) {
	w.resident = slices.DeleteFunc(w.resident, func(id int64) bool { return id == p.id })
	w.resident = append(w.resident, p.id)
	for w.capacity > 0 && len(w.resident) > w.capacity {
		i := slices.IndexFunc(w.resident, func(id int64) bool { return id != w.latest.id })
		if err := w.pageOut(w.parts[w.resident[i]]); err != nil {
			panic(fmt.Errorf("persistent window: %w", err))
		}
	}
}

// save writes p to the state if it changed since it was last written.
func (w *partitionedWindow) save(p *windowPartition) error {
	if !p.modified {
		return nil
	}
	if err := w.pageIn(p); err != nil {
		return err
	}
	p.events = slices.DeleteFunc(p.events, func(ev *windowEvent) bool { return ev.removed })
	raw, err := encodePartition(p)
	if err != nil {
		return fmt.Errorf("window partition %d: %w", p.id, err)
	}
	w.st.partitions.Put(partitionKey(p.id), raw)
	p.modified = false
	return nil
}

// pageOut saves p and drops its tuples from memory.
func (w *partitionedWindow) pageOut(p *windowPartition) error {
	if err := w.save(p); err != nil {
		return err
	}
	for _, ev := range p.events {
		ev.t = nil
	}
	p.paged = true
	w.resident = slices.DeleteFunc(w.resident, func(id int64) bool { return id == p.id })
	return nil
}

// pageIn reads p's tuples back from the state, if they were paged out.
func (w *partitionedWindow) pageIn(p *windowPartition) error {
	if !p.paged {
		return nil
	}
	raw, ok, err := w.st.partitions.Get(partitionKey(p.id))
	if err != nil || !ok {
		return fmt.Errorf("window partition %d: not in the state (%v)", p.id, err)
	}
	stored, err := decodePartition(p.id, raw)
	if err != nil {
		return fmt.Errorf("window partition %d: %w", p.id, err)
	}
	if len(stored) != len(p.events) {
		return fmt.Errorf("window partition %d: %d events in the state, %d in the window", p.id, len(stored), len(p.events))
	}
	for i, ev := range p.events {
		ev.t = stored[i].t
	}
	p.paged = false
	w.touch(p)
	return nil
}

// tuple returns ev's tuple, reading its partition back if it was paged
// out. A state that cannot be read stops the executor (a panic), as
// Storm's executor dies on the state's exception.
func (w *partitionedWindow) tuple(ev *windowEvent) *Tuple {
	if ev.t == nil {
		if err := w.pageIn(w.parts[ev.part]); err != nil {
			panic(fmt.Errorf("persistent window: %w", err))
		}
	}
	return ev.t
}
