package shell

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// BenchmarkShellBoltRoundTrip measures tuples through a Python BasicBolt
// (Storm's splitsentence example on one-word sentences): Execute, the
// subprocess's emit with its task-ids reply, and its ack. ns/op is the cost
// of one tuple with up to topology.shellbolt.max.pending (100) in flight.
func BenchmarkShellBoltRoundTrip(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Fatal("python3 is not on PATH")
	}
	dir, err := filepath.Abs("../../examples/multilang/resources")
	if err != nil {
		b.Fatal(err)
	}
	ctx := &topology.Context{ComponentID: "split", TaskID: 1, CodeDir: dir, PidDir: b.TempDir(), Conf: map[string]any{}}
	out := &fakeCollector{tasks: []int{1}}
	bolt := newBolt([]string{"python3", "splitsentence.py"}, boltOutputs)
	if err := bolt.Prepare(ctx, out); err != nil {
		b.Fatal(err)
	}
	defer bolt.Cleanup()
	in := &topology.Tuple{Values: topology.Values{"word"}, Component: "s", Stream: "default", Task: 2}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bolt.Execute(in)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out.mu.Lock()
		n := len(out.acked)
		out.mu.Unlock()
		if n == b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tuples acked after a minute", n, b.N)
		}
		time.Sleep(time.Millisecond)
	}
}
