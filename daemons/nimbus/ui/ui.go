// Package ui serves localstorm's web UI: a single page of plain HTML, CSS and
// JavaScript, embedded in the binary, that reads nimbus's JSON API (package
// api) and shows the cluster, its supervisors and slots, the topologies, and
// one topology's components, executors, workers, errors and graph, with the
// topology actions. It loads nothing from the network but its own origin and
// the API, so it works offline in a workshop.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// apiBasePlaceholder is replaced in index.html by the API base URL, which
// app.js reads from <meta name="api-base">.
const apiBasePlaceholder = "__API_BASE__"

// asset is one file the UI serves.
type asset struct {
	file        string
	contentType string
}

// assets maps each URL path the UI answers to its embedded file. Anything
// else is not the UI's: it answers 404 so a mistyped API path is not hidden
// behind the page.
var assets = map[string]asset{
	"/":           {"index.html", "text/html; charset=utf-8"},
	"/index.html": {"index.html", "text/html; charset=utf-8"},
	"/app.js":     {"app.js", "text/javascript; charset=utf-8"},
	"/style.css":  {"style.css", "text/css; charset=utf-8"},
	// The event timeline and the fault buttons.
	"/timeline.js":  {"timeline.js", "text/javascript; charset=utf-8"},
	"/timeline.css": {"timeline.css", "text/css; charset=utf-8"},
}

// Handler returns the UI's handler, to mount at "/" beside the API routes
// (which, being more specific, take precedence). apiBase is the base URL of
// the API the page calls, e.g. "http://127.0.0.1:8080"; "" means the page's
// own origin (relative URLs /api/v1/...), which is how nimbus serves it.
func Handler(apiBase string) http.Handler {
	apiBase = strings.TrimRight(apiBase, "/")
	files := make(map[string][]byte, len(assets))
	for _, a := range assets {
		b, err := static.ReadFile("static/" + a.file)
		if err != nil {
			// The files are embedded at build time; a missing one is a build defect.
			panic(fmt.Sprintf("ui: embedded %s missing: %v", a.file, err))
		}
		if a.file == "index.html" {
			b = bytes.ReplaceAll(b, []byte(apiBasePlaceholder), []byte(html.EscapeString(apiBase)))
		}
		files[a.file] = b
	}
	csp := contentSecurityPolicy(apiBase)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.Error(w, fmt.Sprintf("404 not found: the UI has no page %s; open / instead", r.URL.Path), http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, fmt.Sprintf("405 method not allowed: the UI serves %s with GET only", r.URL.Path), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		// no-cache: revalidate every load, so a rebuilt binary's UI shows at once.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, a.file, time.Time{}, bytes.NewReader(files[a.file]))
	})
}

// contentSecurityPolicy allows the page its own scripts and styles only, and
// API calls to its origin plus apiBase's origin when that is another one.
func contentSecurityPolicy(apiBase string) string {
	connect := "'self'"
	if u, err := url.Parse(apiBase); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
