package nimbus

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
)

// apiRequest is one request to the handler, as a client or browser would send it.
type apiRequest struct {
	method, path string
	host         string            // "" = 127.0.0.1:8080
	header       map[string]string // Content-Type, Origin, Sec-Fetch-Site...
	body         string
}

// serve runs req through h and returns the status, the reply's errorMessage
// (if any) and the recorder.
func serve(t *testing.T, h http.Handler, req apiRequest) (int, string, *httptest.ResponseRecorder) {
	t.Helper()
	r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
	r.Host = req.host
	if r.Host == "" {
		r.Host = "127.0.0.1:8080"
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var reply api.ErrorReply
	_ = json.Unmarshal(w.Body.Bytes(), &reply)
	return w.Code, reply.ErrorMessage, w
}

var (
	jsonType = map[string]string{"Content-Type": api.ContentTypeJSON}
	// fromUI is what the embedded web UI's fetch sends: same origin, JSON.
	fromUI = map[string]string{"Content-Type": api.ContentTypeJSON, "Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
)

func TestAPIServesOnlyItsHosts(t *testing.T) {
	e := newEnv(t, nil)
	hosts, err := apiHosts([]string{"Storm.LAN.", "10.1.2.3"}, &net.TCPAddr{IP: net.IPv4(192, 168, 0, 7), Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(e.n, handlerOptions{maxUpload: 1 << 20, maxJSON: maxJSONBody, hosts: hosts}, testutil.Logger(t, slog.LevelDebug))
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:8080", 200},
		{"127.0.0.1", 200},
		{"127.9.8.7:1", 200},
		{"localhost:8080", 200},
		{"LOCALHOST.:8080", 200},
		{"[::1]:8080", 200},
		{"[::ffff:127.0.0.1]:8080", 200},
		{"storm.lan:8080", 200},    // --api-host, any case, trailing dot
		{"10.1.2.3", 200},          // --api-host
		{"192.168.0.7:8080", 200},  // the address bound
		{"evil.example", 403},      // DNS rebinding: the attacker's name resolved to 127.0.0.1
		{"evil.example:8080", 403}, //
		{"localhost.evil.example:8080", 403},
		{"127.0.0.1.nip.io:8080", 403},
		{"192.168.0.8:8080", 403},
		{"[::2]:8080", 403},
		{"0.0.0.0:8080", 403},
	} {
		t.Run(tc.host, func(t *testing.T) {
			for _, path := range []string{api.PathClusterSummary, "/"} {
				status, msg, _ := serve(t, h, apiRequest{method: "GET", path: path, host: tc.host})
				if status != tc.want {
					t.Errorf("GET %s Host %s: %d %s, want %d", path, tc.host, status, msg, tc.want)
				}
				if status == 403 && !strings.Contains(msg, "--api-host") {
					t.Errorf("refusal %q does not say how to allow the name (--api-host)", msg)
				}
			}
		})
	}
	// The handler that nimbus serves applies the same rule.
	if status, _, _ := serve(t, e.n.Handler(), apiRequest{method: "GET", path: api.PathClusterSummary, host: "evil.example"}); status != 403 {
		t.Errorf("nimbus's own handler served Host evil.example: %d", status)
	}

	for _, bad := range []string{"", "http://storm.lan", "storm.lan:8080", "storm.lan/x", "*.lan", "a b"} {
		if _, err := apiHosts([]string{bad}, nil); err == nil {
			t.Errorf("api host %q accepted", bad)
		}
	}
	if got, err := apiHosts([]string{"[fe80::1]", "::1"}, &net.TCPAddr{IP: net.IPv4zero, Port: 80}); err != nil || !got["fe80::1"] || !got["::1"] || len(got) != 2 {
		t.Errorf("api hosts of IPv6 literals and a bind to 0.0.0.0: %v %v", got, err)
	}
}

func TestAPIRefusesCrossSiteWrites(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	id := e.submit("wc", nil)
	h := e.n.Handler()
	deactivate := api.PathTopology + id + "/deactivate"
	kill := api.PathTopology + id + "/kill/0"
	rebalance := api.PathTopology + id + "/rebalance/0"
	submit, _ := json.Marshal(e.upload("other", []byte("other code")))

	for _, tc := range []struct {
		name string
		req  apiRequest
		want int
	}{
		// A page of another site: a form or a no-cors fetch.
		{"cross-origin text/plain", apiRequest{method: "POST", path: deactivate, header: map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}}, 403},
		{"cross-origin form", apiRequest{method: "POST", path: kill, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}}, 403},
		{"cross-origin no body", apiRequest{method: "POST", path: kill, header: map[string]string{"Origin": "null"}}, 403},
		{"cross-origin JSON", apiRequest{method: "POST", path: rebalance, header: map[string]string{"Content-Type": api.ContentTypeJSON, "Origin": "http://evil.example"}, body: `{"rebalanceOptions":{"numWorkers":2}}`}, 403},
		{"same-site other port", apiRequest{method: "POST", path: deactivate, header: map[string]string{"Content-Type": api.ContentTypeJSON, "Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-site"}}, 403},
		{"cross-origin submit", apiRequest{method: "POST", path: api.PathTopologies, header: map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, body: string(submit)}, 403},
		{"cross-origin upload", apiRequest{method: "POST", path: api.PathUploads, header: map[string]string{"Content-Type": api.ContentTypeUpload, "Sec-Fetch-Site": "cross-site"}, body: "code"}, 403},
		// DNS rebinding: same-origin for the browser, but not our name.
		{"rebound name", apiRequest{method: "POST", path: kill, host: "evil.example:8080", header: map[string]string{"Content-Type": api.ContentTypeJSON, "Origin": "http://evil.example:8080", "Sec-Fetch-Site": "same-origin"}}, 403},
		// Not a browser (no Origin), but not JSON either.
		{"no type", apiRequest{method: "POST", path: deactivate}, 415},
		{"text/plain", apiRequest{method: "POST", path: deactivate, header: map[string]string{"Content-Type": "text/plain"}}, 415},
		{"form", apiRequest{method: "POST", path: kill, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "a=b"}, 415},
		{"submit as text", apiRequest{method: "POST", path: api.PathTopologies, header: map[string]string{"Content-Type": "text/plain"}, body: string(submit)}, 415},
		{"upload as JSON", apiRequest{method: "POST", path: api.PathUploads, header: jsonType, body: "code"}, 415},
		{"upload as text", apiRequest{method: "POST", path: api.PathUploads, header: map[string]string{"Content-Type": "text/plain"}, body: "code"}, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, msg, _ := serve(t, h, tc.req)
			if status != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.req.method, tc.req.path, status, msg, tc.want)
			}
			if got := e.state.status(id); got != "ACTIVE" {
				t.Fatalf("status %s after a refused request: it changed something", got)
			}
			if ids, _ := e.state.ActiveStorms(); len(ids) != 1 {
				t.Fatalf("storms %v after a refused request: it changed something", ids)
			}
		})
	}

	// What the web UI sends passes: reads, then an action from its dialog.
	for _, path := range []string{"/", "/app.js", api.PathClusterSummary, api.PathTopology + id} {
		if status, msg, _ := serve(t, h, apiRequest{method: "GET", path: path, header: map[string]string{"Sec-Fetch-Site": "same-origin", "Accept": "application/json"}}); status != 200 {
			t.Errorf("the UI's GET %s: %d %s", path, status, msg)
		}
	}
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: deactivate, header: fromUI}); status != 200 || e.state.status(id) != "INACTIVE" {
		t.Errorf("the UI's deactivate: %d %s, status %s", status, msg, e.state.status(id))
	}
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: api.PathTopology + id + "/activate", header: fromUI}); status != 200 || e.state.status(id) != "ACTIVE" {
		t.Errorf("the UI's activate: %d %s, status %s", status, msg, e.state.status(id))
	}
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: rebalance, header: fromUI, body: `{"rebalanceOptions":{"numWorkers":2}}`}); status != 200 {
		t.Errorf("the UI's rebalance: %d %s", status, msg)
	}
	// A command-line client: no Origin, JSON, charset allowed.
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: api.PathTopologies, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, body: string(submit)}); status != 200 {
		t.Errorf("a CLI submit: %d %s", status, msg)
	}
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: api.PathUploads, header: map[string]string{"Content-Type": api.ContentTypeUpload, api.HeaderChecksum: sum([]byte("x"))}, body: "x"}); status != 200 {
		t.Errorf("a CLI upload: %d %s", status, msg)
	}
}

func TestAPIErrorsAre4xx(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700, 6701)
	id := e.submit("wc", nil)
	h := newHandler(e.n, handlerOptions{maxUpload: 1 << 20, maxJSON: 1 << 10}, testutil.Logger(t, slog.LevelDebug))
	nonBMP := e.upload("wc\U0001F600", []byte("emoji"))
	nonBMPBody, _ := json.Marshal(nonBMP)
	private := nonBMP
	private.Name = "wc\ue000"
	privateBody, _ := json.Marshal(private)
	big := `{"name":"` + strings.Repeat("x", 2<<10) + `"}`

	for _, tc := range []struct {
		name   string
		req    apiRequest
		status int
		msg    string // in errorMessage
		allow  string // the Allow header of a 405
	}{
		{"dot-dot-slash id", apiRequest{method: "GET", path: api.PathTopology + "%2e%2e%2f"}, 400, "NAME-COUNTER-LAUNCHSECS", ""},
		{"dot-dot id in an action", apiRequest{method: "POST", path: api.PathTopology + "%2e%2e/kill", header: jsonType}, 400, "topology id", ""},
		{"slash in id", apiRequest{method: "GET", path: api.PathTopology + "a%2Fb/conf"}, 400, "topology id", ""},
		{"slash in id of an action", apiRequest{method: "POST", path: api.PathTopology + "..%2F..%2Fx/deactivate", header: jsonType}, 400, "topology id", ""},
		{"NUL in id", apiRequest{method: "GET", path: api.PathTopology + "wc%00-1-1"}, 400, "control characters", ""},
		{"non-BMP id", apiRequest{method: "GET", path: api.PathTopology + "wc%F0%9F%98%80-1-1/definition"}, 400, "above U+FFFF", ""},
		{"bad id in code download", apiRequest{method: "GET", path: api.PathTopology + "%2e%2e/code/stormconf.json"}, 400, "topology id", ""},
		{"slash in component", apiRequest{method: "GET", path: api.PathTopology + id + "/component/a%2Fb/errors"}, 400, "component id", ""},
		{"dot-dot component", apiRequest{method: "GET", path: api.PathTopology + id + "/component/%2e%2e/errors"}, 400, "component id", ""},
		{"non-BMP name", apiRequest{method: "POST", path: api.PathTopologies, header: jsonType, body: string(nonBMPBody)}, 400, "U+1F600, which ZooKeeper refuses", ""},
		{"private-use name", apiRequest{method: "POST", path: api.PathTopologies, header: jsonType, body: string(privateBody)}, 400, "Basic Multilingual Plane", ""},
		{"GET of an action", apiRequest{method: "GET", path: api.PathTopology + id + "/kill"}, 405, "use POST", "POST"},
		{"DELETE of an action", apiRequest{method: "DELETE", path: api.PathTopology + id + "/kill/0"}, 405, "use POST", "POST"},
		{"PUT of a summary", apiRequest{method: "PUT", path: api.PathClusterSummary, header: jsonType}, 405, "use GET or HEAD", "GET, HEAD"},
		{"DELETE of a topology", apiRequest{method: "DELETE", path: api.PathTopology + id}, 405, "method not allowed", "GET, HEAD"},
		{"POST of a topology", apiRequest{method: "POST", path: api.PathTopology + id, header: jsonType}, 405, "method not allowed", "GET, HEAD"},
		{"GET of submit", apiRequest{method: "GET", path: api.PathTopologies}, 405, "use POST", "POST"},
		{"unknown path", apiRequest{method: "POST", path: "/api/v1/nothing", header: jsonType}, 404, "no API", ""},
		{"oversized JSON", apiRequest{method: "POST", path: api.PathTopologies, header: jsonType, body: big}, 413, "larger than 1024 bytes", ""},
		{"oversized rebalance", apiRequest{method: "POST", path: api.PathTopology + id + "/rebalance/0", header: jsonType, body: `{"rebalanceOptions":{"numWorkers":2,"executors":{"count":1}},"x":"` + strings.Repeat("x", 2<<10) + `"}`}, 413, "larger than", ""},
		{"rebalance above the tasks", apiRequest{method: "POST", path: api.PathTopology + id + "/rebalance/0", header: jsonType, body: `{"rebalanceOptions":{"executors":{"count":5}}}`}, 400, `"count": 5 executors for 3 tasks`, ""},
		{"rebalance to 0 executors", apiRequest{method: "POST", path: api.PathTopology + id + "/rebalance/0", header: jsonType, body: `{"rebalanceOptions":{"executors":{"count":0}}}`}, 400, "Number of executors must be greater than 0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, msg, w := serve(t, h, tc.req)
			if status != tc.status || !strings.Contains(msg, tc.msg) {
				t.Errorf("%s %s: %d %q, want %d with %q", tc.req.method, tc.req.path, status, msg, tc.status, tc.msg)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if ct := w.Header().Get("Content-Type"); ct != api.ContentTypeJSON {
				t.Errorf("Content-Type %q, want the API's JSON error", ct)
			}
		})
	}
	if ids, _ := e.state.ActiveStorms(); len(ids) != 1 || e.state.status(id) != "ACTIVE" {
		t.Errorf("storms %v, status %s: a refused request changed something", ids, e.state.status(id))
	}
	// The client maps the new statuses back to their kinds.
	c := api.NewClient(e.n.APIURL())
	if err := c.Rebalance(t.Context(), id, 0, 0, map[string]int{"count": 9}); api.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "9 executors for 3 tasks") {
		t.Errorf("client rebalance above the tasks: %v", err)
	}
}
