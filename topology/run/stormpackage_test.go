package run

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/fluxgen"
)

func runPackage(t *testing.T, b *topology.Builder, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), &Env{Name: "wc", Builder: b, Streams: cli.Streams{Out: &out, Err: &errb}}, append([]string{"storm-package"}, args...))
	return out.String(), errb.String(), code
}

// TestStormPackage: -o DIR writes DIR/topology.yaml and DIR/wc.jar, the jar
// holding the YAML and this (linux/amd64) binary under resources/; -o a.jar
// puts the YAML next to it as a.yaml; what Storm cannot run is refused.
func TestStormPackage(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("packages this test binary, which is a linux/amd64 one only there (TestCrossBuild covers the rest)")
	}
	dir := t.TempDir()
	out, errs, code := runPackage(t, builder(), "-o", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	jar, yamlPath := filepath.Join(dir, "wc.jar"), filepath.Join(dir, "topology.yaml")
	if out != jar+"\n"+yamlPath+"\n" || !strings.Contains(errs, "storm jar "+jar+" org.apache.storm.flux.Flux --remote "+yamlPath) {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
	yamlText, err := os.ReadFile(yamlPath)
	if err != nil || !strings.Contains(string(yamlText), "exec ./wc multilang --component sink") {
		t.Fatalf("yaml %s: %v", yamlText, err)
	}
	zr, err := zip.OpenReader(jar)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	self, _ := os.Executable()
	st, _ := os.Stat(self)
	if bin := entries["resources/wc"]; bin == nil || int64(bin.UncompressedSize64) != st.Size() || bin.Mode().Perm() != 0o755 {
		t.Errorf("resources/wc: %+v (want this binary, %d bytes, mode 755)", bin, st.Size())
	}
	if entries[fluxgen.YAMLEntry] == nil {
		t.Errorf("no %s in the jar", fluxgen.YAMLEntry)
	}

	jarOnly := filepath.Join(t.TempDir(), "sub", "mine.jar")
	small := filepath.Join(t.TempDir(), "linux-bin")
	if err := os.WriteFile(small, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runPackage(t, builder(), "-o", jarOnly, "--binary", small); code != 0 {
		t.Fatalf("-o mine.jar: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(strings.TrimSuffix(jarOnly, ".jar") + ".yaml"); err != nil {
		t.Errorf("-o mine.jar: %v", err)
	}

	shellTopo := topology.NewBuilder()
	shellTopo.SetShellSpout("py", []string{"python3", "s.py"}, map[string]topology.StreamDef{"default": {Fields: topology.Fields{"w"}}}, 1)
	if _, errs, code := runPackage(t, shellTopo, "-o", t.TempDir()); code != 1 || !strings.Contains(errs, "MainWithResources") {
		t.Errorf("shell component without resources: exit %d, %s", code, errs)
	}
}

// TestCrossBuild: off linux/amd64, the binary packaged is a linux/amd64
// build of the main package.
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	exe, cleanup, err := linuxBinary(context.Background(), "", "github.com/localstorm/localstorm/examples/wordcount/cmd/wordcount", "darwin", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v, want x86-64", f.Machine)
	}
	if _, _, err := linuxBinary(context.Background(), "", "", "darwin", "arm64"); err == nil || !strings.Contains(err.Error(), "--binary") {
		// A test binary's build info names no main package go can build.
		t.Errorf("no main package: %v", err)
	}
}

// TestStormPackageMetricsConsumers: a topology registering a metrics
// consumer implemented in Go is refused with the reason; with
// --drop-local-consumers it is packaged without it, with a warning, while
// Storm's logging consumer stays in the YAML's config.
func TestStormPackageMetricsConsumers(t *testing.T) {
	const goClass = "com.example.run.GoConsumer"
	if err := topology.RegisterMetricsConsumer(goClass, func(topology.MetricsConsumerEnv) (topology.MetricsConsumer, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	b := builder()
	b.SetConf(topology.MetricsConsumerRegisterKey, []any{
		map[string]any{"class": topology.LoggingMetricsConsumerClass},
		map[string]any{"class": goClass},
	})
	small := filepath.Join(t.TempDir(), "linux-bin")
	if err := os.WriteFile(small, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runPackage(t, b, "-o", t.TempDir(), "--binary", small)
	if code != 1 || !strings.Contains(errs, `metrics consumer "`+goClass+`" is implemented in Go`) || !strings.Contains(errs, "--drop-local-consumers") {
		t.Errorf("Go consumer: exit %d, %s", code, errs)
	}
	dir := t.TempDir()
	_, errs, code = runPackage(t, b, "-o", dir, "--binary", small, "--drop-local-consumers")
	if code != 0 || !strings.Contains(errs, "warning: metrics consumers "+goClass+" are implemented in Go and left out") {
		t.Fatalf("--drop-local-consumers: exit %d, %s", code, errs)
	}
	yamlText, err := os.ReadFile(filepath.Join(dir, "topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if y := string(yamlText); strings.Contains(y, goClass) || !strings.Contains(y, "class: "+topology.LoggingMetricsConsumerClass) {
		t.Errorf("YAML config:\n%s\nwant Storm's logging consumer and not %s", y, goClass)
	}
}
