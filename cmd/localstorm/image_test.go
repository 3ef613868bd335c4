package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
)

// TestContainerImageRoundTrip runs the localstorm image (scripts/build-image.sh)
// as a user without Go would: `up` inside the container on 0.0.0.0, its port
// published on the host's loopback, then this host's CLI submits a Flux YAML
// topology and a linux topology binary over --api, and both ack tuples.
//
// Without Docker it skips, unless LOCALSTORM_IMAGE_REQUIRED=1 (CI sets it in
// .ci/run, which builds the image first): then it fails. The build script is
// run first either way; it is idempotent and brings the image up to the code
// under test (a new binary is a `docker commit`, the Debian base is reused).
func TestContainerImageRoundTrip(t *testing.T) {
	const image = "localstorm/localstorm:latest"
	required := os.Getenv("LOCALSTORM_IMAGE_REQUIRED") == "1"
	if err := exec.Command("docker", "info").Run(); err != nil {
		if required {
			t.Fatalf("LOCALSTORM_IMAGE_REQUIRED=1 but no reachable Docker engine: docker info: %v", err)
		}
		t.Skipf("no reachable Docker engine (docker info: %v); LOCALSTORM_IMAGE_REQUIRED=1 makes this a failure", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	script, _ := filepath.Abs("../../scripts/build-image.sh")
	if out, err := exec.CommandContext(ctx, "bash", script).CombinedOutput(); err != nil {
		t.Fatalf("build the localstorm image with %s: %v\n%s", script, err, out)
	}
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Fatalf("%s is missing after scripts/build-image.sh: %v", image, err)
	}

	// A linux topology binary, built here and run by the container's workers:
	// static, so that it does not depend on the host's C library.
	bin := filepath.Join(t.TempDir(), "wordcount")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../examples/wordcount/cmd/wordcount")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build wordcount: %v\n%s", err, out)
	}

	run := exec.Command("docker", "run", "-d", "--rm", "-p", "127.0.0.1::8080",
		"--label", fmt.Sprintf("io.localstorm.test=%d", os.Getpid()),
		image, "up", "--supervisors", "2", "--api-addr", "0.0.0.0:8080")
	out, err := run.Output()
	if err != nil {
		t.Fatalf("docker run %s: %v %s", image, err, stderrOf(err))
	}
	cid := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", "--tail", "60", cid).CombinedOutput()
			t.Logf("container %.12s logs:\n%s", cid, logs)
		}
		if out, err := exec.Command("docker", "rm", "-f", cid).CombinedOutput(); err != nil {
			t.Errorf("docker rm -f %s: %v %s", cid, err, out)
		}
	})
	out, err = exec.Command("docker", "port", cid, "8080/tcp").Output()
	if err != nil {
		t.Fatalf("docker port %s: %v %s", cid, err, stderrOf(err))
	}
	hostPort := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]) // "127.0.0.1:NNNNN"
	url := "http://" + hostPort
	c := api.NewClient(url)
	testutil.Eventually(t, 60*time.Second, "the container's API answers with 2 supervisors", func() (bool, string) {
		sum, err := c.ClusterSummary(ctx)
		if err != nil {
			return false, err.Error()
		}
		return sum.Supervisors == 2, fmt.Sprintf("%d supervisors", sum.Supervisors)
	})
	if logs, err := exec.Command("docker", "logs", cid).Output(); err != nil || !strings.Contains(string(logs), "listening  0.0.0.0:8080 (every interface)") {
		t.Errorf("up's banner in the container does not say it listens on every interface (%v):\n%s", err, logs)
	}
	if page := httpGet(t, url+"/"); !strings.Contains(strings.ToLower(page), "<html") {
		t.Errorf("GET %s/: not the web UI: %.200s", url, page)
	}

	e := newEnv(t)
	ids := []string{
		strings.TrimSpace(e.ok("submit", "--api", url, "../../examples/flux/wordcount.yaml")),
		strings.TrimSpace(e.ok("submit", "--api", url, bin)),
	}
	for _, id := range ids {
		var info api.TopologyInfo
		testutil.Eventually(t, 90*time.Second, id+" acks tuples in the container", func() (bool, string) {
			e.jsonOf(&info, "topology", id, "--api", url)
			_, acked, _ := spoutTotals(&info)
			return info.Status == "ACTIVE" && acked > 0, fmt.Sprintf("status %s, acked %d", info.Status, acked)
		})
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(b)
}

// stderrOf is the stderr an exec.Cmd.Output error carries, if any.
func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
