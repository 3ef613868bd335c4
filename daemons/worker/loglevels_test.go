package worker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/cluster"
)

func update(level string, endMillis int64) cluster.LogLevel {
	return cluster.LogLevel{Action: cluster.LogLevelUpdate, TargetLevel: level, ResetTimeoutEpochMillis: endMillis}
}

func TestLogLevelsApply(t *testing.T) {
	l := NewLogLevels(slog.LevelInfo)
	l.Apply(&cluster.LogConfig{NamedLoggers: map[string]cluster.LogLevel{
		"ROOT":  update("DEBUG", 2000),
		"count": update("ERROR", 0),
		"old":   update("TRACE", 500), // ended before now: not applied
	}}, 1000)
	if got := l.Level("ROOT"); got != slog.LevelDebug {
		t.Errorf("ROOT %v, want DEBUG", got)
	}
	if got := l.Level("count"); got != slog.LevelError {
		t.Errorf("count %v, want ERROR", got)
	}
	if got := l.Level("split"); got != slog.LevelDebug {
		t.Errorf("split (no level of its own) %v, want ROOT's DEBUG", got)
	}
	if got := l.Level("old"); got != slog.LevelDebug {
		t.Errorf("old (timed out) %v, want ROOT's", got)
	}
	// Before the end time nothing resets; after it ROOT returns to INFO and
	// count (no timeout) keeps its level.
	if r := l.ResetExpired(1999); len(r) != 0 {
		t.Errorf("reset before the end time: %v", r)
	}
	if r := l.ResetExpired(2001); len(r) != 1 || r[0] != "ROOT" || l.Level("ROOT") != slog.LevelInfo {
		t.Errorf("reset after the end time: %v, ROOT %v", r, l.Level("ROOT"))
	}
	if l.Level("count") != slog.LevelError {
		t.Errorf("count reset without a timeout")
	}
	// Nimbus marks the earlier entries UNCHANGED: a reset ROOT stays reset;
	// count leaves the config (REMOVE) and returns to ROOT's level.
	l.Apply(&cluster.LogConfig{NamedLoggers: map[string]cluster.LogLevel{
		"ROOT": {Action: cluster.LogLevelUnchanged, TargetLevel: "DEBUG", ResetTimeoutEpochMillis: 2000},
	}}, 3000)
	if l.Level("ROOT") != slog.LevelInfo || l.Level("count") != slog.LevelInfo {
		t.Errorf("after REMOVE of count: ROOT %v count %v, want INFO and INFO", l.Level("ROOT"), l.Level("count"))
	}
	// A worker that starts after a config was set applies its UNCHANGED
	// entries that have not ended.
	fresh := NewLogLevels(slog.LevelInfo)
	fresh.Apply(&cluster.LogConfig{NamedLoggers: map[string]cluster.LogLevel{"ROOT": {Action: cluster.LogLevelUnchanged, TargetLevel: "WARN"}}}, 3000)
	if fresh.Level("ROOT") != slog.LevelWarn {
		t.Errorf("fresh worker ROOT %v, want WARN", fresh.Level("ROOT"))
	}
}

func TestLogLevelsHandler(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogLevels(slog.LevelInfo)
	log := slog.New(l.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 8})))
	count := log.With("component", "count", "task", 3)
	log.Debug("root-debug-1")
	count.Debug("count-debug-1")
	l.Apply(&cluster.LogConfig{NamedLoggers: map[string]cluster.LogLevel{"count": update("DEBUG", 0), "split": update("OFF", 0)}}, 0)
	log.Debug("root-debug-2")
	count.Debug("count-debug-2")
	log.Error("split-error", "component", "split") // a record naming its component
	log.Info("root-info")
	out := buf.String()
	for _, want := range []string{"count-debug-2", "root-info"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"root-debug-1", "count-debug-1", "root-debug-2", "split-error"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log has %s:\n%s", unwanted, out)
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, name := range []string{"ALL", "trace", "DEBUG", "Info", "WARN", "ERROR", "FATAL", "OFF"} {
		if _, ok := ParseLogLevel(name); !ok {
			t.Errorf("%s not a level", name)
		}
	}
	if _, ok := ParseLogLevel("LOUD"); ok {
		t.Error("LOUD read as a level")
	}
}
