package supervisor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func makeTarGz(t testing.TB, entries []tarEntry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o755, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestUntarGz(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		wantErr string
		files   map[string]string
	}{
		{"files and dirs", []tarEntry{
			{name: "topo.yaml", typeflag: tar.TypeReg, body: "name: x"},
			{name: "multilang/", typeflag: tar.TypeDir},
			{name: "multilang/resources/splitsentence.py", typeflag: tar.TypeReg, body: "import storm"},
		}, "", map[string]string{"topo.yaml": "name: x", "multilang/resources/splitsentence.py": "import storm"}},
		{"parent escape", []tarEntry{{name: "../evil", typeflag: tar.TypeReg, body: "x"}}, "outside", nil},
		{"deep escape", []tarEntry{{name: "a/../../evil", typeflag: tar.TypeReg, body: "x"}}, "outside", nil},
		{"absolute", []tarEntry{{name: "/etc/evil", typeflag: tar.TypeReg, body: "x"}}, "outside", nil},
		{"symlink", []tarEntry{{name: "link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}}, "only regular files", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "resources")
			err := untarGz(bytes.NewReader(makeTarGz(t, tc.entries)), dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
					t.Fatal("an entry was written outside the resources dir")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, body := range tc.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != body {
					t.Errorf("%s = %q, %v; want %q", name, got, err, body)
				}
			}
		})
	}
	if err := untarGz(strings.NewReader("not gzip"), t.TempDir()); err == nil {
		t.Error("garbage unpacked without an error")
	}
}

func FuzzUntarGz(f *testing.F) {
	f.Add(makeTarGz(f, []tarEntry{{name: "a.yaml", typeflag: tar.TypeReg, body: "x"}, {name: "d/", typeflag: tar.TypeDir}}))
	f.Add(makeTarGz(f, []tarEntry{{name: "../x", typeflag: tar.TypeReg, body: "x"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "resources")
		untarGz(bytes.NewReader(data), dir)
		// Whatever the archive, nothing may appear beside the resources dir.
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if e.Name() != "resources" {
				t.Fatalf("archive wrote %s outside the resources dir", e.Name())
			}
		}
	})
}
