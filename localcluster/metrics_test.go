package localcluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
)

// needTool returns the path of a tool from the Debian package pkg.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testutil.MissingTool(t, "%s not found (apt-get install %s)", name, pkg)
	}
	return p
}

func scrape(t *testing.T, ctx context.Context, apiURL string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+api.PathMetrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	return body
}

// value is the sample of family name with labels topology and component, -1 if none.
func value(fams map[string]*dto.MetricFamily, name, topology, component string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["topology"] != topology || labels["component"] != component {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// TestMetrics: /metrics of a cluster running word count parses with
// Prometheus's own parser and promtool, with the families, types and labels
// promised, and a real Prometheus scraping it answers a PromQL query with
// the acked count.
func TestMetrics(t *testing.T) {
	c, _ := startWordcount(t, localcluster.Options{Name: "metrics", Supervisors: 2, Slots: 2}, "wc")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var fams map[string]*dto.MetricFamily
	testutil.Eventually(t, time.Minute, "acked tuples in /metrics", func() (bool, error) {
		p := expfmt.NewTextParser(model.LegacyValidation)
		var err error
		fams, err = p.TextToMetricFamilies(bytes.NewReader(scrape(t, ctx, c.APIURL())))
		if err != nil {
			return false, fmt.Errorf("parse /metrics: %w", err)
		}
		return value(fams, "localstorm_component_acked_total", "wc", "sentences") > 0, nil
	})
	for name, typ := range map[string]dto.MetricType{
		"localstorm_supervisors":                        dto.MetricType_GAUGE,
		"localstorm_slots":                              dto.MetricType_GAUGE,
		"localstorm_workers":                            dto.MetricType_GAUGE,
		"localstorm_topology_workers":                   dto.MetricType_GAUGE,
		"localstorm_component_emitted_total":            dto.MetricType_COUNTER,
		"localstorm_component_acked_total":              dto.MetricType_COUNTER,
		"localstorm_component_failed_total":             dto.MetricType_COUNTER,
		"localstorm_component_complete_latency_seconds": dto.MetricType_GAUGE,
		"localstorm_component_process_latency_seconds":  dto.MetricType_GAUGE,
		"localstorm_component_capacity":                 dto.MetricType_GAUGE,
		"localstorm_component_executors_alive":          dto.MetricType_GAUGE,
	} {
		f := fams[name]
		if f == nil {
			t.Errorf("no family %s", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
	}
	if v := value(fams, "localstorm_supervisors", "", ""); v != 2 {
		t.Errorf("localstorm_supervisors = %v, want 2", v)
	}
	if v := value(fams, "localstorm_topology_workers", "wc", ""); v != 2 {
		t.Errorf("localstorm_topology_workers{topology=wc} = %v, want 2", v)
	}
	if v := value(fams, "localstorm_component_executors_alive", "wc", "split"); v != 2 {
		t.Errorf("executors alive of split = %v, want 2", v)
	}
	if v := value(fams, "localstorm_component_emitted_total", "wc", "split"); v <= 0 {
		t.Errorf("split emitted %v", v)
	}

	t.Run("promtool", func(t *testing.T) {
		promtool := needTool(t, "promtool", "prometheus")
		cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(scrape(t, ctx, c.APIURL()))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
	t.Run("prometheus", func(t *testing.T) {
		scrapeByPrometheus(t, ctx, c.APIURL())
	})
}

// scrapeByPrometheus runs Debian's prometheus on a free loopback port,
// scraping apiURL every second, and waits for a PromQL query of word
// count's acked total to return more than 0.
func scrapeByPrometheus(t *testing.T, ctx context.Context, apiURL string) {
	bin := needTool(t, "prometheus", "prometheus")
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: localstorm\n    static_configs:\n      - targets: [%q]\n", target.Host)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
		_ = cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "prometheus.log")); err == nil {
				t.Logf("prometheus's log:\n%s", b)
			}
		}
	})
	query := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`localstorm_component_acked_total{job="localstorm",topology="wc",component="sentences"}`)
	testutil.Eventually(t, 90*time.Second, "prometheus's query of the acked total", func() (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, query, nil)
		if err != nil {
			return false, err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var reply struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
			return false, err.Error()
		}
		if reply.Status != "success" || len(reply.Data.Result) != 1 {
			return false, fmt.Sprintf("%+v", reply)
		}
		s, _ := reply.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return err == nil && v > 0, fmt.Sprintf("value %q", s)
	})
}
