package submit

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range files {
		h := &zip.FileHeader{Name: name}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestExtractPackage: a package's resources/ land in the dir (modes kept)
// with its topology.yaml; other entries stay out; entries escaping the dir
// and jars without topology.yaml are refused.
func TestExtractPackage(t *testing.T) {
	dir := t.TempDir()
	jar := filepath.Join(dir, "p.jar")
	writeZip(t, jar, map[string]string{"topology.yaml": "name: x\n", "resources/bin": "ELF", "resources/sub/f.txt": "f", "org/Foo.class": "java"})
	out := t.TempDir()
	if err := extractPackage(jar, out, true); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"topology.yaml": "name: x\n", "bin": "ELF", "sub/f.txt": "f"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "bin")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin not executable: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(out, "org")); err == nil {
		t.Error("a class file outside resources/ was extracted")
	}

	evil := filepath.Join(dir, "evil.jar")
	writeZip(t, evil, map[string]string{"topology.yaml": "", "resources/../../x": "x"})
	if err := extractPackage(evil, t.TempDir(), true); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("zip slip: %v", err)
	}
	java := filepath.Join(dir, "java.jar")
	writeZip(t, java, map[string]string{"org/Foo.class": "java"})
	if err := extractPackage(java, t.TempDir(), true); err == nil || !strings.Contains(err.Error(), "no topology.yaml") {
		t.Errorf("a jar of classes: %v", err)
	}
}

// TestPackageBeside: a Flux file next to one package jar runs with it; two
// are ambiguous; jars that are not packages are not taken for one.
func TestPackageBeside(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "topology.yaml")
	writeZip(t, filepath.Join(dir, "lib.jar"), map[string]string{"org/Foo.class": "java"})
	if got, err := packageBeside(yamlPath); got != "" || err != nil {
		t.Errorf("no package: %q %v", got, err)
	}
	writeZip(t, filepath.Join(dir, "a.jar"), map[string]string{"topology.yaml": ""})
	if got, err := packageBeside(yamlPath); got != filepath.Join(dir, "a.jar") || err != nil {
		t.Errorf("one package: %q %v", got, err)
	}
	writeZip(t, filepath.Join(dir, "b.jar"), map[string]string{"topology.yaml": ""})
	if _, err := packageBeside(yamlPath); err == nil || !strings.Contains(err.Error(), "several Storm packages") {
		t.Errorf("two packages: %v", err)
	}
}
