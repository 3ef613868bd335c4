package submit

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// codeSHA256 hashes once per unchanged binary, always answers the file's
// current content, and leaves the file at its start for the upload.
func TestCodeSHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stormcode")
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(remember bool) (string, []byte) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s, err := codeSHA256(f, remember)
		if err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return s, rest
	}
	t0 := time.Now().Add(-time.Hour)
	write("version one", t0)
	if s, rest := sum(true); s != sumOf([]byte("version one")) || string(rest) != "version one" {
		t.Fatalf("first sum %s, file left at %q", s, rest)
	}
	f, _ := os.Open(path)
	id, _ := identify(f)
	f.Close()
	if _, ok := codeSums.Load(id); !ok {
		t.Fatal("the sum of an unchanged binary was not kept")
	}
	if s, rest := sum(true); s != sumOf([]byte("version one")) || string(rest) != "version one" {
		t.Fatalf("second sum %s, file left at %q", s, rest)
	}
	// Rebuilt in place, same size: the new modification time tells.
	write("version two", t0.Add(time.Second))
	if s, _ := sum(true); s != sumOf([]byte("version two")) {
		t.Fatalf("sum after a rewrite %s, want the new content's", s)
	}
	// Without remember (a Flux bundle, a temp file each time) nothing is kept.
	other := filepath.Join(t.TempDir(), "bundle.tgz")
	if err := os.WriteFile(other, []byte("bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, _ := os.Open(other)
	defer g.Close()
	if s, err := codeSHA256(g, false); err != nil || s != sumOf([]byte("bundle")) {
		t.Fatalf("bundle sum %s %v", s, err)
	}
	gid, _ := identify(g)
	if _, ok := codeSums.Load(gid); ok {
		t.Fatal("a sum was kept without remember")
	}
}
