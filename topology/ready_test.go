package topology

import (
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology/state"
)

// isReady tells whether ch fires within d (a nil channel never does).
func isReady(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func TestReadyAfter(t *testing.T) {
	if !isReady(ReadyAfter(0), 0) {
		t.Fatal("ReadyAfter(0) is not ready at once")
	}
	ch := ReadyAfter(time.Hour)
	if isReady(ch, 20*time.Millisecond) {
		t.Fatal("ReadyAfter(1h) is ready at once")
	}
	if !isReady(ReadyAfter(time.Millisecond), 10*time.Second) {
		t.Fatal("ReadyAfter(1ms) never fired")
	}
}

// TestCheckpointSpoutReady: the checkpoint spout is a ReadySpout that sleeps
// while a checkpoint is in flight (its ack wakes it) and until the next one
// is due, and is ready at once when it has a step to emit.
func TestCheckpointSpoutReady(t *testing.T) {
	now := time.Now()
	out := &fakeSpoutCollector{}
	s := &checkpointSpout{now: func() time.Time { return now }}
	if err := s.open(out, state.NewInMemory(), time.Hour); err != nil {
		t.Fatal(err)
	}
	var _ ReadySpout = s
	if !isReady(s.Ready(), 0) {
		t.Fatal("a recovering spout is not ready to emit INITSTATE")
	}
	out.next(s) // INITSTATE -1
	if ch := s.Ready(); ch != nil {
		t.Fatal("a spout with a checkpoint in flight has a Ready channel; only the ack should wake it")
	}
	s.Ack(int64(-1))
	if !isReady(s.Ready(), 0) {
		t.Fatal("after INITSTATE's ack the spout is not ready to emit PREPARE")
	}
	out.next(s) // PREPARE 0
	s.Ack(int64(0))
	out.next(s) // COMMIT 0
	s.Ack(int64(0))
	if isReady(s.Ready(), 20*time.Millisecond) {
		t.Fatal("a committed spout is ready before its interval (1 h) has passed")
	}
	s.interval = 0
	if !isReady(s.Ready(), 10*time.Second) {
		t.Fatal("a committed spout whose interval has passed is not ready")
	}
}
