package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// codeServer serves the three code files; code is served under codeName
// with the announced checksum.
func codeServer(t *testing.T, code, codeName, checksum string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/code/"+CodeFileBinary):
			w.Header().Set(HeaderCodeFile, codeName)
			w.Header().Set(HeaderChecksum, checksum)
			io.WriteString(w, code)
		case strings.HasSuffix(r.URL.Path, "/code/"+CodeFileConf):
			io.WriteString(w, `{"topology.workers":1}`)
		case strings.HasSuffix(r.URL.Path, "/code/"+CodeFileDefinition):
			io.WriteString(w, `{"v":1}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDownloadCode(t *testing.T) {
	tests := []struct {
		name, codeName, checksum string
		wantFile, wantErr        string
	}{
		{"binary", CodeFileBinary, hexSum("bin"), CodeFileBinary, ""},
		{"flux archive", CodeFileArchive, hexSum("bin"), CodeFileArchive, ""},
		{"checksum mismatch", CodeFileBinary, hexSum("other"), "", "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := codeServer(t, "bin", tt.codeName, tt.checksum)
			dest := filepath.Join(t.TempDir(), "code")
			err := NewClient(srv.URL).DownloadCode(t.Context(), "wc-1-1", dest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %s", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dest, CodeFileBinary)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("code file present after a failed download: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				st, err := os.Stat(filepath.Join(dest, tt.wantFile))
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantFile == CodeFileBinary && st.Mode()&0o111 == 0 {
					t.Errorf("binary not executable: %v", st.Mode())
				}
			}
			entries, _ := os.ReadDir(dest)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case PathClusterSummary:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"Not Found","errorMessage":"no topology \"x\""}`)
		case PathTopologySummary:
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "proxy says no")
		case PathSupervisorSummary:
			io.WriteString(w, "{not json")
		default:
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"Conflict","errorMessage":"topology x is KILLED: activate is not possible in that state"}`)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL + "/")
	ctx := t.Context()
	_, err := c.ClusterSummary(ctx)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `no topology "x"`) {
		t.Errorf("404: %v", err)
	}
	if _, err := c.TopologySummary(ctx); !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "proxy says no") {
		t.Errorf("502 with a text body: %v", err)
	}
	if _, err := c.SupervisorSummary(ctx); err == nil || !strings.Contains(err.Error(), "decode reply") {
		t.Errorf("bad JSON: %v", err)
	}
	if err := c.Activate(ctx, "x"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not possible") {
		t.Errorf("409: %v", err)
	}
	if _, err := NewClient("http://127.0.0.1:1").ClusterSummary(ctx); err == nil {
		t.Error("no error from a closed port")
	}
}

func TestStatusOf(t *testing.T) {
	for kind, status := range map[error]int{ErrInvalid: 400, ErrNotFound: 404, ErrConflict: 409, ErrTooLarge: 413, ErrShutdown: 503, errors.New("x"): 500} {
		if got := StatusOf(errors.Join(errors.New("context"), kind)); got != status {
			t.Errorf("StatusOf(%v) = %d, want %d", kind, got, status)
		}
	}
}
