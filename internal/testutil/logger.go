package testutil

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Logger returns a logger that writes text lines at level and above to t.Log,
// so that a daemon's logs show only for a failing test (or with -v). Lines
// logged after the test ended are dropped (a client's goroutines may wind down
// after its Close returns, and t.Log would panic then). For a benchmark the
// logger discards everything: b.Log prints every line, failing or not.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(LogWriter(t), &slog.HandlerOptions{Level: level}))
}

// LogWriter returns a writer that passes each write, its trailing newline
// cut, to t.Log until the test ends, and drops writes after that: for a
// logger, or a child process's stderr.
func LogWriter(t testing.TB) io.Writer {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.ended = true
		w.mu.Unlock()
	})
	return w
}

type logWriter struct {
	t     testing.TB
	mu    sync.Mutex
	ended bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
