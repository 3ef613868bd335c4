package zkcontainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/moby/moby/client"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// testImage is built from Debian's packages by scripts/build-zk-image.sh,
// so tests need no registry.
const testImage = "localstorm/zookeeper:3.8"

// noDockerEnv makes the test binary run the no-Docker check as a child, so
// that testcontainers' once-per-process Docker host cache stays clean.
const noDockerEnv = "ZKCONTAINER_TEST_NO_DOCKER"

func TestMain(m *testing.M) {
	if os.Getenv(noDockerEnv) != "" {
		_, err := Start(context.Background(), Options{Image: testImage, Cluster: "no-docker"})
		fmt.Println(err)
		if errors.Is(err, ErrNoDocker) {
			os.Exit(0)
		}
		os.Exit(3)
	}
	os.Exit(m.Run())
}

var imageOnce sync.Once
var imageErr error

// ensureImage runs scripts/build-zk-image.sh, which builds the test image
// unless an up-to-date one exists. A failure fails the test: the container
// mode must be tested.
func ensureImage(t *testing.T) {
	t.Helper()
	imageOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "build-zk-image.sh")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "bash", script).CombinedOutput()
		if err != nil {
			imageErr = fmt.Errorf("build %s with %s: %v\n%s", testImage, script, err, out)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
}

// uniqueCluster names a cluster label no other run uses.
func uniqueCluster(t *testing.T) string {
	return fmt.Sprintf("zkcontainer-test-%s-%d-%d", strings.ToLower(t.Name()), os.Getpid(), time.Now().UnixNano())
}

// labelled lists the ids of containers carrying cluster's label.
func labelled(t *testing.T, cluster string) []string {
	t.Helper()
	cli, err := dockerClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", ClusterLabel+"="+cluster)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Items {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestStartServeClose(t *testing.T) {
	ensureImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster := uniqueCluster(t)
	c, err := Start(ctx, Options{Image: testImage, Cluster: cluster, Logger: tclog.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })

	if !strings.HasPrefix(c.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %q, want 127.0.0.1:<port>", c.Addr())
	}
	if ids := labelled(t, cluster); len(ids) != 1 || ids[0] != c.ID() {
		t.Fatalf("containers labelled %s=%s: %v, want just %s", ClusterLabel, cluster, ids, c.ID())
	}
	mode, err := Srvr(ctx, c.Addr())
	if err != nil || mode != "standalone" {
		t.Fatalf("srvr: mode %q, err %v; want standalone", mode, err)
	}

	conn, _, err := zk.Connect([]string{c.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create("/localstorm-test", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		conn.Close()
		t.Fatalf("create a node: %v", err)
	}
	data, _, err := conn.Get("/localstorm-test")
	conn.Close()
	if err != nil || string(data) != "hello" {
		t.Fatalf("read the node back: %q, %v", data, err)
	}

	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if ids := labelled(t, cluster); len(ids) != 0 {
		t.Fatalf("containers left after Close: %v", ids)
	}
}

func TestReapOrphans(t *testing.T) {
	ensureImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster := uniqueCluster(t)
	c, err := Start(ctx, Options{Image: testImage, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID()
	c = nil // the handle is lost, as in a crashed run
	t.Cleanup(func() { _, _ = ReapOrphans(context.Background(), cluster) })

	if n, err := ReapOrphans(ctx, cluster+"-other"); err != nil || n != 0 {
		t.Fatalf("reaping another cluster: removed %d, err %v; want 0", n, err)
	}
	if ids := labelled(t, cluster); len(ids) != 1 || ids[0] != id {
		t.Fatalf("reaping another cluster touched ours: %v", ids)
	}
	n, err := ReapOrphans(ctx, cluster)
	if err != nil || n != 1 {
		t.Fatalf("ReapOrphans: removed %d, err %v; want 1", n, err)
	}
	if ids := labelled(t, cluster); len(ids) != 0 {
		t.Fatalf("containers left after ReapOrphans: %v", ids)
	}
	if n, err := ReapOrphans(ctx, cluster); err != nil || n != 0 {
		t.Fatalf("second ReapOrphans: removed %d, err %v; want 0", n, err)
	}
}

func TestNoDockerIsOneClearError(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), noDockerEnv+"=1", "DOCKER_HOST=unix:///nonexistent/docker.sock")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child did not see ErrNoDocker (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "--zookeeper embedded") || !strings.Contains(string(out), "Docker") {
		t.Fatalf("error does not say Docker is unreachable and suggest --zookeeper embedded:\n%s", out)
	}
}

func TestResolveImage(t *testing.T) {
	cases := []struct{ opt, env, want string }{
		{"", "", DefaultImage},
		{"", "my/zk:1", "my/zk:1"},
		{"opt/zk:2", "my/zk:1", "opt/zk:2"},
	}
	for _, tc := range cases {
		t.Setenv(ImageEnv, tc.env)
		if got := resolveImage(tc.opt); got != tc.want {
			t.Errorf("resolveImage(%q) with $%s=%q = %q, want %q", tc.opt, ImageEnv, tc.env, got, tc.want)
		}
	}
}
