package testkit

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// goroutineSet returns the ids of the goroutines running now.
func goroutineSet() map[string]bool {
	set := map[string]bool{}
	for id := range goroutines() {
		set[id] = true
	}
	return set
}

// goroutines maps goroutine id ("goroutine 17") to its stack.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, " [")
		if strings.HasPrefix(head, "goroutine ") {
			out[head] = g
		}
	}
	return out
}

// benign goroutines belong to the runtime, the test runner or process-wide
// singletons that live as long as the process.
func benign(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.tRunner", "testing.runTests", "testing.(*M).",
		"runtime.goexit0", "os/signal.", "runtime.ensureSigM", "created by runtime.gc",
		"net/http.(*persistConn)", "testkit.checkLeaks",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// checkLeaks fails t when goroutines started since before are still running
// after a grace period.
func checkLeaks(t testing.TB, before map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var leaked []string
	for {
		leaked = leaked[:0]
		for id, stack := range goroutines() {
			if !before[id] && !benign(stack) {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Errorf("testkit: %d goroutine(s) leaked by the test (opt out with testkit.Options{NoLeakCheck: true}):\n%s",
			len(leaked), strings.Join(leaked, "\n\n"))
	}
}

// leakScope tracks whether a test's cluster ran alone in the process. The
// leak check compares process-wide goroutine snapshots, so while another
// test's cluster runs (t.Parallel) its goroutines look leaked: the check then
// waited its whole grace period for the other test to end, serialising
// parallel tests (measured: 50 parallel tests took 32 s against 17-21 s
// sequential), and could blame one test for another's goroutines.
type leakScope struct{ overlapped bool }

var leakScopes struct {
	mu   sync.Mutex
	live map[*leakScope]bool
}

// enterLeakScope registers a cluster that is starting.
func enterLeakScope() *leakScope {
	leakScopes.mu.Lock()
	defer leakScopes.mu.Unlock()
	if leakScopes.live == nil {
		leakScopes.live = map[*leakScope]bool{}
	}
	sc := &leakScope{}
	for other := range leakScopes.live {
		other.overlapped, sc.overlapped = true, true
	}
	leakScopes.live[sc] = true
	return sc
}

// exit unregisters the cluster and reports whether it ran alone.
func (sc *leakScope) exit() bool {
	leakScopes.mu.Lock()
	defer leakScopes.mu.Unlock()
	delete(leakScopes.live, sc)
	return !sc.overlapped
}
