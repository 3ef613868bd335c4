package localcluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/localcluster"
)

// TestLogviewerServesSupervisorLogs: nimbus's logviewer API of a real
// cluster reaches the worker logs in every supervisor's local dir.
func TestLogviewerServesSupervisorLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := t.TempDir()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "logviewer", Supervisors: 2, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	dir := workercontract.DataDir(c.DataDir()).Supervisor(1).Logs("wc-1-1", 6701)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.err.log"), []byte("hello from a worker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(c.APIURL() + api.PathListLogs)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list) != 1 || list[0] != "wc-1-1/6701/worker.err.log" {
		t.Fatalf("listLogs: %v %v", list, err)
	}
	resp, err = http.Get(c.APIURL() + api.PathLog + "?file=wc-1-1%2F6701%2Fworker.err.log")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from a worker\n" {
		t.Errorf("log: %d %q", resp.StatusCode, body)
	}
}
