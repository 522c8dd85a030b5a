package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// forwardShape is one way a proxy asks the HTTP forward-auth door.
type forwardShape struct {
	name  string
	build func(base string, r req) *http.Request
}

func forwardShapes(t *testing.T) []forwardShape {
	newReq := func(method, url string) *http.Request {
		hr, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return hr
	}
	withHeaders := func(hr *http.Request, h map[string]string) *http.Request {
		for k, v := range h {
			hr.Header.Set(k, v)
		}
		return hr
	}
	return []forwardShape{
		{"envoy http ext_authz", func(base string, r req) *http.Request {
			hr := withHeaders(newReq(r.method, base+"/ext_authz"+r.path), r.headers)
			hr.Host = "api.example"
			return hr
		}},
		{"traefik ForwardAuth", func(base string, r req) *http.Request {
			hr := withHeaders(newReq("GET", base+"/forward-auth"), r.headers)
			hr.Header.Set("X-Forwarded-Method", r.method)
			hr.Header.Set("X-Forwarded-Uri", r.path)
			hr.Header.Set("X-Forwarded-Host", "api.example")
			hr.Header.Set("X-Forwarded-Proto", "https")
			return hr
		}},
		{"caddy forward_auth", func(base string, r req) *http.Request {
			hr := withHeaders(newReq("GET", base+"/forward-auth"), r.headers)
			hr.Header.Set("X-Forwarded-Method", r.method)
			hr.Header.Set("X-Forwarded-Uri", r.path)
			hr.Header.Set("X-Forwarded-Host", "api.example")
			hr.Header.Set("X-Forwarded-For", "203.0.113.5")
			return hr
		}},
		{"nginx auth_request", func(base string, r req) *http.Request {
			hr := withHeaders(newReq("GET", base+"/forward-auth"), r.headers)
			hr.Header.Set("X-Original-Method", r.method)
			hr.Header.Set("X-Original-URI", r.path)
			hr.Host = "api.example"
			return hr
		}},
	}
}

// forwardOutcome asks the forward-auth door and returns the neutral outcome.
func forwardOutcome(t *testing.T, hr *http.Request) outcome {
	t.Helper()
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	o := outcome{status: resp.StatusCode, body: string(b), upstream: map[string]string{}, client: map[string]string{}}
	if resp.StatusCode == 200 {
		o.allowed = true
		o.subject = resp.Header.Get("X-Gatehouse-Subject")
		o.groups = resp.Header.Get("X-Gatehouse-Groups")
		return o
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("deny body %q is not JSON: %v", b, err)
	}
	o.reason = body.Reason
	o.client["www-authenticate"] = resp.Header.Get("WWW-Authenticate")
	return o
}

// TestForwardAuthDoorsAgree feeds the checklist cases of TestDoorsAgree
// through the HTTP forward-auth door in the shape of each proxy and expects
// the decision the gRPC ext_authz door gives.
func TestForwardAuthDoorsAgree(t *testing.T) {
	f := newFixture(t, "FORWARD_AUTH_TRUSTED_PROXIES", "127.0.0.1,::1")
	cases := []struct {
		name string
		r    req
	}{
		{"TV01 allowed bearer", req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))}},
		{"RB not permitted", req{method: "POST", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))}},
		{"no credential", req{method: "GET", path: "/api/v3/microservices"}},
		{"expired", req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))}},
		{"wrong audience", req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.token(func(c map[string]any) { c["aud"] = "x" }))}},
		{"TV08 user token on agent route", req{method: "GET", path: "/api/v3/agent/config", headers: bearer(f.withGroups("admin"))}},
		{"unknown API token", req{method: "GET", path: "/api/v3/status", headers: map[string]string{"authorization": "Token abc"}}},
		{"bad Basic", req{method: "GET", path: "/api/v3/microservices", headers: map[string]string{"authorization": "Basic dTpw"}}},
		{"spoofed identity header", req{method: "GET", path: "/api/v3/microservices", headers: map[string]string{"authorization": "Bearer " + f.withGroups("admin"), "x-gatehouse-subject": "root"}}},
		{"RB16 public route", req{method: "GET", path: "/api/v3/user/oauth/authorize"}},
	}
	for _, c := range cases {
		want := f.g.decide(c.r)
		for _, shape := range forwardShapes(t) {
			t.Run(c.name+"/"+shape.name, func(t *testing.T) {
				got := forwardOutcome(t, shape.build(f.g.base, c.r))
				if got.allowed != want.allowed || got.status != want.status || got.subject != want.subject || got.groups != want.groups ||
					(!want.allowed && (got.reason != want.reason || got.client["www-authenticate"] != want.client["www-authenticate"])) {
					t.Errorf("forward-auth %+v\next_authz %+v", got, want)
				}
			})
		}
	}
}

func TestForwardAuthIsOffByDefaultAndTrustsOnlyListedProxies(t *testing.T) {
	off := newFixture(t)
	if code, _, _ := off.g.httpDo("GET", "/forward-auth", ""); code != http.StatusNotFound {
		t.Fatalf("forward-auth answered %d without FORWARD_AUTH_TRUSTED_PROXIES, want 404", code)
	}
	other := newFixture(t, "FORWARD_AUTH_TRUSTED_PROXIES", "10.9.8.7,2001:db8::/32")
	code, _, body := other.g.httpDo("GET", "/ext_authz/api/v3/microservices", "")
	if code != http.StatusForbidden || !strings.Contains(body, "FORWARD_AUTH_TRUSTED_PROXIES") {
		t.Fatalf("untrusted caller got %d %s, want 403 naming FORWARD_AUTH_TRUSTED_PROXIES", code, body)
	}
}
