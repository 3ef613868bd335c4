package testkit

import (
	"runtime"
	"strings"
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
		t.Errorf("testkit: %d goroutine(s) leaked by the test (opt out with testkit.WithoutLeakCheck()):\n%s",
			len(leaked), strings.Join(leaked, "\n\n"))
	}
}
