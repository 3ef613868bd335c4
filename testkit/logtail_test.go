package testkit

import (
	"fmt"
	"strings"
	"testing"
)

func TestLogTailKeepsAGoroutineDump(t *testing.T) {
	var log strings.Builder
	for i := range 100 {
		fmt.Fprintf(&log, "line %d\n", i)
	}
	if got := logTail(log.String()); strings.Contains(got, "line 39\n") || !strings.HasSuffix(got, "line 99") {
		t.Errorf("without a dump: not the last 60 lines:\n%s", got)
	}
	log.WriteString("SIGQUIT: quit\n")
	for i := range 300 {
		fmt.Fprintf(&log, "goroutine %d [select]:\n", i)
	}
	got := logTail(log.String())
	if strings.Contains(got, "line 79\n") || !strings.Contains(got, "line 80\n") || !strings.Contains(got, "goroutine 0 [") || !strings.Contains(got, "goroutine 299 [") {
		t.Errorf("with a dump: not the 20 lines before it and the whole dump:\n%s", got)
	}
}
