package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docs/ci.md's GitHub Actions workflow is valid YAML and does what the page
// says, in order: install, up --detach, submit, wait; on failure export the
// logs and upload that very directory; always down.
func TestCIWorkflowDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/ci.md has no ```yaml block")
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				If   string            `yaml:"if"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(m[1], &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	job, ok := wf.Jobs["e2e"]
	if !ok {
		t.Fatalf("no job e2e in %+v", wf)
	}
	want := []struct{ cmd, cond string }{
		{"go install github.com/localstorm/localstorm/cmd/localstorm@", ""},
		{"localstorm up --detach", ""},
		{"localstorm submit ", ""},
		{"localstorm wait topology ", ""},
		{"localstorm export logs ", "failure()"},
		{"upload-artifact", "failure()"},
		{"localstorm down", "always()"},
	}
	next := 0
	exported := ""
	for _, s := range job.Steps {
		if next == len(want) {
			break
		}
		text := s.Run + s.Uses
		if !strings.Contains(text, want[next].cmd) {
			continue
		}
		if s.If != want[next].cond {
			t.Errorf("step %q: if %q, want %q", want[next].cmd, s.If, want[next].cond)
		}
		switch want[next].cmd {
		case "localstorm export logs ":
			exported = strings.Fields(strings.TrimPrefix(s.Run, "localstorm export logs "))[0]
		case "upload-artifact":
			if s.With["path"] != exported {
				t.Errorf("the workflow uploads %q but exports the logs to %q", s.With["path"], exported)
			}
		}
		next++
	}
	if next < len(want) {
		t.Errorf("the workflow lacks, in order, a step running %q", want[next].cmd)
	}
}
