package authhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-authz/gatehouse/server/authhttp"
)

// TestCF13TrustProxyClientIP: one proxy hop of X-Forwarded-For with
// TRUST_PROXY=true; the peer address otherwise.
func TestCF13TrustProxyClientIP(t *testing.T) {
	for _, tc := range []struct {
		xff   []string
		trust bool
		want  string
	}{
		{nil, true, "192.0.2.7"},
		{[]string{"203.0.113.5"}, true, "203.0.113.5"},
		{[]string{"10.0.0.1, 203.0.113.5"}, true, "203.0.113.5"},
		{[]string{"10.0.0.1", "203.0.113.9"}, true, "203.0.113.9"},
		{[]string{"not-an-ip"}, true, "192.0.2.7"},
		{[]string{"203.0.113.5"}, false, "192.0.2.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.7:5555"
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := authhttp.ClientIP(r, tc.trust); got != tc.want {
			t.Errorf("xff %q trust %v: %s, want %s", tc.xff, tc.trust, got, tc.want)
		}
	}
}

// TestRL03LimitedRoutes and RL-04's exclusions, as a table.
func TestRL03LimitedRoutes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v3/user/login", true},
		{"POST", "/api/v3/user/login/", true},
		{"GET", "/api/v3/user/oauth/authorize", true},
		{"GET", "/api/v3/user/oauth/callback", true},
		{"POST", "/api/v3/user/change-password", true},
		{"POST", "/api/v3/user/mfa/enroll", true},
		{"POST", "/api/v3/user/mfa/confirm", true},
		{"POST", "/api/v3/user/interaction/u1/login", true},
		{"POST", "/api/v3/user/interaction/u1/complete", true},
		{"GET", "/api/v3/user/interaction/u1", false},
		{"POST", "/api/v3/user/refresh", false},
		{"GET", "/api/v3/user/profile", false},
		{"POST", "/api/v3/user/logout", false},
		{"GET", "/api/v3/microservices", false},
	} {
		if got := authhttp.Limited(tc.method, tc.path); got != tc.want {
			t.Errorf("Limited(%s %s) = %v", tc.method, tc.path, got)
		}
	}
}

// TestLO01NoContent: a 200 through NoContent is a 204 with no body.
func TestLO01NoContent(t *testing.T) {
	h := authhttp.NoContent(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Fatalf("%d %q %v", w.Code, w.Body, w.Header())
	}
	errH := authhttp.NoContent(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"name":"AuthenticationError"}`))
	}))
	w = httptest.NewRecorder()
	errH.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusUnauthorized || w.Body.Len() == 0 {
		t.Fatalf("errors pass through: %d %q", w.Code, w.Body)
	}
}

func TestDecisionRequest(t *testing.T) {
	tests := []struct {
		name       string
		remote     string
		xff        []string
		trustProxy bool
		wantIP     string
	}{
		{"peer address", "192.0.2.10:5555", nil, false, "192.0.2.10"},
		{"X-Forwarded-For ignored without TRUST_PROXY", "192.0.2.10:5555", []string{"203.0.113.7"}, false, "192.0.2.10"},
		{"one proxy hop with TRUST_PROXY", "192.0.2.10:5555", []string{"10.0.0.1, 203.0.113.7"}, true, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PATCH", "http://controller.example/api/v3/roles/dev?x=1", nil)
			r.RemoteAddr = tt.remote
			r.Header.Add("Authorization", "Bearer t")
			r.Header.Add("X-Multi", "a")
			r.Header.Add("X-Multi", "b")
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := authhttp.DecisionRequest(r, tt.trustProxy)
			if got.SourceIP != tt.wantIP || got.Method != "PATCH" || got.Path != "/api/v3/roles/dev" || got.Query != "x=1" || got.Host != "controller.example" {
				t.Fatalf("request %+v", got)
			}
			if got.Headers["authorization"] != "Bearer t" || got.Headers["x-multi"] != "a, b" {
				t.Fatalf("headers %v", got.Headers)
			}
		})
	}
}
