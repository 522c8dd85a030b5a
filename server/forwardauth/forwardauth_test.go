package forwardauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// recorder is a Decider that records the request and answers a fixed decision.
type recorder struct {
	got *gatehouse.Request
	d   gatehouse.Decision
}

func (r *recorder) Decide(_ context.Context, req *gatehouse.Request) gatehouse.Decision {
	r.got = req
	return r.d
}

func TestRequestShapes(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		host    string
		headers map[string]string
		body    string
		want    gatehouse.Request
	}{
		{
			name: "envoy http service: original method, path after the prefix, Host", method: "POST",
			target: "/ext_authz/api/v3/microservices?x=1", host: "api.example", body: "{}",
			headers: map[string]string{"Authorization": "Bearer t", "X-Forwarded-For": "203.0.113.7"},
			want:    gatehouse.Request{Method: "POST", Path: "/api/v3/microservices", Query: "x=1", Host: "api.example", SourceIP: "203.0.113.7", Body: []byte("{}")},
		},
		{
			name: "envoy http service: a lower-case method is upper-cased as on the gRPC door (found by fuzzing)", method: "get",
			target: "/ext_authz/api/v3/status", host: "api.example",
			want: gatehouse.Request{Method: "GET", Path: "/api/v3/status", Host: "api.example", SourceIP: "127.0.0.1"},
		},
		{
			name: "traefik ForwardAuth", method: "GET", target: "/forward-auth", host: "gatehouse:8080",
			headers: map[string]string{"X-Forwarded-Method": "delete", "X-Forwarded-Uri": "/api/v3/microservices/u1?force=1",
				"X-Forwarded-Host": "api.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1, 203.0.113.8"},
			want: gatehouse.Request{Method: "DELETE", Path: "/api/v3/microservices/u1", Query: "force=1", Host: "api.example", SourceIP: "203.0.113.8"},
		},
		{
			name: "caddy forward_auth", method: "GET", target: "/forward-auth", host: "gatehouse:8080",
			headers: map[string]string{"X-Forwarded-Method": "PUT", "X-Forwarded-Uri": "/api/v3/x", "X-Forwarded-Host": "caddy.example"},
			want:    gatehouse.Request{Method: "PUT", Path: "/api/v3/x", Host: "caddy.example", SourceIP: "127.0.0.1"},
		},
		{
			name: "nginx auth_request with X-Original-*", method: "GET", target: "/forward-auth", host: "nginx.example",
			headers: map[string]string{"X-Original-Method": "PATCH", "X-Original-URI": "/api/v3/y#frag", "X-Real-IP": "192.0.2.9"},
			want:    gatehouse.Request{Method: "PATCH", Path: "/api/v3/y", Host: "nginx.example", SourceIP: "192.0.2.9"},
		},
		{
			name: "absolute X-Original-URL", method: "GET", target: "/forward-auth", host: "h",
			headers: map[string]string{"X-Original-Method": "GET", "X-Original-Url": "https://a.example/api/v3/z?q"},
			want:    gatehouse.Request{Method: "GET", Path: "/api/v3/z", Query: "q", Host: "h", SourceIP: "127.0.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{d: gatehouse.Decision{Allow: true, Status: 200}}
			h := New(rec, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest(tt.method, tt.target, body)
			r.RemoteAddr = "127.0.0.1:5555"
			r.Host = tt.host
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 || rec.got == nil {
				t.Fatalf("status %d %s", w.Code, w.Body)
			}
			g := rec.got
			if g.Method != tt.want.Method || g.Path != tt.want.Path || g.Query != tt.want.Query || g.Host != tt.want.Host ||
				g.SourceIP != tt.want.SourceIP || string(g.Body) != string(tt.want.Body) {
				t.Fatalf("got %+v\nwant %+v", *g, tt.want)
			}
			for k, v := range tt.headers {
				if g.Headers[strings.ToLower(k)] != v {
					t.Errorf("header %s = %q, want %q", k, g.Headers[strings.ToLower(k)], v)
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name   string
		remote string
		target string
		hdr    map[string]string
		body   string
		status int
	}{
		{"untrusted peer is never decided", "192.0.2.1:1", "/forward-auth", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/"}, "", 403},
		{"untrusted peer on the envoy prefix", "192.0.2.1:1", "/ext_authz/x", nil, "", 403},
		{"trusted v4 in v6 form", "[::ffff:10.1.2.3]:1", "/forward-auth", map[string]string{"X-Forwarded-Uri": "/"}, "", 400},
		{"missing method", "10.0.0.1:1", "/forward-auth", map[string]string{"X-Forwarded-Uri": "/"}, "", 400},
		{"missing uri", "[::1]:1", "/forward-auth", map[string]string{"X-Forwarded-Method": "GET"}, "", 400},
		{"relative uri", "10.0.0.1:1", "/forward-auth", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "api"}, "", 400},
		{"absolute uri of another scheme (found by fuzzing)", "10.0.0.1:1", "/forward-auth", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "A:"}, "", 400},
		{"absolute uri without host", "10.0.0.1:1", "/forward-auth", map[string]string{"X-Forwarded-Method": "GET", "X-Original-Url": "http:/api"}, "", 400},
		{"body over the limit", "10.0.0.1:1", "/ext_authz/x", nil, strings.Repeat("a", MaxBody+1), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{d: gatehouse.Decision{Allow: true, Status: 200}}
			h := New(rec, trusted)
			r := httptest.NewRequest("POST", tt.target, strings.NewReader(tt.body))
			r.RemoteAddr = tt.remote
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if rec.got != nil {
				t.Fatal("a refused call reached the decision core")
			}
		})
	}
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name   string
		d      gatehouse.Decision
		status int
		hdr    map[string]string
		body   string
	}{
		{"allow carries identity headers", gatehouse.Decision{Allow: true, Status: 200, Upstream: []gatehouse.Header{{Name: "x-gatehouse-subject", Value: "alice"}}},
			200, map[string]string{"X-Gatehouse-Subject": "alice"}, ""},
		{"identity headers the decision does not set are answered empty", gatehouse.Decision{Allow: true, Status: 200,
			Upstream: []gatehouse.Header{{Name: "x-gatehouse-subject", Value: "svc"}}, RemoveUpstream: []string{"x-gatehouse-groups", "x-gatehouse-subject"}},
			200, map[string]string{"X-Gatehouse-Subject": "svc", "X-Gatehouse-Groups": ""}, ""},
		{"deny carries status, client headers and body", gatehouse.Decision{Status: 401, Response: []gatehouse.Header{{Name: "www-authenticate", Value: "Bearer"}}, Body: []byte(`{"error":"x"}`)},
			401, map[string]string{"Www-Authenticate": "Bearer", "Content-Type": "application/json"}, `{"error":"x"}`},
		{"a deny with a success status still denies", gatehouse.Decision{Status: 200}, 403, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeDecision(w, &tt.d)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("status %d body %q", w.Code, w.Body)
			}
			for k, v := range tt.hdr {
				if got, ok := w.Header()[k]; !ok || got[0] != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

var _ http.Handler = (*Handler)(nil)
