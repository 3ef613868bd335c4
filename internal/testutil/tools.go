package testutil

import (
	"fmt"
	"os"
	"testing"
)

// MissingTool ends a test that needs a tool this machine lacks. It skips,
// except where .ci/run installed the tool (it sets LOCALSTORM_CI): there a
// missing tool fails the test, so that CI never passes what it did not run.
func MissingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("LOCALSTORM_CI") != "" {
		t.Fatalf("%s; CI installs it (.ci/run)", msg)
	}
	t.Skip(msg)
}
