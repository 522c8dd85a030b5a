package forwardauth

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// FuzzForwardAuthRequest drives both shapes of the door through its mux
// with fuzzed X-Forwarded-Method/-Uri/-Host (or X-Original-*) headers and a
// fuzzed target after the Envoy prefix. It never panics; a call is either
// decided (200 here) or refused without reaching the decision core; a
// decided request holds what the router relies on (upper-case method, a
// path starting with '/' without query or fragment, a query without
// fragment, lower-case header names); the two shapes agree on plain
// targets. Seeds: testdata/fuzz/FuzzForwardAuthRequest.
func FuzzForwardAuthRequest(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	f.Fuzz(func(t *testing.T, method, uri, host, target string, original bool, xff string) {
		serve := func(r *http.Request) (*gatehouse.Request, int) {
			if xff != "" {
				r.Header["X-Forwarded-For"] = []string{xff}
			}
			rec := &recorder{d: gatehouse.Decision{Allow: true, Status: 200}}
			mux := http.NewServeMux()
			New(rec, trusted).Register(mux)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if (rec.got != nil) != (w.Code == http.StatusOK) {
				t.Fatalf("status %d, decided %v", w.Code, rec.got != nil)
			}
			if rec.got != nil {
				checkRequest(t, rec.got)
			}
			return rec.got, w.Code
		}

		fr := &http.Request{Method: "GET", URL: &url.URL{Path: ForwardAuthPath}, RequestURI: ForwardAuthPath,
			Header: http.Header{}, Host: "gatehouse:8080", RemoteAddr: "127.0.0.1:5555", Body: http.NoBody}
		if original {
			fr.Header["X-Original-Method"] = []string{method}
			fr.Header["X-Original-Url"] = []string{uri}
			fr.Host = host
		} else {
			fr.Header["X-Forwarded-Method"] = []string{method}
			fr.Header["X-Forwarded-Uri"] = []string{uri}
			fr.Header["X-Forwarded-Host"] = []string{host}
		}
		fwd, _ := serve(fr)
		if fwd != nil && !strings.HasPrefix(strings.TrimSpace(uri), "/") && !strings.Contains(uri, "://") {
			t.Fatalf("relative URI %q decided as %q", uri, fwd.Path)
		}

		// Envoy's HTTP ext_authz: net/http parses the request line so.
		u, err := url.ParseRequestURI(EnvoyPrefix + target)
		if err != nil || !isToken(method) {
			return
		}
		er := &http.Request{Method: method, URL: u, RequestURI: EnvoyPrefix + target, Header: http.Header{},
			Host: host, RemoteAddr: "127.0.0.1:5555", Body: http.NoBody}
		env, _ := serve(er)
		if env != nil && fwd != nil && target == uri && !original && isPlain(uri) &&
			(env.Method != fwd.Method || env.Path != fwd.Path || env.Query != fwd.Query) {
			t.Fatalf("doors disagree on %s %q: envoy %s %q ? %q, forward-auth %s %q ? %q",
				method, uri, env.Method, env.Path, env.Query, fwd.Method, fwd.Path, fwd.Query)
		}
	})
}

func checkRequest(t *testing.T, r *gatehouse.Request) {
	t.Helper()
	switch {
	case r.Method == "" || r.Method != strings.ToUpper(r.Method):
		t.Fatalf("method %q is not upper case", r.Method)
	case !strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, "?#"):
		t.Fatalf("path %q: the router needs '/' first and no query or fragment", r.Path)
	case strings.Contains(r.Query, "#"):
		t.Fatalf("query %q keeps a fragment", r.Query)
	case r.Headers == nil:
		t.Fatal("nil headers")
	}
	if ip, err := netip.ParseAddr(r.SourceIP); err != nil || ip.Is4In6() {
		t.Fatalf("source %q is not an unmapped IP address", r.SourceIP)
	}
	for k := range r.Headers {
		if k != strings.ToLower(k) {
			t.Fatalf("header name %q is not lower case", k)
		}
	}
}

// isToken: an HTTP method net/http would accept on the request line.
func isToken(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > '~' || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r)
	}) < 0
}

// isPlain: a target every proxy passes through unchanged.
func isPlain(s string) bool {
	return strings.HasPrefix(s, "/") && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-._~?=&", r))
	}) < 0
}
