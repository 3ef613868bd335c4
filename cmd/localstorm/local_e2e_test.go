package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndToEndLocal: `BIN local` of a topology binary hands it to the
// localstorm next to it, which runs it on a cluster of its own for --ttl,
// prints its totals and stops everything; a usage error keeps its exit code.
func TestEndToEndLocal(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/wordcount/cmd/wordcount").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The localstorm next to the binary is this test binary in its main
	// mode; the cluster's data dir (and so every worker's code) is under tmp.
	tmp := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nLOCALSTORM_E2E_MAIN=1 LOCALSTORM_STATE_DIR=%s TMPDIR=%s exec %s \"$@\"\n", e.state, tmp, self)
	if err := os.WriteFile(filepath.Join(dir, "localstorm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	const limit = 200
	cmd := exec.Command(bin, "local", "--ttl", "4s", "-c", fmt.Sprintf("wordcount.sentences.limit=%d", limit))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wordcount local: %v\nstdout: %s\nstderr: %s", err, out, stderrOf(err))
	}
	if want := fmt.Sprintf("spout sentences: emitted %d, acked %d, failed 0", limit, limit); !strings.Contains(string(out), want) {
		t.Fatalf("wordcount local printed %q, want a line %q", out, want)
	}
	if left := append(processesWithArg(dir), processesWithArg(tmp)...); len(left) > 0 {
		t.Fatalf("processes of the local cluster left running: %v", left)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Fatalf("the local cluster left %d entries in its temp dir", len(entries))
	}

	cmd = exec.Command(bin, "local", "--supervisors", "0")
	errOut, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(errOut), "--supervisors 0: give 1 or more") {
		t.Fatalf("local --supervisors 0: exit %d, %q; want exit 2 and the usage error", code, errOut)
	}
}
