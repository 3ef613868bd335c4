package worker

import (
	"testing"
	"time"
)

func TestAckerLedger(t *testing.T) {
	type step struct {
		op        string // init, ack, fail, rotate
		root, xor uint64
		spout     int
		want      ackOutcome
		wantTask  int
	}
	const a, b, c = 0xa1, 0xb2, 0xc3 // edge ids
	cases := []struct {
		name  string
		steps []step
	}{
		{"spout tuple to one bolt, acked", []step{
			{op: "init", root: 1, xor: a, spout: 7, want: outcomePending, wantTask: 7},
			{op: "ack", root: 1, xor: a, want: outcomeAcked, wantTask: 7},
		}},
		{"tree with children: ack of parent brings child edges", []step{
			{op: "init", root: 1, xor: a, spout: 7, want: outcomePending, wantTask: 7},
			{op: "ack", root: 1, xor: a ^ b ^ c, want: outcomePending, wantTask: 7},
			{op: "ack", root: 1, xor: b, want: outcomePending, wantTask: 7},
			{op: "ack", root: 1, xor: c, want: outcomeAcked, wantTask: 7},
		}},
		{"ack before init (different workers)", []step{
			{op: "ack", root: 2, xor: a ^ b, want: outcomePending, wantTask: -1},
			{op: "ack", root: 2, xor: b, want: outcomePending, wantTask: -1},
			{op: "init", root: 2, xor: a, spout: 3, want: outcomeAcked, wantTask: 3},
		}},
		{"fail before init waits for the spout task", []step{
			{op: "fail", root: 3, want: outcomePending, wantTask: -1},
			{op: "init", root: 3, xor: a, spout: 4, want: outcomeFailed, wantTask: 4},
		}},
		{"fail after init", []step{
			{op: "init", root: 4, xor: a ^ b, spout: 4, want: outcomePending, wantTask: 4},
			{op: "ack", root: 4, xor: a, want: outcomePending, wantTask: 4},
			{op: "fail", root: 4, want: outcomeFailed, wantTask: 4},
		}},
		{"a completed root is forgotten", []step{
			{op: "init", root: 5, xor: a, spout: 1, want: outcomePending, wantTask: 1},
			{op: "ack", root: 5, xor: a, want: outcomeAcked, wantTask: 1},
			{op: "ack", root: 5, xor: a, want: outcomePending, wantTask: -1},
		}},
		{"expired roots are dropped silently", []step{
			{op: "init", root: 6, xor: a, spout: 1, want: outcomePending, wantTask: 1},
			{op: "rotate"}, {op: "rotate"}, {op: "rotate"}, {op: "rotate"},
			{op: "ack", root: 6, xor: a, want: outcomePending, wantTask: -1},
		}},
		{"a root survives fewer rotations than buckets", []step{
			{op: "init", root: 6, xor: a, spout: 1, want: outcomePending, wantTask: 1},
			{op: "rotate"}, {op: "rotate"}, {op: "rotate"},
			{op: "ack", root: 6, xor: a, want: outcomeAcked, wantTask: 1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newAckerLedger(time.Now)
			for i, s := range tc.steps {
				var got ackOutcome
				var task int
				switch s.op {
				case "init":
					got, task, _ = l.init(s.root, s.xor, s.spout)
				case "ack":
					got, task, _ = l.ack(s.root, s.xor)
				case "fail":
					got, task, _ = l.fail(s.root)
				case "rotate":
					l.pending.rotate()
					continue
				}
				if got != s.want || task != s.wantTask {
					t.Fatalf("step %d (%s root %d): outcome %d task %d, want %d task %d", i, s.op, s.root, got, task, s.want, s.wantTask)
				}
			}
		})
	}
}

func TestAckerLedgerCompleteLatency(t *testing.T) {
	now := time.Unix(100, 0)
	l := newAckerLedger(func() time.Time { return now })
	l.init(1, 5, 2)
	now = now.Add(30 * time.Millisecond)
	if _, _, lat := l.ack(1, 5); lat != 30*time.Millisecond {
		t.Fatalf("latency %v, want 30ms", lat)
	}
}

func TestRotatingMap(t *testing.T) {
	m := newRotatingMap[int, string](3)
	m.put(1, "a")
	m.rotate()
	m.put(2, "b")
	if got := m.size(); got != 2 {
		t.Fatalf("size %d, want 2", got)
	}
	// Re-putting moves an entry to the newest bucket.
	m.put(1, "a2")
	m.rotate()
	m.rotate()
	if _, ok := m.get(2); !ok {
		t.Fatal("entry 2 expired after 2 rotations of a 3-bucket map")
	}
	exp := m.rotate()
	if len(exp) != 2 || exp[1] != "a2" || exp[2] != "b" {
		t.Fatalf("third rotation expired %v, want entries 1 and 2", exp)
	}
	if v, ok := m.remove(1); ok {
		t.Fatalf("removed %q after expiry", v)
	}
}
