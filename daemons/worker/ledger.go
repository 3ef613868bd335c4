package worker

import "time"

// rotatingMap is Storm's RotatingMap: entries live in a ring of buckets; new
// entries go into the newest bucket and rotate drops the oldest one. With n
// buckets rotated every period, an entry expires between (n-1)·period and
// n·period after it was put. Not safe for concurrent use: each map belongs to
// one executor goroutine.
type rotatingMap[K comparable, V any] struct {
	buckets []map[K]V // buckets[0] is the newest
}

func newRotatingMap[K comparable, V any](n int) *rotatingMap[K, V] {
	m := &rotatingMap[K, V]{buckets: make([]map[K]V, max(n, 2))}
	for i := range m.buckets {
		m.buckets[i] = make(map[K]V)
	}
	return m
}

func (m *rotatingMap[K, V]) get(k K) (V, bool) {
	for _, b := range m.buckets {
		if v, ok := b[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// put stores k in the newest bucket, moving it there if it was older.
func (m *rotatingMap[K, V]) put(k K, v V) {
	for _, b := range m.buckets[1:] {
		delete(b, k)
	}
	m.buckets[0][k] = v
}

// putNew stores k, known to be absent, in the newest bucket.
func (m *rotatingMap[K, V]) putNew(k K, v V) { m.buckets[0][k] = v }

func (m *rotatingMap[K, V]) remove(k K) (V, bool) {
	for _, b := range m.buckets {
		if v, ok := b[k]; ok {
			delete(b, k)
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (m *rotatingMap[K, V]) size() int {
	n := 0
	for _, b := range m.buckets {
		n += len(b)
	}
	return n
}

// rotate drops the oldest bucket and returns its entries (the expired ones).
func (m *rotatingMap[K, V]) rotate() map[K]V {
	last := len(m.buckets) - 1
	expired := m.buckets[last]
	copy(m.buckets[1:], m.buckets[:last])
	m.buckets[0] = make(map[K]V)
	return expired
}

// timeoutBuckets is the number of buckets of the acker's and the spouts'
// pending maps. Storm uses 2 (a tuple times out between 1× and 2× the message
// timeout); more buckets make the timeout closer to the configured one.
const timeoutBuckets = 4

// rotationPeriod is how often pending maps rotate for a message timeout.
func rotationPeriod(timeout time.Duration) time.Duration {
	return max(timeout/(timeoutBuckets-1), time.Millisecond)
}

// ackOutcome is what the acker tells a spout task about a tuple tree.
type ackOutcome int

const (
	outcomePending ackOutcome = iota
	outcomeAcked
	outcomeFailed
)

// ackerEntry is the acker's record of one tuple tree (Storm's AckObject).
type ackerEntry struct {
	val       uint64 // XOR of every edge id seen; 0 when the tree is complete
	spoutTask int    // -1 until __ack_init arrived
	failed    bool
	start     time.Time
}

// ackerLedger is the acker's XOR ledger: root id → entry. __ack_init may
// arrive after __ack_ack or __ack_fail of the same root (they come from
// different executors, possibly different workers), so any message creates
// the entry; the outcome is only decided once the spout task is known.
type ackerLedger struct {
	pending *rotatingMap[uint64, *ackerEntry]
	now     func() time.Time
}

func newAckerLedger(now func() time.Time) *ackerLedger {
	return &ackerLedger{pending: newRotatingMap[uint64, *ackerEntry](timeoutBuckets), now: now}
}

func (l *ackerLedger) entry(root uint64) *ackerEntry {
	e, ok := l.pending.get(root)
	if !ok {
		e = &ackerEntry{spoutTask: -1, start: l.now()}
		l.pending.putNew(root, e)
	}
	return e
}

// init records __ack_init [root, xor of the spout tuple's edge ids, spout task].
func (l *ackerLedger) init(root, xor uint64, spoutTask int) (ackOutcome, int, time.Duration) {
	e := l.entry(root)
	e.val ^= xor
	e.spoutTask = spoutTask
	return l.decide(root, e)
}

// ack records __ack_ack [root, xor of the acked tuple's edge and its children's edges].
func (l *ackerLedger) ack(root, xor uint64) (ackOutcome, int, time.Duration) {
	e := l.entry(root)
	e.val ^= xor
	return l.decide(root, e)
}

// fail records __ack_fail [root].
func (l *ackerLedger) fail(root uint64) (ackOutcome, int, time.Duration) {
	e := l.entry(root)
	e.failed = true
	return l.decide(root, e)
}

// resetTimeout records __ack_reset_timeout [root]: the tree's entry moves
// to the newest bucket (Storm's Acker puts it again), so it times out a
// whole message timeout from now; the spout task is returned (-1 when
// unknown yet) so that the spout resets its own pending entry.
func (l *ackerLedger) resetTimeout(root uint64) int {
	e := l.entry(root)
	l.pending.put(root, e)
	return e.spoutTask
}

// decide completes the tree when its spout task is known and it either
// failed or its XOR is 0; it returns the outcome, the spout task and the
// time since the acker first heard of the root.
func (l *ackerLedger) decide(root uint64, e *ackerEntry) (ackOutcome, int, time.Duration) {
	if e.spoutTask < 0 {
		return outcomePending, -1, 0
	}
	switch {
	case e.failed:
		l.pending.remove(root)
		return outcomeFailed, e.spoutTask, l.now().Sub(e.start)
	case e.val == 0:
		l.pending.remove(root)
		return outcomeAcked, e.spoutTask, l.now().Sub(e.start)
	}
	return outcomePending, e.spoutTask, 0
}

// spoutPending is a spout tuple whose tree is being tracked.
type spoutPending struct {
	msgID  any
	stream string
	start  time.Time
	task   *task
}
