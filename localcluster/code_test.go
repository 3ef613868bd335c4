package localcluster

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/localstorm/localstorm/api"
)

// fakeHTTP records whether the HTTP path was taken and writes marker files.
type fakeHTTP struct{ calls int }

func (f *fakeHTTP) DownloadCode(_ context.Context, _ string, destDir string) error {
	f.calls++
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{api.CodeFileConf, api.CodeFileDefinition, api.CodeFileBinary} {
		if err := os.WriteFile(filepath.Join(destDir, name), []byte("http"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestLinkingDownloader(t *testing.T) {
	writeDist := func(t *testing.T, dist, id string, files ...string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dist, id), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dist, id, f), []byte("nimbus "+f), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		files    []string // in nimbus's stormdist/<id>
		id       string
		wantHTTP bool
		codeFile string // linked code file when not HTTP
	}{
		{"binary", []string{api.CodeFileConf, api.CodeFileDefinition, api.CodeFileBinary}, "t-1-1", false, api.CodeFileBinary},
		{"flux archive", []string{api.CodeFileConf, api.CodeFileDefinition, api.CodeFileArchive}, "t-2-1", false, api.CodeFileArchive},
		{"no stormdist: HTTP", nil, "t-3-1", true, ""},
		{"code file missing: HTTP", []string{api.CodeFileConf, api.CodeFileDefinition}, "t-4-1", true, ""},
		{"id escaping stormdist: HTTP", nil, "../x", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dist := filepath.Join(t.TempDir(), "stormdist")
			if tc.files != nil {
				writeDist(t, dist, tc.id, tc.files...)
			}
			http := &fakeHTTP{}
			dest := filepath.Join(t.TempDir(), "code")
			d := linkingDownloader{distDir: dist, http: http}
			if err := d.DownloadCode(t.Context(), tc.id, dest); err != nil {
				t.Fatalf("DownloadCode: %v", err)
			}
			if got := http.calls == 1; got != tc.wantHTTP {
				t.Fatalf("HTTP download used = %v, want %v", got, tc.wantHTTP)
			}
			if tc.wantHTTP {
				return
			}
			for _, f := range []string{api.CodeFileConf, api.CodeFileDefinition, tc.codeFile} {
				src, err := os.Stat(filepath.Join(dist, tc.id, f))
				if err != nil {
					t.Fatal(err)
				}
				dst, err := os.Stat(filepath.Join(dest, f))
				if err != nil {
					t.Fatalf("%s not in the supervisor's dir: %v", f, err)
				}
				if src.Sys().(*syscall.Stat_t).Ino != dst.Sys().(*syscall.Stat_t).Ino {
					t.Errorf("%s is a copy, want a hard link of nimbus's file", f)
				}
			}
			// Nimbus removing its stormdist leaves the supervisor's code intact.
			if err := os.RemoveAll(filepath.Join(dist, tc.id)); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dest, tc.codeFile)); err != nil || string(b) != "nimbus "+tc.codeFile {
				t.Errorf("code after nimbus removed stormdist: %q, %v", b, err)
			}
		})
	}
}
