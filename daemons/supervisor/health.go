package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Results of one health-check script, as Storm names them.
const (
	healthSuccess = "success"
	healthFailed  = "failed"
	healthTimeout = "timeout"
)

// healthCheck runs the health-check scripts; a failure returns an error,
// which stops the supervisor and shuts its workers down (through the
// timer's error handler), as Storm's supervisor does.
func (s *Supervisor) healthCheck() error {
	results := runHealthChecks(s.ctx, s.healthDir, s.timing.healthTimeout, s.log)
	var failed []string
	for script, res := range results {
		if res == healthFailed {
			failed = append(failed, script)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	sort.Strings(failed)
	return fmt.Errorf("health check failed: %s", strings.Join(failed, ", "))
}

// runHealthChecks runs every executable file in dir (a missing dir has none)
// with timeout and returns each script's result: failed when it exits
// non-zero or prints a line starting with "ERROR", timeout when it runs too
// long (logged, not a failure, as in Storm), success otherwise.
func runHealthChecks(ctx context.Context, dir string, timeout time.Duration, log *slog.Logger) map[string]string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("read health check dir", "dir", dir, "err", err)
		}
		return nil
	}
	results := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		script := filepath.Join(dir, e.Name())
		results[script] = runHealthCheck(ctx, script, timeout)
		if results[script] != healthSuccess {
			log.Warn("health check", "script", script, "result", results[script])
		}
	}
	return results
}

func runHealthCheck(ctx context.Context, script string, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout = &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return healthTimeout
	}
	if err != nil {
		return healthFailed
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ERROR") {
			return healthFailed
		}
	}
	return healthSuccess
}
