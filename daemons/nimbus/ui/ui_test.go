package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(body)
}

func TestHandlerServesPagesAndAssets(t *testing.T) {
	srv := httptest.NewServer(Handler(""))
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", `<link rel="stylesheet" href="style.css">`},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", "/api/v1/"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", ".graph"},
		{"GET", "/timeline.js", 200, "text/javascript; charset=utf-8", "/api/v1/events/stream"},
		{"GET", "/timeline.css", 200, "text/css; charset=utf-8", ".events"},
		{"HEAD", "/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/nope.js", 404, "text/plain; charset=utf-8", "open / instead"},
		{"GET", "/static/app.js", 404, "text/plain; charset=utf-8", "no page"},
		{"POST", "/", 405, "text/plain; charset=utf-8", "GET only"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := get(t, srv, tt.method, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q:\n%.300s", tt.contains, body)
			}
			if tt.method == "HEAD" && body != "" {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
			if tt.status == 200 {
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
				if resp.Header.Get("Content-Security-Policy") == "" {
					t.Error("no Content-Security-Policy")
				}
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}
}

// Every file index.html references must be served by the handler itself:
// the UI loads nothing from elsewhere.
func TestIndexReferencesOnlyServedAssets(t *testing.T) {
	srv := httptest.NewServer(Handler(""))
	defer srv.Close()
	_, index := get(t, srv, "GET", "/")
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d files, want app.js and style.css at least", len(refs))
	}
	for _, m := range refs {
		if m[1] == "data:," {
			continue
		}
		if resp, _ := get(t, srv, "GET", "/"+m[1]); resp.StatusCode != 200 {
			t.Errorf("index.html references %q, served with status %d", m[1], resp.StatusCode)
		}
	}
}

// No asset may load anything from the network (workshops run offline): the
// only absolute URLs allowed are the XML namespaces DOM calls need.
func TestAssetsHaveNoExternalURLs(t *testing.T) {
	allowed := map[string]bool{"http://www.w3.org/1999/xhtml": true, "http://www.w3.org/2000/svg": true}
	urlRE := regexp.MustCompile(`(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^'"\s)]*`)
	for _, a := range assets {
		b, err := static.ReadFile("static/" + a.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urlRE.FindAllString(string(b), -1) {
			if !allowed[u] {
				t.Errorf("%s refers to %q: the UI must not load external resources", a.file, u)
			}
		}
	}
}

func TestHandlerAPIBase(t *testing.T) {
	tests := []struct {
		apiBase     string
		wantMeta    string
		wantConnect string
	}{
		{"", `<meta name="api-base" content="">`, "connect-src 'self';"},
		{"http://127.0.0.1:9000/", `<meta name="api-base" content="http://127.0.0.1:9000">`, "connect-src 'self' http://127.0.0.1:9000;"},
		{"/proxy", `<meta name="api-base" content="/proxy">`, "connect-src 'self';"},
		// Markup in the base is escaped, never injected into the page.
		{`x"><script>alert(1)</script>`, `content="x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`, "connect-src 'self';"},
	}
	for _, tt := range tests {
		t.Run(tt.apiBase, func(t *testing.T) {
			srv := httptest.NewServer(Handler(tt.apiBase))
			defer srv.Close()
			resp, body := get(t, srv, "GET", "/")
			if !strings.Contains(body, tt.wantMeta) {
				t.Errorf("index.html lacks %s:\n%.400s", tt.wantMeta, body)
			}
			if strings.Contains(body, "<script>alert") {
				t.Error("api base injected markup into the page")
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantConnect) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, tt.wantConnect)
			}
		})
	}
}
