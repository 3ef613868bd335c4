package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/localcluster"
)

// TestZKVerb: `localstorm zk ls|get` read a running cluster's ZooKeeper tree
// through the API, a supervisor's record decoded.
func TestZKVerb(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	for _, args := range [][]string{{"zk"}, {"zk", "rm", "/"}, {"zk", "ls", "/a", "/b"}} {
		if _, stderr, code := runCLI(args...); code != 2 || !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("localstorm %s: exit %d, %q; want a usage error", strings.Join(args, " "), code, stderr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "cli-zk", Supervisors: 1, Slots: 1, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	apiFlag := "--api=" + c.APIURL()

	stdout, stderr, code := runCLI("zk", "ls", "/", apiFlag)
	if code != 0 || !strings.Contains(stdout, "supervisors\n") || !strings.Contains(stdout, "assignments\n") {
		t.Fatalf("zk ls /: exit %d, %q %q; want Storm's subtrees", code, stdout, stderr)
	}
	stdout, _, code = runCLI("zk", "ls", "/supervisors", apiFlag)
	ids := strings.Fields(stdout)
	if code != 0 || len(ids) != 1 {
		t.Fatalf("zk ls /supervisors: exit %d, %q; want one supervisor", code, stdout)
	}
	stdout, stderr, code = runCLI("zk", "get", "/supervisors/"+ids[0], apiFlag)
	if code != 0 || !strings.Contains(stdout, "supervisor-info (decoded):") || !strings.Contains(stdout, `"hostname"`) ||
		!strings.Contains(stdout, "ephemeralOwner 0x") || strings.Contains(stdout, "ephemeralOwner 0x0\n") {
		t.Fatalf("zk get /supervisors/%s: exit %d, %q %q; want its stat (an ephemeral node) and its record decoded", ids[0], code, stdout, stderr)
	}
	stdout, _, code = runCLI("zk", "get", "/supervisors/"+ids[0], apiFlag, "-o", "json")
	var z api.ZNode
	if err := json.Unmarshal([]byte(stdout), &z); code != 0 || err != nil || z.Kind != "supervisor-info" || len(z.Record) == 0 {
		t.Fatalf("zk get -o json: exit %d, %v, %+v", code, err, z)
	}
	if _, stderr, code := runCLI("zk", "get", "/nosuch", apiFlag); code != 1 || !strings.Contains(stderr, "no znode /nosuch") {
		t.Errorf("zk get /nosuch: exit %d, %q; want not found", code, stderr)
	}
	if _, stderr, code := runCLI("zk", "get", "/a/../b", apiFlag); code != 1 || !strings.Contains(stderr, "holds . or ..") {
		t.Errorf("zk get /a/../b: exit %d, %q; want a refusal", code, stderr)
	}
}
