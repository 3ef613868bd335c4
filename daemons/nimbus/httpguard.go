package nimbus

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/localstorm/localstorm/api"
)

// The API runs code on this machine (a submit is a binary to execute) and has
// no accounts, so what keeps it local is three rules, checked in this order:
//
//  1. Host: every request names a loopback host (localhost, 127.0.0.0/8,
//     ::1), the address the API is bound to, or a name given in
//     Options.APIHosts (--api-host). This defeats DNS rebinding: a page of
//     evil.example whose name is made to resolve to 127.0.0.1 is same-origin
//     with itself, but its requests say Host: evil.example.
//  2. Origin: a state-changing request (any method but GET, HEAD, OPTIONS)
//     from a browser is same-origin (http.CrossOriginProtection: by
//     Sec-Fetch-Site, else by Origin against Host); a request with neither
//     header is a non-browser client's and passes.
//  3. Content type: every POST route takes one type (api.ContentTypeJSON,
//     even with no body, or api.ContentTypeUpload for code). A page cannot
//     send either to another origin without a CORS preflight, which nimbus
//     never grants, so this holds even where a browser or an extension strips
//     Origin.
//
// The embedded web UI is same-origin, and its fetches send JSON.

// guard applies the Host and Origin rules to every request before next.
func (h *apiHandler) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, fmt.Errorf("%w: %s %s: a cross-origin request from %q is refused: nimbus's API takes requests that change anything only from its own web UI and from clients that are not browsers",
			api.ErrForbidden, r.Method, r.URL.Path, r.Header.Get("Origin")))
	}))
	checked := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.hostAllowed(r.Host) {
			h.writeError(w, r, fmt.Errorf("%w: Host %q is not served: nimbus answers requests for localhost, 127.0.0.1, [::1] and the names given with --api-host (a guard against DNS rebinding); start it with --api-host NAME to reach it as NAME",
				api.ErrForbidden, r.Host))
			return
		}
		checked.ServeHTTP(w, r)
	})
}

// hostAllowed applies rule 1 to a Host header ("name", "name:port", "[ip6]:port").
func (h *apiHandler) hostAllowed(hostport string) bool {
	host := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		host = hh
	}
	host = canonicalHost(host)
	if host == "" {
		return false
	}
	if host == "localhost" || h.hosts[host] {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// canonicalHost lower-cases a host name, drops a final dot and the brackets
// of an IPv6 literal.
func canonicalHost(s string) string {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return s
}

// apiHosts checks the names given with --api-host and returns them in
// canonical form, with the bound address when it names one interface.
func apiHosts(names []string, bound net.Addr) (map[string]bool, error) {
	hosts := map[string]bool{}
	for _, n := range names {
		h := canonicalHost(strings.TrimSpace(n))
		if _, err := netip.ParseAddr(h); err != nil && (h == "" || strings.ContainsAny(h, ":/@?#*[] \t")) {
			return nil, fmt.Errorf("api host %q: give a host name or an IP address, without scheme or port", n)
		}
		hosts[h] = true
	}
	if tcp, ok := bound.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			hosts[ip.Unmap().String()] = true
		}
	}
	return hosts, nil
}

// requireContentType applies rule 3 to a POST route.
func requireContentType(want string, fn handlerFunc) handlerFunc {
	return func(r *http.Request) (any, error) {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
			return nil, fmt.Errorf("%w: %s %s with Content-Type %q: send Content-Type: %s (even with an empty body); other types are refused, so that no web page can post here",
				api.ErrMediaType, r.Method, r.URL.Path, ct, want)
		}
		return fn(r)
	}
}
