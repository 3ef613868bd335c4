package localcluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// TestDaemonLogLinksResolve: nimbus and the supervisors write Storm's
// nimbus.log and supervisor.log, and the log links of Storm UI's nimbus
// and supervisor summaries reach them through the logviewer.
func TestDaemonLogLinksResolve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := t.TempDir()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "daemonlogs", Supervisors: 2, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	for _, f := range []string{"nimbus.log", "supervisor.log"} {
		if _, err := os.Stat(filepath.Join(data, "logs", f)); err != nil {
			t.Errorf("%s not in the data dir: %v", f, err)
		}
	}
	fetch := func(link string) string {
		t.Helper()
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", link, resp.StatusCode, body)
		}
		return string(body)
	}
	var nimbuses api.NimbusSummary
	if err := json.Unmarshal([]byte(fetch(c.APIURL()+api.PathNimbusSummary)), &nimbuses); err != nil || len(nimbuses.Nimbuses) != 1 {
		t.Fatalf("nimbus summary %+v %v", nimbuses, err)
	}
	if page := fetch(nimbuses.Nimbuses[0].NimbusLogLink); !strings.Contains(page, "daemon=nimbus") {
		t.Errorf("nimbusLogLink %s shows no nimbus line:\n%s", nimbuses.Nimbuses[0].NimbusLogLink, page)
	}
	var sups api.SupervisorSummary
	if err := json.Unmarshal([]byte(fetch(c.APIURL()+api.PathSupervisorSummary)), &sups); err != nil || len(sups.Supervisors) != 2 {
		t.Fatalf("supervisor summary %+v %v", sups, err)
	}
	page := fetch(sups.Supervisors[0].LogLink)
	for _, who := range []string{"daemon=supervisor-0", "daemon=supervisor-1"} {
		if !strings.Contains(page, who) {
			t.Errorf("logLink %s shows no line of %s:\n%s", sups.Supervisors[0].LogLink, who, page)
		}
	}
}
