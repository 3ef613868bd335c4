package zookeeper_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/zktest"
)

// TestZkCli drives ZooKeeper's own Java shell (ZooKeeperMain, what zkCli.sh
// runs) with commands on stdin: create, get -s (the stat as 3.8 prints it),
// ls, ls -s, set, delete, stat of a deleted node. Missing java fails the test.
func TestZkCli(t *testing.T) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found (apt-get install default-jre-headless): %v", err)
	}
	eachTarget(t, zktest.Config{}, func(t *testing.T, in *zktest.Instance) {
		p := in.Path("cli")
		script := strings.Join([]string{
			`create ` + p + ` "hello world"`,
			`get -s ` + p,
			`ls ` + in.Root,
			`create ` + p + `/kid x`,
			`ls -s ` + p,
			`set ` + p + ` bye`,
			`get ` + p,
			`delete ` + p + `/kid`,
			`delete ` + p,
			`stat ` + p,
			`ls ` + in.Root,
			`quit`,
		}, "\n") + "\n"
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, java, "-cp", zktest.RealClasspath, "org.apache.zookeeper.ZooKeeperMain", "-server", in.Addr())
		cmd.Stdin = strings.NewReader(script)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ZooKeeperMain: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		out, errs := stdout.String(), stderr.String()
		t.Logf("stdout:\n%s\nstderr:\n%s", out, errs)

		stat := `cZxid = (0x[0-9a-f]+)\nctime = .+\nmZxid = (0x[0-9a-f]+)\nmtime = .+\npZxid = (0x[0-9a-f]+)\n` +
			`cversion = (\d+)\ndataVersion = (\d+)\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = (\d+)\nnumChildren = (\d+)\n`
		re := regexp.MustCompile(`(?s)WatchedEvent state:SyncConnected type:None path:null\n` +
			`hello world\n` + stat +
			`\[cli\]\n` +
			`\[kid\]\n` + stat +
			`bye\n` +
			`\[\]\n`)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("zkCli output does not have the expected shape:\n%s", out)
		}
		first, second := m[1:8], m[8:15]
		if first[0] != first[1] || first[0] != first[2] || first[3] != "0" || first[4] != "0" || first[5] != "11" || first[6] != "0" {
			t.Errorf("get -s after create: czxid/mzxid/pzxid/cversion/dataVersion/dataLength/numChildren = %v", first)
		}
		if second[0] != first[0] || second[2] == first[2] || second[3] != "1" || second[6] != "1" || second[5] != "11" {
			t.Errorf("ls -s after a child create: %v (after create: %v)", second, first)
		}
		for _, want := range []string{"Created " + p + "\n", "Created " + p + "/kid\n", "Node does not exist: " + p + "\n"} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
	})
}
