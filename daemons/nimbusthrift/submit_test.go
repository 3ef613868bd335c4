package nimbusthrift

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// jarOf is a zip of files (name → content).
func jarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadJar sends content with beginFileUpload, uploadChunk, finishFileUpload.
func uploadJar(t *testing.T, c *storm.NimbusClient, content []byte) string {
	t.Helper()
	ctx := context.Background()
	loc, err := c.BeginFileUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for len(content) > 0 {
		n := min(len(content), 100)
		if err := c.UploadChunk(ctx, loc, content[:n]); err != nil {
			t.Fatal(err)
		}
		content = content[n:]
	}
	if err := c.FinishFileUpload(ctx, loc); err != nil {
		t.Fatal(err)
	}
	return loc
}

// untar reads a gzipped tar into name → content.
func untar(t *testing.T, b []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		content, _ := io.ReadAll(tr)
		out[hdr.Name] = string(content)
	}
}

func wordCount() *storm.StormTopology {
	return stormTopo(oneSentenceOut, map[string]*storm.Bolt{
		"split": {BoltObject: shellObj("python3", "splitsentence.py"), Common: common(2, `{"topology.tasks": 4}`, map[string][]string{"default": {"word"}}, input{"sentences", "default", shuffle})},
	})
}

func TestSubmitTopology(t *testing.T) {
	spool := t.TempDir()
	f, s := serveFake(t, Options{SpoolDir: spool})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	jar := jarOf(t, map[string]string{
		"resources/splitsentence.py":  "print('split')",
		"resources/lib/storm.py":      "# storm",
		"org/example/Main.class":      "java",
		"META-INF/MANIFEST.MF":        "Manifest-Version: 1.0",
		"resources/conf/settings.yml": "a: 1", // below the top: not a Flux file
	})
	loc := uploadJar(t, c, jar)
	inactive := storm.TopologyInitialStatus_INACTIVE
	err := c.SubmitTopologyWithOpts(ctx, "pywc", loc, `{"topology.workers": 2, "topology.max.spout.pending": null}`, wordCount(), &storm.SubmitOptions{InitialStatus: inactive})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.submits) != 1 {
		t.Fatalf("submits %+v", f.submits)
	}
	req := f.submits[0]
	if req.Name != "pywc" || req.Kind != "flux" || req.InitialStatus != "INACTIVE" {
		t.Errorf("request %+v", req)
	}
	if len(req.Conf) != 1 || req.Conf["topology.workers"] != float64(2) {
		t.Errorf("conf %v: want topology.workers alone (null values are the defaults)", req.Conf)
	}
	split := req.Definition.Bolts["split"]
	if split == nil || split.NumTasks != 4 || split.Parallelism != 2 || split.Inputs[0].Grouping.Type != topology.GroupShuffle {
		t.Errorf("definition's split bolt %+v", split)
	}
	code := untar(t, []byte(f.uploads[req.UploadID]))
	if len(code) != 4 || code["splitsentence.py"] != "print('split')" || code["lib/storm.py"] != "# storm" || code["conf/settings.yml"] != "a: 1" {
		t.Errorf("resources %v", code)
	}
	if !strings.Contains(code[FluxFileName], "org.apache.storm.flux.wrappers.bolts.FluxShellBolt") {
		t.Errorf("Flux file:\n%s", code[FluxFileName])
	}
	// The upload is used up; nothing is left in the spool dir.
	if err := c.SubmitTopology(ctx, "again", loc, "", wordCount()); err == nil {
		t.Error("an upload served two submits")
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("left in the spool dir: %v", left)
	}

	// A jar without resources runs built-ins; so does an empty upload.
	words := stormTopo(map[string]*storm.SpoutSpec{"w": {SpoutObject: javaObj("org.apache.storm.testing.TestWordSpout"), Common: common(1, "", map[string][]string{"default": {"word"}})}}, nil)
	for _, content := range [][]byte{jarOf(t, map[string]string{"a.class": "x"}), nil} {
		if err := c.SubmitTopology(ctx, "words", uploadJar(t, c, content), "", words); err != nil {
			t.Errorf("built-in topology from a %d-byte jar: %v", len(content), err)
		}
	}
}

func TestSubmitTopologyErrors(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	goodJar := jarOf(t, map[string]string{"resources/splitsentence.py": "x"})
	var ite *storm.InvalidTopologyException
	var aae *storm.AlreadyAliveException

	err := c.SubmitTopology(ctx, "wc", uploadJar(t, c, goodJar), "", wordCount())
	if !errors.As(err, &aae) || aae.Msg != "wc is already alive" {
		t.Errorf("a live name: %v", err)
	}
	err = c.SubmitTopology(ctx, "a/b", uploadJar(t, c, goodJar), "", wordCount())
	if !errors.As(err, &ite) || !strings.Contains(ite.Msg, "not allowed") {
		t.Errorf("a bad name: %v", err)
	}
	for _, tc := range []struct {
		name, loc, conf string
		jar             []byte
		topo            *storm.StormTopology
		want            string
	}{
		{"unknown location", "/nowhere/stormjar-x.jar", "", nil, wordCount(), "no finished upload at /nowhere/stormjar-x.jar"},
		{"topology conf", "", "[]", goodJar, wordCount(), "topology configuration: not a JSON object"},
		{"not a zip", "", "", []byte("not a zip"), wordCount(), "the uploaded jar is not a zip archive"},
		{"a YAML at the top", "", "", jarOf(t, map[string]string{"resources/topology.yaml": "x"}), wordCount(), "a YAML file at the top of resources/"},
		{"outside", "", "", jarOf(t, map[string]string{"resources/../../x": "x"}), wordCount(), "points outside resources/"},
		{"java bolt", "", "", goodJar, stormTopo(oneSentenceOut, bolt(javaObj("com.example.Bolt"), common(1, "", nil))), "bolt b: class com.example.Bolt cannot run here"},
	} {
		loc := tc.loc
		if loc == "" {
			loc = uploadJar(t, c, tc.jar)
		}
		err := c.SubmitTopology(ctx, "fresh", loc, tc.conf, tc.topo)
		if !errors.As(err, &ite) || !strings.Contains(ite.Msg, tc.want) {
			t.Errorf("%s: %v, want an InvalidTopologyException saying %q", tc.name, err, tc.want)
		}
	}
	// The connection still serves.
	if _, err := c.GetLeader(ctx); err != nil {
		t.Errorf("after the errors: %v", err)
	}
	if s.handler.uploads == nil || len(s.handler.uploads) != 0 {
		t.Errorf("uploads left: %v", s.handler.uploads)
	}
}
