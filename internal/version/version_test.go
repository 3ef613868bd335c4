package version

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	withModule := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/localstorm/localstorm", Version: v}}
	}
	for _, tc := range []struct {
		name  string
		stamp string
		info  *debug.BuildInfo
		ok    bool
		want  string
	}{
		{"stamp wins over the module version", "v9.9.9", withModule("v1.2.3"), true, "v9.9.9"},
		{"go install @version", "", withModule("v1.2.3"), true, "v1.2.3"},
		{"checkout pseudo-version", "", withModule("v0.0.0-20261202225700-abcdef012345+dirty"), true, "v0.0.0-20261202225700-abcdef012345+dirty"},
		{"toolchain knows none", "", withModule("(devel)"), true, Unknown},
		{"empty module version", "", withModule(""), true, Unknown},
		{"no build info", "", nil, false, Unknown},
	} {
		if got := resolve(tc.stamp, tc.info, tc.ok); got != tc.want {
			t.Errorf("%s: resolve(%q, %v) = %q, want %q", tc.name, tc.stamp, tc.info, got, tc.want)
		}
	}
}

// TestStampedBinary builds a small program with the release's -X flag and
// checks that the stamp reaches String: a renamed variable would otherwise
// make the linker ignore the flag without a word.
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	exe := filepath.Join(t.TempDir(), "stamp")
	build := exec.Command("go", "build", "-o", exe, "-ldflags", "-X github.com/localstorm/localstorm/internal/version.stamped=v7.7.7-test", "./testdata/stamp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "v7.7.7-test" {
		t.Fatalf("stamped binary says %q, want v7.7.7-test", got)
	}
}
